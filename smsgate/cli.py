"""`smsgate`: the front door. init, migrate, serve, accounts, credentials, senders, stop list,
send, status, tail, config check."""

from __future__ import annotations

import asyncio
import os
import re
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, Literal, TypeVar

import click

from .cli_admin import DEMO_ADMIN, demo_admin
from .cli_admin import register as register_admin
from .cli_routes import register as register_routes

T = TypeVar("T")
DEFAULT_DB = "sqlite:///var/smsgate.db"


def _config(ctx: click.Context, **overrides: Any) -> Any:
    """The configuration (--config's file, SMSGATE_*, flags); a mistake is one line, exit 1."""
    from .config import ConfigError, load

    path = ctx.obj.get("config") if ctx.obj else None
    try:
        return load(path, **overrides)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


def _run(
    ctx: click.Context,
    fn: Callable[[Any], Awaitable[T]],
    *,
    create: bool = False,
    schema: Schema = "current",
) -> T:
    """Open the configured store as `open_database` does, run `fn(store)`, close."""
    config = _config(ctx, database=ctx.obj.get("database"))

    async def main() -> T:
        store = await open_database(config.database, create=create, schema=schema)
        try:
            return await fn(store)
        finally:
            await store.close()

    return _one_line(lambda: asyncio.run(main()))


def _one_line(run: Callable[[], T]) -> T:
    """`run()`, with the errors an operator can fix as one line, not a traceback."""
    try:
        return run()
    except Exception as exc:
        from .core.errors import GatewayError
        from .store.base import StoreUnavailable

        if isinstance(exc, GatewayError | ValueError | StoreUnavailable):
            raise click.ClickException(str(exc)) from None
        raise


# What a command needs of the schema: this code's version ("current"), to be brought to it
# ("migrate": init, migrate, serve --migrate), or nothing ("any": migrate --status).
Schema = Literal["current", "migrate", "any"]


async def open_database(
    url: str, *, create: bool = False, schema: Schema = "current", serving: bool = False
) -> Any:
    """The store at `url`, open. Refused (ClickException, one line): an SQLite file that does
    not exist, unless `create`; unless `schema` is "any", a schema newer than this code's, and
    one behind it unless `schema` is "migrate" (which applies the pending migrations). Nothing
    else changes a schema: read-only commands leave even an empty database as it is."""
    from .store import open_store
    from .store.sqlite import SQLiteStore

    store = open_store(url)
    if isinstance(store, SQLiteStore) and not create and not os.path.exists(store.path):
        hint = "`smsgate init` creates it" + (", or `serve --create`" if serving else "")
        raise click.ClickException(f"no database at {store.path} ({hint}); is the path right?")
    await store.open()
    try:
        status = await store.schema_status()
        if schema != "any":
            _refuse_newer(url, status)
        if schema == "migrate" and not status.current:
            await store.migrate()
        elif schema == "current" and not status.current:
            raise click.ClickException(_behind(url, status.version, status.latest, serving))
    except BaseException:
        await store.close()
        raise
    return store


def _refuse_newer(url: str, status: Any) -> None:
    from .config import mask

    if status.newer:
        raise click.ClickException(
            f"{mask('database', url)}: schema version {status.version} is newer than this "
            f"smsgate's ({status.latest}): upgrade smsgate (migrations never go back)"
        )


def _behind(url: str, version: int, latest: int, serving: bool) -> str:
    """What to do about a schema behind this code's."""
    from .config import mask

    shown = mask("database", url)
    also = ", or serve with --migrate" if serving else ""
    if version == 0:
        return f"{shown} has no smsgate schema yet: run `smsgate init`{also}"
    return (
        f"{shown}: schema version {version}, this smsgate needs {latest}: "
        f"run `smsgate migrate`{also}"
    )


async def _account(store: Any, name: str) -> Any:
    account = await store.account_by_name(name)
    if account is None:
        raise click.ClickException(f"no account named {name!r}")
    return account


@click.group()
@click.option(
    "--config",
    "config",
    type=click.Path(dir_okay=False),  # a missing file: one line from config.load
    envvar="SMSGATE_CONFIG",
    help="TOML config file.",
)
@click.option("--database", default=None, help=f"Database URL (default {DEFAULT_DB}).")
@click.version_option(package_name="smsgate", prog_name="smsgate")  # the installed version
@click.pass_context
def main(ctx: click.Context, config: str | None, database: str | None) -> None:
    """smsgate: a self-hosted A2P SMS gateway."""
    ctx.obj = {"config": config, "database": database}


