"""The one storage interface. Backends: sqlite.py (embedded default), postgres.py (scale-out)."""

from __future__ import annotations

import abc
import asyncio
from collections.abc import Awaitable, Callable, Collection, Iterator, Sequence
from typing import Any, Literal

import msgspec

from ..core.admin import AdminLogin, AdminUser, AuditEntry, LedgerEntry, LedgerKind, Role
from ..core.errors import GatewayError
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
from ..core.routing import MessageRoute, RoutingTable, TableDiff
from ..core.throttle import Limit
from ..waits import wait_set
from .migrations import SchemaStatus


class StoreUnavailable(Exception):
    """The database cannot be reached or written; callers answer 503 and keep nothing half-done."""


class Outcome(msgspec.Struct):
    """What became of one recipient of an accept request."""

    kind: Literal["new", "duplicate", "error"]
    message: Message | None = None
    error: GatewayError | None = None


class AllNew(list[Outcome]):
    """The outcomes of a request whose every item became a new message, in item order (made
    by store.rules only): who counts them, or asks whether any was refused, need not look at
    each of a bulk's 50,000 (~3 ms a loop over them)."""

    __slots__ = ()


class Refusal(msgspec.Struct, kw_only=True):
    """A recipient refused before the store (validation). It still goes to the store: a client
    reference stored before wins over the refusal (rule 1).

    `held`: the recipient as a message to store anyway (unpriced and held back), for dialects
    that report their batches' bad recipients as rejected messages; its outcome is then an
    error that carries the stored message. `held_alone`: stored even when nothing else of its
    request is (else only beside a new message).
    """

    error: GatewayError
    dialect: str
    client_ref: str | None = None
    held: Message | None = None
    held_alone: bool = True


class OutboxItem(msgspec.Struct, kw_only=True):
    id: int
    event_id: str
    account_id: int
    dialect: str
    kind: str  # 'dr' | 'mo'
    url: str
    payload: bytes  # stored with the row by a version that stored payloads; else empty
    attempts: int
    created_at: float
    notice: Notice | None = None  # rendered from its subject's rows as it was read

    def subject(self) -> Notice | None:
        """What the callback reports: the notice rendered as it was read, or the payload
        stored with it; None when its subject is gone (purged)."""
        if self.notice is not None:
            return self.notice
        return _decode_notice(self.payload) if self.payload else None


_decode_notice = msgspec.json.Decoder(Notice).decode


class CallbackState(msgspec.Struct, kw_only=True):
    """Where one callback owed for a message's event stands (its outbox row, until purged)."""

    event_id: str  # "ev-<event seq>"
    dialect: str
    state: str  # 'pending' | 'done' | 'dead'
    attempts: int
    last_error: str | None = None  # the last failed attempt's: "HTTP 500", "TimeoutError: ..."


class OutboxScope(msgspec.Struct, frozen=True):
    """Which dialects' callbacks a notifier delivers: `only` these (None: every dialect), less
    those in `skip`. Two notifiers with disjoint scopes share one outbox without ever claiming
    or unleasing each other's rows."""

    only: frozenset[str] | None = None
    skip: frozenset[str] = frozenset()

    def covers(self, dialect: str) -> bool:
        return (self.only is None or dialect in self.only) and dialect not in self.skip


EVERY_DIALECT = OutboxScope()


class ConnectorEntry(msgspec.Struct, kw_only=True):
    """One line of a connector's durable log: message handed over, carrier id, report pending."""

    message_id: str
    carrier_id: str
    submitted_at: float
    outcome: str | None = None
    report_due: float | None = None


# A connector-log line and the connector it is of: lines a connector leaves to the record of
# its acknowledgement (Store.record_reports).
LogLine = tuple[str, ConnectorEntry]


def by_connector(lines: Sequence[LogLine]) -> dict[str, list[ConnectorEntry]]:
    """Connector-log lines grouped by their connector, in order."""
    grouped: dict[str, list[ConnectorEntry]] = {}
    for connector, entry in lines:
        grouped.setdefault(connector, []).append(entry)
    return grouped


class MessageFilter(msgspec.Struct, kw_only=True):
    status: str | None = None
    phone: str | None = None
    job_id: str | None = None
    dialect: str | None = None
    since: float | None = None
    until: float | None = None


# Decides where a status event or MO is pushed: given the message (None for an MO), the event
# or MO, and the account's callback URLs, the (dialect, url) targets. Pure: runs in the writer.
CallbackRoute = Callable[
    [Message | None, StatusEvent | MoMessage, dict[str, str]], list[tuple[str, str]]
]


