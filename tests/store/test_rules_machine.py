"""SQLite and PostgreSQL side by side under random sequences of accepts, carrier reports,
cancels, stop-list changes and balance adjustments: after every step both answered the same
and both hold the same.

Compared: each accept's outcome kinds and error codes (and which message a duplicate is);
record_reports' events as (message, status, error code); cancel's error code or resulting
status; stop-list and balance answers; and the stored state (every message's status, error
code, price and fields, the balance, the account's and the global stop list). The stores give
a message different ids: the machine names each new message (m0, m1, ...) and maps both
sides' ids to that name.

Both stores are opened once, on one event loop the test makes (an SQLite file and a fresh
PostgreSQL schema), and closed at its end; each example works on accounts of its own and
empties the global stop list in its teardown.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn, TypeVar, cast

import hypothesis.internal.conjecture.engine
import pytest
import uvloop
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from smsgate.core.errors import GatewayError
from smsgate.core.models import Message, Report
from smsgate.core.status import CANCELLABLE, Status, can_transition
from smsgate.store import open_store
from smsgate.store.base import MessageFilter, Outcome, Store, StoreUnavailable
from tests.store.helpers import make_account, message, route

T = TypeVar("T")

PRICE = 500_000  # per segment
PHONES = ["79650000001", "79650000002", "79650000003"]
REFS = [None, None, "a", "b", "c"]  # no reference twice as likely as each one
DIALECTS = ["native", "native", "smsc"]
CARRIER_ERRORS = [None, None, "absent_subscriber", "network_error"]

recipients = st.lists(
    st.tuples(
        st.sampled_from(PHONES),
        st.sampled_from(REFS),
        st.sampled_from(DIALECTS),
        st.integers(1, 2),  # segments
    ),
    min_size=1,
    max_size=3,
)


@dataclass
class Side:
    """One backend: its store, the account under test, and its ids for the machine's names."""

    backend: str
    store: Store
    account: int = 0
    ids: dict[str, str] = field(default_factory=dict)  # name -> id
    names: dict[str, str] = field(default_factory=dict)  # id -> name

    def name(self, message_id: str) -> str:
        assert message_id in self.names, f"{self.backend}: message {message_id} was never new"
        return self.names[message_id]


class StoreGone(BaseException):
    """A store became unreachable (a database restarted under the test): no disagreement to
    shrink. A BaseException, which Hypothesis lets through at once (an Exception, even
    pytest's Failed, it would shrink for minutes against a database that is gone)."""


def unreachable(exc: StoreUnavailable) -> NoReturn:
    raise StoreGone(str(exc)) from exc


def describe(outcome: Outcome) -> tuple[str, str | None]:
    return outcome.kind, outcome.error.code.value if outcome.error is not None else None


