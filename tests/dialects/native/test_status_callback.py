"""The native status callback's body, encoded from the StatusCallback Struct: the same bytes as
the dict of its fields in the documented order (docs/native.md, "Callbacks"), whatever the
message's times."""

from __future__ import annotations

import msgspec
import pytest

from smsgate.core.models import Account, Message, Notice, StatusEvent
from smsgate.core.status import Status
from smsgate.dialects.native.callbacks import NativeCallbacks
from smsgate.dialects.native.render import iso, message_out
from smsgate.store import rules
from tests.store.helpers import message


def _as_dict(notice: Notice) -> bytes:
    """The body as a dict of the documented fields (what render encoded before the Struct)."""
    assert notice.event is not None and notice.message is not None
    return msgspec.json.encode(
        {
            "event_id": notice.event_id,
            "type": "status",
            "status": notice.event.status.value,
            "error": notice.event.error_code,
            "carrier_error": notice.event.carrier_error,
            "at": iso(notice.event.at),
            "message": message_out(notice.message),
        }
    )


def _delivered() -> Message:
    return msgspec.structs.replace(
        message(1, phone="79650000001"),
        status=Status.DELIVERED,
        created_at=1_796_000_000.125,
        submitted_at=1_796_000_001.5,
        updated_at=1_796_000_002.75,
        done_at=1_796_000_002.75,
    )


@pytest.mark.parametrize(
    ("status", "at", "error", "carrier"),
    [
        (Status.SUBMITTED, 1_796_000_001.5, None, None),  # done_at and updated_at undone
        (Status.DELIVERED, 1_796_000_002.75, None, None),  # the message as it stands
        (Status.UNDELIVERED, 1_796_000_003.0, "E1", "0x0b"),  # a later time than the row's
    ],
)
def test_the_body_is_the_documented_fields_in_order(
    status: Status, at: float, error: str | None, carrier: str | None
) -> None:
    event = StatusEvent(
        seq=17,
        message_id="m1",
        account_id=1,
        status=status,
        error_code=error,
        carrier_error=carrier,
        at=at,
    )
    for row in (_delivered(), msgspec.structs.replace(_delivered(), done_at=None)):
        notice = rules.callback_notice("dr", "ev-17", event, row, None)
        assert notice is not None
        request = NativeCallbacks().render([notice], "http://h/cb", Account(id=1, name="a"))
        assert request.body == _as_dict(notice)
        # and a notice whose message was not made as of its event (a stored payload's)
        stored = Notice(kind="dr", event_id="ev-17", event=event, message=row)
        body = NativeCallbacks().render([stored], "http://h/cb", Account(id=1, name="a")).body
        assert body == _as_dict(stored)
