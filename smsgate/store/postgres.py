"""PostgreSQL backend (asyncpg): several smsgate nodes share one database.

Input and output only: every decision is `rules`' (read its inputs, call it, write its plan), and
every statement is a named query of `sql/postgres/queries.sql` (`Q`).

- One transaction per call. Concurrent small accepts share one (group commit, `_group_commit`):
  a request that finds no free slot waits for the next group instead of for a connection.
- Idempotency by the unique index on (account_id, dialect, client_ref): the accounts of a
  transaction are locked first (in id order: two nodes never deadlock), then planned (`_accept`).
  A reference another transaction stored meanwhile retries the transaction: concurrent
  duplicates on any number of nodes make exactly one message.
- The usual group (every item new, no phone stop-listed, each account's debit slice free and
  full enough) is written in one statement, its own transaction (`_accept_at_once`): a round
  trip where `_accept` takes four (BEGIN, slices and stop list, INSERT, COMMIT). Anything
  else finds it out in that statement, writes nothing there and takes `_accept`'s way.
- Money: each accept debits a slice of the account's balance that it holds alone, so that
  accepts of one account, on any number of nodes, do not queue on its row (`postgres_debits`);
  `CHECK (amount >= 0)` below it.
- Bulk: `COPY` (copy_records_to_table): a 50,000-recipient request is a handful of round trips.
- Dispatch: claims with `FOR UPDATE SKIP LOCKED` and leases; a dead node's claims are taken
  over when their lease lapses. The notifier's outbox is claimed the same way.
- Reports: planned from the states this store remembers (its claims and reports) or read
  unlocked, and written in one statement that checks each row's status
  (`postgres_reports`); a row moved meanwhile, or a refund, takes `_apply_reports`'
  transaction, which locks the rows.
- Wake-ups: after a commit that added messages due at once, a NOTIFY on `<schema>.smsgate_work` in a
  statement of its own (in the accept's transaction it would serialise every commit on the
  server: `work_notify`); each node LISTENs on one dedicated connection (`wait_for_work`).
  A serving node's store sends none (`wake_nodes=False`): its Acceptor wakes its own
  dispatcher, and a NOTIFY woke every other node's too, each to claim from the same head
  of the queue (twice the claims a message with two nodes, each taking half as much). The
  other nodes find such work when they next look (`dispatcher.idle_poll`) or claim.
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
import math
import time
from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Collection,
    Iterator,
    Mapping,
    Sequence,
)
from functools import partial
from operator import attrgetter
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import asyncpg
import msgspec

from ..core.errors import ErrorCode, GatewayError
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
from ..waits import wait_set
from . import postgres_debits as debits
from . import rules
from ._group_commit import AcceptGroups, Coalesce, Pulse
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
from .callback_rows import outbox_item
from .claim_floor import ClaimFloor
from .migrations import SchemaStatus, migrations, schema_status
from .postgres_admin import PostgresAdmin
from .postgres_attempts import DoneMark, PostgresAttempts
from .postgres_console import PostgresConsole
from .postgres_held import HeldConnections
from .postgres_reports import in_report_order, line_row, record_checked
from .postgres_routes import PostgresRoutes
from .postgres_stream import CopyParts, PostgresStream
from .queries import load
from .recent import RecentMessages
from .rows import (
    ACCOUNT_FIELDS,
    account_from_row,
    account_value,
    callback_from_row,
    check_account_fields,
    columns,
    credential_from_row,
    entry_from_row,
    event_from_row,
    field_arrays,
    in_given_order,
    job_from_row,
    json_or_none,
    mo_from_row,
    row_to_message,
)

T = TypeVar("T")
log = logging.getLogger("smsgate.store")
Q = load("postgres")  # every statement, by name

_json_decode = msgspec.json.decode

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
# What asyncpg says when a statement is asked of a connection whose server sent its goodbye
# (a FATAL error: shutdown, pg_terminate_backend) while it sat idle in the pool or between two
# statements, and whose end of stream it has not read yet: its protocol waits for a sync that
# never comes ("state 2"), and refuses the statement before sending it. It reads like two
# operations at once on one connection, which it is not; nothing of the call was done.
_GOODBYE_READ = "cannot switch to state"


class _ServerClosed(Exception):
    """The server had closed the connection before our statement left it (_GOODBYE_READ)."""


def _raise_closed(exc: BaseException) -> None:
    """`_ServerClosed` when `exc` is asyncpg's refusal of a statement on a connection whose
    server had said goodbye (nothing of the call was done: it may go again)."""
    if isinstance(exc, asyncpg.InternalClientError) and _GOODBYE_READ in str(exc):
        raise _ServerClosed() from exc


_RETRY = (asyncpg.exceptions.DeadlockDetectedError, asyncpg.exceptions.SerializationError)
MIGRATION_LOCK = 0x5345_4741_5445  # advisory lock key: one node migrates at a time
_OUR_OPTIONS = ("pool_min", "pool_max", "connect_timeout")  # in the URL, not for the server

# fmt: off
# The columns of `message_row`: COPY writes them all (asyncpg composes the COPY statement from
# the table and these names); `messages_insert` takes the same less `seq` (`message_in`).
COPY_COLUMNS = (
    "seq", "id", "account_id", "dialect", "client_ref", "job_id", "sender", "phone", "text",
    "encoding", "segments", "priority", "not_before", "expires_at", "send_window", "flash", "tag",
    "callback_url", "status", "error_code", "price", "created_at", "updated_at", "confidential",
    "meta",
)
# fmt: on
_JOB_COLUMNS = "id account_id dialect client_ref total created_at"  # then meta (JSON), range
_seq_of = attrgetter("seq")

WAKE_SPACING = 0.01  # seconds between two wake-ups this process sends
SCHEDULE_SPACING = 0.1  # seconds of the claims' clock between two looks for schedules come due
COPY_FROM = 1000  # messages in one request from which COPY beats one unnest INSERT
# The connections of the statements run for every message (the group commits, the checked
# report writes, connector-log lines: `postgres_held`) plan each statement once. Left to
# choose (plan_cache_mode auto), the server planned `accept_at_once` anew at every execution:
# its generic plan, made for any number of accounts, costs more than a plan for the group's
# one, so a custom plan was always preferred, and planning it was the most of the statement's
# server time. These statements look rows up by key, which a generic plan does as well.
GENERIC_PLANS = {"plan_cache_mode": "force_generic_plan"}


def message_row(m: Message) -> tuple[Any, ...]:
    """A message's `COPY_COLUMNS` (attribute by attribute: 3x faster than an attrgetter)."""
    # fmt: off
    return (
        m.seq, m.id, m.account_id, m.dialect, m.client_ref, m.job_id, m.sender, m.phone, m.text,
        m.encoding, m.segments, m.priority, m.not_before, m.expires_at,
        json_or_none(m.window), m.flash, m.tag, m.callback_url,
        m.status, m.error_code, m.price, m.created_at, m.updated_at, m.confidential,
        json_or_none(m.meta),
    )
    # fmt: on


