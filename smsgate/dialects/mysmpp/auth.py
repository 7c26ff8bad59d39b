"""login + password, or token, in the request body."""

from __future__ import annotations

from starlette.requests import Request

from ...core.models import Account
from ...engine.gateway import Gateway
from ..http import client_ip, ip_allowed
from .errors import BAD_LOGIN, MysmppError
from .schemas import Credentials

DIALECT = "mysmpp"  # the name its credentials and messages are kept under


async def authenticate(gateway: Gateway, request: Request, creds: Credentials) -> Account:
    """Either credential suffices (the provider's own example sends both)."""
    if not (creds.login or creds.token):
        raise MysmppError(BAD_LOGIN)
    account = None
    if creds.login:
        account = await gateway.login(DIALECT, "login", creds.login, creds.password or "")
    if account is None and creds.token:
        account = await gateway.token(DIALECT, creds.token)
    if account is None or not ip_allowed(account.ip_allowlist, client_ip(request)):
        raise MysmppError(BAD_LOGIN)
    return account
