"""The SMPP 3.4 client connector (southbound): smsgate as an ESME towards a carrier's SMSC.

One or more sessions (bind transceiver, or transmitter plus receiver), each kept up with
reconnect back-off and enquire_link. ``submit`` splits long texts into UDH (or SAR) parts,
sends a submit_sm per part within the window, and maps submit_sm_resp errors to canonical
errors; ESME_RTHROTTLED and ESME_RMSGQFUL back off and send again.

Receipts are matched to messages by the SMSC's message id (receipts.ReceiptMatcher), also when
the receipt comes before the submit_sm_resp: an unknown id is held (its deliver_sm_resp too)
until a resp brings that id, and looked up in the store (``message_by_carrier_id``) when none
does. The carrier id of each message (its first part's) is stored with its SUBMITTED report.

Link loss mid-window: every submit_sm without a response when a session drops (or times out) is
sent again on the next bound session, once per lost window. The SMSC may have taken it before the
link dropped, so each such loss can duplicate at most the messages that were in flight on that
session (at most ``window`` of them); nothing unacknowledged is dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import itertools
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Literal

import msgspec

from ..core import payload
from ..core import phone as phones
from ..core.bounds import Byte, Count, Delay, Port, Rate, Seconds
from ..core.errors import ErrorCode, GatewayError
from ..core.models import Message, Report
from ..core.status import SUBMITTED, Status
from ..smpp.concat import Part, Reassembler, Scheme, capacities, split_text
from ..smpp.constants import ESM_TYPE_MASK, EsmClass, Tag
from ..smpp.constants import CommandStatus as S
from ..smpp.encoding import Alphabet, alphabet, decode_text, encode_text
from ..smpp.pdu import (
    BindReceiver,
    BindTransceiver,
    BindTransmitter,
    DataSm,
    DeliverSm,
    Pdu,
    SubmitSm,
)
from ..smpp.receipt import quick_receipt, receipt_from_pdu
from ..smpp.session import ResponseTimeout, Session, SessionClosed
from ..smpp.times import format_time
from ..store.base import Store, StoreUnavailable
from ..waits import wait_set
from .base import Connector, Incoming, LinkState, ReportSink
from .receipts import Early, Receipt, ReceiptMatcher, Sent, stored_report

log = logging.getLogger("smsgate.connectors.smpp")
# Looked up for every PDU as globals: an enum class's attribute costs ~50 ns in Python 3.11
# (core.status says why), a global ~5.
_RECEIPT_TYPES = frozenset(
    {int(EsmClass.SMSC_DELIVERY_RECEIPT), int(EsmClass.INTERMEDIATE_DELIVERY_NOTIFICATION)}
)
_RECEIPTED_ID = int(Tag.RECEIPTED_MESSAGE_ID)


class SmppClientConfig(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    name: str = "smpp"
    host: str = "127.0.0.1"
    port: Port = 2775
    system_id: str = ""
    password: str = ""
    system_type: str = ""
    # transmitter: a receiver bind per session as well
    bind: Literal["transceiver", "transmitter"] = "transceiver"
    sessions: Count = 1
    window: Count = 100  # submit_sm awaiting a response, per session
    tps: Rate = 0  # the link's submit_sm per second (0: unlimited); the dispatcher paces to it
    enquire_link: Seconds = 30.0
    response_timeout: Seconds = 10.0
    reconnect_min: Seconds = 0.5
    reconnect_max: Seconds = 30.0
    submit_timeout: Seconds = 60.0  # no bound session for this long: the batch goes back to queue
    throttle_backoff: Seconds = 0.2  # first pause after ESME_RTHROTTLED / ESME_RMSGQFUL, doubling
    throttle_backoff_max: Seconds = 10.0
    # -1: by the sender (alphanumeric 5/0, number 1/1, short code 3/0)
    source_ton: Annotated[int, msgspec.Meta(ge=-1, le=255)] = -1
    source_npi: Annotated[int, msgspec.Meta(ge=-1, le=255)] = -1
    dest_ton: Byte = 1
    dest_npi: Byte = 1
    gsm_coding: Byte = 0  # data_coding for GSM 7-bit texts: 0 (SMSC default), 1 (IA5), 3 (Latin-1)
    ucs2_coding: Byte = 8
    gsm_packed: bool = False  # 8 septets in 7 octets on data_coding 0
    concat: Literal["udh8", "udh16", "sar"] = "udh8"
    registered_delivery: Byte = 1
    service_type: str = ""
    send_validity: bool = False  # send validity_period (absolute UTC) from the message's expiry
    # Id forms to match receipts by
    receipt_ids: Literal["as-is", "hex-dec", "hex-to-dec", "dec-to-hex"] = "as-is"
    early_receipt_wait: Delay = 5.0  # hold an unknown receipt this long for its submit_sm_resp
    id_memory: Seconds = 86400.0  # keep carrier ids in memory this long (then: store look-up)


SENDERS_KEPT = 1024  # senders whose source address fields are kept worked out (_source)
THROTTLING = frozenset({S.ESME_RTHROTTLED, S.ESME_RMSGQFUL})
LINK_TROUBLE = frozenset({S.ESME_RINVBNDSTS})
SUBMIT_ERRORS: dict[int, ErrorCode] = {
    S.ESME_RINVDSTADR: ErrorCode.INVALID_PHONE,
    S.ESME_RINVDSTTON: ErrorCode.INVALID_PHONE,
    S.ESME_RINVDSTNPI: ErrorCode.INVALID_PHONE,
    S.ESME_RINVSRCADR: ErrorCode.SENDER_NOT_ALLOWED,
    S.ESME_RINVSRCTON: ErrorCode.SENDER_NOT_ALLOWED,
    S.ESME_RINVSRCNPI: ErrorCode.SENDER_NOT_ALLOWED,
    S.ESME_RINVMSGLEN: ErrorCode.TEXT_TOO_LONG,
    S.ESME_RINVSCHED: ErrorCode.BAD_SCHEDULE,
    S.ESME_RINVEXPIRY: ErrorCode.BAD_VALIDITY,
}


def submit_error(status: int) -> ErrorCode:
    return SUBMIT_ERRORS.get(status, ErrorCode.CARRIER_REJECTED)


@dataclass(slots=True)
class _Job:
    sent: Sent
    index: int
    pdu: SubmitSm
    losses: int = 0


class ClientSession(Session):
    def __init__(self, connector: SmppConnector, mode: str) -> None:
        cfg = connector.config
        super().__init__(
            window=cfg.window,
            response_timeout=cfg.response_timeout,
            enquire_link=cfg.enquire_link,
            name=f"smpp-client:{cfg.name}",
        )
        self.connector = connector
        self.mode = mode
        self.bound = False
        self._batch: list[Pdu] = []
        # seq -> the submit_sm's job, while its resp is awaited: a resp is acknowledged as it
        # is read (on_response), not by a callback on its future scheduled for the next turn
        self.jobs: dict[int, _Job] = {}

    def on_response(self, pdu: Pdu) -> None:
        job = self.jobs.pop(pdu.sequence_number, None)
        if job is not None and pdu.command_status == 0:
            self.connector.responded(job, getattr(pdu, "message_id", ""))

    def handle_request(self, pdu: Pdu) -> Pdu | None:
        if isinstance(pdu, DeliverSm | DataSm):
            self._batch.append(pdu)
            return None
        return super().handle_request(pdu)

    def after_read(self) -> None:
        if self._batch:
            batch, self._batch = self._batch, []
            self.connector.spawn(self.connector.on_deliver(self, batch))

    def on_closed(self, exc: Exception | None) -> None:
        self.bound = False
        self.jobs.clear()
        self.connector.lost(self)


# A receipt held for its submit_sm_resp carries what answers it: its session and deliver_sm.
_Held = Early[tuple[ClientSession, Pdu]]


class SmppConnector(Connector):
    def __init__(self, config: SmppClientConfig, store: Store | None = None) -> None:
        self.config = config
        self.name = config.name
        self.tps = config.tps
        self.store = store
        self._sink: ReportSink | None = None
        self._tasks: set[asyncio.Task[object]] = set()
        self._links: list[asyncio.Task[None]] = []
        self._bound: list[ClientSession] = []  # sessions that may submit
        self._ready = asyncio.Event()
        self._turn = itertools.count()
        self._refs = itertools.count(1)
        self._capacity: dict[int, tuple[bool, int]] = {}  # data_coding -> _single_part's
        self._sources: dict[str, tuple[int, int, str]] = {}  # sender -> _source's
        mode = config.receipt_ids
        self.receipts: ReceiptMatcher[tuple[ClientSession, Pdu]] = ReceiptMatcher(
            hex_to_dec=mode in ("hex-dec", "hex-to-dec"),
            dec_to_hex=mode in ("hex-dec", "dec-to-hex"),
            early_wait=config.early_receipt_wait,
            id_memory=config.id_memory,
        )
        self._settling: list[_Held] = []  # early receipts whose resp came, settled next turn
        self._reassembler = Reassembler()
        self._stopping = False
        self.scheme = {"udh8": Scheme.UDH8, "udh16": Scheme.UDH16, "sar": Scheme.SAR}[config.concat]
        self.resubmitted = 0  # submit_sm sent again after a lost window (for tests and metrics)
        self.throttled = 0  # submit_sm the SMSC answered ESME_RTHROTTLED or ESME_RMSGQFUL
        self._sessions: set[ClientSession] = set()  # every connected session, rx ones too

    # Lifecycle ----------------------------------------------------------------------------------
    async def start(self, sink: ReportSink) -> None:
        self._sink = sink
        modes = ["trx"] if self.config.bind == "transceiver" else ["tx", "rx"]
        for n in range(max(1, self.config.sessions)):
            for mode in modes:
                self._links.append(
                    asyncio.create_task(self._maintain(mode), name=f"smpp-{mode}-{n}")
                )
        self._links.append(asyncio.create_task(self._sweep(), name="smpp-sweep"))

    async def stop(self) -> None:
        self._stopping = True
        for task in self._links:
            task.cancel()
        for task in self._links:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._links = []
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    def spawn(self, coro: object) -> None:
        task = asyncio.ensure_future(coro)  # type: ignore[call-overload]
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def wait_bound(self, timeout: float) -> bool:
        return await wait_set(self._ready, timeout)

    async def _maintain(self, mode: str) -> None:
        cfg = self.config
        delay = cfg.reconnect_min
        loop = asyncio.get_running_loop()
        while not self._stopping:
            session: ClientSession | None = None
            try:
                async with asyncio.timeout(cfg.response_timeout):
                    _, link = await loop.create_connection(
                        lambda: ClientSession(self, mode), cfg.host, cfg.port
                    )
                session = link
                self._sessions.add(link)
                bind_cls = {"trx": BindTransceiver, "tx": BindTransmitter, "rx": BindReceiver}[mode]
                resp = await link.call(
                    bind_cls(
                        system_id=cfg.system_id,
                        password=cfg.password,
                        system_type=cfg.system_type,
                    )
                )
                fields = {"connector": cfg.name, "mode": mode, "peer": f"{cfg.host}:{cfg.port}"}
                if resp.command_status != 0:
                    log.warning(
                        "%s: bind refused by %s:%d: %s",
                        cfg.name,
                        cfg.host,
                        cfg.port,
                        _status_name(resp.command_status),
                        extra=fields,
                    )
                    link.close()
                else:
                    link.bound = True
                    delay = cfg.reconnect_min
                    log.info(
                        "%s: bound (%s) to %s:%d", cfg.name, mode, cfg.host, cfg.port, extra=fields
                    )
                    if mode != "rx":
                        self._bound.append(link)
                        self._ready.set()
                    await link.closed
                    log.warning(
                        "%s: bind (%s) to %s:%d went down",
                        cfg.name,
                        mode,
                        cfg.host,
                        cfg.port,
                        extra=fields,
                    )
                    continue  # reconnect at once after a working link drops
            except asyncio.CancelledError:
                if session is not None and session.is_open:
                    log.info("%s: unbinding (%s) from %s:%d", cfg.name, mode, cfg.host, cfg.port)
                    await session.unbind()
                raise
            except (OSError, TimeoutError, ConnectionError) as exc:
                log.warning("%s: cannot connect to %s:%d: %s", cfg.name, cfg.host, cfg.port, exc)
                if session is not None:
                    session.abort()
            await asyncio.sleep(delay)
            delay = min(cfg.reconnect_max, delay * 2)

    def lost(self, session: ClientSession) -> None:
        self._sessions.discard(session)
        if session in self._bound:
            self._bound.remove(session)
        if not self._bound:
            self._ready.clear()

    # Submit -------------------------------------------------------------------------------------
    async def submit(self, messages: Sequence[Message]) -> list[Report]:
        now = time.time()
        reports: list[Report] = []
        sents: list[Sent] = []
        jobs: list[_Job] = []
        for m in messages:
            try:
                pdus = self._pdus(m)
            except ValueError as exc:
                reports.append(
                    Report(
                        message_id=m.id,
                        status=Status.REJECTED,
                        error_code=ErrorCode.CARRIER_REJECTED.value,
                        carrier_error=str(exc)[:100],
                        at=now,
                    )
                )
                continue
            sent = self.receipts.track(m, len(pdus), now)
            sents.append(sent)
            jobs += [_Job(sent, k, pdu) for k, pdu in enumerate(pdus)]
        try:
            await self._send_all(jobs)
        except BaseException:
            for sent in sents:
                self.receipts.forget(sent)
            raise
        done = time.time()
        for sent in sents:
            sent.in_submit = False
            m = sent.message
            if sent.error:
                self.receipts.forget(sent)
                reports.append(
                    Report(
                        message_id=m.id,
                        status=Status.REJECTED,
                        error_code=submit_error(sent.error).value,
                        carrier_error=f"smpp:0x{sent.error:08x}",
                        at=done,
                    )
                )
            else:
                reports.append(
                    Report(message_id=m.id, status=SUBMITTED, carrier_id=sent.ids[0], at=done)
                )
        return reports

    async def _send_all(self, jobs: list[_Job]) -> None:
        backoff = self.config.throttle_backoff
        while jobs:
            in_flight: list[tuple[_Job, ClientSession, asyncio.Future[Pdu]]] = []
            retry: list[_Job] = []
            for i, job in enumerate(jobs):
                if job.sent.error:
                    continue  # another part was refused: the message is rejected
                session = self._free_session()  # most submits: no wait, no coroutine
                if session is None:
                    try:
                        session = await self._session()
                        await session.acquire_slot()
                    except SessionClosed:
                        retry += jobs[i:]
                        break
                fut = session.send_request(job.pdu)
                if not fut.done():  # done: refused at once (the session is closing)
                    # Learn the SMSC's id as soon as the response is read, before any receipt
                    # of the same read is looked up (ClientSession.on_response).
                    session.jobs[job.pdu.sequence_number] = job
                in_flight.append((job, session, fut))
            throttled = 0
            for job, session, fut in in_flight:
                try:
                    resp = await fut
                except (SessionClosed, ResponseTimeout) as exc:
                    session.jobs.pop(job.pdu.sequence_number, None)
                    if isinstance(exc, ResponseTimeout):
                        # The link is not trustworthy: drop it (the maintain loop reconnects).
                        session.abort()
                    job.losses += 1
                    self.resubmitted += 1
                    retry.append(job)
                    continue
                status = resp.command_status
                if status == 0:
                    continue  # see responded
                session.jobs.pop(job.pdu.sequence_number, None)  # a generic_nack, say
                if status in THROTTLING:
                    throttled += 1
                    retry.append(job)
                elif status in LINK_TROUBLE:
                    retry.append(job)
                else:
                    job.sent.error = status
            jobs = retry
            if throttled:
                self._throttled(throttled, backoff)
                await asyncio.sleep(backoff)
                backoff = min(self.config.throttle_backoff_max, backoff * 2)
            else:
                backoff = self.config.throttle_backoff

    def _throttled(self, refused: int, backoff: float) -> None:
        """One line per pause (the pauses double: a throttling SMSC gets few lines)."""
        self.throttled += refused
        cfg = self.config
        log.info(
            "%s: throttled by %s:%d: %d submit_sm refused; sending again in %.3g s",
            cfg.name,
            cfg.host,
            cfg.port,
            refused,
            backoff,
            extra={"connector": cfg.name, "throttled": refused, "backoff": backoff},
        )

    def link_states(self) -> list[LinkState]:
        sessions = [s for s in self._sessions if s.bound and s.is_open]
        senders = [s for s in sessions if s.mode != "rx"]
        return [
            LinkState.of("client", self.name, sessions, senders, self.config.window, self.throttled)
        ]

    def _free_session(self) -> ClientSession | None:
        """A bound session with room in its window, taken in turn (as `_session` picks one
        when there is), or None. Two coroutines per submit_sm, `_session` and
        `acquire_slot`, for a wait that rarely comes were a quarter of `_send_all`'s own
        cost (2.3 µs a submit_sm against 1.8)."""
        bound = self._bound
        return _first_free(bound, next(self._turn)) if bound else None

    async def _session(self) -> ClientSession:
        deadline = time.monotonic() + self.config.submit_timeout
        while True:
            bound = [s for s in self._bound if s.is_open]
            if bound:
                start = next(self._turn)
                return _first_free(bound, start) or bound[start % len(bound)]
            self._ready.clear()
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not await self.wait_bound(remaining):
                raise GatewayError(ErrorCode.UNAVAILABLE, f"{self.name}: no SMPP link")

    def _pdus(self, m: Message) -> list[SubmitSm]:
        if m.encoding in payload.KINDS:
            return self._addressed(m, *_payload_parts(m, next(self._refs) % 256))
        parts, coding = self._text_parts(m)
        return self._addressed(m, parts, coding)

    def _text_parts(self, m: Message) -> tuple[list[Part], int]:
        cfg = self.config
        coding = cfg.gsm_coding if m.encoding == "gsm7" else cfg.ucs2_coding
        packed = cfg.gsm_packed and coding == 0
        try:
            unpacked = encode_text(m.text, coding)
        except ValueError:
            coding, packed = cfg.ucs2_coding, False
            unpacked = encode_text(m.text, coding)
        if m.flash:
            coding = 0x18 if coding == 8 else 0x10 if coding == 0 else coding
        # One part (most messages): the encoding above is the payload; no splitting needed.
        wide, single = self._single_part(coding)
        if (len(unpacked) // 2 if wide else len(unpacked)) <= single:
            payload = encode_text(m.text, coding, packed=True) if packed else unpacked
            parts = [Part(payload)]
        else:
            ref_limit = 0xFF if self.scheme is Scheme.UDH8 else 0xFFFF
            parts = split_text(
                m.text,
                coding,
                ref=next(self._refs) % (ref_limit + 1),
                scheme=self.scheme,
                packed=packed,
            )
        return parts, coding

    def _single_part(self, coding: int) -> tuple[bool, int]:
        """(UCS-2, single-part capacity in its units) of a data_coding, worked out once."""
        known = self._capacity.get(coding)
        if known is None:
            wide = alphabet(coding) is Alphabet.UCS2
            known = self._capacity[coding] = (wide, capacities(coding, self.scheme)[0])
        return known

    def _source(self, sender: str) -> tuple[int, int, str]:
        """(source_addr_ton, source_addr_npi, source_addr) of a sender, worked out once per
        sender (a few are in use; forgotten past SENDERS_KEPT)."""
        known = self._sources.get(sender)
        if known is not None:
            return known
        cfg = self.config
        ton, npi = cfg.source_ton, cfg.source_npi
        if ton < 0:
            digits = sender.lstrip("+")
            if digits.isdigit() and len(digits) > 6:
                ton, npi = 1, 1
            elif digits.isdigit():
                ton, npi = 3, 0
            else:
                ton, npi = 5, 0
        if len(self._sources) >= SENDERS_KEPT:
            self._sources.clear()
        known = self._sources[sender] = (
            ton,
            max(0, npi),
            sender.lstrip("+") if ton == 1 else sender,
        )
        return known

    def _addressed(
        self, m: Message, parts: list[Part], coding: int, protocol_id: int = 0
    ) -> list[SubmitSm]:
        """A submit_sm for each part, addressed from the message's sender to its phone."""
        cfg = self.config
        source_ton, source_npi, source = self._source(m.sender or "")
        validity = format_time(m.expires_at) if cfg.send_validity else ""
        priority = m.priority
        if not 0 <= priority <= 3:
            priority = 0 if priority < 0 else 3
        return [
            SubmitSm.build(
                service_type=cfg.service_type,
                source_addr_ton=source_ton,
                source_addr_npi=source_npi,
                source_addr=source,
                dest_addr_ton=cfg.dest_ton,
                dest_addr_npi=cfg.dest_npi,
                destination_addr=m.phone,
                esm_class=part.esm_class,
                protocol_id=protocol_id,
                priority_flag=priority,
                validity_period=validity,
                registered_delivery=cfg.registered_delivery,
                data_coding=coding,
                short_message=part.short_message,
                tlvs=dict(part.tlvs) if part.tlvs else {},
            )
            for part in parts
        ]

    def responded(self, job: _Job, carrier_id: str) -> None:
        """A submit_sm_resp accepted `job`'s part with the SMSC's id `carrier_id`."""
        if self.receipts.is_tracked(job.sent):
            self._acknowledged(job.sent, job.index, carrier_id)

    # Receipts -----------------------------------------------------------------------------------
    def _acknowledged(self, sent: Sent, index: int, carrier_id: str) -> None:
        matched = self.receipts.acknowledged(sent, index, carrier_id)
        if matched:
            # Resps of one read (and of one loop turn) settle their early receipts together:
            # one write for all of them, not one per message.
            if not self._settling:
                asyncio.get_running_loop().call_soon(self._settle_pending)
            self._settling += matched

    def _settle_pending(self) -> None:
        early, self._settling = self._settling, []
        if early:
            self.spawn(self._settle_early(early))

    async def on_deliver(self, session: ClientSession, pdus: list[Pdu]) -> None:
        assert self._sink is not None
        reports: list[Report] = []
        incoming: list[Incoming] = []
        answers: list[Pdu] = []
        now = time.time()
        for pdu in pdus:
            esm_class = getattr(pdu, "esm_class", 0)
            if esm_class & ESM_TYPE_MASK in _RECEIPT_TYPES or pdu.tlvs.get(_RECEIPTED_ID):
                try:
                    receipt = _receipt(pdu)
                except ValueError:
                    log.warning("%s: unreadable receipt ignored", self.name)
                    answers.append(pdu.make_resp())
                    continue
                matched = self.receipts.receive(receipt, (session, pdu), now)
                if matched is None:
                    continue  # held: answered when its submit_sm_resp comes, or after the wait
                reports += matched
                answers.append(pdu.make_resp())
                continue
            mo = self._incoming(pdu, now)
            if mo is not None:
                incoming.append(mo)
            answers.append(pdu.make_resp())
        await self._record(session, reports, incoming, answers)

    async def _record(
        self,
        session: ClientSession,
        reports: list[Report],
        incoming: list[Incoming],
        answers: list[Pdu],
    ) -> None:
        assert self._sink is not None
        try:
            if reports:
                await self._sink.reports(reports)
            if incoming:
                await self._sink.incoming(incoming)
        except Exception as exc:
            if isinstance(exc, StoreUnavailable):  # an outage, not a bug: no traceback
                log.warning("%s: store unavailable, the SMSC will send receipts again", self.name)
            else:
                log.exception(
                    "%s: recording receipts failed; the SMSC will send them again", self.name
                )
            for answer in answers:
                answer.command_status = S.ESME_RX_T_APPN
                if hasattr(answer, "message_id"):
                    answer.message_id = ""
        if answers and session.is_open:
            session.reply_many(answers)

    def _incoming(self, pdu: Pdu, now: float) -> Incoming | None:
        try:
            text = self._reassembler.add_pdu(pdu, now, packed=self.config.gsm_packed)
        except ValueError as exc:
            log.warning("%s: incoming SMS not decodable: %s", self.name, exc)
            return None
        if text is None:
            return None
        source: str = getattr(pdu, "source_addr", "")
        try:
            phone = phones.normalize(source)
        except GatewayError:
            phone = source
        return Incoming(phone=phone, to=getattr(pdu, "destination_addr", ""), text=text, at=now)

    async def _settle_early(self, early: list[_Held]) -> None:
        by_session: dict[ClientSession, tuple[list[Report], list[Pdu]]] = {}
        now = time.time()
        for e in early:
            session, pdu = e.token
            reports, answers = by_session.setdefault(session, ([], []))
            # Matched again: its message may have been settled or forgotten since the resp.
            reports += self.receipts.match(e.receipt, now) or []
            answers.append(pdu.make_resp())
        for session, (reports, answers) in by_session.items():
            await self._record(session, reports, [], answers)

    async def _sweep(self) -> None:
        """Receipts whose id no submit_sm_resp brought: look them up in the store, then answer.
        Carrier ids kept longer than id_memory are dropped (the store still has them)."""
        while True:
            await asyncio.sleep(0.5)
            now = time.time()
            for entries in self.receipts.expired(now):
                await self._from_store(entries)
            self.receipts.forget_old(now)

    async def _from_store(self, entries: list[_Held]) -> None:
        receipt: Receipt = entries[0].receipt
        message = None
        if self.store is not None:
            for candidate in self.receipts.candidates(receipt[0]):
                message = await self.store.message_by_carrier_id(candidate)
                if message is not None:
                    break
        report = stored_report(message, receipt, time.time()) if message is not None else None
        if message is None:
            log.warning("%s: receipt for unknown id %s dropped", self.name, receipt[0])
        by_session: dict[ClientSession, list[Pdu]] = {}
        for e in entries:
            session, pdu = e.token
            by_session.setdefault(session, []).append(pdu.make_resp())
        first = True
        for session, answers in by_session.items():
            await self._record(session, [report] if first and report else [], [], answers)
            first = False


