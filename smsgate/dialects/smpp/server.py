"""The SMPP server (northbound): clients bind to smsgate as to any SMSC.

Runs in the engine's process, built by ``smsgate.app`` and started with the engine
(``smsgate.engine.runtime``). A bind is checked against the account's ``smpp`` credential
(system_id/password, a salted hash compared in constant time); submit_sm and data_sm go through
the same accept path as HTTP (``Gateway.submit`` with dialect ``smpp``), all the submits of one
read in one call, and their responses leave in one write. Receipts and incoming SMS come back
through the notifier's durable outbox (``smsgate.dialects.smpp.callbacks``) as deliver_sm to a
receiver or transceiver bind. The PDUs and the session are ``smsgate.smpp``'s.

Our message id is the message's ``seq`` in decimal, in submit_sm_resp, in receipts
(``receipted_message_id`` and ``id:``), and for query_sm and cancel_sm.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import secrets
import socket
import time
from collections import Counter
from collections.abc import Awaitable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import msgspec

from ...connectors.base import LinkState
from ...core.bounds import Count, ListenPort, Rate, Seconds
from ...core.errors import ErrorCode, GatewayError
from ...core.models import Account, Message, Notice, Submission
from ...core.status import Status
from ...engine.callbacks import CallbackRequest
from ...engine.gateway import Gateway
from ...engine.notifier import Sender
from ...engine.ratelimit import TokenBucket
from ...smpp.concat import Reassembler, Scheme, message_parts, split_text
from ...smpp.constants import INTERFACE_VERSION, EsmClass, MessageState, Tag
from ...smpp.constants import CommandStatus as S
from ...smpp.encoding import encode_text
from ...smpp.pdu import (
    BindReceiver,
    BindTransceiver,
    BindTransmitter,
    CancelSm,
    DataSm,
    DeliverSm,
    Pdu,
    QuerySm,
    ReplaceSm,
    SubmitSm,
)
from ...smpp.receipt import DeliveryReceipt
from ...smpp.session import Session
from ...smpp.times import format_time, parse_time
from ...store.base import StoreUnavailable
from .callbacks import SCHEME, receipt_url

log = logging.getLogger("smsgate.smpp.server")
_decode_notices = msgspec.json.Decoder(list[Notice]).decode


class SmppServerConfig(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    # Where this node listens: per node, like the HTTP host and port (two nodes on one host
    # need two ports; SMSGATE_SMPP__PORT / SMSGATE_SMPP__HOST set them from the environment).
    port: ListenPort = 2775  # 0: no SMPP server
    host: str | None = None  # default: the HTTP host
    system_id: str = "smsgate"  # our name in bind responses
    window: Count = 1000  # per account: submits being accepted at once; more -> ESME_RTHROTTLED
    tps: Rate = 0  # per account submits per second (0 = unlimited); settings.smpp.tps overrides
    bind_window: Count = 100  # per bind: deliver_sm awaiting deliver_sm_resp
    max_binds: Count = 100  # per account
    response_timeout: Seconds = 10.0
    enquire_link: Seconds = 30.0  # idle seconds before we enquire
    gsm_packed: bool = False  # data_coding 0 is packed 7-bit on this server's links
    receipt_retry: Seconds = 5.0  # seconds between attempts while no bind takes a receipt
    receipt_retention: Seconds = 3 * 86400.0  # then the receipt is given up (outbox: dead)
    reassembly_timeout: Seconds = 600.0


class ListenError(OSError):
    """The SMPP listen address cannot be taken (in use: another node on this host?)."""


def listen_address(config: SmppServerConfig, default_host: str) -> tuple[str, int]:
    return config.host or default_host, config.port


def listen_error(host: str, port: int, exc: OSError) -> ListenError:
    """One line that says which address, why, and what to change."""
    return ListenError(
        exc.errno,
        f"cannot listen for SMPP on {host}:{port}: {exc.strerror or exc}"
        " (another smsgate node on this host? give each its own [smpp] port,"
        " e.g. SMSGATE_SMPP__PORT, or 0 for no SMPP server)",
    )


def check_listen(host: str, port: int) -> None:
    """ListenError now when (host, port) cannot be bound, before a node starts anything (the
    server binds it for good in `start`, in the engine's lifespan, where a failure would come
    out as a traceback)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as start() binds
        try:
            sock.bind((host, port))
        except OSError as exc:
            raise listen_error(host, port, exc) from None


