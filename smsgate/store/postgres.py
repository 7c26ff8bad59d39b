"""PostgreSQL backend (asyncpg): several smsgate nodes share one database.

- One transaction per call. Concurrent small accepts share one (group commit, `_AcceptGroups`):
  a request that finds no free slot waits for the next group instead of for a connection.
- Idempotency by the unique index on (account_id, dialect, client_ref): the accounts of a
  transaction are locked first (in id order, so two nodes never deadlock), known references
  come back as duplicates, and the insert is `ON CONFLICT DO NOTHING` with the winner read back:
  concurrent duplicates on any number of nodes make exactly one message.
- Money: a conditional `UPDATE ... WHERE balance >= cost`, and `CHECK (balance >= 0)` below it.
- Bulk: `COPY` (copy_records_to_table): a 50,000-recipient request is a handful of round trips.
- Dispatch: claims with `FOR UPDATE SKIP LOCKED` and leases; a dead node's claims are taken
  over when their lease lapses. The notifier's outbox is claimed the same way.
- Wake-ups: a trigger NOTIFYs `<schema>.smsgate_work` when messages are added; each node
  LISTENs on one dedicated connection (`wait_for_work`).
- Faults: a lost connection or a server that is restarting is `StoreUnavailable` (the APIs
  answer 503); the pool replaces broken connections by itself, the listener reconnects.

URL: `postgresql://user:password@host:port/database?pool_max=10&search_path=smsgate`.
`pool_min`, `pool_max` and `connect_timeout` are ours; any other query parameter is passed to
the server as a setting (asyncpg's rule).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Sequence
from typing import Any, Generic, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import asyncpg
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
from ..core.status import CANCELLABLE, Status, can_transition
from ..waits import wait_set
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
from .migrations import migrations
from .rows import (
    entry_from_row,
    event_from_row,
    mo_from_row,
    outbox_from_row,
    refundable,
    row_to_message,
    snapshot,
)

T = TypeVar("T")
log = logging.getLogger("smsgate.store")

_json_encode = msgspec.json.encode
_json_decode = msgspec.json.decode
_notice_encode = msgspec.json.Encoder().encode

# The database cannot be used right now: the caller answers 503 and nothing is half-done.
_UNAVAILABLE: tuple[type[BaseException], ...] = (
    OSError,
    TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.exceptions.OperatorInterventionError,  # admin/crash shutdown, starting up
    asyncpg.exceptions.InsufficientResourcesError,  # too many connections, disk full
    asyncpg.exceptions.ReadOnlySQLTransactionError,  # a fail-over left us on a replica
    asyncpg.exceptions.InternalClientError,  # a connection left mid-operation by a broken link
)
_RETRY = (asyncpg.exceptions.DeadlockDetectedError, asyncpg.exceptions.SerializationError)
MIGRATION_LOCK = 0x5345_4741_5445  # advisory lock key: one node migrates at a time

MSG_COLS = (
    "seq, id, account_id, dialect, client_ref, job_id, sender, phone, text, encoding, segments,"
    " priority, not_before, expires_at, send_window, flash, tag, callback_url, status,"
    " error_code, price, created_at, updated_at, submitted_at, done_at, carrier_id,"
    " confidential, meta"
)
_M_COLS = ", ".join("m." + c.strip() for c in MSG_COLS.split(","))
# Columns written at accept, with their types (for unnest and COPY).
_INSERT: tuple[tuple[str, str], ...] = (
    ("seq", "int8"),
    ("id", "text"),
    ("account_id", "int8"),
    ("dialect", "text"),
    ("client_ref", "text"),
    ("job_id", "text"),
    ("sender", "text"),
    ("phone", "text"),
    ("text", "text"),
    ("encoding", "text"),
    ("segments", "int4"),
    ("priority", "int4"),
    ("not_before", "float8"),
    ("expires_at", "float8"),
    ("send_window", "text"),
    ("flash", "bool"),
    ("tag", "text"),
    ("callback_url", "text"),
    ("status", "text"),
    ("error_code", "text"),
    ("price", "int8"),
    ("created_at", "float8"),
    ("updated_at", "float8"),
    ("confidential", "bool"),
    ("meta", "text"),
)
_INSERT_NAMES = [c for c, _ in _INSERT]
_INSERT_SQL = (  # seq from its default, in row order
    f"INSERT INTO messages ({', '.join(_INSERT_NAMES[1:])}) SELECT * FROM unnest("
    + ", ".join(f"${i}::{t}[]" for i, (_, t) in enumerate(_INSERT[1:], 1))
    + ") ON CONFLICT (account_id, dialect, client_ref) WHERE client_ref IS NOT NULL DO NOTHING"
    " RETURNING id, seq"
)
ACCOUNT_COLS = (
    "id, name, balance, price, currency, tps, timezone, active, ip_allowlist, callback_urls,"
    " settings, created_at"
)
_ACCOUNT_JSON = {"ip_allowlist", "callback_urls", "settings"}
_ACCOUNT_FIELDS = set(ACCOUNT_COLS.replace(" ", "").split(",")) - {"id"}
_OUTBOX_COLS = "id, event_id, account_id, dialect, kind, url, payload, attempts, created_at"
_STATUS = {s: s.value for s in Status}  # (an enum's .value is slow in bulk)

COPY_FROM = 1000  # messages in one transaction from which COPY beats one unnest INSERT
GROUP_MAX = 2000  # messages in one group commit


def message_row(m: Message) -> tuple[Any, ...]:
    """The `_INSERT` columns of a message."""
    return (
        m.seq,
        m.id,
        m.account_id,
        m.dialect,
        m.client_ref,
        m.job_id,
        m.sender,
        m.phone,
        m.text,
        m.encoding,
        m.segments,
        m.priority,
        m.not_before,
        m.expires_at,
        _json_encode(m.window).decode() if m.window else None,
        m.flash,
        m.tag,
        m.callback_url,
        _STATUS[m.status],
        m.error_code,
        m.price,
        m.created_at,
        m.updated_at,
        m.confidential,
        _json_encode(m.meta).decode() if m.meta else None,
    )


def _row_to_account(r: Any) -> Account:
    return Account(
        id=r[0],
        name=r[1],
        balance=r[2],
        price=r[3],
        currency=r[4],
        tps=r[5],
        timezone=r[6],
        active=r[7],
        ip_allowlist=_json_decode(r[8]),
        callback_urls=_json_decode(r[9]),
        settings=_json_decode(r[10]),
        created_at=r[11],
        senders=list(r[12]),
    )


def _count(status: str) -> int:
    """Rows touched, from a command tag such as 'INSERT 0 3' or 'DELETE 2'."""
    return int(status.rsplit(" ", 1)[-1]) if status and status[-1].isdigit() else 0


def split_url(url: str) -> tuple[str, dict[str, float]]:
    """asyncpg's DSN, and our own options taken out of the query string."""
    parts = urlsplit(url)
    ours: dict[str, float] = {}
    rest = []
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        if key in ("pool_min", "pool_max", "connect_timeout"):
            ours[key] = float(value)
        else:
            rest.append((key, value))
    scheme = "postgresql" if parts.scheme in ("postgresql", "postgres") else parts.scheme
    dsn = urlunsplit((scheme, parts.netloc, parts.path, urlencode(rest), parts.fragment))
    return dsn, ours