BINARY_CODING = 0x04  # 8-bit data
SILENT_PID = 0x40  # TS 23.040 short message type 0: acknowledged, never shown


def _first_free(sessions: Sequence[ClientSession], start: int) -> ClientSession | None:
    """The first open session with room in its window, going round from `start`."""
    n = len(sessions)
    for k in range(n):
        session = sessions[(start + k) % n]
        if session.window_free and session.is_open:
            return session
    return None


def _payload_parts(m: Message, ref: int) -> tuple[list[Part], int, int]:
    """(parts, data_coding, protocol_id) of a message that is not a text (core.payload).

    Binary data goes as 8-bit data in the parts billing counted (a UDH where it has one); a
    ping as an empty type 0 SMS. An HLR query is no SMS: this link cannot make one (ValueError,
    so the message is refused, and refunded, rather than sent as an empty text)."""
    if m.encoding == payload.PING:
        return [Part(b"")], 0, SILENT_PID
    if m.encoding not in (payload.BINARY, payload.BINARY_UDH):
        raise ValueError(f"an SMPP link cannot carry a {m.encoding} message")
    cut = payload.binary_parts(payload.octets(m.text), m.encoding == payload.BINARY_UDH, ref)
    parts = [Part(udh + data, EsmClass.UDHI if udh else 0) for udh, data in cut]
    return parts, BINARY_CODING, 0


def _receipt(pdu: Pdu) -> Receipt:
    """(id, stat, err) of a deliver_sm receipt: the standard text form read quickly, else the
    forgiving parser with the TLVs winning; a receipt text in UCS-2 (some SMSCs) is read too."""
    coding = getattr(pdu, "data_coding", 0)
    if coding in (0, 1, 3) and _RECEIPTED_ID not in pdu.tlvs:
        quick = quick_receipt(getattr(pdu, "short_message", b""))
        if quick is not None:
            return quick
    if coding == 8 or (coding & 0xEC) == 0x08:
        raw = getattr(pdu, "short_message", b"")
        text = decode_text(raw, 8).encode("latin-1", "replace")
        pdu = dataclasses.replace(pdu, short_message=text, data_coding=0)  # type: ignore[call-arg]
    receipt = receipt_from_pdu(pdu)
    return receipt.id, receipt.stat, receipt.err


def _status_name(status: int) -> str:
    try:
        return S(status).name
    except ValueError:
        return hex(status)
