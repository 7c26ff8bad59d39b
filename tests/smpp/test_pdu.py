"""PDU codec tests. Expected octets are written by hand from SMPP 3.4 section 4."""

from __future__ import annotations

import dataclasses

import pytest

from smsgate.smpp.constants import CommandId, CommandStatus, Tag
from smsgate.smpp.pdu import (
    PDU_CLASSES,
    BindTransceiver,
    BindTransceiverResp,
    CancelSm,
    DataSm,
    DeliverSm,
    DeliverSmResp,
    EnquireLink,
    EnquireLinkResp,
    GenericNack,
    Pdu,
    PduError,
    QuerySm,
    QuerySmResp,
    SubmitSm,
    SubmitSmResp,
    Unbind,
    UnbindResp,
    decode,
)


def h(text: str) -> bytes:
    """Hex with spaces and newlines allowed."""
    return bytes.fromhex("".join(text.split()))


# --- known encodings ------------------------------------------------------------------------------

ENQUIRE_LINK = h("00000010 00000015 00000000 00000001")

BIND_TRX = h(
    "0000002a 00000009 00000000 00000001"
    "736d7070636c69656e743100"  # system_id "smppclient1"
    "70617373776f726400"  # password "password"
    "00"  # system_type ""
    "34 00 00"  # interface_version 3.4, addr_ton, addr_npi
    "00"  # address_range ""
)

SUBMIT_SM = h(
    "00000037 00000004 00000000 00000002"
    "00"  # service_type ""
    "05 00 53656e64657200"  # source: TON 5 alphanumeric, NPI 0, "Sender"
    "01 01 373930303132333435363700"  # dest: TON 1, NPI 1, "79001234567"
    "00 00 00"  # esm_class, protocol_id, priority_flag
    "00 00"  # schedule_delivery_time "", validity_period ""
    "01 00 00 00"  # registered_delivery, replace_if_present, data_coding, sm_default_msg_id
    "05 48656c6c6f"  # sm_length 5, "Hello"
)


def test_enquire_link_octets() -> None:
    assert EnquireLink(sequence_number=1).encode() == ENQUIRE_LINK
    assert decode(ENQUIRE_LINK) == EnquireLink(sequence_number=1)


def test_enquire_link_resp_and_unbind_octets() -> None:
    assert EnquireLinkResp(sequence_number=0x7FFFFFFF).encode() == h(
        "00000010 80000015 00000000 7fffffff"
    )
    assert Unbind(sequence_number=3).encode() == h("00000010 00000006 00000000 00000003")
    assert UnbindResp(sequence_number=3).encode() == h("00000010 80000006 00000000 00000003")


def test_bind_transceiver_octets() -> None:
    pdu = BindTransceiver(sequence_number=1, system_id="smppclient1", password="password")
    assert pdu.encode() == BIND_TRX
    assert len(BIND_TRX) == 0x2A
    assert decode(BIND_TRX) == pdu
    assert pdu.interface_version == 0x34


def test_bind_transceiver_resp_with_sc_interface_version() -> None:
    raw = h("0000001a 80000009 00000000 00000001 534d534300 0210 0001 34")
    pdu = decode(raw)
    assert pdu == BindTransceiverResp(
        sequence_number=1, system_id="SMSC", tlvs={Tag.SC_INTERFACE_VERSION: 0x34}
    )
    assert pdu.encode() == raw


def test_submit_sm_octets() -> None:
    pdu = SubmitSm(
        sequence_number=2,
        source_addr_ton=5,
        source_addr="Sender",
        dest_addr_ton=1,
        dest_addr_npi=1,
        destination_addr="79001234567",
        registered_delivery=1,
        short_message=b"Hello",
    )
    assert len(SUBMIT_SM) == 0x37
    assert pdu.encode() == SUBMIT_SM
    assert decode(SUBMIT_SM) == pdu


def test_submit_sm_with_tlvs_octets() -> None:
    pdu = SubmitSm(
        sequence_number=9,
        destination_addr="1",
        tlvs={Tag.SAR_MSG_REF_NUM: 0x1234, Tag.SAR_TOTAL_SEGMENTS: 2, Tag.SAR_SEGMENT_SEQNUM: 1},
    )
    body = h("00 0000 00 0000 3100 000000 00 00 00000000 00")
    tlvs = h("020c 0002 1234  020e 0001 02  020f 0001 01")
    expected = (16 + len(body) + len(tlvs)).to_bytes(4, "big") + h("00000004 00000000 00000009")
    assert pdu.encode() == expected + body + tlvs
    assert decode(expected + body + tlvs) == pdu