async def _keep_session(conn: asyncpg.Connection) -> None:
    """Pool connections carry no session state of ours: skip the reset query (a round trip)."""


class _Request(msgspec.Struct):
    account_id: int
    messages: Sequence[Message]
    job: Job | None
    atomic: bool


class PostgresStore(Store):
    exclusive_dispatch = False
    notifies_work = True

    def __init__(
        self, url: str, *, pool_min: int = 1, pool_max: int = 10, group_commit: bool = True
    ) -> None:
        self.dsn, ours = split_url(url)
        self.pool_min = int(ours.get("pool_min", pool_min))
        self.pool_max = int(ours.get("pool_max", pool_max))
        self.connect_timeout = ours.get("connect_timeout", 5.0)
        self.group_commit = group_commit
        self.channel = "public.smsgate_work"
        self.commits = 0  # accept transactions, for the benchmark
        self._pool: asyncpg.Pool | None = None
        self._listener: asyncio.Task[None] | None = None
        self._waiters: set[asyncio.Event] = set()
        self._signalled = False
        self._listening = asyncio.Event()  # set once LISTEN first succeeded
        self._groups = _AcceptGroups(self, slots=max(1, self.pool_max // 2))
        self._done: _Coalesce[tuple[int, float]] = _Coalesce(self._outbox_done, slots=2)

    # Lifecycle -----------------------------------------------------------------------------
    async def open(self) -> None:
        if self._pool is not None:
            return
        try:
            self._pool = await asyncpg.create_pool(
                self.dsn,
                reset=_keep_session,
                min_size=min(self.pool_min, self.pool_max),
                max_size=self.pool_max,
                timeout=self.connect_timeout,
                command_timeout=60.0,
                max_inactive_connection_lifetime=300.0,
            )
            schema = await self._pool.fetchval("SELECT current_schema()")
        except (*_UNAVAILABLE, asyncpg.PostgresError) as exc:  # down, or no such database/user
            if self._pool is not None:
                self._pool.terminate()
            self._pool = None
            raise StoreUnavailable(f"cannot connect to PostgreSQL: {exc}") from exc
        self.channel = f"{schema}.smsgate_work"

    async def close(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
            self._listener = None
        await self._groups.drain()
        await self._done.drain()
        if self._pool is not None:
            pool, self._pool = self._pool, None
            try:
                async with asyncio.timeout(10.0):
                    await pool.close()
            except _UNAVAILABLE:
                pool.terminate()

    async def migrate(self) -> int:
        async def op(conn: asyncpg.Connection) -> int:
            await conn.execute("SELECT pg_advisory_xact_lock($1)", MIGRATION_LOCK)
            await conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)"
            )
            current = int(
                await conn.fetchval("SELECT coalesce(max(version), 0) FROM schema_version")
            )
            for version, sql in migrations("postgres"):
                if version > current:
                    await conn.execute(sql)
                    await conn.execute("INSERT INTO schema_version VALUES ($1)", version)
                    current = version
            return current

        return await self._tx(op)

    # Plumbing -------------------------------------------------------------------------------
    @contextlib.asynccontextmanager
    async def _conn(self) -> AsyncIterator[asyncpg.Connection]:
        if self._pool is None:
            raise StoreUnavailable("store is closed")
        try:
            async with self._pool.acquire(timeout=30.0) as conn:
                try:
                    yield conn
                except _UNAVAILABLE:
                    # Never hand this connection out again: the pool opens a fresh one.
                    # (A connection the server closed is already back in the pool, detached.)
                    with contextlib.suppress(asyncpg.InterfaceError):
                        if not conn.is_closed():
                            conn.terminate()
                    raise
        except _UNAVAILABLE as exc:
            raise StoreUnavailable(f"PostgreSQL unavailable: {exc}") from exc

    async def _tx(self, fn: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
        """`fn` in one transaction; a deadlock or serialization failure is retried."""
        for attempt in range(5):
            try:
                async with self._conn() as conn, conn.transaction():
                    return await fn(conn)
            except _RETRY:
                if attempt == 4:
                    raise StoreUnavailable("database too busy (deadlocks), retry later") from None
                await asyncio.sleep(0.01 * (attempt + 1))
        raise AssertionError("unreachable")

    async def _fetch(self, sql: str, *args: Any) -> list[Any]:
        async with self._conn() as conn:
            return list(await conn.fetch(sql, *args))

    async def _execute(self, sql: str, *args: Any) -> str:
        """One statement (its own transaction); a deadlock is retried like in `_tx`."""
        for attempt in range(5):
            try:
                async with self._conn() as conn:
                    return str(await conn.execute(sql, *args))
            except _RETRY:
                if attempt == 4:
                    raise StoreUnavailable("database too busy (deadlocks), retry later") from None
                await asyncio.sleep(0.01 * (attempt + 1))
        raise AssertionError("unreachable")

    # Wake-ups ---------------------------------------------------------------------------------
    def _notified(self, *_args: Any) -> None:
        self._signalled = True
        for event in self._waiters:
            event.set()

    async def wait_for_work(self, wakeup: asyncio.Event, timeout: float) -> None:
        if self._listener is None and self._pool is not None:
            # Only a process that dispatches listens: HTTP workers hold no extra connection.
            self._listener = asyncio.create_task(self._listen(), name="smsgate-listen")
        if self._signalled:  # work was announced while the dispatcher was busy
            self._signalled = False
            return
        self._waiters.add(wakeup)
        try:
            await wait_set(wakeup, timeout)
        finally:
            self._waiters.discard(wakeup)
            self._signalled = False

    async def _listen(self) -> None:
        """One connection LISTENing for new work; reconnects whenever it is lost."""
        delay = 0.5
        while True:
            conn: asyncpg.Connection | None = None
            try:
                conn = await asyncpg.connect(self.dsn, timeout=self.connect_timeout)
                lost = asyncio.Event()
                conn.add_termination_listener(lambda _c, lost=lost: lost.set())
                await conn.add_listener(self.channel, self._notified)
                if self._listening.is_set() or delay > 0.5:
                    self._notified()  # work committed while we were not listening
                self._listening.set()
                delay = 0.5
                while not conn.is_closed():
                    await wait_set(lost, 10.0)
                    if not conn.is_closed():  # a half-open TCP connection shows here
                        await conn.fetchval("SELECT 1", timeout=10.0)
            except (*_UNAVAILABLE, asyncpg.PostgresError) as exc:
                log.warning("LISTEN connection lost (%s); reconnecting", exc)
            finally:
                if conn is not None and not conn.is_closed():
                    try:
                        async with asyncio.timeout(2.0):
                            await conn.close()
                    except (*_UNAVAILABLE, asyncpg.PostgresError):
                        conn.terminate()
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)

    # Accounts -------------------------------------------------------------------------------
    async def create_account(self, account: Account) -> Account:
        async def op(conn: asyncpg.Connection) -> int:
            account_id = int(
                await conn.fetchval(
                    "INSERT INTO accounts (name, balance, price, currency, tps, timezone, active,"
                    " ip_allowlist, callback_urls, settings, created_at)"
                    " VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11) RETURNING id",
                    account.name,
                    account.balance,
                    account.price,
                    account.currency,
                    account.tps,
                    account.timezone,
                    account.active,
                    _json_encode(account.ip_allowlist).decode(),
                    _json_encode(account.callback_urls).decode(),
                    _json_encode(account.settings).decode(),
                    account.created_at or time.time(),
                )
            )
            if account.senders:
                await conn.execute(
                    "INSERT INTO senders SELECT $1, unnest($2::text[]) ON CONFLICT DO NOTHING",
                    account_id,
                    list(account.senders),
                )
            return account_id

        try:
            account_id = await self._tx(op)
        except asyncpg.UniqueViolationError as exc:
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
            sets = ", ".join(f"{n} = ${i}" for i, n in enumerate(names, 2))
            try:
                await self._execute(
                    f"UPDATE accounts SET {sets} WHERE id = $1", account_id, *values
                )
            except asyncpg.UniqueViolationError as exc:
                raise GatewayError(ErrorCode.DUPLICATE, "account name exists") from exc
            except asyncpg.CheckViolationError as exc:
                raise GatewayError(ErrorCode.INVALID_FIELD, "balance below zero") from exc
        found = await self.get_account(account_id)
        if found is None:
            raise GatewayError(ErrorCode.NOT_FOUND, f"no account {account_id}")
        return found

    async def _accounts(self, where: str, *args: Any) -> list[Account]:
        rows = await self._fetch(
            f"SELECT {ACCOUNT_COLS}, coalesce((SELECT array_agg(s.name ORDER BY s.name)"
            f" FROM senders s WHERE s.account_id = a.id), '{{}}')"
            f" FROM accounts a WHERE {where} ORDER BY id",
            *args,
        )
        return [_row_to_account(r) for r in rows]

    async def get_account(self, account_id: int) -> Account | None:
        found = await self._accounts("id = $1", account_id)
        return found[0] if found else None

    async def account_by_name(self, name: str) -> Account | None:
        found = await self._accounts("name = $1", name)
        return found[0] if found else None

    async def list_accounts(self) -> list[Account]:
        return await self._accounts("TRUE")

    async def adjust_balance(self, account_id: int, delta: int) -> int:
        async def op(conn: asyncpg.Connection) -> int:
            balance = await conn.fetchval(
                "UPDATE accounts SET balance = balance + $2 WHERE id = $1 AND balance + $2 >= 0"
                " RETURNING balance",
                account_id,
                delta,
            )
            if balance is None:
                if not await conn.fetchval("SELECT 1 FROM accounts WHERE id = $1", account_id):
                    raise GatewayError(ErrorCode.NOT_FOUND, f"no account {account_id}")
                raise GatewayError(ErrorCode.INSUFFICIENT_BALANCE, "balance would go below zero")
            return int(balance)

        return await self._tx(op)

    async def put_credential(self, credential: Credential) -> None:
        c = credential
        await self._execute(
            "INSERT INTO credentials VALUES ($1,$2,$3,$4,$5) ON CONFLICT (dialect, kind, identifier)"
            " DO UPDATE SET account_id = excluded.account_id, secret = excluded.secret",
            c.account_id,
            c.dialect,
            c.kind,
            c.identifier,
            c.secret,
        )

    async def find_credential(self, dialect: str, kind: str, identifier: str) -> Credential | None:
        rows = await self._fetch(
            "SELECT account_id, dialect, kind, identifier, secret FROM credentials"
            " WHERE dialect = $1 AND kind = $2 AND identifier = $3",
            dialect,
            kind,
            identifier,
        )
        if not rows:
            return None
        r = rows[0]
        return Credential(account_id=r[0], dialect=r[1], kind=r[2], identifier=r[3], secret=r[4])

    async def credentials_of(self, account_id: int) -> list[Credential]:
        rows = await self._fetch(
            "SELECT account_id, dialect, kind, identifier, secret FROM credentials"
            " WHERE account_id = $1 ORDER BY dialect, kind, identifier",
            account_id,
        )
        return [
            Credential(account_id=r[0], dialect=r[1], kind=r[2], identifier=r[3], secret=r[4])
            for r in rows
        ]

    async def delete_credential(self, dialect: str, kind: str, identifier: str) -> bool:
        status = await self._execute(
            "DELETE FROM credentials WHERE dialect = $1 AND kind = $2 AND identifier = $3",
            dialect,
            kind,
            identifier,
        )
        return _count(status) > 0

    async def add_sender(self, account_id: int, name: str) -> None:
        await self._execute(
            "INSERT INTO senders VALUES ($1, $2) ON CONFLICT DO NOTHING", account_id, name
        )

    async def remove_sender(self, account_id: int, name: str) -> bool:
        status = await self._execute(
            "DELETE FROM senders WHERE account_id = $1 AND name = $2", account_id, name
        )
        return _count(status) > 0

    async def stoplist_add(self, account_id: int, phones: Sequence[str]) -> int:
        status = await self._execute(
            "INSERT INTO stoplist SELECT $1, unnest($2::text[]) ON CONFLICT DO NOTHING",
            account_id,
            sorted(set(phones)),
        )
        return _count(status)

    async def stoplist_remove(self, account_id: int, phones: Sequence[str]) -> int:
        status = await self._execute(
            "DELETE FROM stoplist WHERE account_id = $1 AND phone = ANY($2::text[])",
            account_id,
            list(set(phones)),
        )
        return _count(status)

    async def stoplist(self, account_id: int) -> list[str]:
        rows = await self._fetch(
            "SELECT phone FROM stoplist WHERE account_id = $1 ORDER BY phone", account_id
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
        request = _Request(account_id, messages, job, atomic)
        if not self.group_commit or len(messages) >= COPY_FROM:
            return (await self._accept_alone([request]))[0]
        return await self._groups.submit(request)

    async def _accept_alone(self, requests: list[_Request]) -> list[list[Outcome]]:
        try:
            result = await self._tx(lambda conn: _accept(conn, requests))
        except asyncpg.exceptions.DataError as exc:  # e.g. a NUL character in a text
            raise GatewayError(ErrorCode.INVALID_FIELD, f"cannot store this value: {exc}") from exc
        self.commits += 1
        return result

    # Reads ------------------------------------------------------------------------------------
    async def _messages(self, where: str, *args: Any, tail: str = "") -> list[Message]:
        rows = await self._fetch(f"SELECT {MSG_COLS} FROM messages WHERE {where} {tail}", *args)
        return [row_to_message(r) for r in rows]

    async def get_message(self, account_id: int, message_id: str) -> Message | None:
        found = await self._messages("id = $1 AND account_id = $2", message_id, account_id)
        return found[0] if found else None

    async def get_messages(self, account_id: int, message_ids: Sequence[str]) -> list[Message]:
        found = await self._messages(
            "account_id = $1 AND id = ANY($2::text[])", account_id, list(message_ids)
        )
        order = {mid: i for i, mid in enumerate(message_ids)}
        return sorted(found, key=lambda m: order[m.id])

    async def message_by_ref(
        self, account_id: int, dialect: str, client_ref: str
    ) -> Message | None:
        found = await self._messages(
            "account_id = $1 AND dialect = $2 AND client_ref = $3", account_id, dialect, client_ref
        )
        return found[0] if found else None

    async def message_by_seq(self, account_id: int, seq: int) -> Message | None:
        found = await self._messages("seq = $1 AND account_id = $2", seq, account_id)
        return found[0] if found else None

    async def list_messages(
        self, account_id: int, flt: MessageFilter, *, after_seq: int = 0, limit: int = 100
    ) -> list[Message]:
        where = ["account_id = $1", "seq > $2"]
        args: list[Any] = [account_id, after_seq]
        for column, value in (
            ("status", flt.status),
            ("phone", flt.phone),
            ("job_id", flt.job_id),
            ("dialect", flt.dialect),
            ("created_at >=", flt.since),
            ("created_at <", flt.until),
        ):
            if value is not None:
                args.append(value)
                op = "" if " " in column else " ="
                where.append(f"{column}{op} ${len(args)}")
        args.append(int(limit))
        return await self._messages(
            " AND ".join(where), *args, tail=f"ORDER BY seq LIMIT ${len(args)}"
        )

    async def get_job(self, account_id: int, job_id: str) -> JobCounts | None:
        rows = await self._fetch(
            "SELECT id, account_id, dialect, client_ref, total, created_at, meta FROM jobs"
            " WHERE id = $1 AND account_id = $2",
            job_id,
            account_id,
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
        counts = await self._fetch(
            "SELECT status, count(*) FROM messages WHERE job_id = $1 AND account_id = $2"
            " GROUP BY status",
            job_id,
            account_id,
        )
        return JobCounts(job=job, by_status={s: int(n) for s, n in counts})

    async def job_messages(
        self, account_id: int, job_id: str, *, after_seq: int = 0, limit: int = 1000
    ) -> list[Message]:
        return await self._messages(
            "job_id = $1 AND account_id = $2 AND seq > $3",
            job_id,
            account_id,
            after_seq,
            int(limit),
            tail="ORDER BY seq LIMIT $4",
        )

    async def events_of(self, account_id: int, message_id: str) -> list[StatusEvent]:
        rows = await self._fetch(
            "SELECT seq, message_id, account_id, status, error_code, carrier_error, at FROM events"
            " WHERE message_id = $1 AND account_id = $2 ORDER BY seq",
            message_id,
            account_id,
        )
        return [event_from_row(r) for r in rows]

    async def events_after(self, after_seq: int, limit: int = 500) -> list[StatusEvent]:
        rows = await self._fetch(
            "SELECT seq, message_id, account_id, status, error_code, carrier_error, at FROM events"
            " WHERE seq > $1 ORDER BY seq LIMIT $2",
            after_seq,
            limit,
        )
        return [event_from_row(r) for r in rows]

    async def list_mo(
        self, account_id: int, *, after_seq: int = 0, limit: int = 100
    ) -> list[MoMessage]:
        rows = await self._fetch(
            "SELECT seq, id, account_id, phone, to_number, text, received_at, reply_to, meta"
            " FROM mo_messages WHERE account_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
            account_id,
            after_seq,
            limit,
        )
        return [mo_from_row(r) for r in rows]

    async def cancel(self, account_id: int, message_id: str, route: CallbackRoute) -> Message:
        async def op(conn: asyncpg.Connection) -> Message:
            row = await conn.fetchrow(
                f"SELECT {MSG_COLS}, dispatch_token FROM messages"
                " WHERE id = $1 AND account_id = $2 FOR UPDATE",
                message_id,
                account_id,
            )
            if row is None:
                raise GatewayError(ErrorCode.NOT_FOUND, "message not found")
            message = row_to_message(row)
            if message.status not in CANCELLABLE or row[-1] is not None:
                raise GatewayError(
                    ErrorCode.NOT_CANCELLABLE, f"message is {message.status.value}, not cancellable"
                )
            report = Report(message_id=message_id, status=Status.CANCELLED, at=time.time())
            await _apply_reports(conn, [report], route)
            found = await conn.fetchrow(
                f"SELECT {MSG_COLS} FROM messages WHERE id = $1", message_id
            )
            return row_to_message(found)

        return await self._tx(op)

    # Dispatcher -------------------------------------------------------------------------------
    async def claim_due(
        self, now: float, limit: int, token: str, lease: float, skip_accounts: Collection[int] = ()
    ) -> list[Message]:
        async def op(conn: asyncpg.Connection) -> list[Message]:
            await conn.execute(
                "UPDATE messages SET status = 'queued', updated_at = $1 WHERE id IN"
                " (SELECT id FROM messages WHERE status = 'scheduled' AND dispatch_token IS NULL"
                " AND not_before <= $1 FOR UPDATE SKIP LOCKED)",
                now,
            )
            rows = await conn.fetch(
                f"WITH c AS (SELECT id FROM messages WHERE status IN ('accepted', 'queued')"
                f" AND dispatch_token IS NULL AND NOT (account_id = ANY($3::int8[]))"
                f" ORDER BY priority DESC, seq LIMIT $4 FOR UPDATE SKIP LOCKED)"
                f" UPDATE messages m SET dispatch_token = $1, lease_until = $2, status = 'queued'"
                f" FROM c WHERE m.id = c.id RETURNING {_M_COLS}",
                token,
                now + lease,
                list(skip_accounts),
                limit,
            )
            claimed = [row_to_message(r) for r in rows]
            claimed.sort(key=lambda m: (-m.priority, m.seq))
            return claimed

        return await self._tx(op)

    async def release(self, message_ids: Sequence[str], not_before: float | None) -> None:
        status = "scheduled" if not_before else "queued"

        async def op(conn: asyncpg.Connection) -> None:
            await conn.execute(
                "UPDATE messages SET dispatch_token = NULL, lease_until = NULL, not_before = $2,"
                " status = $3 WHERE id = ANY($1::text[])"
                " AND status IN ('accepted', 'queued', 'scheduled')",
                list(message_ids),
                not_before,
                status,
            )
            if not not_before:
                await conn.execute("SELECT pg_notify($1, '')", self.channel)

        if message_ids:
            await self._tx(op)

    async def claimed_by_others(self, now: float, token: str, lease: float = 60.0) -> list[Message]:
        rows = await self._tx(
            lambda conn: conn.fetch(
                f"WITH c AS (SELECT id FROM messages WHERE status = 'queued'"
                f" AND dispatch_token IS NOT NULL AND dispatch_token <> $1 AND lease_until < $2"
                f" FOR UPDATE SKIP LOCKED)"
                f" UPDATE messages m SET dispatch_token = $1, lease_until = $3"
                f" FROM c WHERE m.id = c.id RETURNING {_M_COLS}",
                token,
                now,
                now + lease,
            )
        )
        return sorted((row_to_message(r) for r in rows), key=lambda m: m.seq)

    async def renew_leases(self, token: str, until: float) -> int:
        status = await self._execute(
            "UPDATE messages SET lease_until = $2 WHERE status = 'queued'"
            " AND dispatch_token IS NOT NULL AND dispatch_token = $1",
            token,
            until,
        )
        return _count(status)

    async def record_reports(
        self, reports: Sequence[Report], route: CallbackRoute
    ) -> list[StatusEvent]:
        if not reports:
            return []
        return await self._tx(lambda conn: _apply_reports(conn, reports, route))

    async def message_by_carrier_id(self, carrier_id: str) -> Message | None:
        found = await self._messages(
            "carrier_id = $1", carrier_id, tail="ORDER BY seq DESC LIMIT 1"
        )
        return found[0] if found else None

    async def ping(self) -> None:
        await self._fetch("SELECT 1")

    async def counts(self) -> dict[str, int]:
        rows = await self._fetch(
            "SELECT 'scheduled', count(*) FROM messages WHERE status = 'scheduled'"
            " UNION ALL SELECT 'queued', count(*) FROM messages WHERE status IN ('accepted', 'queued')"
            " UNION ALL SELECT 'outbox', count(*) FROM outbox WHERE state = 'pending'"
        )
        return {s: int(n) for s, n in rows}

    # MO ---------------------------------------------------------------------------------------
    async def store_mo(self, mos: Sequence[MoMessage], route: CallbackRoute) -> None:
        async def op(conn: asyncpg.Connection) -> None:
            seqs = await _next_seqs(conn, "mo_messages_seq_seq", len(mos))
            stored = [msgspec.structs.replace(mo, seq=s) for mo, s in zip(mos, seqs, strict=True)]
            await conn.execute(
                "INSERT INTO mo_messages (seq, id, account_id, phone, to_number, text,"
                " received_at, reply_to, meta) SELECT * FROM unnest($1::int8[], $2::text[],"
                " $3::int8[], $4::text[], $5::text[], $6::text[], $7::float8[], $8::text[],"
                " $9::text[])",
                *_columns(
                    [
                        (
                            mo.seq,
                            mo.id,
                            mo.account_id,
                            mo.phone,
                            mo.to,
                            mo.text,
                            mo.received_at,
                            mo.reply_to,
                            _json_encode(mo.meta).decode() if mo.meta else None,
                        )
                        for mo in stored
                    ],
                    9,
                ),
            )
            urls = await _callback_urls(conn, {mo.account_id for mo in stored})
            rows = []
            for mo in stored:
                for target in route(None, mo, urls.get(mo.account_id, {})):
                    notice = Notice(kind="mo", event_id=f"mo-{mo.id}", mo=mo)
                    rows.append(_outbox_row(notice, mo.account_id, target, mo.received_at))
            await _queue_callbacks(conn, rows)

        if mos:
            await self._tx(op)

    # Outbox -----------------------------------------------------------------------------------
    async def outbox_claim(
        self, now: float, limit: int, lease: float, scope: OutboxScope = EVERY_DIALECT
    ) -> list[OutboxItem]:
        rows = await self._tx(
            lambda conn: conn.fetch(
                "WITH c AS (SELECT id FROM outbox WHERE state = 'pending' AND next_at <= $1"
                " AND (lease_until IS NULL OR lease_until < $1)"
                " AND ($4::text[] IS NULL OR dialect = ANY($4)) AND NOT (dialect = ANY($5))"
                " ORDER BY next_at, id LIMIT $3 FOR UPDATE SKIP LOCKED)"
                " UPDATE outbox o SET lease_until = $2 FROM c WHERE o.id = c.id"
                " RETURNING o.id, o.event_id, o.account_id, o.dialect, o.kind, o.url, o.payload,"
                " o.attempts, o.created_at, o.next_at",
                now,
                now + lease,
                limit,
                *_scope_args(scope),
            )
        )
        rows.sort(key=lambda r: (r[9], r[0]))
        return [outbox_from_row(r) for r in rows]

    async def outbox_done(self, ids: Sequence[int], now: float) -> None:
        # One callback at a time arrives here from many concurrent deliveries: those waiting
        # together share one statement and one commit.
        if ids:
            await self._done.add([(i, now) for i in ids])

    async def _outbox_done(self, items: list[tuple[int, float]]) -> None:
        await self._execute(
            "UPDATE outbox o SET state = 'done', done_at = d.at, attempts = o.attempts + 1,"
            " lease_until = NULL FROM unnest($1::int8[], $2::float8[]) AS d(id, at)"
            " WHERE o.id = d.id",
            *_columns(items, 2),
        )

    async def outbox_retry(self, ids: Sequence[int], next_at: float, error: str) -> None:
        await self._execute(
            "UPDATE outbox SET attempts = attempts + 1, next_at = $2, last_error = $3,"
            " lease_until = NULL WHERE id = ANY($1::int8[])",
            list(ids),
            next_at,
            error[:500],
        )

    async def outbox_unlease(self, scope: OutboxScope = EVERY_DIALECT) -> int:
        # Only an exclusive notifier calls this (SQLite); on a shared database leases expire.
        status = await self._execute(
            "UPDATE outbox SET lease_until = NULL WHERE state = 'pending' AND lease_until IS NOT NULL"
            " AND ($1::text[] IS NULL OR dialect = ANY($1)) AND NOT (dialect = ANY($2))",
            *_scope_args(scope),
        )
        return int(status.split()[-1])

    async def outbox_defer(self, ids: Sequence[int], next_at: float) -> None:
        await self._execute(
            "UPDATE outbox SET next_at = $2, lease_until = NULL WHERE id = ANY($1::int8[])",
            list(ids),
            next_at,
        )

    async def outbox_dead(self, ids: Sequence[int], error: str) -> None:
        await self._execute(
            "UPDATE outbox SET state = 'dead', attempts = attempts + 1, last_error = $2,"
            " lease_until = NULL WHERE id = ANY($1::int8[])",
            list(ids),
            error[:500],
        )

    async def outbox_items(
        self, account_id: int | None = None, state: str | None = None
    ) -> list[OutboxItem]:
        rows = await self._fetch(
            f"SELECT {_OUTBOX_COLS} FROM outbox WHERE ($1::int8 IS NULL OR account_id = $1)"
            " AND ($2::text IS NULL OR state = $2) ORDER BY id",
            account_id,
            state,
        )
        return [outbox_from_row(r) for r in rows]

    async def purge(self, before: float) -> int:
        gone = _count(
            await self._execute(
                "DELETE FROM outbox WHERE state IN ('done', 'dead')"
                " AND coalesce(done_at, next_at) < $1",
                before,
            )
        )
        gone += _count(
            await self._execute(
                "DELETE FROM connector_log WHERE reported AND submitted_at < $1", before
            )
        )
        return gone

    # Connector log ----------------------------------------------------------------------------
    async def connector_log_add(self, connector: str, entries: Sequence[ConnectorEntry]) -> None:
        if not entries:
            return
        await self._execute(
            "INSERT INTO connector_log (connector, message_id, carrier_id, submitted_at, outcome,"
            " report_due) SELECT $1, * FROM unnest($2::text[], $3::text[], $4::float8[],"
            " $5::text[], $6::float8[])",
            connector,
            *_columns(
                [
                    (e.message_id, e.carrier_id, e.submitted_at, e.outcome, e.report_due)
                    for e in entries
                ],
                5,
            ),
        )

    async def connector_log_find(
        self, connector: str, message_ids: Sequence[str]
    ) -> list[ConnectorEntry]:
        rows = await self._fetch(
            "SELECT message_id, carrier_id, submitted_at, outcome, report_due FROM connector_log"
            " WHERE connector = $1 AND message_id = ANY($2::text[]) ORDER BY seq",
            connector,
            list(message_ids),
        )
        return [entry_from_row(r) for r in rows]

    async def connector_log_pending(
        self, connector: str, limit: int = 10000
    ) -> list[ConnectorEntry]:
        rows = await self._fetch(
            "SELECT message_id, carrier_id, submitted_at, outcome, report_due FROM connector_log"
            " WHERE connector = $1 AND NOT reported ORDER BY report_due LIMIT $2",
            connector,
            limit,
        )
        return [entry_from_row(r) for r in rows]

    async def connector_log_reported(self, connector: str, message_ids: Sequence[str]) -> None:
        await self._execute(
            "UPDATE connector_log SET reported = TRUE"
            " WHERE connector = $1 AND message_id = ANY($2::text[]) AND NOT reported",
            connector,
            list(message_ids),
        )


class _AcceptGroups:
    """Group commit for small accepts: requests that arrive while every slot is committing
    wait together and share the next transaction (no timer: an idle store commits at once)."""

    def __init__(self, store: PostgresStore, slots: int) -> None:
        self.store = store
        self.slots = slots
        self.busy = 0
        self.pending: deque[tuple[_Request, asyncio.Future[list[Outcome]]]] = deque()
        self.tasks: set[asyncio.Task[None]] = set()

    async def submit(self, request: _Request) -> list[Outcome]:
        future: asyncio.Future[list[Outcome]] = asyncio.get_running_loop().create_future()
        self.pending.append((request, future))
        if self.busy < self.slots:
            self.busy += 1
            task = asyncio.create_task(self._flush())
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)
        return await future

    async def _flush(self) -> None:
        try:
            while self.pending:
                group: list[tuple[_Request, asyncio.Future[list[Outcome]]]] = []
                refs: set[tuple[int, str, str]] = set()
                size = 0
                while self.pending and size < GROUP_MAX:
                    request = self.pending[0][0]
                    keys = {
                        (request.account_id, m.dialect, m.client_ref)
                        for m in request.messages
                        if m.client_ref is not None
                    }
                    if group and not refs.isdisjoint(keys):
                        break  # the same reference twice: the index decides, across commits
                    refs |= keys
                    group.append(self.pending.popleft())
                    size += len(request.messages)
                await self._commit(group)
        finally:
            self.busy -= 1

    async def _commit(self, group: list[tuple[_Request, asyncio.Future[list[Outcome]]]]) -> None:
        try:
            results = await self.store._accept_alone([r for r, _ in group])
        except StoreUnavailable as exc:
            for _, future in group:
                if not future.done():
                    future.set_exception(exc)
            return
        except Exception as exc:
            if len(group) == 1:
                if not group[0][1].done():
                    group[0][1].set_exception(exc)
                return
            # One request broke the shared transaction: each again on its own.
            log.warning(
                "group commit of %d accepts failed (%s); retrying one by one", len(group), exc
            )
            for item in group:
                await self._commit([item])
            return
        for (_, future), outcomes in zip(group, results, strict=True):
            if not future.done():
                future.set_result(outcomes)

    async def drain(self) -> None:
        if self.tasks:
            await asyncio.gather(*self.tasks, return_exceptions=True)


class _Coalesce(Generic[T]):
    """Items added while `slots` writes are running are written together by the next one."""

    def __init__(self, write: Callable[[list[T]], Awaitable[None]], slots: int) -> None:
        self.write = write
        self.slots = slots
        self.busy = 0
        self.pending: list[tuple[list[T], asyncio.Future[None]]] = []
        self.tasks: set[asyncio.Task[None]] = set()

    async def add(self, items: list[T]) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.pending.append((items, future))
        if self.busy < self.slots:
            self.busy += 1
            task = asyncio.create_task(self._flush())
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)
        await future

    async def _flush(self) -> None:
        try:
            while self.pending:
                batch, self.pending = self.pending, []
                try:
                    await self.write([item for items, _ in batch for item in items])
                except Exception as exc:
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(exc)
                else:
                    for _, future in batch:
                        if not future.done():
                            future.set_result(None)
        finally:
            self.busy -= 1

    async def drain(self) -> None:
        if self.tasks:
            await asyncio.gather(*self.tasks, return_exceptions=True)


# Transactions -------------------------------------------------------------------------------


def _columns(rows: Sequence[Sequence[Any]], width: int) -> list[list[Any]]:
    """Rows to column arrays, for `unnest`."""
    if not rows:
        return [[] for _ in range(width)]
    return [list(c) for c in zip(*rows, strict=True)]


async def _next_seqs(conn: asyncpg.Connection, sequence: str, n: int) -> list[int]:
    if n == 0:
        return []
    rows = await conn.fetch("SELECT nextval($1::regclass) FROM generate_series(1, $2)", sequence, n)
    return [r[0] for r in rows]


async def _accept(conn: asyncpg.Connection, requests: Sequence[_Request]) -> list[list[Outcome]]:
    """Accept one or more requests in the caller's transaction (see the module's docstring).

    The accounts are locked first, in id order. Each message that is neither stop-listed nor a
    repeat inside its request is inserted with `ON CONFLICT DO NOTHING`: a reference stored
    before comes back as the stored message (a duplicate). Then, request by request, the new
    ones are paid for; a request the balance cannot cover has its rows deleted again. A large
    request tries one COPY first (no reference stored before: the common case).
    """
    account_ids = sorted({r.account_id for r in requests})
    balances: dict[int, int] = {
        r[0]: r[1]
        for r in await conn.fetch(
            "SELECT id, balance FROM accounts WHERE id = ANY($1::int8[]) ORDER BY id FOR UPDATE",
            account_ids,
        )
    }
    phones = list({m.phone for r in requests for m in r.messages})
    stopped: set[tuple[int, str]] = {
        (r[0], r[1])
        for r in await conn.fetch(
            "SELECT account_id, phone FROM stoplist WHERE account_id = ANY($1::int8[])"
            " AND phone = ANY($2::text[])",
            [0, *account_ids],
            phones,
        )
    }

    # Per request: errors, repeats of a reference inside it, and the candidates to store.
    results: list[list[Outcome | None]] = []
    candidates: list[list[tuple[int, Message]]] = []
    repeats: list[list[tuple[int, tuple[str, str]]]] = []
    for req in requests:
        outcomes: list[Outcome | None] = [None] * len(req.messages)
        mine: list[tuple[int, Message]] = []
        again: list[tuple[int, tuple[str, str]]] = []
        seen: set[tuple[str, str]] = set()
        for i, m in enumerate(req.messages):
            if stopped and ((req.account_id, m.phone) in stopped or (0, m.phone) in stopped):
                outcomes[i] = Outcome(
                    "error",
                    error=GatewayError(ErrorCode.STOP_LISTED, f"{m.phone} is on the stop list"),
                )
            elif m.client_ref is None:
                mine.append((i, m))
            elif (m.dialect, m.client_ref) in seen:
                again.append((i, (m.dialect, m.client_ref)))
            else:
                seen.add((m.dialect, m.client_ref))
                mine.append((i, m))
        if req.atomic and any(o is not None for o in outcomes):
            refused = GatewayError(ErrorCode.BAD_REQUEST, "batch refused")
            for i, _ in mine:
                outcomes[i] = Outcome("error", error=refused)
            for i, _ in again:
                outcomes[i] = Outcome("error", error=refused)
            mine, again = [], []
        results.append(outcomes)
        candidates.append(mine)
        repeats.append(again)

        # Cannot be paid even if none is new (no reference to repeat): refuse before storing.
        cost = sum(m.price for _, m in mine)
        if cost > balances.get(req.account_id, 0) and all(m.client_ref is None for _, m in mine):
            short = GatewayError(ErrorCode.INSUFFICIENT_BALANCE, "insufficient balance")
            for i, _ in mine:
                outcomes[i] = Outcome("error", error=short)
            candidates[-1] = []

    rows = [m for mine in candidates for _, m in mine]
    stored: dict[str, Message] = {}
    if rows:
        big = (
            len(requests) == 1
            and len(rows) >= COPY_FROM
            and sum(m.price for m in rows) <= balances.get(requests[0].account_id, 0)
        )
        stored = await _insert_messages(conn, rows, copy=big)
    lost = [m for m in rows if m.id not in stored]
    winners = await _winners(conn, lost) if lost else {}

    debits: dict[int, int] = {}
    unpaid: list[str] = []
    jobs: list[Job] = []
    for req, outcomes, mine, again in zip(requests, results, candidates, repeats, strict=True):
        new = [(i, stored[m.id]) for i, m in mine if m.id in stored]
        named: dict[tuple[str, str], Message] = {}  # reference -> what it became (for repeats)
        if len(new) < len(mine):
            for i, m in mine:
                if m.id not in stored:
                    found = winners.get((req.account_id, m.dialect, m.client_ref or ""))
                    if found is None:  # the row that blocked ours is gone: try again
                        raise asyncpg.exceptions.SerializationError("conflicting row vanished")
                    outcomes[i] = Outcome("duplicate", message=found)
                    named[(m.dialect, m.client_ref or "")] = found
        cost = sum(m.price for _, m in new)
        if cost > balances.get(req.account_id, 0):
            short = GatewayError(ErrorCode.INSUFFICIENT_BALANCE, "insufficient balance")
            for i, m in new:
                outcomes[i] = Outcome("error", error=short)
                unpaid.append(m.id)
        else:
            if cost:
                balances[req.account_id] -= cost
                debits[req.account_id] = debits.get(req.account_id, 0) + cost
            for i, m in new:
                outcomes[i] = Outcome("new", message=m)
            if req.job is not None and new:
                jobs.append(req.job)
        if again:  # a repeat inside the request names what its first occurrence became
            unpaid_now = {m.id for _, m in new} & set(unpaid)
            for _, m in new:
                if m.client_ref is not None:
                    named[(m.dialect, m.client_ref)] = m
            for i, key in again:
                first = named[key]
                if first.id in unpaid_now:  # nothing was stored for it to repeat: the same refusal
                    outcomes[i] = Outcome(
                        "error",
                        error=GatewayError(ErrorCode.INSUFFICIENT_BALANCE, "insufficient balance"),
                    )
                else:
                    outcomes[i] = Outcome("duplicate", message=first)

    if unpaid:
        await conn.execute("DELETE FROM messages WHERE id = ANY($1::text[])", unpaid)
    if debits:
        ids = sorted(debits)
        done = await conn.execute(
            "UPDATE accounts a SET balance = a.balance - d.cost"
            " FROM unnest($1::int8[], $2::int8[]) AS d(id, cost)"
            " WHERE a.id = d.id AND a.balance >= d.cost",
            ids,
            [debits[i] for i in ids],
        )
        if _count(done) != len(ids):  # cannot happen while we hold the rows; never go below 0
            raise asyncpg.exceptions.SerializationError("balance changed under a row lock")
    if jobs:
        await conn.execute(
            "INSERT INTO jobs SELECT * FROM unnest($1::text[], $2::int8[], $3::text[], $4::text[],"
            " $5::int4[], $6::float8[], $7::text[])",
            *_columns(
                [
                    (
                        j.id,
                        j.account_id,
                        j.dialect,
                        j.client_ref,
                        j.total,
                        j.created_at,
                        _json_encode(j.meta).decode() if j.meta else None,
                    )
                    for j in jobs
                ],
                7,
            ),
        )
    return [[o for o in outcomes if o is not None] for outcomes in results]


async def _insert_messages(
    conn: asyncpg.Connection, messages: Sequence[Message], *, copy: bool = False
) -> dict[str, Message]:
    """Insert, skipping references stored before; the stored messages (with their seq) by id.

    With `copy`, one COPY first: it stores them all when no reference was stored before, and
    else the index refuses it as a whole and the INSERT that skips them runs instead.
    """
    if copy:
        seqs = await _next_seqs(conn, "messages_seq_seq", len(messages))
        numbered = [msgspec.structs.replace(m, seq=s) for m, s in zip(messages, seqs, strict=True)]
        try:
            async with conn.transaction():  # a savepoint
                await conn.copy_records_to_table(
                    "messages", records=(message_row(m) for m in numbered), columns=_INSERT_NAMES
                )
            return {m.id: m for m in numbered}
        except asyncpg.UniqueViolationError:
            pass  # some were sent before: insert the others
    rows = [message_row(m)[1:] for m in messages]
    found = await conn.fetch(_INSERT_SQL, *_columns(rows, len(_INSERT) - 1))
    seqs_by_id = {r[0]: r[1] for r in found}
    return {
        m.id: msgspec.structs.replace(m, seq=seqs_by_id[m.id])
        for m in messages
        if m.id in seqs_by_id
    }


async def _winners(
    conn: asyncpg.Connection, lost: Sequence[Message]
) -> dict[tuple[int, str, str], Message]:
    keys = sorted({(m.account_id, m.dialect, m.client_ref or "") for m in lost})
    rows = await conn.fetch(
        f"SELECT {_M_COLS} FROM unnest($1::int8[], $2::text[], $3::text[]) AS k(a, d, r)"
        " JOIN messages m ON m.account_id = k.a AND m.dialect = k.d AND m.client_ref = k.r",
        *_columns(keys, 3),
    )
    out = {}
    for row in rows:
        m = row_to_message(row)
        out[(m.account_id, m.dialect, m.client_ref or "")] = m
    return out


async def _apply_reports(
    conn: asyncpg.Connection, reports: Sequence[Report], route: CallbackRoute
) -> list[StatusEvent]:
    """Legal status changes, events, refunds and callbacks, in the caller's transaction.

    The messages are locked in id order first: two nodes reporting on the same message (a
    receipt sent twice after a crash) take turns, and a repeated status is no change.
    """
    ids = sorted({r.message_id for r in reports})
    rows = await conn.fetch(
        f"SELECT {MSG_COLS} FROM messages WHERE id = ANY($1::text[]) ORDER BY id FOR UPDATE", ids
    )
    current = {r[1]: row_to_message(r) for r in rows}
    changed: dict[str, tuple[Message, bool, bool]] = {}  # id -> (message, clear lease, blank text)
    pending: list[tuple[Message, StatusEvent]] = []
    refunds: dict[int, int] = {}
    for report in reports:
        message = current.get(report.message_id)
        if message is None:
            continue
        if report.status == message.status:
            if report.carrier_id and not message.carrier_id:
                message = msgspec.structs.replace(message, carrier_id=report.carrier_id)
                current[message.id] = message
                old = changed.get(message.id, (message, False, False))
                changed[message.id] = (message, old[1], old[2])
            continue
        if not can_transition(message.status, report.status):
            continue
        final = report.status.is_final
        submitted_at = report.at if report.status is Status.SUBMITTED else message.submitted_at
        if refundable(report.status, message.submitted_at) and message.price:
            refunds[message.account_id] = refunds.get(message.account_id, 0) + message.price
        updated = msgspec.structs.replace(
            message,
            status=report.status,
            error_code=report.error_code,
            updated_at=report.at,
            carrier_id=report.carrier_id or message.carrier_id,
            submitted_at=submitted_at,
            done_at=report.at if final else None,
        )
        old = changed.get(message.id, (message, False, False))
        changed[message.id] = (
            updated,
            old[1] or report.status is not Status.QUEUED,
            old[2] or report.status is Status.SUBMITTED or final,
        )
        current[message.id] = updated
        event = StatusEvent(
            message_id=message.id,
            account_id=message.account_id,
            status=report.status,
            error_code=report.error_code,
            carrier_error=report.carrier_error,
            at=report.at,
        )
        pending.append((updated, event))
    if changed:
        values = [
            (
                m.id,
                _STATUS[m.status],
                m.error_code,
                m.updated_at,
                m.carrier_id,
                m.submitted_at,
                m.done_at,
                clear,
                blank,
            )
            for m, clear, blank in changed.values()
        ]
        await conn.execute(
            "UPDATE messages m SET status = u.status, error_code = u.error_code,"
            " updated_at = u.updated_at, carrier_id = u.carrier_id,"
            " submitted_at = u.submitted_at, done_at = u.done_at,"
            " dispatch_token = CASE WHEN u.clear THEN NULL ELSE m.dispatch_token END,"
            " lease_until = CASE WHEN u.clear THEN NULL ELSE m.lease_until END,"
            " text = CASE WHEN m.confidential AND u.blank THEN '' ELSE m.text END"
            " FROM unnest($1::text[], $2::text[], $3::text[], $4::float8[], $5::text[],"
            " $6::float8[], $7::float8[], $8::bool[], $9::bool[])"
            " AS u(id, status, error_code, updated_at, carrier_id, submitted_at, done_at, clear,"
            " blank) WHERE m.id = u.id",
            *_columns(values, 9),
        )
    if refunds:
        ids_ = sorted(refunds)
        await conn.execute(
            "SELECT 1 FROM accounts WHERE id = ANY($1::int8[]) ORDER BY id FOR UPDATE", ids_
        )
        await conn.execute(
            "UPDATE accounts a SET balance = a.balance + d.amount"
            " FROM unnest($1::int8[], $2::int8[]) AS d(id, amount) WHERE a.id = d.id",
            ids_,
            [refunds[i] for i in ids_],
        )
    if not pending:
        return []
    seqs = await _next_seqs(conn, "events_seq_seq", len(pending))
    events = [
        (m, msgspec.structs.replace(e, seq=s)) for (m, e), s in zip(pending, seqs, strict=True)
    ]
    await conn.execute(
        "INSERT INTO events (seq, message_id, account_id, status, error_code, carrier_error, at)"
        " SELECT * FROM unnest($1::int8[], $2::text[], $3::int8[], $4::text[], $5::text[],"
        " $6::text[], $7::float8[])",
        *_columns(
            [
                (
                    e.seq,
                    e.message_id,
                    e.account_id,
                    e.status.value,
                    e.error_code,
                    e.carrier_error,
                    e.at,
                )
                for _, e in events
            ],
            7,
        ),
    )
    urls = await _callback_urls(conn, {e.account_id for _, e in events})
    callbacks = []
    for message, event in events:
        for target in route(message, event, urls.get(event.account_id, {})):
            notice = Notice(
                kind="dr", event_id=f"ev-{event.seq}", event=event, message=snapshot(message)
            )
            callbacks.append(_outbox_row(notice, event.account_id, target, event.at))
    await _queue_callbacks(conn, callbacks)
    return [e for _, e in events]


async def _callback_urls(
    conn: asyncpg.Connection, account_ids: set[int]
) -> dict[int, dict[str, str]]:
    rows = await conn.fetch(
        "SELECT id, callback_urls FROM accounts WHERE id = ANY($1::int8[])", list(account_ids)
    )
    return {r[0]: _json_decode(r[1]) for r in rows}


def _outbox_row(
    notice: Notice, account_id: int, target: tuple[str, str], now: float
) -> tuple[Any, ...]:
    dialect, url = target
    return (notice.event_id, account_id, dialect, notice.kind, url, _notice_encode(notice), now)


async def _queue_callbacks(conn: asyncpg.Connection, rows: Sequence[tuple[Any, ...]]) -> None:
    if not rows:
        return
    await conn.execute(
        "INSERT INTO outbox (event_id, account_id, dialect, kind, url, payload, next_at, created_at)"
        " SELECT e, a, d, k, u, p, t, t FROM unnest($1::text[], $2::int8[], $3::text[], $4::text[],"
        " $5::text[], $6::bytea[], $7::float8[]) AS x(e, a, d, k, u, p, t)"
        " ON CONFLICT (event_id, dialect, url) DO NOTHING",
        *_columns(rows, 7),
    )


def _scope_args(scope: OutboxScope) -> tuple[list[str] | None, list[str]]:
    """`scope` as the two text[] parameters of the outbox statements: only (NULL: any), skip."""
    return (sorted(scope.only) if scope.only is not None else None, sorted(scope.skip))
