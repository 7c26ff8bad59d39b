"""SQLite backend, status reports into the store: the states it remembers, the plan made from
them, and its statements, run inside the writer's transaction (store/rules.py decides; this
module only reads rows where it must and writes). A part of `SQLiteStore` (sqlite.py)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from itertools import chain
from operator import attrgetter
from typing import Any, NamedTuple

import msgspec

from ..core.models import Message, Report
from ..core.status import Status
from . import rules
from ._sqlite_writer import savepoint
from .base import CallbackRoute
from .queries import load
from .recent import RecentMessages, decided
from .rows import row_to_message

_Q = load("sqlite")
_json_encode = msgspec.json.encode
_json_decode = msgspec.json.decode
_moved = attrgetter("error_code", "updated_at", "carrier_id", "submitted_at", "done_at", "seq")
STATUS_TEXT: dict[Status, str] = {s: s.value for s in Status}


# Rows a multi-row INSERT takes (`insert_rows`): per row, one statement of 32 rows cost 18%
# less than executemany's step of a one-row statement (a 100-event batch, isolated).
ROWS_A_STATEMENT = 32
_MANY: dict[str, str] = {}


class Grouped(NamedTuple):
    """A one-row statement's rows grouped as insert_rows sends them: built before the write
    lock is taken, sent under it (write_rows)."""

    many: str  # the statement of ROWS_A_STATEMENT rows (empty: none)
    full: list[tuple[Any, ...]]  # its parameters, a statement each
    one: str  # the one-row statement, for the rest
    rest: Sequence[Sequence[Any]]


def grouped(one: str, many: str, rows: Sequence[Sequence[Any]]) -> Grouped:
    """The one-row INSERT (or UPDATE) `one` for each of `rows`: ROWS_A_STATEMENT rows a
    statement (by `many`, its {rows} filled once), the rest one by one; every statement's
    text stays fixed (in sqlite3's statement cache)."""
    full = len(rows) - len(rows) % ROWS_A_STATEMENT
    if not full:
        return Grouped("", [], _Q[one], rows)
    sql = _MANY.get(many)
    if sql is None:
        row = f"({','.join('?' * len(rows[0]))})"
        sql = _MANY[many] = _Q[many].format(rows=",".join([row] * ROWS_A_STATEMENT))
    step = ROWS_A_STATEMENT
    params = [tuple(chain.from_iterable(rows[i : i + step])) for i in range(0, full, step)]
    return Grouped(sql, params, _Q[one], rows[full:])


def write_rows(conn: sqlite3.Connection, rows: Grouped) -> None:
    """Rows grouped by `grouped`, sent."""
    if rows.full:
        conn.executemany(rows.many, rows.full)
    conn.executemany(rows.one, rows.rest)


def insert_rows(
    conn: sqlite3.Connection, one: str, many: str, rows: Sequence[Sequence[Any]]
) -> None:
    """`grouped` rows, sent at once."""
    write_rows(conn, grouped(one, many, rows))


def json_list(values: Iterable[Any]) -> str:
    """A list parameter: one JSON array, read by `json_each(?)` in the query."""
    return _json_encode(list(values)).decode()


def callback_urls(conn: sqlite3.Connection, account_ids: Iterable[int]) -> dict[int, Any]:
    """The callback URLs of each account, by id."""
    rows = conn.execute(_Q["callback_urls"], (json_list(account_ids),))
    return {account_id: _json_decode(urls) for account_id, urls in rows}


class KnownUrls:
    """The accounts' callback URLs as this store's last report write read them (each account's
    JSON text with its decoded value, in one tuple: read whole by a plan on the event loop
    while the writer's thread replaces it), so that a plan's callbacks are routed before the
    write lock is taken. The write reads the texts again under the lock and routes afresh if
    one changed: what is written is what the transaction saw. A hint, never the truth."""

    def __init__(self) -> None:
        self.known: dict[int, tuple[str, dict[str, str]]] = {}

    def read(self, conn: sqlite3.Connection, account_ids: Iterable[int]) -> dict[int, str]:
        """The accounts' texts as the transaction sees them (none for an account with no row),
        remembered, decoded where new or changed, for the next plans."""
        texts = dict(conn.execute(_Q["callback_urls"], (json_list(account_ids),)).fetchall())
        known = self.known
        for account_id in account_ids:
            text = texts.get(account_id)
            if text is None:
                known.pop(account_id, None)
            elif (entry := known.get(account_id)) is None or entry[0] != text:
                known[account_id] = (text, _json_decode(text))
        return texts

    def urls(self, account_ids: Iterable[int]) -> dict[int, dict[str, str]]:
        """The accounts' decoded URLs as last read (an account not read: none)."""
        known = self.known
        return {a: entry[1] for a in account_ids if (entry := known.get(a)) is not None}


def planned_ahead(
    recent: RecentMessages, known: KnownUrls, reports: Sequence[Report], route: CallbackRoute
) -> Planned | None:
    """The reports planned from remembered states before their operation is queued, when
    those decide every one: the planning then runs outside the write lock, which every process
    waits for, and the operation only writes (and checks that each row was still in the status
    planned from: see write_ahead). None when some row must be read."""
    current, unknown = decided(reports, recent.of(r.message_id for r in reports))
    if unknown:
        return None
    return Planned(rules.plan_reports(current, reports), known, route)


def apply_known(
    conn: sqlite3.Connection,
    recent: RecentMessages,
    urls: KnownUrls,
    reports: Sequence[Report],
    route: CallbackRoute,
) -> rules.ReportPlan:
    """Reports applied to the states `recent` remembers where they decide them, the others'
    rows read; all read afresh if a remembered one was stale."""
    known = recent.of(r.message_id for r in reports)
    if known:
        try:
            with savepoint(conn, "known"):
                current = _current(conn, reports, known)
                return apply_reports(conn, current, reports, route, urls, checked=True)
        except _Stale:  # a row moved since we last saw it: read them all afresh
            pass
    return apply_reports(conn, _current(conn, reports, {}), reports, route, urls)


def _load_by_id(conn: sqlite3.Connection, ids: Sequence[str]) -> dict[str, Message]:
    rows = conn.execute(_Q["messages_by_any_ids"], (json_list(set(ids)),))
    return {r[1]: row_to_message(r) for r in rows}


class _Stale(Exception):
    """A message changed since the state the reports were applied to was remembered."""


def _current(
    conn: sqlite3.Connection, reports: Sequence[Report], known: Mapping[str, Message]
) -> dict[str, Message]:
    """The state each report applies to: remembered (`known`, committed or written earlier in
    this transaction) where that decides the report, read from the row otherwise."""
    current, unknown = decided(reports, known)
    missing = [i for i in unknown if i not in current]
    if missing:
        current.update(_load_by_id(conn, missing))
    return current


def apply_reports(
    conn: sqlite3.Connection,
    current: Mapping[str, Message],
    reports: Sequence[Report],
    route: CallbackRoute,
    urls: KnownUrls,
    checked: bool = False,
) -> rules.ReportPlan:
    """rules.plan_reports from `current`, written: one statement per kind for the batch.

    Each move's update applies only if the row is still in the status the plan found it in;
    `checked` (the states were remembered, not read): raise _Stale, for the caller to roll
    back, when any was not.
    """
    planned = Planned(rules.plan_reports(current, reports), urls, route)
    return _write_plan(conn, planned, urls, route, checked)


class Planned:
    """A report plan with the rows its statements take, built before they run: all but the
    events' numbers (`seq`), which only the write lock decides."""

    def __init__(self, plan: rules.ReportPlan, urls: KnownUrls, route: CallbackRoute) -> None:
        self.plan = plan
        self.carrier_ids = [(cid, m.seq) for m, cid in plan.carrier_ids]
        # Statuses as str and flags as int: sqlite3 adapts an enum or a bool at ~0.6 µs a value.
        # Moves that keep the carrier id (a receipt's) go to `move_same_carrier`.
        self.moves: list[tuple[Any, ...]] = []
        self.same_carrier: list[tuple[Any, ...]] = []
        text = STATUS_TEXT
        for move in plan.moves.values():
            m = move.message
            rows = self.same_carrier if m.carrier_id == move.from_carrier_id else self.moves
            clear, blank, was = move.clear_lease + 0, move.blank_text + 0, text[move.from_status]
            rows.append((text[m.status], *_moved(m), clear, blank, was))
        self.refunds = [(amount, a) for a, amount in plan.refunds.items()]
        # The events' rows without their seq, and the callbacks they fall due for by the URLs
        # last read (`texts`: checked against the transaction's own read as they are written).
        events = [
            (e.message_id, e.account_id, text[e.status], e.error_code, e.carrier_error, e.at)
            for _m, e in plan.events
        ]
        self.events = grouped("event_insert_next", "event_insert_next_rows", events)
        seen = {a: urls.known.get(a) for a in {e.account_id for _m, e in plan.events}}
        self.texts = {a: entry[0] for a, entry in seen.items() if entry is not None}
        self.accounts = list(seen)
        decoded = {a: entry[1] for a, entry in seen.items() if entry is not None}
        self.owed = rules.dr_owed(plan.events, decoded, route) if plan.events else []
        # No statement of the plan would change a row (see SQLiteStore.record_reports).
        self.writes_nothing = not (plan.moves or plan.carrier_ids or plan.events or plan.refunds)


def write_ahead(
    conn: sqlite3.Connection, ahead: Planned, urls: KnownUrls, route: CallbackRoute
) -> rules.ReportPlan | None:
    """A plan made before the operation ran, written if every row was still in the status it
    was planned from; None (nothing written) if one had moved meanwhile."""
    try:
        with savepoint(conn, "ahead"):
            return _write_plan(conn, ahead, urls, route, checked=True)
    except _Stale:
        return None


def _write_plan(
    conn: sqlite3.Connection,
    planned: Planned,
    urls: KnownUrls,
    route: CallbackRoute,
    checked: bool,
) -> rules.ReportPlan:
    """One statement per kind for the batch; `checked`: raise _Stale (for the caller to roll
    back) when a move found its row in another status than it was planned from."""
    plan = planned.plan
    conn.executemany(_Q["carrier_id_learnt"], planned.carrier_ids)
    before = conn.total_changes
    conn.executemany(_Q["move"], planned.moves)
    conn.executemany(_Q["move_same_carrier"], planned.same_carrier)
    if checked and conn.total_changes - before != len(planned.moves) + len(planned.same_carrier):
        raise _Stale()
    conn.executemany(_Q["account_credit"], planned.refunds)
    if plan.events:
        _insert_events(conn, planned, urls, route)
    return plan


def _insert_events(
    conn: sqlite3.Connection, planned: Planned, urls: KnownUrls, route: CallbackRoute
) -> None:
    """Number the plan's events in place, store them and the callbacks they fall due for."""
    events = planned.plan.events
    first = int(conn.execute(_Q["next_event_seq"]).fetchone()[0])
    for seq, (_message, e) in enumerate(events, first):
        e.seq = seq
    write_rows(conn, planned.events)  # numbered first, first + 1, ... by SQLite (the query)
    owed = planned.owed
    if urls.read(conn, planned.accounts) != planned.texts:  # changed since it was routed
        owed = rules.dr_owed(events, urls.urls(planned.accounts), route)
    if owed:
        insert_rows(conn, "callback_insert", "callback_insert_rows", rules.owed_rows(owed, first))
