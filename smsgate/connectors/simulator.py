"""The built-in carrier simulator: the default connector, so everything works with no carrier.

It behaves like a carrier that keeps its own durable records: every submission is written to
the connector log, committed with the dispatcher's record of its acknowledgement (`unlogged`:
one commit on SQLite) and never after it, so after a crash the dispatcher can ask whether a
message was already taken (and nothing is sent twice), and receipts still owed are sent after a
restart (a line is owed until its message is final: Store.connector_log_pending). Outcomes
are a pure function of (seed, phone, text): deterministic for tests.

On a shared database (several nodes) the simulator is one carrier with a bind from each node:
receipts a dead node still owed are sent by a live one once they are `orphan_receipts_after`
seconds overdue. Every receipt is preceded by the SUBMITTED the carrier's log proves: a receipt
may overtake the dispatcher's own record of the submission (on a shared database; and after a
restart, before the dispatcher has recovered its claims), and a repeated status is no change
(so a receipt that arrives twice is harmless too).
"""

from __future__ import annotations

import asyncio
import hashlib
import heapq
import logging
import time
from collections.abc import Sequence

import msgspec

from ..core import hlr, payload
from ..core.bounds import Delay, Rate, Ratio, Seconds
from ..core.errors import ErrorCode
from ..core.models import Message, Report
from ..core.phone import country_of
from ..core.status import DELIVERED, REJECTED, SUBMITTED, Status
from ..store.base import ConnectorEntry, LogLine, Store
from ..waits import wait_set
from .base import Connector, Incoming, ReportSink

log = logging.getLogger("smsgate.simulator")
# A status from its value for every message: Status(value) costs ~400 ns, a dict ~30.
_STATUS = {s.value: s for s in Status}


