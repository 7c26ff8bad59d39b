"""Prometheus metrics. With several worker processes, PROMETHEUS_MULTIPROC_DIR aggregates them."""

from __future__ import annotations

import asyncio
from bisect import bisect_left
from collections import Counter as Tally
from functools import lru_cache
from typing import Any

from prometheus_client import Counter, Gauge, Histogram

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
    "smsgate_outbox_depth", "Callbacks waiting to be delivered", multiprocess_mode="livemax"
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
    and a write into a memory-mapped file: about 2 µs per value, and a single send made three.
    Here a request adds to plain dicts; `flush` (at most FLUSH_EVERY seconds later, before
    /metrics answers, and when a process stops) adds each total to its value at once.
    """

    def __init__(self) -> None:
        self.accepted: Tally[str] = Tally()
        self.latency: dict[str, tuple[list[int], list[float]]] = {}  # bucket counts, sum
        self._bounds: list[float] = list(REQUEST_SECONDS._upper_bounds)
        self._timer: asyncio.TimerHandle | None = None
        self._timer_loop: asyncio.AbstractEventLoop | None = None

    def count_accepted(self, dialect: str, n: int) -> None:
        self.accepted[dialect] += n
        self._soon()

    def observe_request(self, dialect: str, seconds: float) -> None:
        found = self.latency.get(dialect)
        if found is None:
            found = self.latency[dialect] = ([0] * len(self._bounds), [0.0])
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
        for dialect, (counts, total) in latency.items():
            _add_observations(REQUEST_SECONDS.labels(dialect), counts, total[0])


def _add_observations(child: Any, counts: list[int], total: float) -> None:
    """What observe() would have left after these observations, one write per bucket used:
    prometheus_client has no bulk observe, so this adds to the child's bucket and sum values
    (tests/engine/test_metrics.py reads the result back through /metrics)."""
    for value, n in zip(child._buckets, counts, strict=True):
        if n:
            value.inc(n)
    child._sum.inc(total)


BATCH = Batch()


@lru_cache(maxsize=256)
def callbacks(dialect: str, result: str) -> Any:
    return CALLBACKS.labels(dialect, result)