# Canonical errors -> SMPP command_status of submit_sm_resp.
ERROR_STATUS: dict[ErrorCode, int] = {
    ErrorCode.INVALID_PHONE: S.ESME_RINVDSTADR,
    ErrorCode.SENDER_NOT_ALLOWED: S.ESME_RINVSRCADR,
    ErrorCode.EMPTY_TEXT: S.ESME_RINVMSGLEN,
    ErrorCode.TEXT_TOO_LONG: S.ESME_RINVMSGLEN,
    ErrorCode.INSUFFICIENT_BALANCE: S.ESME_RSUBMITFAIL,
    ErrorCode.STOP_LISTED: S.ESME_RSUBMITFAIL,
    ErrorCode.BAD_SCHEDULE: S.ESME_RINVSCHED,
    ErrorCode.BAD_VALIDITY: S.ESME_RINVEXPIRY,
    ErrorCode.THROTTLED: S.ESME_RTHROTTLED,
    ErrorCode.UNAVAILABLE: S.ESME_RMSGQFUL,
    ErrorCode.FORBIDDEN: S.ESME_RSUBMITFAIL,
}

STATE_OF: dict[Status, MessageState] = {
    Status.ACCEPTED: MessageState.ACCEPTED,
    Status.SCHEDULED: MessageState.ENROUTE,
    Status.QUEUED: MessageState.ENROUTE,
    Status.SUBMITTED: MessageState.ENROUTE,
    Status.DELIVERED: MessageState.DELIVERED,
    Status.UNDELIVERED: MessageState.UNDELIVERABLE,
    Status.EXPIRED: MessageState.EXPIRED,
    Status.REJECTED: MessageState.REJECTED,
    Status.CANCELLED: MessageState.DELETED,
    Status.UNKNOWN: MessageState.UNKNOWN,
}
STAT_OF: dict[Status, str] = {
    Status.DELIVERED: "DELIVRD",
    Status.UNDELIVERED: "UNDELIV",
    Status.EXPIRED: "EXPIRED",
    Status.REJECTED: "REJECTD",
    Status.CANCELLED: "DELETED",
    Status.UNKNOWN: "UNKNOWN",
    Status.SUBMITTED: "ENROUTE",
}
# err: in receipts (three digits; there is no standard, these are ours and documented).
RECEIPT_ERR: dict[str, str] = {
    ErrorCode.ABSENT_SUBSCRIBER.value: "001",
    ErrorCode.UNKNOWN_SUBSCRIBER.value: "002",
    ErrorCode.BLOCKED_SUBSCRIBER.value: "003",
    ErrorCode.MEMORY_FULL.value: "004",
    ErrorCode.NETWORK_ERROR.value: "005",
    ErrorCode.EXPIRED.value: "006",
    ErrorCode.CARRIER_REJECTED.value: "007",
    ErrorCode.STOP_LISTED.value: "008",
    ErrorCode.INSUFFICIENT_BALANCE.value: "009",
}


class Refusal(Exception):
    def __init__(self, status: int) -> None:
        super().__init__(hex(status))
        self.status = status


