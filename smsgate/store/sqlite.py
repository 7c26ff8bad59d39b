"""SQLite backend: WAL, one writer thread per process with group commit, reads on the caller."""

from __future__ import annotations

import asyncio
import fcntl
import logging
import operator
import os
import sqlite3
import time
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from itertools import chain, repeat
from operator import attrgetter
from typing import Any

import msgspec

from ..core.errors import ErrorCode, GatewayError
from ..core.models import (
    Account,
    Credential,
    Job,
    JobCounts,
    Message,
    MoMessage,
    Notice,
    Report,
    StatusEvent,
)
from ..core.status import CANCELLABLE, FINAL, Status, can_transition
from ._sqlite_writer import Writer
from .base import (
    EVERY_DIALECT,
    CallbackRoute,
    ConnectorEntry,
    MessageFilter,
    OutboxItem,
    OutboxScope,
    Outcome,
    Store,
    StoreUnavailable,
)
from .migrations import migrations, statements
from .rows import (
    event_from_row,
    mo_from_row,
    outbox_from_row,
    refundable,
    row_to_message,
    snapshot,
)

log = logging.getLogger("smsgate.store")
_json_encode = msgspec.json.encode
_json_decode = msgspec.json.decode
_notice_encode = msgspec.json.Encoder().encode

MSG_COLS = (
    "seq, id, account_id, dialect, client_ref, job_id, sender, phone, text, encoding, segments,"
    " priority, not_before, expires_at, window, flash, tag, callback_url, status, error_code,"
    " price, created_at, updated_at, submitted_at, done_at, carrier_id, confidential, meta"
)
ACCOUNT_COLS = (
    "id, name, balance, price, currency, tps, timezone, active, ip_allowlist, callback_urls,"
    " settings, created_at"
)
_ACCOUNT_JSON = {"ip_allowlist", "callback_urls", "settings"}
_ACCOUNT_FIELDS = set(ACCOUNT_COLS.replace(" ", "").split(",")) - {"id"}
CHUNK = 500  # bound on '?' parameters per IN (...)
# A job's messages lie in the seq range its accept stored them in (schema version 2: there
# is no index on job_id). Parameters: the job id, twice. A job without a range: no bound.
_IN_JOB_RANGE = (
    "seq BETWEEN coalesce((SELECT first_seq FROM jobs WHERE id = ?), 0)"
    " AND coalesce((SELECT last_seq FROM jobs WHERE id = ?), 9223372036854775807)"
)


