"""SQLite backend: WAL, one writer thread per process with group commit, reads on the caller.

I/O only: every statement is a named query of `sql/sqlite/queries.sql` (`_Q`), every decision a
rule of `rules.py`. A write reads its decision's inputs, calls the rule and writes the result,
inside the writer's transaction (`_sqlite_writer`), which requests of one event-loop turn share.
"""

from __future__ import annotations

import asyncio
import fcntl
import logging
import operator
import os
import re
import sqlite3
import time
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from functools import lru_cache
from itertools import chain, compress, repeat
from operator import attrgetter
from typing import Any, NamedTuple, TypeVar

import msgspec

from ..core.ids import new_id
from ..core.models import (
    Account,
    Credential,
    Job,
    JobCounts,
    Message,
    MoMessage,
    OneTemplate,
    Report,
    StatusEvent,
)
from . import rules
from ._sqlite_writer import Writer, savepoint
from .base import (
    EVERY_DIALECT,
    CallbackRoute,
    CallbackState,
    ConnectorEntry,
    LogLine,
    MessageFilter,
    OutboxItem,
    OutboxScope,
    Outcome,
    Refusal,
    Store,
    StoreUnavailable,
)
from .callback_rows import (
    claimed_items,
    due_messages,
    due_siblings,
    message_ids,
    outbox_item,
)
from .migrations import SchemaStatus, migrations, schema_status, statements
from .queries import load
from .recent import RecentMessages
from .rows import (
    ACCOUNT_FIELDS,
    account_from_row,
    account_value,
    callback_from_row,
    check_account_fields,
    credential_from_row,
    entry_from_row,
    event_from_row,
    in_given_order,
    job_from_row,
    json_or_none,
    mo_from_row,
    row_to_message,
)
from .sqlite_admin import SQLiteAdmin
from .sqlite_attempts import SQLiteAttempts
from .sqlite_console import SQLiteConsole
from .sqlite_reports import (
    STATUS_TEXT,
    KnownUrls,
    apply_known,
    apply_reports,
    callback_urls,
    grouped,
    json_list,
    planned_ahead,
    write_ahead,
    write_rows,
)
from .sqlite_routes import SQLiteRoutes

T = TypeVar("T")
log = logging.getLogger("smsgate.store")
_Q = load("sqlite")
_json_encode = msgspec.json.encode
_json_decode = msgspec.json.decode
_asdict = msgspec.structs.asdict
_entry = attrgetter("message_id", "carrier_id", "submitted_at", "outcome", "report_due")


# The columns an accept writes (seq aside; the others keep the table's defaults), each with
# the conversion sqlite3 needs (an enum or a bool costs it an adaptation lookup per value).
_WRITTEN: dict[str, Callable[[Any], Any] | None] = dict.fromkeys(
    [
        *("id", "account_id", "dialect", "client_ref", "job_id", "sender", "phone", "text"),
        *("encoding", "segments", "priority", "not_before", "expires_at", "window", "flash"),
        *("tag", "callback_url", "status", "error_code", "price", "created_at", "updated_at"),
        *("confidential", "meta"),
    ]
)
_WRITTEN.update(window=json_or_none, flash=int, status=STATUS_TEXT.__getitem__)
_WRITTEN.update(confidential=int, meta=json_or_none)
_ROW_KEYS = ("seq", "id")  # never shared, so that a row is always a tuple
_INSERT_ROWS = 500  # rows per INSERT statement (bounded by SQLite's variable limit too)
_Row = Callable[[Message], tuple[Any, ...]]


_SHAREABLE = tuple(c for c in _WRITTEN if c not in _ROW_KEYS)
_shareable_of = attrgetter(*_SHAREABLE)
_ALL_SHAREABLE = frozenset(_SHAREABLE)
_getter = lru_cache(maxsize=256)(attrgetter)  # the few column sets groups of sends compare


def _same_columns(messages: Sequence[Message]) -> frozenset[str]:
    """The columns of _WRITTEN (but the row keys) with one value in every message."""
    if len(messages) == 1:  # every column has one value
        return _ALL_SHAREABLE
    first, last = messages[0], messages[-1]
    # first and last compared column by column in C
    candidates = [
        *compress(_SHAREABLE, map(operator.eq, _shareable_of(first), _shareable_of(last)))
    ]
    same: frozenset[str] = frozenset()
    if type(messages) is OneTemplate:  # the same by construction, but for a few
        same = frozenset(c for c in candidates if c not in OneTemplate.VARYING)
        candidates = [c for c in candidates if c in OneTemplate.VARYING]
    if not candidates:
        return same
    # One tuple per message, compared in C (item by item, identity first): messages built
    # from one template share the very objects.
    get = _getter(*candidates)
    if all(map(operator.eq, map(get, messages), repeat(get(first)))):
        return same.union(candidates)
    return same.union(
        c
        for c in candidates
        if all(map(operator.eq, map(attrgetter(c), messages), repeat(getattr(first, c))))
    )


