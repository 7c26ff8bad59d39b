"""PduReader (framer) tests."""

from __future__ import annotations

import pytest

from smsgate.smpp.constants import CommandStatus
from smsgate.smpp.pdu import (
    EnquireLink,
    EnquireLinkResp,
    GenericNack,
    PduError,
    PduReader,
    SubmitSm,
)

PDUS = [
    EnquireLink(sequence_number=1),
    SubmitSm(sequence_number=2, destination_addr="79001234567", short_message=b"hello"),
    EnquireLinkResp(sequence_number=3),
]
STREAM = b"".join(p.encode() for p in PDUS)


def test_byte_by_byte() -> None:
    reader = PduReader()
    out = []
    for i in range(len(STREAM)):
        reader.feed(STREAM[i : i + 1])
        out.extend(reader)
    assert out == PDUS
    assert reader.buffered == 0


def test_many_in_one_chunk() -> None:
    reader = PduReader()
    tail = PDUS[1].encode()
    reader.feed(STREAM + tail[:20])
    assert list(reader) == PDUS
    assert reader.buffered == 20
    reader.feed(tail[20:])
    assert list(reader) == [PDUS[1]]


def test_next_frame_returns_raw_octets() -> None:
    reader = PduReader()
    reader.feed(STREAM)
    assert reader.next_frame() == PDUS[0].encode()


@pytest.mark.parametrize("length", [0, 15])
def test_length_below_header_is_fatal(length: int) -> None:
    reader = PduReader()
    reader.feed(length.to_bytes(4, "big") + bytes.fromhex("00000015 00000000 00000004"))
    with pytest.raises(PduError) as info:
        reader.next_pdu()
    err = info.value
    assert err.fatal and err.command_status == CommandStatus.ESME_RINVCMDLEN
    assert err.sequence_number == 4
    assert isinstance(err.response(), GenericNack)
    reader.feed(EnquireLink(sequence_number=1).encode())
    with pytest.raises(PduError):  # stays broken: the stream cannot be resynchronised
        reader.next_pdu()


def test_length_above_max_is_fatal_without_waiting() -> None:
    reader = PduReader(max_length=1024)
    reader.feed((1025).to_bytes(4, "big"))
    with pytest.raises(PduError) as info:
        reader.next_pdu()
    assert info.value.fatal
    assert info.value.command_status == CommandStatus.ESME_RINVCMDLEN


def test_max_length_is_inclusive() -> None:
    pdu = SubmitSm(short_message=b"x" * 100)
    raw = pdu.encode()
    reader = PduReader(max_length=len(raw))
    reader.feed(raw)
    assert reader.next_pdu() == pdu


def test_bad_pdu_in_the_middle_does_not_lose_the_rest() -> None:
    bad = bytes.fromhex("00000010 00000099 00000000 00000007")
    reader = PduReader()
    reader.feed(PDUS[0].encode() + bad + PDUS[1].encode())
    got = []
    errors = []
    while True:
        try:
            pdu = reader.next_pdu()
        except PduError as exc:
            assert not exc.fatal
            errors.append(exc.response())
            continue
        if pdu is None:
            break
        got.append(pdu)
    assert got == PDUS[:2]
    assert errors == [GenericNack(sequence_number=7, command_status=CommandStatus.ESME_RINVCMDID)]


def test_rejects_tiny_max_length() -> None:
    with pytest.raises(ValueError):
        PduReader(max_length=15)


def test_long_stream_compacts_buffer() -> None:
    reader = PduReader()
    one = SubmitSm(short_message=b"x" * 200).encode()
    count = 0
    for _ in range(2000):
        reader.feed(one + one[:7])
        count += len(list(reader))
        reader.feed(one[7:])
        count += len(list(reader))
    assert count == 4000
    assert reader.buffered == 0