def test_submit_sm_resp_octets() -> None:
    raw = h("00000017 80000004 00000000 00000002 61626331323300")
    assert SubmitSmResp(sequence_number=2, message_id="abc123").encode() == raw
    assert decode(raw) == SubmitSmResp(sequence_number=2, message_id="abc123")


def test_deliver_sm_receipt_tlvs() -> None:
    body = h("00 0101 3739303000 0500 534d5300 04 00 00 00 00 01 00 00 00 00")
    tlvs = h("001e 0004 61626300  0427 0001 02")
    header = (16 + len(body) + len(tlvs)).to_bytes(4, "big") + h("00000005 00000000 0000000a")
    pdu = decode(header + body + tlvs)
    assert isinstance(pdu, DeliverSm)
    assert pdu.source_addr == "7900" and pdu.destination_addr == "SMS"
    assert pdu.esm_class == 0x04
    assert pdu.tlv_str(Tag.RECEIPTED_MESSAGE_ID) == "abc"
    assert pdu.tlv_int(Tag.MESSAGE_STATE) == 2
    assert pdu.encode() == header + body + tlvs


def test_receipted_message_id_without_nul_is_accepted() -> None:
    body = h("00 0000 00 0000 00 04 00 00 00 00 00 00 00 00 00")
    tlvs = h("001e 0003 616263")
    header = (16 + len(body) + len(tlvs)).to_bytes(4, "big") + h("00000005 00000000 00000001")
    assert decode(header + body + tlvs).tlvs == {Tag.RECEIPTED_MESSAGE_ID: "abc"}


def test_unknown_tlv_kept_as_bytes() -> None:
    body = h("00 0000 00 0000 00 00 00 00 00 00 00 00 00 00 00")
    tlvs = h("1400 0003 010203")
    header = (16 + len(body) + len(tlvs)).to_bytes(4, "big") + h("00000004 00000000 00000001")
    pdu = decode(header + body + tlvs)
    assert pdu.tlvs == {0x1400: b"\x01\x02\x03"}
    assert pdu.encode() == header + body + tlvs


def test_query_and_cancel_octets() -> None:
    q = QuerySm(sequence_number=4, message_id="42", source_addr="1")
    assert q.encode() == h("00000017 00000003 00000000 00000004 343200 00 00 3100")
    qr = QuerySmResp(sequence_number=4, message_id="42", message_state=2)
    assert qr.encode() == h("00000016 80000003 00000000 00000004 343200 00 02 00")
    c = CancelSm(sequence_number=5, message_id="42")
    assert c.encode() == h("0000001a 00000008 00000000 00000005 00 343200 0000 00 0000 00")


def test_data_sm_octets() -> None:
    d = DataSm(sequence_number=6, destination_addr="1", tlvs={Tag.MESSAGE_PAYLOAD: b"hi"})
    assert d.encode() == h(
        "00000021 00000103 00000000 00000006 00 0000 00 0000 3100 00 00 00 0424 0002 6869"
    )


def test_generic_nack_octets() -> None:
    nack = GenericNack(sequence_number=7, command_status=CommandStatus.ESME_RINVCMDID)
    assert nack.encode() == h("00000010 80000000 00000003 00000007")


def test_error_resp_without_body_decodes() -> None:
    raw = h("00000010 80000004 00000045 00000002")
    assert decode(raw) == SubmitSmResp(
        sequence_number=2, command_status=CommandStatus.ESME_RSUBMITFAIL
    )


def test_header_only_deliver_sm_resp_is_accepted() -> None:
    assert decode(h("00000010 80000005 00000000 00000003")) == DeliverSmResp(sequence_number=3)


def test_make_resp() -> None:
    resp = SubmitSm(sequence_number=11).make_resp(message_id="x")
    assert resp == SubmitSmResp(sequence_number=11, message_id="x")
    assert EnquireLink(sequence_number=3).make_resp() == EnquireLinkResp(sequence_number=3)
    with pytest.raises(TypeError):
        GenericNack().make_resp()


def test_registry_covers_brief() -> None:
    for name in [
        "BIND_TRANSMITTER", "BIND_RECEIVER", "BIND_TRANSCEIVER", "UNBIND", "SUBMIT_SM",
        "DELIVER_SM", "DATA_SM", "QUERY_SM", "CANCEL_SM", "ENQUIRE_LINK",
    ]:  # fmt: skip
        assert CommandId[name] in PDU_CLASSES
        assert CommandId[name + "_RESP"] in PDU_CLASSES
    assert CommandId.GENERIC_NACK in PDU_CLASSES
    assert CommandId.OUTBIND in PDU_CLASSES