class Store(abc.ABC):
    """Every query smsgate makes. Writes are durable when the awaited call returns."""

    # Lifecycle ---------------------------------------------------------------------------
    @abc.abstractmethod
    async def open(self) -> None: ...

    @abc.abstractmethod
    async def close(self) -> None: ...

    @abc.abstractmethod
    async def migrate(self) -> int:
        """Apply pending schema migrations; return the schema version."""

    @abc.abstractmethod
    async def schema_status(self) -> SchemaStatus:
        """The database's schema version against this code's migrations. Reads only: creates
        nothing, not even the version table (commands that only read call it, never migrate)."""

    # Only one dispatcher may run on this database (SQLite): recovery need not wait for leases.
    exclusive_dispatch: bool = False

    async def lock_engine(self) -> None:
        """Claim the right to run an engine on this database, where only one may (SQLite)."""
        return None

    # Accounts and provisioning -----------------------------------------------------------
    @abc.abstractmethod
    async def create_account(self, account: Account) -> Account: ...

    @abc.abstractmethod
    async def update_account(self, account_id: int, **fields: Any) -> Account: ...

    @abc.abstractmethod
    async def get_account(self, account_id: int) -> Account | None: ...

    @abc.abstractmethod
    async def account_by_name(self, name: str) -> Account | None: ...

    @abc.abstractmethod
    async def list_accounts(self) -> list[Account]: ...

    @abc.abstractmethod
    async def adjust_balance(self, account_id: int, delta: int) -> int:
        """Add `delta` (may be negative) atomically; refuse to go below zero. New balance."""

    @abc.abstractmethod
    async def put_credential(self, credential: Credential) -> None: ...

    @abc.abstractmethod
    async def find_credential(
        self, dialect: str, kind: str, identifier: str
    ) -> Credential | None: ...

    @abc.abstractmethod
    async def credentials_of(self, account_id: int) -> list[Credential]: ...

    @abc.abstractmethod
    async def delete_credential(self, dialect: str, kind: str, identifier: str) -> bool: ...

    @abc.abstractmethod
    async def add_sender(self, account_id: int, name: str) -> None: ...

    @abc.abstractmethod
    async def remove_sender(self, account_id: int, name: str) -> bool: ...

    @abc.abstractmethod
    async def stoplist_add(self, account_id: int, phones: Sequence[str]) -> int: ...

    @abc.abstractmethod
    async def stoplist_remove(self, account_id: int, phones: Sequence[str]) -> int: ...

    @abc.abstractmethod
    async def stoplist(self, account_id: int) -> list[str]: ...

    # Accept ------------------------------------------------------------------------------
    @abc.abstractmethod
    def accept(
        self,
        account_id: int,
        items: Sequence[Message | Refusal],
        *,
        job: Job | None = None,
        atomic: bool = False,
    ) -> Awaitable[list[Outcome]]:
        """Store new messages in one transaction, shared with concurrent callers; an outcome
        per item, in order, as `rules.plan_accept` decides (duplicates, refusals, stop list,
        balance, atomic: the precedence in rules.py's docstring).

        A 'new' outcome's message carries its seq; it is the given Message itself, numbered
        in place (no copy per message in a bulk).

        To await: a coroutine, or (SQLite) the writer's future itself, a frame less for every
        single send.
        """

    async def accept_stream(
        self, account_id: int, count: int, chunks: Iterator[list[Message]], *, job: Job | None
    ) -> list[Outcome] | None:
        """A large request of `count` messages, written while the caller still builds them:
        `chunks` yields them a list at a time, each built as the store takes it, so that the
        database writes one list while the next is built (bulk_stream.py). Its outcomes, as
        `accept` would give them when every message is new; None when they are not, or when
        `chunks` ends short of `count`: nothing is stored, and the caller goes through
        `accept`. A backend that cannot overlap the two answers None at once."""
        return None

    # Reads for the APIs --------------------------------------------------------------------
    @abc.abstractmethod
    async def get_message(self, account_id: int, message_id: str) -> Message | None: ...

    @abc.abstractmethod
    async def get_messages(self, account_id: int, message_ids: Sequence[str]) -> list[Message]: ...

    @abc.abstractmethod
    async def message_by_ref(
        self, account_id: int, dialect: str, client_ref: str
    ) -> Message | None: ...

    @abc.abstractmethod
    async def message_by_seq(self, account_id: int, seq: int) -> Message | None: ...

    @abc.abstractmethod
    async def owner_by_seq(self, seq: int) -> int | None:
        """The account owning message `seq`, for dialects that answer 403 (another's) vs 404."""

    @abc.abstractmethod
    async def list_messages(
        self, account_id: int, flt: MessageFilter, *, after_seq: int = 0, limit: int = 100
    ) -> list[Message]: ...

    @abc.abstractmethod
    async def get_job(self, account_id: int, job_id: str) -> JobCounts | None: ...

    @abc.abstractmethod
    async def job_messages(
        self, account_id: int, job_id: str, *, after_seq: int = 0, limit: int = 1000
    ) -> list[Message]: ...

    @abc.abstractmethod
    async def events_of(self, account_id: int, message_id: str) -> list[StatusEvent]: ...

    @abc.abstractmethod
    async def events_after(self, after_seq: int, limit: int = 500) -> list[StatusEvent]: ...

    @abc.abstractmethod
    async def events_start(self, since: float | None = None) -> int:
        """The seq after which the status events from `since` (a Unix time) on come; with
        None, the last event's seq (0: none), after which only new events come (`tail`)."""

    @abc.abstractmethod
    async def list_mo(
        self, account_id: int, *, after_seq: int = 0, limit: int = 100
    ) -> list[MoMessage]: ...

    @abc.abstractmethod
    async def cancel(self, account_id: int, message_id: str, route: CallbackRoute) -> Message:
        """Cancel a message not yet handed to a connector and refund it; GatewayError if not."""

    # Dispatcher --------------------------------------------------------------------------
    @abc.abstractmethod
    async def claim_due(
        self, now: float, limit: int, token: str, lease: float, skip_accounts: Collection[int] = ()
    ) -> list[Message]:
        """Take up to `limit` due messages, highest priority first, leased to `token`."""

    @abc.abstractmethod
    async def release(self, message_ids: Sequence[str], not_before: float | None) -> None:
        """Give claimed messages back to the queue (optionally not before a time)."""

    @abc.abstractmethod
    async def claimed_by_others(self, now: float, token: str, lease: float = 60.0) -> list[Message]:
        """Messages whose lease lapsed while handed to a connector: for crash recovery.

        On a shared database (not `exclusive_dispatch`) they are taken over in the same step:
        leased to `token` until `now + lease`, so each orphan is recovered by one node only.
        """

    async def renew_leases(self, token: str, until: float) -> int:
        """Extend every lease `token` holds to `until` (a live dispatcher's heartbeat).

        Only a dead dispatcher's leases lapse, however long a message waits in a rate limit or
        in a slow connector. Stores with `exclusive_dispatch` need not keep leases: no-op.
        """
        return 0

    # Wake-ups ------------------------------------------------------------------------------
    # True when `wait_for_work` also hears work committed by other nodes (LISTEN/NOTIFY); the
    # dispatcher then polls seldom (for schedules and lapsed leases) instead of tightly.
    notifies_work: bool = False

    async def wait_for_work(self, wakeup: asyncio.Event, timeout: float) -> None:
        """Return when `wakeup` is set (new work in this process), when another node signals
        new work (stores that can), or after `timeout` seconds, whichever comes first."""
        await wait_set(wakeup, timeout)

    @abc.abstractmethod
    async def record_reports(
        self, reports: Sequence[Report], route: CallbackRoute, lines: Sequence[LogLine] = ()
    ) -> list[StatusEvent]:
        """Apply legal status changes, keep each as an event, queue callbacks; one commit.

        `lines`: connector-log lines of the connector whose acknowledgement `reports` are,
        written first: committed with the reports (SQLite: one commit, so that a connector
        whose acceptance is its log line costs no write of its own) or before them (as
        connector_log_note), never after."""

    @abc.abstractmethod
    async def message_by_carrier_id(self, carrier_id: str) -> Message | None: ...

    async def ping(self) -> None:
        """Cheap proof that the database answers (for /readyz); raises StoreUnavailable."""
        await self.counts()

    @abc.abstractmethod
    async def counts(self) -> dict[str, int]:
        """Messages waiting (scheduled, queued) and pending callbacks ('outbox'), for metrics.

        Only what indexes answer: it runs every few seconds on large databases.
        """

    # Incoming SMS --------------------------------------------------------------------------
    @abc.abstractmethod
    async def store_mo(self, mos: Sequence[MoMessage], route: CallbackRoute) -> None: ...

    # Notifier outbox -------------------------------------------------------------------------
    @abc.abstractmethod
    async def outbox_claim(
        self, now: float, limit: int, lease: float, scope: OutboxScope = EVERY_DIALECT
    ) -> list[OutboxItem]:
        """Lease up to `limit` due callbacks of the dialects in `scope`, oldest first, to this
        store (one notifier): those rules.order_claim lets go now, in its order (a message's
        callback waits while an earlier one of it is owed elsewhere or later)."""

    @abc.abstractmethod
    async def outbox_unlease(self, scope: OutboxScope = EVERY_DIALECT) -> int:
        """Free every lease on pending rows in `scope` (its only notifier restarted: SQLite)."""

    # done, retry and dead write the attempts that settled the rows (`tried`, see
    # CallbackAttempt) in the same call, so that keeping them costs no transaction of its own;
    # done keeps its successful attempt in the outbox row it marks, not as a row of its own.
    @abc.abstractmethod
    async def outbox_done(
        self, ids: Sequence[int], now: float, tried: Sequence[CallbackAttempt] = ()
    ) -> None: ...

    @abc.abstractmethod
    async def outbox_retry(
        self,
        ids: Sequence[int],
        next_at: float,
        error: str,
        tried: Sequence[CallbackAttempt] = (),
    ) -> None: ...

    @abc.abstractmethod
    async def outbox_defer(self, ids: Sequence[int], next_at: float) -> None:
        """Hold rows back (to fill a batch) without counting an attempt."""

    @abc.abstractmethod
    async def outbox_dead(
        self, ids: Sequence[int], error: str, tried: Sequence[CallbackAttempt] = ()
    ) -> None: ...

    @abc.abstractmethod
    async def outbox_items(
        self, account_id: int | None = None, state: str | None = None
    ) -> list[OutboxItem]: ...

    @abc.abstractmethod
    async def callbacks_of(self, account_id: int, message_id: str) -> list[CallbackState]:
        """The callbacks owed for one of the account's messages, in the order of its events."""

    @abc.abstractmethod
    async def outbox_backlog(self) -> dict[str, int]:
        """Callbacks not yet delivered nor given up, per dialect (for metrics; dialects with
        none are left out)."""

    @abc.abstractmethod
    async def purge(self, before: float) -> int:
        """Forget delivered callbacks (done or dead) with their attempts, and settled
        connector-log lines, older than `before`; messages and their events are kept. The
        number of outbox and connector-log rows removed."""

    # Connector log ---------------------------------------------------------------------------
    @abc.abstractmethod
    async def connector_log_add(
        self, connector: str, entries: Sequence[ConnectorEntry]
    ) -> None: ...

    async def connector_log_note(self, connector: str, entries: Sequence[ConnectorEntry]) -> None:
        """connector_log_add for lines whose acknowledgement the connector hands to the
        dispatcher next, which records it durably: the lines need be durable only with that
        record. A backend whose commits wait for a flush may answer before theirs (SQLite: the
        WAL is one sequence, so the record's flush covers the lines committed before it; a
        power cut before it loses both, and the message is sent again as if never taken)."""
        await self.connector_log_add(connector, entries)

    @abc.abstractmethod
    async def connector_log_find(
        self, connector: str, message_ids: Sequence[str]
    ) -> list[ConnectorEntry]: ...

    @abc.abstractmethod
    async def connector_log_pending(
        self, connector: str, limit: int = 10000
    ) -> list[ConnectorEntry]:
        """The connector's lines whose report is still owed, soonest due first: those not
        marked reported whose message is not final (its done_at is not set). So a connector
        whose receipts make the message final need not mark its lines (the simulator on an
        exclusive store: a write a message saved); the purge forgets such lines as it does
        marked ones."""

    @abc.abstractmethod
    async def connector_log_reported(self, connector: str, message_ids: Sequence[str]) -> None:
        """Mark lines reported: no longer owed, though their message is not final (a message
        sent again, a report that is not final), or read often (see the simulator)."""

    # --- admin: users, sessions, ledger, audit ---
    # The operator console's storage (smsgate/admin). Decisions are core.admin's and
    # core.throttle's; the backends' implementations are sqlite_admin.py and postgres_admin.py.
    @abc.abstractmethod
    async def admin_create(
        self, username: str, password_hash: str, role: Role, now: float
    ) -> AdminUser:
        """A new admin user; GatewayError DUPLICATE when the name is taken."""

    @abc.abstractmethod
    async def admin_login(self, username: str) -> AdminLogin | None:
        """The user of that name with its password hash (for the login only)."""

    @abc.abstractmethod
    async def admin_list(self) -> list[AdminUser]: ...

    @abc.abstractmethod
    async def admin_remove(self, username: str) -> bool:
        """Remove a user and end its sessions; False: no such user."""

    @abc.abstractmethod
    async def admin_update(
        self, username: str, *, password_hash: str | None = None, role: Role | None = None
    ) -> bool:
        """A user's new password (which ends its sessions) or role; False: no such user."""

    @abc.abstractmethod
    async def session_start(self, key: str, user_id: int, now: float, expires_at: float) -> None:
        """Keep a session by its key (core.admin.session_key); forgets sessions that ended."""

    @abc.abstractmethod
    async def session_user(self, key: str, now: float) -> AdminUser | None:
        """The user of a live session (core.admin.session_live), else None."""

    @abc.abstractmethod
    async def session_end(self, key: str) -> None: ...

    @abc.abstractmethod
    async def login_throttle(self, keys: Sequence[str], limit: Limit, now: float) -> float:
        """One login attempt against each key's bucket (core.throttle.take_all), in one
        transaction shared by every process and node: 0.0 if allowed, else seconds to wait."""

    @abc.abstractmethod
    async def ledger_post(
        self, account_id: int, kind: LedgerKind, amount: int, *, reason: str, actor: str, now: float
    ) -> LedgerEntry:
        """Change a balance as core.admin.ledger_balance says and keep the entry, in one
        transaction (GatewayError NOT_FOUND, INSUFFICIENT_BALANCE, INVALID_FIELD)."""

    @abc.abstractmethod
    async def ledger(
        self, account_id: int, *, before_id: int | None = None, limit: int = 100
    ) -> list[LedgerEntry]:
        """An account's ledger entries, newest first, older than `before_id`."""

    @abc.abstractmethod
    async def audit_add(
        self, actor: str, action: str, target: str, details: dict[str, Any], now: float
    ) -> None: ...

    @abc.abstractmethod
    async def audit_list(
        self, *, target: str | None = None, before_id: int | None = None, limit: int = 100
    ) -> list[AuditEntry]:
        """Audit entries (about `target` only, if given), newest first, older than `before_id`."""

    @abc.abstractmethod
    async def callback_backlog_by_account(self) -> dict[int, int]:
        """Callbacks not yet delivered nor given up, per account (accounts with none left out)."""

    # --- console: search, timeline, figures ---
    # Reads for the operator console (smsgate/admin): across accounts, newest first, paged by
    # keyset (`before_seq`), never by OFFSET. The console decides nothing with them.
    @abc.abstractmethod
    async def console_messages(
        self, flt: ConsoleFilter, *, before_seq: int | None = None, limit: int = 50
    ) -> list[Message]:
        """Messages of any account that match every given field of `flt`, newest first,
        those with a seq below `before_seq` (None: from the newest)."""

    @abc.abstractmethod
    async def console_callbacks(self, message_id: str) -> list[CallbackRecord]:
        """Every callback owed for a message's events that the outbox still keeps (until
        purged), in the order they were queued."""

    @abc.abstractmethod
    async def console_seq_at(self, table: Literal["messages", "events"], since: float) -> int:
        """The seq just before the first row of `table` stamped at or after `since` (messages
        by created_at, events by at), or the last seq when none is. Found by bisecting the
        primary key, without an index on the time (see console_search.seq_at)."""

    @abc.abstractmethod
    async def console_traffic(self, after_seq: int, upto_seq: int, bucket: int) -> TrafficCounts:
        """Status events with a seq in (after_seq, upto_seq], counted per `bucket` seconds
        and status: the overview's messages per minute."""

    @abc.abstractmethod
    async def console_account_traffic(self, account_id: int, after_seq: int) -> dict[str, int]:
        """An account's messages with a seq above `after_seq` (today's), counted by status."""

    @abc.abstractmethod
    async def console_callback_health(self, since: float) -> list[CallbackHealth]:
        """Per account, its callbacks queued since `since` that the outbox keeps, by state."""

    @abc.abstractmethod
    async def console_mo(
        self, account_id: int | None = None, *, before_seq: int | None = None, limit: int = 50
    ) -> list[MoMessage]:
        """Incoming SMS of one account (None: every account's), newest first."""

    @abc.abstractmethod
    async def console_job(self, job_id: str) -> Job | None:
        """One job of any account (the console finds its owner from it)."""

    # --- callback attempts ---
    # Each try at delivering a callback (CallbackAttempt), written with the outbox mark that
    # follows it (outbox_done, outbox_retry, outbox_dead) and purged with its outbox row: a
    # failure as a row of callback_attempts, a success in the outbox row itself. The
    # implementations are sqlite_attempts.py and postgres_attempts.py.
    @abc.abstractmethod
    async def callback_attempts(self, message_id: str) -> list[AttemptRecord]:
        """Every recorded attempt of the callbacks owed for a message's events, in the order
        the callbacks were queued, then by attempt."""

    # --- routes ---
    # Southbound routing (engine/upstreams.py, docs/routing.md): which connector had each message
    # (DRs matched per connector, recovery through it) and the routing table. Decisions are
    # core.routing's; the implementations are sqlite_routes.py and postgres_routes.py.
    @abc.abstractmethod
    async def routes_mark(
        self, connector: str, marks: Sequence[tuple[str, str | None]], at: float
    ) -> None:
        """Messages `(message_id, carrier_id or None)` handed to `connector`: durable before
        the request goes out (carrier id None), again with the carrier id once answered. One
        mark per message in a call."""

    @abc.abstractmethod
    async def routes_of(self, message_ids: Sequence[str]) -> dict[str, MessageRoute]:
        """The connector each of these messages was last handed to (those never handed: absent)."""

    @abc.abstractmethod
    async def routes_by_carrier(self, connector: str, carrier_ids: Sequence[str]) -> dict[str, str]:
        """carrier id -> our message id, for the ids `connector`'s provider gave (others absent)."""

    @abc.abstractmethod
    async def routing_table(self) -> RoutingTable:
        """The routing table (empty until one is applied)."""

    @abc.abstractmethod
    async def routing_apply(self, table: RoutingTable) -> TableDiff:
        """Make `table` the routing table, in one transaction; what changed (an empty diff, and
        no write, when it already was). Checked by the caller (core.routing.table_errors)."""


