"""SMPP as a northbound dialect: clients bind to smsgate as to any SMSC. No HTTP routes: the SMPP
server (`server.py`) listens on its own port, beside the engine; `callbacks.py` is the policy
that carries receipts and incoming SMS to the binds. The PDU codec and the session it builds on
are `smsgate.smpp`."""

from __future__ import annotations

from ..base import Dialect
from .callbacks import SmppCallbacks

dialect = Dialect(
    name="smpp",
    routes=lambda gateway: [],
    callbacks=SmppCallbacks(),
    description="SMPP 3.4 binds (receipts and MO as deliver_sm)",
)
