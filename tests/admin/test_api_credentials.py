"""Credentials through the admin API, checked where they are used: the dialects' own APIs over
real HTTP. Listed without secrets; a revoked token is refused (401); a rotated secret works
and the old one does not; a new secret is in its one answer only."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

import aiohttp
import pytest

from tests.admin.support import Admin, login, make_admin, session
from tests.support.backends import both_backends
from tests.support.servers import Gateway, account

CACHE = 2.0  # seconds the gateway reuses a verified credential (engine/gateway.py AUTH_TTL)


async def native_status(gateway: Gateway, token: str) -> int:
    headers = {"Authorization": f"Bearer {token}"}
    async with (
        aiohttp.ClientSession(base_url=gateway.url) as client,
        client.get("/api/v1/balance", headers=headers) as r,
    ):
        return r.status


async def smsc_balance(gateway: Gateway, login_: str, password: str) -> str:
    async with aiohttp.ClientSession(base_url=gateway.url) as client:
        query = {"login": login_, "psw": password, "fmt": "3"}
        async with client.get("/sys/balance.php", params=query) as r:
            return await r.text()


async def eventually(check: Callable[[], Awaitable[bool]], within: float = CACHE + 2) -> None:
    """`check` holds within `within` seconds (credentials are cached for CACHE seconds)."""
    deadline = asyncio.get_running_loop().time() + within
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, "not in time"
        await asyncio.sleep(0.1)


async def operator(gateway: Gateway, http: aiohttp.ClientSession) -> Admin:
    return await login(http, "alice", await make_admin(gateway.store, "alice"))


def ref(credentials: list[dict[str, str]], dialect: str, kind: str) -> str:
    return next(c["ref"] for c in credentials if (c["dialect"], c["kind"]) == (dialect, kind))


@both_backends
async def test_list_shows_no_secret(gateway: Gateway) -> None:
    [acme] = await gateway.provision(account("acme"))
    async with session(gateway.url) as http:
        alice = await operator(gateway, http)
        status, answer = await alice.get(f"/accounts/{acme}/credentials")
        assert status == 200
        listed = answer["credentials"]
        assert {(c["dialect"], c["kind"]) for c in listed} >= {
            ("native", "token"),
            ("osonsms", "salt"),
            ("smsc", "login"),
        }
        text = str(answer)
        stored = await gateway.store.credentials_of(acme)
        for secret in ["acme-token", "acme-pw", "acme-salt", *(c.secret for c in stored)]:
            if secret not in ("token",):  # a token's label is no secret
                assert secret not in text, secret
        assert all("secret" not in c for c in listed)


@both_backends
async def test_a_revoked_token_gets_401(gateway: Gateway) -> None:
    [acme] = await gateway.provision(account("acme"))
    assert await native_status(gateway, "acme-token") == 200
    async with session(gateway.url) as http:
        alice = await operator(gateway, http)
        _, listed = await alice.get(f"/accounts/{acme}/credentials")
        token_ref = ref(listed["credentials"], "native", "token")
        status, answer = await alice.send(
            "POST", f"/accounts/{acme}/credentials/{token_ref}/revoke"
        )
        assert status == 200 and answer["revoked"]["kind"] == "token"
        assert (await alice.send("POST", f"/accounts/{acme}/credentials/{token_ref}/revoke"))[
            0
        ] == 404
        status, audit = await alice.get(f"/audit?target=account:{acme}")
        assert audit["entries"][0]["action"] == "credential.revoke"
    await eventually(lambda: _is(native_status(gateway, "acme-token"), 401))


async def _is(status: Awaitable[int], expected: int) -> bool:
    return await status == expected


@both_backends
async def test_a_rotated_token_works_and_the_old_one_does_not(
    gateway: Gateway, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    [acme] = await gateway.provision(account("acme"))
    async with session(gateway.url) as http:
        alice = await operator(gateway, http)
        _, listed = await alice.get(f"/accounts/{acme}/credentials")
        token_ref = ref(listed["credentials"], "native", "token")
        status, rotated = await alice.send(
            "POST", f"/accounts/{acme}/credentials/{token_ref}/rotate"
        )
        assert status == 200 and rotated["shown_once"] is True
        new = rotated["secret"]
        assert len(new) >= 32 and rotated["ref"] != token_ref
        assert await native_status(gateway, new) == 200
        await eventually(lambda: _is(native_status(gateway, "acme-token"), 401))
        _, again = await alice.get(f"/accounts/{acme}/credentials")
        assert new not in str(again)  # shown once: never listed
        _, audit = await alice.get("/audit")
        assert new not in str(audit)
    assert new not in caplog.text


@both_backends
async def test_a_rotated_password_works_and_the_old_one_does_not(gateway: Gateway) -> None:
    [acme] = await gateway.provision(account("acme"))
    assert "balance" in await smsc_balance(gateway, "acme", "acme-pw")
    async with session(gateway.url) as http:
        alice = await operator(gateway, http)
        _, listed = await alice.get(f"/accounts/{acme}/credentials")
        login_ref = ref(listed["credentials"], "smsc", "login")
        status, rotated = await alice.send(
            "POST", f"/accounts/{acme}/credentials/{login_ref}/rotate"
        )
        assert status == 200 and rotated["ref"] == login_ref  # same login, new password
        assert rotated["identifier"] == "acme"
    assert "balance" in await smsc_balance(gateway, "acme", rotated["secret"])

    async def old_refused() -> bool:
        return "balance" not in await smsc_balance(gateway, "acme", "acme-pw")

    await eventually(old_refused)


async def test_a_new_credential_is_shown_once_and_never_taken_from_another(
    gateway: Gateway,
) -> None:
    acme, _ = await gateway.provision(account("acme"), account("other"))
    async with session(gateway.url) as http:
        alice = await operator(gateway, http)
        path = f"/accounts/{acme}/credentials"
        status, made = await alice.send(
            "POST", path, {"dialect": "native", "kind": "token", "identifier": "ci"}
        )
        assert status == 201 and made["label"] == "ci"
        assert await native_status(gateway, made["secret"]) == 200
        # "other"'s SMSC login is not moved to acme
        status, refused = await alice.send(
            "POST", path, {"dialect": "smsc", "kind": "login", "identifier": "other"}
        )
        assert status == 409 and refused["error"]["code"] == "duplicate"
        assert "balance" in await smsc_balance(gateway, "other", "other-pw")
        for bad in (
            {"dialect": "nope", "kind": "token"},
            {"dialect": "smsc", "kind": "magic", "identifier": "x"},
            {"dialect": "smsc", "kind": "login"},
        ):
            assert (await alice.send("POST", path, bad))[0] == 400, bad


async def test_a_deactivated_account_gets_401(gateway: Gateway) -> None:
    [acme] = await gateway.provision(account("acme"))
    async with session(gateway.url) as http:
        alice = await operator(gateway, http)
        assert (await alice.send("POST", f"/accounts/{acme}/deactivate"))[0] == 200
    await eventually(lambda: _is(native_status(gateway, "acme-token"), 401))
