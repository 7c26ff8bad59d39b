"""The one table from canonical statuses to MsgHub's numbers."""

from __future__ import annotations

import pytest

from smsgate.core.errors import ErrorCode
from smsgate.core.status import Status
from smsgate.dialects.msghub.errors import CODES, HTTP_STATUS
from smsgate.dialects.msghub.statuses import DrStatus, dr_status

SEED_SUBSTATUSES = {10, 12, 23, 24, 28, 35, 36}


@pytest.mark.parametrize(
    ("status", "error", "sent", "expected"),
    [
        (Status.ACCEPTED, None, False, (1, 10, 10001)),
        (Status.QUEUED, None, False, (1, 10, 10001)),
        (Status.SCHEDULED, None, False, (1, 10, 10002)),
        (Status.SUBMITTED, None, True, (1, 12, 12001)),
        (Status.UNKNOWN, None, True, (1, 12, 12002)),
        (Status.DELIVERED, None, True, (2, 23, 23011)),
        (Status.EXPIRED, "expired", True, (3, 35, 35015)),
        (Status.EXPIRED, None, False, (3, 24, 24015)),
        (Status.CANCELLED, None, False, (3, 36, 36030)),
        (Status.UNDELIVERED, "absent_subscriber", True, (3, 36, 36001)),
        (Status.UNDELIVERED, "unknown_subscriber", True, (3, 36, 36002)),
        (Status.UNDELIVERED, "blocked_subscriber", True, (3, 36, 36003)),
        (Status.UNDELIVERED, "memory_full", True, (3, 36, 36004)),
        (Status.UNDELIVERED, "network_error", True, (3, 36, 36005)),
        (Status.UNDELIVERED, "something new", True, (3, 36, 36000)),
        (Status.UNDELIVERED, None, True, (3, 36, 36000)),
        (Status.REJECTED, "carrier_rejected", True, (3, 36, 36006)),
        (Status.REJECTED, "invalid_phone", False, (3, 36, 36024)),
        (Status.REJECTED, "stop_listed", False, (3, 36, 36028)),
        (Status.REJECTED, "system_error", False, (3, 36, 36007)),
    ],
)
def test_table(status: Status, error: str | None, sent: bool, expected: tuple[int, ...]) -> None:
    got = dr_status(status, error, sent)
    assert isinstance(got, DrStatus) and got.text
    assert (got.status, got.substatus, got.msghub_status) == expected


def test_seed_texts() -> None:
    assert dr_status(Status.DELIVERED, None, True).text == "SMS delivered"
    assert dr_status(Status.EXPIRED, "expired", True).text == "SMS expired"
    assert CODES[ErrorCode.INVALID_PHONE] == (36024, "Phone number incorrect")


def test_every_status_and_code_is_mapped_consistently() -> None:
    for status in Status:
        for error in (None, *ErrorCode):
            st = dr_status(status, error, True)
            assert st.substatus in SEED_SUBSTATUSES
            assert st.msghub_status // 1000 == st.substatus
            assert st.status == {10: 1, 12: 1, 23: 2}.get(st.substatus, 3)
    numbers = [code for code, _ in CODES.values()]
    assert len(numbers) == len(set(numbers))
    assert set(HTTP_STATUS) <= set(CODES)
