"""The engine of one node: connector, dispatcher, reports and notifier, started and stopped together."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from ..config import Config
from ..connectors.base import Connector
from ..connectors.simulator import Simulator
from ..dialects.base import CallbackPolicy, Dialect
from ..store.base import EVERY_DIALECT, OutboxScope, Store
from . import metrics
from .dispatcher import Dispatcher
from .gateway import Gateway
from .notifier import HttpSender, Notifier, Sender
from .reports import Reports
from .routing import CallbackRouter

log = logging.getLogger("smsgate.engine")


def callback_policies(
    dialects: list[Dialect], delay_scale: float = 1.0
) -> dict[str, CallbackPolicy]:
    policies = {d.name: d.callbacks for d in dialects if d.callbacks is not None}
    if delay_scale != 1.0:
        for policy in policies.values():
            policy.delay_scale = delay_scale
    return policies


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


def build_connector(config: Config, store: Store) -> Connector:
    """The connector `config.connector` names: "simulator" (the default) or "smpp"."""
    if config.connector == "smpp":
        from ..connectors.smpp import SmppConnector

        return SmppConnector(config.smpp_client, store)
    if config.connector != "simulator":
        raise ValueError(f"unknown connector {config.connector!r}")
    return Simulator(store, config.simulator)


def build_notifier(
    config: Config,
    store: Store,
    policies: dict[str, CallbackPolicy],
    send: Sender,
    scope: OutboxScope = EVERY_DIALECT,
) -> Notifier:
    """A notifier with the configured timings, for the engine's or the notifier process's."""
    return Notifier(
        store,
        policies,
        send,
        poll=config.notifier.poll,
        lease=config.notifier.lease,
        concurrency=config.notifier.concurrency,
        scope=scope,
    )


class Engine:
    def __init__(
        self,
        config: Config,
        store: Store,
        dialects: list[Dialect],
        *,
        connector: Connector | None = None,
        send: Sender | None = None,
        callbacks: OutboxScope | None = None,
    ) -> None:
        """`callbacks`: the dialects whose callbacks this engine's notifier delivers (None:
        all; a notifier process delivers the others)."""
        self.config = config
        self.store = store
        policies = callback_policies(dialects, config.notifier.delay_scale)
        self.router = CallbackRouter(policies)
        self.numbers = NumberBook(store)
        self.connector = connector or build_connector(config, store)
        self.reports = Reports(store, self.router, self.numbers, self.connector.name)
        self.dispatcher = Dispatcher(
            store,
            self.connector,
            self.reports,
            batch=config.dispatcher.batch,
            poll=config.dispatcher.poll,
            lease=config.dispatcher.lease,
            max_inflight=config.dispatcher.max_inflight,
            exclusive=store.exclusive_dispatch,
            idle_poll=config.dispatcher.idle_poll,
        )
        self._http = HttpSender(timeout=config.notifier.timeout) if send is None else None
        sender: Sender = send or self._http  # type: ignore[assignment]
        # The SMPP server runs beside the engine: receipts and MO reach its binds through the
        # notifier (smpp: callback URLs), and its submits wake this dispatcher.
        self.smpp_server = None
        if config.smpp.port and "smpp" in policies:
            from ..smpp.server import SmppServer

            gateway = Gateway(store, config.limits, self.router, reports=self.reports)
            gateway.acceptor.on_accept = self.wake
            self.smpp_server = SmppServer(
                config.smpp,
                gateway,
                policies["smpp"],
                default_host=config.host,
            )
            sender = self.smpp_server.sender(sender)
        self.notifier = build_notifier(config, store, policies, sender, callbacks or EVERY_DIALECT)
        self.reports.changed = self.notifier.wakeup
        # Beside a notifier process, this one only serves the SMPP binds: none without a server.
        self._notifies = callbacks is None or self.smpp_server is not None
        self._tasks: list[asyncio.Task[None]] = []

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
        if self._notifies:
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
        await self.notifier.drain()
        await self.connector.stop()
        if self._http is not None:
            await self._http.close()

    def wake(self) -> None:
        self.dispatcher.wakeup.set()

    async def _housekeeping(self) -> None:
        next_purge = time.monotonic() + 60.0
        while True:
            await asyncio.sleep(2.0)
            try:
                if time.monotonic() >= next_purge:
                    next_purge = time.monotonic() + self.config.retention.purge_every
                    before = time.time() - self.config.retention.outbox_days * 86400
                    gone = await self.store.purge(before)
                    if gone:
                        log.info("purged %d delivered callbacks and settled log lines", gone)
                await self.numbers.refresh()
                counts = await self.store.counts()
                for status in ("scheduled", "queued"):
                    metrics.QUEUE_DEPTH.labels(status).set(counts.get(status, 0))
                metrics.OUTBOX_DEPTH.set(counts.get("outbox", 0))
            except Exception as exc:
                log.warning("housekeeping failed at %s: %s", time.strftime("%X"), exc)
