"""SMSC.ru (smsc.ru): send.php, status.php, balance.php, and the client-handler callbacks."""

from __future__ import annotations

from ..base import Dialect
from .callbacks import SmscCallbacks
from .routes import routes

dialect = Dialect(
    name="smsc", routes=routes, callbacks=SmscCallbacks(), description="SMSC.ru HTTP API"
)