class BackendsAgree(RuleBasedStateMachine):
    # Set by the test on a subclass: its event loop and the two stores, opened once for all
    # examples (each example has accounts of its own; teardown empties the global stop list).
    loop: asyncio.AbstractEventLoop
    stores: tuple[Store, Store]
    examples = 0

    def __init__(self) -> None:
        super().__init__()
        type(self).examples += 1
        self.sides = [Side("sqlite", self.stores[0]), Side("postgres", self.stores[1])]
        self.count = 0  # messages named so far
        self.statuses: dict[str, Status] = {}  # by name, as the last comparison found them
        name = f"acme-{self.examples}"
        for side in self.sides:
            account = self.run(make_account(side.store, name, balance=8 * PRICE, price=PRICE))
            side.account = account.id

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        try:
            return self.loop.run_until_complete(coro)
        except StoreUnavailable as exc:
            unreachable(exc)

    def both(self, call: Callable[[Side], Awaitable[T]]) -> list[T | tuple[str, str]]:
        """Each side's answer, or ('error', code) for a GatewayError; the two stores are
        independent, so both calls run at once (and both finish before any failure is raised)."""

        async def one(side: Side) -> T | tuple[str, str]:
            try:
                return await call(side)
            except GatewayError as exc:
                return ("error", exc.code.value)

        async def each() -> list[T | tuple[str, str] | BaseException]:
            return await asyncio.gather(*map(one, self.sides), return_exceptions=True)

        answers = self.run(each())
        for answer in answers:
            if isinstance(answer, StoreUnavailable):
                unreachable(answer)
            if isinstance(answer, BaseException):
                raise answer
        return answers  # type: ignore[return-value]

    def teardown(self) -> None:
        for side in self.sides:
            try:
                self.loop.run_until_complete(side.store.stoplist_remove(0, PHONES))
            except StoreUnavailable:
                pass  # StoreGone is on its way out already

    # Steps ----------------------------------------------------------------------------------

    @rule(batch=recipients, atomic=st.booleans())
    def accept(self, batch: list[tuple[str, str | None, str, int]], atomic: bool) -> None:
        now = time.time()
        given: dict[str, list[Message]] = {}

        async def accept(side: Side) -> list[Outcome]:
            messages = [
                message(
                    side.account,
                    phone,
                    client_ref=ref,
                    dialect=dialect,
                    segments=segments,
                    price=segments * PRICE,
                    created_at=now,
                    updated_at=now,
                )
                for phone, ref, dialect, segments in batch
            ]
            given[side.backend] = messages
            return await side.store.accept(side.account, messages, atomic=atomic)

        answers = self.both(accept)
        if not all(isinstance(outcomes, list) for outcomes in answers):  # a refused request
            assert answers[0] == answers[1], f"accept {batch} atomic={atomic}"
            return
        results = cast(list[list[Outcome]], answers)
        sqlite, postgres = ([describe(o) for o in outcomes] for outcomes in results)
        assert sqlite == postgres, f"accept {batch} atomic={atomic}"
        assert len(sqlite) == len(batch)
        # Name the new messages, then check each duplicate is the same message on both sides.
        for i, (kind, _) in enumerate(sqlite):
            if kind == "new":
                name = f"m{self.count}"
                self.count += 1
                for side, outcomes in zip(self.sides, results, strict=True):
                    stored = outcomes[i].message
                    assert stored is not None and stored.id == given[side.backend][i].id
                    side.ids[name], side.names[stored.id] = stored.id, name
        for i, (kind, _) in enumerate(sqlite):
            if kind == "duplicate":
                same = set()
                for side, outcomes in zip(self.sides, results, strict=True):
                    stored = outcomes[i].message
                    assert stored is not None
                    same.add(side.name(stored.id))
                assert len(same) == 1, f"recipient {i} duplicates {same}"

    @precondition(lambda self: self.count > 0)
    @rule(data=st.data())
    def report(self, data: st.DataObject) -> None:
        """One to three reports, on one message or several. Mostly on a message not yet final
        and a move its status allows (as the machine last saw it, and as the batch's earlier
        reports leave it), a move onwards more often than to an end, so that messages get deep
        into their lives; else any message and any status: illegal moves, repeats."""
        picks = []
        seen = dict(self.statuses)
        for _ in range(data.draw(st.integers(1, 3), label="reports")):
            live = [int(name[1:]) for name, status in seen.items() if not status.is_final]
            n = data.draw(st.sampled_from(live * 3 + list(range(self.count))), label="message")
            now_at = seen[f"m{n}"]
            legal = [s for s in Status if can_transition(now_at, s)]
            onwards = [s for s in legal if not s.is_final]
            status = data.draw(
                st.sampled_from(onwards * 4 + legal * 2 + list(Status)), label="status"
            )
            error = data.draw(st.sampled_from(CARRIER_ERRORS), label="error")
            carrier = data.draw(st.booleans(), label="with a carrier id")
            picks.append((n, status, error, carrier))
        now = time.time()

        async def record(side: Side) -> list[tuple[str, str, str | None]]:
            reports = [
                Report(
                    message_id=side.ids[f"m{n}"],
                    status=status,
                    error_code=error,
                    carrier_id=f"c-m{n}" if carrier else None,
                    at=now,
                )
                for n, status, error, carrier in picks
            ]
            events = await side.store.record_reports(reports, route)
            return [(side.name(e.message_id), e.status.value, e.error_code) for e in events]

        sqlite, postgres = self.both(record)
        assert sqlite == postgres, f"reports {picks}"

    @precondition(lambda self: self.count > 0)
    @rule(data=st.data())
    def cancel(self, data: st.DataObject) -> None:
        # Mostly a message still cancellable, else any, and now and then one that does not exist.
        ready = [int(name[1:]) for name, status in self.statuses.items() if status in CANCELLABLE]
        n = data.draw(st.sampled_from(ready * 4 + [*range(self.count)] * 2 + [-1]), label="message")

        async def cancel(side: Side) -> tuple[str, str]:
            message_id = side.ids[f"m{n}"] if n >= 0 else "no-such-message"
            cancelled = await side.store.cancel(side.account, message_id, route)
            assert cancelled.id == message_id
            return ("ok", cancelled.status.value)

        sqlite, postgres = self.both(cancel)
        assert sqlite == postgres, f"cancel m{n}"

    @rule(
        phones=st.lists(st.sampled_from(PHONES), min_size=1, max_size=2, unique=True),
        everyone=st.booleans(),
        add=st.booleans(),
    )
    def stop_list(self, phones: list[str], everyone: bool, add: bool) -> None:
        async def change(side: Side) -> int:
            owner = 0 if everyone else side.account
            if add:
                return await side.store.stoplist_add(owner, phones)
            return await side.store.stoplist_remove(owner, phones)

        sqlite, postgres = self.both(change)
        assert sqlite == postgres, f"stop list {'add' if add else 'remove'} {phones}"

    @rule(messages=st.integers(-2, 4))
    def adjust_balance(self, messages: int) -> None:
        async def adjust(side: Side) -> int:
            return await side.store.adjust_balance(side.account, messages * PRICE)

        sqlite, postgres = self.both(adjust)
        assert sqlite == postgres, f"adjust balance by {messages} messages"

    # After every step -----------------------------------------------------------------------

    @invariant()
    def same_state(self) -> None:
        async def state(side: Side) -> dict[str, Any]:
            store = side.store
            found, account, stopped, everyone = await asyncio.gather(
                store.list_messages(side.account, MessageFilter(), limit=1000),
                store.get_account(side.account),
                store.stoplist(side.account),
                store.stoplist(0),
            )
            assert account is not None
            assert account.balance >= 0
            return {
                "messages": {
                    side.name(m.id): (
                        m.phone,
                        m.dialect,
                        m.client_ref,
                        m.status.value,
                        m.error_code,
                        m.price,
                        m.carrier_id,
                    )
                    for m in found
                },
                "balance": account.balance,
                "stop list": sorted(stopped),
                "global stop list": sorted(everyone),
            }

        sqlite, postgres = self.both(state)
        assert sqlite == postgres
        assert isinstance(sqlite, dict)
        assert len(sqlite["messages"]) == self.count  # every new message is stored, no other
        self.statuses = {name: Status(m[3]) for name, m in sqlite["messages"].items()}


