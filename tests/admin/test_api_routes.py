"""The admin API's routing table, route test and upstreams over real HTTP, on both backends: a
table put and got back is the one `smsgate routes import` makes of the same TOML, applying it
twice changes nothing (and the audit log says so), a bad table is refused with every reason,
a read-only admin and a change without the CSRF header get 403, the route test answers what
`smsgate routes test` prints, and no answer carries an upstream's password, token or dr_url
token."""

from __future__ import annotations

import asyncio
import copy
import tomllib
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from smsgate.connectors.http.settings import UpstreamConfig
from smsgate.core.routing import parse_table
from tests.admin.support import Admin, login, make_admin, session
from tests.support import servers
from tests.support.backends import both_backends
from tests.support.servers import Gateway, account, start_gateway
from tests.test_cli_routes import ROUTES, smsgate

DR_TOKEN = "dr-push-token-0123456789abcdef"
SECRETS = ("secret-pw", "secret-token", DR_TOKEN, "smsc-sign-secret")
UPSTREAMS = [
    UpstreamConfig(
        name="kcell",
        kind="smsgw2",
        url="http://bank:secret-pw@127.0.0.1:9/api/v2",
        login="bank",
        password="secret-pw",
        dr_url=f"http://127.0.0.1:1/upstream/kcell/dr?token={DR_TOKEN}",
    ),
    UpstreamConfig(
        name="oson",
        kind="osonsms",
        url="http://127.0.0.1:9",
        login="shop",
        token="secret-token",
        dr_secret="smsc-sign-secret",
    ),
]
NOON_UTC = 1700049600.0  # 2023-11-15 12:00 UTC, 17:00 in Almaty: not the night rule's hours
# The table of tests/test_cli_routes.py's TOML, as the admin API's JSON: prices as the TOML
# gives them, in currency units (the seed of both is that TOML, not our output)
TABLE = tomllib.loads(ROUTES)


@pytest.fixture
async def node(database_url: str) -> AsyncIterator[Gateway]:
    gateway = await start_gateway(servers.test_config(database_url, upstreams=UPSTREAMS))
    try:
        yield gateway
    finally:
        await gateway.stop()


async def operator(node: Gateway, http: aiohttp.ClientSession, name: str = "olga") -> Admin:
    return await login(http, name, await make_admin(node.store, name))


def assert_no_secret(answer: Any) -> None:
    text = str(answer)
    for secret in SECRETS:
        assert secret not in text, f"{secret!r} shown"


def cli(node: Gateway, *args: str) -> list[str]:
    """`smsgate` on the node's database with the node's upstreams (as a config file would)."""
    done = smsgate("--database", node.config.database, *args)
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


@both_backends
async def test_put_get_equals_a_toml_import_and_twice_is_no_change(
    node: Gateway, tmp_path: Any
) -> None:
    async with session(node.url) as http:
        olga = await operator(node, http)
        status, got = await olga.get("/routes")
        assert (status, got) == (200, {"rules": [], "routes": [], "prices": []})
        status, first = await olga.send("PUT", "/routes", TABLE)
        assert status == 200, first
        assert first["no_change"] is False and "rule night" in first["added"]
        assert len(first["added"]) == 8 and first["changed"] == first["removed"] == []
        status, got = await olga.get("/routes")
        assert parse_table(got) == parse_table(TABLE)  # the TOML import's reading of it
        assert [p["price"] for p in got["prices"]] == ["0.031", "0.029"]
        assert got["rules"][2]["hours"] == "22:00-06:00"
        status, again = await olga.send("PUT", "/routes", got)  # what GET gave, put back
        assert (status, again["no_change"], again["added"]) == (200, True, [])

        # The TOML file imported by the command line over it: the same table, no change
        routes = tmp_path / "routes.toml"
        routes.write_text(ROUTES)
        config = tmp_path / "smsgate.toml"
        config.write_text(
            "".join(
                f'[[upstreams]]\nname = "{u.name}"\nkind = "{u.kind}"\nurl = "http://x"\n'
                for u in UPSTREAMS
            )
        )
        done = await asyncio.to_thread(
            smsgate,
            "--config",
            str(config),
            "--database",
            node.config.database,
            "routes",
            "import",
            str(routes),
        )
        assert done.stdout.splitlines() == ["no change"], done.stderr

        smaller = copy.deepcopy(got)
        smaller["rules"] = [r for r in smaller["rules"] if r["name"] != "night"]
        smaller["prices"][0]["price"] = "0.03"
        status, third = await olga.send("PUT", "/routes", smaller)
        assert (third["removed"], third["changed"]) == (["rule night"], ["price kcell *"])
        assert (await node.store.routing_table()) == parse_table(smaller)

        status, audit = await olga.get("/audit?target=routes")
        entries = [e for e in audit["entries"] if e["action"] == "routes.apply"]
        assert [e["details"]["no_change"] for e in entries] == [False, True, False]
        assert entries[0]["details"]["removed"] == ["rule night"]
        assert entries[0]["actor"] == "olga"
        assert entries[1]["details"]["added"] == []


