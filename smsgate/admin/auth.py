"""Who is using the console, and whether they may: logins, sessions, CSRF, roles.

The interface the console's pages (smsgate/admin/pages*.py) and the admin API both use:

- `await current_admin(request) -> AdminUser | None`: the admin of the request's session
  cookie (or of an `Authorization: Basic` header, for scripts), None if nobody valid. Read
  once per request (kept on `request.state`).
- `require_page(write=False)` / `require_api(write=False)`: decorators for an endpoint
  `async def handler(request) -> Response`. They put the admin on `request.state.admin` and
  refuse otherwise: a page redirects to `<admin root>/login?next=<path>` without a session and
  answers 403 to a read-only admin's write; the API answers JSON 401 and 403. With
  `write=True` the request must also carry the session's CSRF token: the API in the
  `X-CSRF-Token` header, a page's form in the field `csrf_token` (the decorator reads the form;
  the handler may read it again). Basic-authenticated requests need no CSRF token (a browser
  never sends those credentials on its own: the console never asks for them).
- `csrf_token(request) -> str`: the CSRF token of the request's session, to put in every form
  (`<input type="hidden" name="csrf_token" value="...">`) and the page's
  `<meta name="csrf-token">` for htmx (`hx-headers`). "" without a session. Session-bound: an
  HMAC of the session token, so it needs no storage and dies with the session.
- `await check_csrf(request, submitted) -> bool`: whether `submitted` is that token.
- `await login(store, username, password, client_ip, settings=...) -> str | LoginRefused`:
  checks the rate limit (per user name and per client address), then the password; returns
  the new session token, the cookie's value. `set_session_cookie(response, request, token,
  settings)` puts it on the answer (`HttpOnly`, `SameSite=Strict`, `Path=/admin`, `Secure`
  when the request came over TLS, Max-Age the session's lifetime).
- `await logout(request, response)`: ends the request's session and clears the cookie.

Sessions are kept server-side by the SHA-256 of their token (core.admin.session_key): a
database reader cannot use one. A password change or the removal of an admin ends its sessions.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import functools
import hashlib
import hmac
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Literal, cast
from urllib.parse import quote

import msgspec
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from ..core import passwords
from ..core.admin import AdminUser, may_write, session_key
from ..store.base import Store
from .context import context_of
from .settings import AdminConfig

log = logging.getLogger("smsgate.admin")

SESSION_COOKIE = "smsgate_admin"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
COOKIE_PATH = "/admin"
_BASIC_TTL = 10.0  # seconds a verified Basic password is reused without scrypt

_UNKNOWN = object()
Endpoint = Callable[[Request], Awaitable[Response]]


class LoginRefused(msgspec.Struct, frozen=True):
    """Why a login failed: `invalid` (no such user or wrong password: never said which) or
    `throttled` (too many attempts; `retry_after` seconds)."""

    reason: Literal["invalid", "throttled"]
    retry_after: float = 0.0


def _new_session_token() -> str:
    return secrets.token_urlsafe(32)  # 256 random bits


async def login(
    store: Store,
    username: str,
    password: str,
    client_ip: str,
    settings: AdminConfig | None = None,
) -> str | LoginRefused:
    """A new session's token for `username`, or why not. Every attempt counts against the
    rate limit, right or wrong; a refused attempt is logged (without the password)."""
    settings = settings or AdminConfig()
    now = time.time()
    keys = [f"user:{username[:64].lower()}", f"ip:{client_ip}"]
    wait = await store.login_throttle(keys, settings.login_limit(), now)
    if wait > 0:
        log.warning("admin login throttled for user %r from %s", username, client_ip)
        await _audit_login(store, "login.throttled", username, client_ip, now)
        return LoginRefused("throttled", retry_after=round(wait, 1))
    user = await _verified(store, username, password)
    if user is None:
        log.warning("admin login refused for user %r from %s", username, client_ip)
        await _audit_login(store, "login.refused", username, client_ip, now)
        return LoginRefused("invalid")
    token = _new_session_token()
    await store.session_start(session_key(token), user.id, now, now + settings.session_lifetime)
    log.info("admin %r logged in from %s", user.username, client_ip)
    await _audit_login(store, "login", user.username, client_ip, now)
    return token


async def _audit_login(store: Store, action: str, username: str, client: str, now: float) -> None:
    """A login, refused or not, in the audit log: who tried (the name as given, cut to 64
    characters), from where. Never the password."""
    name = username[:64]
    await store.audit_add(name, action, f"admin:{name}", {"client": client}, now)


async def _denied(request: Request, user: AdminUser, why: str) -> None:
    """A change refused to a logged-in admin (read-only, or no CSRF token): logged and
    audited, for it may be a forged request."""
    log.warning("admin %s denied %s %s: %s", user.username, request.method, request.url.path, why)
    details = {"method": request.method, "path": request.url.path, "why": why}
    await context_of(request).store.audit_add(
        user.username, "denied", f"admin:{user.username}", details, time.time()
    )


async def _verified(store: Store, username: str, password: str) -> AdminUser | None:
    """The user whose password this is. scrypt runs in a thread (it takes ~50 ms); a missing
    user is checked against a dummy hash, so that timing does not tell names apart."""
    found = await store.admin_login(username)
    stored = found.password_hash if found else passwords.DUMMY_HASH
    ok = await asyncio.to_thread(passwords.verify_password, password, stored)
    return found.user if ok and found is not None else None


async def logout(request: Request, response: Response) -> None:
    """End the request's session (if any) and clear its cookie on `response`."""
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        await context_of(request).store.session_end(session_key(token))
    response.delete_cookie(SESSION_COOKIE, path=COOKIE_PATH, httponly=True, samesite="strict")


