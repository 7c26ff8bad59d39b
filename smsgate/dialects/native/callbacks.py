"""Native callbacks: one JSON event per POST, signed with HMAC-SHA256.

Headers: `X-Smsgate-Event-Id` (stable across retries: dedupe on it), `X-Smsgate-Timestamp`
(UNIX seconds of this attempt) and `X-Smsgate-Signature: v1=<hex>`, the HMAC-SHA256 under the
account's callback secret of `<timestamp>.<body>`.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Sequence

import msgspec

from ...core.models import Account, Message, Notice
from ...core.status import SUBMITTED, Status
from ...engine.callbacks import CallbackPolicy, CallbackRequest
from .render import iso, message_out
from .schemas import EVENTS, StatusCallback

_encode = msgspec.json.Encoder().encode


def sign(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "v1=" + mac.hexdigest()


class NativeCallbacks(CallbackPolicy):
    wants_mo = True
    mo_on_dr_url = True
    statuses = frozenset(
        {
            Status.SUBMITTED,
            Status.DELIVERED,
            Status.UNDELIVERED,
            Status.EXPIRED,
            Status.REJECTED,
            Status.CANCELLED,
            Status.UNKNOWN,
        }
    )

    def wants(self, message: Message, status: Status) -> bool:
        # meta first: most messages have none
        if message.meta and status is SUBMITTED and message.meta.get(EVENTS) == "final":
            return False  # the client asked for final statuses only
        return status in self.statuses

    def render(self, notices: Sequence[Notice], url: str, account: Account) -> CallbackRequest:
        notice = notices[0]
        if notice.kind == "mo" and notice.mo is not None:
            mo = notice.mo
            incoming: dict[str, object] = {
                "event_id": notice.event_id,
                "type": "incoming",
                "incoming": {
                    "id": mo.id,
                    "from": "+" + mo.phone,
                    "to": mo.to,
                    "text": mo.text,
                    "received_at": iso(mo.received_at),
                },
            }
            body = _encode(incoming)
        else:
            assert notice.message is not None and notice.event is not None
            event, message = notice.event, notice.message
            out = message_out(message)
            # The Struct the OpenAPI document describes, encoded as it is (a dict of its fields
            # made per callback cost more); the event's time is the message's updated_at, as
            # the claim renders it (rules.as_of), so it is formatted once.
            body = _encode(
                StatusCallback(
                    event_id=notice.event_id,
                    type="status",
                    status=event.status,  # a StrEnum: encoded as its value
                    error=event.error_code,
                    carrier_error=event.carrier_error,  # the carrier's raw code, if any
                    at=out.updated_at if event.at == message.updated_at else iso(event.at),
                    message=out,
                )
            )
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "X-Smsgate-Event-Id": notice.event_id,
            "X-Smsgate-Timestamp": timestamp,
        }
        secret = account.settings.get("callback_secret")
        if isinstance(secret, str) and secret:
            headers["X-Smsgate-Signature"] = sign(secret, timestamp, body)
        return CallbackRequest(url=url, headers=headers, body=body)
