# rules: ready
"""Every decision a store makes, written once: pure functions, no I/O.

A backend reads a decision's inputs in as few round trips as it likes, calls the rule here and
writes what it returns. Nothing in `sqlite.py` or `postgres.py` decides.

**Accept.** For each recipient of a request, the first rule that applies decides (docs/native.md,
"Precedence", says the same for clients):

1. *Duplicate.* A client reference already stored for the account and dialect answers with the
   stored message, whatever else the request says now (its phone stop-listed since, its sender
   removed, its fields invalid, the balance empty): a retried request never turns a sent message
   into a refusal. A reference repeated inside one request shares the fate of its first
   occurrence (the message it became, or its error).
2. *Validity.* The recipient's own fields (phone, text, sender, schedule, validity, segments),
   checked before the store by core.validate: a `Refusal` with its own error.
3. *Stop list.* The phone is on the account's or the global (account 0) stop list.
4. *Balance.* The price of all the request's new messages exceeds the balance: every one of
   them is refused, never only some.
5. *Atomic.* With `atomic`, any error above refuses the whole request: nothing is stored or
   charged; refused recipients keep their own error, all others get "batch refused".

A refused recipient may be kept as a rejected message (`Refusal.held`) for dialects that report
bad recipients of a batch like any message: unless a duplicate, it is stored unpriced, beside
the request's new messages, or alone where `held_alone` says so.

Requests that commit together are decided in arrival order, each against what the earlier ones
stored. **Reports** move a message only along `core.status.can_transition`; **cancel** is allowed
until a dispatcher holds the message.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from functools import partial
from itertools import repeat
from operator import attrgetter, itemgetter
from typing import NamedTuple

import msgspec

from ..core.errors import ErrorCode, GatewayError
from ..core.models import (
    Account,
    Job,
    Message,
    MoMessage,
    Notice,
    OneTemplate,
    Report,
    StatusEvent,
)
from ..core.status import CANCELLABLE, FINAL, NEXT, QUEUED, SUBMITTED, Status
from .base import AllNew, CallbackRoute, Outcome, Refusal

_replace = msgspec.structs.replace
_dialect_of = attrgetter("dialect")
_client_ref_of = attrgetter("client_ref")
_phone_of = attrgetter("phone")
_price_of = attrgetter("price")
_items_of = attrgetter("items")
_account_of = attrgetter("account_id")
_job_of = attrgetter("job")
_first = itemgetter(0)
_new = partial(Outcome, "new")  # Outcome("new", message): made by map, in C

RefKey = tuple[int, str, str]  # account, dialect, client reference


Item = Message | Refusal  # what Store.accept takes


class AcceptRequest:
    """One accept call: an account's items, its job (stored with its first new message) and
    whether one refusal refuses them all."""

    __slots__ = ("account_id", "atomic", "items", "job")

    def __init__(
        self, account_id: int, items: Sequence[Item], job: Job | None = None, atomic: bool = False
    ) -> None:
        self.account_id = account_id
        self.items = items
        self.job = job
        self.atomic = atomic


class Lookups(NamedTuple):
    """What a backend reads before planning an accept."""

    refs: dict[tuple[int, str], set[str]]  # (account, dialect) -> client references
    phones: set[str]  # for the stop list
    accounts: list[int]  # whose balances (and stop lists, with the global list 0)


class Known(NamedTuple):
    """What the store holds, as read for `lookups`."""

    stored: Mapping[RefKey, Message]  # messages stored before, by reference
    stopped: Collection[tuple[int, str]]  # (account or 0, phone) on a stop list
    balances: Mapping[int, int]


def lookups(requests: Sequence[AcceptRequest]) -> Lookups:
    singles = _singles(requests)
    if singles is not None:  # no reference to look up: only the phones and the accounts
        accounts = sorted(set(map(_account_of, requests)))
        return Lookups({}, set(map(_phone_of, singles)), accounts)
    refs: dict[tuple[int, str], set[str]] = {}
    phones: set[str] = set()
    for req in requests:
        items = req.items
        dialects = set(map(_dialect_of, items))
        if len(dialects) == 1:  # the usual request: its references gathered at C speed
            wanted = refs.setdefault((req.account_id, dialects.pop()), set())
            wanted.update(map(_client_ref_of, items))
        else:
            for item in items:
                refs.setdefault((req.account_id, item.dialect), set()).add(item.client_ref)  # type: ignore[arg-type]
        if _only_messages(items):
            phones.update(map(_phone_of, items))
        else:
            phones.update(i.phone for i in items if type(i) is Message)
    for wanted in refs.values():
        wanted.discard(None)  # type: ignore[arg-type,unused-ignore]
    return Lookups(refs, phones, sorted({r.account_id for r in requests}))


def stop_probes(requests: Sequence[AcceptRequest]) -> tuple[list[int], list[str]]:
    """The (account, phone) pairs whose stop lists decide a group, as two aligned lists: each
    message's phone under its request's account (a store looks under 0, the global list, too).
    Only these pairs matter (`_refusal`), and reading them alone keeps the reads to two a
    message however many accounts a group holds."""
    pairs: set[tuple[int, str]] = set()
    for req in requests:
        items = req.items
        found = items if _only_messages(items) else [i for i in items if type(i) is Message]
        pairs.update(zip(repeat(req.account_id), map(_phone_of, found)))
    return [a for a, _ in pairs], [p for _, p in pairs]


def _only_messages(items: Sequence[Item]) -> bool:
    return set(map(type, items)) == {Message}


class AcceptPlan:
    """What to write for a group of accept requests, and what to answer each."""

    def __init__(self) -> None:
        self.outcomes: list[list[Outcome]] = []  # per request, in item order
        # Messages to insert, in order. The outcomes hold these very objects: the backend
        # numbers them in place (m.seq) as it stores them.
        self.fresh: list[Message] = []
        self.debits: dict[int, int] = {}  # account -> amount
        self.jobs: list[tuple[Job, Message, Message]] = []  # with its first and last message

    @property
    def all_new(self) -> bool:
        """Every item becomes a new message: nothing refused, repeated or stored before."""
        if set(map(type, self.outcomes)) == {AllNew}:  # made so by _take_all, _plan_singles
            return True
        return sum(map(len, self.outcomes)) == len(self.fresh) and all(
            type(outcomes) is AllNew or all(o.kind == "new" for o in outcomes)
            for outcomes in self.outcomes
        )


def plan_accept(requests: Sequence[AcceptRequest], known: Known) -> AcceptPlan:
    """The outcome of every item, and what to store, debit and record (see the module's rules)."""
    singles = _singles(requests)
    if singles is not None and not known.stopped:
        plan = _plan_singles(requests, singles, known)
        if plan is not None:
            return plan
    plan = AcceptPlan()
    made: dict[RefKey, Message] = {}  # references the earlier requests of this group store
    for req in requests:
        last = req is requests[-1]
        if _plainly_new(req, known, made):
            _take_all(plan, req, known, made, remember=not last)
        else:
            _take_some(plan, req, known, made)
    return plan


def _singles(requests: Sequence[AcceptRequest]) -> list[Message] | None:
    """The messages of a group of single sends without client references or jobs (what a
    load of single sends commits together), in order; None for any other group. Looked at
    in C, a pass per property, rather than in a loop per request."""
    if set(map(len, map(_items_of, requests))) != {1}:
        return None
    items = list(map(_first, map(_items_of, requests)))
    if set(map(type, items)) != {Message} or set(map(_client_ref_of, items)) != {None}:
        return None
    jobs = list(map(_job_of, requests))
    if jobs.count(None) != len(jobs):  # a Job is not hashable: counted, not put in a set
        return None
    return items  # every one a Message, by the check above


def _plan_singles(
    requests: Sequence[AcceptRequest], singles: list[Message], known: Known
) -> AcceptPlan | None:
    """The plan of a group of `_singles`, none stop-listed, whose accounts' balances each
    cover that account's part: every one new, as plan_accept's loop decides them (each plainly
    new, and every prefix of an account's part affordable when the whole is: prices are not
    negative), without the loop. None for any other: plan_accept decides those one by one."""
    costs = _singles_costs(requests, singles)
    nothing = AcceptPlan()  # no debit planned yet: each account's whole balance is there
    if not all(_affordable(nothing, a, cost, known) for a, cost in costs.items()):
        return None
    return _all_new(singles, costs)


def _all_new(singles: list[Message], costs: Mapping[int, int]) -> AcceptPlan:
    """The plan that stores every one of `singles`, each account debited its cost."""
    plan = AcceptPlan()
    plan.outcomes = list(map(AllNew, zip(map(_new, singles))))  # one AllNew of one, each
    plan.fresh = singles
    plan.debits = {a: cost for a, cost in costs.items() if cost}
    return plan


def _singles_costs(requests: Sequence[AcceptRequest], singles: list[Message]) -> dict[int, int]:
    """What each account of a group of `_singles` would pay for all its messages. One account
    (a load of one customer's sends) is summed in C; several (a node serving many customers:
    groups of ten hold about ten accounts) in one pass, not a request at a time."""
    accounts = list(map(_account_of, requests))
    first = accounts[0]
    if accounts.count(first) == len(accounts):
        return {first: sum(map(_price_of, singles))}
    costs: dict[int, int] = {}
    for account_id, price in zip(accounts, map(_price_of, singles), strict=True):
        costs[account_id] = costs.get(account_id, 0) + price
    return costs


_DUE_NOW = frozenset({Status.ACCEPTED, Status.QUEUED})  # what a dispatcher claims at once


def wakes_dispatchers(answers: Iterable[Sequence[Outcome]]) -> bool:
    """Whether accepts (each request's outcomes) stored a message a dispatcher may send at
    once, so that idle ones are woken. Scheduled messages are not: dispatchers look for
    schedules come due themselves."""
    return any(
        o.kind == "new" and o.message is not None and o.message.status in _DUE_NOW
        for outcomes in answers
        for o in outcomes
    )


def plan_unhindered(requests: Sequence[AcceptRequest]) -> AcceptPlan | None:
    """The plan of a group as it stands when no reference is stored before, no phone is
    stop-listed and each account can pay the most it could owe (`most_owed`): None unless
    every item is then new. A backend may write it only once it has found those three true."""
    singles = _singles(requests)
    if singles is not None:  # each account can pay its part by this function's premise
        return _all_new(singles, _singles_costs(requests, singles))
    plan = plan_accept(requests, Known({}, (), most_owed(requests)))
    return plan if plan.all_new else None


def needs_store(req: AcceptRequest) -> bool:
    """Whether any item could be stored, or be a duplicate of what is stored."""
    return any(type(i) is Message or i.client_ref is not None or i.held for i in req.items)  # type: ignore[union-attr]


_NOTHING_KNOWN = Known({}, (), {})


def without_store(req: AcceptRequest) -> list[Outcome]:
    """The outcomes of a request that does not need the store (see `needs_store`)."""
    return plan_accept([req], _NOTHING_KNOWN).outcomes[0]


def _plainly_new(req: AcceptRequest, known: Known, made: Mapping[RefKey, Message]) -> bool:
    """Only messages, of one dialect, none stop-listed, references neither stored nor repeated:
    the usual request, checked without a loop in Python."""
    items = req.items
    if known.stopped or not items:
        return False  # stop-listed phones: looked at one by one
    if len(items) == 1:  # a single send, the commonest request, without the sets below
        only = items[0]
        ref = only.client_ref
        return type(only) is Message and (
            ref is None or not _seen((req.account_id, only.dialect, ref), known, made)
        )
    if type(items) is OneTemplate:  # messages of one dialect by construction
        dialects = {items[0].dialect}
    elif not _only_messages(items):
        return False
    else:
        dialects = set(map(_dialect_of, items))
    if len(dialects) != 1:
        return False
    refs = list(map(_client_ref_of, items))
    given = len(refs) - refs.count(None)
    unique = set(refs)
    unique.discard(None)
    if len(unique) != given:
        return False
    if not known.stored and not made:
        return True
    dialect = dialects.pop()
    return not any(_seen((req.account_id, dialect, r), known, made) for r in unique)


def _seen(key: RefKey, known: Known, made: Mapping[RefKey, Message]) -> bool:
    return key in known.stored or key in made


def _take_all(
    plan: AcceptPlan, req: AcceptRequest, known: Known, made: dict[RefKey, Message], remember: bool
) -> None:
    """A plainly new request: all stored if the balance covers it, else all refused."""
    messages: Sequence[Message] = req.items  # type: ignore[assignment]
    if type(messages) is OneTemplate:  # one price by construction
        cost = messages[0].price * len(messages)
    else:
        cost = sum(map(_price_of, messages))
    if not _affordable(plan, req.account_id, cost, known):
        error = Outcome("error", error=insufficient_balance())
        plan.outcomes.append([error] * len(messages))
        return
    plan.outcomes.append(AllNew(map(_new, messages)))
    _store(plan, req, list(messages), cost)
    if remember:  # the last request's references are asked for by no one
        account_id = req.account_id
        made.update(
            {(account_id, m.dialect, m.client_ref): m for m in messages if m.client_ref is not None}
        )


def _affordable(plan: AcceptPlan, account_id: int, cost: int, known: Known) -> bool:
    balance = known.balances.get(account_id, 0) - plan.debits.get(account_id, 0)
    return not cost or cost <= balance


def _store(plan: AcceptPlan, req: AcceptRequest, fresh: list[Message], cost: int) -> None:
    if not fresh:
        return
    plan.fresh += fresh
    if cost:
        plan.debits[req.account_id] = plan.debits.get(req.account_id, 0) + cost
    if req.job is not None:
        plan.jobs.append((req.job, fresh[0], fresh[-1]))


def _take_some(
    plan: AcceptPlan, req: AcceptRequest, known: Known, made: dict[RefKey, Message]
) -> None:
    """Item by item, in the order of the module's rules."""
    account_id = req.account_id
    outcomes: list[Outcome | None] = [None] * len(req.items)
    candidates: list[int] = []  # positions of the items that would be stored
    firsts: dict[RefKey, int] = {}  # a reference's first position in this request
    repeats: list[tuple[int, int]] = []  # (position, its reference's first position)
    for i, item in enumerate(req.items):
        ref = item.client_ref
        if ref is not None:
            key = (account_id, item.dialect, ref)
            found = known.stored.get(key) or made.get(key)
            if found is not None:
                outcomes[i] = Outcome("duplicate", message=found)
                continue
            if key in firsts:
                repeats.append((i, firsts[key]))
                continue
            firsts[key] = i
        outcomes[i] = _refusal(account_id, item, known.stopped)
        if outcomes[i] is None:
            candidates.append(i)
    cost = sum(_stored_form(req.items[i]).price for i in candidates)
    if not _affordable(plan, account_id, cost, known):
        short = insufficient_balance()
        for i in candidates:
            item = req.items[i]
            outcomes[i] = Outcome("error", error=item.error if type(item) is Refusal else short)
        candidates, cost = [], 0
    if not any(type(req.items[i]) is Message for i in candidates):
        candidates = _held_alone(req.items, candidates, outcomes)
    for i in candidates:
        item = req.items[i]
        if type(item) is Refusal:
            outcomes[i] = Outcome("error", message=item.held, error=item.error)
        else:
            outcomes[i] = Outcome("new", message=item)  # type: ignore[arg-type]
    for i, first in repeats:
        outcomes[i] = _shared_fate(outcomes[first])
    done: list[Outcome] = outcomes  # type: ignore[assignment]  # every position is decided
    if req.atomic and any(o.kind == "error" for o in done):
        refused = Outcome("error", error=batch_refused())
        plan.outcomes.append([o if o.kind == "error" else refused for o in done])
        return
    plan.outcomes.append(done)
    fresh = [_stored_form(req.items[i]) for i in candidates]
    _store(plan, req, fresh, cost)
    for key, i in firsts.items():
        if done[i].message is not None and done[i].kind != "duplicate":
            made[key] = done[i].message  # type: ignore[assignment]


def _held_alone(
    items: Sequence[Item], candidates: list[int], outcomes: list[Outcome | None]
) -> list[int]:
    """Of a request that stores no new message, the held refusals that are kept all the same;
    the others are plain refusals."""
    kept = []
    for i in candidates:
        refusal: Refusal = items[i]  # type: ignore[assignment]  # no message among candidates
        if refusal.held_alone:
            kept.append(i)
        else:
            outcomes[i] = Outcome("error", error=refusal.error)
    return kept


def _refusal(account_id: int, item: Item, stopped: Collection[tuple[int, str]]) -> Outcome | None:
    """Rules 2 and 3 for an item that is not a duplicate; None: it would be stored."""
    if type(item) is Refusal:
        return None if item.held is not None else Outcome("error", error=item.error)
    phone = item.phone  # type: ignore[union-attr]
    if stopped and ((account_id, phone) in stopped or (0, phone) in stopped):
        return Outcome("error", error=stop_listed(phone))
    return None


def _stored_form(item: Item) -> Message:
    return item.held if type(item) is Refusal else item  # type: ignore[return-value]


def _shared_fate(first: Outcome | None) -> Outcome:
    """A reference repeated in its request: what its first occurrence became."""
    assert first is not None
    return Outcome("duplicate", message=first.message) if first.kind == "new" else first


def insufficient_balance() -> GatewayError:
    return GatewayError(ErrorCode.INSUFFICIENT_BALANCE, "insufficient balance")


def stop_listed(phone: str) -> GatewayError:
    return GatewayError(ErrorCode.STOP_LISTED, f"{phone} is on the stop list")


BATCH_REFUSED = "batch refused"


def batch_refused() -> GatewayError:
    """A good recipient of an atomic request that another recipient's error refused."""
    return GatewayError(ErrorCode.BAD_REQUEST, BATCH_REFUSED)


def request_wide(error: GatewayError) -> bool:
    """A refusal that says nothing of its own recipient: rule 4 (the balance) or rule 5's
    "batch refused" (an atomic request refused for another recipient)."""
    code = error.code
    return code is ErrorCode.INSUFFICIENT_BALANCE or (
        code is ErrorCode.BAD_REQUEST and error.detail == BATCH_REFUSED
    )


def whole_refusal(outcomes: Sequence[Outcome]) -> GatewayError | None:
    """Why a request was refused as a whole, or None when it was not.

    Refused as a whole: nothing of it was stored or found (no new message, no duplicate, no
    refusal kept as a message) and at least one recipient fell to a request-wide rule. The
    balance (rule 4) comes first: topping up is what the client must do whatever else it
    fixes; else the atomic refusal (rule 5). Recipients refused for their own reasons (rules 2
    and 3) are not part of it: the dialect lists them beside it.
    """
    short = atomic = 0
    for o in outcomes:
        error = o.error
        if error is None or o.message is not None:
            return None  # new, duplicate, or a refusal stored as a message
        if error.code is ErrorCode.INSUFFICIENT_BALANCE:
            short += 1
        elif request_wide(error):
            atomic += 1
    if short:
        return GatewayError(
            ErrorCode.INSUFFICIENT_BALANCE,
            f"insufficient balance for the request's {short} new messages; nothing was stored",
        )
    if atomic:
        own = len(outcomes) - atomic
        return GatewayError(
            ErrorCode.BAD_REQUEST,
            f"{BATCH_REFUSED}: {own} of {len(outcomes)} recipients refused (atomic request); "
            "nothing was stored",
        )
    return None


# Reports ----------------------------------------------------------------------------------------


class Move(msgspec.Struct):
    """One message's change in a batch of reports, to write as one update."""

    message: Message  # its state after the batch, text blanked where `blank_text`
    from_status: Status  # the state the batch found it in (the update may check it)
    clear_lease: bool  # it left the dispatcher's hands
    blank_text: bool  # a confidential text is blanked (handed over, or final)
    # The carrier id the batch found (a store may leave the column out of an update that
    # keeps it: SQLite then leaves the carrier-id index alone)
    from_carrier_id: str | None


class ReportPlan:
    def __init__(self) -> None:
        self.moves: dict[str, Move] = {}  # by message id
        self.carrier_ids: list[tuple[Message, str]] = []  # same status, a carrier id learnt
        self.refunds: dict[int, int] = {}  # account -> amount
        self.refunded: set[str] = set()  # the messages those amounts are for
        # Each event with the message state it produced, in order; seq 0 until numbered.
        self.events: list[tuple[Message, StatusEvent]] = []
        self.scrubbed = False  # a confidential text was blanked: old pages may hold it


def plan_reports(current: Mapping[str, Message], reports: Sequence[Report]) -> ReportPlan:
    """Legal transitions only, in order; a repeated status changes nothing (but may bring the
    carrier id); several moves of one message in a batch make one update and an event each."""
    plan = ReportPlan()
    state = dict(current)
    for report in reports:
        message = state.get(report.message_id)
        if message is None:
            continue
        status = report.status
        if status == message.status:
            if report.carrier_id and not message.carrier_id:
                state[message.id] = _learn_carrier_id(plan, message, report.carrier_id)
            continue
        if status in NEXT[message.status]:
            state[message.id] = _move(plan, message, report)
    return plan


# What the planning of every report looks up, bound once (core.status says why).
_REFUNDED = frozenset({Status.REJECTED, Status.CANCELLED, Status.EXPIRED})


def _learn_carrier_id(plan: ReportPlan, message: Message, carrier_id: str) -> Message:
    known = _replace(message, carrier_id=carrier_id)
    plan.carrier_ids.append((known, carrier_id))
    move = plan.moves.get(message.id)
    if move is not None:
        move.message = _replace(move.message, carrier_id=carrier_id)
    return known


def _move(plan: ReportPlan, message: Message, report: Report) -> Message:
    status = report.status
    at = report.at
    final = status in FINAL
    submitted = status is SUBMITTED
    blank = final or submitted
    if message.price and refundable(status, message.submitted_at):
        plan.refunds[message.account_id] = plan.refunds.get(message.account_id, 0) + message.price
        plan.refunded.add(message.id)
    updated = _replace(
        message,
        status=status,
        error_code=report.error_code,
        updated_at=at,
        carrier_id=report.carrier_id or message.carrier_id,
        submitted_at=at if submitted else message.submitted_at,
        done_at=at if final else None,
    )
    if blank and message.confidential and message.text:
        plan.scrubbed = True
        updated = _replace(updated, text="")
    earlier = plan.moves.get(message.id)
    if earlier is None:
        move = Move(updated, message.status, status is not QUEUED, blank, message.carrier_id)
    else:
        move = Move(
            updated,
            earlier.from_status,
            earlier.clear_lease or status is not QUEUED,
            earlier.blank_text or blank,
            earlier.from_carrier_id,
        )
    plan.moves[message.id] = move
    event = StatusEvent(
        message_id=message.id,
        account_id=message.account_id,
        status=status,
        error_code=report.error_code,
        carrier_error=report.carrier_error,
        at=at,
    )
    plan.events.append((updated, event))
    return updated


def refundable(status: Status, submitted_at: float | None) -> bool:
    """Money goes back for what we refused, cancelled or let expire before a carrier had it."""
    return status in _REFUNDED and submitted_at is None


# From these a message only moves on (to UNKNOWN or a final status), so a remembered one decides
# a report that cannot apply to it: it cannot apply to any later state either.
_SETTLED = FINAL | {Status.SUBMITTED, Status.UNKNOWN}


# What decides reads of a remembered message: its status and carrier id.
Seen = tuple[Status, str | None]


def decides(seen: Seen, report: Report) -> bool:
    """Whether a remembered state (committed, or written earlier in the same transaction), as
    its status and carrier id, is enough to apply `report` without reading the row: it moves
    the message on (the update then checks the row's status), or the message is settled and the
    report changes nothing (a repeat, or a late report of an earlier step)."""
    was, carrier_id = seen
    status = report.status
    if status != was and status in NEXT[was]:
        return True
    news = status == was and report.carrier_id and not carrier_id
    return was in _SETTLED and not news


def moved_by(seen: Seen, report: Report) -> Seen:
    """What decides reads of the state `report` leaves a message in: moved on where the
    report moves it, else as it was (no new message made: a batch's earlier report, say its
    SUBMITTED, is followed by its final status, judged by this)."""
    was, carrier_id = seen
    status = report.status
    if status == was or status not in NEXT[was]:
        return seen
    return status, report.carrier_id or carrier_id


# Cancel, release, balance, accounts -----------------------------------------------------------


def cancel_report(message: Message | None, dispatched: bool, now: float) -> Report:
    """The report that cancels `message`: allowed until a dispatcher holds it."""
    if message is None:
        raise GatewayError(ErrorCode.NOT_FOUND, "message not found")
    if message.status not in CANCELLABLE or dispatched:
        raise GatewayError(
            ErrorCode.NOT_CANCELLABLE, f"message is {message.status.value}, not cancellable"
        )
    return Report(message_id=message.id, status=Status.CANCELLED, at=now)


def released_status(not_before: float | None) -> Status:
    """A message given back by a dispatcher waits for its time, or is due again at once."""
    return Status.SCHEDULED if not_before else Status.QUEUED


def adjusted_balance(balance: int | None, delta: int) -> int:
    """The balance after adding `delta` (None: no such account); never below zero."""
    if balance is None:
        raise GatewayError(ErrorCode.NOT_FOUND, "no such account")
    if balance + delta < 0:
        raise GatewayError(ErrorCode.INSUFFICIENT_BALANCE, "balance would go below zero")
    return balance + delta


# Debits from slices (PostgreSQL) ---------------------------------------------------------------
# An account's balance may be split between its free part and slices that concurrent accepts
# each hold alone (docs/operations.md, "Debits"). A group is planned against the slice it holds
# (`Known.balances`), which must then decide exactly as the whole balance would: it holds at
# least the most the group could debit, or else everything the account has.

SLICE_SHARE = 16  # a refill takes this fraction of the free balance, beyond what is short


def most_owed(requests: Sequence[AcceptRequest]) -> dict[int, int]:
    """The most each account of a group could be debited: every item it could store, priced."""
    singles = _singles(requests)
    if singles is not None:
        return {a: cost for a, cost in _singles_costs(requests, singles).items() if cost}
    owed: dict[int, int] = {}
    for req in requests:
        cost = _most_cost(req.items)
        if cost:
            owed[req.account_id] = owed.get(req.account_id, 0) + cost
    return owed


def _most_cost(items: Sequence[Item]) -> int:
    if _only_messages(items):  # the usual request, summed at C speed
        return sum(map(_price_of, items))
    return sum(
        i.price if isinstance(i, Message) else i.held.price if i.held is not None else 0
        for i in items
    )


def must_gather(held: int, free: int, owed: int) -> bool:
    """Whether a slice and the free balance together fall short of what a group may debit, so
    that the account's other slices are taken back first (the refusal must see all of it)."""
    return held + free < owed


def slice_top_up(held: int, free: int, owed: int) -> int:
    """What a slice holding `held` takes from the free balance before a group that may debit
    `owed`: nothing while it covers it; else what is short and a share of the rest (so the
    next groups debit it alone), or all that is free when that is less."""
    if held >= owed:
        return 0
    return min(free, max(owed - held, free // SLICE_SHARE))


def name_taken(name: str) -> GatewayError:
    return GatewayError(ErrorCode.DUPLICATE, f"account {name!r} exists")


def balance_below_zero() -> GatewayError:
    """An account update that would set a negative balance (the schema's CHECK refused it)."""
    return GatewayError(ErrorCode.INVALID_FIELD, "balance below zero", field="balance")


def account_found(account: Account | None, account_id: int) -> Account:
    """The account an update or read-back names; NOT_FOUND when there is none."""
    if account is None:
        raise GatewayError(ErrorCode.NOT_FOUND, f"no account {account_id}")
    return account


# Callbacks --------------------------------------------------------------------------------------

# One outbox row: event id, account, dialect, kind, URL, payload, and when (due and created).
OutboxRow = tuple[str, int, str, str, str, bytes, float]
_NO_URLS: dict[str, str] = {}


def snapshot(message: Message) -> Message:
    """The message as a callback carries it: a confidential text never leaves the store."""
    if message.confidential and message.text:
        return _replace(message, text="")
    return message


def dr_callbacks(
    events: Sequence[tuple[Message, StatusEvent]],
    urls: Mapping[int, dict[str, str]],
    route: CallbackRoute,
) -> list[OutboxRow]:
    """The callbacks numbered events fall due for (by `route`, from the accounts' URLs). Their
    payload is rendered when they are sent (`callback_notice`), so the row stores none."""
    seqs = [event.seq for _m, event in events]
    return [
        (f"ev-{seqs[i]}", a, d, k, u, p, t) for i, a, d, k, u, p, t in dr_owed(events, urls, route)
    ]


# A callback owed before its event is numbered: the event's place in the plan's events, then
# OutboxRow's fields after the event id.
Owed = tuple[int, int, str, str, str, bytes, float]


def dr_owed(
    events: Sequence[tuple[Message, StatusEvent]],
    urls: Mapping[int, dict[str, str]],
    route: CallbackRoute,
) -> list[Owed]:
    """The callbacks `events` fall due for, each by its event's place: worked out before the
    events are numbered (SQLite: before its write lock is taken; see owed_rows)."""
    owed: list[Owed] = []
    for i, (message, event) in enumerate(events):
        for d, u in route(message, event, urls.get(event.account_id, _NO_URLS)):
            owed.append((i, event.account_id, d, "dr", u, b"", event.at))
    return owed


def owed_rows(owed: Iterable[Owed], first_seq: int) -> list[OutboxRow]:
    """dr_owed's callbacks as outbox rows, for events numbered on from `first_seq` in order."""
    return [(f"ev-{first_seq + i}", a, d, k, u, p, t) for i, a, d, k, u, p, t in owed]


def mo_callbacks(mo: MoMessage, urls: dict[str, str], route: CallbackRoute) -> list[OutboxRow]:
    """The callbacks a stored (numbered) incoming SMS falls due for (payload: as dr_callbacks)."""
    targets = route(None, mo, urls)
    return [(f"mo-{mo.id}", mo.account_id, d, "mo", u, b"", mo.received_at) for d, u in targets]


def as_of(message: Message, event: StatusEvent) -> Message:
    """A message as it stood right after `event`, from its row now (later moves undone): what
    that event's callback reports, however late it is sent. A carrier id learnt later stays."""
    submitted = message.submitted_at
    if submitted is not None and submitted > event.at:
        submitted = None
    done = event.at if event.status in FINAL else None
    if (
        message.status == event.status
        and message.updated_at == event.at
        and message.error_code == event.error_code
        and message.submitted_at == submitted
        and message.done_at == done
    ):
        return snapshot(message)  # its latest event: as it stands (a final callback's, mostly)
    return snapshot(
        _replace(
            message,
            status=event.status,
            error_code=event.error_code,
            updated_at=event.at,
            submitted_at=submitted,
            done_at=done,
        )
    )


def callback_notice(
    kind: str,
    event_id: str,
    event: StatusEvent | None,
    message: Message | None,
    mo: MoMessage | None,
) -> Notice | None:
    """What a callback says, rendered as it is claimed from the rows of its subject: an event
    with its message as of that event, or an incoming SMS. Storing it with each outbox row
    wrote ~1.2 KB a callback. None when the subject is gone."""
    if kind == "mo":
        return None if mo is None else Notice(kind="mo", event_id=event_id, mo=mo)
    if event is None or message is None:
        return None
    return Notice(kind="dr", event_id=event_id, event=event, message=as_of(message, event))


# Callback order ---------------------------------------------------------------------------------

HOLD = 0.5  # seconds a callback waits before it looks again at an earlier one in other hands


class Sibling(NamedTuple):
    """One callback of a message, as a claim finds it (every callback of the claimed rows'
    messages, the claimed ones included)."""

    id: int  # the outbox row: a message's callbacks are numbered in the order of its events
    message_id: str
    state: str  # 'pending' (owed), 'done' (the client took it) or 'dead' (given up)
    next_at: float
    lease_until: float | None
    lease_owner: str | None


class ClaimPlan(NamedTuple):
    send: list[int]  # lease these: they go out now, in this order (ids: the events' order)
    hold: list[tuple[int, float]]  # not yet: due again at the time given


def order_claim(
    candidates: Sequence[int],
    siblings: Iterable[Sibling],
    now: float,
    owner: str,
    hold: float = HOLD,
) -> ClaimPlan:
    """Which of the claimed callbacks `candidates` go out now: a message's callbacks go out
    one after another in the order of its events, on every node, so that a client never gets
    an older status after a newer one (docs/native.md, "Callbacks").

    A claimed callback waits while an earlier one of its message is still owed and not sent
    with it: until that one is due again (waiting for its retry, or held back to fill a
    batch); while another notifier holds it (a live one answers in moments, a dead one's lease
    lapses: looked at again every `hold` seconds); or for `hold` seconds when it is due yet
    not in this claim (another notifier is claiming it now). One held by this notifier
    (`owner`) is ahead of it in this process, which sends a message's requests in turn and
    holds the later ones back when an earlier one fails (engine/notifier.py, _Turn). A
    callback of no message (an incoming SMS) never waits.

    A claimed callback is sent even when a later one of its message is done already (its own
    done mark was lost, or a crash came between its failed answer and its retry mark): the
    client may then get the older status after the newer one, but never misses it. Settling it
    as done instead lost callbacks under kill -9 (1 run in 10 of tests/reliability/test_crash).
    """
    claimed = set(candidates)
    # A message's callbacks owed and not in this claim: only they can hold one back, and
    # most messages have none (their rows are looked at once, not once per claimed row).
    outside: dict[str, list[Sibling]] = {}
    message_of: dict[int, str] = {}
    for s in siblings:
        message_of[s.id] = s.message_id
        if s.state == "pending" and s.id not in claimed:
            outside.setdefault(s.message_id, []).append(s)
    plan = ClaimPlan([], [])
    held: dict[str, float] = {}  # message -> until when an earlier claimed callback waits
    for row in sorted(candidates):
        message = message_of.get(row)
        if message is None or message not in outside:  # nothing of it owed beside this claim
            plan.send.append(row)
            continue
        waits = [_wait(s, now, owner, hold) for s in outside[message] if s.id < row]
        until = max([w for w in waits if w is not None] or [0.0])
        until = max(until, held.get(message, 0.0))
        if until:
            held[message] = until  # and every later one of it claimed here
            plan.hold.append((row, until))
        else:
            plan.send.append(row)
    return plan  # `send` in id order: a message's callbacks in the order of its events


def _wait(earlier: Sibling, now: float, owner: str, hold: float) -> float | None:
    """Until when a later callback waits for `earlier` (owed, not claimed with it), or None
    when it need not."""
    if earlier.lease_until is not None and earlier.lease_until > now:
        if earlier.lease_owner == owner:
            return None  # in this process's hands: it keeps its own requests in turn
        return min(earlier.lease_until, now + hold)
    if earlier.next_at <= now:
        return now + hold  # due, yet not in this claim: someone else is claiming it now
    return earlier.next_at  # waiting for its retry, or to fill a batch: it goes first


# Retention ----------------------------------------------------------------------------------------

PURGE_CHUNK = 1000  # rows of a table one purge transaction looks at (read once per window)


class Window(NamedTuple):
    """One step of the purge's walk over a table: the next rows by id (at most a chunk) after
    where the walk stood, and what became of them."""

    seen: int  # rows looked at
    last: int  # the last one's id (where the walk stood, when none)
    old: int  # of them, rows created before the cutoff
    gone: int  # of them, rows deleted: settled before the cutoff (the SQL's rule)


def purge_goes_on(window: Window, chunk: int) -> bool:
    """Whether the purge walks on past `window` (looked at with room for `chunk` rows) into
    the next: not past the table's end, nor past a window with no row created before the
    cutoff. Rows are inserted in about the order of their time (an event's, an incoming SMS's,
    a submit's), and a row created after the cutoff cannot have settled before it: the rest of
    the table is newer still, and the walk stops without reading it. Stopping at a whole window
    of new rows rather than at the first one lets a row stamped ahead (a carrier's clock) not
    hold the walk back; a row stamped behind the rows around it waits for a later purge. Rows
    created before the cutoff but not settled (owed callbacks, lines awaiting their report)
    stay and are stepped over."""
    return window.seen == chunk and window.old > 0


# Admin users --------------------------------------------------------------------------------------


def admin_name_taken(username: str) -> GatewayError:
    """A second admin user of one name (the schema's unique name refused it)."""
    return GatewayError(ErrorCode.DUPLICATE, f"admin user {username!r} exists", field="username")
