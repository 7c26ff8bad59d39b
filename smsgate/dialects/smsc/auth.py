"""Who is calling: `apikey`, or `login` + `psw` (the password or its MD5), and the account's
IP allow-list."""

from __future__ import annotations

import hashlib
import re

from starlette.requests import Request

from ...core.models import Account
from ...engine.gateway import Gateway
from ..http import client_ip, ip_allowed
from .errors import SmscError
from .parse import Params

DIALECT = "smsc"  # the name its credentials and messages are kept under
_MD5 = re.compile(r"^[0-9a-f]{32}$")


async def authenticate(gateway: Gateway, request: Request, p: Params) -> Account:
    apikey = p.get("apikey").strip()
    login, psw = p.get("login").strip(), p.get("psw")
    account: Account | None = None
    if apikey:
        account = await gateway.token(DIALECT, apikey)
        if account is None:
            found = await gateway.shared_secret(DIALECT, "apikey", apikey)
            account = found[0] if found else None
    elif login and psw:
        account = await gateway.login(DIALECT, "login", login, psw)
        if account is None and not _MD5.match(psw):
            # Operators may keep the MD5 of the password, which SMSC.ru clients may send instead.
            md5 = hashlib.md5(psw.encode(p.charset, "replace")).hexdigest()
            account = await gateway.login(DIALECT, "login", login, md5)
    if account is None:
        raise SmscError(2)
    if not ip_allowed(account.ip_allowlist, client_ip(request)):
        raise SmscError(4)
    return account
