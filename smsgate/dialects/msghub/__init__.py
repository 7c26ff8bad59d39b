"""Beeline MsgHub JSONv2: /msghub/api/{client_id}/json2/..., DR pull and DR push."""

from __future__ import annotations

from ..base import Dialect
from .callbacks import MsgHubCallbacks
from .routes import routes

dialect = Dialect(
    name="msghub",
    routes=routes,
    callbacks=MsgHubCallbacks(),
    description="Beeline MsgHub JSONv2",
)
