"""The northbound seam: what a dialect provides to the application (its routes) and to the
notifier (its callback policy, whose base class is the engine's: `engine.callbacks`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..engine.callbacks import CallbackPolicy

if TYPE_CHECKING:
    from starlette.routing import BaseRoute

    from ..engine.gateway import Gateway
    from .asgi import FastRoutes


@dataclass
class Dialect:
    """A dialect: its name, its routes (built against the gateway) and its callback policy."""

    name: str
    routes: Callable[[Gateway], list[BaseRoute]]
    callbacks: CallbackPolicy | None = None
    description: str = ""
    # Bare ASGI handlers for the few routes a load hits per message, served before routing.
    fast_routes: Callable[[Gateway], FastRoutes] | None = None
    extra: dict[str, object] = field(default_factory=dict)