class _Layout(NamedTuple):
    """How a batch whose columns `same` share is written (MessageColumns), made once per set
    of shared columns: a group of single sends finds its layout made by the groups before."""

    shared: tuple[str, ...]  # the columns bound once, in _WRITTEN's order
    converts: tuple[Callable[[Any], Any] | None, ...]  # each one's conversion
    shared_of: Callable[[Message], tuple[Any, ...]]  # their values in one message
    varying: tuple[str, ...]  # the columns bound once a row
    row: _Row


@lru_cache(maxsize=64)
def _layout(same: frozenset[str]) -> _Layout:
    plain: list[str] = [*_ROW_KEYS]
    converted: list[tuple[str, Callable[[Any], Any]]] = []
    shared = [c for c in _SHAREABLE if c in same]
    for column in _SHAREABLE:
        convert = _WRITTEN[column]
        if column in same:
            continue
        if convert is None:
            plain.append(column)
        else:
            converted.append((column, convert))
    values = attrgetter(*plain)
    row: _Row = values  # a tuple: _ROW_KEYS has two columns
    if converted:
        later = [(attrgetter(column), convert) for column, convert in converted]
        row = lambda m: (*values(m), *[f(get(m)) for get, f in later])  # noqa: E731
    return _Layout(
        tuple(shared),
        tuple(_WRITTEN[c] for c in shared),
        _values_of(shared),
        (*plain, *(column for column, _ in converted)),
        row,
    )


def _values_of(columns: Sequence[str]) -> Callable[[Message], tuple[Any, ...]]:
    """A message's values of `columns`, as a tuple whatever their number."""
    if len(columns) > 1:
        return attrgetter(*columns)
    if columns:
        get = attrgetter(columns[0])
        return lambda m: (get(m),)
    return lambda m: ()


@lru_cache(maxsize=512)
def _statement(shared: tuple[str, ...], varying: tuple[str, ...], rows: int, skip: bool) -> str:
    """insert_messages (insert_new_messages with `skip`) for `rows` rows of a shape: made
    once (about 2 µs, 5 for 500 rows), not by every group of single sends."""
    one = f"({','.join('?' * len(varying))})"
    picked = [*("?" * len(shared)), *(f"column{i + 1}" for i in range(len(varying)))]
    return _Q["insert_new_messages" if skip else "insert_messages"].format(
        columns=", ".join([*shared, *varying]),
        picked=", ".join(picked),
        rows=",".join([one] * rows),
    )


class MessageColumns:
    """How a batch of messages is written: columns with one value for the whole batch are
    bound once per statement, the others once per row, and columns NULL in every message are
    left to the table's defaults.

    In a bulk request most columns are the same for every recipient (account, dialect, job,
    sender, times, status...). Binding each costs sqlite3 ~100 ns per value and None far
    more: binding only what differs halves a 50,000-row INSERT.
    """

    def __init__(self, messages: Sequence[Message]) -> None:
        layout = _layout(_same_columns(messages))
        self.varying = layout.varying
        self.row = layout.row
        first = layout.shared_of(messages[0])
        self.shared: dict[str, Any] = {}
        for column, convert, value in zip(layout.shared, layout.converts, first, strict=True):
            if convert is not None:
                value = convert(value)
            if value is not None:
                self.shared[column] = value

    def statement(self, rows: int, skip_known_refs: bool = False) -> str:
        """insert_messages (or insert_new_messages: a row whose client reference is stored
        already is left out, not an error) for `rows` rows of this shape."""
        return _statement(tuple(self.shared), self.varying, rows, skip_known_refs)


def _row_to_account(r: Sequence[Any]) -> Account:
    return account_from_row(r, sorted(_json_decode(r[12])))  # r[12]: the senders, a JSON array


def _account_params(fields: Mapping[str, Any]) -> dict[str, Any]:
    """Account fields as the account queries bind them: the JSON ones as text."""
    return {n: account_value(n, v) for n, v in fields.items()}


def _path_of(url: str) -> str:
    return re.sub(r"^sqlite:///?", "", url)  # sqlite:///rel/path, sqlite:////abs/path


def bind_directly() -> None:
    """Parameters of these types bound as they are, through a registered adapter in C.

    sqlite3 binds only exact int, float, str and bytearray values without adapting them; for
    any other (None, bytes, bool) it looks for an adapter, and finding none it asks its
    protocol type for `__adapt__`, whose AttributeError is formatted and dropped: a None cost
    0.19 µs more than a str, a bytes value 0.26, a bool 0.19; through these 0.03, 0.14 and
    0.06 (1,000-row executemany, isolated). A message's moves, events and lines bind about
    eight None values in the engine (callgrind: eight formatted errors a message). The values
    bound are the same: NULL, the blob, 0 or 1. Registering again is harmless; the registry
    is the sqlite3 module's, for every connection of the process."""
    sqlite3.register_adapter(type(None), _NONE)
    sqlite3.register_adapter(bytes, bytes)
    sqlite3.register_adapter(bool, int)


