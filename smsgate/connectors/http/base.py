"""What every HTTP upstream connector shares: the request, its limits, its log, its outcomes.

A provider's module says how its API is spoken (`send`, `lookup`, `read_push`); this base does
the rest the same way for all of them:

- one keep-alive `HttpClient` per connector (a pool per route), `concurrency` requests in flight
  at most, `tps` messages a second at most, `timeout` per request;
- every request logged (connector, provider, request, status, latency; never a credential: they
  travel in headers and bodies, neither of which is logged) and counted (`smsgate_upstream_*`);
- the connector log: before a request is written, a `sending` line for each of its messages
  (a kill -9 mid-request leaves a trace `recover` follows); after the answer, a `submitted`
  line with the provider's id, or the lines are settled when the provider refused;
- what a failure means (docs/routing.md): no connection made, a 5xx or 429 answer: the
  provider certainly did not take it, a retryable refusal (the router fails over); the request
  written and then a timeout or reset: `OutcomeUnknown`, never failed over, and `recover` asks
  the provider by our own reference before anything is sent again;
- outcomes: a status pull every `status_poll` seconds over the messages the provider took and
  has not reported final, and DR pushes (`handle_push`); a final report is preceded by the
  SUBMITTED it implies (a receipt may overtake the dispatcher's own record of the submission;
  a repeated status is no change).
"""

from __future__ import annotations

import abc
import asyncio
import logging
import ssl
import time
from collections.abc import Mapping, Sequence
from typing import ClassVar, NamedTuple

from prometheus_client import Counter, Histogram

from ...core import payload
from ...core.errors import ErrorCode, retryable
from ...core.models import Message, Report
from ...core.status import Status
from ...net.http_client import HttpClient, NotSent
from ...store.base import ConnectorEntry, Store
from ..base import Connector, OutcomeUnknown, ReportSink
from .settings import UpstreamConfig

__all__ = ["Answer", "BadAnswer", "HttpConnector", "UpstreamConfig"]

log = logging.getLogger("smsgate.upstream")

SENDING = "sending"  # connector-log outcome: the request is about to be written
SUBMITTED = "submitted"  # the provider took the message (carrier_id: its id, "" if it gave none)
PULL_LIMIT = 10_000  # connector-log lines read per status pull
LOOKUP_TRIES = 3  # recover asks the provider this many times before sending again
LOOKUP_PAUSE = 1.0  # seconds before the second try; doubled each time, at most `timeout`

REQUESTS = Counter(
    "smsgate_upstream_requests",
    "Requests to HTTP upstream providers, by outcome: ok (2xx), http_4xx, http_5xx, "
    "not_sent (no connection), timeout, reset (written, no answer)",
    ["connector", "provider", "request", "outcome"],
)
LATENCY = Histogram(
    "smsgate_upstream_request_seconds",
    "Time from writing a request to an HTTP upstream provider to its answer",
    ["connector", "provider", "request"],
)
MESSAGES = Counter(
    "smsgate_upstream_messages",
    "Messages handed to HTTP upstream providers, by result: submitted, rejected, "
    "retryable (refused, may go elsewhere), unknown (no answer), resent (recover found none)",
    ["connector", "provider", "result"],
)


class Answer(NamedTuple):
    status: int
    body: bytes


class BadAnswer(Exception):
    """The provider answered with a body we cannot read as its API's answer."""


class Pacer:
    """Spaces requests so that no more than `rate` messages a second leave (0: no limit)."""

    def __init__(self, rate: int) -> None:
        self.rate = rate
        self._next = 0.0

    async def take(self, count: int) -> None:
        if not self.rate:
            return
        now = time.monotonic()
        start = max(now, self._next)
        self._next = start + count / self.rate
        if start > now:
            await asyncio.sleep(start - now)


def http_refusal(status: int) -> ErrorCode | None:
    """The retryable refusal an HTTP status alone says (the provider did not take the request),
    or None when the provider's body must say. A refused login is ours to fix, and another
    route may still send the message: UNAVAILABLE, like an outage."""
    if status == 429:
        return ErrorCode.THROTTLED
    if status >= 500 or status in (401, 403):
        return ErrorCode.UNAVAILABLE
    return None


