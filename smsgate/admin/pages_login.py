"""The console's login and logout pages (the sessions themselves are auth.py's)."""

from __future__ import annotations

import hmac
import logging
import secrets

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from . import auth
from .context import context_of
from .pages_render import render, root_of

# The login form's CSRF token: there is no session yet, so it is a random value in a cookie
# of its own that the form must repeat (double submit; the cookie is SameSite=Strict).
LOGIN_COOKIE = "smsgate_login_csrf"
log = logging.getLogger("smsgate.admin")


def _safe_next(request: Request, wanted: str) -> str:
    """Where to go after the login: a page of the console only (never another site)."""
    root = root_of(request)
    if wanted.startswith(root + "/") and not wanted.startswith("//") and "\\" not in wanted:
        return wanted
    return root + "/"


def _form(request: Request, status: int, token: str, **values: str) -> Response:
    values.setdefault("next", request.query_params.get("next", ""))
    response = render(request, "login.html", status, login_csrf=token, **values)
    response.set_cookie(
        LOGIN_COOKIE,
        token,
        path=auth.COOKIE_PATH,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response


async def login_page(request: Request) -> Response:
    return _form(request, 200, request.cookies.get(LOGIN_COOKIE) or secrets.token_urlsafe(24))


async def login_submit(request: Request) -> Response:
    context = context_of(request)
    form = await request.form()
    username, password = str(form.get("username", "")), str(form.get("password", ""))
    wanted = str(form.get("next", ""))
    expected = request.cookies.get(LOGIN_COOKIE, "")
    submitted = str(form.get(auth.CSRF_FIELD, ""))
    client = request.client.host if request.client else "unknown"
    if not expected or not hmac.compare_digest(expected.encode(), submitted.encode()):
        log.warning("console login form refused from %s: missing or wrong form token", client)
        fresh = secrets.token_urlsafe(24)
        return _form(request, 403, fresh, error="The form expired: try again.", next=wanted)
    outcome = await auth.login(context.store, username, password, client, context.settings)
    if isinstance(outcome, auth.LoginRefused):
        if outcome.reason == "throttled":
            error, status = f"Too many attempts: wait {outcome.retry_after:g} s.", 429
        else:
            error, status = "Wrong user name or password.", 401
        return _form(request, status, expected, error=error, next=wanted, username=username)
    response = RedirectResponse(_safe_next(request, wanted), status_code=303)
    auth.set_session_cookie(response, request, outcome, context.settings)
    response.delete_cookie(LOGIN_COOKIE, path=auth.COOKIE_PATH)
    return response


@auth.require_page(write=False)
async def logout(request: Request) -> Response:
    """Ends the session; a POST with the session's CSRF token (a link could be forged)."""
    form = await request.form()
    if not await auth.check_csrf(request, str(form.get(auth.CSRF_FIELD, ""))):
        admin = await auth.current_admin(request)  # there is one: require_page let it in
        name = admin.username if admin else "?"
        log.warning("console logout refused for %s: missing or wrong CSRF token", name)
        return Response("Missing or wrong CSRF token.", status_code=403)
    response = RedirectResponse(root_of(request) + "/login", status_code=303)
    await auth.logout(request, response)
    return response
