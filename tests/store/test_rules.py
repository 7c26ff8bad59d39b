"""The rulebook on its own (smsgate/store/rules.py): pure functions, no store.

The combinations through a real store on both backends are in test_precedence.py and
test_rules_machine.py; these pin the pieces each backend writes (moves, refunds, callbacks).
"""

from __future__ import annotations

import msgspec
import pytest

from smsgate.core.errors import ErrorCode, GatewayError
from smsgate.core.models import Job, Message, MoMessage, OneTemplate, Report
from smsgate.core.status import Status
from smsgate.store import rules
from smsgate.store.base import AllNew, Outcome, Refusal
from smsgate.store.rules import (
    AcceptRequest,
    Known,
    adjusted_balance,
    cancel_report,
    decides,
    dr_callbacks,
    lookups,
    mo_callbacks,
    needs_store,
    plan_accept,
    plan_reports,
    plan_unhindered,
    released_status,
    stop_probes,
    wakes_dispatchers,
    without_store,
)
from tests.store.helpers import route

NOTHING = Known({}, (), {1: 1_000})


def msg(
    ref: str | None = None, phone: str = "79651111111", price: int = 100, **kw: object
) -> Message:
    return Message(
        id=f"id-{ref or phone}-{price}-{kw.get('status', '')}",
        account_id=1,
        dialect="native",
        client_ref=ref,
        phone=phone,
        text="hello",
        encoding="gsm7",
        segments=1,
        price=price,
        **kw,  # type: ignore[arg-type]
    )


def refusal(ref: str | None, held: Message | None = None) -> Refusal:
    return Refusal(
        error=GatewayError(ErrorCode.INVALID_PHONE), dialect="native", client_ref=ref, held=held
    )


def kinds(outcomes: list[Outcome]) -> list[tuple[str, str | None]]:
    return [(o.kind, o.error.code.value if o.error else None) for o in outcomes]


# Accept -------------------------------------------------------------------------------------


def test_group_decides_in_arrival_order() -> None:
    first, second = msg("r"), msg("r", phone="79652222222")
    plan = plan_accept([AcceptRequest(1, [first]), AcceptRequest(1, [second])], NOTHING)
    assert kinds(plan.outcomes[0]) == [("new", None)]
    assert kinds(plan.outcomes[1]) == [("duplicate", None)]
    assert plan.outcomes[1][0].message is first
    assert plan.fresh == [first] and plan.debits == {1: 100}


def test_group_spends_one_balance() -> None:
    known = Known({}, (), {1: 150})
    plan = plan_accept([AcceptRequest(1, [msg("a")]), AcceptRequest(1, [msg("b")])], known)
    assert kinds(plan.outcomes[1]) == [("error", "insufficient_balance")]
    assert plan.debits == {1: 100}


def test_a_request_refused_for_balance_leaves_its_reference_free() -> None:
    known = Known({}, (), {1: 150})
    big = AcceptRequest(1, [msg("a", price=200)])
    again = AcceptRequest(1, [msg("a", price=100)])
    plan = plan_accept([big, again], known)
    assert kinds(plan.outcomes[0]) == [("error", "insufficient_balance")]
    assert kinds(plan.outcomes[1]) == [("new", None)]


def test_held_refusal_is_stored_unpriced_unless_a_duplicate() -> None:
    stored = msg("old")
    held = msg("h", price=0)
    req = AcceptRequest(1, [refusal("old", msg("old", price=0)), refusal("h", held), msg()])
    plan = plan_accept([req], Known({(1, "native", "old"): stored}, (), {1: 1_000}))
    assert kinds(plan.outcomes[0]) == [
        ("duplicate", None),
        ("error", "invalid_phone"),
        ("new", None),
    ]
    assert plan.outcomes[0][0].message is stored
    assert plan.outcomes[0][1].message is held
    assert plan.fresh == [held, req.items[2]] and plan.debits == {1: 100}


