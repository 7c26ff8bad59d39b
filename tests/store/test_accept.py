"""Store contract: accept (idempotency, stop list, money, atomic batches, jobs) and the reads."""

from __future__ import annotations

import asyncio
import time

import msgspec
import pytest

from smsgate.core.errors import ErrorCode
from smsgate.core.ids import new_id
from smsgate.core.models import Job, Message
from smsgate.core.status import Status
from smsgate.core.windows import Window
from smsgate.store.base import MessageFilter, Store
from tests.store.helpers import make_account, message


async def balance(store: Store, account_id: int) -> int:
    account = await store.get_account(account_id)
    assert account is not None
    return account.balance


async def test_accept_stores_every_field(store: Store) -> None:
    a = await make_account(store, balance=10_000_000)
    m = message(
        a.id,
        client_ref="r1",
        sender="ACME",
        text="Привет",
        encoding="ucs2",
        segments=2,
        priority=3,
        expires_at=time.time() + 3600,
        window=Window(days=(0, 1, 2), start_minute=540, end_minute=1260, tz="Europe/Moscow"),
        flash=True,
        tag="promo",
        callback_url="http://cb.example/x",
        confidential=True,
        meta={"extra": [1, "two"]},
        price=1_000_000,
    )
    [outcome] = await store.accept(a.id, [m])
    assert outcome.kind == "new" and outcome.message is not None
    assert outcome.message.seq > 0
    assert outcome.message == msgspec.structs.replace(m, seq=outcome.message.seq)
    assert await store.get_message(a.id, m.id) == outcome.message
    assert await store.get_message(a.id + 1, m.id) is None  # never another account's
    assert await balance(store, a.id) == 9_000_000


async def test_a_batch_stores_each_message_as_it_is(store: Store) -> None:
    """Whatever a batch shares or not (SQLite binds shared values once, others per row, and
    leaves all-NULL columns to their defaults), every message reads back as it was given."""
    a = await make_account(store)
    now = time.time()
    window = Window(days=(0, 1), start_minute=60, end_minute=600, tz="Asia/Almaty")
    varied = [
        message(a.id, client_ref="v0", window=window, meta={"k": 1}, flash=True, tag="t"),
        message(a.id, text="b", encoding="ucs2", segments=2, price=1_000_000, priority=2),
        message(a.id, not_before=now + 600, expires_at=now + 900, sender="S", job_id="j"),
        message(a.id, client_ref="v3", confidential=True, callback_url="http://cb.test/"),
        message(a.id, created_at=now + 1, updated_at=now + 2, status=Status.QUEUED),
    ]
    alike = [
        message(a.id, phone=f"7965111{i:04d}", created_at=now, updated_at=now) for i in range(3)
    ]
    for batch in (varied, alike, [message(a.id, tag="only")]):
        outcomes = await store.accept(a.id, batch)
        stored = [o.message for o in outcomes if o.kind == "new" and o.message is not None]
        assert len(stored) == len(batch)
        assert await store.get_messages(a.id, [m.id for m in batch]) == stored
        for given, kept in zip(batch, stored, strict=True):
            assert kept == msgspec.structs.replace(given, seq=kept.seq)


async def test_accept_keeps_request_order(store: Store) -> None:
    a = await make_account(store)
    batch = [message(a.id, phone=f"7965000{i:04d}") for i in range(20)]
    outcomes = await store.accept(a.id, batch)
    assert [o.message.id for o in outcomes if o.message] == [m.id for m in batch]
    seqs = [o.message.seq for o in outcomes if o.message]
    assert seqs == sorted(seqs) and len(set(seqs)) == 20


async def test_repeated_client_ref_is_a_duplicate(store: Store) -> None:
    a = await make_account(store, balance=10_000_000)
    [first] = await store.accept(a.id, [message(a.id, client_ref="x")])
    [again] = await store.accept(a.id, [message(a.id, client_ref="x", text="other")])
    assert again.kind == "duplicate" and again.message == first.message
    assert await balance(store, a.id) == 9_500_000  # charged once
    # The key is (account, dialect, reference): another dialect or account may reuse it.
    [other_dialect] = await store.accept(a.id, [message(a.id, client_ref="x", dialect="smsc")])
    assert other_dialect.kind == "new"
    b = await make_account(store, "b")
    [other_account] = await store.accept(b.id, [message(b.id, client_ref="x")])
    assert other_account.kind == "new"
    assert (await store.message_by_ref(a.id, "native", "x")) == first.message


