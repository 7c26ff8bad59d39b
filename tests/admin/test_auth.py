"""Console authentication over real HTTP: sessions, cookie flags, roles, CSRF, rate limit,
logout and expiry, Basic for scripts, and no secret in any answer or log."""

from __future__ import annotations

import base64
import logging
import time

import aiohttp
import pytest

from smsgate.core.admin import session_key
from tests.admin.support import login, make_admin, session
from tests.support.backends import both_backends
from tests.support.servers import Gateway


def basic(user: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


@both_backends
async def test_no_session_is_401_and_the_session_cookie_is_locked_down(gateway: Gateway) -> None:
    password = await make_admin(gateway.store, "alice")
    async with session(gateway.url) as http:
        async with http.get("/admin/api/accounts") as r:
            assert r.status == 401
            assert (await r.json())["error"]["code"] == "unauthorized"
        async with http.post(
            "/admin/api/login", json={"username": "alice", "password": password}
        ) as r:
            assert r.status == 200
            cookie = r.headers["Set-Cookie"]
        attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")}
        assert {"httponly", "path", "max-age"} <= attributes
        assert "samesite=strict" in cookie.lower() and "path=/admin" in cookie.lower()
        assert "secure" not in attributes  # plain HTTP here; over TLS it is Secure
        async with http.get("/admin/api/accounts") as r:
            assert r.status == 200
        # The store keeps the token's digest, never the token
        token = cookie.split(";")[0].split("=", 1)[1]
        assert await gateway.store.session_user(session_key(token), time.time()) is not None
        assert await gateway.store.session_user(token, time.time()) is None


async def test_secure_cookie_behind_a_tls_proxy(database_url: str) -> None:
    from tests.support.servers import start_gateway, test_config

    gw = await start_gateway(test_config(database_url, forwarded_allow_ips="127.0.0.1"))
    try:
        password = await make_admin(gw.store, "alice")
        async with (
            session(gw.url) as http,
            http.post(
                "/admin/api/login",
                json={"username": "alice", "password": password},
                headers={"X-Forwarded-Proto": "https"},
            ) as r,
        ):
            assert r.status == 200
            attributes = [p.strip().lower() for p in r.headers["Set-Cookie"].split(";")]
            assert "secure" in attributes
    finally:
        await gw.stop()


async def test_wrong_passwords_and_unknown_users_look_alike(gateway: Gateway) -> None:
    await make_admin(gateway.store, "alice")
    async with session(gateway.url) as http:
        answers = []
        for user in ("alice", "nobody"):
            async with http.post(
                "/admin/api/login", json={"username": user, "password": "wrong-password"}
            ) as r:
                answers.append((r.status, await r.json(), "set-cookie" in r.headers))
        assert answers[0] == answers[1]
        assert answers[0][0] == 401 and answers[0][2] is False
    refused = await gateway.store.audit_list()
    assert [(e.action, e.target) for e in reversed(refused)] == [
        ("login.refused", "admin:alice"),
        ("login.refused", "admin:nobody"),
    ]
    assert refused[0].details == {"client": "127.0.0.1"}


@both_backends
async def test_readonly_role_reads_but_cannot_write(gateway: Gateway) -> None:
    password = await make_admin(gateway.store, "viewer", role="readonly")
    async with session(gateway.url) as http:
        viewer = await login(http, "viewer", password)
        assert (await viewer.get("/accounts"))[0] == 200
        status, answer = await viewer.send("POST", "/accounts", {"name": "acme"})
        assert status == 403 and answer["error"]["code"] == "forbidden"
        status, audit = await viewer.get("/audit?target=admin:viewer")
        assert [e["action"] for e in audit["entries"]] == ["denied", "login"]
        assert audit["entries"][0]["details"]["why"] == "read-only"
    assert await gateway.store.account_by_name("acme") is None


@both_backends
async def test_csrf_token_missing_or_wrong_is_403(gateway: Gateway) -> None:
    password = await make_admin(gateway.store, "alice")
    async with session(gateway.url) as http:
        alice = await login(http, "alice", password)
        for headers in ({}, {"X-CSRF-Token": "0" * 64}, {"X-CSRF-Token": ""}):
            async with http.post(
                "/admin/api/accounts", json={"name": "acme"}, headers=headers
            ) as r:
                assert r.status == 403
                assert (await r.json())["error"]["code"] == "csrf"
        assert await gateway.store.account_by_name("acme") is None
        assert (await alice.send("POST", "/accounts", {"name": "acme"}))[0] == 201
        _, audit = await alice.get("/audit?target=admin:alice")
        denied = [e for e in audit["entries"] if e["action"] == "denied"]
        assert len(denied) == 3 and denied[0]["details"]["path"] == "/admin/api/accounts"


async def test_another_admins_csrf_token_does_not_pass(gateway: Gateway) -> None:
    """The token is bound to the session: bob's does not validate alice's requests."""
    pw_a = await make_admin(gateway.store, "alice")
    pw_b = await make_admin(gateway.store, "bob")
    async with session(gateway.url) as http_a, session(gateway.url) as http_b:
        alice = await login(http_a, "alice", pw_a)
        bob = await login(http_b, "bob", pw_b)
        assert alice.csrf != bob.csrf
        alice.csrf = bob.csrf
        assert (await alice.send("POST", "/accounts", {"name": "acme"}))[0] == 403


@both_backends
async def test_a_session_is_dead_after_logout_and_after_expiry(gateway: Gateway) -> None:
    pw_a = await make_admin(gateway.store, "alice")
    pw_b = await make_admin(gateway.store, "bob")
    async with session(gateway.url) as http_a, session(gateway.url) as http_b:
        alice = await login(http_a, "alice", pw_a)
        await login(http_b, "bob", pw_b)
        stolen = {c.key: c.value for c in http_a.cookie_jar}
        assert (await alice.send("POST", "/logout"))[0] == 204
        assert (await alice.get("/me"))[0] == 401
        # alice's token, replayed by someone else after her logout: refused
        async with session(gateway.url) as thief:
            thief.cookie_jar.update_cookies(stolen)
            async with thief.get("/admin/api/me") as r:
                assert r.status == 401
        async with http_b.get("/admin/api/me") as r:  # bob's session is his own: still live
            assert r.status == 200 and (await r.json())["username"] == "bob"
    # Expiry: a session that ended is refused although its token is right
    user = await gateway.store.admin_login("bob")
    assert user is not None
    await gateway.store.session_start(session_key("old-token"), user.user.id, 0.0, 1.0)
    async with session(gateway.url) as http:
        http.cookie_jar.update_cookies({"smsgate_admin": "old-token"})
        async with http.get("/admin/api/me") as r:
            assert r.status == 401


async def test_a_password_change_ends_the_sessions(gateway: Gateway) -> None:
    from smsgate.core.passwords import hash_password

    password = await make_admin(gateway.store, "alice")
    async with session(gateway.url) as http:
        alice = await login(http, "alice", password)
        assert (await alice.get("/me"))[0] == 200
        await gateway.store.admin_update("alice", password_hash=hash_password("new-password-1"))
        assert (await alice.get("/me"))[0] == 401


async def test_login_rate_limit_per_user_and_per_address(gateway: Gateway) -> None:
    password = await make_admin(gateway.store, "alice")
    async with session(gateway.url) as http:
        for _ in range(10):  # the burst: 10 attempts, right or wrong
            async with http.post(
                "/admin/api/login", json={"username": "alice", "password": "guess-1234"}
            ) as r:
                assert r.status == 401
        async with http.post(
            "/admin/api/login", json={"username": "alice", "password": password}
        ) as r:
            assert r.status == 429  # even the right password, now
            assert int(r.headers["Retry-After"]) >= 1
            assert (await r.json())["error"]["code"] == "throttled"
        # The address's bucket is empty too: another user from here waits as well
        await make_admin(gateway.store, "bob")
        async with http.post(
            "/admin/api/login", json={"username": "bob", "password": "bob-password-1"}
        ) as r:
            assert r.status == 429


async def test_basic_auth_for_scripts_needs_no_csrf(gateway: Gateway) -> None:
    password = await make_admin(gateway.store, "script")
    await make_admin(gateway.store, "viewer", role="readonly")
    async with aiohttp.ClientSession(base_url=gateway.url) as http:
        async with http.post(
            "/admin/api/accounts", json={"name": "acme"}, headers=basic("script", password)
        ) as r:
            assert r.status == 201
        async with http.get("/admin/api/accounts", headers=basic("script", "wrong")) as r:
            assert r.status == 401
        async with http.post(
            "/admin/api/accounts",
            json={"name": "b"},
            headers=basic("viewer", "viewer-password-1"),
        ) as r:
            assert r.status == 403


async def test_no_password_or_token_in_answers_or_logs(
    gateway: Gateway, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    password = await make_admin(gateway.store, "alice")
    async with session(gateway.url) as http:
        async with http.post(
            "/admin/api/login", json={"username": "alice", "password": "not-it-" + password}
        ) as r:
            assert r.status == 401
        alice = await login(http, "alice", password)
        token = next(c.value for c in http.cookie_jar if c.key == "smsgate_admin")
        status, me = await alice.get("/me")
        assert status == 200 and password not in str(me) and token not in str(me)
    logged = caplog.text
    assert "admin login refused" in logged  # the refusal is logged ...
    for secret in (password, "not-it-" + password, token):  # ... without a secret
        assert secret not in logged
