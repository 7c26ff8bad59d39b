"""Receipts and incoming SMS for SMPP binds, through the notifier's durable outbox.

A message submitted over SMPP with registered_delivery set gets the callback URL
``smpp://<account id>``; an account receives incoming SMS on its binds when its
``callback_urls`` has ``smpp.mo`` (or ``smpp``) set to ``smpp://``. The notifier keeps these rows
like any callback; its sender hands ``smpp:`` requests to the SMPP server, which writes
deliver_sm to a receiver or transceiver bind of the account and reports success only when every
deliver_sm_resp came back OK. With no bind, the row is retried every ``receipt_retry`` seconds
for ``receipt_retention`` seconds: receipts wait for the client to come back.
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from ...core.models import Account, Notice
from ...engine.callbacks import CallbackPolicy, CallbackRequest

SCHEME = "smpp:"
_encode = msgspec.json.Encoder().encode


def receipt_url(account_id: int) -> str:
    return f"smpp://{account_id}"


class SmppCallbacks(CallbackPolicy):
    """Retried every `retry` seconds for `retention` seconds ([smpp] receipt_retry and
    receipt_retention; app.py builds the policy from them)."""

    wants_mo = True
    mo_on_dr_url = True

    def __init__(self, *, retry: float = 5.0, retention: float = 3 * 86400.0) -> None:
        super().__init__()
        self.base_delay = max(0.001, retry)
        self.max_attempts = max(1, int(retention / self.base_delay))

    def scaled(self, delay_scale: float) -> SmppCallbacks:
        return self  # the schedule is configuration, not the seed's: nothing to scale

    def max_batch(self, account: Account) -> int:
        return 200

    def render(self, notices: Sequence[Notice], url: str, account: Account) -> CallbackRequest:
        return CallbackRequest(method="SMPP", url=receipt_url(account.id), body=_encode(notices))

    def retry_delay(self, attempts: int) -> float | None:
        # The schedule is configuration ([smpp] receipt_retry), so delay_scale does not apply.
        if attempts >= self.max_attempts:
            return None
        return self.base_delay