async def test_repeat_inside_one_request(store: Store) -> None:
    a = await make_account(store, balance=10_000_000)
    outcomes = await store.accept(
        a.id, [message(a.id, client_ref="x"), message(a.id, client_ref="x"), message(a.id)]
    )
    assert [o.kind for o in outcomes] == ["new", "duplicate", "new"]
    assert outcomes[1].message == outcomes[0].message
    assert outcomes[1].message is not None and outcomes[1].message.seq > 0
    assert await balance(store, a.id) == 9_000_000


async def test_stop_listed_phones_are_refused(store: Store) -> None:
    a = await make_account(store, balance=10_000_000)
    await store.stoplist_add(a.id, ["79650000001"])
    await store.stoplist_add(0, ["79650000002"])  # the global list
    outcomes = await store.accept(
        a.id,
        [message(a.id, "79650000001"), message(a.id, "79650000002"), message(a.id, "79650000003")],
    )
    assert [o.kind for o in outcomes] == ["error", "error", "new"]
    assert all(o.error.code is ErrorCode.STOP_LISTED for o in outcomes[:2] if o.error)
    assert await balance(store, a.id) == 9_500_000


async def test_accepts_after_the_first_still_see_stop_lists_references_and_balance(
    store: Store,
) -> None:
    """Once a first accept has run (on PostgreSQL it leaves a debit slice that later plain
    accepts take in one statement), what could refuse an item still decides."""
    a = await make_account(store, balance=1_000_000_000)
    [first] = await store.accept(a.id, [message(a.id, client_ref="x")])
    await store.stoplist_add(a.id, ["79650000009"])
    two = [message(a.id, "79650000009"), message(a.id, "79650000008")]
    assert [o.kind for o in await store.accept(a.id, two)] == ["error", "new"]
    [again] = await store.accept(a.id, [message(a.id, client_ref="x", text="other")])
    assert again.kind == "duplicate" and again.message == first.message
    plain = await store.accept(a.id, [message(a.id), message(a.id, client_ref="y")])
    assert [o.kind for o in plain] == ["new", "new"]
    assert await balance(store, a.id) == 1_000_000_000 - 4 * 500_000
    await store.adjust_balance(a.id, -(1_000_000_000 - 5 * 500_000))
    short = await store.accept(a.id, [message(a.id), message(a.id)])
    assert [o.error.code for o in short if o.error] == [ErrorCode.INSUFFICIENT_BALANCE] * 2
    assert [o.kind for o in await store.accept(a.id, [message(a.id)])] == ["new"]
    assert await balance(store, a.id) == 0


async def test_insufficient_balance_stores_nothing(store: Store) -> None:
    a = await make_account(store, balance=1_200_000)
    batch = [message(a.id, phone=f"7965000000{i}") for i in range(3)]
    outcomes = await store.accept(a.id, batch)
    assert [o.kind for o in outcomes] == ["error"] * 3
    assert all(o.error and o.error.code is ErrorCode.INSUFFICIENT_BALANCE for o in outcomes)
    assert await store.get_message(a.id, batch[0].id) is None
    assert await balance(store, a.id) == 1_200_000
    [one] = await store.accept(a.id, batch[:1])
    assert one.kind == "new" and await balance(store, a.id) == 700_000


async def test_atomic_request_with_an_error_stores_nothing(store: Store) -> None:
    a = await make_account(store, balance=10_000_000)
    await store.stoplist_add(a.id, ["79650000002"])
    batch = [message(a.id, "79650000001"), message(a.id, "79650000002")]
    outcomes = await store.accept(a.id, batch, atomic=True)
    assert [o.kind for o in outcomes] == ["error", "error"]
    assert outcomes[0].error is not None and outcomes[0].error.code is ErrorCode.BAD_REQUEST
    assert outcomes[1].error is not None and outcomes[1].error.code is ErrorCode.STOP_LISTED
    assert await store.get_message(a.id, batch[0].id) is None
    assert await balance(store, a.id) == 10_000_000
    # Not atomic: the good one goes through.
    outcomes = await store.accept(a.id, batch)
    assert [o.kind for o in outcomes] == ["new", "error"]


async def test_job_counts_and_messages(store: Store) -> None:
    a = await make_account(store)
    job = Job(
        id=new_id(),
        account_id=a.id,
        dialect="native",
        client_ref="j1",
        total=3,
        created_at=time.time(),
        meta={"name": "promo"},
    )
    batch = [message(a.id, phone=f"7965000000{i}", job_id=job.id) for i in range(3)]
    await store.accept(a.id, batch, job=job)
    counts = await store.get_job(a.id, job.id)
    assert counts is not None and counts.job == job and counts.by_status == {"accepted": 3}
    assert await store.get_job(a.id + 1, job.id) is None
    assert await store.get_job(a.id, "nope") is None
    listed = await store.job_messages(a.id, job.id, limit=2)
    assert [m.id for m in listed] == [m.id for m in batch[:2]]
    rest = await store.job_messages(a.id, job.id, after_seq=listed[-1].seq)
    assert [m.id for m in rest] == [batch[2].id]