def message_in(m: Message) -> tuple[Any, ...]:
    """A message as a row of the type `message_in` (migration 013): `message_row` less seq."""
    return message_row(m)[1:]


def message_rows(messages: Sequence[Message]) -> Iterator[tuple[Any, ...]]:
    """`message_row` of each; of messages made from one template, with the fields they share
    taken from the first once (~30% less time than `message_row` each)."""
    if type(messages) is not OneTemplate or not messages:
        return map(message_row, messages)
    first = message_row(messages[0])
    account_id, dialect, job_id, sender, rest = first[2], first[3], first[5], first[6], first[9:]
    # A concatenation, not `*rest`: 25% faster here.
    return (
        (m.seq, m.id, account_id, dialect, m.client_ref, job_id, sender, m.phone, m.text) + rest  # noqa: RUF005
        for m in messages
    )


def _json_array(values: Sequence[Any]) -> list[str | None]:
    return [json_or_none(v) for v in values]


def _row_to_account(r: Any) -> Account:
    return account_from_row(r, r[12])  # r[12]: the senders, an array


def _first_column(row: Any) -> Any:
    return row[0]


def _count(status: str) -> int:
    """Rows touched, from a command tag such as 'INSERT 0 3' or 'DELETE 2'."""
    return int(status.rsplit(" ", 1)[-1]) if status and status[-1].isdigit() else 0


def split_url(url: str) -> tuple[str, dict[str, float]]:
    """asyncpg's DSN, and our own options taken out of the query string."""
    parts = urlsplit(url)
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    ours = {key: float(value) for key, value in pairs if key in _OUR_OPTIONS}
    rest = [(key, value) for key, value in pairs if key not in _OUR_OPTIONS]
    scheme = "postgresql" if parts.scheme in ("postgresql", "postgres") else parts.scheme
    dsn = urlunsplit((scheme, parts.netloc, parts.path, urlencode(rest), parts.fragment))
    return dsn, ours


async def _keep_session(conn: asyncpg.Connection) -> None:
    """Pool connections carry no session state of ours: skip the reset query (a round trip)."""


