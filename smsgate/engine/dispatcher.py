"""Claims due messages in priority order and hands them to the connector.

Exactly-once towards the connector: a message is claimed (leased to this dispatcher) in one
commit before it is handed over, and its SUBMITTED report is committed after. Messages found
claimed by a dead dispatcher are first offered to `connector.recover`, which knows whether the
carrier already has them; only the others are sent again. A connector that wrote a request and
got no answer raises `OutcomeUnknown`: what it knows is recorded, the rest goes to `recover` the
same way. A QUEUED result (the router: no connector took the message now) is queued again.

On a shared database (several nodes, PostgreSQL) each dispatcher also renews its own leases
(a heartbeat) and looks for lapsed ones every half lease: a node that dies leaves its claims to
the others after one lease. Idle, it waits for a wake-up (an accept in this process or, through
the supervisor's pipe, in a worker; LISTEN/NOTIFY on PostgreSQL) and looks on its own only
seldom (engine/idle.py): up to `idle_poll` apart, for schedules, releases and lapsed leases.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections import deque
from collections.abc import Sequence

from ..connectors.base import Connector, OutcomeUnknown
from ..core.errors import ErrorCode
from ..core.ids import new_id
from ..core.models import Account, Message, Report
from ..core.status import QUEUED, SUBMITTED, Status
from ..store.base import LogLine, Store, StoreUnavailable
from . import metrics
from .idle import IdleWait, claim_wait
from .ratelimit import TokenBucket
from .reports import Reports

log = logging.getLogger("smsgate.dispatcher")
RECOVER_TRIES = 3  # a connector's recover failing this often in a row: left for the next start
# A shared database: a claim of fewer than CLAIM_FEW messages makes the next wait CLAIM_SPACING
# (idle.claim_wait). Two nodes: 0.495 -> 0.290 statements a message (docs/operations.md).
CLAIM_FEW = 64
CLAIM_SPACING = 0.02
# SQLite's one engine: a claim of less than a full batch makes the next wait ONE_ENGINE_SPACING.
# Each claim, its SUBMITTED write and its receipt batch are a transaction each, and each starts
# by reading its pages again (another process committed meanwhile), whatever its size: under
# live single sends claims of ~40 messages took 80-95 µs of engine CPU a message, ~130 took 60.
ONE_ENGINE_SPACING = 0.04


class Dispatcher:
    def __init__(
        self,
        store: Store,
        connector: Connector,
        reports: Reports,
        *,
        batch: int = 500,
        poll: float = 0.05,
        lease: float = 60.0,
        max_inflight: int = 4,
        exclusive: bool = True,
        idle_poll: float = 1.0,
        requeue_after: float = 5.0,
        claim_spacing: float | None = None,
    ) -> None:
        self.store = store
        self.connector = connector
        self.reports = reports
        self.batch = batch
        self.poll = poll
        self.lease = lease
        self.exclusive = exclusive  # the only dispatcher on this database (SQLite)
        # The longest idle wait: new messages wake the dispatcher, so only schedules coming
        # due, releases and lapsed leases are found by looking, and they can wait this long.
        self.idle_poll = idle_poll
        self.requeue_after = requeue_after  # a message no connector took now waits this long
        # How long a claim that took few waits for more (idle.claim_wait): on a shared database
        # less than CLAIM_FEW; for SQLite's one engine less than a full batch.
        if claim_spacing is None:
            claim_spacing = ONE_ENGINE_SPACING if exclusive else CLAIM_SPACING
        self.claim_spacing = claim_spacing
        self.claim_few = batch if exclusive else min(CLAIM_FEW, batch)
        self._claimed = 0  # what the last claim took, and when (monotonic)
        self._claimed_at = -math.inf
        self._next_recovery = 0.0
        self.token = new_id()
        self.wakeup = asyncio.Event()
        self._inflight = asyncio.Semaphore(max_inflight)
        self._tasks: set[asyncio.Task[None]] = set()
        self._held: dict[int, deque[Message]] = {}
        self._account_buckets: dict[int, TokenBucket] = {}
        self._account_tps: dict[int, tuple[int, float]] = {}
        self._link = TokenBucket(connector.tps, time.monotonic())

    async def run(self) -> None:
        await self.recover()
        heartbeat = None
        if not self.exclusive:
            heartbeat = asyncio.create_task(self._heartbeat(), name="dispatcher-leases")
        idle = IdleWait(self.idle_poll if self.store.notifies_work else self.poll, self.idle_poll)
        try:
            while True:
                try:
                    if not self.exclusive and time.monotonic() >= self._next_recovery:
                        await self.recover()
                    worked = await self.step()
                except StoreUnavailable as exc:
                    log.warning("store unavailable, retrying: %s", exc)
                    await asyncio.sleep(1.0)
                    continue
                if worked:
                    idle.reset()
                    continue
                self.wakeup.clear()
                await self.store.wait_for_work(self.wakeup, idle.next())
                if self.wakeup.is_set():
                    idle.reset()
        finally:
            if heartbeat is not None:
                heartbeat.cancel()

    async def _heartbeat(self) -> None:
        """Keep this dispatcher's leases while it lives (held by a rate limit or in flight)."""
        while True:
            await asyncio.sleep(self.lease / 3)
            try:
                await self.store.renew_leases(self.token, time.time() + self.lease)
            except Exception as exc:  # keep beating: the next renewal may get through
                log.warning("cannot renew leases: %s", exc)

    async def recover(self) -> None:
        """Messages left claimed by a dispatcher that died: ask the connector, resend the rest."""
        self._next_recovery = time.monotonic() + self.lease / 2
        now = math.inf if self.exclusive else time.time()
        orphans = await self.store.claimed_by_others(now, self.token, self.lease)
        if not orphans:
            return
        reports, resend = await self.connector.recover(orphans)
        log.info(
            "recovered %d claimed messages: %d already with the carrier", len(orphans), len(reports)
        )
        await self.reports.reports(reports)
        if resend:
            await self.store.release([m.id for m in resend], None)

    async def step(self) -> bool:
        """One round: release held messages within limits, claim more, send. True if it did work."""
        now = time.time()
        ready = self._drain_held(now)
        room = self.batch - len(ready)
        if room > 0:
            if self.claim_spacing:
                now = await self._pace(now)
            claimed = await self.store.claim_due(
                now, room, self.token, self.lease, list(self._held)
            )
            self._claimed = len(claimed)
            ready += await self._admit(claimed, now)
        if not ready:
            return bool(self._held) and await self._sleep_for_tokens()
        await self._send(ready)
        return True

    async def _pace(self, now: float) -> float:
        """Wait for a fuller claim where the last one took few (idle.claim_wait); the time of
        the claim after the wait."""
        since = time.monotonic() - self._claimed_at
        wait = claim_wait(self._claimed, since, few=self.claim_few, spacing=self.claim_spacing)
        if wait > 0:
            await asyncio.sleep(wait)
            now = time.time()
        self._claimed_at = time.monotonic()
        return now

    async def _admit(self, claimed: Sequence[Message], now: float) -> list[Message]:
        expired: list[Report] = []
        deferred: dict[float, list[str]] = {}
        ready: list[Message] = []
        for m in claimed:
            if m.expires_at is not None and m.expires_at <= now:
                expired.append(
                    Report(
                        message_id=m.id,
                        status=Status.EXPIRED,
                        error_code=ErrorCode.EXPIRED.value,
                        at=now,
                    )
                )
            elif m.window is not None and not m.window.contains(now):
                deferred.setdefault(m.window.next_open(now), []).append(m.id)
            else:
                ready.append(m)
        if expired:
            await self.reports.reports(expired)
        for when, ids in deferred.items():
            await self.store.release(ids, when)
        return await self._limit_accounts(ready, now)

    async def _limit_accounts(self, messages: list[Message], now: float) -> list[Message]:
        out = []
        for m in messages:
            bucket = await self._bucket(m.account_id, now)
            if bucket is None or (not self._held.get(m.account_id) and bucket.take(1, now)):
                out.append(m)
            else:
                self._held.setdefault(m.account_id, deque()).append(m)
        return out

    def _drain_held(self, now: float) -> list[Message]:
        out: list[Message] = []
        for account_id in list(self._held):
            queue = self._held[account_id]
            bucket = self._account_buckets[account_id]
            granted = bucket.take(len(queue), now)
            for _ in range(granted):
                out.append(queue.popleft())
            if not queue:
                del self._held[account_id]
        return out

    async def _sleep_for_tokens(self) -> bool:
        waits = [self._account_buckets[a].wait_time(time.time()) for a in self._held]
        await asyncio.sleep(min([*waits, self.poll]))
        return True

    async def _bucket(self, account_id: int, now: float) -> TokenBucket | None:
        cached = self._account_tps.get(account_id)
        if cached is None or cached[1] < now:
            account: Account | None = await self.store.get_account(account_id)
            tps = account.tps if account else 0
            self._account_tps[account_id] = (tps, now + 5.0)
            if tps and (
                account_id not in self._account_buckets
                or self._account_buckets[account_id].rate != tps
            ):
                self._account_buckets[account_id] = TokenBucket(tps, now)
        else:
            tps = cached[0]
        return self._account_buckets.get(account_id) if tps else None

    async def _send(self, messages: list[Message]) -> None:
        """Respect the link's rate, then submit in the background (bounded in-flight batches)."""
        while messages:
            granted = self._link.take(len(messages), time.monotonic())
            if granted == 0:
                await asyncio.sleep(self._link.wait_time(time.monotonic()))
                continue
            chunk, messages = messages[:granted], messages[granted:]
            await self._inflight.acquire()
            task = asyncio.create_task(self._submit(chunk))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _submit(self, messages: list[Message]) -> None:
        try:
            try:
                results = await self.connector.submit(messages)
            except OutcomeUnknown as exc:
                # Requests written and not answered: what was answered is recorded, the rest
                # is asked of the connector (never simply sent again: the carrier may have it).
                log.warning(
                    "submit: outcome of %d of %d messages unknown, recovering: %s",
                    len(exc.unknown),
                    len(messages),
                    exc.detail,
                )
                await self._record(exc.known, self.connector.unlogged(exc.known))
                await self._recover_after_failure(exc.unknown)
                return
            await self._record(results, self.connector.unlogged(results))
        except Exception as exc:
            # The carrier's answer is unknown: ask the connector, resend the others.
            if isinstance(exc, StoreUnavailable):  # an outage, not a bug: no traceback
                log.warning("submit of %d messages: store unavailable: %s", len(messages), exc)
            else:
                log.exception("submit of %d messages failed", len(messages))
            await self._recover_after_failure(messages)
        finally:
            self._inflight.release()

    async def _record(self, results: Sequence[Report], lines: Sequence[LogLine] = ()) -> None:
        """Submit results into the store, with the connector-log lines the connector left to
        their record (Connector.unlogged), which it is told of once committed; a QUEUED one (no
        connector took it now: the router's routes refused it retryably) goes back to the
        queue for `requeue_after` seconds."""
        queued, submitted = QUEUED, SUBMITTED
        requeue = [r.message_id for r in results if r.status is queued]
        if requeue:
            results = [r for r in results if r.status is not queued]
            await self.store.release(requeue, time.time() + self.requeue_after)
        metrics.SENT.labels(self.connector.name).inc(
            sum(1 for r in results if r.status is submitted)
        )
        await self.reports.reports(results, lines)
        if lines:
            self.connector.logged(lines)

    async def _recover_after_failure(self, messages: Sequence[Message]) -> None:
        """Ask the connector about messages whose submit has no known outcome; resend the
        others. Until the store answers again, keep asking (the messages stay claimed by us);
        after RECOVER_TRIES other failures, leave them claimed: recovered at the next start
        (or, on a shared database, when their lease lapses)."""
        failures = 0
        while True:
            await asyncio.sleep(1.0)
            try:
                reports, resend = await self.connector.recover(messages)
                await self.reports.reports(reports)
                await self.store.release([m.id for m in resend], time.time() + 1.0)
                return
            except StoreUnavailable as exc:
                log.warning("store unavailable, recovery of %d retried: %s", len(messages), exc)
            except Exception:
                failures += 1
                log.exception("recovery of %d messages failed (%d)", len(messages), failures)
                if failures >= RECOVER_TRIES:
                    return

    async def drain(self) -> None:
        """Wait for in-flight submits (for an orderly stop)."""
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
