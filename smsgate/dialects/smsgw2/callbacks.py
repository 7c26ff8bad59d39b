"""SMSGW2 pushes: `{"delivery_report": [...]}` for final statuses, `{"incoming_report": [...]}`
for incoming SMS, optionally with HTTP Basic auth; accepted only on 204, or 200/201 with "OK".
"""

from __future__ import annotations

import base64
from collections.abc import Sequence

import msgspec

from ...core.models import Account, Notice
from ...engine.callbacks import CallbackPolicy, CallbackRequest, Verdict
from .render import delivery_report, incoming_report
from .settings import options

MAX_BATCH = 100  # reports per request; the seed's arrays have no stated bound


def basic_auth(account: Account) -> str | None:
    opts = options(account)
    user = opts.get("callback_user")
    if not user:
        return None
    token = f"{user}:{opts.get('callback_password', '')}".encode()
    return "Basic " + base64.b64encode(token).decode("ascii")


class Smsgw2Callbacks(CallbackPolicy):
    wants_mo = True
    mo_on_dr_url = True  # MO goes to 'smsgw2.mo' when configured, else to the DR URL

    def max_batch(self, account: Account) -> int:
        return MAX_BATCH

    def render(self, notices: Sequence[Notice], url: str, account: Account) -> CallbackRequest:
        if notices[0].kind == "mo":
            body = msgspec.json.encode(
                {"incoming_report": [incoming_report(n.mo, account) for n in notices if n.mo]}
            )
        else:
            body = msgspec.json.encode(
                {
                    "delivery_report": [
                        delivery_report(n.event, n.message, account)
                        for n in notices
                        if n.event is not None and n.message is not None
                    ]
                }
            )
        headers = {"Content-Type": "application/json"}
        auth = basic_auth(account)
        if auth:
            headers["Authorization"] = auth
        return CallbackRequest(url=url, headers=headers, body=body)

    def verdict(self, status: int, body: bytes) -> Verdict:
        """204, or 200/201 whose body is OK (spaces, a newline or JSON quotes tolerated)."""
        if status == 204:
            return "ok"
        if status in (200, 201) and body.strip().strip(b'"').strip().upper() == b"OK":
            return "ok"
        return "retry"
