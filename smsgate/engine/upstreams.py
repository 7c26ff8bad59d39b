"""The router: one `Connector` over several, each message sent by the route its rule names.

For each message the routing table (core.routing, kept in the store, reloaded every few
seconds) gives a rule, a route and the order of the route's connectors. The router hands each
message to the first connector whose breaker is closed and, when that connector refuses it with
a retryable error (the provider certainly did not take it), to the next. A connector that
raises `OutcomeUnknown` (a request written, no answer) is never failed over: those messages
go back to the dispatcher, which asks that connector (`recover`) before anything is sent again.
A message every connector refused retryably, or whose every breaker is open, is handed back as
QUEUED: the dispatcher queues it again a little later (until it expires).

Which connector had a message is durable (`Store.routes_mark`, written before the request): DRs
are matched per connector (carrier ids collide across providers) and recovery after a crash asks
the connector that had the message. docs/routing.md says it all with examples.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence

from prometheus_client import Counter, Gauge

from ..connectors.base import Connector, Incoming, LinkState, OutcomeUnknown, ReportSink
from ..core.errors import retryable
from ..core.models import Message, Report
from ..core.routing import (
    BreakerPolicy,
    Outcome,
    Route,
    RoutingTable,
    Rule,
    breaker_open,
    destination,
    hop_order,
    route_for,
    trim_outcomes,
)
from ..core.status import Status
from ..store.base import Store, by_connector
from .ratelimit import TokenBucket

log = logging.getLogger("smsgate.routing")

FAILOVERS = Counter(
    "smsgate_routing_failovers",
    "Messages a connector refused retryably, so that the route's next one was tried",
    ["connector"],
)
REQUEUED = Counter(
    "smsgate_routing_requeued", "Messages no connector of their route took: queued again", []
)
BREAKER_OPEN = Gauge(
    "smsgate_routing_breaker_open",
    "1 while a connector's circuit breaker is open (sampled at each submit)",
    ["connector"],
    multiprocess_mode="livemax",
)

CARRIER_ID_WAIT = 2.0  # seconds a DR naming an unknown carrier id waits for its submit's record


class Choice:
    """Where one message goes: its rule and route (None: the default) and the connectors to try."""

    __slots__ = ("hops", "route", "rule")

    def __init__(self, rule: Rule | None, route: Route | None, hops: list[str]) -> None:
        self.rule = rule
        self.route = route
        self.hops = hops


class Router(Connector):
    name = "router"

    def __init__(
        self,
        store: Store,
        connectors: Mapping[str, Connector],
        *,
        default: str,
        default_route: str = "",
        breaker: BreakerPolicy | None = None,
        reload: float = 5.0,
        draw: Callable[[], float] = random.random,
    ) -> None:
        if default not in connectors:
            raise ValueError(f"the default connector {default!r} is not built")
        self.store = store
        self.connectors = dict(connectors)
        self.default = default  # the only route when no rule and no default route match
        self.default_route = default_route
        self.breaker = breaker or BreakerPolicy()
        self.reload = reload
        self.draw = draw
        self.table = RoutingTable()
        self._regions = False
        self._outcomes: dict[str, list[Outcome]] = defaultdict(list)
        self._route_buckets: dict[str, TokenBucket] = {}
        self._reloader: asyncio.Task[None] | None = None

    # Lifecycle ---------------------------------------------------------------------------------
    async def start(self, sink: ReportSink) -> None:
        await self.load_table()
        for name, connector in self.connectors.items():
            await connector.start(CarrierIdSink(name, sink, self.store))
        self._reloader = asyncio.create_task(self._reload_loop(), name="routing-reload")

    async def stop(self) -> None:
        if self._reloader is not None:
            self._reloader.cancel()
            await asyncio.gather(self._reloader, return_exceptions=True)
            self._reloader = None
        for connector in self.connectors.values():
            await connector.stop()

    async def load_table(self) -> None:
        self.table = await self.store.routing_table()
        # phonenumberslite's region costs tens of µs a message: only when a rule or price asks
        self._regions = any(r.countries for r in self.table.rules) or any(
            p.country for p in self.table.prices
        )

    async def _reload_loop(self) -> None:
        while True:
            await asyncio.sleep(self.reload)
            try:
                await self.load_table()
            except Exception as exc:  # the store is down: keep the table we have
                log.warning("cannot reload the routing table: %s", exc)

    def link_states(self) -> list[LinkState]:
        return [s for c in self.connectors.values() for s in c.link_states()]

    # Choosing ----------------------------------------------------------------------------------
    def choose(self, message: Message, now: float) -> Choice:
        """The rule, route and connector order for one message (breakers not considered)."""
        dest = destination(
            message.phone,
            message.account_id,
            message.sender,
            message.dialect,
            now,
            with_region=self._regions,
        )
        rule, route = route_for(self.table, dest, self.default_route)
        if route is None and (rule is not None or self.default_route):
            log.warning("rule %s names a route that does not exist: the default", rule)
        if route is None:
            return Choice(rule, None, [self.default])
        return Choice(rule, route, hop_order(route, dest, self.table.prices, self.draw))

    def breaker_is_open(self, connector: str, now: float) -> bool:
        outcomes = self._outcomes.get(connector)
        is_open = bool(outcomes) and breaker_open(outcomes or [], now, self.breaker)
        BREAKER_OPEN.labels(connector).set(int(is_open))
        return is_open

    def _note(self, connector: str, ok: bool, latency: float) -> None:
        now = time.time()
        outcomes = self._outcomes[connector]
        outcomes.append(Outcome(now, ok, latency))
        trim_outcomes(outcomes, now, self.breaker)

    # Sending -----------------------------------------------------------------------------------
    async def submit(self, messages: Sequence[Message]) -> list[Report]:
        now = time.time()
        choices = {m.id: self.choose(m, now) for m in messages}
        tried: dict[str, list[str]] = {m.id: [] for m in messages}
        last_refusal: dict[str, Report] = {}
        done: list[Report] = []
        unknown: list[Message] = []
        details: list[str] = []
        by_id = {m.id: m for m in messages}
        pending = list(messages)
        while pending:
            groups = self._next_hops(pending, choices, tried, time.time())
            pending = []
            for m in groups.pop(None, []):  # no connector left to try
                done.append(_requeued(m, last_refusal.get(m.id), tried[m.id]))
                REQUEUED.inc()
            results = await asyncio.gather(
                *(self._send(name, group, choices) for name, group in groups.items() if name)
            )
            for reports, lost, detail in results:
                unknown += lost
                if detail:
                    details.append(detail)
                for report in reports:
                    if report.status is Status.REJECTED and retryable(report.error_code):
                        last_refusal[report.message_id] = report
                        pending.append(by_id[report.message_id])
                    else:
                        done.append(report)
        if unknown:
            raise OutcomeUnknown(known=done, unknown=unknown, detail="; ".join(details))
        return done

    def _next_hops(
        self,
        pending: Sequence[Message],
        choices: Mapping[str, Choice],
        tried: dict[str, list[str]],
        now: float,
    ) -> dict[str | None, list[Message]]:
        """Pending messages by the connector each tries next (None: none left)."""
        groups: dict[str | None, list[Message]] = defaultdict(list)
        for m in pending:
            hop = None
            for name in choices[m.id].hops:
                if name in tried[m.id]:
                    continue
                if name not in self.connectors:
                    log.warning("route names connector %r, which is not configured", name)
                elif self.breaker_is_open(name, now):
                    log.debug("breaker of %s is open: %s skips it", name, m.id)
                else:
                    hop = name
                    break
                tried[m.id].append(name)
            if hop is not None:
                tried[m.id].append(hop)
            groups[hop].append(m)
        return groups

    async def _send(
        self, name: str, group: list[Message], choices: Mapping[str, Choice]
    ) -> tuple[list[Report], list[Message], str]:
        """One connector's share: (reports, messages whose outcome is unknown, why)."""
        await self._pace_routes(group, choices)
        connector = self.connectors[name]
        await self.store.routes_mark(name, [(m.id, None) for m in group], time.time())
        started = time.monotonic()
        try:
            reports = await connector.submit(group)
            lines = connector.unlogged(reports)
            if lines:  # written before anything of these reports is (as the connector's note)
                for owner, entries in by_connector(lines).items():
                    await self.store.connector_log_note(owner, entries)
                connector.logged(lines)
        except OutcomeUnknown as exc:
            self._note(name, False, time.monotonic() - started)
            log.warning(
                "connector %s: outcome of %d of %d messages unknown: %s",
                name,
                len(exc.unknown),
                len(group),
                exc.detail,
            )
            await self._mark_taken(name, exc.known)
            return exc.known, exc.unknown, f"{name}: {exc.detail}"
        except Exception as exc:  # a bug or a surprise: whether it sent anything is unknown
            self._note(name, False, time.monotonic() - started)
            log.exception("connector %s failed on %d messages", name, len(group))
            return [], group, f"{name}: {type(exc).__name__}: {exc}"
        refused = [r for r in reports if r.status is Status.REJECTED and retryable(r.error_code)]
        self._note(name, len(refused) < len(reports), time.monotonic() - started)
        if refused:
            FAILOVERS.labels(name).inc(len(refused))
        for r in refused:
            log.info(
                "connector %s refused %s (%s, %s): failing over",
                name,
                r.message_id,
                r.error_code,
                r.carrier_error,
                extra={"connector": name, "message_id": r.message_id},
            )
        await self._mark_taken(name, reports)
        return reports, [], ""

    async def _mark_taken(self, name: str, reports: Sequence[Report]) -> None:
        """The carrier ids the provider gave, per connector, before the submit is recorded."""
        # one mark per message: a recovered one comes as SUBMITTED then its final report
        marks = {r.message_id: r.carrier_id for r in reports if r.carrier_id}
        if marks:
            await self.store.routes_mark(name, list(marks.items()), time.time())

    async def _pace_routes(self, group: list[Message], choices: Mapping[str, Choice]) -> None:
        """Wait until each route with a TPS limit lets this group's messages go."""
        per_route: dict[str, int] = defaultdict(int)
        for m in group:
            route = choices[m.id].route
            if route is not None and route.tps:
                per_route[route.name] += 1
        for route_name, count in per_route.items():
            route = self.table.route(route_name)
            rate = route.tps if route is not None else 0
            bucket = self._route_buckets.get(route_name)
            if bucket is None or bucket.rate != rate:
                bucket = self._route_buckets[route_name] = TokenBucket(rate, time.monotonic())
            while count > 0:
                count -= bucket.take(count, time.monotonic())
                if count:
                    await asyncio.sleep(bucket.wait_time(time.monotonic()))

    # After a crash, or an unknown outcome ---------------------------------------------------------
    async def recover(self, messages: Sequence[Message]) -> tuple[list[Report], list[Message]]:
        """Each message asked of the connector that had it (the default one when none is
        recorded: it was sent before routing, or never left)."""
        routes = await self.store.routes_of([m.id for m in messages])
        by_connector: dict[str, list[Message]] = defaultdict(list)
        for m in messages:
            had = routes.get(m.id)
            name = had.connector if had is not None else self.default
            by_connector[name if name in self.connectors else self.default].append(m)
        reports: list[Report] = []
        resend: list[Message] = []
        for name, group in by_connector.items():
            found, again = await self.connectors[name].recover(group)
            await self._mark_taken(name, found)
            reports += found
            resend += again
        return reports, resend

    async def balance(self) -> int | None:
        return None  # each connector has its own: `balances`

    async def balances(self) -> dict[str, int | None]:
        """Each connector's balance at its provider (None: its API has none)."""
        names = list(self.connectors)
        found = await asyncio.gather(
            *(self.connectors[n].balance() for n in names), return_exceptions=True
        )
        out: dict[str, int | None] = {}
        for name, value in zip(names, found, strict=True):
            if isinstance(value, BaseException):
                log.warning("balance of %s: %s", name, value)
                out[name] = None
            else:
                out[name] = value
        return out


