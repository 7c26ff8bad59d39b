"""The SMPP server against a scripted ESME: bind, submit, receipts (also after an offline spell),
multipart, errors, throttling, query_sm, cancel_sm, MO, malformed PDUs."""

from __future__ import annotations

import asyncio
import time

from smsgate.core.status import Status
from smsgate.smpp.concat import Scheme, split_text
from smsgate.smpp.constants import CommandStatus as S
from smsgate.smpp.constants import MessageState, Tag
from smsgate.smpp.pdu import (
    BindTransceiver,
    CancelSm,
    DataSm,
    DataSmResp,
    EnquireLink,
    EnquireLinkResp,
    GenericNack,
    Pdu,
    PduReader,
    QuerySm,
    SubmitSm,
    SubmitSmResp,
    Unbind,
    UnbindResp,
)
from smsgate.smpp.receipt import parse_receipt
from tests.smpp.conftest import smpp_port
from tests.smpp.esme import bound, connect
from tests.support.servers import Gateway, account


async def test_bind_checks_credentials(smsc: Gateway) -> None:
    await smsc.provision(account("acme"))
    port = smpp_port(smsc)
    esme = await connect(port)
    resp = await esme.call(BindTransceiver(system_id="acme", password="wrong"))
    assert resp.command_status == S.ESME_RBINDFAIL
    resp = await esme.call(BindTransceiver(system_id="nobody", password="acme-pw"))
    assert resp.command_status == S.ESME_RBINDFAIL
    early = await esme.call(SubmitSm(destination_addr="79001234567", short_message=b"x"))
    assert early.command_status == S.ESME_RINVBNDSTS
    resp = await esme.call(BindTransceiver(system_id="acme", password="acme-pw"))
    assert resp.command_status == 0 and resp.system_id == "smsgate"
    assert resp.tlvs[Tag.SC_INTERFACE_VERSION] == 0x34
    again = await esme.call(BindTransceiver(system_id="acme", password="acme-pw"))
    assert again.command_status == S.ESME_RALYBND
    esme.close()


async def test_submit_and_receipt(smsc: Gateway) -> None:
    [acme_id] = await smsc.provision(account("acme"))
    esme = await bound(smpp_port(smsc))
    resp = await esme.submit(short_message=b"Hello SMPP", registered_delivery=1)
    assert resp.command_status == 0
    seq = int(resp.message_id)
    acme = await smsc.store.get_account(acme_id)
    assert acme is not None
    [dr] = await esme.wait_delivered(1)
    assert dr.esm_class == 0x04
    assert dr.tlvs[Tag.RECEIPTED_MESSAGE_ID] == resp.message_id
    assert dr.tlvs[Tag.MESSAGE_STATE] == MessageState.DELIVERED
    receipt = parse_receipt(dr.short_message)
    assert receipt.id == resp.message_id and receipt.stat == "DELIVRD"
    assert receipt.text == "Hello SMPP"
    assert dr.source_addr == "79001234567" and dr.destination_addr == "ACME"
    message = await smsc.store.message_by_seq(acme_id, seq)
    assert message is not None and message.dialect == "smpp" and message.text == "Hello SMPP"

    async def outbox_done() -> bool:
        return not await smsc.store.outbox_items(acme_id, "pending")

    await smsc.wait_for(outbox_done)
    # Without registered_delivery, no receipt.
    resp = await esme.submit(short_message=b"quiet")
    assert resp.command_status == 0

    async def delivered() -> bool:
        m = await smsc.store.message_by_seq(acme_id, int(resp.message_id))
        return m is not None and m.status is Status.DELIVERED

    await smsc.wait_for(delivered)
    await asyncio.sleep(0.2)
    assert len(esme.delivered) == 1
    esme.close()


async def test_receipts_wait_for_a_receiver_bind(smsc: Gateway) -> None:
    [acme_id] = await smsc.provision(account("acme"))
    port = smpp_port(smsc)
    tx = await bound(port, "tx")
    ids = []
    for n in range(3):
        resp = await tx.submit(short_message=f"offline {n}".encode(), registered_delivery=1)
        ids.append(resp.message_id)
    await tx.unbind()

    async def all_delivered() -> bool:
        ms = [await smsc.store.message_by_seq(acme_id, int(i)) for i in ids]
        return all(m is not None and m.status is Status.DELIVERED for m in ms)

    await smsc.wait_for(all_delivered)
    await asyncio.sleep(0.5)  # several retries while no bind can take them
    pending = await smsc.store.outbox_items(acme_id, "pending")
    assert len(pending) == 3
    rx = await bound(port, "rx")
    got = await rx.wait_delivered(3)
    assert sorted(d.tlvs[Tag.RECEIPTED_MESSAGE_ID] for d in got) == sorted(ids)
    rx.close()


