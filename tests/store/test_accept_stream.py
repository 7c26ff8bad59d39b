"""A large request written while it is built: `Store.accept_stream` (PostgreSQL; SQLite answers
None, and `accept` stores the request) gives the outcomes `accept` would give when every
message is new, and stores nothing otherwise; the acceptor that builds the request a chunk at a
time (`engine.accept.Lazily`) answers the same on both backends."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import cast

import msgspec
import pytest

from smsgate.core import validate
from smsgate.core.errors import ErrorCode
from smsgate.core.ids import new_id
from smsgate.core.models import Job, Message, OneTemplate, Submission
from smsgate.core.validate import Limits
from smsgate.engine import accept
from smsgate.store.base import MessageFilter, Outcome, Store
from tests.store.helpers import make_account, message

N = 1200  # a large request (engine.accept.STREAM_FROM), in chunks of 500
PRICE = 1000


def bulk(account_id: int, n: int = N) -> tuple[list[Message], Job]:
    job = Job(id=new_id(), account_id=account_id, dialect="native", total=n, created_at=time.time())
    messages = [
        message(account_id, f"7965{i:07d}", client_ref=f"r{i}", job_id=job.id, price=PRICE)
        for i in range(n)
    ]
    return messages, job


def chunked(messages: list[Message], size: int = 500) -> Iterator[list[Message]]:
    for start in range(0, len(messages), size):
        yield messages[start : start + size]


async def balance(store: Store, account_id: int) -> int:
    account = await store.get_account(account_id)
    assert account is not None
    return account.balance


async def stored(store: Store, account_id: int) -> int:
    return len(await store.list_messages(account_id, MessageFilter(), limit=10 * N))


postgres_only = pytest.mark.parametrize("backend", ["postgres"], indirect=True)


@postgres_only
async def test_a_streamed_request_is_stored_as_accept_would_store_it(store: Store) -> None:
    a = await make_account(store, balance=10**9)
    messages, job = bulk(a.id)
    outcomes = await store.accept_stream(a.id, N, chunked(messages), job=job)
    assert outcomes is not None
    assert [o.kind for o in outcomes] == ["new"] * N
    assert all(o.message is m for o, m in zip(outcomes, messages, strict=True))  # numbered in place
    seqs = [m.seq for m in messages]
    assert seqs[0] > 0 and seqs == sorted(set(seqs))
    assert await balance(store, a.id) == 10**9 - N * PRICE
    counts = await store.get_job(a.id, job.id)
    assert counts is not None and counts.by_status == {"accepted": N}
    page = await store.job_messages(a.id, job.id, limit=N)
    assert page == messages  # every field as given, in order
    assert await store.message_by_ref(a.id, "native", "r1000") == messages[1000]


@postgres_only
@pytest.mark.parametrize("why", ["stored_ref", "repeated_ref", "balance", "short", "stop_list"])
async def test_a_streamed_request_not_all_new_stores_nothing(store: Store, why: str) -> None:
    """A reference stored before or repeated (met in the last chunk), too little balance, fewer
    messages than announced, a stop list to look at: nothing of it stays, nothing is paid,
    and the messages are not numbered; `accept` then decides as usual."""
    a = await make_account(store, balance=10**9)
    messages, job = bulk(a.id)
    count = N
    if why == "stored_ref":
        await store.accept(a.id, [message(a.id, client_ref="r1100", price=0)])
    elif why == "repeated_ref":
        messages[1100] = msgspec.structs.replace(messages[1100], client_ref="r3")
    elif why == "balance":
        await store.adjust_balance(a.id, N * PRICE - 1 - 10**9)
    elif why == "short":
        count = N + 1
    else:
        await store.stoplist_add(a.id, ["79990000000"])  # not one of them: looked at anyway
    before, paid = await stored(store, a.id), await balance(store, a.id)
    assert await store.accept_stream(a.id, count, chunked(messages), job=job) is None
    assert await stored(store, a.id) == before
    assert await balance(store, a.id) == paid
    assert await store.get_job(a.id, job.id) is None
    assert all(m.seq == 0 for m in messages)
    outcomes = await store.accept(a.id, messages, job=job)  # as if never streamed
    expected = {"stored_ref": {"new", "duplicate"}, "repeated_ref": {"new", "duplicate"}}
    expected |= {"balance": {"error"}, "short": {"new"}, "stop_list": {"new"}}
    assert {o.kind for o in outcomes} == expected[why]


async def test_the_acceptor_streams_a_large_request(store: Store) -> None:
    a = await make_account(store, balance=10**12, senders=["Test"])
    items = [
        Submission(phone=f"+7965{i:07d}", text=f"hi {i}", sender="Test", client_ref=f"x{i}")
        for i in range(accept.STREAM_FROM)
    ]
    outcomes, job = await accept.Acceptor(store, Limits()).submit(a, "native", items, job=True)
    assert job is not None and [o.kind for o in outcomes] == ["new"] * len(items)
    counts = await store.get_job(a.id, job.id)
    assert counts is not None and counts.by_status == {"queued": len(items)}
    assert [m.text for m in await store.job_messages(a.id, job.id)][:2] == ["hi 0", "hi 1"]


async def test_a_recipient_refused_in_a_later_chunk_leaves_the_request_to_accept(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The chunks stop at the first one with a refused recipient; the store, given fewer
    than announced, keeps none; the acceptor builds the rest and accepts the request as it
    always did: the refused recipient refused, every other one stored once."""
    monkeypatch.setattr(accept, "STREAM_CHUNK", 300)
    a = await make_account(store, balance=10**12, senders=["Test"])
    items = [
        Submission(phone=f"+7965{i:07d}", text="hello", sender="Test", client_ref=f"y{i}")
        for i in range(accept.STREAM_FROM + 10)
    ]
    items[700] = msgspec.structs.replace(items[700], phone="+1")
    outcomes, job = await accept.Acceptor(store, Limits()).submit(a, "native", items, job=True)
    kinds = [o.kind for o in outcomes]
    assert kinds[700] == "error" and kinds.count("new") == len(items) - 1
    assert outcomes[700].error is not None
    assert outcomes[700].error.code is ErrorCode.INVALID_PHONE
    assert job is not None
    counts = await store.get_job(a.id, job.id)
    assert counts is not None and counts.by_status == {"queued": len(items) - 1}


