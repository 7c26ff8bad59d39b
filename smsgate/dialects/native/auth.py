"""Who is calling: a Bearer token, and the account's IP allow-list."""

from __future__ import annotations

from starlette.requests import Request

from ...core.errors import ErrorCode, GatewayError
from ...core.models import Account
from ...engine.gateway import Gateway
from ..http import client_ip, ip_allowed, parse_bearer

DIALECT = "native"  # the name its credentials and messages are kept under


async def authenticate(gateway: Gateway, request: Request) -> Account:
    return await account_for(gateway, request.headers.get("authorization", ""), client_ip(request))


async def account_for(gateway: Gateway, authorization: str, address: str) -> Account:
    """The account of an `Authorization: Bearer` value, calling from `address` (the fast route
    has no Request to hand)."""
    token = parse_bearer(authorization)
    account = await gateway.token(DIALECT, token) if token else None
    if account is None:
        raise GatewayError(ErrorCode.UNAUTHORIZED, "missing or invalid bearer token")
    if not ip_allowed(account.ip_allowlist, address):
        raise GatewayError(ErrorCode.IP_NOT_ALLOWED, "address not allowed for this account")
    return account