async def test_multipart_submits_are_reassembled(smsc: Gateway) -> None:
    [acme_id] = await smsc.provision(account("acme"))
    esme = await bound(smpp_port(smsc))
    text = "Длинное сообщение. " * 8  # UCS-2, 3 parts
    ids = []
    for part in split_text(text, 8, ref=77, scheme=Scheme.UDH8):
        resp = await esme.submit(
            short_message=part.short_message,
            esm_class=part.esm_class,
            data_coding=8,
            registered_delivery=1,
        )
        assert resp.command_status == 0
        ids.append(resp.message_id)
    seq = int(ids[-1])
    message = await smsc.store.message_by_seq(acme_id, seq)
    assert message is not None and message.text == text and message.segments == 3
    # SAR parts (GSM 7-bit) as well.
    gsm = "x" * 200
    for part in split_text(gsm, 0, ref=513, scheme=Scheme.SAR):
        resp = await esme.submit(short_message=part.short_message, tlvs=part.tlvs)
        assert resp.command_status == 0
    sar = await smsc.store.message_by_seq(acme_id, int(resp.message_id))
    assert sar is not None and sar.text == gsm
    # Every part id gets its receipt.
    got = await esme.wait_delivered(3)
    assert sorted(d.tlvs[Tag.RECEIPTED_MESSAGE_ID] for d in got) == sorted(ids)
    esme.close()


async def test_errors_map_to_smpp_statuses(smsc: Gateway) -> None:
    await smsc.provision(account("acme"), account("poor", balance="0"))
    port = smpp_port(smsc)
    esme = await bound(port)
    bad_sender = await esme.submit(source_addr="Nobody", short_message=b"x")
    assert bad_sender.command_status == S.ESME_RINVSRCADR
    bad_phone = await esme.submit(destination_addr="12", short_message=b"x")
    assert bad_phone.command_status == S.ESME_RINVDSTADR
    binary = await esme.submit(data_coding=4, short_message=b"\x00\x01")
    assert binary.command_status == S.ESME_RINVDCS
    bad_time = await esme.submit(short_message=b"x", schedule_delivery_time="99999999")
    assert bad_time.command_status == S.ESME_RINVSCHED
    poor = await bound(port, system_id="poor", password="poor-pw")
    broke = await poor.submit(short_message=b"x")
    assert broke.command_status == S.ESME_RSUBMITFAIL
    esme.close()
    poor.close()


async def test_throttling_answers_rthrottled_never_drops(smsc: Gateway) -> None:
    await smsc.provision(account("acme", settings={"smpp": {"tps": 5}}))
    esme = await bound(smpp_port(smsc))
    futures = [
        esme.send_request(
            SubmitSm(destination_addr="79001234567", source_addr="ACME", short_message=b"t")
        )
        for _ in range(30)
    ]
    answers = await asyncio.gather(*futures)
    statuses = [a.command_status for a in answers]
    assert statuses.count(0) == 5
    assert statuses.count(S.ESME_RTHROTTLED) == 25
    esme.close()


async def test_query_and_cancel(smsc: Gateway) -> None:
    [acme_id] = await smsc.provision(account("acme"))
    esme = await bound(smpp_port(smsc))
    sent = await esme.submit(short_message=b"query me")

    async def delivered() -> bool:
        m = await smsc.store.message_by_seq(acme_id, int(sent.message_id))
        return m is not None and m.status is Status.DELIVERED

    await smsc.wait_for(delivered)
    q = await esme.call(QuerySm(message_id=sent.message_id, source_addr="ACME"))
    assert q.command_status == 0 and q.message_state == MessageState.DELIVERED
    assert len(q.final_date) == 16
    missing = await esme.call(QuerySm(message_id="999999"))
    assert missing.command_status == S.ESME_RQUERYFAIL
    later = time.gmtime(time.time() + 3600)
    when = time.strftime("%y%m%d%H%M%S", later) + "000+"
    scheduled = await esme.submit(short_message=b"later", schedule_delivery_time=when)
    assert scheduled.command_status == 0
    cancel = await esme.call(CancelSm(message_id=scheduled.message_id))
    assert cancel.command_status == 0
    message = await smsc.store.message_by_seq(acme_id, int(scheduled.message_id))
    assert message is not None and message.status is Status.CANCELLED
    late = await esme.call(CancelSm(message_id=sent.message_id))
    assert late.command_status == S.ESME_RCANCELFAIL
    esme.close()


