"""SMPP as a northbound dialect: no HTTP routes (the SMPP server listens on its own port), only
the callback policy that carries receipts and incoming SMS to SMPP binds (smsgate.smpp.server)."""

from __future__ import annotations

from ...smpp.callbacks import SmppCallbacks
from ..base import Dialect

dialect = Dialect(
    name="smpp",
    routes=lambda gateway: [],
    callbacks=SmppCallbacks(),
    description="SMPP 3.4 binds (receipts and MO as deliver_sm)",
)
