"""Credential secrets: salted SHA-256 for passwords, SHA-256 identifiers for tokens.

Verification compares digests with hmac.compare_digest, so timing does not reveal how much of a
guess was right. Shared secrets that a protocol hashes with (OsonSMS salt, SMSC handler secret)
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


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, salt, digest = stored.split("$", 2)
    except ValueError:
        return False
    if scheme != "sha256":
        return False
    candidate = hashlib.sha256((salt + password).encode()).hexdigest()
    return hmac.compare_digest(candidate, digest)


def equal(a: str, b: str) -> bool:
    """Constant-time string comparison."""
    return hmac.compare_digest(a.encode(), b.encode())


def new_token(nbytes: int = 24) -> str:
    return _secrets.token_urlsafe(nbytes)
