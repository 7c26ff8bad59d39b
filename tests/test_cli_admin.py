"""`smsgate admin ...`, `account top-up`, `account import` keeping live balances, `init --demo`'s
console login: the commands as an operator runs them, on a real database."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from smsgate.cli import main
from smsgate.core.passwords import verify_password
from smsgate.store import open_store
from smsgate.store.base import Store
from tests.support.backends import both_backends
from tests.support.commands import smsgate


def run(database: str, *args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(main, ["--database", database, *args], input=input)


def with_store(database: str, fn: Any) -> Any:
    async def go() -> Any:
        store: Store = open_store(database)
        await store.open()
        try:
            return await fn(store)
        finally:
            await store.close()

    return asyncio.run(go())


@pytest.fixture
def database(database_url: str) -> str:
    assert run(database_url, "init").exit_code == 0
    return database_url


def test_admin_users_from_the_command_line(database: str) -> None:
    done = run(database, "admin", "create", "alice", input="s3cret-pass\ns3cret-pass\n")
    assert done.exit_code == 0, done.output
    assert "created console user alice (operator)" in done.output
    assert "s3cret-pass" not in done.output.replace("Password", "")  # prompts echo nothing
    done = run(database, "admin", "create", "bob", "--role", "readonly", "--password", "bob-pass-1")
    assert done.exit_code == 0, done.output
    listed = run(database, "admin", "list").output.splitlines()
    assert [line.split("\t")[:2] for line in listed] == [["alice", "operator"], ["bob", "readonly"]]
    # refusals: one line each, nothing changed
    again = run(database, "admin", "create", "alice", "--password", "another-pass")
    assert again.exit_code == 1 and "exists" in again.output
    short = run(database, "admin", "create", "carol", "--password", "short")
    assert short.exit_code == 2 and "at least 8" in short.output
    assert run(database, "admin", "create", "bad name", "--password", "long-enough").exit_code == 1
    assert run(database, "admin", "passwd", "alice", "--password", "new-pass-123").exit_code == 0
    found = with_store(database, lambda s: s.admin_login("alice"))
    assert verify_password("new-pass-123", found.password_hash)
    assert not verify_password("s3cret-pass", found.password_hash)
    assert run(database, "admin", "role", "bob", "operator").exit_code == 0
    assert with_store(database, lambda s: s.admin_login("bob")).user.role == "operator"
    assert run(database, "admin", "role", "bob", "root").exit_code == 2
    assert run(database, "admin", "remove", "bob").exit_code == 0
    gone = run(database, "admin", "remove", "bob")
    assert gone.exit_code == 1 and "no console user" in gone.output
    audit = with_store(database, lambda s: s.audit_list())
    assert [(e.action, e.target) for e in reversed(audit)] == [
        ("admin.create", "admin:alice"),
        ("admin.create", "admin:bob"),
        ("admin.passwd", "admin:alice"),
        ("admin.role", "admin:bob"),
        ("admin.remove", "admin:bob"),
    ]
    assert all(e.actor.startswith("cli") for e in audit)


ACCOUNTS = """
[[accounts]]
name = "acme"
balance = "1000"
price = "0.35"
"""


@both_backends
def test_import_keeps_a_live_balance_unless_told(database: str, tmp_path: Path) -> None:
    document = tmp_path / "accounts.toml"
    document.write_text(ACCOUNTS)
    assert run(database, "account", "import", str(document)).exit_code == 0
    # The balance moves with traffic: 1000.00 -> 999.65 (one message at 0.35)
    account_id = with_store(database, lambda s: s.account_by_name("acme")).id
    with_store(database, lambda s: s.adjust_balance(account_id, -350_000))
    done = run(database, "account", "import", str(document))
    assert done.exit_code == 0 and "balance kept at 999.65" in done.output
    assert with_store(database, lambda s: s.get_account(account_id)).balance == 999_650_000
    done = run(database, "account", "import", str(document), "--reset-balance")
    assert done.exit_code == 0, done.output
    assert with_store(database, lambda s: s.get_account(account_id)).balance == 1_000_000_000
    ledger = with_store(database, lambda s: s.ledger(account_id))
    assert [(e.kind, e.amount, e.balance_after) for e in ledger] == [
        ("import", 350_000, 1_000_000_000),  # the reset
        ("import", 1_000_000_000, 1_000_000_000),  # the opening balance
    ]


@both_backends
def test_top_up_and_set_balance_are_ledger_entries(database: str) -> None:
    assert run(database, "account", "create", "acme", "--balance", "10").exit_code == 0
    done = run(database, "account", "top-up", "acme", "5.50", "--reason", "invoice 7")
    assert done.exit_code == 0, done.output
    assert "balance 15.50 RUB" in done.output
    assert run(database, "account", "set-balance", "acme", "3").exit_code == 0
    assert run(database, "account", "top-up", "acme", "-1", "--reason", "x").exit_code != 0
    assert run(database, "account", "top-up", "nobody", "1", "--reason", "x").exit_code == 1
    account = with_store(database, lambda s: s.account_by_name("acme"))
    assert account.balance == 3_000_000
    ledger = with_store(database, lambda s: s.ledger(account.id))
    assert [(e.kind, e.amount, e.reason) for e in ledger] == [
        ("correction", -12_500_000, "set-balance"),
        ("top_up", 5_500_000, "invoice 7"),
    ]
    audit = with_store(database, lambda s: s.audit_list(target=f"account:{account.id}"))
    assert [e.action for e in audit] == ["balance.correction", "balance.top_up"]


def test_init_demo_prints_a_console_login_that_works(tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path}/demo.db"
    done = smsgate("init", "--demo", "--database", database)
    assert done.returncode == 0, done.stderr
    line = next(x for x in done.stdout.splitlines() if "/admin" in x)
    assert "user 'admin', password 'demo-admin'" in line
    found = with_store(database, lambda s: s.admin_login("admin"))
    assert found is not None and verify_password("demo-admin", found.password_hash)
    assert found.user.role == "operator"
    again = smsgate("init", "--demo", "--database", database)  # a second init resets it
    assert again.returncode == 0, again.stderr
