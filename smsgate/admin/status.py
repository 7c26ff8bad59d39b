"""The status view's data: the connector and the SMPP links (bound or not, window, throughput),
the queue, and the callback backlog per account. The admin API answers it as JSON
(`GET /admin/api/status`); the dashboard's overview may call `status_view` too.

Link states come from the engine's own connector and SMPP server when this process runs the
engine, else from the metrics the engine samples every few seconds (with several workers the
HTTP front is another process: the metrics' shared files are what it can read)."""

from __future__ import annotations

import os
import time
from collections import defaultdict
from typing import Any

from prometheus_client import REGISTRY, CollectorRegistry

from ..connectors.base import LinkState
from .context import AdminContext

# The last look at the messages handed to each connector (when, totals): the throughput is the
# difference to it. One per process: every look in this process shares it.
_last_look: tuple[float, dict[str, float]] | None = None


def _samples() -> list[tuple[str, dict[str, str], float]]:
    """Every metric sample this node has: this process's, or every process's (multiprocess)."""
    registry = REGISTRY
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    return [
        (s.name, dict(s.labels), float(s.value))
        for family in registry.collect()
        if family.name.startswith("smsgate_")
        for s in family.samples
    ]


def _links_from_metrics(samples: list[tuple[str, dict[str, str], float]]) -> list[LinkState]:
    binds: dict[tuple[str, str], dict[str, int]] = defaultdict(dict)
    window: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    for name, labels, value in samples:
        key = (labels.get("side", ""), labels.get("name", ""))
        if name == "smsgate_smpp_binds":
            binds[key][labels["mode"]] = binds[key].get(labels["mode"], 0) + int(value)
        elif name == "smsgate_smpp_window_used":
            window[key][0] += int(value)
        elif name == "smsgate_smpp_window_size":
            window[key][1] += int(value)
        elif name == "smsgate_smpp_throttled_total":
            window[key][2] += int(value)
    return [
        LinkState(
            side=side,
            name=name,
            binds=binds.get((side, name), {}),
            window_used=window[(side, name)][0],
            window_size=window[(side, name)][1],
            throttled=window[(side, name)][2],
        )
        for side, name in sorted({*binds, *window})
    ]


def _throughput(samples: list[tuple[str, dict[str, str], float]], now: float) -> dict[str, Any]:
    """Per connector: messages handed over since the start, and per second since the last look
    (None on the first look, or after more than 10 minutes; a connector not seen before had
    handed over none then)."""
    global _last_look
    sent: dict[str, float] = defaultdict(float)
    for name, labels, value in samples:
        if name == "smsgate_sent_total":
            sent[labels.get("connector", "")] += value
    before = _last_look
    _last_look = (now, dict(sent))
    answer: dict[str, Any] = {}
    for connector, total in sent.items():
        rate = None
        if before is not None and 0 < now - before[0] < 600:
            earlier = before[1].get(connector, 0.0)
            rate = round(max(0.0, total - earlier) / (now - before[0]), 1)
        answer[connector] = {"sent_total": int(total), "per_second": rate}
    return answer


def link_view(state: LinkState) -> dict[str, Any]:
    return {
        "side": state.side,
        "name": state.name,
        "up": sum(state.binds.values()) > 0,
        "binds": state.binds,
        "window_used": state.window_used,
        "window_size": state.window_size,
        "throttled": state.throttled,
    }


async def status_view(context: AdminContext) -> dict[str, Any]:
    """The node's status now, for operators (no secret in it)."""
    now = time.time()
    samples = _samples()
    links = context.links() or _links_from_metrics(samples)
    names = {a.id: a.name for a in await context.store.list_accounts()}
    backlog = await context.store.callback_backlog_by_account()
    counts = await context.store.counts()
    return {
        "at": now,
        "connector": context.connector,
        "links": [link_view(s) for s in links],
        "throughput": _throughput(samples, now),
        "queue": {k: counts.get(k, 0) for k in ("scheduled", "queued")},
        "callback_backlog": [
            {"account_id": account_id, "account": names.get(account_id), "pending": n}
            for account_id, n in sorted(backlog.items(), key=lambda kv: -kv[1])
        ],
    }