@main.command()
@click.option("--database", "db", default=None, help="Database URL.")
@click.option(
    "--demo", is_flag=True, help="Create (or reset) the demo account and print its credentials."
)
@click.pass_context
def init(ctx: click.Context, db: str | None, demo: bool) -> None:
    """Create the database, or migrate it to this smsgate's schema."""
    from .provision import DEMO, apply

    if db:
        ctx.obj["database"] = db

    async def go(store: Any) -> list[str]:
        lines = [f"database schema at version {(await store.schema_status()).version}"]
        if demo:
            lines += await apply(store, DEMO, reset_balance=True)
            lines.append(await demo_admin(store))
        return lines

    for line in _run(ctx, go, create=True, schema="migrate"):
        click.echo(line)
    if demo:
        served = _config(ctx)  # the host and port `serve` takes from the same settings
        click.echo(
            "demo credentials (all dialects): user 'demo', password 'demo'; native Bearer token 'demo-token';\n"
            "  OsonSMS login 'demo' with pass_salt_hash 'demo-salt'; senders SMSGATE, Test; balance 1000 RUB\n"
            '  try: curl -s -H \'Authorization: Bearer demo-token\' -d \'{"to":"+79651111111","text":"hi"}\' '
            f"http://{served.host}:{served.port}/api/v1/messages"
        )
        console = served.admin_address() or (served.host, served.port)
        click.echo(
            f"console: http://{console[0]}:{console[1]}/admin  "
            f"user '{DEMO_ADMIN[0]}', password '{DEMO_ADMIN[1]}'"
        )


@main.command()
@click.option("--status", "show", is_flag=True, help="Say where the schema stands; change nothing.")
@click.pass_context
def migrate(ctx: click.Context, show: bool) -> None:
    """Apply the pending schema migrations (one node at a time on PostgreSQL)."""
    if show:
        status = _run(ctx, lambda store: store.schema_status(), schema="any")
        click.echo(f"schema version {status.version}; this smsgate's: {status.latest}")
        if status.newer:
            click.echo("newer than this smsgate: upgrade smsgate (migrations never go back)")
        for name in status.pending:
            click.echo(f"pending: {name}")
        if status.current:
            click.echo("up to date")
        return

    url = _config(ctx, database=ctx.obj.get("database")).database

    async def go(store: Any) -> tuple[Any, Any]:
        before = await store.schema_status()
        _refuse_newer(url, before)
        await store.migrate()
        return before, await store.schema_status()

    before, after = _run(ctx, go, schema="any")
    applied = f" (applied {', '.join(before.pending)})" if before.pending else " (up to date)"
    click.echo(f"database schema at version {after.version}{applied}")


@main.command()
@click.option("--host", default=None)
@click.option("--port", type=int, default=None)
@click.option("--database", "db", default=None)
@click.option(
    "--workers", type=int, default=None, help="HTTP worker processes (default: CPU cores)."
)
@click.option(
    "--migrate/--no-migrate",
    "migrate",
    default=None,
    help="Apply pending schema migrations first (default: on for SQLite, off for PostgreSQL, "
    "whose nodes share the schema: run `smsgate migrate` once).",
)
@click.option("--create", is_flag=True, help="Create the SQLite database if it does not exist.")
@click.pass_context
def serve(
    ctx: click.Context,
    host: str | None,
    port: int | None,
    db: str | None,
    workers: int | None,
    migrate: bool | None,
    create: bool,
) -> None:
    """Serve every dialect over HTTP, with the engine (dispatcher, notifier, connector)."""
    from .server import prepare_multiprocess_metrics

    config = _config(
        ctx, host=host, port=port, database=db or ctx.obj.get("database"), workers=workers
    )
    prepare_multiprocess_metrics(config.worker_count())
    from .logs import setup
    from .server import serve as run_server
    from .store import open_store

    setup(config.log_level, config.log_format)
    if migrate is None:  # a database one engine owns (SQLite) is its to migrate
        migrate = _one_line(lambda: open_store(config.database).exclusive_dispatch)

    async def check() -> None:
        schema: Schema = "migrate" if migrate else "current"
        store = await open_database(config.database, create=create, schema=schema, serving=True)
        await store.close()

    run_server(config, prepare=lambda: _one_line(lambda: asyncio.run(check())))


