"""What the console's routes work with, built once by `smsgate.admin.app.build_admin_app` and
kept on the admin app's state (`request.app.state.admin`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from starlette.requests import Request

from ..connectors.base import LinkState
from ..core.admin import AdminUser
from ..core.urls import Networks
from ..engine.gateway import Gateway
from ..store.base import Store
from .routing_context import RoutingSetup
from .settings import AdminConfig


def _no_links() -> list[LinkState]:
    return []


@dataclass(frozen=True)
class AdminContext:
    """`store`: the node's store; `gateway`: its gateway (accounts' caches, message reads);
    `settings`: the [admin] section; `links`: the connector's and SMPP server's link states
    now (empty in a process without the engine); `callback_networks`: where callback URLs may
    point beside public addresses ([callbacks] allow_networks); `dialects`: the enabled ones;
    `connector`: the configured connector's name ("simulator", "smpp"); `routing`: the
    connectors routes may name, the upstreams and their breakers (admin/routing_context.py)."""

    store: Store
    gateway: Gateway
    settings: AdminConfig = field(default_factory=AdminConfig)
    links: Callable[[], list[LinkState]] = _no_links
    callback_networks: Networks = ()
    dialects: tuple[str, ...] = ()
    connector: str = "simulator"
    routing: RoutingSetup = field(default_factory=RoutingSetup)
    # Basic credentials verified lately (auth._by_basic): digest -> (admin, until when)
    basic_logins: dict[str, tuple[AdminUser, float]] = field(default_factory=dict)


def context_of(request: Request) -> AdminContext:
    """The console's context, from the admin app this request is served by."""
    context: AdminContext = request.app.state.admin
    return context
