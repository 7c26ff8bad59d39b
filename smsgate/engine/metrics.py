"""Prometheus metrics. With several worker processes, PROMETHEUS_MULTIPROC_DIR aggregates them."""

from __future__ import annotations

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


@lru_cache(maxsize=64)
def accepted(dialect: str) -> Any:
    """The per-dialect child, looked up once (labels() costs more than inc())."""
    return ACCEPTED.labels(dialect)


@lru_cache(maxsize=64)
def request_seconds(dialect: str) -> Any:
    return REQUEST_SECONDS.labels(dialect)


@lru_cache(maxsize=256)
def callbacks(dialect: str, result: str) -> Any:
    return CALLBACKS.labels(dialect, result)
