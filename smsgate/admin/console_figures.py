"""The overview's live figures: messages per minute by status over the last hour and day,
queue depth, the callback backlog and failure rate, link health and balance alerts.

One `Figures` per console app reads the store at most once per `interval` seconds, however
many pages and event streams ask, and keeps the per-minute counts of the last day in memory:
after the first read it asks only for the status events added since the last one (by seq),
so a busy day is scanned once, not on every tick.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence

import msgspec

from ..connectors.base import LinkState
from ..core.models import Account
from ..store.base import CallbackHealth, Store

MINUTE = 60
HOUR = 3600
DAY = 86400
DAY_BUCKET = 10 * MINUTE  # the day's chart: messages per minute, averaged over ten minutes
# Statuses drawn on the charts, in the legend's order. Each point counts the status events of
# its minute; an accept writes no event (a message's first event is its submit or refusal).
CHARTED = ("submitted", "delivered", "undelivered", "rejected", "expired", "cancelled")
# An account whose balance pays for fewer segments than this at its price is flagged.
LOW_BALANCE_SEGMENTS = 1000


class BalanceAlert(msgspec.Struct, frozen=True):
    account_id: int
    name: str
    balance: int  # micro-units
    segments_left: int  # at the account's price


class Snapshot(msgspec.Struct, frozen=True, kw_only=True):
    """What the overview shows, as of `at`."""

    at: float
    last_hour: dict[str, int]  # status -> events in the last hour
    hour: dict[str, list[int]]  # status -> per-minute counts, oldest first (60 points)
    hour_start: int  # the first minute's start (Unix seconds)
    day: dict[str, list[float]]  # status -> messages per minute per 10-minute bucket (144)
    day_start: int
    queue: dict[str, int]  # scheduled, queued (waiting to be sent), outbox (callbacks pending)
    backlog: dict[str, int]  # dialect -> callbacks pending
    callbacks: list[CallbackHealth]  # per account, queued in the last hour
    failure_rate: float | None  # of the last hour's settled callbacks, the share given up
    links: list[LinkState]
    alerts: list[BalanceAlert]


def balance_alerts(
    accounts: Sequence[Account], floor: int = LOW_BALANCE_SEGMENTS
) -> list[BalanceAlert]:
    """Active, paying accounts whose balance covers fewer than `floor` segments; free
    accounts (price 0) never run out."""
    alerts = []
    for account in accounts:
        if not account.active or account.price <= 0:
            continue
        left = account.balance // account.price
        if left < floor:
            alerts.append(BalanceAlert(account.id, account.name, account.balance, left))
    return sorted(alerts, key=lambda a: a.segments_left)


def failure_rate(health: Sequence[CallbackHealth]) -> float | None:
    """Of the callbacks that were tried (done, given up, or pending after a failure), the
    share that failed or was given up; None when none was tried."""
    failed = sum(h.dead + h.retrying for h in health)
    tried = failed + sum(h.done for h in health)
    return failed / tried if tried else None


class MinuteCounts:
    """Status events per minute over the last day, kept up to date from the events' seq."""

    def __init__(self) -> None:
        self.counts: dict[tuple[int, str], int] = {}
        self.last_seq: int | None = None

    async def refresh(self, store: Store, now: float) -> None:
        if self.last_seq is None:
            self.last_seq = await store.console_seq_at("events", now - DAY)
        upto = await store.console_seq_at("events", now + DAY)  # the newest event's seq
        if upto > self.last_seq:
            for key, n in (await store.console_traffic(self.last_seq, upto, MINUTE)).items():
                self.counts[key] = self.counts.get(key, 0) + n
            self.last_seq = upto
        oldest = int(now - DAY) // MINUTE * MINUTE
        for key in [k for k in self.counts if k[0] < oldest]:
            del self.counts[key]

    def series(self, start: int, points: int, width: int) -> dict[str, list[int]]:
        """Per status, the events in each of `points` buckets of `width` seconds from `start`."""
        out = {status: [0] * points for status in CHARTED}
        for (minute, status), n in self.counts.items():
            index = (minute - start) // width
            if 0 <= index < points and status in out:
                out[status][index] += n
        return out

    def totals_since(self, since: int) -> dict[str, int]:
        totals: dict[str, int] = {}
        for (minute, status), n in self.counts.items():
            if minute >= since:
                totals[status] = totals.get(status, 0) + n
        return totals


class Figures:
    """The overview's figures of one console, read at most every `interval` seconds."""

    def __init__(
        self,
        store: Store,
        links: Callable[[], list[LinkState]],
        interval: float = 2.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.links = links
        self.interval = interval
        self.clock = clock
        self._minutes = MinuteCounts()
        self._last: Snapshot | None = None
        self._lock = asyncio.Lock()

    async def snapshot(self) -> Snapshot:
        async with self._lock:  # one read for every stream that asks in the same tick
            now = self.clock()
            if self._last is None or now - self._last.at >= self.interval:
                self._last = await self._read(now)
            return self._last

    async def _read(self, now: float) -> Snapshot:
        await self._minutes.refresh(self.store, now)
        this_minute = int(now) // MINUTE * MINUTE
        hour_start = this_minute - 59 * MINUTE
        day_start = (int(now) // DAY_BUCKET - 143) * DAY_BUCKET
        day = self._minutes.series(day_start, 144, DAY_BUCKET)
        health = await self.store.console_callback_health(now - HOUR)
        return Snapshot(
            at=now,
            last_hour=self._minutes.totals_since(this_minute - HOUR + MINUTE),
            hour=self._minutes.series(hour_start, 60, MINUTE),
            hour_start=hour_start,
            day={s: [n / (DAY_BUCKET / MINUTE) for n in v] for s, v in day.items()},
            day_start=day_start,
            queue=await self.store.counts(),
            backlog=await self.store.outbox_backlog(),
            callbacks=health,
            failure_rate=failure_rate(health),
            links=self.links(),
            alerts=balance_alerts(await self.store.list_accounts()),
        )