def test_held_refusals_are_not_stored_when_the_balance_refuses_the_request() -> None:
    req = AcceptRequest(1, [refusal("h", msg("h", price=0)), msg(price=5_000)])
    plan = plan_accept([req], NOTHING)
    assert kinds(plan.outcomes[0]) == [
        ("error", "invalid_phone"),
        ("error", "insufficient_balance"),
    ]
    assert plan.outcomes[0][0].message is None and plan.fresh == []


def test_job_spans_its_first_and_last_stored_message() -> None:
    job = Job(id="j", account_id=1, dialect="native")
    a, b = msg("a"), msg("b", phone="79652222222")
    plan = plan_accept([AcceptRequest(1, [a, refusal(None), b], job)], NOTHING)
    assert plan.jobs == [(job, a, b)]
    assert plan_accept([AcceptRequest(1, [refusal(None)], job)], NOTHING).jobs == []


def test_all_new_only_when_nothing_is_refused_or_repeated() -> None:
    assert plan_accept([AcceptRequest(1, [msg("a"), msg("b")])], NOTHING).all_new
    assert not plan_accept([AcceptRequest(1, [msg("a"), msg("a")])], NOTHING).all_new
    assert not plan_accept([AcceptRequest(1, [msg("a"), refusal("b", msg("b"))])], NOTHING).all_new


def test_only_a_request_stored_whole_is_marked_all_new() -> None:
    """AllNew lets readers count a bulk without a loop: it must never mark a request with a
    duplicate, a refusal or a balance refusal among its outcomes."""
    stored = Known({(1, "native", "old"): msg("old")}, (), {1: 1_000})
    whole = plan_accept([AcceptRequest(1, [msg("a"), msg("b")])], NOTHING)
    assert type(whole.outcomes[0]) is AllNew and kinds(whole.outcomes[0]) == [("new", None)] * 2
    assert [o.message for o in whole.outcomes[0]] == whole.fresh
    for items, known in [
        ([msg("a"), msg("a")], NOTHING),
        ([msg("a"), refusal("b", msg("b"))], NOTHING),
        ([msg("a"), msg("old")], stored),
        ([msg("a", price=600), msg("b", price=600)], NOTHING),
    ]:
        outcomes = plan_accept([AcceptRequest(1, items)], known).outcomes[0]
        assert type(outcomes) is not AllNew, kinds(outcomes)


def test_one_template_is_priced_and_planned_as_the_same_messages_listed() -> None:
    """A OneTemplate skips the checks its construction answers (one dialect, one price, only
    messages): the plan is the one its messages make as a plain list, balance refusal too."""
    made = [msg(f"r{i}", phone=f"7965000000{i}", price=300) for i in range(3)]
    for balance in (900, 899):
        known = Known({}, (), {1: balance})
        one = plan_accept([AcceptRequest(1, OneTemplate(made))], known)
        plain = plan_accept([AcceptRequest(1, list(made))], known)
        assert kinds(one.outcomes[0]) == kinds(plain.outcomes[0])
        assert (one.fresh, one.debits) == (plain.fresh, plain.debits)


def test_unhindered_plan_when_every_item_is_new_and_paid() -> None:
    """As if nothing is stored or stop-listed and the accounts hold what they could owe."""
    a, b, c = msg("a"), msg("b", price=300), msg(None, phone="79652222222")
    plan = plan_unhindered([AcceptRequest(1, [a, b]), AcceptRequest(2, [c])])
    assert plan is not None and plan.fresh == [a, b, c]
    assert plan.debits == {1: 400, 2: 100}
    assert plan_unhindered([AcceptRequest(1, [msg("a")]), AcceptRequest(1, [msg("a")])]) is None
    assert plan_unhindered([AcceptRequest(1, [msg("a"), refusal("b")])]) is None


