"""`psw` as the password or its MD5 (issue 19): SMSC.ru's libraries take "the password or its
MD5 hash in lowercase" (smsc_api.py: SMSC_PASSWORD), so a client configured with the MD5
sends the MD5. A credential provisioned with `md5 = true` accepts both forms."""

from __future__ import annotations

import hashlib

import aiohttp
import pytest

from smsgate.core import secrets
from smsgate.provision import CredentialSpec, credential
from tests.dialects.smsc.conftest import call
from tests.support.servers import Gateway, account

PASSWORD = "Secret-pw 1"
MD5 = hashlib.md5(PASSWORD.encode()).hexdigest()


async def balance(http: aiohttp.ClientSession, **auth: str) -> bytes:
    _, body, _ = await call(http, "/sys/balance.php", **auth)
    return body


async def test_md5_option_accepts_the_password_and_its_md5(
    gateway: Gateway, http: aiohttp.ClientSession
) -> None:
    spec = CredentialSpec(
        dialect="smsc", kind="login", identifier="hashed", secret=PASSWORD, md5=True
    )
    await gateway.provision(account("hashed", credentials=[spec]))
    assert await balance(http, login="hashed", psw=PASSWORD) == b"1000.00"
    assert await balance(http, login="hashed", psw=MD5) == b"1000.00"
    # the libraries' form is lowercase; anything else is a wrong password
    for wrong in (MD5.upper(), MD5[:-1], "secret-pw 1", hashlib.md5(MD5.encode()).hexdigest()):
        assert await balance(http, login="hashed", psw=wrong) == b"ERROR = 2 (authorise error)"
    # what is kept is neither the password nor its MD5
    stored = await gateway.store.find_credential("smsc", "login", "hashed")
    assert stored is not None and stored.secret.startswith("md5+sha256$")
    assert PASSWORD not in stored.secret and MD5 not in stored.secret


async def test_without_the_option_the_md5_is_refused(
    gateway: Gateway, http: aiohttp.ClientSession
) -> None:
    spec = CredentialSpec(dialect="smsc", kind="login", identifier="plain", secret=PASSWORD)
    await gateway.provision(account("plain", credentials=[spec]))
    assert await balance(http, login="plain", psw=PASSWORD) == b"1000.00"
    assert await balance(http, login="plain", psw=MD5) == b"ERROR = 2 (authorise error)"


def test_md5_option_is_for_passwords_only() -> None:
    for kind in ("token", "apikey", "salt"):
        with pytest.raises(ValueError):
            credential(
                1, CredentialSpec(dialect="smsc", kind=kind, identifier="x", secret="s", md5=True)
            )


def test_verify_password_md5_scheme() -> None:
    kept = secrets.hash_password_md5(PASSWORD, salt="0011")
    assert kept == "md5+sha256$0011$" + hashlib.sha256(("0011" + MD5).encode()).hexdigest()
    assert secrets.verify_password(PASSWORD, kept) and secrets.verify_password(MD5, kept)
    assert not secrets.verify_password("", kept) and not secrets.verify_password(MD5.upper(), kept)
    # a plain password hash is unchanged by the option's existence: its MD5 does not log in
    plain = secrets.hash_password(PASSWORD)
    assert secrets.verify_password(PASSWORD, plain) and not secrets.verify_password(MD5, plain)
