"""The southbound seam: a connector hands messages to a carrier and reports what became of them."""

from __future__ import annotations

import abc
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Protocol

import msgspec

from ..core.models import Message, Report
from ..store.base import LogLine


class Incoming(msgspec.Struct, kw_only=True):
    """An SMS a carrier delivered to us: from a subscriber to one of our numbers."""

    phone: str
    to: str
    text: str
    at: float
    account_id: int | None = None  # when the connector knows it (a reply to our message)
    reply_to: str | None = None


class ReportSink(Protocol):
    """Where a connector sends receipts and incoming SMS (the engine's reports component)."""

    async def reports(self, reports: Sequence[Report]) -> None: ...

    async def incoming(self, messages: Sequence[Incoming]) -> None: ...


class BoundSession(Protocol):
    """An SMPP session as LinkState counts it, the client's or the server's."""

    mode: str

    @property
    def outstanding(self) -> int: ...


class LinkState(msgspec.Struct, kw_only=True):
    """One SMPP party's links, for metrics: a carrier the SMPP client binds to ("client",
    named after the connector), or an account bound to the SMPP server ("server")."""

    side: str
    name: str
    binds: dict[str, int]  # bind mode (trx, tx, rx) -> sessions bound
    window_used: int  # requests sent on those sessions and not yet answered
    window_size: int  # how many may be: the window times the sessions
    throttled: int  # submit_sm answered ESME_RTHROTTLED/ESME_RMSGQFUL since the start

    @classmethod
    def of(
        cls,
        side: str,
        name: str,
        bound: Iterable[BoundSession],
        windowed: Sequence[BoundSession],
        window: int,
        throttled: int,
    ) -> LinkState:
        """The state of `bound` sessions, counted by bind mode; the window is that of the
        `windowed` ones (those this side sends requests on), `window` requests each."""
        return cls(
            side=side,
            name=name,
            binds=dict(Counter(s.mode for s in bound)),
            window_used=sum(s.outstanding for s in windowed),
            window_size=window * len(windowed),
            throttled=throttled,
        )


class OutcomeUnknown(Exception):
    """A request was written to the carrier and no answer came (a timeout, a reset): whether it
    took `unknown` cannot be known here. The router never fails these over (that could send
    them twice); the dispatcher records `known` and hands `unknown` to `Connector.recover`."""

    def __init__(self, known: list[Report], unknown: list[Message], detail: str) -> None:
        super().__init__(detail)
        self.known = known
        self.unknown = unknown
        self.detail = detail


class Connector(abc.ABC):
    name: str = "connector"
    tps: int = 0  # the link's throughput limit; 0 = unlimited

    @abc.abstractmethod
    async def start(self, sink: ReportSink) -> None: ...

    @abc.abstractmethod
    async def stop(self) -> None: ...

    @abc.abstractmethod
    async def submit(self, messages: Sequence[Message]) -> list[Report]:
        """Hand messages over. One report each: SUBMITTED with a carrier id, or a refusal."""

    def unlogged(self, reports: Sequence[Report]) -> list[LogLine]:
        """The connector-log lines of `reports` (just returned by `submit`) that this connector
        left for the dispatcher to write with its record of them (Store.record_reports), each
        given once. A connector whose acceptance is its log line (the simulator) then costs no
        write of its own, and its line and the record commit together. By default none: a
        connector writes its own lines before it answers."""
        return []

    def logged(self, lines: Sequence[LogLine]) -> None:
        """The lines `unlogged` gave are committed (with the record): what this connector held
        back until then may go on. Lines of other connectors are passed over."""
        return None

    async def recover(self, messages: Sequence[Message]) -> tuple[list[Report], list[Message]]:
        """After a crash: reports for messages the carrier already has, and those to send again.

        A connector that cannot ask the carrier returns all of them to be sent again (at least
        once); one that keeps a durable log (the simulator) answers exactly.
        """
        return [], list(messages)

    async def balance(self) -> int | None:
        """The carrier account's balance in micro-units (`core.money`); None when it has none."""
        return None

    async def handle_push(
        self,
        method: str,
        query: Mapping[str, str],
        headers: Mapping[str, str],
        body: bytes,
        sink: ReportSink | None = None,
    ) -> tuple[int, bytes, list[Report]]:
        """A DR push from the carrier, taken at `/upstream/{name}/dr` (docs/routing.md): the
        answer's status and body, as the carrier's pusher expects them, and the reports (named
        by our message id, or by carrier id alone). Incoming SMS in a push go to `sink`: the
        caller's (an HTTP worker's, whose copy of the connector was never started), else the
        one the connector was started with. A connector whose carrier never pushes: 404."""
        return 404, b"", []

    def link_states(self) -> list[LinkState]:
        """The state of the connector's links (SMPP binds), sampled for metrics."""
        return []