async def test_bulk_accept_and_repeat(store: Store) -> None:
    a = await make_account(store, balance=10**13)
    job = Job(id=new_id(), account_id=a.id, dialect="native", total=5000, created_at=time.time())
    batch = [
        message(a.id, phone=f"7965{i:07d}", client_ref=f"b{i}", job_id=job.id) for i in range(5000)
    ]
    outcomes = await store.accept(a.id, batch, job=job)
    assert all(o.kind == "new" for o in outcomes)
    assert [o.message.id for o in outcomes if o.message] == [m.id for m in batch]
    counts = await store.get_job(a.id, job.id)
    assert counts is not None and counts.by_status == {"accepted": 5000}
    again = await store.accept(a.id, [message(a.id, client_ref=f"b{i}") for i in range(5000)])
    assert all(o.kind == "duplicate" for o in again)
    assert [o.message.id for o in again if o.message] == [m.id for m in batch]
    assert await balance(store, a.id) == 10**13 - 5000 * 500_000


async def test_concurrent_accepts_of_one_reference_make_one_message(
    store: Store, other: Store
) -> None:
    a = await make_account(store, balance=10_000_000)
    sends = [
        (store if i % 2 else other).accept(a.id, [message(a.id, client_ref="once", text=str(i))])
        for i in range(50)
    ]
    outcomes = [o for [o] in await asyncio.gather(*sends)]
    assert sorted(o.kind for o in outcomes).count("new") == 1
    ids = {o.message.id for o in outcomes if o.message}
    assert len(ids) == 1
    assert await balance(store, a.id) == 9_500_000
    found = await store.list_messages(a.id, MessageFilter())
    assert [m.id for m in found] == list(ids)


async def test_concurrent_debits_never_go_below_zero(store: Store, other: Store) -> None:
    a = await make_account(store, balance=5_000_000)  # ten messages' worth
    sends = [
        (store if i % 2 else other).accept(a.id, [message(a.id, phone=f"79650000{i:03d}")])
        for i in range(30)
    ]
    outcomes = [o for [o] in await asyncio.gather(*sends)]
    assert [o.kind for o in outcomes].count("new") == 10
    assert all(
        o.error and o.error.code is ErrorCode.INSUFFICIENT_BALANCE
        for o in outcomes
        if o.kind == "error"
    )
    assert await balance(store, a.id) == 0


async def test_reads(store: Store) -> None:
    a = await make_account(store)
    b = await make_account(store, "b")
    m1 = message(a.id, "79650000001", client_ref="c1")
    m2 = message(a.id, "79650000002", dialect="smsc")
    m3 = message(a.id, "79650000001")
    stored = [o.message for o in await store.accept(a.id, [m1, m2, m3])]
    await store.accept(b.id, [message(b.id, "79650000001")])
    assert [m.id for m in await store.get_messages(a.id, [m3.id, m1.id, "nope"])] == [m3.id, m1.id]
    assert await store.get_messages(b.id, [m1.id]) == []
    assert stored[0] is not None
    assert await store.message_by_seq(a.id, stored[0].seq) == stored[0]
    assert await store.message_by_seq(b.id, stored[0].seq) is None
    # whose it is, for dialects answering 403 for another's message rather than 404
    assert await store.owner_by_seq(stored[0].seq) == a.id
    assert await store.owner_by_seq(stored[0].seq + 1000) is None
    assert await store.message_by_ref(a.id, "native", "c1") == stored[0]
    assert await store.message_by_ref(a.id, "smsc", "c1") is None

    async def ids(flt: MessageFilter, **kw: int) -> list[str]:
        return [m.id for m in await store.list_messages(a.id, flt, **kw)]

    assert await ids(MessageFilter()) == [m1.id, m2.id, m3.id]
    assert await ids(MessageFilter(phone="79650000001")) == [m1.id, m3.id]
    assert await ids(MessageFilter(dialect="smsc")) == [m2.id]
    assert await ids(MessageFilter(status="accepted"), limit=2) == [m1.id, m2.id]
    assert await ids(MessageFilter(status="delivered")) == []
    assert stored[1] is not None
    assert await ids(MessageFilter(), after_seq=stored[1].seq) == [m3.id]
    assert await ids(MessageFilter(since=time.time() + 60)) == []
    assert await ids(MessageFilter(until=time.time() + 60)) == [m1.id, m2.id, m3.id]


async def test_scheduled_messages_keep_their_status(store: Store) -> None:
    a = await make_account(store)
    [o] = await store.accept(a.id, [message(a.id, not_before=time.time() + 60)])
    assert o.message is not None and o.message.status is Status.SCHEDULED