class ConsoleFilter(msgspec.Struct, kw_only=True, frozen=True):
    """A console search: every field is None (any) or the one value a message must have.
    (PostgreSQL's console.sql binds the fields in this order.)"""

    message_id: str | None = None
    account_id: int | None = None
    phone: str | None = None
    client_ref: str | None = None
    job_id: str | None = None
    status: str | None = None
    dialect: str | None = None
    since: float | None = None  # created at or after (Unix seconds)
    until: float | None = None  # created before


class CallbackRecord(msgspec.Struct, kw_only=True, frozen=True):
    """One callback as the outbox keeps it: how many attempts, the last one's error and when
    it settled. The outbox keeps no row per attempt, so earlier attempts' answers are gone."""

    event_id: str
    dialect: str
    kind: str  # 'dr' | 'mo'
    url: str  # the full URL: may hold a client's secret, so the console shows its host only
    state: str  # 'pending' | 'done' | 'dead'
    attempts: int
    last_error: str | None
    created_at: float
    next_at: float
    done_at: float | None


class CallbackAttempt(msgspec.Struct, kw_only=True, frozen=True, gc=False):
    """One try at delivering one outbox row, as the notifier saw it. A request that carries
    several rows (a batch) is one attempt of each."""

    outbox_id: int
    account_id: int
    attempt: int  # 1 for the first; the outbox row's attempts once this one is counted
    started_at: float  # Unix seconds
    host: str  # the URL's host (and port) only: its user, path and query may hold secrets
    status: int | None  # the HTTP status answered; None: no answer (see `error`)
    error: str | None  # why there was no answer (refused target, timeout, reset, TLS...)
    took_ms: int  # from the request's start to its answer or failure
    outcome: str  # what became of the row: 'done' | 'retry' | 'dead' (given up)


class AttemptRecord(CallbackAttempt, kw_only=True, frozen=True, gc=False):
    """An attempt as read back, with the callback it was for (its outbox row's)."""

    event_id: str
    dialect: str
    kind: str  # 'dr' | 'mo'


class CallbackHealth(msgspec.Struct, kw_only=True, frozen=True):
    """One account's callbacks queued in a period, by where they stand."""

    account_id: int
    pending: int  # not yet delivered (retrying among them)
    retrying: int  # pending after at least one failed attempt
    done: int
    dead: int  # given up


# (bucket start in Unix seconds, status) -> status events in that bucket
TrafficCounts = dict[tuple[int, str], int]