class PostgresStore(
    PostgresAttempts, PostgresConsole, PostgresAdmin, PostgresRoutes, PostgresStream, Store
):
    exclusive_dispatch = False
    notifies_work = True

    def __init__(
        self,
        url: str,
        *,
        pool_min: int = 1,
        pool_max: int = 10,
        group_commit: bool = True,
        wake_nodes: bool = True,
    ) -> None:
        self.dsn, ours = split_url(url)
        self.pool_min = int(ours.get("pool_min", pool_min))
        self.pool_max = int(ours.get("pool_max", pool_max))
        self.connect_timeout = ours.get("connect_timeout", 5.0)
        self.group_commit = group_commit
        self.wake_nodes = wake_nodes  # accepts NOTIFY every node's dispatcher (module docstring)
        self.channel = "public.smsgate_work"
        self.commits = 0  # accept transactions, for the benchmark
        self.closed_by_server = 0  # calls that went again: the server had closed their connection
        self._pool: asyncpg.Pool | None = None
        self._held: HeldConnections | None = None  # the group commits' (GENERIC_PLANS)
        self._listener: asyncio.Task[None] | None = None
        self._waiters: set[asyncio.Event] = set()
        self._signalled = False
        self._listening = asyncio.Event()  # set once LISTEN first succeeded
        self._groups = AcceptGroups(self._accept_grouped, slots=max(1, self.pool_max // 2))
        self._done: Coalesce[DoneMark] = Coalesce(self._write_done, slots=2)
        # At most one wake-up per WAKE_SPACING from this process: a dispatcher kept busy by a
        # stream of accepts claims without one; the first after a quiet spell goes at once.
        self._work_added = Pulse(lambda: self._fetch("work_notify", self.channel), WAKE_SPACING)
        self.owner = new_id()  # this store's outbox leases (one notifier's: rules.order_claim)
        self._recent = RecentMessages()  # what this store claimed and reported on
        self._scheduled_at = -math.inf  # the last claim that queued scheduled messages due
        self._floor = ClaimFloor()  # where claims start in messages_due (store/claim_floor.py)

    # Lifecycle -----------------------------------------------------------------------------
    async def open(self) -> None:
        if self._pool is not None:
            return
        try:
            # The held connections (as many as the group commits' slots) count in pool_max.
            pooled = max(1, self.pool_max - self._groups.slots)
            self._pool = await asyncpg.create_pool(
                self.dsn,
                reset=_keep_session,
                min_size=min(self.pool_min, pooled),
                max_size=pooled,
                timeout=self.connect_timeout,
                command_timeout=60.0,
                max_inactive_connection_lifetime=300.0,
            )
            schema = await self._pool.fetchval(Q["current_schema"])
        except (*_UNAVAILABLE, asyncpg.PostgresError) as exc:  # down, or no such database/user
            if self._pool is not None:
                self._pool.terminate()
            self._pool = None
            raise StoreUnavailable(f"cannot connect to PostgreSQL: {exc}") from exc
        self.channel = f"{schema}.smsgate_work"
        # Opened as they are first needed (the first at once, as the pool's pool_min are: a
        # node's first accept does not wait for a connection to open).
        self._held = HeldConnections(
            partial(
                asyncpg.connect,
                self.dsn,
                timeout=self.connect_timeout,
                command_timeout=60.0,
                server_settings=GENERIC_PLANS,
            ),
            limit=self._groups.slots,
        )
        if self.pool_min:
            try:
                await self._held.warm()
            except _UNAVAILABLE as exc:
                await self.close()
                raise StoreUnavailable(f"cannot connect to PostgreSQL: {exc}") from exc

    async def close(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
            self._listener = None
        await self._groups.drain()
        await self._done.drain()
        await self._work_added.drain()
        if self._held is not None:
            held, self._held = self._held, None
            await held.close()
        if self._pool is not None:
            pool, self._pool = self._pool, None
            try:
                async with asyncio.timeout(10.0):
                    await pool.close()
            except _UNAVAILABLE:
                pool.terminate()

    async def migrate(self) -> int:
        async def op(conn: asyncpg.Connection) -> int:
            await conn.execute(Q["migration_lock"], MIGRATION_LOCK)
            await conn.execute(Q["schema_version_create"])
            current = int(await conn.fetchval(Q["schema_version"]))
            for version, sql in migrations("postgres"):
                if version > current:
                    await conn.execute(sql)
                    await conn.execute(Q["schema_version_record"], version)
                    current = version
            return current

        return await self._tx(op)

    async def schema_status(self) -> SchemaStatus:
        exists = (await self._fetch("schema_version_exists"))[0][0]
        version = int((await self._fetch("schema_version"))[0][0]) if exists else 0
        return schema_status("postgres", version)

    # Plumbing -------------------------------------------------------------------------------
    @contextlib.asynccontextmanager
    async def _conn(self, generic: bool = False) -> AsyncIterator[asyncpg.Connection]:
        if generic and self._held is not None and self._held.busy < self._held.limit:
            async with self._held_conn() as conn:
                yield conn
            return
        if self._pool is None:
            raise StoreUnavailable("store is closed")
        try:
            async with self._pool.acquire(timeout=30.0) as conn:
                try:
                    yield conn
                except _UNAVAILABLE as exc:
                    # Never hand this connection out again: the pool opens a fresh one.
                    # (A connection the server closed is already back in the pool, detached.)
                    with contextlib.suppress(asyncpg.InterfaceError):
                        if not conn.is_closed():
                            conn.terminate()
                    _raise_closed(exc)
                    raise
        except _UNAVAILABLE as exc:
            raise StoreUnavailable(f"PostgreSQL unavailable: {exc}") from exc

    @contextlib.asynccontextmanager
    async def _held_conn(self) -> AsyncIterator[asyncpg.Connection]:
        """A held connection (`postgres_held`; `_conn` saw one free), faults mapped as
        `_conn`'s."""
        held = self._held
        if held is None:
            raise StoreUnavailable("store is closed")
        try:
            conn = await held.take()
        except _UNAVAILABLE as exc:
            raise StoreUnavailable(f"PostgreSQL unavailable: {exc}") from exc
        assert conn is not None  # `_conn` looked: one is free
        reusable = False
        try:
            yield conn
            reusable = True
        except _UNAVAILABLE as exc:
            _raise_closed(exc)
            raise StoreUnavailable(f"PostgreSQL unavailable: {exc}") from exc
        except Exception:
            reusable = True  # an error of the call's: its transaction was rolled back
            raise
        finally:
            held.give_back(conn, reusable)

    async def _tx(
        self,
        fn: Callable[[asyncpg.Connection], Awaitable[T]],
        tx: bool = True,
        *,
        generic: bool = False,
    ) -> T:
        """`fn` in one transaction (or, not `tx`, in the statement's own). Retried: a deadlock
        or serialization failure, and a call on a connection the server had closed (its
        transaction died with it, uncommitted): on another connection, as many times as the
        pool has connections (a restarting server closes them all). `generic`: on a
        connection of the group commits (GENERIC_PLANS)."""
        busy = closed = 0
        while True:
            try:
                async with self._conn(generic) as conn:
                    if not tx:
                        return await fn(conn)
                    async with conn.transaction():
                        return await fn(conn)
            except _RETRY:
                busy += 1
                if busy == 5:
                    raise StoreUnavailable("database too busy (deadlocks), retry later") from None
                await asyncio.sleep(0.01 * busy)
            except _ServerClosed as exc:
                closed += 1
                self.closed_by_server += 1
                if closed > self.pool_max:
                    raise StoreUnavailable("PostgreSQL closed every connection") from exc

    async def _fetch(self, query: str, *args: Any) -> list[Any]:
        """The rows of the named query `query`."""

        async def read(conn: asyncpg.Connection) -> list[Any]:
            try:
                return list(await conn.fetch(Q[query], *args))
            except asyncpg.exceptions.CharacterNotInRepertoireError:
                return []  # a NUL in a key (an id from a URL): no stored text has one

        return await self._tx(read, tx=False)

    async def _one(self, query: str, read: Callable[[Any], T], *args: Any) -> T | None:
        """The first row of the named query `query`, read by `read` (None: no row)."""
        rows = await self._fetch(query, *args)
        return read(rows[0]) if rows else None

    async def _execute(self, query: str, *args: Any) -> int:
        """The named query `query` alone, retried like in `_tx`: the rows it touched."""
        return _count(await self._tx(lambda conn: conn.execute(Q[query], *args), tx=False))

    # Wake-ups ---------------------------------------------------------------------------------
    def _notified(self, *_args: Any) -> None:
        self._signalled = True
        self._floor.reset()  # a release elsewhere: due again below this store's floor
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
                        await conn.fetchval(Q["ping"], timeout=10.0)
            except (*_UNAVAILABLE, asyncpg.PostgresError) as exc:
                why = "the server closed it" if _GOODBYE_READ in str(exc) else exc
                log.warning("LISTEN connection lost (%s); reconnecting", why)
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
            values = [account_value(n, getattr(account, n)) for n in ACCOUNT_FIELDS]
            values[-1] = account.created_at or time.time()
            account_id = int(await conn.fetchval(Q["account_insert"], *values))
            if account.senders:
                await conn.execute(Q["senders_add"], account_id, list(account.senders))
            return account_id

        try:
            account_id = await self._tx(op)
        except asyncpg.UniqueViolationError as exc:
            raise rules.name_taken(account.name) from exc
        found = await self.get_account(account_id)
        assert found is not None
        return found

    async def update_account(self, account_id: int, **fields: Any) -> Account:
        check_account_fields(fields)
        if fields:
            values = [account_value(n, fields.get(n)) for n in ACCOUNT_FIELDS]

            async def op(conn: asyncpg.Connection) -> None:
                if fields.get("balance") is not None:  # set outright: the slices are in it
                    await debits.whole_balance(conn, account_id)
                await conn.execute(Q["account_update"], account_id, *values)

            try:
                await self._tx(op)
            except asyncpg.UniqueViolationError as exc:
                raise rules.name_taken(str(fields.get("name"))) from exc
            except asyncpg.CheckViolationError as exc:
                raise rules.balance_below_zero() from exc
        return rules.account_found(await self.get_account(account_id), account_id)

    async def get_account(self, account_id: int) -> Account | None:
        return await self._one("account_by_id", _row_to_account, account_id)

    async def account_by_name(self, name: str) -> Account | None:
        return await self._one("account_by_name", _row_to_account, name)

    async def list_accounts(self) -> list[Account]:
        return [_row_to_account(r) for r in await self._fetch("accounts_all")]

    async def adjust_balance(self, account_id: int, delta: int) -> int:
        async def op(conn: asyncpg.Connection) -> int:
            balance = rules.adjusted_balance(await debits.whole_balance(conn, account_id), delta)
            await conn.execute(Q["account_free_add"], account_id, delta)
            return balance

        return await self._tx(op)

    async def put_credential(self, credential: Credential) -> None:
        c = credential
        await self._execute(
            "credential_put", c.account_id, c.dialect, c.kind, c.identifier, c.secret
        )

    async def find_credential(self, dialect: str, kind: str, identifier: str) -> Credential | None:
        return await self._one("credential_find", credential_from_row, dialect, kind, identifier)

    async def credentials_of(self, account_id: int) -> list[Credential]:
        return [credential_from_row(r) for r in await self._fetch("credentials_of", account_id)]

    async def delete_credential(self, dialect: str, kind: str, identifier: str) -> bool:
        return await self._execute("credential_delete", dialect, kind, identifier) > 0

    async def add_sender(self, account_id: int, name: str) -> None:
        await self._execute("senders_add", account_id, [name])

    async def remove_sender(self, account_id: int, name: str) -> bool:
        return await self._execute("sender_remove", account_id, name) > 0

    async def stoplist_add(self, account_id: int, phones: Sequence[str]) -> int:
        return await self._execute("stoplist_add", account_id, sorted(set(phones)))

    async def stoplist_remove(self, account_id: int, phones: Sequence[str]) -> int:
        return await self._execute("stoplist_remove", account_id, list(set(phones)))

    async def stoplist(self, account_id: int) -> list[str]:
        return [r[0] for r in await self._fetch("stoplist_of", account_id)]

    # Accept ---------------------------------------------------------------------------------
    async def accept(
        self,
        account_id: int,
        items: Sequence[Message | Refusal],
        *,
        job: Job | None = None,
        atomic: bool = False,
    ) -> list[Outcome]:
        request = rules.AcceptRequest(account_id, items, job, atomic)
        if not rules.needs_store(request):
            return rules.without_store(request)
        if not self.group_commit or len(items) >= COPY_FROM:
            return (await self._accept_alone([request]))[0]
        return await self._groups.submit(request)

    async def _accept_grouped(self, requests: list[rules.AcceptRequest]) -> list[list[Outcome]]:
        return await self._accept_alone(requests, generic=True)

    async def _accept_alone(
        self, requests: list[rules.AcceptRequest], generic: bool = False
    ) -> list[list[Outcome]]:
        tx = partial(self._tx, generic=generic)
        try:
            result = await tx(lambda conn: _accept_at_once(conn, requests), tx=False)
            if result is None:
                try:
                    result = await tx(lambda conn: _accept(conn, requests))
                except debits.OutOfOrder:
                    result = await tx(lambda conn: _accept(conn, requests, ordered=True))
        except asyncpg.exceptions.DataError as exc:  # e.g. a NUL character in a text
            raise GatewayError(ErrorCode.INVALID_FIELD, f"cannot store this value: {exc}") from exc
        self.commits += 1
        if self.wake_nodes and rules.wakes_dispatchers(result):
            self._work_added.ask()
        return result

    def _copy_parts(self) -> CopyParts:
        return CopyParts(COPY_COLUMNS, message_rows, _next_seqs, _pay)

    # Reads ------------------------------------------------------------------------------------
    async def _messages(self, query: str, *args: Any) -> list[Message]:
        return [row_to_message(r) for r in await self._fetch(query, *args)]

    async def get_message(self, account_id: int, message_id: str) -> Message | None:
        return await self._one("message_by_id", row_to_message, message_id, account_id)

    async def get_messages(self, account_id: int, message_ids: Sequence[str]) -> list[Message]:
        found = await self._messages("messages_by_ids", account_id, list(message_ids))
        return in_given_order(found, message_ids)

    async def message_by_ref(
        self, account_id: int, dialect: str, client_ref: str
    ) -> Message | None:
        return await self._one("message_by_ref", row_to_message, account_id, dialect, client_ref)

    async def message_by_seq(self, account_id: int, seq: int) -> Message | None:
        return await self._one("message_by_seq", row_to_message, seq, account_id)

    async def owner_by_seq(self, seq: int) -> int | None:
        return await self._one("owner_by_seq", _first_column, seq)

    async def list_messages(
        self, account_id: int, flt: MessageFilter, *, after_seq: int = 0, limit: int = 100
    ) -> list[Message]:
        filters = msgspec.structs.astuple(flt)  # status phone job_id dialect since until
        return await self._messages("messages_list", account_id, after_seq, *filters, int(limit))

    async def get_job(self, account_id: int, job_id: str) -> JobCounts | None:
        rows = await self._fetch("job_by_id", job_id, account_id)
        if not rows:
            return None
        job = job_from_row(rows[0])
        counts = await self._fetch("job_counts", job_id, account_id)
        return JobCounts(job=job, by_status={s: int(n) for s, n in counts})

    async def job_messages(
        self, account_id: int, job_id: str, *, after_seq: int = 0, limit: int = 1000
    ) -> list[Message]:
        return await self._messages("job_messages", job_id, account_id, after_seq, int(limit))

    async def events_of(self, account_id: int, message_id: str) -> list[StatusEvent]:
        return [event_from_row(r) for r in await self._fetch("events_of", message_id, account_id)]

    async def events_after(self, after_seq: int, limit: int = 500) -> list[StatusEvent]:
        return [event_from_row(r) for r in await self._fetch("events_after", after_seq, limit)]

    async def events_start(self, since: float | None = None) -> int:
        if since is None:
            return int((await self._fetch("events_last"))[0][0])
        return int((await self._fetch("events_start_since", since))[0][0])

    async def list_mo(
        self, account_id: int, *, after_seq: int = 0, limit: int = 100
    ) -> list[MoMessage]:
        rows = await self._fetch("mo_list", account_id, after_seq, limit)
        return [mo_from_row(r) for r in rows]

    async def cancel(self, account_id: int, message_id: str, route: CallbackRoute) -> Message:
        async def op(conn: asyncpg.Connection) -> Message:
            # PostgreSQL text holds no NUL: an id with one (from a URL) is no stored message's.
            row = (
                None
                if "\x00" in message_id
                else await conn.fetchrow(Q["message_lock_claimed"], message_id, account_id)
            )
            message = row_to_message(row) if row is not None else None
            report = rules.cancel_report(message, row is not None and row[-1], time.time())
            plan = await _apply_reports(conn, [report], route)
            return plan.moves[message_id].message

        return await self._tx(op)

    # Dispatcher -------------------------------------------------------------------------------
    async def claim_due(
        self, now: float, limit: int, token: str, lease: float, skip_accounts: Collection[int] = ()
    ) -> list[Message]:
        # Two statements, each its own transaction: round trips for no BEGIN and COMMIT (the
        # claim sees what the first queued; neither needs the other undone with it). The first
        # at most every SCHEDULE_SPACING of the claims' clock: a busy dispatcher claims every
        # few milliseconds, and a scheduled message may come due that much late.
        if not self._scheduled_at <= now < self._scheduled_at + SCHEDULE_SPACING:
            if await self._execute("scheduled_due", now):
                self._floor.reset()  # come due with the numbers they were accepted with
            self._scheduled_at = now
        start = self._floor.start(now)
        skip = list(skip_accounts)
        rows = await self._fetch("claim_due", token, now + lease, skip, limit, start)
        claimed = sorted(map(row_to_message, rows), key=lambda m: (-m.priority, m.seq))
        self._floor.claimed(start, limit, [m.seq for m in claimed], bool(skip))
        self._recent.remember(claimed)  # their reports are planned from these (`record_checked`)
        return claimed

    async def release(self, message_ids: Sequence[str], not_before: float | None) -> None:
        if message_ids:
            status = rules.released_status(not_before).value
            await self._execute("release", list(message_ids), not_before, status, self.channel)
            self._floor.reset()  # due again with the numbers they were accepted with

    async def claimed_by_others(self, now: float, token: str, lease: float = 60.0) -> list[Message]:
        rows = await self._tx(
            lambda conn: conn.fetch(Q["claimed_by_others"], token, now, now + lease)
        )
        return sorted(map(row_to_message, rows), key=lambda m: m.seq)

    async def renew_leases(self, token: str, until: float) -> int:
        return await self._execute("renew_leases", token, until)

    async def record_reports(
        self, reports: Sequence[Report], route: CallbackRoute, lines: Sequence[LogLine] = ()
    ) -> list[StatusEvent]:
        if not reports:
            await self._log_lines("connector_log_note", lines)
            return []
        try:
            # The lines go in the checked write (one commit with the reports, a statement
            # fewer a batch) or, where it writes nothing, before the locked way.
            done = await self._tx(
                lambda conn: record_checked(conn, self._recent, reports, route, lines),
                tx=False,
                generic=True,  # a message's every report: planned once (GENERIC_PLANS)
            )
            events = done.events
            if done.left:  # a row moved since it was planned from, or money goes back
                left = [r for r in reports if r.message_id in done.left]
                plan = await self._tx(lambda conn: _apply_reports(conn, left, route))
                self._recent.remember(move.message for move in plan.moves.values())
                events = in_report_order(reports, events + [e for _, e in plan.events])
        except BaseException:
            # Written or not, unknown: read their rows next time.
            self._recent.forget(r.message_id for r in reports)
            raise
        return events

    async def message_by_carrier_id(self, carrier_id: str) -> Message | None:
        return await self._one("message_by_carrier_id", row_to_message, carrier_id)

    async def ping(self) -> None:
        await self._fetch("ping")

    async def counts(self) -> dict[str, int]:
        return {s: int(n) for s, n in await self._fetch("counts")}

    # MO ---------------------------------------------------------------------------------------
    async def store_mo(self, mos: Sequence[MoMessage], route: CallbackRoute) -> None:
        async def op(conn: asyncpg.Connection) -> None:
            seqs = await _next_seqs(conn, "next_mo_seqs", len(mos))
            stored = [msgspec.structs.replace(mo, seq=s) for mo, s in zip(mos, seqs, strict=True)]
            arrays = field_arrays(stored, "seq id account_id phone to text received_at reply_to")
            meta = _json_array([mo.meta for mo in stored])
            await conn.execute(Q["mo_insert"], *arrays, meta)
            urls = await _callback_urls(conn, {mo.account_id for mo in stored})
            owed = [rules.mo_callbacks(mo, urls.get(mo.account_id, {}), route) for mo in stored]
            await _queue_callbacks(conn, [row for rows in owed for row in rows])

        if mos:
            await self._tx(op)

    # Outbox -----------------------------------------------------------------------------------
    async def outbox_claim(
        self, now: float, limit: int, lease: float, scope: OutboxScope = EVERY_DIALECT
    ) -> list[OutboxItem]:
        if not await self._fetch("outbox_any_due", now, *_scope_args(scope)):
            return []  # nothing due: an idle notifier's poll commits no transaction

        async def op(conn: asyncpg.Connection) -> list[Any]:
            rows = await conn.fetch(Q["outbox_due"], now, limit, *_scope_args(scope))
            if not rows:
                return []
            ids = [r[0] for r in rows]
            found = [rules.Sibling(*r) for r in await conn.fetch(Q["outbox_siblings"], ids)]
            plan = rules.order_claim(ids, found, now, self.owner)
            held = columns(plan.hold, 2)
            until, owner = now + lease, self.owner
            await conn.execute(Q["outbox_lease"], plan.send, until, owner, *held)
            return list(await conn.fetch(Q["outbox_subjects"], plan.send)) if plan.send else []

        return [outbox_item(r) for r in await self._tx(op)]  # in id order, as plan.send

    async def outbox_unlease(self, scope: OutboxScope = EVERY_DIALECT) -> int:
        # Only an exclusive notifier calls this (SQLite); on a shared database leases expire.
        return await self._execute("outbox_unlease", *_scope_args(scope))

    async def outbox_defer(self, ids: Sequence[int], next_at: float) -> None:
        await self._execute("outbox_defer", list(ids), next_at)

    async def outbox_items(
        self, account_id: int | None = None, state: str | None = None
    ) -> list[OutboxItem]:
        return [outbox_item(r) for r in await self._fetch("outbox_items", account_id, state)]

    async def callbacks_of(self, account_id: int, message_id: str) -> list[CallbackState]:
        rows = await self._fetch("callbacks_of", message_id, account_id)
        return [callback_from_row(r) for r in rows]

    async def outbox_backlog(self) -> dict[str, int]:
        return {str(dialect): int(n) for dialect, n in await self._fetch("outbox_backlog")}

    # Connector log ----------------------------------------------------------------------------
    async def connector_log_add(self, connector: str, entries: Sequence[ConnectorEntry]) -> None:
        await self._log_lines("connector_log_add", [(connector, e) for e in entries])

    async def connector_log_note(self, connector: str, entries: Sequence[ConnectorEntry]) -> None:
        await self._log_lines("connector_log_note", [(connector, e) for e in entries])

    async def _log_lines(self, query: str, lines: Sequence[LogLine]) -> None:
        """Connector-log lines, by `query` (flushed or not: their named statements say)."""
        if lines:
            rows, statement = list(map(line_row, lines)), Q[query]
            # Lines of every message sent: planned once (GENERIC_PLANS)
            await self._tx(lambda conn: conn.execute(statement, rows), False, generic=True)

    async def connector_log_find(
        self, connector: str, message_ids: Sequence[str]
    ) -> list[ConnectorEntry]:
        rows = await self._fetch("connector_log_find", connector, list(message_ids))
        return [entry_from_row(r) for r in rows]

    async def connector_log_pending(
        self, connector: str, limit: int = 10000
    ) -> list[ConnectorEntry]:
        rows = await self._fetch("connector_log_pending", connector, limit)
        return [entry_from_row(r) for r in rows]

    async def connector_log_reported(self, connector: str, message_ids: Sequence[str]) -> None:
        await self._execute("connector_log_reported", connector, list(message_ids))


# Transactions -------------------------------------------------------------------------------


async def _next_seqs(conn: asyncpg.Connection, query: str, n: int) -> list[int]:
    """`n` numbers from the sequence of the named query `query`."""
    return [r[0] for r in await conn.fetch(Q[query], n)] if n else []


async def _accept_at_once(
    conn: asyncpg.Connection, requests: Sequence[rules.AcceptRequest]
) -> list[list[Outcome]] | None:
    """The usual group (every item new, its slices at hand) in one statement, its own
    transaction: a round trip where `_accept` takes four. None: nothing written (a reference
    stored before, a stop-listed phone, a slice short or held elsewhere, a job or a COPY)."""
    plan = rules.plan_unhindered(requests)
    if plan is None or plan.jobs or len(plan.fresh) >= COPY_FROM:
        return None
    accounts = sorted(plan.debits)
    rows = list(map(message_in, plan.fresh))
    owed = [plan.debits[a] for a in accounts]
    try:  # the stop lists are read by the rows' own (account, phone)
        written = dict(await conn.fetch(Q["accept_at_once"], rows, accounts, owed))
    except asyncpg.UniqueViolationError:
        return None
    if not written:
        return None
    for m in plan.fresh:
        m.seq = written[m.id]
    return plan.outcomes


async def _accept(
    conn: asyncpg.Connection, requests: Sequence[rules.AcceptRequest], ordered: bool = False
) -> list[list[Outcome]]:
    """Accept one or more requests in the caller's transaction (see the module's docstring).

    Each account's debit slice is taken first (`postgres_debits`; `ordered`: in id order), and
    the stop list read (in the same round trip, as a rule). A plan that makes every
    item new is written before the references are read: the unique index checks them as the
    rows go in, and a stored one takes the rows out again. Any other plan is made from the
    stored references. A reference another transaction stored meanwhile retries the whole.
    """
    wanted = rules.lookups(requests)
    stops = rules.stop_probes(requests)
    slices = await debits.reserve(conn, rules.most_owed(requests), ordered=ordered, stops=stops)
    balances = slices.held
    stopped = slices.stopped
    if stopped is None:  # not read with the slices (no debit, or taken in order)
        stopped = set()
        if stops[0]:
            rows = await conn.fetch(Q["stoplist_match"], *stops)
            stopped = {(r[0], r[1]) for r in rows}
    plan = rules.plan_accept(requests, rules.Known({}, stopped, balances))
    copy = len(requests) == 1 and len(plan.fresh) >= COPY_FROM
    blind = plan.all_new or not any(wanted.refs.values())  # nothing stored can change it
    if not (blind and await _insert(conn, plan.fresh, copy=copy, pay=(slices, plan.debits))):
        stored = await _stored(conn, wanted.refs)
        plan = rules.plan_accept(requests, rules.Known(stored, stopped, balances))
        if not await _insert(conn, plan.fresh, copy=copy, pay=(slices, plan.debits)):
            raise asyncpg.exceptions.SerializationError("a reference was stored meanwhile")
    await _pay(conn, plan, slices)
    return plan.outcomes


async def _insert(
    conn: asyncpg.Connection,
    fresh: Sequence[Message],
    *,
    copy: bool,
    pay: tuple[debits.Slices, Mapping[int, int]] | None = None,
) -> bool:
    """Write the plan's messages, numbering them in place; False, with nothing written, when
    the unique index finds a reference among them stored already. An INSERT carries the
    changes of `pay`'s slices for its debits too (a round trip fewer; `_pay` writes what it
    did not)."""
    if not fresh:
        return True
    if copy:
        seqs = await _next_seqs(conn, "next_message_seqs", len(fresh))
        for m, s in zip(fresh, seqs, strict=True):
            m.seq = s
        try:
            async with conn.transaction():  # a savepoint: the index refuses a COPY as a whole
                await conn.copy_records_to_table(
                    "messages", records=map(message_row, fresh), columns=COPY_COLUMNS
                )
        except asyncpg.UniqueViolationError:
            return False
        return True
    paid = pay[0].unwritten(pay[1]) if pay else ([], [])
    written = dict(await conn.fetch(Q["messages_insert"], list(map(message_in, fresh)), *paid))
    if len(written) < len(fresh):
        if written:
            await conn.execute(Q["messages_delete"], list(written))
        return False
    for m in fresh:
        m.seq = written[m.id]
    return True


async def _stored(
    conn: asyncpg.Connection, refs: dict[tuple[int, str], set[str]]
) -> dict[tuple[int, str, str], Message]:
    """The stored messages of the references looked up, by (account, dialect, reference)."""
    keys = [(a, d, r) for (a, d), wanted in refs.items() for r in wanted]
    if not keys:
        return {}
    rows = await conn.fetch(Q["messages_by_refs"], *columns(keys, 3))
    found = map(row_to_message, rows)
    return {(m.account_id, m.dialect, m.client_ref or ""): m for m in found}


async def _pay(conn: asyncpg.Connection, plan: rules.AcceptPlan, slices: debits.Slices) -> None:
    """The plan's debits (from the slices it was planned against) and jobs, once its messages
    are written."""
    await debits.spend(conn, slices, plan.debits)
    if plan.jobs:
        jobs = [j for j, _, _ in plan.jobs]
        arrays = field_arrays(jobs, _JOB_COLUMNS)
        first, last = _seq_ranges(plan)  # where job_messages finds them (schema version 11)
        await conn.execute(
            Q["jobs_insert"], *arrays, _json_array([j.meta for j in jobs]), first, last
        )


def _seq_ranges(plan: rules.AcceptPlan) -> tuple[list[int], list[int]]:
    """Each job's lowest and highest seq. Its messages are the plan's fresh ones from its first
    to its last; the sequence numbers an INSERT's rows in the order they come, but that order
    is not promised, so the range is taken over all of them (in C: 2 ms for 50,000)."""
    firsts, lasts = [], []
    for _job, first, last in plan.jobs:
        start = plan.fresh.index(first)
        seqs = list(map(_seq_of, plan.fresh[start : plan.fresh.index(last, start) + 1]))
        firsts.append(min(seqs))
        lasts.append(max(seqs))
    return firsts, lasts


async def _apply_reports(
    conn: asyncpg.Connection, reports: Sequence[Report], route: CallbackRoute
) -> rules.ReportPlan:
    """The rules' moves, events, refunds and callbacks, in the caller's transaction.

    The messages are locked in id order first: two nodes reporting on the same message (a
    receipt sent twice after a crash) take turns, and the plan is made from what they hold.
    """
    ids = sorted({r.message_id for r in reports})
    rows = await conn.fetch(Q["messages_lock"], ids)
    plan = rules.plan_reports({r[1]: row_to_message(r) for r in rows}, reports)
    # One update: a carrier id learnt without a move, then the moves (which carry it too).
    changes = {m.id: (m, False, False) for m, _ in plan.carrier_ids}
    changes.update({i: (mv.message, mv.clear_lease, mv.blank_text) for i, mv in plan.moves.items()})
    if changes:
        moved, clear, blank = zip(*changes.values(), strict=True)
        arrays = field_arrays(
            moved, "id status error_code updated_at carrier_id submitted_at done_at"
        )
        await conn.execute(Q["messages_move"], *arrays, list(clear), list(blank))
    if plan.refunds:
        accounts = sorted(plan.refunds)
        await conn.execute(Q["accounts_lock"], accounts)
        await conn.execute(Q["balances_credit"], accounts, [plan.refunds[i] for i in accounts])
    if plan.events:
        seqs = await _next_seqs(conn, "next_event_seqs", len(plan.events))
        for (_, event), seq in zip(plan.events, seqs, strict=True):
            event.seq = seq
        fields = "seq message_id account_id status error_code carrier_error at"
        await conn.execute(Q["events_insert"], *field_arrays([e for _, e in plan.events], fields))
        urls = await _callback_urls(conn, {e.account_id for _, e in plan.events})
        await _queue_callbacks(conn, rules.dr_callbacks(plan.events, urls, route))
    return plan


async def _callback_urls(
    conn: asyncpg.Connection, account_ids: set[int]
) -> dict[int, dict[str, str]]:
    rows = await conn.fetch(Q["callback_urls"], list(account_ids))
    return {r[0]: _json_decode(r[1]) for r in rows}


async def _queue_callbacks(conn: asyncpg.Connection, rows: Sequence[rules.OutboxRow]) -> None:
    if rows:
        await conn.execute(Q["outbox_insert"], *columns(rows, 7))


def _scope_args(scope: OutboxScope) -> tuple[list[str] | None, list[str]]:
    """`scope` as the two text[] parameters of the outbox statements: only (NULL: any), skip."""
    return (sorted(scope.only) if scope.only is not None else None, sorted(scope.skip))