def _requeued(message: Message, refusal: Report | None, tried: Sequence[str]) -> Report:
    """QUEUED: no connector took the message now (refused retryably or breaker open)."""
    log.warning(
        "message %s queued again: no connector took it (tried %s; last refusal %s %s)",
        message.id,
        ", ".join(tried) or "none",
        refusal.error_code if refusal else "none (breakers open)",
        refusal.carrier_error if refusal else "",
        extra={"message_id": message.id},
    )
    return Report(
        message_id=message.id,
        status=Status.QUEUED,
        error_code=refusal.error_code if refusal else None,
        carrier_error=refusal.carrier_error if refusal else None,
        at=time.time(),
    )


async def resolve_carrier_ids(
    store: Store, connector: str, reports: Sequence[Report], wait: float = CARRIER_ID_WAIT
) -> list[Report]:
    """Reports that name a message by its carrier id alone, named by our id: matched among the
    messages `connector` had. A DR may overtake the record of its submit, so an unknown id is
    looked for again for up to `wait` seconds; one still unknown is logged and dropped."""
    named = [r for r in reports if r.message_id]
    loose = [r for r in reports if not r.message_id and r.carrier_id]
    deadline = time.monotonic() + wait
    while loose:
        found = await store.routes_by_carrier(
            connector, sorted({r.carrier_id or "" for r in loose})
        )
        for r in loose:
            if r.carrier_id in found:
                named.append(_named(r, found[r.carrier_id]))
        loose = [r for r in loose if r.carrier_id not in found]
        if not loose or time.monotonic() >= deadline:
            break
        await asyncio.sleep(0.1)
    for r in loose:
        log.warning(
            "connector %s reported %s for carrier id %r, which matches no message of ours",
            connector,
            r.status.value,
            r.carrier_id,
            extra={"connector": connector},
        )
    return named


