"""The receipt matcher alone: deliver_sm receipts matched to submit_sm_resp carrier ids, in
either order, with no sockets, clock or store."""

from __future__ import annotations

from smsgate.connectors.receipts import Receipt, ReceiptMatcher, Sent, stored_report
from smsgate.core.errors import ErrorCode
from smsgate.core.models import Message, Report
from smsgate.core.status import Status


def message(n: int, **kw: object) -> Message:
    return Message(
        id=f"m{n}", account_id=1, dialect="native", phone="79001234567", text="hi",
        encoding="gsm7", segments=1, **kw,  # type: ignore[arg-type]
    )  # fmt: skip


def delivered(carrier_id: str) -> Receipt:
    return (carrier_id, "DELIVRD", "000")


def outcomes(reports: list[Report] | None) -> list[tuple[str, Status, str | None]]:
    assert reports is not None
    return [(r.message_id, r.status, r.carrier_id) for r in reports]


def sent_and_acknowledged(matcher: ReceiptMatcher[str], n: int, *ids: str) -> Sent:
    sent = matcher.track(message(n), len(ids), now=0)
    for index, carrier_id in enumerate(ids):
        assert matcher.acknowledged(sent, index, carrier_id) == []
    sent.in_submit = False  # submit() returned: the dispatcher recorded SUBMITTED
    return sent


def test_receipt_after_resp() -> None:
    matcher: ReceiptMatcher[str] = ReceiptMatcher()
    sent_and_acknowledged(matcher, 1, "C1")
    reports = matcher.receive(delivered("C1"), "answer-1", now=1)
    assert outcomes(reports) == [("m1", Status.DELIVERED, "C1")]
    assert reports is not None and reports[0].error_code is None and reports[0].at == 1
    assert matcher.held == 0
    assert matcher.match(delivered("C1"), now=2) is None  # settled: its id is forgotten


def test_receipt_after_resp_within_submit_records_submitted_first() -> None:
    matcher: ReceiptMatcher[str] = ReceiptMatcher()
    sent = matcher.track(message(1), 1, now=0)
    matcher.acknowledged(sent, 0, "C1")  # submit() has not returned yet
    reports = matcher.receive(delivered("C1"), "answer-1", now=1)
    assert outcomes(reports) == [("m1", Status.SUBMITTED, "C1"), ("m1", Status.DELIVERED, "C1")]


def test_receipt_before_resp_is_held_until_the_resp_brings_its_id() -> None:
    matcher: ReceiptMatcher[str] = ReceiptMatcher()
    sent = matcher.track(message(1), 1, now=0)
    assert matcher.receive(delivered("00C1"), "answer-1", now=1) is None
    assert matcher.held == 1
    [early] = matcher.acknowledged(sent, 0, "c1")  # ids are compared normalised
    assert (early.receipt, early.token, early.at) == (delivered("00C1"), "answer-1", 1)
    assert matcher.held == 0
    sent.in_submit = False
    assert outcomes(matcher.match(early.receipt, now=2)) == [("m1", Status.DELIVERED, "c1")]
    assert matcher.expired(now=100) == []  # nothing left to expire


def test_unknown_id_stays_held_and_is_not_matched_by_another_resp() -> None:
    matcher: ReceiptMatcher[str] = ReceiptMatcher(early_wait=5)
    sent = matcher.track(message(1), 1, now=0)
    assert matcher.receive(delivered("X9"), "answer-x", now=1) is None
    assert matcher.acknowledged(sent, 0, "C1") == []
    assert matcher.held == 1
    assert matcher.match(delivered("X9"), now=2) is None
    assert matcher.candidates("X9") == ["X9", "x9"]  # the store is asked by these, in order


def test_duplicate_receipt_reports_once() -> None:
    matcher: ReceiptMatcher[str] = ReceiptMatcher()
    sent_and_acknowledged(matcher, 1, "C1")
    assert outcomes(matcher.receive(delivered("C1"), "first", now=1)) == [
        ("m1", Status.DELIVERED, "C1")
    ]
    # The copy finds no id in memory: held, then left to the store (which has the final status).
    assert matcher.receive(delivered("C1"), "copy", now=2) is None
    [[copy]] = matcher.expired(now=10)
    assert copy.token == "copy"


def test_duplicate_receipts_before_the_resp_settle_once() -> None:
    matcher: ReceiptMatcher[str] = ReceiptMatcher()
    sent = matcher.track(message(1), 1, now=0)
    assert matcher.receive(delivered("C1"), "first", now=1) is None
    assert matcher.receive(delivered("C1"), "copy", now=1) is None
    early = matcher.acknowledged(sent, 0, "C1")
    assert [e.token for e in early] == ["first", "copy"]  # both answered by the caller
    sent.in_submit = False
    assert outcomes(matcher.match(early[0].receipt, now=2)) == [("m1", Status.DELIVERED, "C1")]
    assert matcher.match(early[1].receipt, now=2) is None


