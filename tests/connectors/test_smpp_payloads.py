"""The SMPP client's submit_sm for messages that are not texts (core.payload): binary data as
8-bit data (data_coding 4) with its UDH (esm_class UDHI), a ping as an empty type 0 SMS
(protocol_id 0x40, TS 23.040 9.2.3.9), and an HLR query refused, never sent as an empty text."""

from __future__ import annotations

from smsgate.connectors.smpp import SmppClientConfig, SmppConnector
from smsgate.core.errors import ErrorCode
from smsgate.core.models import Message
from smsgate.core.status import Status

UDHI = 0x40
WAP = "0605040B8423F0DC0601AE02056A0045C60C036D79736974652E72750001036D7973697465000101"


def message(encoding: str, text: str) -> Message:
    return Message(
        id="m1", account_id=1, dialect="smsc", phone="79651111111", text=text,
        encoding=encoding, segments=1, sender="ACME",
    )  # fmt: skip


def test_binary_with_its_udh_is_one_8bit_pdu() -> None:
    connector = SmppConnector(SmppClientConfig())
    [pdu] = connector._pdus(message("binary_udh", WAP))
    assert pdu.data_coding == 4 and pdu.esm_class & UDHI and pdu.protocol_id == 0
    assert pdu.short_message == bytes.fromhex(WAP)
    assert pdu.destination_addr == "79651111111" and pdu.source_addr == "ACME"


def test_long_binary_is_concatenated_in_134_octet_parts() -> None:
    connector = SmppConnector(SmppClientConfig())
    data = bytes(range(200))
    pdus = connector._pdus(message("binary", data.hex()))
    assert [p.data_coding for p in pdus] == [4, 4] and all(p.esm_class & UDHI for p in pdus)
    udhs = [p.short_message[:6] for p in pdus]
    assert udhs[0][:5] == udhs[1][:5] and udhs[0][:3] == bytes.fromhex("050003")
    assert [u[4:] for u in udhs] == [b"\x02\x01", b"\x02\x02"]
    assert b"".join(p.short_message[6:] for p in pdus) == data
    # short binary data without a UDH: one PDU, no UDHI
    [pdu] = connector._pdus(message("binary", "00ff10"))
    assert pdu.short_message == b"\x00\xff\x10" and not pdu.esm_class & UDHI


def test_ping_is_an_empty_type_0_sms() -> None:
    [pdu] = SmppConnector(SmppClientConfig())._pdus(message("ping", ""))
    assert pdu.protocol_id == 0x40 and pdu.short_message == b"" and pdu.data_coding == 0


async def test_an_hlr_query_is_refused_not_sent() -> None:
    connector = SmppConnector(SmppClientConfig())
    [report] = await connector.submit([message("hlr", "")])
    assert report.status is Status.REJECTED
    assert report.error_code == ErrorCode.CARRIER_REJECTED.value
