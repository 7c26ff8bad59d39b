"""`smsgate routes import|list|test` and `smsgate upstreams balance` through the real command
line (click's runner, in process: an interpreter per command costs seconds here), on both
backends where the database matters."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from smsgate.cli import main
from tests.connectors.http.fakes.smsc import FakeSmsc
from tests.support.backends import both_backends
from tests.support.commands import one_line


def smsgate(*args: str) -> subprocess.CompletedProcess[str]:
    """`smsgate ARGS` as the command line runs it (its exit code, stdout and stderr)."""
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return subprocess.CompletedProcess(list(args), result.exit_code, result.stdout, result.stderr)


UPSTREAMS = """
[[upstreams]]
name = "kcell"
kind = "smsgw2"
url = "http://127.0.0.1:9"
login = "bank"
password = "secret-pw"

[[upstreams]]
name = "oson"
kind = "osonsms"
url = "http://127.0.0.1:9"
login = "shop"
token = "secret-token"
"""

ROUTES = """
[[rules]]
name = "kz"
prefixes = ["+77"]
route = "kz"

[[rules]]
name = "tj"
countries = ["TJ"]
route = "tj"

[[rules]]
name = "night"
hours = "22:00-06:00"
utc_offset = "+05:00"
route = "cheap"

[[routes]]
name = "kz"
connectors = [{connector = "kcell"}, {connector = "simulator", priority = 1}]

[[routes]]
name = "tj"
connectors = [{connector = "oson"}]

[[routes]]
name = "cheap"
strategy = "least_cost"
connectors = [{connector = "kcell"}, {connector = "oson"}]

[[prices]]
connector = "kcell"
price = "0.031"

