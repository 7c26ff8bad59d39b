"""Reports into the store, and the delivery metrics they count."""

from __future__ import annotations

import time

from smsgate.core.models import Account, Report, Submission
from smsgate.core.status import Status
from smsgate.core.validate import Limits
from smsgate.engine import metrics
from smsgate.engine.accept import Acceptor
from smsgate.engine.reports import Reports
from smsgate.engine.routing import CallbackRouter
from smsgate.store.sqlite import SQLiteStore


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