_NONE: Callable[[None], None] = {}.get  # type: ignore[assignment]  # in C: None for None


class SQLiteStore(SQLiteAttempts, SQLiteConsole, SQLiteAdmin, SQLiteRoutes, Store):
    exclusive_dispatch = True

    def __init__(
        self,
        url: str,
        *,
        synchronous: str = "FULL",
        flush_on_loop: bool = True,
        heavy_on_loop: bool = False,
    ) -> None:
        if not re.fullmatch(r"[A-Za-z0-9]+", synchronous):
            raise ValueError(f"not an SQLite synchronous mode: {synchronous!r}")
        self.path = _path_of(url)
        self._engine_lock: int | None = None
        self.synchronous = synchronous
        self.flush_on_loop = flush_on_loop  # see _sqlite_writer: False where a core is spare
        # Large groups (claims, receipt batches) commit on the loop too: for a process that
        # serves no requests (the engine beside HTTP workers). See _sqlite_writer.
        self.heavy_on_loop = heavy_on_loop
        self.owner = new_id()  # this store's outbox leases (one notifier's: rules.order_claim)
        self._reader: sqlite3.Connection | None = None
        self._writer: Writer | None = None
        self._recent = RecentMessages()
        self._urls = KnownUrls()  # callbacks routed before the write lock (sqlite_reports)

    # Lifecycle -----------------------------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        bind_directly()
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30)
        # FULL is kept by fsyncing the WAL ourselves after each group (see _sqlite_writer).
        mode = "NORMAL" if self.synchronous.upper() == "FULL" else self.synchronous
        conn.executescript(_Q["connect"].format(synchronous=mode))
        return conn

    async def open(self) -> None:
        if self._reader is not None:
            return
        directory = os.path.dirname(os.path.abspath(self.path))
        os.makedirs(directory, exist_ok=True)
        try:
            self._reader = self._connect()
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"cannot open {self.path}: {exc}") from exc
        wal = self.path + "-wal" if self.synchronous.upper() == "FULL" else None
        self._writer = Writer(
            self._connect,
            self.path + ".lock",
            merge=accept_many,
            wal_path=wal,
            flush_on_loop=self.flush_on_loop,
            heavy_on_loop=self.heavy_on_loop,
        )
        self._writer.start()

    async def lock_engine(self) -> None:
        if self._engine_lock is not None:
            return
        fd = os.open(self.path + ".engine", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise StoreUnavailable(f"another smsgate engine is running on {self.path}") from None
        self._engine_lock = fd

    async def close(self) -> None:
        if self._engine_lock is not None:
            os.close(self._engine_lock)
            self._engine_lock = None
        if self._writer is not None:
            self._writer.stop()
            self._writer = None
        if self._reader is not None:
            self._reader.close()
            self._reader = None

    @property
    def commits(self) -> int:
        return self._writer.commits if self._writer else 0

    def _write(
        self, fn: Callable[[sqlite3.Connection], T], weight: int = 1, flush: bool = True
    ) -> Awaitable[T]:
        """Run `fn(conn)` in the next group commit; `weight` (about: rows) picks the thread;
        `flush=False`: answered at its commit, before the flush (Writer.run says when). The
        writer's future, not a coroutine of its own (a frame less for every write)."""
        if self._writer is None:
            raise StoreUnavailable("store is closed")
        return self._writer.run(fn, weight, flush)

    async def _write_many(
        self, query: str, rows: Sequence[Sequence[Any]], flush: bool = True
    ) -> None:
        """One named statement for each of `rows`, in the next group commit."""
        sql = _Q[query]
        await self._write(lambda conn: conn.executemany(sql, rows), len(rows), flush)

    def _read(self, query: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> list[Any]:
        if self._reader is None:
            raise StoreUnavailable("store is closed")
        try:
            return self._reader.execute(_Q[query], params).fetchall()
        except sqlite3.OperationalError as exc:
            raise StoreUnavailable(str(exc)) from exc

    def _messages(self, query: str, params: Sequence[Any] | Mapping[str, Any]) -> list[Message]:
        return [row_to_message(r) for r in self._read(query, params)]

    def _message(self, query: str, params: Sequence[Any]) -> Message | None:
        found = self._messages(query, params)
        return found[0] if found else None

    async def migrate(self) -> int:
        def op(conn: sqlite3.Connection) -> int:
            conn.execute(_Q["schema_version_create"])
            current = int(conn.execute(_Q["schema_version"]).fetchone()[0])
            for version, sql in migrations("sqlite"):
                if version > current:
                    for statement in statements(sql):
                        conn.execute(statement)
                    conn.execute(_Q["schema_version_record"], (version,))
                    current = version
            return current

        return await self._write(op)

    async def schema_status(self) -> SchemaStatus:
        exists = self._read("schema_version_exists")[0][0]
        return schema_status("sqlite", int(self._read("schema_version")[0][0]) if exists else 0)

    # Accounts -------------------------------------------------------------------------------
    async def create_account(self, account: Account) -> Account:
        params = _account_params(_asdict(account))
        params["created_at"] = account.created_at or time.time()

        def op(conn: sqlite3.Connection) -> int:
            account_id = int(conn.execute(_Q["account_insert"], params).lastrowid or 0)
            conn.executemany(_Q["sender_add"], [(account_id, s) for s in account.senders])
            return account_id

        try:
            account_id = await self._write(op)
        except sqlite3.IntegrityError as exc:  # the unique name
            raise rules.name_taken(account.name) from exc
        found = await self.get_account(account_id)
        assert found is not None
        return found

    async def update_account(self, account_id: int, **fields: Any) -> Account:
        check_account_fields(fields)
        if fields:
            params = {**dict.fromkeys(ACCOUNT_FIELDS), **_account_params(fields)}  # None: kept
            params["id"] = account_id
            try:
                await self._write(lambda conn: conn.execute(_Q["account_update"], params))
            except sqlite3.IntegrityError as exc:  # as PostgreSQL's store says it
                unique = "UNIQUE" in str(exc)
                raise (
                    rules.name_taken(str(fields.get("name")))
                    if unique
                    else rules.balance_below_zero()
                ) from exc
        return rules.account_found(await self.get_account(account_id), account_id)

    async def get_account(self, account_id: int) -> Account | None:
        found = self._read("account_by_id", (account_id,))
        return _row_to_account(found[0]) if found else None

    async def account_by_name(self, name: str) -> Account | None:
        found = self._read("account_by_name", (name,))
        return _row_to_account(found[0]) if found else None

    async def list_accounts(self) -> list[Account]:
        return [_row_to_account(r) for r in self._read("accounts_all")]

    async def adjust_balance(self, account_id: int, delta: int) -> int:
        def op(conn: sqlite3.Connection) -> int:
            row = conn.execute(_Q["account_balance"], (account_id,)).fetchone()
            balance = rules.adjusted_balance(row[0] if row else None, delta)
            conn.execute(_Q["account_set_balance"], (balance, account_id))
            return balance

        return await self._write(op)

    async def put_credential(self, credential: Credential) -> None:
        c = credential
        await self._write_many(
            "credential_put", [(c.account_id, c.dialect, c.kind, c.identifier, c.secret)]
        )

    async def find_credential(self, dialect: str, kind: str, identifier: str) -> Credential | None:
        found = self._read("credential_find", (dialect, kind, identifier))
        return credential_from_row(found[0]) if found else None

    async def credentials_of(self, account_id: int) -> list[Credential]:
        return [credential_from_row(r) for r in self._read("credentials_of", (account_id,))]

    async def delete_credential(self, dialect: str, kind: str, identifier: str) -> bool:
        return await self._changes("credential_delete", [(dialect, kind, identifier)]) > 0

    async def add_sender(self, account_id: int, name: str) -> None:
        await self._write_many("sender_add", [(account_id, name)])

    async def remove_sender(self, account_id: int, name: str) -> bool:
        return await self._changes("sender_remove", [(account_id, name)]) > 0

    async def stoplist_add(self, account_id: int, phones: Sequence[str]) -> int:
        return await self._changes("stoplist_add", [(account_id, p) for p in phones])

    async def stoplist_remove(self, account_id: int, phones: Sequence[str]) -> int:
        return await self._changes("stoplist_remove", [(account_id, p) for p in phones])

    async def _changes(self, query: str, rows: Sequence[Any]) -> int:
        """How many rows one named statement for each of `rows` changed (or added)."""
        sql = _Q[query]

        def op(conn: sqlite3.Connection) -> int:
            before = conn.total_changes
            conn.executemany(sql, rows)
            return conn.total_changes - before

        return await self._write(op, len(rows))

    async def stoplist(self, account_id: int) -> list[str]:
        return [r[0] for r in self._read("stoplist_of", (account_id,))]

    # Accept ---------------------------------------------------------------------------------
    def accept(
        self,
        account_id: int,
        items: Sequence[Message | Refusal],
        *,
        job: Job | None = None,
        atomic: bool = False,
    ) -> Awaitable[list[Outcome]]:
        """The writer's future itself (see Store.accept)."""
        return self._write(AcceptOp(account_id, items, job, atomic), len(items))

    # Reads ------------------------------------------------------------------------------------
    async def get_message(self, account_id: int, message_id: str) -> Message | None:
        return self._message("message_by_id", (message_id, account_id))

    async def get_messages(self, account_id: int, message_ids: Sequence[str]) -> list[Message]:
        found = self._messages("messages_by_ids", (json_list(message_ids), account_id))
        return in_given_order(found, message_ids)

    async def message_by_ref(
        self, account_id: int, dialect: str, client_ref: str
    ) -> Message | None:
        return self._message("message_by_ref", (account_id, dialect, client_ref))

    async def message_by_seq(self, account_id: int, seq: int) -> Message | None:
        return self._message("message_by_seq", (seq, account_id))

    async def owner_by_seq(self, seq: int) -> int | None:
        rows = self._read("owner_by_seq", (seq,))
        return int(rows[0][0]) if rows else None

    async def list_messages(
        self, account_id: int, flt: MessageFilter, *, after_seq: int = 0, limit: int = 100
    ) -> list[Message]:
        params = _asdict(flt)
        params.update(account_id=account_id, after_seq=after_seq, limit=int(limit))
        return self._messages("messages_list", params)

    async def get_job(self, account_id: int, job_id: str) -> JobCounts | None:
        rows = self._read("job_by_id", (job_id, account_id))
        if not rows:
            return None
        job = job_from_row(rows[0])
        counts = self._read("job_counts", {"job_id": job_id, "account_id": account_id})
        return JobCounts(job=job, by_status={s: n for s, n in counts})

    async def job_messages(
        self, account_id: int, job_id: str, *, after_seq: int = 0, limit: int = 1000
    ) -> list[Message]:
        params = {"job_id": job_id, "account_id": account_id, "after_seq": after_seq}
        return self._messages("job_messages", {**params, "limit": int(limit)})

    async def events_of(self, account_id: int, message_id: str) -> list[StatusEvent]:
        return [event_from_row(r) for r in self._read("events_of", (message_id, account_id))]

    async def events_after(self, after_seq: int, limit: int = 500) -> list[StatusEvent]:
        return [event_from_row(r) for r in self._read("events_after", (after_seq, limit))]

    async def events_start(self, since: float | None = None) -> int:
        if since is None:
            return int(self._read("events_last")[0][0])
        return int(self._read("events_start_since", (since,))[0][0])

    async def list_mo(
        self, account_id: int, *, after_seq: int = 0, limit: int = 100
    ) -> list[MoMessage]:
        return [mo_from_row(r) for r in self._read("mo_list", (account_id, after_seq, limit))]

    async def cancel(self, account_id: int, message_id: str, route: CallbackRoute) -> Message:
        def op(conn: sqlite3.Connection) -> Message:
            row = conn.execute(_Q["message_to_cancel"], (message_id, account_id)).fetchone()
            message = row_to_message(row) if row else None
            report = rules.cancel_report(message, dispatched=bool(row and row[-1]), now=time.time())
            assert message is not None  # cancel_report refused a missing one
            plan = apply_reports(conn, {message_id: message}, [report], route, self._urls)
            return plan.moves[message_id].message

        return await self._write(op)

    # Dispatcher -------------------------------------------------------------------------------
    async def claim_due(
        self, now: float, limit: int, token: str, lease: float, skip_accounts: Collection[int] = ()
    ) -> list[Message]:
        if not self._read("any_due", (now,)):
            # Nothing to claim (the committed state says so): no write. An idle dispatcher polls
            # every 20 ms, and each claim was a write group on the writer thread that the
            # requests' groups queued behind.
            return []
        # The filter of accounts at their rate limit only when there are some.
        due, params = (
            ("due_messages_skipping", (json_list(skip_accounts), limit))
            if skip_accounts
            else ("due_messages", (limit,))
        )

        def op(conn: sqlite3.Connection) -> list[Any]:
            conn.execute(_Q["schedule_due"], {"now": now})
            rows = conn.execute(_Q[due], params).fetchall()
            conn.execute(_Q["lease"], (token, now + lease, json_list(r[0] for r in rows)))
            return rows  # made into messages after the commit: not while holding the lock

        # Answered before its flush: a claim matters after a crash only if the carrier may
        # have the message, and a connector that can know that durably (the simulator, the
        # HTTP upstreams) commits its own line first, whose flush covers the claim (the WAL is
        # one sequence); one that cannot (SMPP) sends a claimed message again after a crash
        # (Connector.recover), as it would an unclaimed one. Lost in a power cut with
        # everything after it, the claim is made again; a kill -9 loses nothing unflushed.
        # Read as the lease left them (status 'queued'), as PostgreSQL's claim returns them.
        result = [row_to_message(r) for r in await self._write(op, limit, flush=False)]
        self._recent.remember(result)
        return result

    async def release(self, message_ids: Sequence[str], not_before: float | None) -> None:
        status = rules.released_status(not_before).value
        await self._write_many("release", [(not_before, status, mid) for mid in message_ids])

    async def claimed_by_others(self, now: float, token: str, lease: float = 60.0) -> list[Message]:
        # Exclusive: only called by the one engine as it starts, so nothing to take over.
        return self._messages("claimed_by_others", (token, now))

    async def record_reports(
        self, reports: Sequence[Report], route: CallbackRoute, lines: Sequence[LogLine] = ()
    ) -> list[StatusEvent]:
        ahead = planned_ahead(self._recent, self._urls, reports, route)
        if ahead is not None and ahead.writes_nothing and not lines:
            # Decided by remembered states and changing none (a dispatcher's SUBMITTED for
            # messages whose SMPP receipts came first and recorded it): no write group, which
            # was a transaction and a WAL flush of its own when it committed alone.
            return []
        logged = [(connector, *_entry(e)) for connector, e in lines]
        log_rows = grouped("connector_log_add", "connector_log_add_rows", logged)

        def op(conn: sqlite3.Connection) -> rules.ReportPlan:
            if logged:  # in the reports' commit: a write group fewer than a note of their own
                write_rows(conn, log_rows)
            plan = write_ahead(conn, ahead, self._urls, route) if ahead is not None else None
            if plan is None:
                # Looked up as the operation runs, not when it was asked for: the reports
                # written just before (in this group too) are known, so these need not read
                # their rows.
                plan = apply_known(conn, self._recent, self._urls, reports, route)
            # What the next operation starts from.
            self._recent.remember(move.message for move in plan.moves.values())
            return plan

        try:
            plan: rules.ReportPlan = await self._write(op, 3 * len(reports))
        except BaseException:
            self._recent.clear()  # the group did not commit: what its operations wrote is not so
            raise
        if plan.scrubbed:
            await self._forget_old_pages()
        return [event for _message, event in plan.events]

    async def _forget_old_pages(self) -> None:
        """A confidential text was blanked: push the WAL into the database and truncate it, so
        that no earlier page image holding the text stays on disk (secure_delete zeroes the
        freed bytes in the database pages themselves)."""

        def checkpoint() -> None:
            conn = sqlite3.connect(self.path, timeout=30)
            try:
                conn.execute(_Q["checkpoint_truncate"])
            finally:
                conn.close()

        try:
            await asyncio.to_thread(checkpoint)
        except sqlite3.Error as exc:  # best effort: the next checkpoint will do it
            log.warning("checkpoint after blanking a confidential text failed: %s", exc)

    async def message_by_carrier_id(self, carrier_id: str) -> Message | None:
        return self._message("message_by_carrier_id", (carrier_id,))

    async def ping(self) -> None:
        self._read("ping")

    async def counts(self) -> dict[str, int]:
        scheduled, queued, outbox = self._read("counts")[0]
        return {"scheduled": int(scheduled), "queued": int(queued), "outbox": int(outbox)}

    # MO ---------------------------------------------------------------------------------------
    async def store_mo(self, mos: Sequence[MoMessage], route: CallbackRoute) -> None:
        def op(conn: sqlite3.Connection) -> None:
            urls = callback_urls(conn, {mo.account_id for mo in mos})
            for mo in mos:
                meta = json_or_none(mo.meta)
                row = (mo.id, mo.account_id, mo.phone, mo.to, mo.text, mo.received_at)
                seq = conn.execute(_Q["mo_insert"], (*row, mo.reply_to, meta)).lastrowid
                stored = msgspec.structs.replace(mo, seq=int(seq or 0))
                callbacks = rules.mo_callbacks(stored, urls.get(mo.account_id, {}), route)
                conn.executemany(_Q["callback_insert"], callbacks)

        await self._write(op)

    # Outbox -----------------------------------------------------------------------------------
    async def outbox_claim(
        self, now: float, limit: int, lease: float, scope: OutboxScope = EVERY_DIALECT
    ) -> list[OutboxItem]:
        params = {"now": now, **_scope_params(scope)}
        if not self._read("outbox_any_due", params):
            return []  # nothing due (committed state): an idle notifier does not write

        def op(conn: sqlite3.Connection) -> list[int]:
            # Under the lock only what the plan needs (ids and their messages); the rows to
            # render from are read after the commit (below).
            due = conn.execute(_Q["outbox_due"], {**params, "limit": limit}).fetchall()
            ids = [r[0] for r in due]
            chains = {"messages": json_list(due_messages(due)), "claimed": json_list(ids)}
            found = conn.execute(_Q["outbox_chains"], chains)
            siblings = due_siblings(due, now) + [rules.Sibling(*r) for r in found]
            plan = rules.order_claim(ids, siblings, now, self.owner)
            leased = {"until": now + lease, "owner": self.owner, "ids": json_list(plan.send)}
            conn.execute(_Q["outbox_lease"], leased)  # one statement for the whole claim
            conn.executemany(_Q["outbox_defer"], [(at, i) for i, at in plan.hold])
            return plan.send

        send = await self._write(op)
        if not send:
            return []
        # The leased rows, their events and messages are read and the callbacks rendered after
        # the commit, as on PostgreSQL: not while holding the lock that every process's
        # commits wait for. The rows are this notifier's while leased, events do not change,
        # the retention purge deletes no message (store/retention.py), and what a callback
        # reports is its event (rules.as_of), whatever the message did since.
        due = self._read("outbox_claimed", {"ids": json_list(send)})
        wanted = message_ids(due)
        messages = self._read("messages_by_any_ids", (json_list(wanted),)) if wanted else []
        return claimed_items(due, send, messages)  # in id order, as plan.send

    async def outbox_unlease(self, scope: OutboxScope = EVERY_DIALECT) -> int:
        return await self._changes("outbox_unlease", [_scope_params(scope)])

    async def outbox_defer(self, ids: Sequence[int], next_at: float) -> None:
        await self._write_many("outbox_defer", [(next_at, i) for i in ids])

    async def outbox_items(
        self, account_id: int | None = None, state: str | None = None
    ) -> list[OutboxItem]:
        rows = self._read("outbox_items", {"account_id": account_id, "state": state})
        return [outbox_item(r) for r in rows]

    async def callbacks_of(self, account_id: int, message_id: str) -> list[CallbackState]:
        rows = self._read("callbacks_of", (message_id, account_id))
        return [callback_from_row(r) for r in rows]

    async def outbox_backlog(self) -> dict[str, int]:
        return {str(dialect): int(n) for dialect, n in self._read("outbox_backlog")}

    # Connector log ----------------------------------------------------------------------------
    async def connector_log_add(self, connector: str, entries: Sequence[ConnectorEntry]) -> None:
        await self._write_many("connector_log_add", [(connector, *_entry(e)) for e in entries])

    async def connector_log_find(
        self, connector: str, message_ids: Sequence[str]
    ) -> list[ConnectorEntry]:
        rows = self._read("connector_log_find", (connector, json_list(message_ids)))
        return [entry_from_row(r) for r in rows]

    async def connector_log_pending(
        self, connector: str, limit: int = 10000
    ) -> list[ConnectorEntry]:
        return [entry_from_row(r) for r in self._read("connector_log_pending", (connector, limit))]

    async def connector_log_reported(self, connector: str, message_ids: Sequence[str]) -> None:
        # A mark, not flushed: lost in a power cut, the report is asked for or sent once more
        # (a repeated status is no change).
        rows = [(connector, m) for m in message_ids]
        await self._write_many("connector_log_reported", rows, flush=False)

    async def connector_log_note(self, connector: str, entries: Sequence[ConnectorEntry]) -> None:
        # Not flushed: the connector's acknowledgement, recorded next, is (see Store).
        rows = [(connector, *_entry(e)) for e in entries]
        await self._write_many("connector_log_add", rows, flush=False)


def _scope_params(scope: OutboxScope) -> dict[str, str | None]:
    """The :only and :skip parameters of the outbox queries for `scope`'s dialects."""
    only = None if scope.only is None else json_list(sorted(scope.only))
    return {"only": only, "skip": json_list(sorted(scope.skip))}


# Accept: run inside the writer's transaction ---------------------------------------------------


class AcceptOp(rules.AcceptRequest):
    """One accept request, as the writer runs it: alone, or merged with the others of its group.

    Merged, a group of concurrent requests costs one query per kind (references, stop list,
    balances, next seq) and one INSERT for all their messages, not one of each per request.
    """

    __slots__ = ()
    mergeable = True

    def __call__(self, conn: sqlite3.Connection) -> list[Outcome]:
        return accept_many(conn, [self])[0]


INSERT_FIRST_FROM = 1000  # a request this large is inserted before its references are looked up


def accept_many(
    conn: sqlite3.Connection, ops: Sequence[rules.AcceptRequest]
) -> list[list[Outcome]]:
    """Requests of one group, in order: their plan's inputs read, the plan written."""
    if len(ops) == 1 and len(ops[0].items) >= INSERT_FIRST_FROM:
        inserted = _accept_fresh(conn, ops[0])
        if inserted is not None:
            return inserted.outcomes
    known, next_seq = _known(conn, rules.lookups(ops))
    plan = rules.plan_accept(ops, known)
    _insert_messages(conn, plan.fresh, next_seq=next_seq)
    _charge(conn, plan)
    return plan.outcomes


def _known(conn: sqlite3.Connection, wanted: rules.Lookups) -> tuple[rules.Known, int | None]:
    """What the store holds of what a plan needs: references, stop-listed phones, balances;
    and, for a group of one account (the usual one), the seq its first message gets, read in
    the same statement (else None: _insert_messages reads it)."""
    stored: dict[tuple[int, str, str], Message] = {}
    for (account_id, dialect), refs in wanted.refs.items():
        if refs:
            rows = conn.execute(_Q["refs_stored"], (account_id, dialect, json_list(refs)))
            for r in rows:
                stored[(account_id, dialect, r[4])] = row_to_message(r)
    everyone = [*wanted.accounts, 0]  # and the global stop list
    next_seq: int | None = None
    if len(wanted.accounts) == 1:
        account = wanted.accounts[0]
        next_seq, balance, listed = conn.execute(_Q["accept_inputs"], (account,)).fetchone()
        balances = {} if balance is None else {account: balance}
    else:
        listed = bool(wanted.phones) and _has_stoplist(conn, everyone)
        balances = dict(conn.execute(_Q["balances"], (json_list(wanted.accounts),)))
    stopped: set[tuple[int, str]] = set()
    if wanted.phones and listed:
        phones = {"phones": json_list(wanted.phones), "accounts": json_list(everyone)}
        stopped.update(conn.execute(_Q["stoplist_hits"], phones))
    return rules.Known(stored, stopped, balances), next_seq


def _has_stoplist(conn: sqlite3.Connection, account_ids: Sequence[int]) -> bool:
    """Whether the accounts have any stop-listed phone (the usual answer: no list to look
    50,000 phones up in)."""
    return conn.execute(_Q["stoplist_any"], (json_list(account_ids),)).fetchone() is not None


class _Undone(Exception):
    """An insert-first request met a stored client reference: its insert is undone."""


def _accept_fresh(conn: sqlite3.Connection, req: rules.AcceptRequest) -> rules.AcceptPlan | None:
    """A large request planned as if none of its client references were stored, and inserted
    without looking them up.

    The unique index checks each reference as its row goes in anyway: when every row went
    in, none was stored before and the plan holds; looking 50,000 of them up first (~45 ms)
    was wasted. A stored reference undoes the insert. A request with a stop list to look at,
    or whose plan is not all new (repeats, refusals, too little balance), is not tried. Then
    None leaves it to accept_many's general path, which reads every input.
    """
    if _has_stoplist(conn, [req.account_id, 0]):
        return None
    row = conn.execute(_Q["account_balance"], (req.account_id,)).fetchone()
    plan = rules.plan_accept([req], rules.Known({}, (), {req.account_id: row[0]} if row else {}))
    if not plan.all_new:
        return None
    # All new: the plan stores the request's items in their order. Inserted as given, a
    # OneTemplate keeps telling _same_columns what its messages share.
    fresh = req.items if type(req.items) is OneTemplate else plan.fresh
    try:
        with savepoint(conn, "fresh"):
            if _insert_messages(conn, fresh, skip_known_refs=True) != len(plan.fresh):
                raise _Undone
    except _Undone:
        _unnumber(plan.fresh)
        return None
    _charge(conn, plan)
    return plan


def _insert_messages(
    conn: sqlite3.Connection,
    messages: Sequence[Message],
    skip_known_refs: bool = False,
    next_seq: int | None = None,
) -> int:
    """Number `messages` (their seq is set in place) and insert them, many rows a statement.

    Returns how many rows went in: all of them, but with `skip_known_refs`, where the rows
    whose client reference is stored already are left out. `next_seq`: the first message's,
    when the caller read it in this transaction already.
    """
    if not messages:
        return 0
    if next_seq is None:
        next_seq = int(conn.execute(_Q["next_message_seq"]).fetchone()[0])
    for offset, m in enumerate(messages):
        m.seq = next_seq + offset
    columns = MessageColumns(messages)
    shared = list(columns.shared.values())
    room = conn.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) - len(shared)
    size = max(1, min(_INSERT_ROWS, room // len(columns.varying)))
    inserted = 0
    try:
        for start in range(0, len(messages), size):
            chunk = messages[start : start + size]
            sql = columns.statement(len(chunk), skip_known_refs)
            values = [*shared, *chain.from_iterable(map(columns.row, chunk))]
            inserted += conn.execute(sql, values).rowcount
    except BaseException:
        _unnumber(messages)
        raise
    return inserted


def _unnumber(messages: Sequence[Message]) -> None:
    for m in messages:  # not stored: not numbered
        m.seq = 0


def _charge(conn: sqlite3.Connection, plan: rules.AcceptPlan) -> None:
    """The plan's debits, and its jobs with the seq range their messages were numbered in.
    (One statement per debit: executemany of one row, or of none, costs twice an execute.)"""
    for account_id, amount in plan.debits.items():
        conn.execute(_Q["account_debit"], (amount, account_id))
    for job, first, last in plan.jobs:
        row = {**_asdict(job), "meta": json_or_none(job.meta), "first": first.seq, "last": last.seq}
        conn.execute(_Q["job_insert"], row)


# Reports: run inside the writer's transaction --------------------------------------------------
