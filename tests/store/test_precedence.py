"""The accept precedence, row by row, on each backend (the `store` fixture: SQLite, PostgreSQL).

Written from the documented precedence (docs/native.md), not from what either backend does.
For each recipient the first rule that applies decides:

1. duplicate: a stored `client_ref` answers the stored message, whatever else the request says;
   a reference repeated inside one request shares the fate of its first occurrence;
2. validity: the recipient's own fields (phone, text, sender, ...);
3. stop list: the account's or the global (account 0) list;
4. balance: the request's new messages together exceed the balance: all of them are refused;
5. atomic: any error under 2-4 refuses the whole request; each refused recipient keeps its
   code, every other one (new or duplicate) gets `bad_request` "batch refused".

Requests are driven through the engine's Acceptor, so that validity takes part.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from smsgate.core.errors import ErrorCode
from smsgate.core.models import Account, Message, Submission
from smsgate.core.validate import Limits
from smsgate.engine.accept import Acceptor
from smsgate.store import open_store
from smsgate.store.base import MessageFilter, Outcome, Store
from tests.store.helpers import make_account

PRICE = 500_000  # per segment; every balance below is counted in messages of one segment
P1, P2, P3, P4 = (f"7965000000{i}" for i in range(1, 5))
BAD = "12"  # not a phone number: invalid_phone
LONG = "x" * 200  # two GSM 03.38 segments
NEW, DUP = "new", "duplicate"
INVALID = ErrorCode.INVALID_PHONE.value
SENDER = ErrorCode.SENDER_NOT_ALLOWED.value
EMPTY = ErrorCode.EMPTY_TEXT.value
STOP = ErrorCode.STOP_LISTED.value
SHORT = ErrorCode.INSUFFICIENT_BALANCE.value
REFUSED = ErrorCode.BAD_REQUEST.value  # "batch refused"


@dataclass(frozen=True)
class To:
    """One recipient of a request."""

    phone: str = P1
    ref: str | None = None
    sender: str | None = None
    text: str = "hello"

    def submission(self) -> Submission:
        return Submission(phone=self.phone, text=self.text, sender=self.sender, client_ref=self.ref)


@dataclass(frozen=True)
class Case:
    """Setup, request, and the documented answer.

    `stored` are accepted first (each with a reference, from a balance of plenty); then the
    senders in `removed` are taken away, the phones in `stop` (the account's list), `gstop`
    (the global list) and `other_stop` (another account's list) are stop-listed, and the
    balance is set to `balance` messages. `expect` is each recipient's outcome kind, or its
    error code; `left` the balance after, in messages. What is stored after is the setup's
    messages plus exactly the recipients answered `new`.
    """

    send: tuple[To, ...]
    expect: tuple[str, ...]
    left: int
    balance: int = 10
    stored: tuple[To, ...] = ()
    stop: tuple[str, ...] = ()
    gstop: tuple[str, ...] = ()
    other_stop: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    atomic: bool = False


CASES: dict[str, Case] = {
    # -- single rules -------------------------------------------------------------------------
    "new": Case(send=(To(P1),), expect=(NEW,), left=9),
    "duplicate": Case(stored=(To(P1, "r1"),), send=(To(P1, "r1"),), expect=(DUP,), left=10),
    "invalid-phone": Case(send=(To(BAD), To(P2)), expect=(INVALID, NEW), left=9),
    "sender-not-allowed": Case(
        send=(To(P1, sender="EVIL"), To(P2, sender="ACME")), expect=(SENDER, NEW), left=9
    ),
    "account-stop-list": Case(stop=(P1,), send=(To(P1), To(P2)), expect=(STOP, NEW), left=9),
    "global-stop-list": Case(gstop=(P2,), send=(To(P1), To(P2)), expect=(NEW, STOP), left=9),
    "another-accounts-stop-list-is-not-ours": Case(
        other_stop=(P1,), send=(To(P1), To(P2)), expect=(NEW, NEW), left=8
    ),
    # -- rule 1 before everything else ----------------------------------------------------------
    "duplicate+account-stop-listed": Case(
        stored=(To(P1, "r1"),), stop=(P1,), send=(To(P1, "r1"),), expect=(DUP,), left=10
    ),
    "duplicate+global-stop-listed": Case(
        stored=(To(P1, "r1"),), gstop=(P1,), send=(To(P1, "r1"),), expect=(DUP,), left=10
    ),
    "duplicate+stop-listed-in-a-batch": Case(
        stored=(To(P1, "r1"),),
        stop=(P1,),
        send=(To(P1, "r1"), To(P2)),
        expect=(DUP, NEW),
        left=9,
    ),
    "duplicate+invalid-phone": Case(
        stored=(To(P1, "r1"),), send=(To(BAD, "r1"),), expect=(DUP,), left=10
    ),
    "duplicate+empty-text": Case(
        stored=(To(P1, "r1"),), send=(To(P1, "r1", text=""), To(P2)), expect=(DUP, NEW), left=9
    ),
    "duplicate+sender-removed-since": Case(
        stored=(To(P1, "r1", sender="OLD"),),
        removed=("OLD",),
        send=(To(P1, "r1", sender="OLD"),),
        expect=(DUP,),
        left=10,
    ),
    "duplicate+other-text-and-phone": Case(
        stored=(To(P1, "r1"),), send=(To(P2, "r1", text="other"),), expect=(DUP,), left=10
    ),
    "duplicate+empty-balance": Case(
        stored=(To(P1, "r1"),), balance=0, send=(To(P1, "r1"),), expect=(DUP,), left=0
    ),
    "duplicate+the-new-ones-short": Case(
        stored=(To(P1, "r1"),),
        balance=1,
        send=(To(P1, "r1"), To(P2), To(P3)),
        expect=(DUP, SHORT, SHORT),
        left=1,
    ),
    # -- a reference repeated inside one request --------------------------------------------------
    "repeat-of-a-new-one": Case(send=(To(P1, "r1"), To(P2, "r1")), expect=(NEW, DUP), left=9),
    "repeat-of-a-stored-one": Case(
        stored=(To(P1, "r1"),), send=(To(P1, "r1"), To(P2, "r1")), expect=(DUP, DUP), left=10
    ),
    "repeat-of-an-invalid-phone": Case(
        send=(To(BAD, "r1"), To(P2, "r1"), To(P3)), expect=(INVALID, INVALID, NEW), left=9
    ),
    "repeat-of-a-stop-listed-one": Case(
        stop=(P1,), send=(To(P1, "r1"), To(P2, "r1"), To(P3)), expect=(STOP, STOP, NEW), left=9
    ),
    "repeat-of-one-refused-for-balance": Case(
        balance=0, send=(To(P1, "r1"), To(P2, "r1")), expect=(SHORT, SHORT), left=0
    ),
    "repeat-with-invalid-phone-of-a-new-one": Case(
        send=(To(P1, "r1"), To(BAD, "r1")), expect=(NEW, DUP), left=9
    ),
    "repeat-with-stop-listed-phone-of-a-new-one": Case(
        stop=(P2,), send=(To(P1, "r1"), To(P2, "r1")), expect=(NEW, DUP), left=9
    ),
    # -- balance -----------------------------------------------------------------------------------
    "balance-exactly-enough": Case(
        balance=3, send=(To(P1), To(P2), To(P3)), expect=(NEW, NEW, NEW), left=0
    ),
    "balance-one-short": Case(
        balance=2, send=(To(P1), To(P2), To(P3)), expect=(SHORT, SHORT, SHORT), left=2
    ),
    "balance-counts-segments": Case(
        balance=3, send=(To(P1, text=LONG), To(P2)), expect=(NEW, NEW), left=0
    ),
    "balance-one-segment-short": Case(
        balance=2, send=(To(P1, text=LONG), To(P2)), expect=(SHORT, SHORT), left=2
    ),
    "stop-listed+the-others-short": Case(
        balance=1, stop=(P2,), send=(To(P1), To(P2), To(P3)), expect=(SHORT, STOP, SHORT), left=1
    ),
    "stop-listed+the-others-enough": Case(
        balance=2, stop=(P2,), send=(To(P1), To(P2), To(P3)), expect=(NEW, STOP, NEW), left=0
    ),
    "invalid+the-others-enough": Case(
        balance=1,
        send=(To(P1), To(BAD), To(P2, sender="EVIL")),
        expect=(NEW, INVALID, SENDER),
        left=0,
    ),
    "repeats-are-not-priced": Case(
        balance=1, send=(To(P1, "r1"), To(P2, "r1"), To(P3, "r1")), expect=(NEW, DUP, DUP), left=0
    ),
    # -- atomic -----------------------------------------------------------------------------------
    "atomic-all-good": Case(atomic=True, send=(To(P1), To(P2)), expect=(NEW, NEW), left=8),
    "atomic-all-duplicates": Case(
        atomic=True,
        stored=(To(P1, "r1"), To(P2, "r2")),
        send=(To(P1, "r1"), To(P2, "r2")),
        expect=(DUP, DUP),
        left=10,
    ),
    "atomic-duplicate+stop-listed+good": Case(
        atomic=True,
        stored=(To(P1, "r1"),),
        stop=(P2,),
        send=(To(P1, "r1"), To(P2), To(P3)),
        expect=(REFUSED, STOP, REFUSED),
        left=10,
    ),
    "atomic-duplicate-of-a-stop-listed-phone+good": Case(
        atomic=True,
        stored=(To(P1, "r1"),),
        stop=(P1,),
        send=(To(P1, "r1"), To(P2)),
        expect=(DUP, NEW),
        left=9,
    ),
    "atomic-duplicate-with-invalid-phone+good": Case(
        atomic=True,
        stored=(To(P1, "r1"),),
        send=(To(BAD, "r1"), To(P2)),
        expect=(DUP, NEW),
        left=9,
    ),
    "atomic-invalid+good+duplicate": Case(
        atomic=True,
        stored=(To(P1, "r1"),),
        send=(To(BAD), To(P2), To(P1, "r1")),
        expect=(INVALID, REFUSED, REFUSED),
        left=10,
    ),
    "atomic-each-refused-keeps-its-code": Case(
        atomic=True,
        stop=(P3,),
        send=(To(BAD), To(P2, sender="EVIL"), To(P3), To(P4)),
        expect=(INVALID, SENDER, STOP, REFUSED),
        left=10,
    ),
    "atomic-short+duplicate": Case(
        atomic=True,
        stored=(To(P1, "r1"),),
        balance=1,
        send=(To(P1, "r1"), To(P2), To(P3)),
        expect=(REFUSED, SHORT, SHORT),
        left=1,
    ),
    "atomic-exactly-enough": Case(
        atomic=True, balance=2, send=(To(P1), To(P2)), expect=(NEW, NEW), left=0
    ),
    "atomic-repeat-of-a-good-one-refused": Case(
        atomic=True,
        stop=(P3,),
        send=(To(P1, "r1"), To(P2, "r1"), To(P3)),
        expect=(REFUSED, REFUSED, STOP),
        left=10,
    ),
    "atomic-one-recipient-stop-listed": Case(
        atomic=True, stop=(P1,), send=(To(P1),), expect=(STOP,), left=10
    ),
}


async def _balance(store: Store, account_id: int) -> int:
    account = await store.get_account(account_id)
    assert account is not None
    return account.balance


def kinds(outcomes: list[Outcome]) -> list[str]:
    """Each outcome as its kind, or its error code for an error."""
    return [o.error.code.value if o.kind == "error" and o.error else o.kind for o in outcomes]


async def _setup(store: Store, case: Case) -> tuple[Account, dict[str, Message]]:
    acme = await make_account(store, balance=100 * PRICE, price=PRICE, senders=["ACME", "OLD"])
    acceptor = Acceptor(store, Limits())
    stored: dict[str, Message] = {}
    for to in case.stored:
        assert to.ref is not None
        [o], _ = await acceptor.submit(acme, "native", [to.submission()])
        assert o.kind == "new" and o.message is not None, o
        stored[to.ref] = o.message
    for name in case.removed:
        assert await store.remove_sender(acme.id, name)
    if case.stop:
        await store.stoplist_add(acme.id, list(case.stop))
    if case.gstop:
        await store.stoplist_add(0, list(case.gstop))
    if case.other_stop:
        other = await make_account(store, "other")
        await store.stoplist_add(other.id, list(case.other_stop))
    await store.adjust_balance(acme.id, case.balance * PRICE - await _balance(store, acme.id))
    account = await store.get_account(acme.id)  # its senders as they are now
    assert account is not None
    return account, stored


@pytest.mark.parametrize("case", list(CASES.values()), ids=list(CASES))
async def test_precedence(store: Store, case: Case) -> None:
    account, stored = await _setup(store, case)
    outcomes, _ = await Acceptor(store, Limits()).submit(
        account, "native", [to.submission() for to in case.send], atomic=case.atomic
    )
    assert kinds(outcomes) == list(case.expect)

    # A duplicate is the stored message, or the message its reference's first occurrence became.
    first: dict[str, Outcome] = {}
    for to, outcome in zip(case.send, outcomes, strict=True):
        if to.ref is not None:
            first.setdefault(to.ref, outcome)
        if outcome.kind == "duplicate":
            assert to.ref is not None
            earlier = stored.get(to.ref) or first[to.ref].message
            assert outcome.message is not None and earlier is not None
            assert outcome.message.id == earlier.id
        elif outcome.kind == "error":
            assert outcome.error is not None
            if outcome.error.code is ErrorCode.BAD_REQUEST:
                assert outcome.error.detail == "batch refused"

    # Stored after: the setup's messages and exactly the new ones, each as its recipient said.
    new = {
        o.message.id: to
        for to, o in zip(case.send, outcomes, strict=True)
        if o.kind == "new" and o.message is not None
    }
    assert len(new) == case.expect.count(NEW)
    found = await store.list_messages(account.id, MessageFilter(), limit=1000)
    assert sorted(m.id for m in found) == sorted([m.id for m in stored.values()] + list(new))
    for m in found:
        if m.id in new:
            to = new[m.id]
            assert (m.phone, m.client_ref, m.text) == (to.phone, to.ref, to.text)
    assert await _balance(store, account.id) == case.left * PRICE


# -- group commit: requests committed together are decided in arrival order ---------------------


@pytest.fixture
async def grouped(database_url: str) -> AsyncIterator[Store]:
    """A store whose concurrent accepts share one commit: on PostgreSQL one commit slot
    (pool_max=2), so that requests made at once queue for it and commit as one group."""
    url = database_url + "&pool_max=2" if database_url.startswith("postgres") else database_url
    s = open_store(url)
    await s.open()
    await s.migrate()
    try:
        yield s
    finally:
        await s.close()


GROUPS: dict[str, tuple[list[tuple[To, ...]], list[list[str]], int, int]] = {
    # requests (sent at once, in this order), each one's answer, balance before and after
    "one-reference-twice": ([(To(P1, "g"),), (To(P2, "g"),)], [[NEW], [DUP]], 10, 9),
    "balance-taken-by-the-first": (
        [(To(P1),), (To(P2),), (To(P3),)],
        [[NEW], [SHORT], [SHORT]],
        1,
        0,
    ),
    "the-first-short-the-second-fits": (
        [(To(P1), To(P2)), (To(P3),)],
        [[SHORT, SHORT], [NEW]],
        1,
        0,
    ),
    "refused-first-leaves-its-reference-free": (
        [(To(BAD, "g"),), (To(P2, "g"),), (To(P3, "g"),)],
        [[INVALID], [NEW], [DUP]],
        10,
        9,
    ),
    "a-batch-repeats-a-single-send": (
        [(To(P1, "g"),), (To(P2, "g"), To(P3, "h")), (To(P4, "h"),)],
        [[NEW], [DUP, NEW], [DUP]],
        10,
        8,
    ),
}


@pytest.mark.parametrize(
    ("requests", "expect", "balance", "left"), list(GROUPS.values()), ids=list(GROUPS)
)
async def test_group_commit_decides_in_arrival_order(
    grouped: Store, requests: list[tuple[To, ...]], expect: list[list[str]], balance: int, left: int
) -> None:
    acme = await make_account(grouped, balance=balance * PRICE, price=PRICE)
    acceptor = Acceptor(grouped, Limits())
    answers = await asyncio.gather(
        *(
            acceptor.submit(acme, "native", [to.submission() for to in request])
            for request in requests
        )
    )
    assert [kinds(outcomes) for outcomes, _ in answers] == expect
    by_ref: dict[str, str] = {}
    for request, (outcomes, _) in zip(requests, answers, strict=True):
        for to, o in zip(request, outcomes, strict=True):
            if to.ref is not None and o.message is not None:
                assert by_ref.setdefault(to.ref, o.message.id) == o.message.id
    assert await _balance(grouped, acme.id) == left * PRICE
    found = await grouped.list_messages(acme.id, MessageFilter())
    assert len(found) == balance - left