# Accounts ---------------------------------------------------------------------------------------
@main.group()
def account() -> None:
    """Customer accounts."""


def _show(a: Any) -> str:
    from .core.money import format_amount

    return (
        f"{a.id}\t{a.name}\tbalance={format_amount(a.balance)} {a.currency}\tprice={format_amount(a.price, 4)}"
        f"\ttps={a.tps or 'unlimited'}\ttz={a.timezone}\tsenders={','.join(a.senders) or '-'}"
        f"\tactive={'yes' if a.active else 'no'}"
    )


@account.command("create")
@click.argument("name")
@click.option("--balance", default="0")
@click.option("--price", default="0", help="Price per segment.")
@click.option("--currency", default="RUB")
@click.option("--tps", type=int, default=0)
@click.option("--timezone", default="UTC")
@click.pass_context
def account_create(
    ctx: click.Context, name: str, balance: str, price: str, currency: str, tps: int, timezone: str
) -> None:
    from .core.models import Account
    from .core.money import to_micros
    from .core.windows import check_zone

    async def go(store: Any) -> Any:
        return await store.create_account(
            Account(
                id=0,
                name=name,
                balance=to_micros(balance),
                price=to_micros(price),
                currency=currency,
                tps=tps,
                timezone=check_zone(timezone),
            )
        )

    click.echo(_show(_run(ctx, go)))


@account.command("list")
@click.pass_context
def account_list(ctx: click.Context) -> None:
    for a in _run(ctx, lambda store: store.list_accounts()):
        click.echo(_show(a))


@account.command("show")
@click.argument("name")
@click.pass_context
def account_show(ctx: click.Context, name: str) -> None:
    async def go(store: Any) -> tuple[Any, Any]:
        a = await _account(store, name)
        return a, await store.credentials_of(a.id)

    a, creds = _run(ctx, go)
    click.echo(_show(a))
    click.echo(f"ip_allowlist={a.ip_allowlist or 'any'} callback_urls={a.callback_urls or '-'}")
    for c in creds:  # identifiers only: secrets are never printed
        click.echo(
            f"credential {c.dialect}/{c.kind} {c.identifier if c.kind != 'token' else c.identifier[:12] + '…'}"
        )


@account.command("set-balance")
@click.argument("name")
@click.argument("amount")
@click.pass_context
def account_set_balance(ctx: click.Context, name: str, amount: str) -> None:
    """Set the balance to AMOUNT: a correction in the ledger (`top-up` adds to it)."""
    from .cli_admin import actor
    from .core.money import to_micros

    async def go(store: Any) -> Any:
        a = await _account(store, name)
        now = time.time()
        entry = await store.ledger_post(
            a.id, "correction", to_micros(amount), reason="set-balance", actor=actor(), now=now
        )
        details = {"balance_after": amount, "amount": entry.amount}
        await store.audit_add(actor(), "balance.correction", f"account:{a.id}", details, now)
        return await _account(store, name)

    click.echo(_show(_run(ctx, go)))


@account.command("set-price")
@click.argument("name")
@click.argument("amount")
@click.pass_context
def account_set_price(ctx: click.Context, name: str, amount: str) -> None:
    from .core.money import to_micros

    async def go(store: Any) -> Any:
        a = await _account(store, name)
        return await store.update_account(a.id, price=to_micros(amount))

    click.echo(_show(_run(ctx, go)))


@account.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--reset-balance",
    is_flag=True,
    help="Set existing accounts' balances to the document's (by default a live balance stays).",
)
@click.pass_context
def account_import(ctx: click.Context, file: str, reset_balance: bool) -> None:
    """Create or update accounts from a TOML or JSON document (idempotent). A balance in the
    document opens a new account; an existing one keeps its own unless --reset-balance."""
    import msgspec

    from .cli_admin import actor
    from .provision import apply, read_document

    try:
        doc = read_document(file)
    except (msgspec.ValidationError, ValueError) as exc:
        raise click.ClickException(f"{file}: {exc}") from None
    allowed = _config(ctx).callbacks.networks()  # callback URLs are checked as they are set
    for line in _run(
        ctx,
        lambda store: apply(
            store, doc, allowed_networks=allowed, reset_balance=reset_balance, actor=actor()
        ),
    ):
        click.echo(line)


# Credentials, senders, stop list -------------------------------------------------------------------
@main.group()
def credential() -> None:
    """Dialect credentials."""


