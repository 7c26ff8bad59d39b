"""Connectors to the five providers' HTTP APIs (docs/upstreams.md), by `UpstreamConfig.kind`."""

from __future__ import annotations

from ...store.base import Store
from .base import HttpConnector, UpstreamConfig
from .msghub import MsgHubConnector
from .mysmpp import MysmppConnector
from .osonsms import OsonSmsConnector
from .smsc import SmscConnector
from .smsgw2 import Smsgw2Connector

# kind -> connector class; each provider's module adds its row here as it lands.
KINDS: dict[str, type[HttpConnector]] = {
    "msghub": MsgHubConnector,
    "smsgw2": Smsgw2Connector,
    "osonsms": OsonSmsConnector,
    "mysmpp": MysmppConnector,
    "smsc": SmscConnector,
}


def build_upstream(config: UpstreamConfig, store: Store) -> HttpConnector:
    """The connector an `[[upstreams]]` entry describes."""
    try:
        cls = KINDS[config.kind]
    except KeyError:
        raise ValueError(
            f"upstream {config.name!r}: kind {config.kind!r} is not built yet"
        ) from None
    return cls(config, store)


__all__ = ["KINDS", "HttpConnector", "UpstreamConfig", "build_upstream"]