async def test_incoming_sms_reach_a_bind(smsc: Gateway) -> None:
    [acme_id] = await smsc.provision(
        account("acme", callback_urls={"smpp.mo": "smpp://"}, settings={"numbers": ["7555"]})
    )
    from smsgate.connectors.base import Incoming

    esme = await bound(smpp_port(smsc), "rx")
    await smsc.engine.reports.incoming(
        [
            Incoming(
                phone="79007654321", to="7555", text="Привет", at=time.time(), account_id=acme_id
            )
        ]
    )
    [mo] = await esme.wait_delivered(1)
    assert mo.esm_class == 0 and mo.data_coding == 8
    assert mo.short_message.decode("utf-16-be") == "Привет"
    assert mo.source_addr == "79007654321" and mo.destination_addr == "7555"
    esme.close()


async def test_malformed_pdus_get_nacks_and_the_session_lives(smsc: Gateway) -> None:
    await smsc.provision(account("acme"))
    reader, writer = await asyncio.open_connection("127.0.0.1", smpp_port(smsc))
    frames = PduReader()

    async def next_pdu() -> Pdu:
        while True:
            pdu = frames.next_pdu()
            if pdu is not None:
                return pdu
            frames.feed(await asyncio.wait_for(reader.read(4096), 5))

    writer.write(BindTransceiver(sequence_number=1, system_id="acme", password="acme-pw").encode())
    assert (await next_pdu()).command_status == 0
    # an unknown command id, then a submit_sm whose service_type is not terminated
    writer.write(bytes.fromhex("00000010000000ff0000000000000063"))
    writer.write(bytes.fromhex("00000014000000040000000000000064") + b"abcd")
    nack = await next_pdu()
    assert isinstance(nack, GenericNack) and nack.sequence_number == 0x63
    assert nack.command_status == S.ESME_RINVCMDID
    bad = await next_pdu()
    assert isinstance(bad, SubmitSmResp) and bad.command_status == S.ESME_RINVSERTYP
    writer.write(EnquireLink(sequence_number=7).encode())
    alive = await next_pdu()
    assert isinstance(alive, EnquireLinkResp) and alive.sequence_number == 7
    # data_sm goes through the same accept path
    writer.write(
        DataSm(
            sequence_number=8,
            source_addr="ACME",
            destination_addr="79001234567",
            tlvs={Tag.MESSAGE_PAYLOAD: b"via data_sm"},
        ).encode()
    )
    answer = await next_pdu()
    assert isinstance(answer, DataSmResp) and answer.command_status == 0
    assert answer.message_id.isdigit()
    writer.write(Unbind(sequence_number=9).encode())
    assert isinstance(await next_pdu(), UnbindResp)
    assert await asyncio.wait_for(reader.read(), 5) == b""  # closed after unbind_resp
    writer.close()


async def test_a_refused_receipt_is_sent_again(smsc: Gateway) -> None:
    [acme_id] = await smsc.provision(account("acme"))
    esme = await bound(smpp_port(smsc))
    refusals = []

    def answer(pdu: object) -> int:
        if not refusals:
            refusals.append(pdu)
            return S.ESME_RX_T_APPN  # "try later"
        return S.ESME_ROK

    esme.answer = answer  # type: ignore[assignment]
    resp = await esme.submit(short_message=b"retry me", registered_delivery=1)
    [dr] = await esme.wait_delivered(1)
    assert dr.tlvs[Tag.RECEIPTED_MESSAGE_ID] == resp.message_id and len(refusals) == 1

    async def done() -> bool:
        return not await smsc.store.outbox_items(acme_id, "pending")

    await smsc.wait_for(done)
    esme.close()
