"""What every admin API endpoint shares: its wrapper (authentication, role, CSRF, errors in one
JSON form), body decoding, the audit entry of a change, and how an account is shown."""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlsplit, urlunsplit

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from ..core.admin import AdminUser
from ..core.errors import ErrorCode, GatewayError
from ..core.models import Account
from ..core.money import from_micros
from ..dialects.http import HTTP_STATUS, read_body
from ..store.base import StoreUnavailable
from .auth import require_api
from .context import context_of

log = logging.getLogger("smsgate.admin")
T = TypeVar("T")
Endpoint = Callable[[Request], Awaitable[Response]]
MAX_BODY = 1024 * 1024  # an admin request is small; a stop list of many numbers fits
# Settings keys whose values are secrets: shown as *** (an account's callback signing secret).
_SECRET_WORDS = ("secret", "password", "token", "key", "salt")
MASK = "***"


def _secret_key(key: str) -> bool:
    return any(word in key.lower() for word in _SECRET_WORDS)


def json(data: Any, status: int = 200) -> Response:
    return Response(msgspec.json.encode(data), status_code=status, media_type="application/json")


def error(exc: GatewayError) -> Response:
    """A refusal as {"error": {"code", "message", "field"}} with its HTTP status."""
    body: dict[str, Any] = {"code": exc.code.value, "message": exc.detail}
    if exc.field:
        body["field"] = exc.field
    status = HTTP_STATUS.get(exc.code, 400)  # a bad phone, sender, amount...: the request's
    return json({"error": body}, status)


def endpoint(write: bool = False) -> Callable[[Endpoint], Endpoint]:
    """An admin API endpoint (auth.require_api), whose refusals are answered as JSON: a
    GatewayError with its status, a store that cannot be reached with 503. Every refusal of
    a write is logged with the admin's name."""

    def wrap(handler: Endpoint) -> Endpoint:
        @functools.wraps(handler)
        async def guarded(request: Request) -> Response:
            try:
                return await handler(request)
            except GatewayError as exc:
                if write:
                    log.warning(
                        "admin %s: %s %s refused: %s",
                        admin_name(request),
                        request.method,
                        request.url.path,
                        exc.detail,
                    )
                return error(exc)
            except StoreUnavailable as exc:
                log.warning("admin API: storage unavailable: %s", exc)
                return error(GatewayError(ErrorCode.UNAVAILABLE, "storage unavailable, retry"))

        return require_api(write)(guarded)

    return wrap


def admin_of(request: Request) -> AdminUser:
    """The admin the endpoint wrapper let in."""
    user: AdminUser = request.state.admin
    return user


def admin_name(request: Request) -> str:
    user = getattr(request.state, "admin", None)
    return user.username if isinstance(user, AdminUser) else "?"


async def body(request: Request, kind: type[T]) -> T:
    """The JSON body as `kind` (a Struct that forbids unknown fields): MALFORMED_BODY if not."""
    raw = await read_body(request, MAX_BODY)
    try:
        return msgspec.json.decode(raw or b"{}", type=kind)
    except msgspec.ValidationError as exc:
        raise GatewayError(ErrorCode.INVALID_FIELD, str(exc)) from None
    except msgspec.DecodeError as exc:
        raise GatewayError(ErrorCode.MALFORMED_BODY, f"not JSON: {exc}") from None


def path_int(request: Request, name: str) -> int:
    """A numeric id from the path; anything else, or out of the ids' range, is NOT_FOUND."""
    given = request.path_params[name]
    if not given.isascii() or not given.isdigit() or not 0 < int(given) < 2**62:
        raise GatewayError(ErrorCode.NOT_FOUND, f"no {name} {given!r}")
    return int(given)


def query_int(request: Request, name: str, default: int | None, high: int = 1000) -> int | None:
    value = request.query_params.get(name)
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise GatewayError(ErrorCode.INVALID_FIELD, f"{name} is not a number", field=name) from None
    if not 1 <= number <= (high if name == "limit" else 2**62):
        raise GatewayError(ErrorCode.INVALID_FIELD, f"{name} is out of range", field=name)
    return number


async def audit(request: Request, action: str, target: str, **details: Any) -> None:
    """Keep who did what to what; `details` never carry a secret."""
    await context_of(request).store.audit_add(
        admin_of(request).username, action, target, details, time.time()
    )


def amount(micros: int) -> str:
    """Money as a decimal string of the account's currency: 999650000 -> "999.65"."""
    return f"{from_micros(micros):f}"


def masked_settings(settings: dict[str, Any]) -> dict[str, Any]:
    """An account's settings as they may be shown: secret values as ***, at any depth."""
    shown: dict[str, Any] = {}
    for key, value in settings.items():
        if isinstance(value, dict):
            shown[key] = masked_settings(value)
        elif _secret_key(key) and value:
            shown[key] = MASK
        else:
            shown[key] = value
    return shown


def account_view(account: Account) -> dict[str, Any]:
    return {
        "id": account.id,
        "name": account.name,
        "active": account.active,
        "balance": amount(account.balance),
        "price": amount(account.price),
        "currency": account.currency,
        "tps": account.tps,
        "timezone": account.timezone,
        "ip_allowlist": account.ip_allowlist,
        "callback_urls": {k: masked_url(v) for k, v in account.callback_urls.items()},
        "senders": account.senders,
        "settings": masked_settings(account.settings),
        "created_at": account.created_at,
    }


async def account_or_404(request: Request) -> Account:
    account_id = path_int(request, "account_id")
    account = await context_of(request).store.get_account(account_id)
    if account is None:
        raise GatewayError(ErrorCode.NOT_FOUND, f"no account {account_id}")
    return account


def masked_url(url: str) -> str:
    """A URL as it may be shown: a password in it as ***, and secret-looking query values."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return url
    netloc = parts.netloc
    if password is not None:
        userinfo, _, host = netloc.rpartition("@")
        netloc = f"{userinfo.partition(':')[0]}:{MASK}@{host}"
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    query = parts.query
    if any(_secret_key(k) for k, _ in pairs):
        query = "&".join(f"{k}={MASK if _secret_key(k) else v}" for k, v in pairs)
    return urlunsplit(parts._replace(netloc=netloc, query=query))