SETTINGS = settings(
    max_examples=100,
    stateful_step_count=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


# A pass takes seconds. A disagreement is shrunk to its shortest steps for at most a minute
# (Hypothesis would go on for five), then replayed: more than the default timeout allows.
@pytest.mark.timeout(180)
def test_backends_agree(pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hypothesis.internal.conjecture.engine, "MAX_SHRINKING_SECONDS", 60)
    # Durability is not under test: commits without waiting for the disk keep examples cheap.
    sqlite = open_store(f"sqlite:///{tmp_path}/machine.db", synchronous="OFF")
    postgres = open_store(pg_url + "&synchronous_commit=off")
    loop = uvloop.new_event_loop()  # as `smsgate serve` runs; and a cheaper loop per step
    opened: list[Store] = []
    try:
        for store in (sqlite, postgres):
            loop.run_until_complete(store.open())
            opened.append(store)
            loop.run_until_complete(store.migrate())
        machine = type(
            "BackendsAgreeHere",
            (BackendsAgree,),
            {"loop": loop, "stores": (sqlite, postgres)},
        )
        try:
            run_state_machine_as_test(machine, settings=SETTINGS)
        except StoreGone as exc:
            pytest.fail(f"a store became unavailable during the run: {exc}", pytrace=False)
    finally:
        for store in opened:
            loop.run_until_complete(store.close())
        loop.close()