def test_only_messages_due_at_once_wake_dispatchers() -> None:
    due, later = msg("a", status=Status.QUEUED), msg("b", status=Status.SCHEDULED)
    assert wakes_dispatchers([[Outcome("new", message=later)], [Outcome("new", message=due)]])
    assert wakes_dispatchers([[Outcome("new", message=msg("c"))]])  # accepted: claimable
    assert not wakes_dispatchers([[Outcome("new", message=later)]])
    assert not wakes_dispatchers([[Outcome("duplicate", message=due)]])
    held = msg("h", price=0, status=Status.REJECTED)
    assert not wakes_dispatchers([[Outcome("error", message=held, error=refusal("h").error)]])


def test_lookups_read_every_reference_and_only_valid_phones() -> None:
    req = AcceptRequest(1, [msg("a", phone="79650000001"), refusal("b"), msg(None)])
    found = lookups([req])
    assert found.refs == {(1, "native"): {"a", "b"}}
    assert found.phones == {"79650000001", "79651111111"}
    assert found.accounts == [1]


def test_stop_probes_pair_each_message_phone_with_its_requests_account() -> None:
    """Only these pairs decide a refusal (with 0, the global list): not every phone of the
    group under every account of it."""
    one = AcceptRequest(1, [msg("a", phone="79650000001"), refusal("b"), msg(None)])
    two = AcceptRequest(2, [msg("c", phone="79650000002"), msg("d", phone="79650000001")])
    accounts, phones = stop_probes([one, two, AcceptRequest(1, [msg("e")])])
    assert sorted(zip(accounts, phones, strict=True)) == [
        (1, "79650000001"),
        (1, "79651111111"),
        (2, "79650000001"),
        (2, "79650000002"),
    ]


def test_refusals_without_references_need_no_store() -> None:
    alone = AcceptRequest(1, [refusal(None)], atomic=True)
    assert not needs_store(alone)
    assert kinds(without_store(alone)) == [("error", "invalid_phone")]
    assert needs_store(AcceptRequest(1, [refusal("r")]))
    assert needs_store(AcceptRequest(1, [refusal(None, msg(price=0))]))
    assert needs_store(AcceptRequest(1, [msg()]))


# Reports ------------------------------------------------------------------------------------


def report(status: Status, at: float = 10.0, **kw: object) -> Report:
    return Report(message_id="m", status=status, at=at, **kw)  # type: ignore[arg-type]


def queued(**kw: object) -> Message:
    fields: dict[str, object] = {"id": "m", "status": Status.QUEUED, **kw}
    return msgspec.structs.replace(msg(), **fields)


def test_two_moves_in_a_batch_make_one_update_and_two_events() -> None:
    plan = plan_reports(
        {"m": queued()},
        [
            report(Status.SUBMITTED, 1.0, carrier_id="c1"),
            report(Status.DELIVERED, 2.0),
        ],
    )
    move = plan.moves["m"]
    assert move.from_status is Status.QUEUED
    assert move.message.status is Status.DELIVERED and move.message.carrier_id == "c1"
    assert move.message.submitted_at == 1.0 and move.message.done_at == 2.0
    assert move.clear_lease and move.blank_text
    assert [e.status for _, e in plan.events] == [Status.SUBMITTED, Status.DELIVERED]
    assert plan.refunds == {}


def test_illegal_and_repeated_reports_change_nothing() -> None:
    delivered = queued(status=Status.DELIVERED)
    plan = plan_reports({"m": delivered}, [report(Status.UNDELIVERED), report(Status.DELIVERED)])
    assert not plan.moves and not plan.events and not plan.carrier_ids


def test_a_repeat_may_bring_the_carrier_id() -> None:
    submitted = queued(status=Status.SUBMITTED, submitted_at=1.0)
    plan = plan_reports({"m": submitted}, [report(Status.SUBMITTED, carrier_id="c9")])
    assert [(m.id, c) for m, c in plan.carrier_ids] == [("m", "c9")]
    assert not plan.moves and not plan.events


