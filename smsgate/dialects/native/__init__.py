"""smsgate's own JSON API (Bearer tokens, OpenAPI, signed callbacks)."""

from __future__ import annotations

from ..base import Dialect
from .callbacks import NativeCallbacks
from .routes import fast_routes, routes

dialect = Dialect(
    name="native",
    routes=routes,
    callbacks=NativeCallbacks(),
    description="smsgate native API",
    fast_routes=fast_routes,
)
