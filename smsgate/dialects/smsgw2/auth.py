"""Who is calling: HTTP Basic credentials and the account's IP allow-list."""

from __future__ import annotations

from starlette.requests import Request

from ...core.models import Account
from ...engine.gateway import Gateway
from ..http import basic_credentials, client_ip, ip_allowed
from .errors import Smsgw2Error

DIALECT = "smsgw2"  # the name its credentials and messages are kept under


async def authenticate(gateway: Gateway, request: Request) -> tuple[Account, str]:
    """The caller's account and Basic user name; else 401, or 403 from another address."""
    credentials = basic_credentials(request)
    account = (
        await gateway.login(DIALECT, "basic", credentials[0], credentials[1])
        if credentials
        else None
    )
    if account is None or credentials is None:
        raise Smsgw2Error("Bad credentials", status=401)
    if not ip_allowed(account.ip_allowlist, client_ip(request)):
        raise Smsgw2Error("Access denied for this IP address", status=403)
    return account, credentials[0]
