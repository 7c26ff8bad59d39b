"""Reports into the store, and the delivery metrics they count."""

from __future__ import annotations

import time

from smsgate.core.models import Account, Report, Submission
from smsgate.core.status import Status
from smsgate.core.validate import Limits
from smsgate.dialects.native.callbacks import NativeCallbacks
from smsgate.engine import metrics
from smsgate.engine.accept import Acceptor
from smsgate.engine.reports import Reports
from smsgate.engine.routing import CallbackRouter
from smsgate.store import open_store
from smsgate.store.sqlite import SQLiteStore
from tests.support.backends import both_backends


async def test_delivered_and_failed_are_counted_per_connector(
    store: SQLiteStore, acme: Account
) -> None:
    items = [Submission(phone=f"7900123{i:04d}", text="hi", sender="ACME") for i in range(4)]
    outcomes, _ = await Acceptor(store, Limits()).submit(acme, "native", items)
    ids = [o.message.id for o in outcomes if o.message]
    reports = Reports(store, CallbackRouter({}), lambda _: None, connector="counted")
    now = time.time()
    await reports.reports([Report(message_id=i, status=Status.SUBMITTED, at=now) for i in ids])
    finals = [Status.DELIVERED, Status.DELIVERED, Status.DELIVERED, Status.UNDELIVERED]
    await reports.reports(
        [Report(message_id=i, status=s, at=now) for i, s in zip(ids, finals, strict=True)]
    )
    assert metrics.DELIVERED.labels("counted")._value.get() == 3
    assert metrics.FAILED.labels("counted", "undelivered")._value.get() == 1


@both_backends
async def test_the_notifier_is_woken_only_by_reports_that_queued_callbacks(
    database_url: str,
) -> None:
    """Reports on messages whose client has no callback URL queue none: no wake-up (each was a
    read of the outbox). One callback due among them wakes it, in this process and the other."""
    store = open_store(database_url)
    await store.open()
    await store.migrate()
    try:
        silent = await store.create_account(
            Account(id=0, name="silent", balance=10**9, price=1, senders=["ACME"])
        )
        told = await store.create_account(
            Account(id=0, name="told", balance=10**9, price=1, senders=["ACME"])
        )
        acceptor = Acceptor(store, Limits())
        woken: list[int] = []
        policy = NativeCallbacks()
        reports = Reports(
            store,
            CallbackRouter({"native": policy}),
            lambda _: None,
            on_change=lambda: woken.append(1),
        )

        async def sent(account: Account, **fields: str) -> str:
            item = Submission(phone="79001230001", text="hi", sender="ACME", **fields)
            outcomes, _ = await acceptor.submit(account, "native", [item])
            message = outcomes[0].message
            assert message is not None
            return message.id

        quiet = await sent(silent)
        await reports.reports([Report(message_id=quiet, status=Status.SUBMITTED, at=time.time())])
        assert not reports.changed.is_set() and woken == []

        loud = await sent(told, callback_url="https://client.example/dr")
        late = await sent(silent)
        now = time.time()
        await reports.reports(
            [
                Report(message_id=late, status=Status.SUBMITTED, at=now),
                Report(message_id=loud, status=Status.SUBMITTED, at=now),
            ]
        )
        assert reports.changed.is_set() and woken == [1]
        assert [(c.dialect, c.state) for c in await store.callbacks_of(told.id, loud)] == [
            ("native", "pending")
        ]
        assert await store.callbacks_of(silent.id, late) == []
    finally:
        await store.close()
