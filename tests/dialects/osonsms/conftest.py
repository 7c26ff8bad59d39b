"""OsonSMS test helpers: the seed's hash strings, signed requests, provisioned accounts."""

from __future__ import annotations

import hashlib
import itertools
from typing import Any

import aiohttp
import pytest

from tests.support.servers import Gateway, account

_txn = itertools.count(1)


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def txn() -> str:
    return f"txn-{next(_txn)}"


def send_params(
    name: str = "acme",
    *,
    phone: str = "992900000001",
    msg: str = "hello",
    sender: str = "ACME",
    txn_id: str | None = None,
    salt: str | None = None,
    **extra: str,
) -> dict[str, str]:
    """A correctly signed sendsms_v1.php request: sha256(txn_id;login;from;phone_number;salt)."""
    txn_id = txn_id or txn()
    salt = salt if salt is not None else f"{name}-salt"
    params = {
        "from": sender,
        "phone_number": phone,
        "msg": msg,
        "login": name,
        "str_hash": sha256(f"{txn_id};{name};{sender};{phone};{salt}"),
        "txn_id": txn_id,
    }
    params.update(extra)
    return params


def query_params(name: str = "acme", *, msg_id: Any, txn_id: str | None = None) -> dict[str, str]:
    """query_sms.php: sha256(login;txn_id;salt)."""
    txn_id = txn_id or txn()
    return {
        "login": name,
        "str_hash": sha256(f"{name};{txn_id};{name}-salt"),
        "txn_id": txn_id,
        "msg_id": str(msg_id),
    }


def balance_params(name: str = "acme", *, txn_id: str | None = None) -> dict[str, str]:
    """check_balance.php: sha256(txn_id;login;salt)."""
    txn_id = txn_id or txn()
    return {"login": name, "str_hash": sha256(f"{txn_id};{name};{name}-salt"), "txn_id": txn_id}


async def call(
    http: aiohttp.ClientSession, path: str, params: dict[str, str], **kw: Any
) -> tuple[int, Any]:
    async with http.get(path, params=params, **kw) as r:
        return r.status, await r.json(content_type=None)


@pytest.fixture
async def acme(gateway: Gateway) -> int:
    (account_id,) = await gateway.provision(account("acme"))
    return account_id


TIMESTAMP = r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$"  # the seed's YYYY-MM-DD HH24:MI:SS


def error_of(body: Any) -> tuple[int, str]:
    """The seed's error object: {"error": {"code", "msg", "timestamp"}}, nothing else."""
    import re

    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "msg", "timestamp"}, body
    assert re.match(TIMESTAMP, body["error"]["timestamp"]), body
    return body["error"]["code"], body["error"]["msg"]


def database_file(gateway: Gateway) -> str:
    return gateway.config.database.removeprefix("sqlite:///")
