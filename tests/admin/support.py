"""Admin API test helpers: admin users in the store, and a logged-in client over real HTTP."""

from __future__ import annotations

import time
from typing import Any

import aiohttp

from smsgate.core.admin import Role
from smsgate.core.passwords import hash_password
from smsgate.store.base import Store


async def make_admin(store: Store, username: str, role: Role = "operator") -> str:
    """A console user; its password."""
    password = f"{username}-password-1"
    await store.admin_create(username, hash_password(password), role, time.time())
    return password


def session(base_url: str) -> aiohttp.ClientSession:
    """A client that keeps cookies for 127.0.0.1 (aiohttp's default jar drops IP hosts')."""
    return aiohttp.ClientSession(base_url=base_url, cookie_jar=aiohttp.CookieJar(unsafe=True))


class Admin:
    """A logged-in console user: its session and the CSRF token its changes carry."""

    def __init__(self, http: aiohttp.ClientSession, csrf: str) -> None:
        self.http = http
        self.csrf = csrf

    async def get(self, path: str) -> tuple[int, Any]:
        async with self.http.get(f"/admin/api{path}") as r:
            return r.status, await r.json(content_type=None)

    async def send(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        headers = {"X-CSRF-Token": self.csrf}
        async with self.http.request(method, f"/admin/api{path}", json=body, headers=headers) as r:
            text = await r.read()
            return r.status, (await r.json(content_type=None)) if text else None


async def login(http: aiohttp.ClientSession, username: str, password: str) -> Admin:
    async with http.post(
        "/admin/api/login", json={"username": username, "password": password}
    ) as r:
        assert r.status == 200, await r.text()
        return Admin(http, (await r.json())["csrf_token"])
