"""Who is calling: `login` + `str_hash` (sha256 over the seed's strings), or a Bearer token.

The hash is recomputed from the request and the account's `pass_salt_hash` and compared in
constant time. It costs about a microsecond; what is worth caching is the credential lookup,
which the Gateway keeps for a few seconds, so a verified request reads nothing from the store.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from starlette.requests import Request

from ...core import secrets
from ...core.models import Account
from ...engine.gateway import Gateway
from ..http import bearer_token, client_ip, ip_allowed
from .errors import Denied

DIALECT = "osonsms"  # the name its credentials and messages are kept under

Parts = Callable[[dict[str, str], str], tuple[str, ...]]


def str_hash(*parts: str) -> str:
    """sha256 hex of the parts joined with ';' (what clients send as `str_hash`)."""
    return hashlib.sha256(";".join(parts).encode("utf-8")).hexdigest()


def hash_matches(given: str, *parts: str) -> bool:
    return secrets.equal(given.strip().lower(), str_hash(*parts))


def send_parts(v: dict[str, str], salt: str) -> tuple[str, ...]:
    return (v["txn_id"], v["login"], v["from"], v["phone_number"], salt)


def query_parts(v: dict[str, str], salt: str) -> tuple[str, ...]:
    return (v["login"], v.get("txn_id", ""), salt)


def balance_parts(v: dict[str, str], salt: str) -> tuple[str, ...]:
    return (v["txn_id"], v["login"], salt)


def bulk_parts(v: dict[str, str], salt: str) -> tuple[str, ...]:
    return (v["txn_id"], v["login"], v["from"], salt)


async def authenticate(
    gateway: Gateway, request: Request, v: dict[str, str], parts: Parts
) -> Account:
    """The caller's account, or Denied. `parts(v, salt)` names the hashed strings."""
    token = bearer_token(request)
    if token is not None:
        account = await gateway.token(DIALECT, token)
        if account is None:
            raise Denied(105)
        salt = None
    else:
        found = await gateway.shared_secret(DIALECT, "salt", v.get("login", ""))
        if found is None:
            raise Denied(105)
        account, salt = found
    if not ip_allowed(account.ip_allowlist, client_ip(request)):
        raise Denied(114)
    if salt is not None and not hash_matches(v.get("str_hash", ""), *parts(v, salt)):
        raise Denied(106)
    return account


def uses_token(request: Request) -> bool:
    return bearer_token(request) is not None
