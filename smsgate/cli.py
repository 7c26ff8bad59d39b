"""`smsgate`: the front door. init, serve, accounts, credentials, senders, stop list, send, status, tail."""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import click

T = TypeVar("T")
DEFAULT_DB = "sqlite:///var/smsgate.db"


def _config(ctx: click.Context, **overrides: Any) -> Any:
    from .config import load

    path = ctx.obj.get("config") if ctx.obj else None
    return load(path, **overrides)


def _run(ctx: click.Context, fn: Callable[[Any], Awaitable[T]]) -> T:
    """Open the configured store, run `fn(store)`, close."""
    from .store import open_store

    config = _config(ctx, database=ctx.obj.get("database"))

    async def main() -> T:
        store = open_store(config.database)
        await store.open()
        try:
            await store.migrate()
            return await fn(store)
        finally:
            await store.close()

    try:
        return asyncio.run(main())
    except Exception as exc:  # operators get one line, not a traceback
        from .core.errors import GatewayError
        from .store.base import StoreUnavailable

        if isinstance(exc, GatewayError | ValueError | StoreUnavailable):
            raise click.ClickException(str(exc)) from None
        raise


async def _account(store: Any, name: str) -> Any:
    account = await store.account_by_name(name)
    if account is None:
        raise click.ClickException(f"no account named {name!r}")
    return account


@click.group()
@click.option(
    "--config",
    "config",
    type=click.Path(exists=True, dir_okay=False),
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
    """Create or migrate the database."""
    from .provision import DEMO, apply

    if db:
        ctx.obj["database"] = db

    async def go(store: Any) -> list[str]:
        lines = [f"database schema at version {await store.migrate()}"]
        if demo:
            lines += await apply(store, DEMO)
        return lines

    for line in _run(ctx, go):
        click.echo(line)
    if demo:
        served = _config(ctx)  # the host and port `serve` takes from the same settings
        click.echo(
            "demo credentials (all dialects): user 'demo', password 'demo'; native Bearer token 'demo-token';\n"
            "  OsonSMS login 'demo' with pass_salt_hash 'demo-salt'; senders SMSGATE, Test; balance 1000 RUB\n"
            '  try: curl -s -H \'Authorization: Bearer demo-token\' -d \'{"to":"+79651111111","text":"hi"}\' '
            f"http://{served.host}:{served.port}/api/v1/messages"
        )


@main.command()
@click.option("--host", default=None)
@click.option("--port", type=int, default=None)
@click.option("--database", "db", default=None)
@click.option(
    "--workers", type=int, default=None, help="HTTP worker processes (default: CPU cores)."
)
@click.pass_context
def serve(
    ctx: click.Context, host: str | None, port: int | None, db: str | None, workers: int | None
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

    async def migrate() -> None:
        store = open_store(config.database)
        await store.open()
        try:
            await store.migrate()
        finally:
            await store.close()

    asyncio.run(migrate())
    run_server(config)


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
    from .core.money import to_micros

    async def go(store: Any) -> Any:
        a = await _account(store, name)
        return await store.update_account(a.id, balance=to_micros(amount))

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
@click.pass_context
def account_import(ctx: click.Context, file: str) -> None:
    """Create or update accounts from a TOML or JSON document (idempotent)."""
    import msgspec

    from .provision import apply, read_document

    try:
        doc = read_document(file)
    except (msgspec.ValidationError, ValueError) as exc:
        raise click.ClickException(f"{file}: {exc}") from None
    allowed = _config(ctx).callbacks.networks()  # callback URLs are checked as they are set
    for line in _run(ctx, lambda store: apply(store, doc, allowed_networks=allowed)):
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
@click.option("--interval", default=0.5, type=float)
@click.pass_context
def tail(ctx: click.Context, account_name: str | None, interval: float) -> None:
    """Follow status events as they happen (Ctrl-C to stop)."""

    async def go(store: Any) -> None:
        account_id = (await _account(store, account_name)).id if account_name else None
        rows = await store.events_after(0, limit=1_000_000_000)
        after = rows[-1].seq if rows else 0
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


if __name__ == "__main__":
    main()