@credential.command("add")
@click.argument("account_name")
@click.option("--dialect", required=True)
@click.option(
    "--kind",
    required=True,
    type=click.Choice(["basic", "login", "token", "salt", "apikey", "smpp"]),
)
@click.option("--identifier", default="", help="User name or login (not for tokens).")
@click.option(
    "--secret",
    default=None,
    help="Password, token or shared secret (a token is generated if omitted).",
)
@click.pass_context
def credential_add(
    ctx: click.Context,
    account_name: str,
    dialect: str,
    kind: str,
    identifier: str,
    secret: str | None,
) -> None:
    from .core.secrets import new_token
    from .provision import CredentialSpec, credential

    generated = secret is None
    secret = secret or new_token()

    async def go(store: Any) -> None:
        a = await _account(store, account_name)
        await store.put_credential(
            credential(
                a.id,
                CredentialSpec(dialect=dialect, kind=kind, identifier=identifier, secret=secret),
            )
        )

    _run(ctx, go)
    click.echo(f"credential {dialect}/{kind} saved" + (f"; secret: {secret}" if generated else ""))


@main.group()
def sender() -> None:
    """Allowed sender names."""


@sender.command("add")
@click.argument("account_name")
@click.argument("name")
@click.pass_context
def sender_add(ctx: click.Context, account_name: str, name: str) -> None:
    async def go(store: Any) -> None:
        await store.add_sender((await _account(store, account_name)).id, name)

    _run(ctx, go)
    click.echo(f"sender {name} added")


@sender.command("list")
@click.argument("account_name")
@click.pass_context
def sender_list(ctx: click.Context, account_name: str) -> None:
    async def go(store: Any) -> list[str]:
        return list((await _account(store, account_name)).senders)

    for name in _run(ctx, go):
        click.echo(name)


@main.group()
def stoplist() -> None:
    """Numbers never to send to. ACCOUNT '*' is the global list."""


async def _account_id(store: Any, name: str) -> int:
    return 0 if name == "*" else int((await _account(store, name)).id)


def _phones(raw: tuple[str, ...]) -> list[str]:
    from .core.errors import GatewayError
    from .core.phone import normalize

    try:
        return [normalize(p) for p in raw]
    except GatewayError as exc:
        raise click.ClickException(exc.detail) from None


@stoplist.command("add")
@click.argument("account_name")
@click.argument("phones", nargs=-1, required=True)
@click.pass_context
def stoplist_add(ctx: click.Context, account_name: str, phones: tuple[str, ...]) -> None:
    numbers = _phones(phones)

    async def go(store: Any) -> int:
        return int(await store.stoplist_add(await _account_id(store, account_name), numbers))

    click.echo(f"{_run(ctx, go)} added")


@stoplist.command("remove")
@click.argument("account_name")
@click.argument("phones", nargs=-1, required=True)
@click.pass_context
def stoplist_remove(ctx: click.Context, account_name: str, phones: tuple[str, ...]) -> None:
    numbers = _phones(phones)

    async def go(store: Any) -> int:
        return int(await store.stoplist_remove(await _account_id(store, account_name), numbers))

    click.echo(f"{_run(ctx, go)} removed")


@stoplist.command("list")
@click.argument("account_name")
@click.pass_context
def stoplist_list(ctx: click.Context, account_name: str) -> None:
    async def go(store: Any) -> list[str]:
        return list(await store.stoplist(await _account_id(store, account_name)))

    for phone in _run(ctx, go):
        click.echo(phone)


# Messages -------------------------------------------------------------------------------------------
@main.command()
@click.argument("account_name")
@click.option("--to", "to", required=True)
@click.option("--text", required=True)
@click.option("--from", "sender", default=None)
@click.pass_context
def send(ctx: click.Context, account_name: str, to: str, text: str, sender: str | None) -> None:
    """Queue one SMS (a running `smsgate serve` sends it)."""
    from .core.models import Submission
    from .engine.accept import Acceptor

    config = _config(ctx)

    async def go(store: Any) -> Any:
        a = await _account(store, account_name)
        outcomes, _ = await Acceptor(store, config.limits).submit(
            a, "native", [Submission(phone=to, text=text, sender=sender)]
        )
        return outcomes[0]

    outcome = _run(ctx, go)
    if outcome.kind == "error":
        raise click.ClickException(f"{outcome.error.code.value}: {outcome.error.detail}")
    m = outcome.message
    click.echo(f"{m.id}\t{m.status.value}\t{m.segments} segment(s)")