class SimulatorConfig(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    submit_latency: Delay = 0.0  # seconds per submit call
    dr_delay: Delay = 0.05  # seconds from submit to receipt
    delivery_ratio: Ratio = 1.0  # share of accepted messages that are delivered
    reject_ratio: Ratio = 0.0  # share refused at submit time
    expire_ratio: Ratio = 0.0  # share of failures that expire instead of being undelivered
    failure_codes: list[str] = msgspec.field(
        default_factory=lambda: [
            ErrorCode.ABSENT_SUBSCRIBER.value,
            ErrorCode.UNKNOWN_SUBSCRIBER.value,
        ]
    )
    fail_prefixes: list[str] = msgspec.field(default_factory=list)  # always undelivered
    reject_prefixes: list[str] = msgspec.field(default_factory=list)  # always refused at submit
    mo_reply: bool = False  # every delivered message gets a reply from its recipient
    mo_reply_text: str = "Reply to: {text}"
    seed: int = 1
    tps: Rate = 0
    orphan_receipts_after: Seconds = 10.0  # shared database: overdue receipts any node sends


class Simulator(Connector):
    def __init__(
        self, store: Store, config: SimulatorConfig | None = None, name: str = "simulator"
    ) -> None:
        self.store = store
        self.config = config or SimulatorConfig()
        self.name = name
        self.tps = self.config.tps
        self._mark = hashlib.sha1(name.encode()).hexdigest()[:4]  # two simulators differ
        self._sink: ReportSink | None = None
        # (due, n, message_id, carrier_id, outcome, submitted_at, SUBMITTED known stored)
        self._due: list[tuple[float, int, str, str, str, float, bool]] = []
        self._counter = 0
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._sweeper: asyncio.Task[None] | None = None
        self._scheduled: set[str] = set()  # message ids with a receipt in `_due`
        self._replies: dict[str, tuple[int, str, str, str]] = {}  # message_id -> reply data
        self._unlogged: dict[str, ConnectorEntry] = {}  # lines submit left to the record

    async def start(self, sink: ReportSink) -> None:
        self._sink = sink
        if self.store.exclusive_dispatch:
            for entry in await self.store.connector_log_pending(self.name, limit=1_000_000):
                self._schedule(
                    entry.report_due or time.time(),
                    entry.message_id,
                    entry.carrier_id,
                    entry.outcome or "delivered",
                    entry.submitted_at,
                )
        else:  # the other nodes' receipts are theirs to send while they live
            self._sweeper = asyncio.create_task(self._sweep(), name="simulator-orphans")
        self._task = asyncio.create_task(self._receipts(), name="simulator-receipts")

    async def stop(self) -> None:
        for task in (self._task, self._sweeper):
            if task is not None:
                task.cancel()
                try:
                    await task
                except asyncio.CancelledError:
                    pass
        self._task = self._sweeper = None

    def outcome(self, message: Message) -> tuple[Status, str | None]:
        """What this carrier does with a message: a pure function of seed, phone and text."""
        cfg = self.config
        reject, fail = cfg.reject_prefixes, cfg.fail_prefixes
        if reject and message.phone.startswith(tuple(reject)):
            return Status.REJECTED, ErrorCode.CARRIER_REJECTED.value
        if fail and message.phone.startswith(tuple(fail)):
            return Status.UNDELIVERED, cfg.failure_codes[0] if cfg.failure_codes else None
        if cfg.reject_ratio == 0 and cfg.delivery_ratio == 1:
            # Every roll delivers (the default): no digest to make (1.33 µs a message: 0.28).
            return DELIVERED, None
        digest = hashlib.sha256(f"{cfg.seed}:{message.phone}:{message.text}".encode()).digest()
        roll = int.from_bytes(digest[:8], "big") / 2**64
        if roll < cfg.reject_ratio:
            return Status.REJECTED, ErrorCode.CARRIER_REJECTED.value
        if roll < cfg.reject_ratio + (1 - cfg.reject_ratio) * cfg.delivery_ratio:
            return Status.DELIVERED, None
        second = int.from_bytes(digest[8:16], "big") / 2**64
        if second < cfg.expire_ratio:
            return Status.EXPIRED, ErrorCode.EXPIRED.value
        codes = cfg.failure_codes or [ErrorCode.UNKNOWN_SUBSCRIBER.value]
        return Status.UNDELIVERED, codes[digest[16] % len(codes)]

    def carrier_id(self, message_id: str) -> str:
        """The id this carrier gives a message: its name's mark, then the message id's digits.

        Time-ordered, as the message ids are, so that the carrier-id index grows at its end: a
        hash landed each one on a random page, and every commit wrote those pages out again
        (in an isolated SQLite run of the lifecycle's statements, 8.2 µs of commit a message
        against 3.0, and each submit's update 6.7 µs against 4.5).
        """
        return self._mark + message_id.replace("-", "")

    async def submit(self, messages: Sequence[Message]) -> list[Report]:
        if self.config.submit_latency:
            await asyncio.sleep(self.config.submit_latency)
        now = time.time()
        results: list[Report] = []
        entries: list[ConnectorEntry] = []
        for m in messages:
            status, error = self.outcome(m)
            if status is REJECTED:
                results.append(Report(message_id=m.id, status=status, error_code=error, at=now))
                continue
            if m.encoding == payload.HLR:
                results += self._hlr_query(m, status, error, now)
                continue
            carrier_id = self.carrier_id(m.id)
            outcome = status.value if error is None else f"{status.value}:{error}"
            due = now + self.config.dr_delay
            entries.append(
                ConnectorEntry(
                    message_id=m.id,
                    carrier_id=carrier_id,
                    submitted_at=now,
                    outcome=outcome,
                    report_due=due,
                )
            )
            results.append(Report(message_id=m.id, status=SUBMITTED, carrier_id=carrier_id, at=now))
            if self.config.mo_reply and status is DELIVERED:
                text = self.config.mo_reply_text.format(text=m.text[:100])
                self._replies[m.id] = (m.account_id, m.phone, m.sender or "", text)
        # This carrier's acceptance is its log line: left for the dispatcher to commit with its
        # record of the acknowledgement (`unlogged`), and a receipt is owed only once it is.
        for e in entries:
            self._unlogged[e.message_id] = e
        return results

    def unlogged(self, reports: Sequence[Report]) -> list[LogLine]:
        take = self._unlogged.pop
        return [(self.name, e) for r in reports if (e := take(r.message_id, None)) is not None]

    def logged(self, lines: Sequence[LogLine]) -> None:
        # Committed with their SUBMITTED (or after it: Store.record_reports), so their receipts
        # need not bring it along.
        self._owe([e for connector, e in lines if connector == self.name], recorded=True)

    def _owe(self, entries: Sequence[ConnectorEntry], recorded: bool) -> None:
        """Receipts owed for `entries`; `recorded`: their SUBMITTED is known to be stored."""
        for e in entries:
            due = e.report_due or e.submitted_at
            outcome = e.outcome or "delivered"
            self._schedule(due, e.message_id, e.carrier_id, outcome, e.submitted_at, recorded)

    # HLR queries (a clearly separate addition: nothing above changes for SMS) -----------------
    def _hlr_query(self, m: Message, status: Status, error: str | None, now: float) -> list[Report]:
        """An HLR query sends no SMS and has no receipt to wait for: the carrier takes it and
        answers at once, with the subscriber's network where the number is live (the answer
        in core.hlr's text, as the carrier's word on it) or with the number's failure."""
        carrier_id = self.carrier_id(m.id)
        word = hlr.to_text(hlr_answer(self.config.seed, m.phone)) if error is None else error
        return [
            Report(message_id=m.id, status=Status.SUBMITTED, carrier_id=carrier_id, at=now),
            Report(
                message_id=m.id,
                status=status,
                carrier_id=carrier_id,
                error_code=error,
                carrier_error=word,
                at=now,
            ),
        ]

    async def recover(self, messages: Sequence[Message]) -> tuple[list[Report], list[Message]]:
        known = {
            e.message_id: e
            for e in await self.store.connector_log_find(self.name, [m.id for m in messages])
        }
        if self.store.exclusive_dispatch:
            # A line committed though its record's write failed after (its flush): `logged`
            # never came, so its receipt is owed from here. (At start they all are already;
            # on a shared database the orphan sweep finds them.)
            self._owe([e for i, e in known.items() if i not in self._scheduled], recorded=False)
        reports = [
            Report(
                message_id=m.id,
                status=Status.SUBMITTED,
                carrier_id=known[m.id].carrier_id,
                at=known[m.id].submitted_at,
            )
            for m in messages
            if m.id in known
        ]
        return reports, [m for m in messages if m.id not in known]

    def _schedule(
        self,
        due: float,
        message_id: str,
        carrier_id: str,
        outcome: str,
        submitted_at: float,
        recorded: bool = False,
    ) -> None:
        self._counter += 1
        entry = (due, self._counter, message_id, carrier_id, outcome, submitted_at, recorded)
        heapq.heappush(self._due, entry)
        self._scheduled.add(message_id)
        self._wakeup.set()

    async def _sweep(self) -> None:
        """Shared database: send the receipts a dead node owed (see the module's docstring)."""
        assert self._sink is not None
        grace = self.config.orphan_receipts_after
        while True:
            await asyncio.sleep(max(0.5, grace / 4))
            try:
                overdue = time.time() - grace
                owed = [
                    e
                    for e in await self.store.connector_log_pending(self.name, limit=1000)
                    if (e.report_due or 0.0) < overdue and e.message_id not in self._scheduled
                ]
                for e in owed:
                    self._schedule(
                        time.time(),
                        e.message_id,
                        e.carrier_id,
                        e.outcome or "delivered",
                        e.submitted_at,
                    )
            except Exception as exc:  # the store is down: try again next round
                log.warning("simulator: cannot pick up orphan receipts: %s", exc)

    async def _mark_reported(self, batch: Sequence[Report]) -> None:
        """Mark the lines of receipts just recorded, where their owed lines are read often.

        Each receipt makes its message final, which alone settles its line (a final message's
        line is not pending: Store.connector_log_pending). On an exclusive store the pending
        lines are read once, at start, so the mark is left out: an update a message fewer in
        the engine's writes. On a shared database every node's sweep reads the oldest owed
        lines every few seconds, and unmarked settled ones would pile up in front of them."""
        if not self.store.exclusive_dispatch:
            await self.store.connector_log_reported(self.name, [r.message_id for r in batch])

    async def _receipts(self) -> None:
        assert self._sink is not None
        while True:
            now = time.time()
            batch: list[Report] = []
            # What a receipt implies, the carrier took it, where not known to be stored.
            accepted: list[Report] = []
            taken: list[tuple[float, bool]] = []  # per receipt: submitted_at, SUBMITTED stored
            while self._due and self._due[0][0] <= now and len(batch) < 1000:
                entry = heapq.heappop(self._due)
                _due, _n, message_id, carrier_id, outcome, submitted_at, recorded = entry
                self._scheduled.discard(message_id)
                status, _, error = outcome.partition(":")
                taken.append((submitted_at, recorded))
                if not recorded:
                    accepted.append(
                        Report(
                            message_id=message_id,
                            status=Status.SUBMITTED,
                            carrier_id=carrier_id,
                            at=submitted_at,
                        )
                    )
                batch.append(
                    Report(
                        message_id=message_id,
                        status=_STATUS[status],
                        carrier_id=carrier_id,
                        error_code=error or None,
                        carrier_error=error or None,
                        at=now,
                    )
                )
            if batch:
                try:
                    # A receipt may overtake the dispatcher's own SUBMITTED: one a node that
                    # died owed (a shared database), and after a restart (receipts owed before
                    # the crash come due before the dispatcher has recovered its claims). So the
                    # carrier's acceptance goes first; it is no change where already recorded.
                    # Those of lines `logged` were recorded with them: a report a receipt less.
                    await self._sink.reports(accepted + batch)
                    await self._mark_reported(batch)
                except Exception as exc:  # the store is down: keep them owed, retry shortly
                    log.warning("simulator: cannot record %d receipts: %s", len(batch), exc)
                    for (at, recorded), r in zip(taken, batch, strict=True):
                        outcome = r.status.value + (f":{r.error_code}" if r.error_code else "")
                        cid = r.carrier_id or ""
                        self._schedule(now + 1.0, r.message_id, cid, outcome, at, recorded)
                    await asyncio.sleep(1.0)
                    continue
                replies = [
                    self._replies.pop(r.message_id) for r in batch if r.message_id in self._replies
                ]
                if replies:
                    await self._sink.incoming(
                        [
                            Incoming(
                                phone=phone, to=sender, text=text, at=now, account_id=account_id
                            )
                            for account_id, phone, sender, text in replies
                        ]
                    )
                continue
            self._wakeup.clear()
            timeout = max(0.0, self._due[0][0] - time.time()) if self._due else None
            await wait_set(self._wakeup, timeout)


# The networks the simulator's HLR answers name: a country's MCC and a network code; any other
# country is on the ITU's test network (MCC 001, MNC 01).
_HLR_NETWORKS: dict[str, tuple[str, str, str]] = {
    "RU": ("250", "01", "Russia"),
    "KZ": ("401", "02", "Kazakhstan"),
    "BY": ("257", "02", "Belarus"),
    "TJ": ("436", "01", "Tajikistan"),
    "UZ": ("434", "05", "Uzbekistan"),
    "KG": ("437", "01", "Kyrgyzstan"),
}


def hlr_answer(seed: int, phone: str) -> hlr.HlrAnswer:
    """What the simulated HLR knows of a live number: a pure function of seed and phone."""
    region = country_of(phone) or ""
    mcc, mnc, country = _HLR_NETWORKS.get(region, ("001", "01", region))
    digits = f"{int.from_bytes(hashlib.sha256(f'{seed}:hlr:{phone}'.encode()).digest()[:8]):020d}"
    return hlr.HlrAnswer(
        imsi=(mcc + mnc + digits)[:15],
        msc=(phone[:4] + digits[-7:]),
        mcc=mcc,
        mnc=mnc,
        cn=country,
        net="Simulator",
    )