@pytest.mark.parametrize(
    ("start", "status", "refund"),
    [
        (Status.QUEUED, Status.REJECTED, 100),
        (Status.ACCEPTED, Status.CANCELLED, 100),
        (Status.QUEUED, Status.EXPIRED, 100),
        (Status.QUEUED, Status.UNDELIVERED, 0),  # an attempt was made: no refund
        (Status.SUBMITTED, Status.REJECTED, 0),  # the carrier had it
    ],
)
def test_refunds_only_what_never_reached_a_carrier(
    start: Status, status: Status, refund: int
) -> None:
    submitted_at = 1.0 if start is Status.SUBMITTED else None
    plan = plan_reports({"m": queued(status=start, submitted_at=submitted_at)}, [report(status)])
    assert plan.refunds == ({1: refund} if refund else {})


def test_confidential_text_is_blanked_once_handed_over() -> None:
    plan = plan_reports({"m": queued(confidential=True)}, [report(Status.SUBMITTED)])
    assert plan.scrubbed and plan.moves["m"].message.text == ""
    plan = plan_reports({"m": queued(confidential=True)}, [report(Status.SCHEDULED)])
    assert not plan.scrubbed and plan.moves["m"].message.text == "hello"
    assert plan.moves["m"].clear_lease  # pushed back to a window: the dispatcher let it go


def test_remembered_state_decides_only_safe_reports() -> None:
    submitted = (Status.SUBMITTED, "c")
    assert decides(submitted, report(Status.DELIVERED))  # a move on: the update checks it
    assert decides(submitted, report(Status.QUEUED))  # settled: cannot apply later either
    assert not decides((Status.QUEUED, None), report(Status.QUEUED, carrier_id="c"))  # news
    assert not decides((Status.QUEUED, None), report(Status.ACCEPTED))  # not settled: read it


# Cancel, release, balance -------------------------------------------------------------------


def test_cancel_until_a_dispatcher_holds_it() -> None:
    assert cancel_report(queued(), dispatched=False, now=5.0).status is Status.CANCELLED
    with pytest.raises(GatewayError) as held:
        cancel_report(queued(), dispatched=True, now=5.0)
    assert held.value.code is ErrorCode.NOT_CANCELLABLE
    with pytest.raises(GatewayError) as sent:
        cancel_report(queued(status=Status.SUBMITTED), dispatched=False, now=5.0)
    assert sent.value.code is ErrorCode.NOT_CANCELLABLE
    with pytest.raises(GatewayError) as missing:
        cancel_report(None, dispatched=False, now=5.0)
    assert missing.value.code is ErrorCode.NOT_FOUND


def test_release_and_balance() -> None:
    assert released_status(100.0) is Status.SCHEDULED
    assert released_status(None) is Status.QUEUED
    assert adjusted_balance(10, -10) == 0
    with pytest.raises(GatewayError) as below:
        adjusted_balance(10, -11)
    assert below.value.code is ErrorCode.INSUFFICIENT_BALANCE
    with pytest.raises(GatewayError) as missing:
        adjusted_balance(None, 5)
    assert missing.value.code is ErrorCode.NOT_FOUND


# Callbacks ----------------------------------------------------------------------------------


def test_callbacks_carry_no_confidential_text() -> None:
    plan = plan_reports({"m": queued(confidential=True, text="secret")}, [report(Status.SUBMITTED)])
    events = [(m, msgspec.structs.replace(e, seq=7)) for m, e in plan.events]
    rows = dr_callbacks(events, {1: {"native": "http://127.0.0.1:9/dr"}}, route)
    assert [(r[0], r[2], r[3], r[4]) for r in rows] == [
        ("ev-7", "native", "dr", "http://127.0.0.1:9/dr")
    ]
    assert b"secret" not in rows[0][5]
    assert dr_callbacks(events, {}, route) == []


def test_mo_callbacks_go_to_mo_urls() -> None:
    mo = MoMessage(id="x", account_id=1, phone="79651111111", to="1234", text="hi", received_at=3.0)
    rows = mo_callbacks(mo, {"native.mo": "http://127.0.0.1:9/mo"}, route)
    assert [(r[0], r[2], r[3], r[6]) for r in rows] == [("mo-x", "native", "mo", 3.0)]


