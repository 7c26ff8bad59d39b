"""Configuration: a TOML file, then SMSGATE_* environment variables, then command-line flags.

Every layer is checked against the settings' structs before anything runs: an unknown key is an
error that names it and the nearest valid one, and types, ranges and enums are checked by
msgspec (`forbid_unknown_fields`, `Literal`, `Meta`). Each value remembers where it was set
(`load_with_sources`), for errors and for `smsgate config check`.

Nested keys use a double underscore in the environment: SMSGATE_SIMULATOR__DR_DELAY=0.5. A list
setting takes a JSON array or a comma-separated string: SMSGATE_DIALECTS=msghub,smsc.
"""

from __future__ import annotations

import difflib
import os
import re
import tomllib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Annotated, Any, Literal, get_args, get_origin, get_type_hints
from urllib.parse import urlsplit, urlunsplit

import msgspec
import msgspec.inspect as mi

from .admin.settings import AdminConfig
from .connectors.http.settings import UpstreamConfig
from .connectors.simulator import SimulatorConfig
from .connectors.smpp import SmppClientConfig
from .core.bounds import Count, Delay, ListenPort, Seconds
from .core.routing import PUSH_TOKEN_MIN, BreakerPolicy, push_token
from .core.urls import Network, parse_networks
from .core.validate import Limits
from .dialects import NAMES as DIALECT_NAMES
from .dialects.msghub.settings import MsgHubConfig
from .dialects.smpp.server import SmppServerConfig


