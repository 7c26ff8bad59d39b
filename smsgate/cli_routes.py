"""`smsgate routes import|list|test` and `smsgate upstreams balance` (docs/routing.md).

Registered on the main group by cli.py (`register`), which hands over how to read the
configuration and how to run a function on the store: this module imports nothing of cli.py.
"""

from __future__ import annotations

import asyncio
import time
import tomllib
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click
import msgspec

from .core import phone as phones
from .core.money import format_amount, from_micros
from .core.routing import (
    Destination,
    Route,
    RoutingTable,
    Rule,
    destination,
    parse_table,
    table_errors,
)
from .core.routing_views import explain_route

if TYPE_CHECKING:
    from .config import Config

T = TypeVar("T")
ConfigOf = Callable[[click.Context], "Config"]
RunOn = Callable[[click.Context, Callable[[Any], Awaitable[Any]]], Any]


def connector_names(config: Config) -> list[str]:
    """What routes may name: the built-in connector (the default route) and each upstream."""
    builtin = config.smpp_client.name if config.connector == "smpp" else "simulator"
    return [builtin, *(u.name for u in config.upstreams)]


def read_table(path: str, config: Config) -> RoutingTable:
    """The routing table in a TOML file, checked against the configured connectors."""
    try:
        with open(path, "rb") as f:
            table = parse_table(tomllib.load(f))
    except (OSError, tomllib.TOMLDecodeError, ValueError, msgspec.ValidationError) as exc:
        raise click.ClickException(f"{path}: {exc}") from None
    errors = table_errors(table, connector_names(config))
    if errors:
        raise click.ClickException(f"{path}: " + "; ".join(errors))
    return table


def describe_rule(rule: Rule) -> str:
    parts = [
        f"{label} {','.join(str(v) for v in values)}"
        for label, values in (
            ("country", rule.countries),
            ("prefix", rule.prefixes),
            ("account", rule.accounts),
            ("sender", rule.senders),
            ("dialect", rule.dialects),
        )
        if values
    ]
    if rule.hours:
        parts.append(f"hours {rule.hours} (UTC{rule.utc_offset})")
    return f"{rule.name}: {' '.join(parts) or 'any message'} -> {rule.route}"


def describe_route(route: Route) -> str:
    hops = ", ".join(
        f"{h.connector} (priority {h.priority}, weight {h.weight})" for h in route.connectors
    )
    tps = f", {route.tps} msg/s" if route.tps else ""
    return f"{route.name} [{route.strategy}{tps}]: {hops}"


def describe_table(table: RoutingTable) -> list[str]:
    lines = ["rules (the first that matches wins):"]
    lines += [f"  {i + 1}. {describe_rule(r)}" for i, r in enumerate(table.rules)] or ["  none"]
    lines.append("routes:")
    lines += [f"  {describe_route(r)}" for r in table.routes] or ["  none"]
    lines.append("prices:")
    lines += [
        f"  {p.connector} {p.prefix or p.country or 'any number'}: {from_micros(p.price)!s}"
        for p in table.prices
    ] or ["  none"]
    return lines


def explain(table: RoutingTable, dest: Destination, default: str, default_route: str) -> list[str]:
    """Which rule and route a message takes, and the connectors in the order they are tried
    (`core.routing_views.explain_route`, as the admin API answers it)."""
    choice = explain_route(table, dest, default, default_route)
    lines = [f"number: +{choice.phone} (region {choice.region or 'unknown'})"]
    lines.append(f"rule: {describe_rule(choice.rule) if choice.rule else 'none matches'}")
    if choice.route is None:
        lines.append(f"route: none: the default connector {choice.default}")
        return lines
    lines.append(f"route: {describe_route(choice.route)}")
    for i, hop in enumerate(choice.hops):
        shown = str(from_micros(hop.price)) if hop.price is not None else "unpriced"
        lines.append(
            f"  {i + 1}. {hop.connector} (priority {hop.priority}, weight {hop.weight}, {shown})"
        )
    return lines


def register(main: click.Group, config_of: ConfigOf, run_on: RunOn) -> None:
    """Add `routes` and `upstreams` to the main group."""

    @main.group()
    def routes() -> None:
        """The routing table: which connector sends which message (docs/routing.md)."""

    @routes.command("import")
    @click.argument("file", type=click.Path(exists=True, dir_okay=False))
    @click.pass_context
    def routes_import(ctx: click.Context, file: str) -> None:
        """Make FILE's [[rules]], [[routes]] and [[prices]] the routing table (idempotent:
        the same file again changes nothing; what the file no longer has is removed)."""
        table = read_table(file, config_of(ctx))
        diff = run_on(ctx, lambda store: store.routing_apply(table))
        if diff.empty:
            click.echo("no change")
        for verb, keys in (
            ("added", diff.added),
            ("changed", diff.changed),
            ("removed", diff.removed),
        ):
            for key in keys:
                click.echo(f"{verb} {key}")

    @routes.command("list")
    @click.pass_context
    def routes_list(ctx: click.Context) -> None:
        """The routing table as the engine uses it."""
        table = run_on(ctx, lambda store: store.routing_table())
        for line in describe_table(table):
            click.echo(line)

    @routes.command("test")
    @click.argument("phone")
    @click.option("--account", default=None, help="Account name or id (default: none).")
    @click.option("--sender", default=None)
    @click.option("--dialect", default="native", show_default=True)
    @click.option("--at", "at", default=None, type=float, help="Unix time (default: now).")
    @click.pass_context
    def routes_test(
        ctx: click.Context,
        phone: str,
        account: str | None,
        sender: str | None,
        dialect: str,
        at: float | None,
    ) -> None:
        """Which rule and route a message to PHONE takes, and its connectors in order."""
        config = config_of(ctx)
        try:
            number = phones.normalize(phone)
        except Exception as exc:
            raise click.ClickException(f"{phone!r} is not a phone number: {exc}") from None

        async def look(store: Any) -> tuple[RoutingTable, int]:
            account_id = 0
            if account is not None:
                found = await (
                    store.get_account(int(account))
                    if account.isdigit()
                    else store.account_by_name(account)
                )
                if found is None:
                    raise click.ClickException(f"no account {account!r}")
                account_id = found.id
            return await store.routing_table(), account_id

        table, account_id = run_on(ctx, look)
        dest = destination(
            number, account_id, sender, dialect, at if at is not None else time.time()
        )
        default = connector_names(config)[0]
        for line in explain(table, dest, default, config.routing.default_route):
            click.echo(line)

    @main.group()
    def upstreams() -> None:
        """The HTTP upstreams of [[upstreams]]."""

    @upstreams.command("balance")
    @click.pass_context
    def upstreams_balance(ctx: click.Context) -> None:
        """Each upstream's balance at its provider (as its API tells it)."""
        config = config_of(ctx)
        if not config.upstreams:
            raise click.ClickException("no [[upstreams]] configured")

        async def ask(store: Any) -> list[str]:
            from .app import build_upstreams

            built = build_upstreams(config, store)
            try:
                values = await asyncio.gather(
                    *(c.balance() for c in built.values()), return_exceptions=True
                )
            finally:
                for c in built.values():
                    await c.stop()
            lines = []
            for name, value in zip(built, values, strict=True):
                if isinstance(value, BaseException):
                    lines.append(f"{name}: cannot ask: {type(value).__name__}: {value}"[:200])
                elif value is None:
                    lines.append(f"{name}: its API has no balance")
                else:
                    lines.append(f"{name}: {format_amount(value)}")
            return lines

        for line in run_on(ctx, ask):
            click.echo(line)
