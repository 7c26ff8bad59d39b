"""The admin API under /admin/api: JSON for scripts and the dashboard. This module has the
session endpoints (login, logout, me), the audit log and the status view, and gathers every
route (`routes()`); accounts, credentials, the ledger, callbacks and the routing table
(api_routes) have modules of their own.

Authentication: the session cookie of `POST /admin/api/login` (and the `X-CSRF-Token` header
on every change), or `Authorization: Basic` for scripts (no CSRF token then). See
docs/console.md."""

from __future__ import annotations

import time
from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from ..core.admin import AuditEntry, session_key
from ..core.errors import ErrorCode, GatewayError
from . import api_accounts, api_callbacks, api_credentials, api_ledger, api_routes
from .api_common import admin_of, body, endpoint, error, json, query_int
from .auth import LoginRefused, csrf_for, csrf_token, login, logout, set_session_cookie
from .context import context_of
from .status import status_view


class LoginBody(msgspec.Struct, forbid_unknown_fields=True):
    username: str
    password: str


async def login_endpoint(request: Request) -> Response:
    """Start a session: its cookie, and the CSRF token its changes must carry."""
    try:
        given = await body(request, LoginBody)
    except GatewayError as exc:
        return error(exc)
    context = context_of(request)
    client = request.client.host if request.client else "unknown"
    outcome = await login(context.store, given.username, given.password, client, context.settings)
    if isinstance(outcome, LoginRefused):
        if outcome.reason == "throttled":
            answer = error(GatewayError(ErrorCode.THROTTLED, "too many attempts, wait"))
            answer.headers["Retry-After"] = str(max(1, round(outcome.retry_after)))
            return answer
        return error(GatewayError(ErrorCode.UNAUTHORIZED, "wrong user name or password"))
    user = await context.store.session_user(session_key(outcome), time.time())
    if user is None:  # removed in the same instant
        return error(GatewayError(ErrorCode.UNAUTHORIZED, "wrong user name or password"))
    answer = json({"username": user.username, "role": user.role, "csrf_token": csrf_for(outcome)})
    set_session_cookie(answer, request, outcome, context.settings)
    return answer


@endpoint(write=True)
async def logout_endpoint(request: Request) -> Response:
    answer = Response(status_code=204)
    await logout(request, answer)
    return answer


@endpoint()
async def me(request: Request) -> Response:
    user = admin_of(request)
    return json({"username": user.username, "role": user.role, "csrf_token": csrf_token(request)})


def audit_view(entry: AuditEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "at": entry.at,
        "actor": entry.actor,
        "action": entry.action,
        "target": entry.target,
        "details": entry.details,
    }


@endpoint()
async def audit_log(request: Request) -> Response:
    """Newest first; `target` ("account:12"), `before` (an id: the next page), `limit`."""
    limit = query_int(request, "limit", 100) or 100
    entries = await context_of(request).store.audit_list(
        target=request.query_params.get("target") or None,
        before_id=query_int(request, "before", None),
        limit=limit,
    )
    after = entries[-1].id if len(entries) == limit else None
    return json({"entries": [audit_view(e) for e in entries], "next_before": after})


@endpoint()
async def status(request: Request) -> Response:
    return json(await status_view(context_of(request)))


def routes() -> list[BaseRoute]:
    """Every admin API route, relative to /admin/api."""
    return [
        Route("/login", login_endpoint, methods=["POST"]),
        Route("/logout", logout_endpoint, methods=["POST"]),
        Route("/me", me, methods=["GET"]),
        Route("/audit", audit_log, methods=["GET"]),
        Route("/status", status, methods=["GET"]),
        *api_accounts.routes(),
        *api_credentials.routes(),
        *api_ledger.routes(),
        *api_callbacks.routes(),
        *api_routes.routes(),
    ]