@pytest.mark.parametrize("size", [1, 1500])
async def test_accept_after_close_is_unavailable(store: Store, size: int) -> None:
    from smsgate.store.base import StoreUnavailable

    a = await make_account(store)
    await store.close()
    with pytest.raises(StoreUnavailable):
        await store.accept(a.id, [message(a.id, f"7965{i:07d}") for i in range(size)])


async def test_repeats_cost_nothing(store: Store) -> None:
    a = await make_account(store, balance=1_000_000)  # two messages' worth
    [x] = await store.accept(a.id, [message(a.id, client_ref="x")])
    outcomes = await store.accept(
        a.id, [message(a.id, client_ref="x"), message(a.id, client_ref="y")]
    )
    assert [o.kind for o in outcomes] == ["duplicate", "new"]
    assert outcomes[0].message == x.message
    assert await balance(store, a.id) == 0
    refs = ["x", "y", "z", "z"]
    outcomes = await store.accept(a.id, [message(a.id, client_ref=r) for r in refs])
    # the repeat of a refused new key shares its refusal: there is nothing it could repeat
    assert [o.kind for o in outcomes] == ["duplicate", "duplicate", "error", "error"]
    assert outcomes[2].error is not None
    assert outcomes[2].error.code is ErrorCode.INSUFFICIENT_BALANCE
    assert await store.message_by_ref(a.id, "native", "z") is None  # nothing stored
    await store.adjust_balance(a.id, 500_000)
    [z] = await store.accept(a.id, [message(a.id, client_ref="z")])
    assert z.kind == "new"


LARGE = 2000  # above SQLite's INSERT_FIRST_FROM: a request inserted before its lookups


def large_request(account_id: int, job: Job | None = None) -> list[Message]:
    return [
        message(account_id, phone=f"7965{i:07d}", client_ref=f"k{i}", job_id=job and job.id)
        for i in range(LARGE)
    ]


async def test_large_request_with_stored_references(store: Store) -> None:
    a = await make_account(store, balance=10**13)
    stored = await store.accept(a.id, [message(a.id, client_ref=r) for r in ("k5", "k1500")])
    job = Job(id=new_id(), account_id=a.id, dialect="native", total=LARGE, created_at=time.time())
    outcomes = await store.accept(a.id, large_request(a.id, job), job=job)
    kinds = [o.kind for o in outcomes]
    assert kinds.count("new") == LARGE - 2
    assert (kinds[5], kinds[1500]) == ("duplicate", "duplicate")
    assert [outcomes[5].message, outcomes[1500].message] == [o.message for o in stored]
    assert await balance(store, a.id) == 10**13 - LARGE * 500_000
    assert await store.message_by_ref(a.id, "native", "k6") == outcomes[6].message
    counts = await store.get_job(a.id, job.id)
    assert counts is not None and counts.by_status == {"accepted": LARGE - 2}


async def test_large_request_with_a_repeat_inside(store: Store) -> None:
    a = await make_account(store, balance=10**13)
    batch = large_request(a.id)
    batch[-1] = message(a.id, client_ref="k0", text="again")
    outcomes = await store.accept(a.id, batch)
    assert [o.kind for o in outcomes] == ["new"] * (LARGE - 1) + ["duplicate"]
    assert outcomes[-1].message == outcomes[0].message
    assert await balance(store, a.id) == 10**13 - (LARGE - 1) * 500_000


async def test_large_request_over_the_balance_stores_nothing(store: Store) -> None:
    a = await make_account(store, balance=(LARGE - 1) * 500_000)
    job = Job(id=new_id(), account_id=a.id, dialect="native", total=LARGE, created_at=time.time())
    batch = large_request(a.id, job)
    outcomes = await store.accept(a.id, batch, job=job)
    assert all(o.error and o.error.code is ErrorCode.INSUFFICIENT_BALANCE for o in outcomes)
    assert await store.get_message(a.id, batch[0].id) is None
    assert await store.message_by_ref(a.id, "native", "k0") is None
    assert await store.get_job(a.id, job.id) is None
    assert await balance(store, a.id) == (LARGE - 1) * 500_000


async def test_large_request_with_a_stop_listed_phone(store: Store) -> None:
    a = await make_account(store, balance=10**13)
    await store.stoplist_add(a.id, ["79650000007"])
    outcomes = await store.accept(a.id, large_request(a.id))
    assert [o.kind for o in outcomes].count("new") == LARGE - 1
    assert outcomes[7].error is not None and outcomes[7].error.code is ErrorCode.STOP_LISTED
    assert await balance(store, a.id) == 10**13 - (LARGE - 1) * 500_000
