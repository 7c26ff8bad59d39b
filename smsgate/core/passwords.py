"""Admin passwords: scrypt (stdlib `hashlib.scrypt`) with a per-user salt.

scrypt rather than the salted SHA-256 that dialect credentials keep (`core.secrets`): a
console password guards every account, and a leaked table must not be cheap to brute-force.
The stdlib's scrypt needs no new dependency (argon2-cffi would be one); its cost parameters
are stored in each hash, so raising them later leaves existing hashes valid.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

SCHEME = "scrypt"
# RFC 7914's interactive-login figures: 16 MiB of memory, ~50 ms on this machine kind.
N, R, P = 2**14, 8, 1
_KEY_LENGTH = 32
_MAX_MEMORY = 64 * 1024 * 1024
MIN_LENGTH = 8  # shorter passwords are refused (`check_new_password`)
MAX_LENGTH = 1024  # longer ones too: hashing megabytes is a denial of service


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4))


def _derive(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(
        password.encode(), salt=salt, n=n, r=r, p=p, maxmem=_MAX_MEMORY, dklen=_KEY_LENGTH
    )


def hash_password(password: str) -> str:
    """`scrypt$n$r$p$salt$key`: everything `verify_password` needs, and no password."""
    salt = secrets.token_bytes(16)
    key = _derive(password, salt, N, R, P)
    return f"{SCHEME}${N}${R}${P}${_b64(salt)}${_b64(key)}"


def verify_password(password: str, stored: str) -> bool:
    """Whether `password` is the one `stored` was made from; compared in constant time."""
    try:
        scheme, n, r, p, salt, key = stored.split("$")
        if scheme != SCHEME or len(password) > MAX_LENGTH:
            return False
        derived = _derive(password, _unb64(salt), int(n), int(r), int(p))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(derived, _unb64(key))


# Verified when the user does not exist, so that the time taken does not tell names apart.
DUMMY_HASH = f"{SCHEME}${N}${R}${P}${_b64(b'0' * 16)}${_b64(b'0' * _KEY_LENGTH)}"


def check_new_password(password: str) -> str | None:
    """Why a new admin password is refused (None: accepted)."""
    if len(password) < MIN_LENGTH:
        return f"a password needs at least {MIN_LENGTH} characters"
    if len(password) > MAX_LENGTH:
        return f"a password may have at most {MAX_LENGTH} characters"
    return None
