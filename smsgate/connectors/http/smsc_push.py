"""SMSC.ru's pushes to our handler (`seeds/smsc-callbacks.txt`): reading them and checking them.

A push is a form POST (or, with `fmt=3` in the handler URL, a JSON object) in the handler URL's
`charset` (windows-1251 unless it says `utf-8` or `koi8-r`): the handler URL's own parameters
after "?" come in the body with the rest, `charset` included. It is signed where the handler URL
has `md5=<secret>` or `sha1=<secret>`: that parameter then holds the hash of `id:phone:status:
<secret>` (a status), `phone:mes:to:<secret>` (an incoming SMS) or `phone:ts:<secret>` (a call
that confirms a number), computed over the bytes in that charset. `crc32` is a checksum anyone
can compute, not a signature: it is not accepted.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping, Sequence
from typing import NamedTuple
from urllib.parse import parse_qsl

CHARSETS = {"utf-8": "utf-8", "koi8-r": "koi8-r", "windows-1251": "cp1251"}
DEFAULT_CHARSET = "windows-1251"  # the seed: "По умолчанию используется кодировка windows-1251"
ALGORITHMS = ("sha1", "md5")


class BadPush(ValueError):
    """A body that is not SMSC.ru's push."""


class Push(NamedTuple):
    fields: dict[str, str]
    charset: str  # Python's name for it

    @property
    def kind(self) -> str:
        """'mo' (an incoming SMS), 'call' (a number confirmed by a call) or 'status'."""
        if "mes" in self.fields:
            return "mo"
        return "call" if "waitcall" in self.fields else "status"

    def signed_fields(self) -> list[str]:
        names = {"mo": ("phone", "mes", "to"), "call": ("phone", "ts")}
        return [self.fields.get(n, "") for n in names.get(self.kind, ("id", "phone", "status"))]


def read(query: Mapping[str, str], headers: Mapping[str, str], body: bytes) -> Push:
    """The push's fields (the query's, then the body's, which win), decoded in its charset."""
    kind = {k.lower(): v for k, v in headers.items()}.get("content-type", "")
    is_json = "json" in kind or body.lstrip().startswith(b"{")
    raw = {} if is_json else dict(parse_qsl(body.decode("latin-1"), encoding="latin-1"))
    name = (raw.get("charset") or query.get("charset") or DEFAULT_CHARSET).lower()
    charset = CHARSETS.get(name, CHARSETS[DEFAULT_CHARSET])
    if not is_json:
        decoded = {k: v.encode("latin-1").decode(charset, "replace") for k, v in raw.items()}
        return Push({**query, **decoded}, charset)
    try:
        value = json.loads(body.decode(charset, "replace"))
    except ValueError:
        raise BadPush("a push body that is not JSON") from None
    if not isinstance(value, dict):
        raise BadPush("a push body that is not a JSON object")
    return Push({**query, **{str(k): _text(v) for k, v in value.items()}}, charset)


def signature(algorithm: str, fields: Sequence[str], secret: str, charset: str = "utf-8") -> str:
    """The seed's hash of `a:b:c:<secret>`, lowercase hex."""
    text = ":".join([*fields, secret]).encode(charset, "replace")
    return hashlib.new(algorithm, text).hexdigest()


def is_signed(push: Push, secret: str) -> bool:
    """Whether the push carries a valid md5 or sha1 of its fields and `secret` (compared in
    constant time). Without a secret configured nothing is: unsigned pushes could report our
    messages delivered for anyone."""
    if not secret:
        return False
    for algorithm in ALGORITHMS:
        given = push.fields.get(algorithm)
        if given is not None:
            expected = signature(algorithm, push.signed_fields(), secret, push.charset)
            return hmac.compare_digest(given.strip().lower().encode(), expected.encode())
    return False


def _text(value: object) -> str:
    return value if isinstance(value, str) else json.dumps(value)