def test_every_class_decodes_to_what_its_constructor_makes() -> None:
    """Decoders make a PDU by storing its fields, without the dataclass's __init__ (a
    deliver_sm's 20 keywords were a third of its decoding): every field of every class gets
    its value, and the PDU equals the one its constructor makes."""
    for cls in PDU_CLASSES.values():
        pdu = cls(sequence_number=7)
        pdu.command_status = 0
        decoded = decode(pdu.encode())
        assert type(decoded) is cls and decoded == pdu
        for f in dataclasses.fields(cls):
            getattr(decoded, f.name)  # set: an unset slot would raise
    deliver = DeliverSm(
        sequence_number=9, service_type="CMT", source_addr_ton=1, source_addr_npi=1,
        source_addr="79651234567", destination_addr="Test", esm_class=4, priority_flag=1,
        registered_delivery=1, data_coding=8, short_message=b"id:1 stat:DELIVRD",
        tlvs={Tag.RECEIPTED_MESSAGE_ID: "1", Tag.MESSAGE_STATE: 2},
    )  # fmt: skip
    assert decode(deliver.encode()) == deliver


def test_every_class_builds_what_its_constructor_makes() -> None:
    """`cls.build` makes a PDU by storing its fields, without the dataclass's __init__ (a
    third of making a submit_sm): with no fields, with every field given, a fresh TLV dict
    each time, and a keyword the class has not refused as its constructor refuses it."""
    for cls in PDU_CLASSES.values():
        assert cls.build is not Pdu.build  # generated for every registered class
        assert cls.build() == cls()
        first, second = cls.build(), cls.build()
        assert first.tlvs == {} and first.tlvs is not second.tlvs
        values = {"sequence_number": 5, "command_status": 8}
        for n, f in enumerate(cls.FIELDS, 1):
            values[f.name] = {"u8": n, "cstr": f"v{n}", "sm": b"text"}[f.kind]
        if cls.TLVS_ALLOWED:
            values["tlvs"] = {Tag.SAR_MSG_REF_NUM: 7}
        built = cls.build(**values)
        assert type(built) is cls and built == cls(**values)
        assert built.encode() == cls(**values).encode()
        with pytest.raises(TypeError):
            cls.build(no_such_field=1)
    assert SubmitSm(sequence_number=4).make_resp(message_id="x").message_id == "x"  # type: ignore[attr-defined]


# --- encode-side validation -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "pdu",
    [
        BindTransceiver(system_id="x" * 16),
        BindTransceiver(password="x" * 9),
        SubmitSm(source_addr="1" * 21),
        SubmitSm(short_message=b"x" * 255),
        SubmitSm(esm_class=256),
        SubmitSm(source_addr="a\0b"),
        SubmitSm(tlvs={Tag.SAR_MSG_REF_NUM: 70000}),
        SubmitSm(tlvs={Tag.SAR_MSG_REF_NUM: "x"}),
        SubmitSm(tlvs={0x1400: 5}),
        SubmitSm(tlvs={Tag.NETWORK_ERROR_CODE: b"\x01"}),
        EnquireLink(tlvs={Tag.SAR_MSG_REF_NUM: 1}),
        EnquireLink(sequence_number=-1),
        EnquireLink(sequence_number=1 << 32),
    ],
)
def test_encode_rejects_invalid(pdu: object) -> None:
    with pytest.raises(ValueError) as compiled:
        pdu.encode()  # type: ignore[attr-defined]
    with pytest.raises(ValueError) as generic:  # the loop each class's own code stands for
        Pdu.encode(pdu)  # type: ignore[arg-type]
    assert str(compiled.value) == str(generic.value)


def test_max_length_strings_encode() -> None:
    pdu = BindTransceiver(system_id="x" * 15, password="y" * 8, system_type="z" * 12)
    assert decode(pdu.encode()) == pdu


# --- malformed input ------------------------------------------------------------------------------


def _submit(body: bytes, seq: int = 2) -> bytes:
    return (16 + len(body)).to_bytes(4, "big") + h("00000004 00000000") + seq.to_bytes(4, "big")


def _decode_error(raw: bytes) -> PduError:
    with pytest.raises(PduError) as info:
        decode(raw)
    return info.value


def test_shorter_than_header() -> None:
    err = _decode_error(h("00000010 00000015 00000000 000000"))
    assert err.command_status == CommandStatus.ESME_RINVCMDLEN


def test_length_mismatch() -> None:
    err = _decode_error(h("00000014 00000015 00000000 00000009"))
    assert err.command_status == CommandStatus.ESME_RINVCMDLEN
    assert err.sequence_number == 9
    assert err.response() == GenericNack(
        sequence_number=9, command_status=CommandStatus.ESME_RINVCMDLEN
    )