@dataclass
class AccountLink:
    """What the server keeps per account: its binds, its limits, its pending multipart parts."""

    account_id: int
    sessions: list[ServerSession] = field(default_factory=list)
    inflight: int = 0
    bucket: TokenBucket | None = None
    reassembler: Reassembler = field(default_factory=Reassembler)
    part_ids: dict[tuple[str, str, int], list[str]] = field(default_factory=dict)
    turn: itertools.count[int] = field(default_factory=itertools.count)
    name: str = ""  # the account's, for logs and metrics
    throttled: int = 0  # submit_sm answered ESME_RTHROTTLED since the start
    throttle_unlogged: int = 0  # ... of which no log line has told yet
    throttle_logged_at: float = 0.0  # monotonic time of the last such line

    def receivers(self) -> list[ServerSession]:
        return [s for s in self.sessions if s.can_receive and s.is_open]


class ServerSession(Session):
    def __init__(self, server: SmppServer) -> None:
        cfg = server.config
        super().__init__(
            window=cfg.bind_window,
            response_timeout=cfg.response_timeout,
            enquire_link=cfg.enquire_link,
            name="smpp-server",
        )
        self.server = server
        self.account: Account | None = None
        self.mode = ""  # "", "binding", "tx", "rx", "trx"
        self._batch: list[Pdu] = []

    @property
    def can_receive(self) -> bool:
        return self.mode in ("rx", "trx")

    @property
    def can_submit(self) -> bool:
        return self.mode in ("tx", "trx")

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self.server.sessions.add(self)

    def on_closed(self, exc: Exception | None) -> None:
        self.server.sessions.discard(self)
        if self.account is not None:
            link = self.server.links.get(self.account.id)
            if link is not None and self in link.sessions:
                link.sessions.remove(self)
                log.info(
                    "account %s: bind (%s) from %s went down%s",
                    self.account.name,
                    self.mode,
                    self.peer,
                    f": {exc}" if exc is not None else "",
                    extra={"account": self.account.name, "mode": self.mode, "peer": self.peer},
                )

    def handle_request(self, pdu: Pdu) -> Pdu | None:
        if isinstance(pdu, BindTransmitter | BindReceiver | BindTransceiver):
            if self.mode:
                return pdu.make_resp(S.ESME_RALYBND)
            self.mode = "binding"
            self.server.spawn(self.server.bind(self, pdu))
            return None
        if isinstance(pdu, SubmitSm | DataSm):
            if not self.can_submit:
                return pdu.make_resp(S.ESME_RINVBNDSTS)
            self._batch.append(pdu)
            return None
        if isinstance(pdu, QuerySm | CancelSm):
            if not self.can_submit:
                return pdu.make_resp(S.ESME_RINVBNDSTS)
            self.server.spawn(self.server.query_or_cancel(self, pdu))
            return None
        if isinstance(pdu, ReplaceSm):
            return pdu.make_resp(S.ESME_RREPLACEFAIL if self.can_submit else S.ESME_RINVBNDSTS)
        if isinstance(pdu, DeliverSm):
            return pdu.make_resp(S.ESME_RINVBNDSTS)
        return super().handle_request(pdu)

    def after_read(self) -> None:
        if self._batch:
            batch, self._batch = self._batch, []
            self.server.spawn(self.server.submit(self, batch))