@main.command()
@click.argument("message_id")
@click.option("--account", "account_name", required=True)
@click.pass_context
def status(ctx: click.Context, message_id: str, account_name: str) -> None:
    """A message's status and history."""

    async def go(store: Any) -> tuple[Any, Any, Any]:
        a = await _account(store, account_name)
        return (
            await store.get_message(a.id, message_id),
            await store.events_of(a.id, message_id),
            await store.callbacks_of(a.id, message_id),
        )

    message, events, callbacks = _run(ctx, go)
    if message is None:
        raise click.ClickException("message not found")
    click.echo(
        f"{message.id}\t+{message.phone}\t{message.status.value}\t{message.error_code or ''}"
    )
    for e in events:
        at = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(e.at))
        carrier = f"\tcarrier code {e.carrier_error}" if e.carrier_error is not None else ""
        click.echo(f"  {at}Z\t{e.status.value}\t{e.error_code or ''}{carrier}")
        for c in (c for c in callbacks if c.event_id == f"ev-{e.seq}"):
            error = f", last error: {c.last_error}" if c.last_error else ""
            click.echo(f"    callback {c.dialect}: {c.state} after {c.attempts} attempts{error}")


@main.command()
@click.option("--account", "account_name", default=None)
@click.option(
    "--since",
    default=None,
    help="Start back at a time (2026-12-06T10:00:00Z, 2026-12-06 10:00, 2026-12-06; UTC unless "
    "an offset is given) or a duration ago (90s, 10m, 2h, 1d, 1h30m). Default: only new events.",
)
@click.option("--interval", default=0.5, type=float)
@click.pass_context
def tail(ctx: click.Context, account_name: str | None, since: str | None, interval: float) -> None:
    """Follow status events as they happen (Ctrl-C to stop)."""
    start = _since(since, time.time()) if since is not None else None

    async def go(store: Any) -> None:
        account_id = (await _account(store, account_name)).id if account_name else None
        after = await store.events_start(start)  # not the whole history: one number
        click.echo(f"following status events after #{after} (Ctrl-C to stop)", err=True)
        while True:
            for e in await store.events_after(after):
                after = e.seq
                if account_id is None or e.account_id == account_id:
                    click.echo(
                        f"{time.strftime('%H:%M:%S', time.gmtime(e.at))}\t{e.message_id}\t{e.status.value}\t{e.error_code or ''}"
                    )
                    sys.stdout.flush()
            await asyncio.sleep(interval)

    try:
        _run(ctx, go)
    except KeyboardInterrupt:
        pass


_DURATION = re.compile(r"(?:(\d+(?:\.\d+)?)([smhdw]))+")
_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def _since(text: str, now: float) -> float:
    """`--since`'s Unix time: a duration before `now` ("90s", "1h30m") or an ISO 8601 time
    ("2026-12-06T10:00:00Z"; a time without an offset is UTC, as tail prints its times)."""
    value = text.strip().lower()
    if _DURATION.fullmatch(value):
        return now - sum(
            float(n) * _UNIT[u] for n, u in re.findall(r"(\d+(?:\.\d+)?)([smhdw])", value)
        )
    try:
        at = datetime.fromisoformat(text.strip())
    except ValueError:
        raise click.BadParameter(
            f"{text!r} is neither a duration (90s, 10m, 2h, 1d) nor a time (2026-12-06T10:00:00Z)",
            param_hint="--since",
        ) from None
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).timestamp()


# Configuration ---------------------------------------------------------------------------------
@main.group("config")
def config_group() -> None:
    """The configuration."""


@config_group.command("check")
@click.argument("file", required=False, type=click.Path(dir_okay=False))
@click.pass_context
def config_check(ctx: click.Context, file: str | None) -> None:
    """Check FILE (default: --config's) with the SMSGATE_* variables and flags; print every
    setting's value and where it comes from (default, file, env, flag), secrets masked."""
    from .config import ConfigError, describe, load_with_sources

    try:
        config, sources = load_with_sources(
            file or ctx.obj.get("config"), database=ctx.obj.get("database")
        )
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    for line in describe(config, sources):
        click.echo(line)


# Routing and upstreams: smsgate/cli_routes.py -------------------------------------------------------
register_routes(main, _config, _run)


# Console users and top-ups: smsgate/cli_admin.py ----------------------------------------------------
register_admin(main, account, _run, _account)


if __name__ == "__main__":
    main()