def set_session_cookie(
    response: Response, request: Request, token: str, settings: AdminConfig
) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(settings.session_lifetime),
        path=COOKIE_PATH,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


async def current_admin(request: Request) -> AdminUser | None:
    """The admin making this request: by session cookie, else by Basic credentials."""
    cached = getattr(request.state, "admin", _UNKNOWN)
    if cached is not _UNKNOWN:
        return cast(AdminUser | None, cached)
    user = await _by_session(request)
    if user is None and request.headers.get("authorization", "")[:6].lower() == "basic ":
        user = await _by_basic(request)
        request.state.basic_auth = user is not None
    request.state.admin = user
    return user


async def _by_session(request: Request) -> AdminUser | None:
    token = request.cookies.get(SESSION_COOKIE)
    if not token or len(token) > 256:
        return None
    return await context_of(request).store.session_user(session_key(token), time.time())


async def _by_basic(request: Request) -> AdminUser | None:
    """Basic credentials, for scripts. A verified pair is reused for 10 s (scrypt per
    request would cost ~50 ms each), so a removed admin's or an old password's Basic requests
    may still pass for that long; a new pair counts against the login rate limit."""
    try:
        decoded = base64.b64decode(request.headers["authorization"][6:].strip(), validate=True)
        username, _, password = decoded.decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    context = context_of(request)
    remembered = context.basic_logins
    now = time.monotonic()
    key = hashlib.sha256(decoded).hexdigest()
    hit = remembered.get(key)
    if hit is not None and hit[1] > now:
        return hit[0]
    client = request.client.host if request.client else "unknown"
    wait = await context.store.login_throttle(
        [f"user:{username[:64].lower()}", f"ip:{client}"],
        context.settings.login_limit(),
        time.time(),
    )
    user = None if wait > 0 else await _verified(context.store, username, password)
    if user is None:
        log.warning("admin API Basic credentials refused for user %r from %s", username, client)
        action = "login.throttled" if wait > 0 else "login.refused"
        await _audit_login(context.store, action, username, client, time.time())
        return None
    if len(remembered) > 1000:
        remembered.clear()
    remembered[key] = (user, now + _BASIC_TTL)
    return user


def csrf_token(request: Request) -> str:
    """The CSRF token bound to the request's session ("" without a session cookie)."""
    token = request.cookies.get(SESSION_COOKIE)
    return csrf_for(token) if token else ""


def csrf_for(session_token: str) -> str:
    """The CSRF token of a session (e.g. of one just started, before its cookie comes back)."""
    return hmac.new(session_token.encode(), b"smsgate-admin-csrf", hashlib.sha256).hexdigest()


async def check_csrf(request: Request, submitted: str) -> bool:
    """Whether `submitted` is the session's CSRF token (always true for Basic requests)."""
    await current_admin(request)
    if getattr(request.state, "basic_auth", False):
        return True
    expected = csrf_token(request)
    return bool(expected) and hmac.compare_digest(expected.encode(), submitted.encode())


def _api_refusal(status: int, code: str, message: str) -> Response:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


def require_api(write: bool = False) -> Callable[[Endpoint], Endpoint]:
    """An admin API endpoint: 401 without a valid session or Basic credentials, 403 for a
    write by a read-only admin or without the CSRF header."""

    def wrap(handler: Endpoint) -> Endpoint:
        @functools.wraps(handler)
        async def endpoint(request: Request) -> Response:
            user = await current_admin(request)
            if user is None:
                return _api_refusal(401, "unauthorized", "log in first")
            if write and not may_write(user):
                await _denied(request, user, "read-only")
                return _api_refusal(403, "forbidden", "a read-only admin cannot change this")
            if write and not await check_csrf(request, request.headers.get(CSRF_HEADER, "")):
                await _denied(request, user, "CSRF token missing or wrong")
                return _api_refusal(403, "csrf", f"missing or wrong {CSRF_HEADER} header")
            return await handler(request)

        return endpoint

    return wrap


def login_url(request: Request) -> str:
    """The console's login page, coming back to this page after the login."""
    root = request.scope.get("root_path", "")
    return f"{root}/login?next={quote(request.url.path, safe='/')}"


def require_page(write: bool = False) -> Callable[[Endpoint], Endpoint]:
    """A console page: to the login page without a session; 403 for a write by a read-only
    admin or without the form's `csrf_token` field."""

    def wrap(handler: Endpoint) -> Endpoint:
        @functools.wraps(handler)
        async def endpoint(request: Request) -> Response:
            user = await current_admin(request)
            if user is None:
                return RedirectResponse(login_url(request), status_code=303)
            if write and not may_write(user):
                await _denied(request, user, "read-only")
                return Response("A read-only admin cannot change this.", status_code=403)
            if write:
                form = await request.form()
                submitted = form.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER, "")
                if not await check_csrf(request, str(submitted)):
                    await _denied(request, user, "CSRF token missing or wrong")
                    return Response("Missing or wrong CSRF token.", status_code=403)
            return await handler(request)

        return endpoint

    return wrap
