"""Webcom Mobi (lk.mysmpp.ru) A2P API: JSON and XML, login/password or token in the body."""

from __future__ import annotations

from ..base import Dialect
from .callbacks import MysmppCallbacks
from .routes import routes

dialect = Dialect(
    name="mysmpp",
    routes=routes,
    callbacks=MysmppCallbacks(),
    description="Webcom Mobi (mysmpp) JSON and XML API",
)
