"""`smsgate admin create|list|remove|passwd|role` (console users) and `smsgate account top-up`
(a ledger entry). Registered on the main command group by cli.py; every change is audited with
the actor `cli:<system user>`."""

from __future__ import annotations

import getpass
import time
from collections.abc import Awaitable, Callable
from typing import Any

import click

from .core.admin import ROLES, check_role, check_username
from .core.passwords import check_new_password, hash_password

Run = Callable[..., Any]
DEMO_ADMIN = ("admin", "demo-admin")  # `init --demo`'s console login (user, password)


def actor() -> str:
    """Who made a change from the command line, for the audit log and the ledger."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no user name for this uid (a container)
        return "cli"


def _password(value: str) -> str:
    why = check_new_password(value)
    if why is not None:
        raise click.BadParameter(why, param_hint="password")
    return value


def _new_password_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--password",
        prompt=True,
        hide_input=True,
        confirmation_prompt=True,
        help="The password (asked for when not given: it is then not in the shell's history).",
    )(fn)


async def demo_admin(store: Any) -> str:
    """Create, or reset the password of, the demo console user; a line that says its login."""
    username, password = DEMO_ADMIN
    hashed = hash_password(password)
    if not await store.admin_update(username, password_hash=hashed):
        await store.admin_create(username, hashed, "operator", time.time())
    await store.audit_add(actor(), "admin.demo", f"admin:{username}", {}, time.time())
    return f"console user '{username}' ready (operator; its password is reset to the demo's)"


def register(
    main: click.Group,
    account: click.Group,
    run: Run,
    find_account: Callable[[Any, str], Awaitable[Any]],
) -> None:
    """Add the admin group to `main` and `top-up` to the `account` group."""

    @main.group()
    def admin() -> None:
        """Console users (the dashboard at /admin and the admin API)."""

    @admin.command("create")
    @click.argument("username")
    @click.option("--role", type=click.Choice(ROLES), default="operator", show_default=True)
    @_new_password_option
    @click.pass_context
    def admin_create(ctx: click.Context, username: str, role: str, password: str) -> None:
        """Add a console user: an operator changes things, a readonly user only looks."""
        check_username(username)
        hashed = hash_password(_password(password))

        async def go(store: Any) -> Any:
            user = await store.admin_create(username, hashed, check_role(role), time.time())
            await store.audit_add(
                actor(), "admin.create", f"admin:{username}", {"role": role}, time.time()
            )
            return user

        user = run(ctx, go)
        click.echo(f"created console user {user.username} ({user.role})")

    @admin.command("list")
    @click.pass_context
    def admin_list(ctx: click.Context) -> None:
        for user in run(ctx, lambda store: store.admin_list()):
            since = time.strftime("%Y-%m-%d %H:%M", time.gmtime(user.created_at))
            click.echo(f"{user.username}\t{user.role}\tsince {since} UTC")

    @admin.command("remove")
    @click.argument("username")
    @click.pass_context
    def admin_remove(ctx: click.Context, username: str) -> None:
        """Remove a console user; its sessions end at once."""

        async def go(store: Any) -> bool:
            removed = bool(await store.admin_remove(username))
            if removed:
                await store.audit_add(actor(), "admin.remove", f"admin:{username}", {}, time.time())
            return removed

        if not run(ctx, go):
            raise click.ClickException(f"no console user named {username!r}")
        click.echo(f"removed console user {username}")

    @admin.command("passwd")
    @click.argument("username")
    @_new_password_option
    @click.pass_context
    def admin_passwd(ctx: click.Context, username: str, password: str) -> None:
        """Set a console user's password; its sessions end (it logs in again)."""
        hashed = hash_password(_password(password))

        async def go(store: Any) -> bool:
            changed = bool(await store.admin_update(username, password_hash=hashed))
            if changed:
                await store.audit_add(actor(), "admin.passwd", f"admin:{username}", {}, time.time())
            return changed

        if not run(ctx, go):
            raise click.ClickException(f"no console user named {username!r}")
        click.echo(f"password changed for {username}; its sessions ended")

    @admin.command("role")
    @click.argument("username")
    @click.argument("role", type=click.Choice(ROLES))
    @click.pass_context
    def admin_role(ctx: click.Context, username: str, role: str) -> None:
        """Make a console user an operator or read-only (from its next request on)."""

        async def go(store: Any) -> bool:
            changed = bool(await store.admin_update(username, role=check_role(role)))
            if changed:
                details = {"role": role}
                await store.audit_add(
                    actor(), "admin.role", f"admin:{username}", details, time.time()
                )
            return changed

        if not run(ctx, go):
            raise click.ClickException(f"no console user named {username!r}")
        click.echo(f"{username} is now {role}")

    @account.command("top-up")
    @click.argument("name")
    @click.argument("amount")
    @click.option("--reason", required=True, help="Why (an invoice, a payment): in the ledger.")
    @click.pass_context
    def account_top_up(ctx: click.Context, name: str, amount: str, reason: str) -> None:
        """Add AMOUNT to an account's balance, as a ledger entry."""
        from .core.money import format_amount, to_micros

        micros = to_micros(amount)

        async def go(store: Any) -> Any:
            found = await find_account(store, name)
            entry = await store.ledger_post(
                found.id, "top_up", micros, reason=reason, actor=actor(), now=time.time()
            )
            details = {
                "amount": format_amount(entry.amount),
                "balance_after": format_amount(entry.balance_after),
                "reason": reason,
            }
            await store.audit_add(
                actor(), "balance.top_up", f"account:{found.id}", details, time.time()
            )
            return found, entry

        found, entry = run(ctx, go)
        click.echo(
            f"{found.name}: +{format_amount(entry.amount)} {found.currency}, "
            f"balance {format_amount(entry.balance_after)} {found.currency} (ledger entry {entry.id})"
        )