BAD = [
    ({"routes": [{"name": "r", "connectors": [{"connector": "beeline"}]}]}, "no connector"),
    ({"rules": [{"name": "a", "route": "nowhere"}]}, "rule 'a': no route 'nowhere'"),
    (
        {"routes": [{"name": "r", "connectors": [{"connector": "oson"}]}] * 2},
        "route 'r' is defined twice",
    ),
    ({"rules": [{"name": "a", "route": "r", "hours": "late"}]}, "is not HH:MM-HH:MM"),
    ({"rules": [{"name": "a", "route": "r", "prefix": ["7"]}]}, "unknown field `prefix`"),
    ({"prices": [{"connector": "oson", "price": "cheap"}]}, "not an amount"),
    ({"prices": 5, "rules": {}}, "rules is not a list"),
    ({"gates": []}, "unknown table(s): gates"),
    ([1, 2], "JSON object"),
]


@both_backends
async def test_a_bad_table_is_refused_with_its_errors_and_nothing_applied(
    node: Gateway,
) -> None:
    async with session(node.url) as http:
        olga = await operator(node, http)
        await olga.send("PUT", "/routes", TABLE)
        for table, reason in BAD:
            status, answer = await olga.send("PUT", "/routes", table)
            assert status == 400, (table, answer)
            assert answer["error"]["code"] == "invalid_field"
            assert any(reason in e for e in answer["error"]["errors"]), (reason, answer)
        both = {
            "rules": [{"name": "a", "route": "nowhere"}],
            "routes": [{"name": "r", "connectors": [{"connector": "beeline"}]}],
        }
        status, answer = await olga.send("PUT", "/routes", both)
        assert len(answer["error"]["errors"]) == 2  # every reason at once
        async with http.put(
            "/admin/api/routes", data=b"{not json", headers={"X-CSRF-Token": olga.csrf}
        ) as r:
            assert r.status == 400 and (await r.json())["error"]["code"] == "malformed_body"
        assert (await node.store.routing_table()) == parse_table(TABLE)


async def test_readonly_and_no_csrf_get_403(node: Gateway) -> None:
    async with session(node.url) as http:
        reader = await login(http, "rita", await make_admin(node.store, "rita", "readonly"))
        status, _ = await reader.get("/routes")
        assert status == 200
        status, answer = await reader.send("PUT", "/routes", TABLE)
        assert status == 403 and answer["error"]["code"] == "forbidden"
        status, _ = await reader.send("POST", "/routes/test", {"phone": "+77011234567"})
        assert status == 200  # testing a number changes nothing
    async with session(node.url) as http:
        await operator(node, http)
        async with http.put("/admin/api/routes", json=TABLE) as r:
            assert r.status == 403 and (await r.json())["error"]["code"] == "csrf"
        async with (
            aiohttp.ClientSession(base_url=node.url) as anonymous,
            anonymous.get("/admin/api/routes") as r,
        ):
            assert r.status == 401
        assert (await node.store.routing_table()).rules == []


def cli_lines(answer: dict[str, Any]) -> list[str]:
    """The API's hops written as `smsgate routes test` writes them."""
    return [
        f"  {i + 1}. {h['connector']} (priority {h['priority']}, weight {h['weight']}, "
        f"{h['price'] or 'unpriced'})"
        for i, h in enumerate(answer["hops"])
    ]


