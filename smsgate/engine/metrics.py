"""Prometheus metrics. With several worker processes, PROMETHEUS_MULTIPROC_DIR aggregates them."""

from __future__ import annotations

import asyncio
import platform
from bisect import bisect_left
from collections import Counter as Tally
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from prometheus_client import Counter, Gauge, Histogram

from .. import __version__
from ..connectors.base import LinkState

ACCEPTED = Counter("smsgate_accepted_total", "Messages accepted", ["dialect"])
REFUSED = Counter("smsgate_refused_total", "Recipients refused at acceptance", ["dialect"])
SENT = Counter("smsgate_sent_total", "Messages handed to a connector", ["connector"])
DELIVERED = Counter("smsgate_delivered_total", "Messages delivered", ["connector"])
FAILED = Counter("smsgate_failed_total", "Messages that ended undelivered", ["connector", "status"])
CALLBACKS = Counter("smsgate_callbacks_total", "Callback attempts", ["dialect", "result"])
QUEUE_DEPTH = Gauge(
    "smsgate_queue_depth", "Messages waiting to be sent", ["status"], multiprocess_mode="livemax"
)
OUTBOX_DEPTH = Gauge(
    "smsgate_outbox_depth",
    "Callbacks waiting to be delivered (the callback backlog), by dialect",
    ["dialect"],
    multiprocess_mode="livemax",
)
REQUESTS = Counter(
    "smsgate_requests_total", "HTTP requests answered, by HTTP status", ["dialect", "code"]
)
BUILD_INFO = Gauge(
    "smsgate_build_info",
    "Always 1: the running smsgate's version and Python's",
    ["version", "python"],
    multiprocess_mode="max",
)
BUILD_INFO.labels(__version__, platform.python_version()).set(1)
# SMPP links. side: "client" (the connector towards a carrier; name: the connector's) or
# "server" (clients bound to smsgate; name: the account's). Sampled every second or so.
SMPP_BINDS = Gauge(
    "smsgate_smpp_binds",
    "SMPP sessions bound, by bind mode (trx, tx, rx)",
    ["side", "name", "mode"],
    multiprocess_mode="livesum",
)
SMPP_WINDOW_USED = Gauge(
    "smsgate_smpp_window_used",
    "SMPP requests awaiting their response (client: submit_sm; server: deliver_sm)",
    ["side", "name"],
    multiprocess_mode="livesum",
)
SMPP_WINDOW_SIZE = Gauge(
    "smsgate_smpp_window_size",
    "Room for SMPP requests awaiting a response: the window times the bound sessions",
    ["side", "name"],
    multiprocess_mode="livesum",
)
SMPP_THROTTLED = Counter(
    "smsgate_smpp_throttled_total",
    "submit_sm answered ESME_RTHROTTLED or ESME_RMSGQFUL (client: by the carrier; server: by us)",
    ["side", "name"],
)
REQUEST_SECONDS = Histogram(
    "smsgate_request_seconds",
    "HTTP request latency",
    ["dialect"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)


FLUSH_EVERY = 0.5  # seconds a hot-path count may wait before the metrics show it


class Batch:
    """Per-request counts, added to the Prometheus values in batches.

    Each inc() or observe() costs a lock, and with several worker processes also a getpid()
    and a write into a memory-mapped file: about 2 µs per value, and a single send made four.
    Here a request adds to plain dicts; `flush` (at most FLUSH_EVERY seconds later, before
    /metrics answers, and when a process stops) adds each total to its value at once.
    """

    def __init__(self) -> None:
        self.accepted: Tally[str] = Tally()
        # (dialect, HTTP status) -> latency bucket counts, sum: one look-up per request gives
        # both the histogram (summed over statuses at the flush) and the count per status.
        self.latency: dict[tuple[str, int], tuple[list[int], list[float]]] = {}
        self._bounds: list[float] = list(REQUEST_SECONDS._upper_bounds)
        self._timer: asyncio.TimerHandle | None = None
        self._timer_loop: asyncio.AbstractEventLoop | None = None

    def count_accepted(self, dialect: str, n: int) -> None:
        self.accepted[dialect] += n
        self._soon()

    def observe_request(self, dialect: str, seconds: float, status: int) -> None:
        key = (dialect, status)
        found = self.latency.get(key)
        if found is None:
            found = self.latency[key] = ([0] * len(self._bounds), [0.0])
        found[0][bisect_left(self._bounds, seconds)] += 1  # le: a bound counts as its bucket
        found[1][0] += seconds
        self._soon()

    def _soon(self) -> None:
        timer_loop = self._timer_loop
        if timer_loop is not None and not timer_loop.is_closed():
            return  # a flush is due (a loop that closed before it would never run it)
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no loop (a CLI command): nothing will flush later
            self.flush()
            return
        self._timer = loop.call_later(FLUSH_EVERY, self.flush)
        self._timer_loop = loop

    def flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = self._timer_loop = None
        accepted, self.accepted = self.accepted, Tally()
        latency, self.latency = self.latency, {}
        for dialect, n in accepted.items():
            ACCEPTED.labels(dialect).inc(n)
        by_dialect: dict[str, tuple[list[int], float]] = {}
        for (dialect, status), (counts, total) in latency.items():
            REQUESTS.labels(dialect, str(status)).inc(sum(counts))
            merged = by_dialect.get(dialect)
            by_dialect[dialect] = (
                (counts, total[0])
                if merged is None
                else ([a + b for a, b in zip(merged[0], counts, strict=True)], merged[1] + total[0])
            )
        for dialect, (counts, seconds) in by_dialect.items():
            _add_observations(REQUEST_SECONDS.labels(dialect), counts, seconds)


def _add_observations(child: Any, counts: list[int], total: float) -> None:
    """What observe() would have left after these observations, one write per bucket used:
    prometheus_client has no bulk observe, so this adds to the child's bucket and sum values
    (tests/engine/test_metrics.py reads the result back through /metrics)."""
    for value, n in zip(child._buckets, counts, strict=True):
        if n:
            value.inc(n)
    child._sum.inc(total)


BATCH = Batch()


class Sampled:
    """The gauges the engine samples every few seconds (queue, callback backlog, SMPP links).

    A labelled value that is no longer reported is set to 0, not removed: with several worker
    processes a removed value would keep showing its last one from the shared files. Throttle
    counts come as totals since the start and are added to their counter by difference.
    """

    def __init__(self) -> None:
        self._backlog: set[str] = set()
        self._binds: set[tuple[str, str, str]] = set()
        self._throttled: dict[tuple[str, str], int] = {}

    def backlog(self, by_dialect: dict[str, int]) -> None:
        for dialect in self._backlog - by_dialect.keys():
            OUTBOX_DEPTH.labels(dialect).set(0)
        for dialect, n in by_dialect.items():
            OUTBOX_DEPTH.labels(dialect).set(n)
        self._backlog = set(by_dialect)

    def links(self, states: Sequence[LinkState]) -> None:
        binds: set[tuple[str, str, str]] = set()
        for state in states:
            for mode, n in state.binds.items():
                SMPP_BINDS.labels(state.side, state.name, mode).set(n)
                binds.add((state.side, state.name, mode))
            SMPP_WINDOW_USED.labels(state.side, state.name).set(state.window_used)
            SMPP_WINDOW_SIZE.labels(state.side, state.name).set(state.window_size)
            key = (state.side, state.name)
            added = state.throttled - self._throttled.get(key, 0)
            if added > 0:
                SMPP_THROTTLED.labels(*key).inc(added)
            self._throttled[key] = state.throttled
        for gone in self._binds - binds:
            SMPP_BINDS.labels(*gone).set(0)
        self._binds = binds


@lru_cache(maxsize=256)
def callbacks(dialect: str, result: str) -> Any:
    return CALLBACKS.labels(dialect, result)
