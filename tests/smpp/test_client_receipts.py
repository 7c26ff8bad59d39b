"""The SMPP client's receipt bookkeeping, driven directly (no sockets): receipts that come before
their submit_sm_resp are held, then recorded together once the resps bring their ids."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from smsgate.connectors.base import Incoming
from smsgate.connectors.smpp import ClientSession, SmppClientConfig, SmppConnector
from smsgate.core.models import Message, Report
from smsgate.core.status import Status
from smsgate.smpp.pdu import DeliverSm, Pdu, SubmitSmResp


class Sink:
    def __init__(self) -> None:
        self.calls: list[list[Report]] = []

    async def reports(self, reports: Sequence[Report]) -> None:
        self.calls.append(list(reports))

    async def incoming(self, messages: Sequence[Incoming]) -> None:
        pass


class Link:
    """Stands in for a bound ClientSession: collects the deliver_sm_resp it is given."""

    is_open = True

    def __init__(self) -> None:
        self.replies: list[Pdu] = []

    def reply_many(self, pdus: list[Pdu]) -> None:
        self.replies += pdus


def receipt(carrier_id: str, seq: int) -> DeliverSm:
    text = f"id:{carrier_id} sub:001 dlvrd:001 submit date:2611280000 done date:2611280000"
    pdu = DeliverSm(esm_class=4, short_message=(text + " stat:DELIVRD err:000 text:x").encode())
    pdu.sequence_number = seq
    return pdu


def message(n: int) -> Message:
    return Message(
        id=f"m{n}", account_id=1, dialect="native", phone="79001234567", text="hi",
        encoding="gsm7", segments=1,
    )  # fmt: skip


async def test_early_receipts_of_one_turn_are_recorded_in_one_write() -> None:
    connector = SmppConnector(SmppClientConfig())
    sink, link = Sink(), Link()
    connector._sink = sink
    sents = []
    for n in range(5):
        sent = connector.receipts.track(message(n), 1, now=0)
        sents.append(sent)
    await connector.on_deliver(link, [receipt(f"C{n}", n + 1) for n in range(5)])  # type: ignore[arg-type]
    assert sink.calls == [] and link.replies == []  # held: no resp brought these ids yet
    for n, sent in enumerate(sents):  # the resps, as one read delivers them
        connector._acknowledged(sent, 0, f"C{n}")
    for _ in range(5):
        await asyncio.sleep(0)
    await asyncio.gather(*connector._tasks)
    [reports] = sink.calls
    assert [(r.message_id, r.status) for r in reports] == [
        (f"m{n}", status) for n in range(5) for status in (Status.SUBMITTED, Status.DELIVERED)
    ]
    assert sorted(r.sequence_number for r in link.replies) == [1, 2, 3, 4, 5]


class Wire:
    """Stands in for a session's transport: keeps what is written."""

    def __init__(self) -> None:
        self.written: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.written.append(data)

    def is_closing(self) -> bool:
        return False

    def get_extra_info(self, name: str) -> object:
        return ("127.0.0.1", 2775) if name == "peername" else None

    def close(self) -> None:
        pass

    def abort(self) -> None:
        pass


async def test_a_resp_brings_its_id_as_it_is_read_before_a_receipt_of_the_same_turn() -> None:
    """The SMSC sends each receipt on one session whatever session took the submit_sm (as the
    npm SMSC does with two binds): a receipt read on one session just before its resp is read
    on the other, in the same turn of the loop, is matched, not held for the resp's callback
    and recorded in a write of its own a few turns later."""
    connector = SmppConnector(SmppClientConfig())
    sink = Sink()
    connector._sink = sink
    tx, rx = ClientSession(connector, "trx"), ClientSession(connector, "trx")
    for session in (tx, rx):
        session.connection_made(Wire())  # type: ignore[arg-type]
        session.bound = True
    connector._bound.append(tx)
    settled: list[int] = []
    connector._settle_pending = lambda: settled.append(1)  # type: ignore[method-assign]
    submit = asyncio.create_task(connector.submit([message(1)]))
    await asyncio.sleep(0)  # the submit_sm is written
    [seq] = tx._pending
    answer = SubmitSmResp(message_id="C1")
    answer.sequence_number = seq
    rx.data_received(receipt("C1", 7).encode())
    tx.data_received(answer.encode())
    [reports] = await submit
    await asyncio.gather(*connector._tasks)
    assert settled == [] and connector.receipts.held == 0
    assert [(r.message_id, r.status) for r in sink.calls[0]] == [
        ("m1", Status.SUBMITTED),
        ("m1", Status.DELIVERED),
    ]
    assert (reports.status, reports.carrier_id) == (Status.SUBMITTED, "C1")
    for session in (tx, rx):
        session.connection_lost(None)
