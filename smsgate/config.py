"""Configuration: a TOML file, then SMSGATE_* environment variables, then command-line flags.

Nested keys use a double underscore in the environment: SMSGATE_SIMULATOR__DR_DELAY=0.5.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

import msgspec

from .connectors.simulator import SimulatorConfig
from .connectors.smpp import SmppClientConfig
from .core.urls import Network, parse_networks
from .core.validate import Limits
from .dialects.msghub.settings import MsgHubConfig
from .dialects.smpp.server import SmppServerConfig


class DispatcherConfig(msgspec.Struct, kw_only=True):
    batch: int = 500
    poll: float = 0.02
    lease: float = 60.0  # a dead node's claims go to the others after this long
    max_inflight: int = 4
    # Shared database: how often an idle dispatcher looks for due schedules and lapsed leases
    # (new messages wake it at once through LISTEN/NOTIFY).
    idle_poll: float = 1.0


class NotifierConfig(msgspec.Struct, kw_only=True):
    poll: float = 0.1
    concurrency: int = 64
    timeout: float = 10.0
    # A callback claimed by a node that dies is sent by another after this long (at least once).
    lease: float = 120.0
    # Scale every dialect's retry delays (tests use a small factor; the policy stays the seed's).
    delay_scale: float = 1.0
    # With several workers, callbacks go out from a process of their own (the engine keeps only
    # the deliver_sm to its SMPP binds): their HTTP work no longer competes with dispatching.
    own_process: bool = True


class CallbacksConfig(msgspec.Struct, kw_only=True):
    # Networks (CIDRs) callbacks may go to beside public addresses. By default no loopback,
    # private, link-local, unique-local or multicast address is a callback target
    # (docs/operations.md, "Callback targets").
    allow_networks: list[str] = msgspec.field(default_factory=list)

    def __post_init__(self) -> None:
        parse_networks(self.allow_networks)  # a bad CIDR is a configuration error, named

    def networks(self) -> tuple[Network, ...]:
        return parse_networks(self.allow_networks)


class RetentionConfig(msgspec.Struct, kw_only=True):
    # Callbacks already delivered (or given up) and settled connector-log lines are deleted after
    # this many days; messages and their status history are kept.
    outbox_days: float = 7.0
    purge_every: float = 300.0  # seconds between purges


class Config(msgspec.Struct, kw_only=True):
    database: str = "sqlite:///var/smsgate.db"
    host: str = "127.0.0.1"
    port: int = 8080
    workers: int = 0  # 0: one per CPU core
    log_level: str = "info"
    log_format: Literal["text", "json"] = "text"  # json: one object per line (docs/operations.md)
    # One line per HTTP request (smsgate.access). None: on when log_format is "json".
    access_log: bool | None = None
    max_body: int = 16 * 1024 * 1024
    # Seconds a connection has to send a complete request head (from its start, or from the
    # first byte of a later request), and an idle keep-alive connection is kept.
    header_timeout: Annotated[float, msgspec.Meta(gt=0)] = 10.0
    keep_alive_timeout: Annotated[float, msgspec.Meta(gt=0)] = 30.0
    # Proxies whose X-Forwarded-For/-Proto are believed ("10.0.0.1,10.0.0.2" or "*"). Empty:
    # none, so a client cannot pick its own address past an IP allow-list.
    forwarded_allow_ips: str = ""
    sqlite_synchronous: str = "FULL"
    connector: str = "simulator"  # or "smpp": the SMPP client of [smpp_client]
    dialects: list[str] = msgspec.field(default_factory=list)  # empty: all
    limits: Limits = msgspec.field(default_factory=Limits)
    simulator: SimulatorConfig = msgspec.field(default_factory=SimulatorConfig)
    dispatcher: DispatcherConfig = msgspec.field(default_factory=DispatcherConfig)
    notifier: NotifierConfig = msgspec.field(default_factory=NotifierConfig)
    callbacks: CallbacksConfig = msgspec.field(default_factory=CallbacksConfig)
    retention: RetentionConfig = msgspec.field(default_factory=RetentionConfig)
    msghub: MsgHubConfig = msgspec.field(default_factory=MsgHubConfig)
    smpp: SmppServerConfig = msgspec.field(default_factory=SmppServerConfig)
    smpp_client: SmppClientConfig = msgspec.field(default_factory=SmppClientConfig)

    def worker_count(self) -> int:
        return self.workers if self.workers > 0 else (os.cpu_count() or 1)

    def store_options(self) -> dict[str, Any]:
        """open_store's options for a serving process. With fewer workers than cores, a core is
        spare for the SQLite flush thread (smsgate/store/_sqlite_writer.py)."""
        return {
            "synchronous": self.sqlite_synchronous,
            "flush_on_loop": self.worker_count() >= (os.cpu_count() or 1),
        }


def _set(tree: dict[str, Any], path: list[str], value: str) -> None:
    for key in path[:-1]:
        tree = tree.setdefault(key, {})
    tree[path[-1]] = value


def load(
    path: str | Path | None = None, env: dict[str, str] | None = None, **overrides: Any
) -> Config:
    raw: dict[str, Any] = {}
    if path:
        with open(path, "rb") as f:
            raw = tomllib.load(f)
    env = dict(os.environ) if env is None else env
    for key, value in env.items():
        if key.startswith("SMSGATE_") and key != "SMSGATE_CONFIG":
            _set(raw, key[len("SMSGATE_") :].lower().split("__"), value)
    for key, value in overrides.items():
        if value is not None:
            raw[key] = value
    try:
        return msgspec.convert(raw, Config, strict=False)
    except msgspec.ValidationError as exc:
        raise ValueError(f"bad configuration: {exc}") from None