def refused(message: Message, code: ErrorCode, carrier_error: str, at: float) -> Report:
    return Report(
        message_id=message.id,
        status=Status.REJECTED,
        error_code=code.value,
        carrier_error=carrier_error[:200],
        at=at,
    )


def taken(message: Message, carrier_id: str | None, at: float) -> Report:
    return Report(message_id=message.id, status=Status.SUBMITTED, carrier_id=carrier_id, at=at)


def sendable_texts(group: Sequence[Message], at: float) -> tuple[list[Message], list[Report]]:
    """(the texts an SMS API can take, refusals of the rest): binary data, HLR queries and
    pings (core.payload.KINDS) have no form in these APIs; a phone must be digits."""
    ok: list[Message] = []
    out: list[Report] = []
    for m in group:
        if m.encoding in payload.KINDS:
            out.append(refused(m, ErrorCode.UNSUPPORTED_CHANNEL, m.encoding, at))
        elif not m.phone.lstrip("+").isdigit():
            out.append(refused(m, ErrorCode.INVALID_PHONE, "not a number", at))
        else:
            ok.append(m)
    return ok, out


def with_acceptance(reports: Sequence[Report]) -> list[Report]:
    """Each delivery outcome preceded by the SUBMITTED it implies (no change where recorded)."""
    out: list[Report] = []
    for r in reports:
        if r.status.is_final and r.status is not Status.REJECTED:
            out.append(
                Report(
                    message_id=r.message_id,
                    status=Status.SUBMITTED,
                    carrier_id=r.carrier_id,
                    at=r.at,
                )
            )
        out.append(r)
    return out


