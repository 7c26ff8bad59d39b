"""Credential secrets: salted SHA-256 for passwords, SHA-256 identifiers for tokens.

Verification compares digests with hmac.compare_digest, so timing does not reveal how much of a
guess was right. A password kept for clients that may send its MD5 instead (`hash_password_md5`)
is kept as the salted SHA-256 of that MD5. Shared secrets that a protocol hashes with (OsonSMS salt, SMSC handler secret)
must stay readable and are stored as given.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets as _secrets


def token_id(token: str) -> str:
    """The lookup key for a bearer token; the token itself is never stored."""
    return hashlib.sha256(token.encode()).hexdigest()


def hash_password(password: str, salt: str | None = None) -> str:
    salt = salt or _secrets.token_hex(8)
    digest = hashlib.sha256((salt + password).encode()).hexdigest()
    return f"sha256${salt}${digest}"


MD5_SCHEME = "md5+sha256"


def hash_password_md5(password: str, salt: str | None = None) -> str:
    """For clients that send either the password or its MD5 (SMSC.ru's `psw`): the salted
    SHA-256 of the password's MD5 (lowercase hex). Weaker than `hash_password`: the MD5 itself
    logs in, so whoever learns it (a client's configuration, another service's unsalted MD5s of
    the same password) needs no password."""
    return _salted(MD5_SCHEME, _md5(password), salt)


def _md5(password: str) -> str:
    return hashlib.md5(password.encode()).hexdigest()


def _salted(scheme: str, value: str, salt: str | None) -> str:
    salt = salt or _secrets.token_hex(8)
    return f"{scheme}${salt}${hashlib.sha256((salt + value).encode()).hexdigest()}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, salt, digest = stored.split("$", 2)
    except ValueError:
        return False
    if scheme not in ("sha256", MD5_SCHEME):
        return False
    as_given = hashlib.sha256((salt + password).encode()).hexdigest()
    if scheme == "sha256":
        return hmac.compare_digest(as_given, digest)
    # md5+sha256: `password` is the password (its MD5 is what was kept) or that MD5 itself.
    # Both are compared, whichever matches, so the time taken does not tell which form it was.
    hashed = hashlib.sha256((salt + _md5(password)).encode()).hexdigest()
    return hmac.compare_digest(hashed, digest) | hmac.compare_digest(as_given, digest)


def equal(a: str, b: str) -> bool:
    """Constant-time string comparison."""
    return hmac.compare_digest(a.encode(), b.encode())


def new_token(nbytes: int = 24) -> str:
    return _secrets.token_urlsafe(nbytes)