@both_backends
async def test_route_test_answers_what_the_command_line_prints(node: Gateway) -> None:
    async with session(node.url) as http:
        olga = await operator(node, http)
        await olga.send("PUT", "/routes", TABLE)
        cases = [
            ({"phone": "+7 701 123 45 67", "at": NOON_UTC}, "kz", "kz"),
            ({"phone": 992927123456, "at": NOON_UTC}, "tj", "tj"),
            ({"phone": "79161234567", "at": NOON_UTC}, None, None),
            ({"phone": "79161234567", "at": 1700000000}, "night", "cheap"),
        ]
        for given, rule, route in cases:
            status, answer = await olga.send("POST", "/routes/test", given)
            assert status == 200, answer
            assert (answer["rule"] or {}).get("name") == rule
            assert (answer["route"] or {}).get("name") == route
            args = ["routes", "test", str(given["phone"]), "--at", str(int(given["at"]))]
            printed = await asyncio.to_thread(cli, node, *args)
            assert printed[0] == f"number: {answer['phone']} (region {answer['region']})"
            assert printed[3:] == cli_lines(answer), (printed, answer)
            if route is None:
                assert printed[2] == "route: none: the default connector simulator"
                assert answer["default_connector"] == "simulator" and answer["hops"] == []
        _, night = await olga.send("POST", "/routes/test", cases[3][0])
        assert [h["connector"] for h in night["hops"]] == ["oson", "kcell"]  # least cost
        assert [h["breaker_open"] for h in night["hops"]] == [False, False]  # engine's Router

        refused = [
            ({"phone": "hello"}, 400, "invalid_phone"),
            ({"phone": "77011234567", "account": "nobody"}, 404, "not_found"),
            ({"phone": "77011234567", "account": 10**30}, 404, "not_found"),
            ({"phone": "77011234567", "at": -1}, 400, "invalid_field"),
            ({"phone": "77011234567", "sender": "x" * 65}, 400, "invalid_field"),
            ({"phone": "77011234567", "color": "red"}, 400, "invalid_field"),
        ]
        for given, status_wanted, code in refused:
            status, answer = await olga.send("POST", "/routes/test", given)
            assert (status, answer["error"]["code"]) == (status_wanted, code), (given, answer)


async def test_route_test_by_account_and_sender(node: Gateway) -> None:
    [acme] = await node.provision(account("acme"))
    table = {
        "rules": [{"name": "vip", "accounts": [acme], "senders": ["Bank"], "route": "r"}],
        "routes": [{"name": "r", "connectors": [{"connector": "oson"}]}],
    }
    async with session(node.url) as http:
        olga = await operator(node, http)
        assert (await olga.send("PUT", "/routes", table))[0] == 200
        for who in ("acme", acme, str(acme)):
            given = {"phone": "79161234567", "account": who, "sender": "Bank"}
            _, answer = await olga.send("POST", "/routes/test", given)
            assert answer["rule"]["name"] == "vip" and answer["account_id"] == acme
        given = {"phone": "79161234567", "account": "acme", "sender": "Shop"}
        _, answer = await olga.send("POST", "/routes/test", given)
        assert answer["rule"] is None


@both_backends
async def test_upstreams_show_no_credential(node: Gateway) -> None:
    async with session(node.url) as http:
        olga = await operator(node, http)
        await olga.send("PUT", "/routes", TABLE)
        status, answer = await olga.get("/upstreams")
        assert status == 200
        assert answer["default_connector"] == "simulator"
        assert [
            (u["name"], u["kind"], u["host"], u["breaker_open"]) for u in answer["upstreams"]
        ] == [("kcell", "smsgw2", "127.0.0.1:9", False), ("oson", "osonsms", "127.0.0.1:9", False)]
        assert answer["upstreams"][0]["hops"] == [
            {"route": "kz", "priority": 0, "weight": 1},
            {"route": "cheap", "priority": 0, "weight": 1},
        ]
        seen = [answer]
        for path in ("/routes", "/audit", "/status"):
            seen.append((await olga.get(path))[1])
        seen.append((await olga.send("POST", "/routes/test", {"phone": "77011234567"}))[1])
        for shown in seen:
            assert_no_secret(shown)
