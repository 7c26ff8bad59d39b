"""Connector results, receipts and incoming SMS into the store (with their callbacks)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence

from ..connectors.base import Incoming
from ..core.ids import new_id
from ..core.models import Message, MoMessage, Report, StatusEvent
from ..core.status import DELIVERED, Status
from ..store.base import CallbackRoute, LogLine, Store
from . import metrics
from .routing import CallbackRouter

log = logging.getLogger("smsgate.reports")
# Looked up for every event: bound once (core.status says why).
_FAILED = frozenset({Status.UNDELIVERED, Status.EXPIRED, Status.REJECTED})


class Reports:
    def __init__(
        self,
        store: Store,
        router: CallbackRouter,
        resolve_number: Callable[[str], int | None],
        connector: str = "simulator",
        *,
        on_change: Callable[[], None] | None = None,
        refresh_numbers: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.store = store
        self.router = router
        self.resolve_number = resolve_number
        self.connector = connector
        self.changed = asyncio.Event()  # the notifier waits on this
        self.on_change = on_change  # and one in another process is told through this
        # An HTTP worker's number book is never refreshed on a schedule (the engine's is): a
        # number it does not know is looked up once more before its SMS is dropped.
        self.refresh_numbers = refresh_numbers

    async def reports(self, reports: Sequence[Report], lines: Sequence[LogLine] = ()) -> None:
        """Reports into the store; `lines`: the connector-log lines of the connector whose
        acknowledgement they are, written with them (Store.record_reports)."""
        if not reports and not lines:
            return
        route = _Counting(self.router)
        events = await self.store.record_reports(reports, route, lines)
        delivered = 0
        for event in events:
            if event.status is DELIVERED:
                delivered += 1
            elif event.status in _FAILED:
                metrics.FAILED.labels(self.connector, event.status.value).inc()
                if event.carrier_error is not None:  # the carrier's word (ours have no code)
                    self._log_failure(event)
        if delivered:  # one labels() look-up per batch, not per message
            metrics.DELIVERED.labels(self.connector).inc(delivered)
        if route.callbacks:
            self._changed()

    def _log_failure(self, event: StatusEvent) -> None:
        log.info(
            "message %s %s: carrier code %s (%s)",
            event.message_id,
            event.status.value,
            event.carrier_error,
            event.error_code,
            extra={
                "message_id": event.message_id,
                "status": event.status.value,
                "carrier_error": event.carrier_error,
                "error_code": event.error_code,
                "connector": self.connector,
            },
        )

    async def incoming(self, messages: Sequence[Incoming]) -> None:
        unknown = any(m.account_id is None and self.resolve_number(m.to) is None for m in messages)
        if unknown and self.refresh_numbers is not None:
            await self.refresh_numbers()
        mos = []
        for m in messages:
            account_id = m.account_id if m.account_id is not None else self.resolve_number(m.to)
            if account_id is None:
                log.warning("incoming SMS to %s matches no account; dropped", m.to)
                continue
            mos.append(
                MoMessage(
                    id=new_id(),
                    account_id=account_id,
                    phone=m.phone,
                    to=m.to,
                    text=m.text,
                    received_at=m.at,
                    reply_to=m.reply_to,
                )
            )
        if mos:
            await self.store.store_mo(mos, self.router)
            self._changed()

    def _changed(self) -> None:
        self.changed.set()
        if self.on_change is not None:
            self.on_change()


class _Counting:
    """A callback route that counts the callbacks it names, so that the notifier is woken only
    by a batch that queued some. Reports on messages whose clients have no callback URL queue
    none, and each wake-up was a read of the outbox: 11 µs of the notifier process's CPU a
    message at two workers, with no callback to send (`bench/http_bench.py --modes live`).
    A store may call it more than once for an event (a batch planned again): a wake-up too many
    at worst, never one too few."""

    def __init__(self, route: CallbackRoute) -> None:
        self.route = route
        self.callbacks = 0

    def __call__(
        self, message: Message | None, event: StatusEvent | MoMessage, urls: dict[str, str]
    ) -> list[tuple[str, str]]:
        targets = self.route(message, event, urls)
        self.callbacks += len(targets)
        return targets
