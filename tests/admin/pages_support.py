"""What the console's page tests share: an admin, a logged-in HTTP session on a real server."""

from __future__ import annotations

import re
import time

import aiohttp

from smsgate.core.passwords import hash_password
from tests.support.servers import Gateway

PASSWORD = "console-password-1"


async def make_admin(gateway: Gateway, name: str = "root", role: str = "operator") -> None:
    await gateway.store.admin_create(name, hash_password(PASSWORD), role, time.time())  # type: ignore[arg-type]


def session() -> aiohttp.ClientSession:
    """A client that keeps cookies for 127.0.0.1 (aiohttp's default jar drops an IP's)."""
    return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))


def form_token(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]*)"', page)
    assert found, "no csrf_token field in the page"
    return found.group(1)


async def log_in(http: aiohttp.ClientSession, gateway: Gateway, name: str = "root") -> str:
    """Log in through the login form; the session's CSRF token (from the next page)."""
    async with http.get(f"{gateway.url}/admin/login") as r:
        token = form_token(await r.text())
    data = {"username": name, "password": PASSWORD, "csrf_token": token, "next": "/admin/"}
    async with http.post(f"{gateway.url}/admin/login", data=data, allow_redirects=False) as r:
        assert r.status == 303, await r.text()
    async with http.get(f"{gateway.url}/admin/") as r:
        assert r.status == 200
        return form_token(await r.text())  # the logout form's


async def send(gateway: Gateway, token: str, **body: object) -> dict[str, object]:
    async with aiohttp.ClientSession() as http:
        headers = {"Authorization": f"Bearer {token}"}
        async with http.post(f"{gateway.url}/api/v1/messages", json=body, headers=headers) as r:
            assert r.status == 201, await r.text()
            answer: dict[str, object] = await r.json()
            return answer