class SmppServer:
    def __init__(
        self,
        config: SmppServerConfig,
        gateway: Gateway,
        *,
        default_host: str = "127.0.0.1",
    ) -> None:
        self.config = config
        self.gateway = gateway
        self.host, self.port = listen_address(config, default_host)
        self.links: dict[int, AccountLink] = {}
        self.sessions: set[ServerSession] = set()
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._housekeeping: asyncio.Task[None] | None = None
        self._part_counter = itertools.count(1)
        self._part_prefix = secrets.token_hex(3)

    # Lifecycle ----------------------------------------------------------------------------------
    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            self._server = await loop.create_server(
                lambda: ServerSession(self), self.host, self.port, reuse_address=True, backlog=1024
            )
        except OSError as exc:
            raise listen_error(self.host, self.port, exc) from None
        sock = self._server.sockets[0]
        self.port = sock.getsockname()[1]
        self._housekeeping = asyncio.create_task(self._expire_parts(), name="smpp-parts")
        log.info("SMPP server listening on %s:%d", self.host, self.port)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        if self._housekeeping is not None:
            self._housekeeping.cancel()
        for session in list(self.sessions):
            session.close()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    def spawn(self, coro: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def sender(self, fallback: Sender) -> Sender:
        """The notifier's sender: ``smpp:`` requests to binds, anything else to ``fallback``."""

        async def send(request: CallbackRequest) -> tuple[int, bytes]:
            if request.url.startswith(SCHEME):
                return await self.deliver(request)
            return await fallback(request)

        return send

    def link(self, account: Account) -> AccountLink:
        link = self.links.get(account.id)
        if link is None:
            link = self.links[account.id] = AccountLink(
                account.id,
                reassembler=Reassembler(self.config.reassembly_timeout),
                name=account.name,
            )
        return link

    def link_states(self) -> list[LinkState]:
        """Each account's binds, for metrics (an account that unbound stays, at zero)."""
        window = self.config.bind_window
        return [
            LinkState.of(
                "server", link.name, link.sessions, link.receivers(), window, link.throttled
            )
            for link in self.links.values()
        ]

    def _limits(self, account: Account) -> tuple[int, int]:
        own = account.settings.get("smpp") or {}
        window = int(own.get("window", self.config.window))
        tps = int(own.get("tps", self.config.tps))
        return window, tps

    # Bind ---------------------------------------------------------------------------------------
    async def bind(self, session: ServerSession, pdu: Pdu) -> None:
        assert isinstance(pdu, BindTransmitter | BindReceiver | BindTransceiver)
        try:
            account = await self.gateway.login("smpp", "smpp", pdu.system_id, pdu.password)
        except StoreUnavailable:
            account = None
        resp = pdu.make_resp(S.ESME_RBINDFAIL)
        if account is not None:
            own = account.settings.get("smpp") or {}
            link = self.link(account)
            if len(link.sessions) >= int(own.get("max_binds", self.config.max_binds)):
                log.warning(
                    "account %s: bind refused from %s: too many binds",
                    account.name,
                    session.peer,
                    extra={"account": account.name, "peer": session.peer},
                )
            else:
                session.account = account
                session.mode = (
                    "tx"
                    if isinstance(pdu, BindTransmitter)
                    else "rx"
                    if isinstance(pdu, BindReceiver)
                    else "trx"
                )
                link.sessions.append(session)
                resp = pdu.make_resp(system_id=self.config.system_id)
                if pdu.interface_version >= INTERFACE_VERSION:
                    resp.tlvs[Tag.SC_INTERFACE_VERSION] = INTERFACE_VERSION
                log.info(
                    "account %s bound (%s) from %s",
                    account.name,
                    session.mode,
                    session.peer,
                    extra={"account": account.name, "mode": session.mode, "peer": session.peer},
                )
        if resp.command_status:
            session.mode = ""
            log.info(
                "bind refused for %r from %s",
                pdu.system_id,
                session.peer,
                extra={"system_id": pdu.system_id, "peer": session.peer},
            )
        session.reply(resp)

    # Submit -------------------------------------------------------------------------------------
    async def submit(self, session: ServerSession, pdus: list[Pdu]) -> None:
        assert session.account is not None
        account = await self.gateway.account(session.account.id) or session.account
        if not account.active:
            log.info(
                "account %s inactive: %d submit_sm refused, bind closed",
                account.name,
                len(pdus),
                extra={"account": account.name, "refused": len(pdus)},
            )
            session.reply_many([pdu.make_resp(S.ESME_RSUBMITFAIL) for pdu in pdus])
            session.close()
            return
        link = self.link(account)
        window, tps = self._limits(account)
        now = time.time()
        if tps and (link.bucket is None or link.bucket.rate != tps):
            link.bucket = TokenBucket(tps, time.monotonic())
        answers: list[Pdu | None] = [None] * len(pdus)
        items: list[Submission] = []
        positions: list[int] = []
        monotonic = time.monotonic()
        throttled = 0
        refused: Counter[int] = Counter()  # by command_status, before the accept
        for i, pdu in enumerate(pdus):
            if link.inflight + len(items) >= window or (
                tps and link.bucket is not None and not link.bucket.take(1, monotonic)
            ):
                answers[i] = pdu.make_resp(S.ESME_RTHROTTLED)
                throttled += 1
                continue
            try:
                item = self._submission(account, link, pdu, now)
            except Refusal as exc:
                answers[i] = pdu.make_resp(exc.status)
                refused[exc.status] += 1
                continue
            if isinstance(item, str):  # a part of a longer message: acknowledged with its id
                answers[i] = pdu.make_resp(message_id=item)
                continue
            items.append(item)
            positions.append(i)
        if throttled:
            _throttled(link, throttled, window, tps, monotonic)
        if refused:  # one line per read (the accept logs its own refusals)
            log.info(
                "account %s: %d submit_sm refused (%s)",
                account.name,
                sum(refused.values()),
                ", ".join(f"{hex(status)} x{n}" for status, n in refused.items()),
                extra={"account": account.name, "refused": sum(refused.values())},
            )
        if items:
            link.inflight += len(items)
            try:
                outcomes, _ = await self.gateway.submit(account, "smpp", items)
                for i, outcome in zip(positions, outcomes, strict=True):
                    pdu = pdus[i]
                    if outcome.message is not None and outcome.kind != "error":
                        answers[i] = pdu.make_resp(message_id=str(outcome.message.seq))
                    else:
                        code = outcome.error.code if outcome.error else ErrorCode.SYSTEM_ERROR
                        answers[i] = pdu.make_resp(ERROR_STATUS.get(code, S.ESME_RSUBMITFAIL))
            except GatewayError as exc:
                status = ERROR_STATUS.get(exc.code, S.ESME_RSUBMITFAIL)
                for i in positions:
                    answers[i] = pdus[i].make_resp(status)
            except StoreUnavailable:
                for i in positions:
                    answers[i] = pdus[i].make_resp(S.ESME_RMSGQFUL)
            except Exception:
                log.exception("submit of %d messages failed", len(items))
                for i in positions:
                    answers[i] = pdus[i].make_resp(S.ESME_RSYSERR)
            finally:
                link.inflight -= len(items)
        session.reply_many([a for a in answers if a is not None])

    def _submission(
        self, account: Account, link: AccountLink, pdu: Pdu, now: float
    ) -> Submission | str:
        """A Submission when the message is whole; a part id for a part of a longer message."""
        assert isinstance(pdu, SubmitSm | DataSm)
        packed = self.config.gsm_packed
        try:
            info, _units = message_parts(pdu, packed=packed)
            text = link.reassembler.add_pdu(pdu, now, packed=packed)
        except ValueError as exc:
            status = S.ESME_RINVDCS if "data_coding" in str(exc) else S.ESME_RINVESMCLASS
            raise Refusal(status) from None
        part_ids: list[str] = []
        if info is not None and info.total > 1:
            key = (pdu.source_addr, pdu.destination_addr, info.ref)
            if text is None:
                part_id = f"{self._part_prefix}{next(self._part_counter):x}"
                link.part_ids.setdefault(key, []).append(part_id)
                return part_id
            part_ids = link.part_ids.pop(key, [])
        assert text is not None
        rd = pdu.registered_delivery & 0x03
        try:
            not_before = parse_time(getattr(pdu, "schedule_delivery_time", ""), now)
        except ValueError:
            raise Refusal(S.ESME_RINVSCHED) from None
        try:
            expires_at = parse_time(getattr(pdu, "validity_period", ""), now)
        except ValueError:
            raise Refusal(S.ESME_RINVEXPIRY) from None
        meta: dict[str, Any] = {
            "rd": rd,
            "sa": pdu.source_addr,
            "st": pdu.source_addr_ton,
            "sn": pdu.source_addr_npi,
            "da": pdu.destination_addr,
            "dt": pdu.dest_addr_ton,
            "dn": pdu.dest_addr_npi,
        }
        if part_ids:
            meta["parts"] = part_ids
        dc = pdu.data_coding
        return Submission(
            phone=pdu.destination_addr,
            text=text,
            sender=pdu.source_addr or None,
            priority=min(3, getattr(pdu, "priority_flag", 0)),
            not_before=not_before if not_before and not_before > now else None,
            expires_at=expires_at,
            flash=(dc & 0xF3) == 0x10 or (dc & 0xF3) == 0xF0,
            callback_url=receipt_url(account.id) if rd else None,
            meta={"smpp": meta},
        )

    async def _expire_parts(self) -> None:
        while True:
            await asyncio.sleep(30.0)
            now = time.time()
            for link in list(self.links.values()):
                for gone in link.reassembler.expire(now):
                    link.part_ids.pop((gone.source, gone.destination, gone.ref), None)
                    log.warning(
                        "account %d: gave up a %d-part message from %s (got parts %s)",
                        link.account_id,
                        gone.total,
                        gone.source,
                        gone.received,
                    )

    # query_sm / cancel_sm -------------------------------------------------------------------------
    async def query_or_cancel(self, session: ServerSession, pdu: Pdu) -> None:
        assert isinstance(pdu, QuerySm | CancelSm) and session.account is not None
        fail = S.ESME_RQUERYFAIL if isinstance(pdu, QuerySm) else S.ESME_RCANCELFAIL
        message: Message | None = None
        try:
            if pdu.message_id.isdigit():
                message = await self.gateway.message_by_seq(session.account, int(pdu.message_id))
            if message is None or message.dialect != "smpp":
                session.reply(pdu.make_resp(fail))
                return
            if isinstance(pdu, QuerySm):
                session.reply(
                    pdu.make_resp(
                        message_id=pdu.message_id,
                        final_date=format_time(message.done_at),
                        message_state=STATE_OF.get(message.status, MessageState.UNKNOWN),
                        error_code=0,
                    )
                )
                return
            await self.gateway.cancel(session.account, message.id)
            session.reply(pdu.make_resp())
        except (GatewayError, StoreUnavailable):
            session.reply(pdu.make_resp(fail))

    # Receipts and MO --------------------------------------------------------------------------------
    async def deliver(self, request: CallbackRequest) -> tuple[int, bytes]:
        """Write the deliver_sm of one outbox batch to a bind; (200, _) once all were answered OK."""
        try:
            account_id = int(request.url[len("smpp://") :].strip("/"))
        except ValueError:
            return 400, b"bad smpp url"
        link = self.links.get(account_id)
        receivers = link.receivers() if link is not None else []
        if link is None or not receivers:
            return 503, b"no receiver bind"
        pdus = []
        for notice in _decode_notices(request.body):
            pdus += deliveries(notice)
        if not pdus:
            return 200, b""
        session = receivers[next(link.turn) % len(receivers)]
        futures = []
        try:
            for pdu in pdus:
                await session.acquire_slot()
                futures.append(session.send_request(pdu))
            failed = 0
            for fut in futures:
                resp = await fut
                if resp.command_status not in (S.ESME_ROK, S.ESME_RX_P_APPN):
                    failed += 1
        except (ConnectionError, TimeoutError) as exc:
            for fut in futures:
                if not fut.done():
                    fut.cancel()
                elif not fut.cancelled():
                    fut.exception()  # retrieved: no "never retrieved" warnings
            return 503, f"{type(exc).__name__}".encode()
        if failed:
            return 503, f"{failed} deliver_sm refused".encode()
        return 200, b""


THROTTLE_LOG_EVERY = 1.0  # seconds: at most one throttle line per account this often


def _throttled(link: AccountLink, refused: int, window: int, tps: int, now: float) -> None:
    """Count throttled submits; log them at most once a second per account, with how many
    since the last line (a client pushing past its limit throttles on every read)."""
    link.throttled += refused
    link.throttle_unlogged += refused
    if now - link.throttle_logged_at < THROTTLE_LOG_EVERY:
        return
    log.info(
        "account %s throttled: %d submit_sm answered ESME_RTHROTTLED (window %d, tps %s)",
        link.name,
        link.throttle_unlogged,
        window,
        tps or "unlimited",
        extra={"account": link.name, "throttled": link.throttle_unlogged},
    )
    link.throttle_logged_at, link.throttle_unlogged = now, 0


def deliveries(notice: Notice) -> list[DeliverSm]:
    """The deliver_sm PDUs for one outbox notice: a receipt per id the client was given, or an
    incoming SMS (split into UDH parts when long)."""
    if notice.kind == "mo" and notice.mo is not None:
        return mo_pdus(notice)
    message, event = notice.message, notice.event
    if message is None or event is None:
        return []
    meta = (message.meta or {}).get("smpp") or {}
    rd = int(meta.get("rd", 1))
    if rd == 0 or (rd == 2 and event.status is Status.DELIVERED):
        return []
    if event.status not in STAT_OF:
        return []
    ids = [*meta.get("parts", []), str(message.seq)]
    receipt = DeliveryReceipt(
        id="",
        stat=STAT_OF[event.status],
        sub=1,
        dlvrd=1 if event.status is Status.DELIVERED else 0,
        submit_date=datetime.fromtimestamp(message.created_at, UTC),
        done_date=datetime.fromtimestamp(event.at, UTC),
        err=RECEIPT_ERR.get(event.error_code or "", "000" if not event.error_code else "099"),
        text=_ascii(message.text[:20]),
    )
    state = STATE_OF.get(event.status, MessageState.UNKNOWN)
    pdus = []
    for message_id in ids:
        receipt.id = message_id
        pdus.append(
            DeliverSm.build(
                source_addr_ton=int(meta.get("dt", 1)),
                source_addr_npi=int(meta.get("dn", 1)),
                source_addr=str(meta.get("da", message.phone))[:20],
                dest_addr_ton=int(meta.get("st", 0)),
                dest_addr_npi=int(meta.get("sn", 0)),
                destination_addr=str(meta.get("sa", message.sender or ""))[:20],
                esm_class=EsmClass.SMSC_DELIVERY_RECEIPT,
                short_message=receipt.format().encode("latin-1", "replace"),
                tlvs={Tag.RECEIPTED_MESSAGE_ID: message_id, Tag.MESSAGE_STATE: int(state)},
            )
        )
    return pdus


_MO_REF = itertools.count(secrets.randbelow(256))


def mo_pdus(notice: Notice) -> list[DeliverSm]:
    mo = notice.mo
    assert mo is not None
    try:
        encode_text(mo.text, 0)
        data_coding = 0
    except ValueError:
        data_coding = 8
    parts = split_text(mo.text, data_coding, ref=next(_MO_REF) % 256, scheme=Scheme.UDH8)
    source_ton = 1 if mo.phone.isdigit() else 5
    dest_ton = 1 if mo.to.lstrip("+").isdigit() and len(mo.to) > 6 else 0
    return [
        DeliverSm.build(
            source_addr_ton=source_ton,
            source_addr_npi=1 if source_ton == 1 else 0,
            source_addr=mo.phone[:20],
            dest_addr_ton=dest_ton,
            dest_addr_npi=1 if dest_ton == 1 else 0,
            destination_addr=mo.to[:20],
            esm_class=part.esm_class,
            data_coding=data_coding,
            short_message=part.short_message,
            tlvs=dict(part.tlvs),
        )
        for part in parts
    ]


def _ascii(text: str) -> str:
    return "".join(ch if " " <= ch <= "~" else "?" for ch in text)
