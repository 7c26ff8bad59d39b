"""The gateway's cache of credentials and accounts: concurrent misses share one read."""

from __future__ import annotations

import asyncio
from typing import Any, cast

from smsgate.core import secrets
from smsgate.core.models import Account, Credential
from smsgate.engine.gateway import Gateway

TOKEN = "t0ken"


class SlowStore:
    """Answers each read when the test lets it, counting them."""

    def __init__(self) -> None:
        self.reads: list[str] = []
        self.answer = asyncio.Event()
        self.credential = Credential(
            account_id=7,
            dialect="native",
            kind="token",
            identifier=secrets.token_id(TOKEN),
            secret="",
        )

    async def find_credential(self, dialect: str, kind: str, identifier: str) -> Credential | None:
        self.reads.append("credential")
        await self.answer.wait()
        return self.credential if identifier == self.credential.identifier else None

    async def get_account(self, account_id: int) -> Account | None:
        self.reads.append("account")
        await self.answer.wait()
        return Account(id=account_id, name="acme")


def gateway(store: SlowStore) -> Gateway:
    return Gateway(cast(Any, store), cast(Any, None), cast(Any, None))


async def wait_for_reads(store: SlowStore, n: int) -> None:
    async with asyncio.timeout(5):
        while len(store.reads) < n:
            await asyncio.sleep(0)


async def test_requests_missing_the_cache_together_share_one_read() -> None:
    """When the cached credential expires under a busy worker, the requests in flight (tens)
    each read the store: a burst of reads on the request path every AUTH_TTL. One read now
    answers them all: one of the credential, then one of the account."""
    store = SlowStore()
    gw = gateway(store)
    calls = [asyncio.ensure_future(gw.token("native", TOKEN)) for _ in range(30)]
    await wait_for_reads(store, 1)
    store.answer.set()
    accounts = await asyncio.gather(*calls)
    assert [a.id if a else None for a in accounts] == [7] * 30
    assert store.reads == ["credential", "account"], "each miss read the store itself"
    assert not gw._reading


async def test_a_caller_cancelled_does_not_cancel_the_shared_read() -> None:
    store = SlowStore()
    gw = gateway(store)
    first = asyncio.ensure_future(gw.token("native", TOKEN))
    second = asyncio.ensure_future(gw.token("native", TOKEN))
    await wait_for_reads(store, 1)
    first.cancel()
    store.answer.set()
    got = await second
    assert got is not None and got.id == 7 and first.cancelled()


async def test_an_unknown_token_is_read_again_each_time() -> None:
    """Only found credentials are cached: a new one works at once."""
    store = SlowStore()
    store.answer.set()
    gw = gateway(store)
    assert await gw.token("native", "other") is None
    assert await gw.token("native", "other") is None
    assert store.reads == ["credential", "credential"]