def test_refusals_held_only_beside_new_messages_unless_held_alone() -> None:
    lonely = Refusal(
        error=GatewayError(ErrorCode.INVALID_PHONE),
        dialect="native",
        held=msg("h", price=0),
        held_alone=False,
    )
    alone = plan_accept([AcceptRequest(1, [lonely])], NOTHING)
    assert kinds(alone.outcomes[0]) == [("error", "invalid_phone")]
    assert alone.outcomes[0][0].message is None and alone.fresh == []
    beside = plan_accept([AcceptRequest(1, [lonely, msg("n")])], NOTHING)
    assert beside.outcomes[0][0].message is lonely.held
    assert beside.fresh == [lonely.held, beside.outcomes[0][1].message]


def test_single_sends_are_planned_as_one_by_one() -> None:
    """A group of single sends without references (planned in one pass) decides as the loop
    over its requests does: each new while the balance lasts, then refused; each outcome
    list an AllNew of its one message."""
    sends = [AcceptRequest(1, [msg(phone=f"7965111111{i}")]) for i in range(4)]
    plan = plan_accept(sends, NOTHING)
    assert [type(o) for o in plan.outcomes] == [AllNew] * 4 and plan.all_new
    assert [o[0].message for o in plan.outcomes] == [r.items[0] for r in sends]
    assert plan.fresh == [r.items[0] for r in sends] and plan.debits == {1: 400}
    assert lookups(sends).refs == {} and lookups(sends).accounts == [1]
    short = plan_accept(sends, Known({}, (), {1: 250}))
    assert [kinds(o) for o in short.outcomes] == [[("new", None)]] * 2 + [
        [("error", "insufficient_balance")]
    ] * 2
    assert short.fresh == [r.items[0] for r in sends[:2]] and short.debits == {1: 200}
    bulk = Job(id="j", account_id=1, dialect="native", total=1, created_at=0.0)
    one = plan_accept([*sends[:2], AcceptRequest(1, [msg(phone="79652222222")], job=bulk)], NOTHING)
    assert one.jobs == [(bulk, one.fresh[2], one.fresh[2])] and len(one.fresh) == 3
    stopped = plan_accept(sends, Known({}, {(1, "79651111110")}, {1: 1_000}))
    assert kinds(stopped.outcomes[0]) == [("error", "stop_listed")]
    assert stopped.fresh == [r.items[0] for r in sends[1:]]


def test_single_sends_of_several_accounts_are_planned_in_one_pass(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A group of several accounts' single sends (a node serving many customers) is planned
    without the loop over its requests when each account's balance covers its part, and
    decides as that loop does: each account debited its part, every outcome an AllNew of one.
    An account short of its part sends the group to the loop, which refuses only its tail."""
    sends = [
        AcceptRequest(a, [msgspec.structs.replace(msg(phone=f"7965111111{i}"), account_id=a)])
        for i, a in enumerate([3, 1, 3, 2, 1])
    ]
    balances = {1: 200, 2: 100, 3: 200}

    def loop(*_args: object, **_kw: object) -> None:
        raise AssertionError("planned request by request")

    with monkeypatch.context() as patched:
        patched.setattr(rules, "_take_all", loop)
        plan = plan_accept(sends, Known({}, (), balances))
        unhindered = plan_unhindered(sends)
    for p in (plan, unhindered):
        assert p is not None and p.all_new
        assert [type(o) for o in p.outcomes] == [AllNew] * 5
        assert [o[0].message for o in p.outcomes] == [r.items[0] for r in sends]
        assert p.fresh == [r.items[0] for r in sends] and p.debits == {3: 200, 1: 200, 2: 100}
    short = plan_accept(sends, Known({}, (), {**balances, 3: 150}))
    assert [kinds(o) for o in short.outcomes] == [
        [("new", None)],
        [("new", None)],
        [("error", "insufficient_balance")],
        [("new", None)],
        [("new", None)],
    ]
    assert short.debits == {3: 100, 1: 200, 2: 100}