def _named(report: Report, message_id: str) -> Report:
    return Report(
        message_id=message_id,
        status=report.status,
        carrier_id=report.carrier_id,
        error_code=report.error_code,
        carrier_error=report.carrier_error,
        at=report.at,
    )


class CarrierIdSink:
    """A connector's view of the engine's sink: its reports matched by carrier id among the
    messages it had (not another connector's with the same id)."""

    def __init__(self, connector: str, sink: ReportSink, store: Store) -> None:
        self.connector = connector
        self.sink = sink
        self.store = store

    async def reports(self, reports: Sequence[Report]) -> None:
        if any(not r.message_id for r in reports):
            reports = await resolve_carrier_ids(self.store, self.connector, reports)
        await self.sink.reports(reports)

    async def incoming(self, messages: Sequence[Incoming]) -> None:
        await self.sink.incoming(messages)


async def take_push(
    connector: Connector,
    store: Store,
    sink: ReportSink,
    request: tuple[str, Mapping[str, str], Mapping[str, str], bytes],
) -> tuple[int, bytes]:
    """A DR push `(method, query, headers, body)` for `connector`, already authenticated: read by
    the connector, matched to our messages among those it had, recorded through `sink`. The
    answer the provider's pusher expects."""
    status, answer, reports = await connector.handle_push(*request, sink=sink)
    reports = await resolve_carrier_ids(store, connector.name, reports)
    if reports:
        await sink.reports(reports)
    return status, answer