def _chunks(items: Sequence[Any], size: int = CHUNK) -> Iterable[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _marks(n: int) -> str:
    return ",".join("?" * n)


def _json_or_none(value: Any) -> str | None:
    return _json_encode(value).decode() if value else None


_STATUS_TEXT: dict[Status, str] = {s: s.value for s in Status}
# The columns an accept writes (seq aside; the others keep the table's defaults), each with
# the conversion sqlite3 needs (an enum or a bool costs it an adaptation lookup per value).
_WRITTEN: dict[str, Callable[[Any], Any] | None] = {
    "id": None,
    "account_id": None,
    "dialect": None,
    "client_ref": None,
    "job_id": None,
    "sender": None,
    "phone": None,
    "text": None,
    "encoding": None,
    "segments": None,
    "priority": None,
    "not_before": None,
    "expires_at": None,
    "window": _json_or_none,
    "flash": int,
    "tag": None,
    "callback_url": None,
    "status": _STATUS_TEXT.__getitem__,
    "error_code": None,
    "price": None,
    "created_at": None,
    "updated_at": None,
    "confidential": int,
    "meta": _json_or_none,
}
_ROW_KEYS = ("seq", "id")  # never shared, so that a row is always a tuple
_INSERT_ROWS = 500  # rows per INSERT statement (bounded by SQLite's variable limit too)
_Row = Callable[[Message], tuple[Any, ...]]


def _same_columns(messages: Sequence[Message]) -> set[str]:
    """The columns of _WRITTEN (but the row keys) with one value in every message."""
    first, last = messages[0], messages[-1]
    candidates = [
        c
        for c in _WRITTEN
        if c not in _ROW_KEYS and getattr(first, c) == getattr(last, c)
    ]  # fmt: skip
    if not candidates:
        return set()
    # One tuple per message, compared in C (item by item, identity first): messages built
    # from one template share the very objects.
    get = attrgetter(*candidates)
    if all(map(operator.eq, map(get, messages), repeat(get(first)))):
        return set(candidates)
    return {
        c
        for c in candidates
        if all(map(operator.eq, map(attrgetter(c), messages), repeat(getattr(first, c))))
    }


class MessageColumns:
    """How a batch of messages is written: columns with one value for the whole batch are
    bound once per statement, the others once per row, and columns NULL in every message are
    left to the table's defaults.

    In a bulk request most columns are the same for every recipient (account, dialect, job,
    sender, times, status...). Binding each costs sqlite3 ~100 ns per value and None far
    more: binding only what differs halves a 50,000-row INSERT.
    """

    def __init__(self, messages: Sequence[Message]) -> None:
        self.shared: dict[str, Any] = {}
        plain: list[str] = [*_ROW_KEYS]
        converted: list[tuple[str, Callable[[Any], Any]]] = []
        same = _same_columns(messages)
        for column, convert in _WRITTEN.items():
            if column in _ROW_KEYS:
                continue
            if column in same:
                first = getattr(messages[0], column)
                value = convert(first) if convert is not None else first
                if value is not None:
                    self.shared[column] = value
            elif convert is None:
                plain.append(column)
            else:
                converted.append((column, convert))
        self.varying = [*plain, *(column for column, _ in converted)]
        values = attrgetter(*plain)
        if converted:
            later = [(attrgetter(column), convert) for column, convert in converted]
            self.row: _Row = lambda m: (*values(m), *[f(get(m)) for get, f in later])
        else:
            self.row = values  # a tuple: _ROW_KEYS has two columns

    def statement(self, rows: int, skip_known_refs: bool = False) -> str:
        """An INSERT of `rows` rows. `skip_known_refs`: a row whose client reference is stored
        already is left out (not an error), so that the caller can count what went in."""
        one = f"({','.join('?' * len(self.varying))})"
        picked = [*("?" * len(self.shared)), *(f"column{i + 1}" for i in range(len(self.varying)))]
        sql = (
            f"INSERT INTO messages ({', '.join([*self.shared, *self.varying])})"
            f" SELECT {', '.join(picked)} FROM (VALUES {','.join([one] * rows)})"
        )
        return sql + _SKIP_KNOWN_REFS if skip_known_refs else sql


# ("WHERE true" ends the SELECT: without it SQLite would read ON as the start of a join.)
_SKIP_KNOWN_REFS = (
    " WHERE true ON CONFLICT (account_id, dialect, client_ref) WHERE client_ref IS NOT NULL"
    " DO NOTHING"
)


def _row_to_account(r: Sequence[Any], senders: list[str]) -> Account:
    return Account(
        id=r[0],
        name=r[1],
        balance=r[2],
        price=r[3],
        currency=r[4],
        tps=r[5],
        timezone=r[6],
        active=bool(r[7]),
        ip_allowlist=_json_decode(r[8]),
        callback_urls=_json_decode(r[9]),
        settings=_json_decode(r[10]),
        created_at=r[11],
        senders=senders,
    )


def _path_of(url: str) -> str:
    if url.startswith("sqlite:///"):
        return url[len("sqlite:///") :]
    if url.startswith("sqlite://"):
        return url[len("sqlite://") :]
    return url


class SQLiteStore(Store):
    exclusive_dispatch = True

    def __init__(self, url: str, *, synchronous: str = "FULL", flush_on_loop: bool = True) -> None:
        self.path = _path_of(url)
        self._engine_lock: int | None = None
        self.synchronous = synchronous
        self.flush_on_loop = flush_on_loop  # see _sqlite_writer: False where a core is spare
        self._reader: sqlite3.Connection | None = None
        self._writer: Writer | None = None
        self._recent = RecentMessages()

    # Lifecycle -----------------------------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30)
        conn.execute("PRAGMA journal_mode=WAL")
        # FULL is kept by fsyncing the WAL ourselves after each group (see _sqlite_writer).
        mode = "NORMAL" if self.synchronous.upper() == "FULL" else self.synchronous
        conn.execute(f"PRAGMA synchronous={mode}")
        conn.execute("PRAGMA busy_timeout=30000")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA secure_delete=FAST")  # overwritten text does not linger in pages
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

    async def _write(self, fn: Any, weight: int = 1) -> Any:
        """Run `fn(conn)` in the next group commit; `weight` (about: rows) picks the thread."""
        if self._writer is None:
            raise StoreUnavailable("store is closed")
        return await self._writer.run(fn, weight)

    def _read(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        if self._reader is None:
            raise StoreUnavailable("store is closed")
        try:
            return self._reader.execute(sql, params).fetchall()
        except sqlite3.OperationalError as exc:
            raise StoreUnavailable(str(exc)) from exc

    async def migrate(self) -> int:
        def op(conn: sqlite3.Connection) -> int:
            conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            row = conn.execute("SELECT max(version) FROM schema_version").fetchone()
            current = row[0] or 0
            for version, sql in migrations("sqlite"):
                if version > current:
                    for statement in statements(sql):
                        conn.execute(statement)
                    conn.execute("INSERT INTO schema_version VALUES (?)", (version,))
                    current = version
            return int(current)

        return int(await self._write(op))

    # Accounts -------------------------------------------------------------------------------
    async def create_account(self, account: Account) -> Account:
        def op(conn: sqlite3.Connection) -> int:
            cur = conn.execute(
                "INSERT INTO accounts (name, balance, price, currency, tps, timezone, active,"
                " ip_allowlist, callback_urls, settings, created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (
                    account.name,
                    account.balance,
                    account.price,
                    account.currency,
                    account.tps,
                    account.timezone,
                    int(account.active),
                    _json_encode(account.ip_allowlist).decode(),
                    _json_encode(account.callback_urls).decode(),
                    _json_encode(account.settings).decode(),
                    account.created_at or time.time(),
                ),
            )
            for sender in account.senders:
                conn.execute("INSERT OR IGNORE INTO senders VALUES (?, ?)", (cur.lastrowid, sender))
            return int(cur.lastrowid or 0)

        try:
            account_id = await self._write(op)
        except sqlite3.IntegrityError as exc:
            raise GatewayError(ErrorCode.DUPLICATE, f"account {account.name!r} exists") from exc
        found = await self.get_account(account_id)
        assert found is not None
        return found

    async def update_account(self, account_id: int, **fields: Any) -> Account:
        unknown = set(fields) - _ACCOUNT_FIELDS
        if unknown:
            raise ValueError(f"unknown account fields: {sorted(unknown)}")
        if fields:
            names = sorted(fields)
            values = [
                _json_encode(fields[n]).decode() if n in _ACCOUNT_JSON else fields[n] for n in names
            ]
            sql = f"UPDATE accounts SET {', '.join(n + ' = ?' for n in names)} WHERE id = ?"
            await self._write(lambda conn: conn.execute(sql, (*values, account_id)))
        found = await self.get_account(account_id)
        if found is None:
            raise GatewayError(ErrorCode.NOT_FOUND, f"no account {account_id}")
        return found

    def _account_where(self, where: str, params: Sequence[Any]) -> list[Account]:
        rows = self._read(f"SELECT {ACCOUNT_COLS} FROM accounts WHERE {where} ORDER BY id", params)
        out = []
        for r in rows:
            senders = [
                s[0]
                for s in self._read(
                    "SELECT name FROM senders WHERE account_id = ? ORDER BY name", (r[0],)
                )
            ]
            out.append(_row_to_account(r, senders))
        return out

    async def get_account(self, account_id: int) -> Account | None:
        found = self._account_where("id = ?", (account_id,))
        return found[0] if found else None

    async def account_by_name(self, name: str) -> Account | None:
        found = self._account_where("name = ?", (name,))
        return found[0] if found else None

    async def list_accounts(self) -> list[Account]:
        return self._account_where("1 = 1", ())

    async def adjust_balance(self, account_id: int, delta: int) -> int:
        def op(conn: sqlite3.Connection) -> int:
            cur = conn.execute(
                "UPDATE accounts SET balance = balance + ? WHERE id = ? AND balance + ? >= 0",
                (delta, account_id, delta),
            )
            if cur.rowcount == 0:
                exists = conn.execute(
                    "SELECT 1 FROM accounts WHERE id = ?", (account_id,)
                ).fetchone()
                if not exists:
                    raise GatewayError(ErrorCode.NOT_FOUND, f"no account {account_id}")
                raise GatewayError(ErrorCode.INSUFFICIENT_BALANCE, "balance would go below zero")
            row = conn.execute(
                "SELECT balance FROM accounts WHERE id = ?", (account_id,)
            ).fetchone()
            return int(row[0])

        return int(await self._write(op))

    async def put_credential(self, credential: Credential) -> None:
        c = credential
        await self._write(
            lambda conn: conn.execute(
                "INSERT INTO credentials VALUES (?,?,?,?,?) ON CONFLICT (dialect, kind, identifier)"
                " DO UPDATE SET account_id = excluded.account_id, secret = excluded.secret",
                (c.account_id, c.dialect, c.kind, c.identifier, c.secret),
            )
        )

    async def find_credential(self, dialect: str, kind: str, identifier: str) -> Credential | None:
        rows = self._read(
            "SELECT account_id, dialect, kind, identifier, secret FROM credentials"
            " WHERE dialect = ? AND kind = ? AND identifier = ?",
            (dialect, kind, identifier),
        )
        if not rows:
            return None
        r = rows[0]
        return Credential(account_id=r[0], dialect=r[1], kind=r[2], identifier=r[3], secret=r[4])

    async def credentials_of(self, account_id: int) -> list[Credential]:
        rows = self._read(
            "SELECT account_id, dialect, kind, identifier, secret FROM credentials"
            " WHERE account_id = ? ORDER BY dialect, kind, identifier",
            (account_id,),
        )
        return [
            Credential(account_id=r[0], dialect=r[1], kind=r[2], identifier=r[3], secret=r[4])
            for r in rows
        ]

    async def delete_credential(self, dialect: str, kind: str, identifier: str) -> bool:
        def op(conn: sqlite3.Connection) -> bool:
            cur = conn.execute(
                "DELETE FROM credentials WHERE dialect = ? AND kind = ? AND identifier = ?",
                (dialect, kind, identifier),
            )
            return cur.rowcount > 0

        return bool(await self._write(op))

    async def add_sender(self, account_id: int, name: str) -> None:
        await self._write(
            lambda conn: conn.execute(
                "INSERT OR IGNORE INTO senders VALUES (?, ?)", (account_id, name)
            )
        )

    async def remove_sender(self, account_id: int, name: str) -> bool:
        def op(conn: sqlite3.Connection) -> bool:
            cur = conn.execute(
                "DELETE FROM senders WHERE account_id = ? AND name = ?", (account_id, name)
            )
            return cur.rowcount > 0

        return bool(await self._write(op))

    async def stoplist_add(self, account_id: int, phones: Sequence[str]) -> int:
        def op(conn: sqlite3.Connection) -> int:
            before = conn.total_changes
            conn.executemany(
                "INSERT OR IGNORE INTO stoplist VALUES (?, ?)", [(account_id, p) for p in phones]
            )
            return conn.total_changes - before

        return int(await self._write(op))

    async def stoplist_remove(self, account_id: int, phones: Sequence[str]) -> int:
        def op(conn: sqlite3.Connection) -> int:
            before = conn.total_changes
            conn.executemany(
                "DELETE FROM stoplist WHERE account_id = ? AND phone = ?",
                [(account_id, p) for p in phones],
            )
            return conn.total_changes - before

        return int(await self._write(op))

    async def stoplist(self, account_id: int) -> list[str]:
        rows = self._read(
            "SELECT phone FROM stoplist WHERE account_id = ? ORDER BY phone", (account_id,)
        )
        return [r[0] for r in rows]

    # Accept ---------------------------------------------------------------------------------
    async def accept(
        self,
        account_id: int,
        messages: Sequence[Message],
        *,
        job: Job | None = None,
        atomic: bool = False,
    ) -> list[Outcome]:
        result: list[Outcome] = await self._write(
            AcceptOp(account_id, messages, job, atomic), len(messages)
        )
        return result

    # Reads ------------------------------------------------------------------------------------
    def _messages(self, where: str, params: Sequence[Any], tail: str = "") -> list[Message]:
        rows = self._read(f"SELECT {MSG_COLS} FROM messages WHERE {where} {tail}", params)
        return [row_to_message(r) for r in rows]

    async def get_message(self, account_id: int, message_id: str) -> Message | None:
        found = self._messages("id = ? AND account_id = ?", (message_id, account_id))
        return found[0] if found else None

    async def get_messages(self, account_id: int, message_ids: Sequence[str]) -> list[Message]:
        out: list[Message] = []
        for chunk in _chunks(list(message_ids)):
            out += self._messages(
                f"account_id = ? AND id IN ({_marks(len(chunk))})", (account_id, *chunk)
            )
        order = {mid: i for i, mid in enumerate(message_ids)}
        return sorted(out, key=lambda m: order[m.id])

    async def message_by_ref(
        self, account_id: int, dialect: str, client_ref: str
    ) -> Message | None:
        found = self._messages(
            "account_id = ? AND dialect = ? AND client_ref = ?", (account_id, dialect, client_ref)
        )
        return found[0] if found else None

    async def message_by_seq(self, account_id: int, seq: int) -> Message | None:
        found = self._messages("seq = ? AND account_id = ?", (seq, account_id))
        return found[0] if found else None

    async def owner_by_seq(self, seq: int) -> int | None:
        rows = self._read("SELECT account_id FROM messages WHERE seq = ?", (seq,))
        return int(rows[0][0]) if rows else None

    async def list_messages(
        self, account_id: int, flt: MessageFilter, *, after_seq: int = 0, limit: int = 100
    ) -> list[Message]:
        where = ["account_id = ?", "seq > ?"]
        params: list[Any] = [account_id, after_seq]
        for column, value in (
            ("status", flt.status),
            ("phone", flt.phone),
            ("job_id", flt.job_id),
            ("dialect", flt.dialect),
        ):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        if flt.job_id is not None:
            where.append(_IN_JOB_RANGE)
            params += [flt.job_id, flt.job_id]
        if flt.since is not None:
            where.append("created_at >= ?")
            params.append(flt.since)
        if flt.until is not None:
            where.append("created_at < ?")
            params.append(flt.until)
        return self._messages(" AND ".join(where), params, f"ORDER BY seq LIMIT {int(limit)}")

    async def get_job(self, account_id: int, job_id: str) -> JobCounts | None:
        rows = self._read(
            "SELECT id, account_id, dialect, client_ref, total, created_at, meta FROM jobs"
            " WHERE id = ? AND account_id = ?",
            (job_id, account_id),
        )
        if not rows:
            return None
        r = rows[0]
        job = Job(
            id=r[0],
            account_id=r[1],
            dialect=r[2],
            client_ref=r[3],
            total=r[4],
            created_at=r[5],
            meta=_json_decode(r[6]) if r[6] else None,
        )
        counts = self._read(
            "SELECT status, count(*) FROM messages"
            f" WHERE job_id = ? AND account_id = ? AND {_IN_JOB_RANGE} GROUP BY status",
            (job_id, account_id, job_id, job_id),
        )
        return JobCounts(job=job, by_status={s: n for s, n in counts})

    async def job_messages(
        self, account_id: int, job_id: str, *, after_seq: int = 0, limit: int = 1000
    ) -> list[Message]:
        return self._messages(
            f"job_id = ? AND account_id = ? AND seq > ? AND {_IN_JOB_RANGE}",
            (job_id, account_id, after_seq, job_id, job_id),
            f"ORDER BY seq LIMIT {int(limit)}",
        )

    async def events_of(self, account_id: int, message_id: str) -> list[StatusEvent]:
        rows = self._read(
            "SELECT seq, message_id, account_id, status, error_code, carrier_error, at FROM events"
            " WHERE message_id = ? AND account_id = ? ORDER BY seq",
            (message_id, account_id),
        )
        return [event_from_row(r) for r in rows]

    async def events_after(self, after_seq: int, limit: int = 500) -> list[StatusEvent]:
        rows = self._read(
            "SELECT seq, message_id, account_id, status, error_code, carrier_error, at FROM events"
            " WHERE seq > ? ORDER BY seq LIMIT ?",
            (after_seq, limit),
        )
        return [event_from_row(r) for r in rows]

    async def list_mo(
        self, account_id: int, *, after_seq: int = 0, limit: int = 100
    ) -> list[MoMessage]:
        rows = self._read(
            "SELECT seq, id, account_id, phone, to_number, text, received_at, reply_to, meta"
            " FROM mo_messages WHERE account_id = ? AND seq > ? ORDER BY seq LIMIT ?",
            (account_id, after_seq, limit),
        )
        return [mo_from_row(r) for r in rows]

    async def cancel(self, account_id: int, message_id: str, route: CallbackRoute) -> Message:
        def op(conn: sqlite3.Connection) -> Message:
            rows = conn.execute(
                f"SELECT {MSG_COLS}, dispatch_token FROM messages WHERE id = ? AND account_id = ?",
                (message_id, account_id),
            ).fetchall()
            if not rows:
                raise GatewayError(ErrorCode.NOT_FOUND, "message not found")
            message = row_to_message(rows[0])
            if message.status not in CANCELLABLE or rows[0][-1] is not None:
                raise GatewayError(
                    ErrorCode.NOT_CANCELLABLE, f"message is {message.status.value}, not cancellable"
                )
            report = Report(message_id=message_id, status=Status.CANCELLED, at=time.time())
            _apply_reports(conn, [report], route)
            return row_to_message(
                conn.execute(
                    f"SELECT {MSG_COLS} FROM messages WHERE id = ?", (message_id,)
                ).fetchone()
            )

        result: Message = await self._write(op)
        return result

    # Dispatcher -------------------------------------------------------------------------------
    async def claim_due(
        self, now: float, limit: int, token: str, lease: float, skip_accounts: Collection[int] = ()
    ) -> list[Message]:
        if not self._read(_ANY_DUE, (now,)):
            # Nothing to claim (the committed state says so): no write. An idle dispatcher polls
            # every 20 ms, and each claim was a write group on the writer thread that the
            # requests' groups queued behind.
            return []

        def op(conn: sqlite3.Connection) -> list[Message]:
            conn.execute(
                "UPDATE messages SET status = 'queued', updated_at = ?"
                " WHERE status = 'scheduled' AND not_before <= ?",
                (now, now),
            )
            skip = f"AND account_id NOT IN ({_marks(len(skip_accounts))})" if skip_accounts else ""
            rows = conn.execute(
                f"SELECT {MSG_COLS} FROM messages WHERE status IN ('accepted', 'queued')"
                f" AND dispatch_token IS NULL {skip} ORDER BY priority DESC, seq LIMIT ?",
                (*skip_accounts, limit),
            ).fetchall()
            if rows:
                conn.executemany(
                    "UPDATE messages SET dispatch_token = ?, lease_until = ?, status = 'queued'"
                    " WHERE seq = ?",
                    [(token, now + lease, r[0]) for r in rows],
                )
            return [row_to_message(r) for r in rows]

        result: list[Message] = await self._write(op, limit)
        self._recent.remember(msgspec.structs.replace(m, status=Status.QUEUED) for m in result)
        return result

    async def release(self, message_ids: Sequence[str], not_before: float | None) -> None:
        status = "scheduled" if not_before else "queued"

        def op(conn: sqlite3.Connection) -> None:
            conn.executemany(
                "UPDATE messages SET dispatch_token = NULL, lease_until = NULL, not_before = ?,"
                " status = ? WHERE id = ? AND status IN ('accepted', 'queued', 'scheduled')",
                [(not_before, status, mid) for mid in message_ids],
            )

        await self._write(op, len(message_ids))

    async def claimed_by_others(self, now: float, token: str, lease: float = 60.0) -> list[Message]:
        # Exclusive: only called by the one engine as it starts, so nothing to take over.
        return self._messages(
            "status = 'queued' AND dispatch_token IS NOT NULL AND dispatch_token != ?"
            " AND lease_until < ?",
            (token, now),
        )

    async def record_reports(
        self, reports: Sequence[Report], route: CallbackRoute
    ) -> list[StatusEvent]:
        scrubbed: list[bool] = []
        changed: dict[str, Message] = {}

        def op(conn: sqlite3.Connection) -> list[StatusEvent]:
            # Looked up as the operation runs, not when it was asked for: the reports written
            # just before (in this group too) are known, so these need not read their rows.
            events = self._apply_known(conn, reports, route, scrubbed, changed)
            self._recent.remember(changed.values())  # what the next operation starts from
            return events

        try:
            result: list[StatusEvent] = await self._write(op, 3 * len(reports))
        except BaseException:
            self._recent.clear()  # the group did not commit: what its operations wrote is not so
            raise
        if scrubbed:
            await self._forget_old_pages()
        return result

    def _apply_known(
        self,
        conn: sqlite3.Connection,
        reports: Sequence[Report],
        route: CallbackRoute,
        scrubbed: list[bool],
        changed: dict[str, Message],
    ) -> list[StatusEvent]:
        known = self._recent.of(r.message_id for r in reports)
        if known:
            conn.execute("SAVEPOINT known")
            try:
                return _apply_reports(conn, reports, route, scrubbed, known, changed)
            except _Stale:  # a row moved since we last saw it: read them all afresh
                conn.execute("ROLLBACK TO known")
                scrubbed.clear()
                changed.clear()
            finally:
                conn.execute("RELEASE known")
        return _apply_reports(conn, reports, route, scrubbed, None, changed)

    async def _forget_old_pages(self) -> None:
        """A confidential text was blanked: push the WAL into the database and truncate it, so
        that no earlier page image holding the text stays on disk (secure_delete zeroes the
        freed bytes in the database pages themselves)."""

        def checkpoint() -> None:
            conn = sqlite3.connect(self.path, timeout=30)
            try:
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            finally:
                conn.close()

        try:
            await asyncio.to_thread(checkpoint)
        except sqlite3.Error as exc:  # best effort: the next checkpoint will do it
            log.warning("checkpoint after blanking a confidential text failed: %s", exc)

    async def message_by_carrier_id(self, carrier_id: str) -> Message | None:
        found = self._messages("carrier_id = ?", (carrier_id,), "ORDER BY seq DESC LIMIT 1")
        return found[0] if found else None

    async def ping(self) -> None:
        self._read("SELECT 1")

    async def counts(self) -> dict[str, int]:
        # Each count is answered by a partial index (messages_scheduled, messages_due, outbox_due).
        def one(sql: str) -> int:
            return int(self._read(sql)[0][0])

        return {
            "scheduled": one("SELECT count(*) FROM messages WHERE status = 'scheduled'"),
            "queued": one("SELECT count(*) FROM messages WHERE status IN ('accepted', 'queued')"),
            "outbox": one("SELECT count(*) FROM outbox WHERE state = 'pending'"),
        }

    # MO ---------------------------------------------------------------------------------------
    async def store_mo(self, mos: Sequence[MoMessage], route: CallbackRoute) -> None:
        def op(conn: sqlite3.Connection) -> None:
            cache: dict[int, dict[str, str]] = {}
            for mo in mos:
                cur = conn.execute(
                    "INSERT INTO mo_messages (id, account_id, phone, to_number, text, received_at,"
                    " reply_to, meta) VALUES (?,?,?,?,?,?,?,?)",
                    (
                        mo.id,
                        mo.account_id,
                        mo.phone,
                        mo.to,
                        mo.text,
                        mo.received_at,
                        mo.reply_to,
                        _json_encode(mo.meta).decode() if mo.meta else None,
                    ),
                )
                stored = msgspec.structs.replace(mo, seq=int(cur.lastrowid or 0))
                for target in route(None, stored, _callback_urls(conn, mo.account_id, cache)):
                    notice = Notice(kind="mo", event_id=f"mo-{stored.id}", mo=stored)
                    _queue_callback(conn, notice, stored.account_id, target, stored.received_at)

        await self._write(op)

    # Outbox -----------------------------------------------------------------------------------
    async def outbox_claim(
        self, now: float, limit: int, lease: float, scope: OutboxScope = EVERY_DIALECT
    ) -> list[OutboxItem]:
        where, params = _scope_sql(scope)
        claimable = (
            "FROM outbox WHERE state = 'pending' AND next_at <= ?"
            f" AND (lease_until IS NULL OR lease_until < ?){where}"
        )
        if not self._read(f"SELECT 1 {claimable} LIMIT 1", (now, now, *params)):
            return []  # nothing due (committed state): an idle notifier does not write

        def op(conn: sqlite3.Connection) -> list[OutboxItem]:
            rows = conn.execute(
                "SELECT id, event_id, account_id, dialect, kind, url, payload, attempts, created_at"
                f" {claimable} ORDER BY next_at, id LIMIT ?",
                (now, now, *params, limit),
            ).fetchall()
            conn.executemany(
                "UPDATE outbox SET lease_until = ? WHERE id = ?",
                [(now + lease, r[0]) for r in rows],
            )
            return [outbox_from_row(r) for r in rows]

        result: list[OutboxItem] = await self._write(op)
        return result

    async def outbox_unlease(self, scope: OutboxScope = EVERY_DIALECT) -> int:
        where, params = _scope_sql(scope)

        def op(conn: sqlite3.Connection) -> int:
            cur = conn.execute(
                "UPDATE outbox SET lease_until = NULL WHERE state = 'pending'"
                f" AND lease_until IS NOT NULL{where}",
                params,
            )
            return cur.rowcount

        return int(await self._write(op))

    async def outbox_done(self, ids: Sequence[int], now: float) -> None:
        await self._write(
            lambda conn: conn.executemany(
                "UPDATE outbox SET state = 'done', done_at = ?, attempts = attempts + 1,"
                " lease_until = NULL WHERE id = ?",
                [(now, i) for i in ids],
            )
        )

    async def outbox_retry(self, ids: Sequence[int], next_at: float, error: str) -> None:
        await self._write(
            lambda conn: conn.executemany(
                "UPDATE outbox SET attempts = attempts + 1, next_at = ?, last_error = ?,"
                " lease_until = NULL WHERE id = ?",
                [(next_at, error[:500], i) for i in ids],
            )
        )

    async def outbox_defer(self, ids: Sequence[int], next_at: float) -> None:
        await self._write(
            lambda conn: conn.executemany(
                "UPDATE outbox SET next_at = ?, lease_until = NULL WHERE id = ?",
                [(next_at, i) for i in ids],
            )
        )

    async def outbox_dead(self, ids: Sequence[int], error: str) -> None:
        await self._write(
            lambda conn: conn.executemany(
                "UPDATE outbox SET state = 'dead', attempts = attempts + 1, last_error = ?,"
                " lease_until = NULL WHERE id = ?",
                [(error[:500], i) for i in ids],
            )
        )

    async def outbox_items(
        self, account_id: int | None = None, state: str | None = None
    ) -> list[OutboxItem]:
        where: list[str] = ["1 = 1"]
        params: list[Any] = []
        if account_id is not None:
            where.append("account_id = ?")
            params.append(account_id)
        if state is not None:
            where.append("state = ?")
            params.append(state)
        rows = self._read(
            "SELECT id, event_id, account_id, dialect, kind, url, payload, attempts, created_at"
            f" FROM outbox WHERE {' AND '.join(where)} ORDER BY id",
            params,
        )
        return [outbox_from_row(r) for r in rows]

    async def purge(self, before: float) -> int:
        def op(conn: sqlite3.Connection) -> int:
            gone = conn.execute(
                "DELETE FROM outbox WHERE state IN ('done', 'dead') AND coalesce(done_at, next_at) < ?",
                (before,),
            ).rowcount
            gone += conn.execute(
                "DELETE FROM connector_log WHERE reported = 1 AND submitted_at < ?", (before,)
            ).rowcount
            return int(gone)

        return int(await self._write(op, 1000))

    # Connector log ----------------------------------------------------------------------------
    async def connector_log_add(self, connector: str, entries: Sequence[ConnectorEntry]) -> None:
        await self._write(
            lambda conn: conn.executemany(
                "INSERT INTO connector_log (connector, message_id, carrier_id, submitted_at,"
                " outcome, report_due) VALUES (?,?,?,?,?,?)",
                [
                    (connector, e.message_id, e.carrier_id, e.submitted_at, e.outcome, e.report_due)
                    for e in entries
                ],
            ),
            len(entries),
        )

    def _log_rows(self, where: str, params: Sequence[Any]) -> list[ConnectorEntry]:
        rows = self._read(
            "SELECT message_id, carrier_id, submitted_at, outcome, report_due FROM connector_log"
            f" WHERE {where}",
            params,
        )
        return [
            ConnectorEntry(
                message_id=r[0], carrier_id=r[1], submitted_at=r[2], outcome=r[3], report_due=r[4]
            )
            for r in rows
        ]

    async def connector_log_find(
        self, connector: str, message_ids: Sequence[str]
    ) -> list[ConnectorEntry]:
        out: list[ConnectorEntry] = []
        for chunk in _chunks(list(message_ids)):
            out += self._log_rows(
                f"connector = ? AND message_id IN ({_marks(len(chunk))}) ORDER BY seq",
                (connector, *chunk),
            )
        return out

    async def connector_log_pending(
        self, connector: str, limit: int = 10000
    ) -> list[ConnectorEntry]:
        return self._log_rows(
            "connector = ? AND reported = 0 ORDER BY report_due LIMIT ?", (connector, limit)
        )

    async def connector_log_reported(self, connector: str, message_ids: Sequence[str]) -> None:
        await self._write(
            lambda conn: conn.executemany(
                "UPDATE connector_log SET reported = 1 WHERE connector = ? AND message_id = ?",
                [(connector, m) for m in message_ids],
            ),
            len(message_ids),
        )


# Write operations, run inside the writer's transaction ----------------------------------------


class AcceptOp:
    """One accept request, as the writer runs it: alone, or merged with the others of its group.

    Merged, a group of concurrent requests costs one query per kind (duplicates, stop list,
    balances, next seq) and one INSERT for all their messages, not one of each per request.
    """

    mergeable = True

    def __init__(
        self, account_id: int, messages: Sequence[Message], job: Job | None, atomic: bool
    ) -> None:
        self.account_id = account_id
        self.messages = messages
        self.job = job
        self.atomic = atomic

    def __call__(self, conn: sqlite3.Connection) -> list[Outcome]:
        return accept_many(conn, [self])[0]


_dialect_of = attrgetter("dialect")
_client_ref_of = attrgetter("client_ref")


def _existing_refs(
    conn: sqlite3.Connection, ops: Sequence[AcceptOp]
) -> dict[tuple[int, str, str], Message]:
    wanted: dict[tuple[int, str], set[str | None]] = {}
    for op in ops:
        dialects = set(map(_dialect_of, op.messages))
        if len(dialects) == 1:  # the usual request: its references gathered at C speed
            refs = wanted.setdefault((op.account_id, dialects.pop()), set())
            refs.update(map(_client_ref_of, op.messages))
            continue
        for m in op.messages:
            wanted.setdefault((op.account_id, m.dialect), set()).add(m.client_ref)
    existing: dict[tuple[int, str, str], Message] = {}
    for (account_id, dialect), refs in wanted.items():
        refs.discard(None)
        for chunk in _chunks(list(refs)):  # (SQLite sorts an IN list itself)
            rows = conn.execute(
                f"SELECT {MSG_COLS} FROM messages WHERE account_id = ? AND dialect = ?"
                f" AND client_ref IN ({_marks(len(chunk))})",
                (account_id, dialect, *chunk),
            ).fetchall()
            for r in rows:
                found = row_to_message(r)
                existing[(account_id, dialect, found.client_ref or "")] = found
    return existing


def _has_stoplist(conn: sqlite3.Connection, account_ids: Sequence[int]) -> bool:
    """Whether the accounts, or the global list (account 0), have any stop-listed phone."""
    accounts = sorted({*account_ids, 0})
    return bool(
        conn.execute(
            f"SELECT 1 FROM stoplist WHERE account_id IN ({_marks(len(accounts))}) LIMIT 1",
            accounts,
        ).fetchone()
    )


def _stopped(conn: sqlite3.Connection, ops: Sequence[AcceptOp]) -> set[tuple[int, str]]:
    """(account_id, phone) pairs refused by the account's or the global (account 0) stop list."""
    accounts = sorted({op.account_id for op in ops} | {0})
    stopped: set[tuple[int, str]] = set()
    if not _has_stoplist(conn, accounts):
        return stopped  # the usual case: no list to look 50,000 phones up in
    phones = sorted({m.phone for op in ops for m in op.messages})
    for chunk in _chunks(phones):
        rows = conn.execute(
            f"SELECT account_id, phone FROM stoplist WHERE account_id IN ({_marks(len(accounts))})"
            f" AND phone IN ({_marks(len(chunk))})",
            (*accounts, *chunk),
        ).fetchall()
        stopped.update((a, p) for a, p in rows)
    return stopped


# What claim_due would find, asked of the committed state before taking the write lock: a due
# schedule (the messages_scheduled index), or a message not yet claimed (messages_due).
_ANY_DUE = (
    "SELECT 1 WHERE EXISTS (SELECT 1 FROM messages WHERE status = 'scheduled' AND not_before <= ?)"
    " OR EXISTS (SELECT 1 FROM messages WHERE status IN ('accepted', 'queued')"
    " AND dispatch_token IS NULL)"
)

_Key = tuple[int, str, str]  # account, dialect, client_ref
_Repeat = tuple[list[Outcome | None], int, _Key]  # an op's outcomes, position, key


def _sort_out(
    op: AcceptOp,
    outcomes: list[Outcome | None],
    existing: dict[_Key, Message],
    stopped: set[tuple[int, str]],
    last: bool,
) -> tuple[list[Message], list[int], dict[_Key, Message], list[_Repeat]]:
    """An op's messages to store (and their positions), its keys, and repeats of them.

    Duplicates of stored keys and stop-listed phones get their outcome here. The keys are for
    the ops after this one in the group (the last one's are not needed when all are fresh).
    """
    account_id = op.account_id
    if _all_fresh(op, existing, stopped):  # the usual bulk, without a loop in Python
        if last:
            return list(op.messages), list(range(len(op.messages))), {}, []
        tentative = {
            (account_id, m.dialect, m.client_ref): m
            for m in op.messages
            if m.client_ref is not None
        }  # fmt: skip
        return list(op.messages), list(range(len(op.messages))), tentative, []
    mine: list[Message] = []
    positions: list[int] = []
    tentative = {}
    repeats: list[_Repeat] = []
    for i, m in enumerate(op.messages):
        ref = m.client_ref
        if ref is not None:
            key = (account_id, m.dialect, ref)
            if key in existing:
                outcomes[i] = Outcome("duplicate", message=existing[key])
                continue
            if key in tentative:  # a repeat inside the same request
                repeats.append((outcomes, i, key))
                continue
            tentative[key] = m
        if stopped and ((account_id, m.phone) in stopped or (0, m.phone) in stopped):
            outcomes[i] = Outcome(
                "error",
                error=GatewayError(ErrorCode.STOP_LISTED, f"{m.phone} is on the stop list"),
            )
            if ref is not None:
                del tentative[(account_id, m.dialect, ref)]
            continue
        mine.append(m)
        positions.append(i)
    return mine, positions, tentative, repeats


def _all_fresh(op: AcceptOp, existing: dict[_Key, Message], stopped: set[tuple[int, str]]) -> bool:
    """No stop list, one dialect, and client references neither stored nor repeated."""
    if stopped:
        return False
    if len(op.messages) == 1:  # a single send, the commonest op, without the sets below
        only = op.messages[0]
        ref = only.client_ref
        return ref is None or not existing or (op.account_id, only.dialect, ref) not in existing
    dialects = set(map(_dialect_of, op.messages))
    if len(dialects) != 1:
        return False
    refs = list(map(_client_ref_of, op.messages))
    given = len(refs) - refs.count(None)
    unique = set(refs)
    unique.discard(None)
    if len(unique) != given:
        return False
    dialect = dialects.pop()
    return not existing or not any((op.account_id, dialect, r) in existing for r in unique)


def accept_many(conn: sqlite3.Connection, ops: Sequence[AcceptOp]) -> list[list[Outcome]]:
    if len(ops) == 1 and len(ops[0].messages) >= INSERT_FIRST_FROM:
        inserted = _accept_fresh(conn, ops[0])
        if inserted is not None:
            return [inserted]
    # Parallel lists rather than a tuple per message: in a 50,000-recipient request every
    # tracked object made is more work for the cyclic GC.
    existing = _existing_refs(conn, ops)
    stopped = _stopped(conn, ops)
    accounts = sorted({op.account_id for op in ops})
    balances = dict(
        conn.execute(
            f"SELECT id, balance FROM accounts WHERE id IN ({_marks(len(accounts))})", accounts
        ).fetchall()
    )
    spent: dict[int, int] = {}
    results: list[list[Outcome | None]] = []
    fresh: list[Message] = []
    fresh_at: list[tuple[list[Outcome | None], list[int]]] = []  # each op's outcomes, positions
    # Repeats of a key first seen in this group: resolved to its stored message at the end.
    repeats: list[_Repeat] = []
    jobs: list[tuple[Job, tuple[Message, Message]]] = []
    for op in ops:
        outcomes: list[Outcome | None] = [None] * len(op.messages)
        results.append(outcomes)
        account_id = op.account_id
        mine, positions, tentative, my_repeats = _sort_out(
            op, outcomes, existing, stopped, op is ops[-1]
        )
        if op.atomic and any(o is not None and o.kind == "error" for o in outcomes):
            for i in range(len(outcomes)):
                outcomes[i] = outcomes[i] or Outcome(
                    "error", error=GatewayError(ErrorCode.BAD_REQUEST, "batch refused")
                )
            continue
        cost = sum(m.price for m in mine)
        balance = balances.get(account_id, 0) - spent.get(account_id, 0)
        if cost and cost > balance:
            error = GatewayError(ErrorCode.INSUFFICIENT_BALANCE, "insufficient balance")
            for i in positions:
                outcomes[i] = Outcome("error", error=error)
            for _o, i, _key in my_repeats:  # repeats of what was just refused share its fate
                outcomes[i] = Outcome("error", error=error)
            continue
        spent[account_id] = spent.get(account_id, 0) + cost
        existing.update(tentative)
        repeats += my_repeats
        fresh += mine
        fresh_at.append((outcomes, positions))
        if op.job is not None and mine:
            jobs.append((op.job, (mine[0], mine[-1])))  # numbered in a row: its seq range
    for account_id, amount in spent.items():
        if amount:
            conn.execute(
                "UPDATE accounts SET balance = balance - ? WHERE id = ?", (amount, account_id)
            )
    _insert_messages(conn, fresh)
    for job, (first, last) in jobs:
        _insert_job(conn, job, first.seq, last.seq)
    stored = iter(fresh)
    for outcomes, positions in fresh_at:
        for i in positions:
            outcomes[i] = Outcome("new", message=next(stored))
    for outcomes, i, key in repeats:
        outcomes[i] = Outcome("duplicate", message=existing[key])
    return [[o for o in outcomes if o is not None] for outcomes in results]


def _insert_messages(
    conn: sqlite3.Connection, messages: Sequence[Message], skip_known_refs: bool = False
) -> int:
    """Number `messages` (their seq is set in place) and insert them, many rows a statement.

    Returns how many rows went in: all of them, but with `skip_known_refs`, where the rows
    whose client reference is stored already are left out.
    """
    if not messages:
        return 0
    next_seq = int(conn.execute("SELECT coalesce(max(seq), 0) FROM messages").fetchone()[0]) + 1
    for offset, m in enumerate(messages):
        m.seq = next_seq + offset
    columns = MessageColumns(messages)
    shared = list(columns.shared.values())
    room = conn.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) - len(shared)
    size = max(1, min(_INSERT_ROWS, room // len(columns.varying)))
    full = columns.statement(size, skip_known_refs)
    inserted = 0
    try:
        for start in range(0, len(messages), size):
            chunk = messages[start : start + size]
            sql = full if len(chunk) == size else columns.statement(len(chunk), skip_known_refs)
            values = [*shared, *chain.from_iterable(map(columns.row, chunk))]
            inserted += conn.execute(sql, values).rowcount
    except BaseException:
        _unnumber(messages)
        raise
    return inserted


def _unnumber(messages: Sequence[Message]) -> None:
    for m in messages:  # not stored: not numbered
        m.seq = 0


INSERT_FIRST_FROM = 1000  # a request this large is inserted before its references are looked up


def _accept_fresh(conn: sqlite3.Connection, op: AcceptOp) -> list[Outcome] | None:
    """A large request whose client references are all new, stored without looking them up.

    The unique index checks each reference as its row goes in anyway: when every row went
    in, none was stored before, and looking 50,000 of them up first (~45 ms) was wasted.
    A stored reference undoes the insert; a stop list, a repeat inside the request or too
    little balance is not tried. Then None leaves the request to accept_many's general path,
    which says what became of each message.
    """
    account_id = op.account_id
    if not _all_fresh(op, {}, set()) or _has_stoplist(conn, [account_id]):
        return None  # repeats inside the request, several dialects, or phones to look up
    cost = sum(m.price for m in op.messages)
    row = conn.execute("SELECT balance FROM accounts WHERE id = ?", (account_id,)).fetchone()
    if cost and (row is None or cost > row[0]):
        return None
    conn.execute("SAVEPOINT fresh")
    inserted = -1
    try:
        inserted = _insert_messages(conn, op.messages, skip_known_refs=True)
    finally:
        if inserted != len(op.messages):  # it failed, or some reference was stored before
            conn.execute("ROLLBACK TO fresh")
        conn.execute("RELEASE fresh")
    if inserted != len(op.messages):
        _unnumber(op.messages)
        return None
    if cost:
        conn.execute("UPDATE accounts SET balance = balance - ? WHERE id = ?", (cost, account_id))
    if op.job is not None:
        _insert_job(conn, op.job, op.messages[0].seq, op.messages[-1].seq)
    return [Outcome("new", message=m) for m in op.messages]


def _insert_job(conn: sqlite3.Connection, job: Job, first_seq: int, last_seq: int) -> None:
    conn.execute(
        "INSERT INTO jobs (id, account_id, dialect, client_ref, total, created_at, meta,"
        " first_seq, last_seq) VALUES (?,?,?,?,?,?,?,?,?)",
        (
            job.id,
            job.account_id,
            job.dialect,
            job.client_ref,
            job.total,
            job.created_at,
            _json_encode(job.meta).decode() if job.meta else None,
            first_seq,
            last_seq,
        ),
    )


_UPDATE_STATUS = (
    "UPDATE messages SET status = ?, error_code = ?, updated_at = ?,"
    " carrier_id = coalesce(?, carrier_id), submitted_at = ?, done_at = ?,"
    " dispatch_token = CASE WHEN ? THEN NULL ELSE dispatch_token END,"
    " lease_until = CASE WHEN ? THEN NULL ELSE lease_until END,"
    " text = CASE WHEN confidential = 1 AND ? THEN '' ELSE text END"
    " WHERE seq = ? AND status = ?"  # the status the report moves it from
)


def _load_by_id(conn: sqlite3.Connection, ids: Sequence[str]) -> dict[str, Message]:
    found: dict[str, Message] = {}
    for chunk in _chunks(sorted(set(ids))):
        for r in conn.execute(
            f"SELECT {MSG_COLS} FROM messages WHERE id IN ({_marks(len(chunk))})", chunk
        ):
            found[r[1]] = row_to_message(r)
    return found


class RecentMessages:
    """States of messages this store claimed or reported on, so that their reports need not
    read the rows back: a report that moves one on is checked against the row's status when
    written; one that cannot apply to a settled message changes nothing. Reports remember what
    they wrote as their operation ends, so the next operation of the same group starts from it;
    a group that fails to commit forgets everything. Kept for final messages too (their late and
    repeated reports are common); emptied when it grows large."""

    LIMIT = 200_000

    def __init__(self) -> None:
        self._by_id: dict[str, Message] = {}

    def remember(self, messages: Iterable[Message]) -> None:
        by_id = self._by_id
        for m in messages:
            by_id[m.id] = m
        if len(by_id) > self.LIMIT:
            by_id.clear()

    def clear(self) -> None:
        self._by_id.clear()

    def of(self, ids: Iterable[str]) -> dict[str, Message]:
        by_id = self._by_id
        return {i: m for i in ids if (m := by_id.get(i)) is not None}


def _merged_update(earlier: tuple[Any, ...], later: tuple[Any, ...]) -> tuple[Any, ...]:
    """One _UPDATE_STATUS row for two successive moves: the later state, the earlier carrier id
    if the later has none, every flag either set, and the status the first moved it from."""
    return (
        *later[:3],
        later[3] or earlier[3],
        *later[4:6],
        earlier[6] or later[6],
        earlier[7] or later[7],
        earlier[8] or later[8],
        later[9],
        earlier[10],
    )


# From these a message only moves on (to UNKNOWN or a final status), so a remembered one decides
# a report that cannot apply to it: it cannot apply to any later state either.
_SETTLED = FINAL | {Status.SUBMITTED, Status.UNKNOWN}


def _decides(remembered: Message, report: Report) -> bool:
    """Whether the remembered state (committed, or written earlier in this transaction) is
    enough to apply `report` without reading the row: it moves the message on (the update then
    checks the row's status), or the message is settled and the report changes nothing (a
    repeat, or a late report of an earlier step)."""
    if remembered.status != report.status and can_transition(remembered.status, report.status):
        return True
    news = report.status == remembered.status and report.carrier_id and not remembered.carrier_id
    return remembered.status in _SETTLED and not news


class _Stale(Exception):
    """A message changed since the state the reports were applied to was remembered."""


def _apply_reports(
    conn: sqlite3.Connection,
    reports: Sequence[Report],
    route: CallbackRoute,
    scrubbed: list[bool] | None = None,
    known: Mapping[str, Message] | None = None,
    changed: dict[str, Message] | None = None,
) -> list[StatusEvent]:
    """Legal transitions only; a batch costs one read and one write per kind of statement.

    `known`: states remembered from earlier writes (committed, or earlier in this transaction:
    see RecentMessages), used instead of reading the rows where they decide the report (see
    _decides): a move on, whose update checks that the row's status is still the one
    remembered and raises _Stale (the caller rolls back) when any is not, or a no-op for a
    settled message. `changed` receives the resulting state of each
    message that moved.
    """
    current: dict[str, Message] = {}
    unknown = []
    for r in reports:
        hit = known.get(r.message_id) if known else None
        if hit is not None and _decides(hit, r):
            current.setdefault(r.message_id, hit)
        else:
            unknown.append(r.message_id)
    current.update(_load_by_id(conn, [i for i in unknown if i not in current]))
    next_event = int(conn.execute("SELECT coalesce(max(seq), 0) FROM events").fetchone()[0]) + 1
    cache: dict[int, dict[str, str]] = {}
    events: list[StatusEvent] = []
    updates: dict[int, tuple[Any, ...]] = {}
    carrier_ids: list[tuple[str, int]] = []
    refunds: dict[int, int] = {}
    callbacks: list[tuple[Any, ...]] = []
    for report in reports:
        message = current.get(report.message_id)
        if message is None:
            continue
        if report.status == message.status:
            if report.carrier_id and not message.carrier_id:
                carrier_ids.append((report.carrier_id, message.seq))
                current[message.id] = msgspec.structs.replace(message, carrier_id=report.carrier_id)
            continue
        if not can_transition(message.status, report.status):
            continue
        final = report.status.is_final
        submitted_at = report.at if report.status is Status.SUBMITTED else message.submitted_at
        blanks_text = final or report.status is Status.SUBMITTED
        if scrubbed is not None and message.confidential and message.text and blanks_text:
            scrubbed.append(True)
        update = (
            report.status.value,
            report.error_code,
            report.at,
            report.carrier_id,
            submitted_at,
            report.at if final else None,
            report.status is not Status.QUEUED,
            report.status is not Status.QUEUED,
            report.status is Status.SUBMITTED or final,
            message.seq,
            message.status.value,
        )
        earlier = updates.get(message.seq)
        # Two moves of one message in one batch (a receipt that came with its submit_sm_resp)
        # write the row once, in its last state; each still gets its event.
        updates[message.seq] = _merged_update(earlier, update) if earlier else update
        if refundable(report.status, message.submitted_at) and message.price:
            refunds[message.account_id] = refunds.get(message.account_id, 0) + message.price
        event = StatusEvent(
            seq=next_event,
            message_id=message.id,
            account_id=message.account_id,
            status=report.status,
            error_code=report.error_code,
            carrier_error=report.carrier_error,
            at=report.at,
        )
        next_event += 1
        events.append(event)
        updated = msgspec.structs.replace(
            message,
            status=report.status,
            error_code=report.error_code,
            updated_at=report.at,
            carrier_id=report.carrier_id or message.carrier_id,
            submitted_at=submitted_at,
            done_at=report.at if final else None,
        )
        current[message.id] = updated  # a later report in this batch starts from here
        if changed is not None:
            changed[message.id] = (
                msgspec.structs.replace(updated, text="")
                if message.confidential and blanks_text
                else updated
            )
        for dialect, url in route(updated, event, _callback_urls(conn, message.account_id, cache)):
            notice = Notice(
                kind="dr", event_id=f"ev-{event.seq}", event=event, message=snapshot(updated)
            )
            callbacks.append(_callback_row(notice, message.account_id, dialect, url, report.at))
    if carrier_ids:
        conn.executemany("UPDATE messages SET carrier_id = ? WHERE seq = ?", carrier_ids)
    if updates:
        before = conn.total_changes
        conn.executemany(_UPDATE_STATUS, updates.values())
        if known and conn.total_changes - before != len(updates):
            raise _Stale()
    for account_id, amount in refunds.items():
        conn.execute("UPDATE accounts SET balance = balance + ? WHERE id = ?", (amount, account_id))
    if events:
        conn.executemany(
            "INSERT INTO events (seq, message_id, account_id, status, error_code, carrier_error, at)"
            " VALUES (?,?,?,?,?,?,?)",
            [
                (e.seq, e.message_id, e.account_id, e.status, e.error_code, e.carrier_error, e.at)
                for e in events
            ],
        )
    if callbacks:
        conn.executemany(_INSERT_CALLBACK, callbacks)
    return events


def _scope_sql(scope: OutboxScope) -> tuple[str, list[str]]:
    """The outbox rows of `scope`'s dialects: a condition to append, and its parameters."""
    where, params = "", []
    if scope.only is not None:
        where += f" AND dialect IN ({_marks(len(scope.only))})"
        params += sorted(scope.only)
    if scope.skip:
        where += f" AND dialect NOT IN ({_marks(len(scope.skip))})"
        params += sorted(scope.skip)
    return where, params


def _callback_urls(
    conn: sqlite3.Connection, account_id: int, cache: dict[int, dict[str, str]]
) -> dict[str, str]:
    if account_id not in cache:
        row = conn.execute(
            "SELECT callback_urls FROM accounts WHERE id = ?", (account_id,)
        ).fetchone()
        cache[account_id] = _json_decode(row[0]) if row else {}
    return cache[account_id]


_INSERT_CALLBACK = (
    "INSERT OR IGNORE INTO outbox (event_id, account_id, dialect, kind, url, payload, next_at,"
    " created_at) VALUES (?,?,?,?,?,?,?,?)"
)


def _callback_row(
    notice: Notice, account_id: int, dialect: str, url: str, now: float
) -> tuple[Any, ...]:
    return (
        notice.event_id,
        account_id,
        dialect,
        notice.kind,
        url,
        _notice_encode(notice),
        now,
        now,
    )


def _queue_callback(
    conn: sqlite3.Connection, notice: Notice, account_id: int, target: tuple[str, str], now: float
) -> None:
    conn.execute(_INSERT_CALLBACK, _callback_row(notice, account_id, *target, now))