def test_duplicate_part_receipt_counts_once() -> None:
    matcher: ReceiptMatcher[str] = ReceiptMatcher()
    sent_and_acknowledged(matcher, 1, "P1", "P2")
    assert matcher.receive(delivered("P1"), "a", now=1) == []
    assert matcher.receive(delivered("P1"), "b", now=1) == []  # still one part of two
    assert outcomes(matcher.receive(delivered("P2"), "c", now=1)) == [
        ("m1", Status.DELIVERED, "P1")
    ]


def test_unmatched_early_receipt_expires_after_the_wait() -> None:
    matcher: ReceiptMatcher[str] = ReceiptMatcher(early_wait=5)
    assert matcher.receive(delivered("C1"), "a", now=10) is None
    assert matcher.receive(delivered("c1"), "b", now=12) is None  # same id, normalised
    assert matcher.receive(delivered("C2"), "c", now=13) is None
    assert matcher.expired(now=15) == []  # not longer than the wait yet
    [group] = matcher.expired(now=15.5)  # timed from the id's first receipt
    assert [e.token for e in group] == ["a", "b"]
    assert matcher.held == 1
    # A resp that comes after the expiry finds nothing held: the store answered it.
    sent = matcher.track(message(1), 1, now=16)
    assert matcher.acknowledged(sent, 0, "C1") == []
    [[late]] = matcher.expired(now=18.5)
    assert late.token == "c"


def test_parts_report_the_worst_outcome_when_all_are_final() -> None:
    matcher: ReceiptMatcher[str] = ReceiptMatcher()
    sent_and_acknowledged(matcher, 1, "P1", "P2", "P3")
    assert matcher.receive(("P2", "ENROUTE", "000"), "a", now=1) == []  # not final
    assert matcher.receive(("P2", "UNDELIV", "0x0b"), "b", now=1) == []
    assert matcher.receive(delivered("P1"), "c", now=1) == []
    [report] = matcher.receive(("P3", "EXPIRED", "000"), "d", now=1) or []
    assert (report.status, report.error_code, report.carrier_error, report.carrier_id) == (
        Status.UNDELIVERED,
        ErrorCode.NETWORK_ERROR.value,
        "0x0b",
        "P1",
    )


def test_hex_and_decimal_ids_match_when_configured() -> None:
    matcher: ReceiptMatcher[str] = ReceiptMatcher(hex_to_dec=True)
    sent_and_acknowledged(matcher, 1, "1A")
    assert outcomes(matcher.receive(delivered("26"), "a", now=1)) == [
        ("m1", Status.DELIVERED, "1A")
    ]
    plain: ReceiptMatcher[str] = ReceiptMatcher()
    sent_and_acknowledged(plain, 1, "1A")
    assert plain.receive(delivered("26"), "a", now=1) is None


def test_refused_or_old_messages_are_forgotten() -> None:
    matcher: ReceiptMatcher[str] = ReceiptMatcher(id_memory=60)
    refused = sent_and_acknowledged(matcher, 1, "C1")
    matcher.forget(refused)
    assert not matcher.is_tracked(refused) and matcher.match(delivered("C1"), now=1) is None
    old = sent_and_acknowledged(matcher, 2, "C2")
    busy = matcher.track(message(3), 1, now=0)  # still in submit(): never dropped
    matcher.acknowledged(busy, 0, "C3")
    matcher.forget_old(now=60)
    assert matcher.is_tracked(old)
    matcher.forget_old(now=61)
    assert not matcher.is_tracked(old) and matcher.is_tracked(busy)
    assert matcher.match(delivered("C2"), now=61) is None


def test_stored_report_only_for_a_message_waiting_for_its_receipt() -> None:
    waiting = message(1, status=Status.SUBMITTED, carrier_id="C1")
    report = stored_report(waiting, ("C1", "REJECTD", "0x45"), now=5)
    assert report is not None
    assert (report.message_id, report.status, report.error_code, report.carrier_error) == (
        "m1",
        Status.REJECTED,
        ErrorCode.CARRIER_REJECTED.value,
        "0x45",
    )
    assert stored_report(waiting, ("C1", "ENROUTE", "000"), now=5) is None
    done = message(2, status=Status.DELIVERED, carrier_id="C2")
    assert stored_report(done, delivered("C2"), now=5) is None