@pytest.mark.parametrize("refs", [True, False])
async def test_messages_of_one_template_are_stored_whole(store: Store, refs: bool) -> None:
    """A bulk built from one template (`OneTemplate`: the store takes the shared fields from
    its first message) is stored field for field, by `accept` and by `accept_stream`, its
    varying columns too when, as here without references or with one text for all, they
    hold one value."""
    a = await make_account(store, balance=10**12, senders=["Test"])
    for way in ("accept", "stream"):
        items = [
            Submission(
                phone=f"+7965{i:07d}",
                text="the same text",
                sender="Test",
                client_ref=f"{way}{i}" if refs else None,
                ttl=600,
                tag="spring",
            )
            for i in range(accept.STREAM_FROM)
        ]
        job = Job(id=new_id(), account_id=a.id, dialect="native", total=len(items), created_at=1)
        built = validate.build_messages(a, "native", items, time.time(), Limits(), job_id=job.id)
        assert type(built) is OneTemplate
        messages = cast(list[Message], built)
        if way == "accept":
            outcomes: list[Outcome] | None = await store.accept(a.id, messages, job=job)
        else:
            chunks = (OneTemplate(messages[i : i + 500]) for i in range(0, len(messages), 500))
            outcomes = await store.accept_stream(a.id, len(messages), chunks, job=job)
            if outcomes is None:  # a backend that does not stream
                continue
        assert {o.kind for o in outcomes} == {"new"}
        assert await store.job_messages(a.id, job.id, limit=len(messages)) == messages