class HttpConnector(Connector, abc.ABC):
    """A connector to one provider's HTTP API (one `[[upstreams]]` entry)."""

    kind: ClassVar[str]

    def __init__(self, config: UpstreamConfig, store: Store) -> None:
        self.config = config
        self.store = store
        self.name = config.name
        self.tps = config.tps  # also paced here: a route's connectors are not each dispatched
        self.base_url = config.url.rstrip("/")
        self.client = HttpClient(
            max_body=4 << 20,
            user_agent="smsgate",
            timeout=config.timeout,
            allowed=config.networks(),
            retry_stale=False,  # the provider may have read it: recover asks, never resends
        )
        self._slots = asyncio.Semaphore(config.concurrency)
        self._pacer = Pacer(config.tps)
        self._sink: ReportSink | None = None
        self._puller: asyncio.Task[None] | None = None

    # What a provider's module says ------------------------------------------------------------
    def groups(self, messages: Sequence[Message]) -> list[list[Message]]:
        """The messages of one request each: `batch` at a time by default."""
        size = self.config.batch
        return [list(messages[i : i + size]) for i in range(0, len(messages), size)]

    @abc.abstractmethod
    async def send(self, group: Sequence[Message]) -> list[Report]:
        """Send one request's messages; one report each (SUBMITTED or REJECTED). Raises what
        `call` raises, or BadAnswer for an answer it cannot read."""

    @abc.abstractmethod
    async def lookup(self, message_id: str, carrier_id: str) -> list[Report] | None:
        """What the provider says of one message of ours (`carrier_id` "" when unknown):
        reports (none while it is on its way), or None when the provider has no such message."""

    async def read_push(
        self,
        method: str,
        query: Mapping[str, str],
        headers: Mapping[str, str],
        body: bytes,
        sink: ReportSink | None,
    ) -> tuple[int, bytes, list[Report]]:
        """A DR push: (answer status, answer body, reports); incoming SMS in it go to `sink`
        (None: this process has nowhere to put them). Providers that push override it."""
        return 404, b"", []

    # The Connector seam -----------------------------------------------------------------------
    async def start(self, sink: ReportSink) -> None:
        self._sink = sink
        if self.config.status_poll > 0:
            self._puller = asyncio.create_task(self._pull_loop(), name=f"{self.name}-status")

    async def stop(self) -> None:
        if self._puller is not None:
            self._puller.cancel()
            try:
                await self._puller
            except asyncio.CancelledError:
                pass
            self._puller = None
        await self.client.close()

    async def submit(self, messages: Sequence[Message]) -> list[Report]:
        results = await asyncio.gather(*(self._submit_group(g) for g in self.groups(messages)))
        known = [r for reports, _, _ in results for r in reports]
        unknown = [m for _, lost, _ in results for m in lost]
        if unknown:
            details = "; ".join(sorted({d for _, _, d in results if d}))
            raise OutcomeUnknown(known=known, unknown=unknown, detail=details)
        return known

    async def recover(self, messages: Sequence[Message]) -> tuple[list[Report], list[Message]]:
        """Each message looked up at the provider by our reference; those it never got are
        sent again. Asked LOOKUP_TRIES times; a provider that cannot be asked gets them again
        (at least once: docs/routing.md)."""
        found = await asyncio.gather(*(self._lookup_patiently(m) for m in messages))
        reports: list[Report] = []
        resend: list[Message] = []
        for message, answer in zip(messages, found, strict=True):
            if answer is None:
                resend.append(message)
            else:
                reports += answer or [taken(message, None, time.time())]
        await self._note_outcomes(reports)
        await self.store.connector_log_reported(self.name, [m.id for m in resend])
        self._count("resent", len(resend))
        return with_acceptance(reports), resend

    async def handle_push(
        self,
        method: str,
        query: Mapping[str, str],
        headers: Mapping[str, str],
        body: bytes,
        sink: ReportSink | None = None,
    ) -> tuple[int, bytes, list[Report]]:
        """A DR push from the provider (app route `/upstream/{name}/dr`)."""
        try:
            status, answer, reports = await self.read_push(
                method, query, headers, body, sink or self._sink
            )
        except Exception as exc:  # BadAnswer, or a body of a shape no provider sends
            log.warning("upstream %s: unreadable DR push: %s: %s", self.name,
                        type(exc).__name__, str(exc)[:200])  # fmt: skip
            return 400, b"", []
        if reports:
            await self.store.connector_log_reported(
                self.name, [r.message_id for r in reports if r.status.is_final and r.message_id]
            )
        return status, answer, with_acceptance(reports)

    # Requests ---------------------------------------------------------------------------------
    async def call(
        self, request: str, method: str, path: str, headers: Mapping[str, str], body: bytes = b""
    ) -> Answer:
        """One request to `url` + `path`, within the connector's limits, logged and counted.
        Raises NotSent (nothing left), TimeoutError or another OSError (written, no answer)."""
        labels = (self.name, self.kind, request)
        async with self._slots:
            started = time.monotonic()
            try:
                status, answer = await self.client.request(
                    method, self.base_url + path, headers, body
                )
            except (NotSent, ssl.SSLCertVerificationError) as exc:  # at the handshake
                self._failed(labels, "not_sent", exc)
                raise
            except TimeoutError as exc:
                self._failed(labels, "timeout", exc)
                raise
            except OSError as exc:
                self._failed(labels, "reset", exc)
                raise
            elapsed = time.monotonic() - started
        LATENCY.labels(*labels).observe(elapsed)
        outcome = "ok" if status < 300 else f"http_{status // 100}xx"
        REQUESTS.labels(*labels, outcome).inc()
        level = logging.INFO if status < 400 else logging.WARNING
        log.log(
            level,
            "upstream %s (%s) %s %s: HTTP %d in %.1f ms%s",
            self.name,
            self.kind,
            request,
            method,
            status,
            elapsed * 1000,
            "" if status < 400 else f": {answer[:200].decode(errors='replace')}",
        )
        return Answer(status, answer)

    def _failed(self, labels: tuple[str, str, str], outcome: str, exc: BaseException) -> None:
        REQUESTS.labels(*labels, outcome).inc()
        log.warning(
            "upstream %s (%s) %s: %s: %s",
            self.name,
            self.kind,
            labels[2],
            outcome,
            f"{type(exc).__name__}: {exc}"[:200],
        )

    async def _submit_group(self, group: list[Message]) -> tuple[list[Report], list[Message], str]:
        """(reports, messages whose fate is unknown, why)."""
        await self._pacer.take(len(group))
        now = time.time()
        await self.store.connector_log_add(
            self.name,
            [
                ConnectorEntry(
                    message_id=m.id,
                    carrier_id="",
                    submitted_at=now,
                    outcome=SENDING,
                    report_due=now + 2 * self.config.timeout,
                )
                for m in group
            ],
        )
        try:
            reports = await self.send(group)
        except (NotSent, ssl.SSLCertVerificationError) as exc:
            reports = [refused(m, ErrorCode.NETWORK_ERROR, str(exc), now) for m in group]
        except (OSError, TimeoutError, BadAnswer) as exc:
            self._count("unknown", len(group))
            return [], group, f"{type(exc).__name__}: {exc}"[:200]
        except Exception as exc:  # a bug of ours: the request may have left; recover asks
            log.exception("upstream %s (%s): sending failed", self.name, self.kind)
            self._count("unknown", len(group))
            return [], group, f"{type(exc).__name__}: {exc}"[:200]
        await self._note_outcomes(reports)
        answered = {r.message_id for r in reports}
        missing = [m for m in group if m.id not in answered]  # an answer that left them out
        self._count("unknown", len(missing))
        return reports, missing, "the answer did not name every message" if missing else ""

    async def _note_outcomes(self, reports: Sequence[Report]) -> None:
        """The connector log after an answer: the messages taken are owed a report; the rest
        are settled. Counted by result."""
        now = time.time()
        poll = self.config.status_poll
        lines = [
            ConnectorEntry(
                message_id=r.message_id,
                carrier_id=r.carrier_id or "",
                submitted_at=now,
                outcome=SUBMITTED,
                report_due=now + poll,
            )
            for r in reports
            if r.status is Status.SUBMITTED
        ]
        if lines:
            await self.store.connector_log_add(self.name, lines)
        settled = [r.message_id for r in reports if r.status is not Status.SUBMITTED]
        if settled:
            await self.store.connector_log_reported(self.name, settled)
        rejected = [r for r in reports if r.status is Status.REJECTED]
        again = sum(1 for r in rejected if retryable(r.error_code))
        self._count("submitted", len(lines))
        self._count("retryable", again)
        self._count("rejected", len(rejected) - again)
        if rejected:  # refusals answered 200 (SMSC.ru, mysmpp) are not in the request's line
            r = rejected[0]
            log.warning(
                "upstream %s (%s): %d of %d messages refused (%d may go elsewhere), first %s: "
                "%s (%s)",
                self.name,
                self.kind,
                len(rejected),
                len(reports),
                again,
                r.message_id,
                r.error_code,
                r.carrier_error,
            )

    def _count(self, result: str, n: int) -> None:
        if n:
            MESSAGES.labels(self.name, self.kind, result).inc(n)

    # Outcomes ---------------------------------------------------------------------------------
    async def _lookup_patiently(self, message: Message) -> list[Report] | None:
        for attempt in range(LOOKUP_TRIES):
            try:
                return await self.lookup(message.id, "")
            except (OSError, TimeoutError, BadAnswer) as exc:
                log.warning(
                    "upstream %s: cannot look up %s (try %d): %s",
                    self.name,
                    message.id,
                    attempt + 1,
                    exc,
                )
                if attempt + 1 < LOOKUP_TRIES:
                    await asyncio.sleep(min(self.config.timeout, LOOKUP_PAUSE * 2**attempt))
        log.warning("upstream %s: %s sent again, not found out (at least once)", self.name,
                    message.id)  # fmt: skip
        return None

    async def _pull_loop(self) -> None:
        while True:
            await asyncio.sleep(self.config.status_poll)
            try:
                await self.pull()
            except Exception as exc:  # the store or the provider is down: next round
                log.warning("upstream %s: status pull failed: %s", self.name, exc)

    async def pull(self) -> int:
        """One status pull over the messages the provider took and owes a final word on;
        the final outcomes go to the sink. Returns how many."""
        assert self._sink is not None
        now = time.time()
        owed: dict[str, ConnectorEntry] = {}
        for e in await self.store.connector_log_pending(self.name, PULL_LIMIT):
            if e.outcome == SUBMITTED and (e.report_due or 0) <= now:
                owed[e.message_id] = e
        answers = await asyncio.gather(*(self._pull_one(e) for e in owed.values()))
        final = [r for reports in answers for r in reports or () if r.status.is_final]
        if final:
            await self._sink.reports(with_acceptance(final))
            await self.store.connector_log_reported(self.name, [r.message_id for r in final])
        return len(final)

    async def _pull_one(self, entry: ConnectorEntry) -> list[Report] | None:
        try:
            return await self.lookup(entry.message_id, entry.carrier_id)
        except (OSError, TimeoutError, BadAnswer):
            return None  # logged by call; asked again next round
