"""Who is calling: HTTP Basic credentials, the account's IP allow-list, its client ids."""

from __future__ import annotations

from starlette.requests import Request

from ...core.errors import ErrorCode, GatewayError
from ...core.models import Account
from ...engine.gateway import Gateway
from ..http import basic_credentials, client_ip, ip_allowed
from .settings import client_ids

DIALECT = "msghub"  # the name its credentials and messages are kept under


async def authenticate(gateway: Gateway, request: Request) -> Account:
    """The account whose Basic credentials these are, calling from an allowed address for a
    `{client_id}` of its own; else UNAUTHORIZED, IP_NOT_ALLOWED or FORBIDDEN."""
    creds = basic_credentials(request)
    account = await gateway.login(DIALECT, "basic", *creds) if creds else None
    if account is None or creds is None:
        raise GatewayError(ErrorCode.UNAUTHORIZED, "missing or invalid Basic credentials")
    if not ip_allowed(account.ip_allowlist, client_ip(request)):
        raise GatewayError(ErrorCode.IP_NOT_ALLOWED, "address not allowed for this account")
    if request.path_params.get("client_id") not in client_ids(account, creds[0]):
        raise GatewayError(ErrorCode.FORBIDDEN, "client_id does not belong to this account")
    return account
