"""What the console knows of southbound routing in this process: the connectors a route may
name, the default route, each HTTP upstream as it may be shown (never its credentials or its
dr_url's token) and, where this process runs the engine's Router, its breakers. Built once by
`smsgate.app.admin_context` (`routing_setup`) and kept in the AdminContext."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from ..connectors.base import Connector
from ..connectors.http.settings import UpstreamConfig
from ..engine.upstreams import Router

# A connector's breaker now: True open, False closed, None: not known in this process
BreakerState = Callable[[str], bool | None]


def _unknown(name: str) -> bool | None:
    return None


@dataclass(frozen=True)
class UpstreamView:
    """An upstream as the console shows it: `host` is the API URL's host[:port] alone."""

    name: str
    kind: str
    host: str


@dataclass(frozen=True)
class RoutingSetup:
    """`connectors`: what routes may name, the built-in connector first (the default route's
    connector when no rule matches); `default_route`: [routing] default_route."""

    connectors: tuple[str, ...] = ("simulator",)
    default_route: str = ""
    upstreams: tuple[UpstreamView, ...] = ()
    breaker: BreakerState = field(default=_unknown)

    @property
    def default(self) -> str:
        return self.connectors[0]


def upstream_view(upstream: UpstreamConfig) -> UpstreamView:
    try:
        parts = urlsplit(upstream.url)
        host = parts.hostname or ""
        host = f"[{host}]" if ":" in host else host  # an IPv6 address, as a URL writes it
        host = f"{host}:{parts.port}" if parts.port else host
    except ValueError:  # a URL the connector cannot use either: show no part of it
        host = ""
    return UpstreamView(name=upstream.name, kind=upstream.kind, host=host)


def routing_setup(
    builtin: str,
    default_route: str,
    upstreams: Sequence[UpstreamConfig],
    connector: Connector | None,
) -> RoutingSetup:
    """From the configuration and the engine's connector (a Router when there are upstreams;
    None in a process without the engine: breakers then unknown)."""
    breaker: BreakerState = _unknown
    if isinstance(connector, Router):
        router = connector

        def breaker(name: str) -> bool | None:
            if name not in router.connectors:
                return None
            return router.breaker_is_open(name, time.time())

    return RoutingSetup(
        connectors=(builtin, *(u.name for u in upstreams)),
        default_route=default_route,
        upstreams=tuple(upstream_view(u) for u in upstreams),
        breaker=breaker,
    )