def test_unknown_command_id() -> None:
    err = _decode_error(h("00000010 00000099 00000000 00000005"))
    assert err.command_status == CommandStatus.ESME_RINVCMDID
    assert (err.sequence_number, err.command_id) == (5, 0x99)
    assert err.response() == GenericNack(
        sequence_number=5, command_status=CommandStatus.ESME_RINVCMDID
    )


def test_submit_multi_is_not_supported() -> None:
    err = _decode_error(h("00000010 00000021 00000000 00000005"))
    assert err.command_status == CommandStatus.ESME_RINVCMDID


def test_header_only_pdu_with_body() -> None:
    err = _decode_error(h("00000014 00000015 00000000 00000001 00000000"))
    assert err.command_status == CommandStatus.ESME_RINVCMDLEN


def test_truncated_c_string() -> None:
    body = h("00 0500 53656e64")  # source_addr "Send" and no NUL: body ends
    raw = _submit(body) + body
    err = _decode_error(raw)
    assert err.command_status == CommandStatus.ESME_RINVSRCADR
    assert err.command_id == CommandId.SUBMIT_SM and err.sequence_number == 2
    assert err.response() == SubmitSmResp(
        sequence_number=2, command_status=CommandStatus.ESME_RINVSRCADR
    )


def test_c_string_longer_than_max() -> None:
    body = h("00 0101") + b"1" * 21 + h("00 0101 3100 000000 00 00 00000000 00")
    err = _decode_error(_submit(body) + body)
    assert err.command_status == CommandStatus.ESME_RINVSRCADR


def test_bind_errors_carry_field_status() -> None:
    body = b"x" * 20
    raw = (16 + len(body)).to_bytes(4, "big") + h("00000009 00000000 00000001") + body
    err = _decode_error(raw)
    assert err.command_status == CommandStatus.ESME_RINVSYSID
    assert isinstance(err.response(), BindTransceiverResp)


def test_body_ends_before_integer_field() -> None:
    body = h("00 0000 00 0000 00 00 00")  # stops after protocol_id
    err = _decode_error(_submit(body) + body)
    assert err.command_status == CommandStatus.ESME_RINVCMDLEN


def test_sm_length_beyond_body() -> None:
    body = h("00 0000 00 0000 00 00 00 00 00 00 00 00 00 00 0a 48656c6c6f")
    err = _decode_error(_submit(body) + body)
    assert err.command_status == CommandStatus.ESME_RINVMSGLEN
    assert isinstance(err.response(), SubmitSmResp)


def test_sm_length_255() -> None:
    body = h("00 0000 00 0000 00 00 00 00 00 00 00 00 00 00 ff") + b"x" * 255
    err = _decode_error(_submit(body) + body)
    assert err.command_status == CommandStatus.ESME_RINVMSGLEN


_EMPTY_SM_BODY = h("00 0000 00 0000 00 00 00 00 00 00 00 00 00 00 00")


@pytest.mark.parametrize(
    ("tlvs", "status"),
    [
        (h("020c"), CommandStatus.ESME_RINVOPTPARSTREAM),  # truncated TLV header
        (h("020c 0002 12"), CommandStatus.ESME_RINVOPTPARSTREAM),  # value overruns
        (h("0424 ffff 00"), CommandStatus.ESME_RINVOPTPARSTREAM),
        (h("020c 0001 12"), CommandStatus.ESME_RINVPARLEN),  # sar_msg_ref_num is 2 octets
        (h("0427 0002 0002"), CommandStatus.ESME_RINVPARLEN),  # message_state is 1 octet
        (h("0423 0002 0001"), CommandStatus.ESME_RINVPARLEN),  # network_error_code is 3
    ],
)
def test_bad_tlvs(tlvs: bytes, status: CommandStatus) -> None:
    body = _EMPTY_SM_BODY + tlvs
    err = _decode_error(_submit(body) + body)
    assert err.command_status == status
    assert isinstance(err.response(), SubmitSmResp)


def test_pdu_error_on_response_answers_generic_nack() -> None:
    raw = h("00000014 80000004 00000000 00000002 61626364")  # message_id without NUL
    err = _decode_error(raw)
    assert err.command_status == CommandStatus.ESME_RINVMSGID
    assert isinstance(err.response(), GenericNack)


def test_pdu_error_str() -> None:
    assert "ESME_RINVCMDID" in str(PduError(CommandStatus.ESME_RINVCMDID, 1, 0x99, "x"))
    assert "0x1234" in str(PduError(0x1234))
