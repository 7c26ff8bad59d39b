"""Kcell SMSGW2 REST v2 (seed: kcell-smsgw2-rest.txt): HTTP Basic, JSON, numeric ids."""

from __future__ import annotations

from ..base import Dialect
from .callbacks import Smsgw2Callbacks
from .routes import routes

dialect = Dialect(
    name="smsgw2",
    routes=routes,
    callbacks=Smsgw2Callbacks(),
    description="Kcell SMSGW2 REST v2",
)