class DispatcherConfig(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    batch: Count = 500
    poll: Seconds = 0.02
    lease: Seconds = 60.0  # a dead node's claims go to the others after this long
    max_inflight: Count = 4
    # The longest an idle dispatcher waits before it looks for due schedules, releases and
    # lapsed leases (new messages wake it at once: accepts, LISTEN/NOTIFY); its waits start at
    # `poll` after work and double up to this (smsgate/engine/idle.py).
    idle_poll: Seconds = 1.0


class NotifierConfig(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    poll: Seconds = 0.1
    # The longest an idle notifier waits before it looks for retries coming due (queued
    # callbacks wake it at once); its waits start at `poll` and double up to this.
    idle_poll: Seconds = 1.0
    concurrency: Count = 64
    timeout: Seconds = 10.0
    # A callback claimed by a node that dies is sent by another after this long (at least once).
    lease: Seconds = 120.0
    # Scale every dialect's retry delays (tests use a small factor; the policy stays the seed's).
    delay_scale: Delay = 1.0
    # With several workers, callbacks go out from a process of their own (the engine keeps only
    # the deliver_sm to its SMPP binds): their HTTP work no longer competes with dispatching.
    own_process: bool = True


class CallbacksConfig(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    # Networks (CIDRs) callbacks may go to beside public addresses. By default no loopback,
    # private, link-local, unique-local or multicast address is a callback target
    # (docs/operations.md, "Callback targets").
    allow_networks: list[str] = msgspec.field(default_factory=list)

    def __post_init__(self) -> None:
        parse_networks(self.allow_networks)  # a bad CIDR is a configuration error, named

    def networks(self) -> tuple[Network, ...]:
        return parse_networks(self.allow_networks)


class RetentionConfig(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    # Callbacks already delivered (or given up) and settled connector-log lines are deleted after
    # this many days; messages and their status history are kept.
    outbox_days: Delay = 7.0
    purge_every: Seconds = 300.0  # seconds between purges


class RoutingConfig(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    # The route of a message no rule matches; "": the `connector` (simulator or smpp) alone.
    default_route: str = ""
    reload: Seconds = 5.0  # seconds between reloads of the routing table from the database
    # A message every connector of its route refused with a retryable error (or whose every
    # breaker is open) is queued again for this long, until it expires (docs/routing.md).
    retry_delay: Seconds = 5.0
    breaker: BreakerPolicy = msgspec.field(default_factory=BreakerPolicy)


class Config(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    database: str = "sqlite:///var/smsgate.db"
    host: str = "127.0.0.1"
    port: ListenPort = 8080
    # The console and admin API (/admin) on a listener of their own, "host:port" (for example
    # "127.0.0.1:8081"), so that they need not face the internet. Empty: on the main listener.
    admin_listen: str = ""
    workers: Annotated[int, msgspec.Meta(ge=0)] = 0  # 0: one per CPU core
    # "auto": with fewer workers than CPUs, the engine runs in a process of its own pinned to
    # one CPU and the workers to the others (server.py, docs/operations.md "Processes").
    pin_engine: Literal["auto", "off"] = "off"
    log_level: Literal["critical", "error", "warning", "info", "debug"] = "info"
    log_format: Literal["text", "json"] = "text"  # json: one object per line (docs/operations.md)
    # One line per HTTP request (smsgate.access). None: on when log_format is "json".
    access_log: bool | None = None
    max_body: Count = 16 * 1024 * 1024
    # Seconds a connection has to send a complete request head (from its start, or from the
    # first byte of a later request), and an idle keep-alive connection is kept.
    header_timeout: Seconds = 10.0
    keep_alive_timeout: Seconds = 30.0
    # Proxies whose X-Forwarded-For/-Proto are believed ("10.0.0.1,10.0.0.2" or "*"). Empty:
    # none, so a client cannot pick its own address past an IP allow-list.
    forwarded_allow_ips: str = ""
    # FULL: the WAL is fsynced by smsgate after each group commit (power-loss safe).
    sqlite_synchronous: Literal["OFF", "NORMAL", "FULL", "EXTRA"] = "FULL"
    connector: Literal["simulator", "smpp"] = "simulator"  # smpp: the client of [smpp_client]
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
    admin: AdminConfig = msgspec.field(default_factory=AdminConfig)
    # HTTP upstreams ([[upstreams]]) and how messages are routed to them (docs/routing.md).
    upstreams: list[UpstreamConfig] = msgspec.field(default_factory=list)
    routing: RoutingConfig = msgspec.field(default_factory=RoutingConfig)

    def admin_address(self) -> tuple[str, int] | None:
        """`admin_listen` as (host, port); None: the console is on the main listener."""
        if not self.admin_listen:
            return None
        host, _, port = self.admin_listen.rpartition(":")
        return host.strip("[]") or self.host, int(port)

    def worker_count(self) -> int:
        return self.workers if self.workers > 0 else (os.cpu_count() or 1)

    def store_options(self) -> dict[str, Any]:
        """open_store's options for a serving process. With fewer workers than cores, a core is
        spare for the SQLite flush thread (smsgate/store/_sqlite_writer.py). Its accepts wake
        its own node's dispatcher (through the process or the engine's pipe), not every node's
        on PostgreSQL."""
        return {
            "synchronous": self.sqlite_synchronous,
            "flush_on_loop": self.worker_count() >= (os.cpu_count() or 1),
            "wake_nodes": False,
        }

    def notifier_store_options(self) -> dict[str, Any]:
        """open_store's options for the notifier process: its commits are not flushed (FULL
        becomes NORMAL there). It writes only the outbox's leases and marks, whose loss in a
        power cut sends a callback once more (the client dedupes on its event id, as after
        any crash before a done mark); a kill -9 loses none (the WAL is in the OS's cache),
        and the next flushed commit of another process makes them durable with its own."""
        options = self.store_options()
        if options["synchronous"] == "FULL":
            options["synchronous"] = "NORMAL"
        return options


class ConfigError(ValueError):
    """A configuration smsgate refuses, in one line: the setting, where it was set, why."""


ENV_PREFIX = "SMSGATE_"
# SMSGATE_* variables that are not settings: the config file's path, compose.yaml's published
# port, and the test suite's own. Any other SMSGATE_* variable must name a setting.
NOT_SETTINGS = frozenset({"SMSGATE_CONFIG", "SMSGATE_HTTP_PORT"})
NOT_SETTINGS_PREFIX = "SMSGATE_TEST_"

Sources = dict[str, str]  # dotted key -> where its value was set ("env SMSGATE_PORT", ...)


@dataclass(frozen=True)
class Origin:
    """Where a layer of settings comes from, and how that place spells a key."""

    kind: Literal["file", "env", "flag"]
    name: str  # the file's path, the variable, the flag

    def __str__(self) -> str:
        return f"{self.kind} {self.name}"

    def spell(self, path: tuple[str, ...]) -> str:
        if self.kind == "env":
            return ENV_PREFIX + "__".join(path).upper()
        return ".".join(path)


def load(
    path: str | Path | None = None, env: Mapping[str, str] | None = None, **overrides: Any
) -> Config:
    """The configuration from `path` (TOML), `env` (os.environ by default) and `overrides`
    (command-line flags; None: not given). ConfigError says what is wrong, in one line."""
    return load_with_sources(path, env, **overrides)[0]


def load_with_sources(
    path: str | Path | None = None, env: Mapping[str, str] | None = None, **overrides: Any
) -> tuple[Config, Sources]:
    """`load`, and where each value that is not a default came from."""
    raw: dict[str, Any] = {}
    sources: Sources = {}
    layers: list[tuple[dict[str, Any], Origin]] = []
    if path:
        layers.append((_read_toml(path), Origin("file", str(path))))
    env = os.environ if env is None else env
    for name in sorted(env):
        if name.upper().startswith(ENV_PREFIX) and not _not_a_setting(name):
            keys = name[len(ENV_PREFIX) :].lower().split("__")
            layers.append((_nest(keys, env[name]), Origin("env", name)))
    for key, value in overrides.items():
        if value is not None:
            layers.append(({key: value}, Origin("flag", f"--{key.replace('_', '-')}")))
    for tree, origin in layers:
        for setting in _checked(tree, _config_type(), (), origin):
            sources[".".join(setting)] = str(origin)
        _merge(raw, tree)
    try:
        config = msgspec.convert(raw, Config, strict=False)
    except msgspec.ValidationError as exc:
        raise _explained(exc, raw, sources) from None
    _check_dialects(config, sources)
    _check_admin_listen(config, sources)
    _check_upstreams(config, sources)
    return config, sources


def _not_a_setting(name: str) -> bool:
    upper = name.upper()
    return upper in NOT_SETTINGS or upper.startswith(NOT_SETTINGS_PREFIX)


def _read_toml(path: str | Path) -> dict[str, Any]:
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None


def _nest(keys: list[str], value: Any) -> dict[str, Any]:
    tree: dict[str, Any] = {keys[-1]: value}
    for key in reversed(keys[:-1]):
        tree = {key: tree}
    return tree


def _merge(into: dict[str, Any], tree: Mapping[str, Any]) -> None:
    """A later layer over an earlier one: tables merge key by key, anything else replaces."""
    for key, value in tree.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = value


@cache
def _config_type() -> mi.StructType:
    info = mi.type_info(Config)
    assert isinstance(info, mi.StructType)
    return info


def _struct_of(kind: mi.Type) -> mi.StructType | None:
    return kind if isinstance(kind, mi.StructType) else None


def _checked(
    tree: dict[str, Any], struct: mi.StructType, prefix: tuple[str, ...], origin: Origin
) -> Iterator[tuple[str, ...]]:
    """The keys `tree` sets, each checked to be a setting; values made what their type takes
    (enum values in any case, environment lists). Raises ConfigError at an unknown key."""
    fields = {f.encode_name: f.type for f in struct.fields}
    for key, value in tree.items():
        path = (*prefix, key)
        kind = fields.get(key)
        if kind is None:
            raise ConfigError(_unknown(path, origin))
        inner = _struct_of(kind)
        if inner is not None and isinstance(value, dict):
            yield from _checked(value, inner, path, origin)
            continue
        if isinstance(value, dict) and origin.kind == "env":  # SMSGATE_PORT__X: no such key
            raise ConfigError(_unknown((*path, *_first_path(value)), origin))
        tree[key] = _coerced(value, kind, origin)
        yield path


def _first_path(tree: dict[str, Any]) -> tuple[str, ...]:
    key, value = next(iter(tree.items()))
    return (key, *_first_path(value)) if isinstance(value, dict) else (key,)


def _coerced(value: Any, kind: mi.Type, origin: Origin) -> Any:
    """An enum value in its canonical case; a list from an environment string."""
    if not isinstance(value, str):
        return value
    if isinstance(kind, mi.LiteralType):
        by_case = {str(v).lower(): v for v in kind.values}
        return by_case.get(value.lower(), value)
    if origin.kind == "env" and _takes_list(kind):
        return _env_list(value)
    return value


def _takes_list(kind: mi.Type) -> bool:
    if isinstance(kind, mi.UnionType):
        return any(_takes_list(t) for t in kind.types)
    return isinstance(kind, mi.ListType | mi.SetType | mi.FrozenSetType | mi.VarTupleType)


def _env_list(value: str) -> Any:
    """`["a", "b"]` (JSON) or `a,b` (items stripped, empty ones dropped; "" is the empty list)."""
    if value.lstrip().startswith("["):
        try:
            return msgspec.json.decode(value)
        except msgspec.DecodeError:
            return value  # left for msgspec to refuse as not a list
    return [item.strip() for item in value.split(",") if item.strip()]


def _all_keys(struct: mi.StructType, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    for f in struct.fields:
        path = (*prefix, f.encode_name)
        yield path
        inner = _struct_of(f.type)
        if inner is not None:
            yield from _all_keys(inner, path)


def _unknown(path: tuple[str, ...], origin: Origin) -> str:
    where = f" ({origin})" if origin.kind == "file" else ""
    message = f"configuration: unknown setting {origin.spell(path)}{where}"
    nearest = _nearest(path)
    return message + (f"; did you mean {origin.spell(nearest)}?" if nearest else "")


def _nearest(path: tuple[str, ...]) -> tuple[str, ...] | None:
    """The valid key nearest to a mistyped one: a sibling first, then the same name in another
    table (`dr_delay` at the top: `simulator.dr_delay`), then any key."""
    keys = list(_all_keys(_config_type()))
    siblings = [k for k in keys if k[:-1] == path[:-1]]
    found = difflib.get_close_matches(path[-1], [k[-1] for k in siblings], n=1, cutoff=0.6)
    if found:
        return (*path[:-1], found[0])
    same_name = [k for k in keys if k[-1] == path[-1]]
    if same_name:
        return same_name[0]
    dotted = {".".join(k): k for k in keys}
    found = difflib.get_close_matches(".".join(path), list(dotted), n=1, cutoff=0.6)
    return dotted[found[0]] if found else None


_AT = re.compile(r"^(?P<why>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.DOTALL)


def _explained(exc: msgspec.ValidationError, raw: dict[str, Any], sources: Sources) -> ConfigError:
    """msgspec's "Expected `int`, got `str` - at `$.port`" as one line that names the setting,
    its value (masked if a secret), where it was set and, for an enum, the values allowed."""
    match = _AT.match(str(exc))
    assert match is not None  # the pattern matches any text
    why, at = match["why"], match["path"] or ""
    # `$.upstreams[0].kind`: the index is kept (upstreams.0.kind), so that the value shown
    # is the one entry's field, never the whole list with its secrets
    path = tuple(p for p in re.split(r"\.|\[(\d+)\]", at) if p)
    if not path:
        return ConfigError(f"configuration: {why}")
    allowed = _literal_values(path)
    if allowed is not None:
        why = "not one of " + ", ".join(f"{v!r}" for v in allowed)
    return _refusal(path, _value_at(raw, path), _source_of(path, sources), why)


def _refusal(path: tuple[str, ...], value: Any, source: str, why: str) -> ConfigError:
    key = ".".join(path)
    table = isinstance(value, dict) or (
        isinstance(value, list) and any(isinstance(v, dict) for v in value)
    )
    shown = "" if value is _MISSING or table else f" = {mask(key, value)!r}"
    return ConfigError(f"configuration: {key}{shown} ({source}): {why}")


_MISSING = object()


def _value_at(raw: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        if isinstance(raw, list) and key.isdigit() and int(key) < len(raw):
            raw = raw[int(key)]
        elif isinstance(raw, dict) and key in raw:
            raw = raw[key]
        else:
            return _MISSING
    return raw


def _source_of(path: Sequence[str], sources: Sources) -> str:
    """Where `path` was set: itself, else the key under it or above it that was."""
    key = ".".join(path)
    if key in sources:
        return sources[key]
    for other, source in sources.items():
        if other.startswith(key + ".") or key.startswith(other + "."):
            return source
    return "default"


def _literal_values(path: tuple[str, ...]) -> tuple[Any, ...] | None:
    """The values an enum setting allows, in the order its type lists them (None: no enum)."""
    struct: mi.StructType | None = _config_type()
    for key in path[:-1]:
        if key.isdigit():  # an entry of a list of tables ([[upstreams]]): its struct, above
            continue
        found = {f.encode_name: f.type for f in struct.fields}.get(key) if struct else None
        if isinstance(found, mi.ListType):
            found = found.item_type
        struct = _struct_of(found) if found is not None else None
    if struct is None:
        return None
    kind = get_type_hints(struct.cls, include_extras=False).get(path[-1])
    return get_args(kind) if get_origin(kind) is Literal else None


def _check_dialects(config: Config, sources: Sources) -> None:
    for name in config.dialects:
        if name not in DIALECT_NAMES:
            nearest = difflib.get_close_matches(name, DIALECT_NAMES, n=1, cutoff=0.6)
            hint = f"; did you mean {nearest[0]!r}?" if nearest else ""
            why = f"no dialect {name!r} (dialects: {', '.join(DIALECT_NAMES)}){hint}"
            raise _refusal(("dialects",), config.dialects, _source_of(("dialects",), sources), why)


def _check_admin_listen(config: Config, sources: Sources) -> None:
    """`admin_listen` is host:port, with a port other than the main listener's."""
    if not config.admin_listen:
        return
    port = config.admin_listen.rpartition(":")[2]
    why = None
    if not port.isdigit() or not 0 <= int(port) <= 65535:
        why = "not host:port (for example 127.0.0.1:8081)"
    elif int(port) and int(port) == config.port:
        why = f"the port is the main listener's ({config.port}): pick another"
    if why is not None:
        source = _source_of(("admin_listen",), sources)
        raise _refusal(("admin_listen",), config.admin_listen, source, why)


def _check_upstreams(config: Config, sources: Sources) -> None:
    """Upstream names are unique and not the built-in connectors' (routes name them all); a
    `dr_url` carries the token its pushes are authenticated by."""
    seen = {"simulator", config.smpp_client.name}
    for i, upstream in enumerate(config.upstreams):
        if upstream.name in seen:
            path = ("upstreams", str(i), "name")
            why = f"the connector name {upstream.name!r} is taken"
            raise _refusal(path, upstream.name, _source_of(("upstreams",), sources), why)
        seen.add(upstream.name)
        if upstream.dr_url and not upstream.dr_secret and push_token(upstream.dr_url) is None:
            path = ("upstreams", str(i), "dr_url")
            why = (
                f"needs ?token= with at least {PUSH_TOKEN_MIN} random characters (or a "
                f"dr_secret the provider signs pushes with): pushes to "
                f"/upstream/{upstream.name}/dr must carry it (docs/routing.md)"
            )
            raise _refusal(path, upstream.dr_url, _source_of(("upstreams",), sources), why)


# `smsgate config check` -------------------------------------------------------------------------
_SECRET_KEY = re.compile(r"(?:^|[._])(?:password|passwd|secret|token|api_?key)$")
_SECRET_QUERY = re.compile(r"(?i)((?:^|&)(?:password|passwd|secret|token)=)[^&]*")
MASK = "***"


def mask(key: str, value: Any) -> Any:
    """A value as it may be shown: a secret setting's as ***, a URL's password as ***."""
    if not isinstance(value, str) or not value:
        return value
    if _SECRET_KEY.search(key):
        return MASK
    if "://" in value:
        return _mask_url(value)
    return value


def _mask_url(url: str) -> str:
    try:
        parts = urlsplit(url)
        has_password = parts.password is not None
    except ValueError:
        return url
    netloc = parts.netloc
    if has_password:
        userinfo, _, hostport = netloc.rpartition("@")
        netloc = f"{userinfo.partition(':')[0]}:{MASK}@{hostport}"
    query = _SECRET_QUERY.sub(lambda m: m.group(1) + MASK, parts.query)
    return urlunsplit(parts._replace(netloc=netloc, query=query))


def describe(config: Config, sources: Sources) -> list[str]:
    """Every setting, one line each: `key = value  # source` (JSON values, secrets masked)."""
    rows = [
        (key, msgspec.json.encode(mask(key, value)).decode(), _source_of(key.split("."), sources))
        for key, value in _leaves(config)
    ]
    width = min(max(len(k) + len(v) for k, v, _ in rows) + 3, 60)
    return [f"{f'{k} = {v}':<{width}}  # {s}" for k, v, s in rows]


def _leaves(struct: msgspec.Struct, prefix: str = "") -> Iterator[tuple[str, Any]]:
    for name in struct.__struct_fields__:
        value = getattr(struct, name)
        if isinstance(value, msgspec.Struct):
            yield from _leaves(value, f"{prefix}{name}.")
        elif isinstance(value, list) and value and isinstance(value[0], msgspec.Struct):
            for i, item in enumerate(value):  # [[upstreams]]: each one's secrets masked alone
                yield from _leaves(item, f"{prefix}{name}.{i}.")
        else:
            yield f"{prefix}{name}", value
