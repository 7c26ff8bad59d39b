"""Building blocks for the store contract tests."""

from __future__ import annotations

import time
from typing import Any

from smsgate.core.ids import new_id
from smsgate.core.models import Account, Message, MoMessage, StatusEvent
from smsgate.core.status import Status
from smsgate.store.base import Store


def message(account_id: int, phone: str = "79651111111", **fields: Any) -> Message:
    now = time.time()
    values: dict[str, Any] = {
        "id": new_id(),
        "account_id": account_id,
        "dialect": "native",
        "phone": phone,
        "text": "hello",
        "encoding": "gsm7",
        "segments": 1,
        "price": 500_000,
        "created_at": now,
        "updated_at": now,
    }
    values.update(fields)
    if values.get("not_before") and "status" not in fields:
        values["status"] = Status.SCHEDULED
    return Message(**values)


async def make_account(store: Store, name: str = "acme", **fields: Any) -> Account:
    values: dict[str, Any] = {"balance": 100_000_000, "price": 500_000}
    values.update(fields)
    return await store.create_account(Account(id=0, name=name, **values))


def route(
    message: Message | None, event: StatusEvent | MoMessage, urls: dict[str, str]
) -> list[tuple[str, str]]:
    """Status events to the message's (or its dialect's) URL; MO to '<dialect>.mo' URLs."""
    if message is not None:
        url = message.callback_url or urls.get(message.dialect)
        return [(message.dialect, url)] if url else []
    return [(key[:-3], url) for key, url in urls.items() if key.endswith(".mo")]