[[prices]]
connector = "oson"
country = "RU"
price = 0.029
"""


@pytest.fixture
def setup(tmp_path: Path, database_url: str) -> tuple[list[str], Path]:
    """The args that name the config (two upstreams) and database, and a routes file."""
    config = tmp_path / "smsgate.toml"
    config.write_text(UPSTREAMS)
    routes = tmp_path / "routes.toml"
    routes.write_text(ROUTES)
    args = ["--config", str(config), "--database", database_url]
    done = smsgate(*args, "init")
    assert done.returncode == 0, done.stderr
    return args, routes


def out(*args: str) -> list[str]:
    done = smsgate(*args)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    return done.stdout.splitlines()


@both_backends
def test_import_is_idempotent_and_removes_what_the_file_dropped(
    setup: tuple[list[str], Path],
) -> None:
    args, routes = setup
    assert out(*args, "routes", "import", str(routes)) == [
        "added price kcell *",
        "added price oson RU",
        "added route cheap",
        "added route kz",
        "added route tj",
        "added rule kz",
        "added rule night",
        "added rule tj",
    ]
    assert out(*args, "routes", "import", str(routes)) == ["no change"]
    night = ROUTES.index('[[rules]]\nname = "night"')
    routes.write_text(ROUTES[:night] + ROUTES[ROUTES.index("[[routes]]") :])
    assert out(*args, "routes", "import", str(routes)) == ["removed rule night"]
    listed = out(*args, "routes", "list")
    assert listed[:3] == [
        "rules (the first that matches wins):",
        "  1. kz: prefix +77 -> kz",
        "  2. tj: country TJ -> tj",
    ]
    assert (
        "  kz [priority]: kcell (priority 0, weight 1), simulator (priority 1, weight 1)" in listed
    )
    assert "  oson RU: 0.029" in listed


BAD_TABLES = [
    (('connector = "oson"}]', 'connector = "beeline"}]'), "route 'tj': no connector 'beeline'"),
    (('route = "tj"', 'route = "tajik"'), "rule 'tj': no route 'tajik'"),
    (('prefixes = ["+77"]', 'prefix = ["+77"]'), "unknown field `prefix`"),
    (('hours = "22:00-06:00"', 'hours = "late"'), "hours 'late' is not HH:MM-HH:MM"),
    (('price = "0.031"', 'price = "cheap"'), "not an amount"),
]


def test_import_refuses_a_bad_table_in_one_line(setup: tuple[list[str], Path]) -> None:
    args, routes = setup
    for change, error in BAD_TABLES:
        routes.write_text(ROUTES.replace(*change, 1))
        line = one_line(smsgate(*args, "routes", "import", str(routes)))
        assert error in line, line
    assert out(*args, "routes", "list")[1] == "  none"  # nothing applied


def test_routes_test_shows_rule_route_and_order(setup: tuple[list[str], Path]) -> None:
    args, routes = setup
    out(*args, "routes", "import", str(routes))
    noon_utc = "1700049600"  # 2023-11-15 12:00 UTC, 17:00 in Almaty: not night
    assert out(*args, "routes", "test", "+7 701 123 45 67", "--at", noon_utc) == [
        "number: +77011234567 (region KZ)",
        "rule: kz: prefix +77 -> kz",
        "route: kz [priority]: kcell (priority 0, weight 1), simulator (priority 1, weight 1)",
        "  1. kcell (priority 0, weight 1, 0.031)",
        "  2. simulator (priority 1, weight 1, unpriced)",
    ]
    assert out(*args, "routes", "test", "992927123456", "--at", noon_utc)[1] == (
        "rule: tj: country TJ -> tj"
    )
    assert out(*args, "routes", "test", "79161234567", "--at", noon_utc)[1:] == [
        "rule: none matches",
        "route: none: the default connector simulator",
    ]
    night = "1700000000"  # 22:13 UTC, 03:13 in Almaty
    assert out(*args, "routes", "test", "79161234567", "--at", night)[3:] == [
        "  1. oson (priority 0, weight 1, 0.029)",  # least cost: oson's RU price first
        "  2. kcell (priority 0, weight 1, 0.031)",
    ]
    assert "not a phone number" in one_line(smsgate(*args, "routes", "test", "hello"))
    assert "no account 'nobody'" in one_line(
        smsgate(*args, "routes", "test", "77011234567", "--account", "nobody")
    )


def test_routes_test_by_account_and_sender(setup: tuple[list[str], Path]) -> None:
    args, routes = setup
    routes.write_text(
        '[[rules]]\nname = "vip"\naccounts = [1]\nsenders = ["Bank"]\nroute = "r"\n'
        '[[routes]]\nname = "r"\nconnectors = [{connector = "oson"}]\n'
    )
    out(*args, "routes", "import", str(routes))
    assert out(*args, "account", "create", "acme")  # account 1
    assert out(*args, "routes", "test", "79161234567", "--account", "acme", "--sender", "Bank")[
        1
    ] == ("rule: vip: account 1 sender Bank -> r")
    assert out(*args, "routes", "test", "79161234567", "--account", "1", "--sender", "Shop")[1] == (
        "rule: none matches"
    )


def test_balance_without_upstreams(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path}/s.db"
    assert smsgate("--database", db, "init").returncode == 0
    assert "no [[upstreams]] configured" in one_line(
        smsgate("--database", db, "upstreams", "balance")
    )


async def test_balance_asks_each_upstream(tmp_path: Path) -> None:
    """SMSC's balance.php answers; oson's cannot be asked: said, not a traceback."""
    async with FakeSmsc() as fake:
        config = tmp_path / "smsgate.toml"
        config.write_text(
            UPSTREAMS
            + f'\n[[upstreams]]\nname = "smsc"\nkind = "smsc"\nurl = "{fake.url}"\n'
            + 'login = "acme"\npassword = "pa55"\nallow_networks = ["127.0.0.0/8"]\n'
        )
        db = f"sqlite:///{tmp_path}/s.db"
        args = ["--config", str(config), "--database", db]
        assert (await asyncio.to_thread(smsgate, *args, "init")).returncode == 0
        done = await asyncio.to_thread(smsgate, *args, "upstreams", "balance")  # the fake answers
        assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "kcell: its API has no balance"  # SMSGW2 has none
    assert lines[1].startswith("oson: cannot ask: "), lines  # nothing listens there
    assert lines[2] == "smsc: 1000.50"
    assert "secret" not in done.stdout + done.stderr
