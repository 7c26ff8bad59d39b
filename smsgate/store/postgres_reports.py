"""PostgreSQL backend, status reports planned from states not locked (a part of
`PostgresStore`, postgres.py; rules.py decides, this module reads and writes).

The engine's reports are mostly on messages it claimed or reported on itself: their states are
remembered (`RecentMessages`), and those decide the plan (rules.decides); the other rows are
read without a lock. The plan is then written in one statement, its own transaction
(`reports_write`), in which each move applies only if its row is still in the status it was
planned from, and the events and callbacks of the messages moved go with it. Two round trips a
batch (the events' numbers and the accounts' callback URLs, then the write) where the locked
way takes seven (BEGIN, lock, move, numbers, events, URLs, COMMIT). The connector-log lines
that a batch of SUBMITTED acknowledges go in the same write, one commit with them.

What is left (a row that moved meanwhile: another node's report, a cancel; money to give back,
which moves under the accounts' locks) goes the locked way, `_apply_reports` in postgres.py.
"""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg
import msgspec

from ..core.models import Message, Report, StatusEvent
from . import rules
from .base import CallbackRoute, LogLine
from .queries import load
from .recent import RecentMessages, decided
from .rows import row_to_message

Q = load("postgres")
_json_decode = msgspec.json.decode
# A change to write: state after the batch, lease cleared, text blanked, status planned from.
Change = tuple[Message, bool, bool, str]


class Checked(msgspec.Struct):
    """What the checked write did: the events it stored, and the messages left for the locked
    way (their reports are planned again from their locked rows)."""

    events: list[StatusEvent]
    left: set[str]


async def record_checked(
    conn: asyncpg.Connection,
    recent: RecentMessages,
    reports: Sequence[Report],
    route: CallbackRoute,
    lines: Sequence[LogLine] = (),
) -> Checked:
    """The reports planned from remembered or freshly read states and written checked, with
    the connector-log `lines` they acknowledge (in the write, or before it where nothing is
    to be written); what was written is remembered, what was left is forgotten."""
    current = await _current(conn, recent, reports)
    plan = rules.plan_reports(current, reports)
    changes = _changes(plan)
    noted = list(map(line_row, lines))
    moved = set()
    if changes:
        moved = await _write(conn, plan, changes, route, noted)
    elif noted:
        await conn.execute(Q["connector_log_note"], noted)
    left = (set(changes) - moved) | plan.refunded
    recent.remember(mv.message for i, mv in plan.moves.items() if i in moved)
    recent.forget(left)
    return Checked([e for _, e in plan.events if e.message_id in moved], left)


async def _current(
    conn: asyncpg.Connection, recent: RecentMessages, reports: Sequence[Report]
) -> dict[str, Message]:
    """Each message's state to plan from: remembered where that decides all its reports here,
    read (unlocked) otherwise."""
    current, unknown = decided(reports, recent.of(r.message_id for r in reports))
    if unknown:
        wanted = sorted(set(unknown))
        for message_id in wanted:
            current.pop(message_id, None)
        rows = await conn.fetch(Q["messages_by_any_ids"], wanted)
        current.update((r[1], row_to_message(r)) for r in rows)
    return current


def _changes(plan: rules.ReportPlan) -> dict[str, Change]:
    """The rows to update, by id: state after the batch, lease cleared, text blanked, and the
    status it was planned from. A refund moves money: those messages go the locked way."""
    changes = {m.id: (m, False, False, m.status.value) for m, _ in plan.carrier_ids}
    for i, mv in plan.moves.items():
        changes[i] = (mv.message, mv.clear_lease, mv.blank_text, mv.from_status.value)
    for i in plan.refunded:
        del changes[i]
    return changes


async def _write(
    conn: asyncpg.Connection,
    plan: rules.ReportPlan,
    changes: dict[str, Change],
    route: CallbackRoute,
    noted: list[tuple[object, ...]],
) -> set[str]:
    """Number the plan's events in place, and write the changes with the events and callbacks
    of the rows they found as planned, and the lines `noted`: the ids of the rows moved."""
    events = [e for _, e in plan.events if e.message_id in changes]
    owed: list[rules.OutboxRow] = []
    if events:
        accounts = sorted({e.account_id for e in events})
        _, seqs, ids, urls = await conn.fetchrow(Q["report_prelude"], len(events), accounts)
        for event, seq in zip(events, seqs, strict=True):
            event.seq = seq
        found = {i: _json_decode(u) for i, u in zip(ids, urls, strict=True)}
        owed = rules.dr_callbacks(
            [p for p in plan.events if p[1].message_id in changes], found, route
        )
    moves = list(map(move_row, changes.values()))
    events_in = list(map(event_row, events))
    rows = await conn.fetch(Q["reports_write"], moves, events_in, owed, noted)
    return {r[0] for r in rows}


def move_row(change: Change) -> tuple[object, ...]:
    """A change as a row of the type report_move (migration 014)."""
    m, clear, blank, was = change
    # fmt: off
    return (
        m.id, m.status, m.error_code, m.updated_at, m.carrier_id, m.submitted_at, m.done_at,
        clear, blank, was,
    )
    # fmt: on


def event_row(e: StatusEvent) -> tuple[object, ...]:
    """A numbered event as a row of the type event_in (migration 014): `events`' columns."""
    return (e.seq, e.message_id, e.account_id, e.status, e.error_code, e.carrier_error, e.at)


def line_row(line: LogLine) -> tuple[object, ...]:
    """A connector-log line as a row of the type log_line_in (migration 014)."""
    connector, e = line
    return (connector, e.message_id, e.carrier_id, e.submitted_at, e.outcome, e.report_due)


def in_report_order(reports: Sequence[Report], events: Sequence[StatusEvent]) -> list[StatusEvent]:
    """Events written in two parts (checked, then the rest locked) in the order of the reports
    that made them, as one plan would list them: an event is its report's message, status
    and time (a message does not reach one status twice)."""
    where: dict[tuple[str, str, float], list[int]] = {}
    for i, r in enumerate(reports):
        where.setdefault((r.message_id, r.status.value, r.at), []).append(i)
    return sorted(events, key=lambda e: where[(e.message_id, e.status.value, e.at)].pop(0))
