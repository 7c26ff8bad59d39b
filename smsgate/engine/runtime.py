"""The engine of one node: connector, dispatcher, reports and notifier, started and stopped together.

Its parts are built by `smsgate.app`, which hands them over here: the engine knows no dialect.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Protocol

from ..connectors.base import Connector, LinkState
from ..store.base import Store
from . import metrics
from .dispatcher import Dispatcher
from .notifier import HttpSender, Notifier
from .reports import Reports

log = logging.getLogger("smsgate.engine")


class NumberBook:
    """Which account owns a number or sender name, for incoming SMS (refreshed periodically)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.owners: dict[str, int] = {}

    async def refresh(self) -> None:
        owners: dict[str, int] = {}
        for account in await self.store.list_accounts():
            for number in [*account.senders, *account.settings.get("numbers", [])]:
                owners.setdefault(str(number), account.id)
        self.owners = owners

    def __call__(self, number: str) -> int | None:
        return self.owners.get(number) or self.owners.get(number.lstrip("+"))


class Service(Protocol):
    """A server that runs beside the engine (the SMPP binds'): its clients submit through the
    gateway, and their receipts leave through this engine's notifier."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    def link_states(self) -> list[LinkState]:
        """Its clients' binds, sampled for metrics."""
        ...


class Engine:
    def __init__(
        self,
        store: Store,
        connector: Connector,
        numbers: NumberBook,
        reports: Reports,
        dispatcher: Dispatcher,
        notifier: Notifier | None,
        *,
        smpp_server: Service | None = None,
        http: HttpSender | None = None,
        purge_every: float = 300.0,
        outbox_days: float = 7.0,
    ) -> None:
        """`notifier`: None where a notifier process delivers every callback. `smpp_server`
        starts after the connector and stops first; `http` (the notifier's) is closed last.
        Delivered callbacks older than `outbox_days` are purged every `purge_every` seconds."""
        self.store = store
        self.connector = connector
        self.numbers = numbers
        self.reports = reports
        self.dispatcher = dispatcher
        self.notifier = notifier
        self.smpp_server = smpp_server
        self._http = http
        self.purge_every = purge_every
        self.outbox_days = outbox_days
        self._tasks: list[asyncio.Task[None]] = []
        self._sampled = metrics.Sampled()

    async def start(self) -> None:
        await self.store.lock_engine()
        await self.numbers.refresh()
        await self.connector.start(self.reports)
        if self.smpp_server is not None:
            await self.smpp_server.start()
        self._tasks = [
            asyncio.create_task(self.dispatcher.run(), name="dispatcher"),
            asyncio.create_task(self._housekeeping(), name="housekeeping"),
        ]
        if self.notifier is not None:
            self._tasks.append(asyncio.create_task(self.notifier.run(), name="notifier"))

    async def stop(self) -> None:
        if self.smpp_server is not None:
            await self.smpp_server.stop()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await self.dispatcher.drain()
        if self.notifier is not None:
            await self.notifier.drain()
        await self.connector.stop()
        if self._http is not None:
            await self._http.close()

    def _sample_links(self) -> None:
        states = self.connector.link_states()
        if self.smpp_server is not None:
            states += self.smpp_server.link_states()
        self._sampled.links(states)

    async def _housekeeping(self) -> None:
        next_purge = time.monotonic() + 60.0
        while True:
            await asyncio.sleep(2.0)
            try:
                if time.monotonic() >= next_purge:
                    next_purge = time.monotonic() + self.purge_every
                    gone = await self.store.purge(time.time() - self.outbox_days * 86400)
                    if gone:
                        log.info("purged %d delivered callbacks and settled log lines", gone)
                await self.numbers.refresh()
                counts = await self.store.counts()
                for status in ("scheduled", "queued"):
                    metrics.QUEUE_DEPTH.labels(status).set(counts.get(status, 0))
                self._sampled.backlog(await self.store.outbox_backlog())
                self._sample_links()
            except Exception as exc:
                log.warning("housekeeping failed at %s: %s", time.strftime("%X"), exc)
