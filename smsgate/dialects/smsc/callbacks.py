"""Pushes to the client's handler exactly as SMSC.ru makes them (seed: smsc-callbacks.txt).

The handler URL carries the options: `charset` (windows-1251 by default; koi8-r only without
`fmt`), `fmt=2` (XML body) or `fmt=3` (JSON body), and `md5`/`sha1`/`crc32=<secret>` (that
parameter is sent with the hash of `id:phone:status:<secret>`, or `phone:mes:to:<secret>` for an
incoming SMS, in place of the secret). Parameters between `!` and `?` stay in the query string
(GET); those after `?` are POSTed with the standard ones. An answer other than 200 or 404 is
retried every 4 minutes, 50 attempts in all; 404 stops.
"""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from urllib.parse import quote, unquote, urlencode
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

import msgspec

from ...core import hlr
from ...core.models import Account, Message, MoMessage, Notice, StatusEvent
from ...core.money import format_amount
from ...core.status import FINAL
from ...engine.callbacks import CallbackPolicy, CallbackRequest, Verdict
from .channels import is_hlr, type_of
from .parse import DEFAULT_CHARSET, charset_of
from .render import number
from .statuses import smsc_status

HASHES = ("md5", "sha1", "crc32")


class HandlerUrl(msgspec.Struct, kw_only=True):
    """A handler URL taken apart: where to send, what stays in GET, what is POSTed."""

    target: str
    get: list[tuple[str, str]]
    post: list[tuple[str, str]]
    charset: str
    fmt: int
    hash_name: str | None
    secret: str
    hash_in_get: bool


def _split(query: str) -> list[tuple[str, str]]:
    pairs = []
    for part in query.split("&"):
        if part:
            key, _, value = part.partition("=")
            pairs.append((unquote(key.replace("+", " ")), unquote(value.replace("+", " "))))
    return pairs


def parse_handler(url: str) -> HandlerUrl:
    head, _, post_part = url.partition("?")
    base, bang, get_part = head.partition("!")
    get, post = _split(get_part) if bang else [], _split(post_part)
    options = {k.lower(): v for k, v in [*get, *post]}
    fmt = options.get("fmt", "").strip()
    fmt_value = int(fmt) if fmt in ("2", "3") else 0
    charset = charset_of(options.get("charset"))
    if fmt and charset == "koi8-r":
        charset = DEFAULT_CHARSET  # "with fmt, koi8-r is not used"
    hash_name = next((h for h in HASHES if h in options), None)
    return HandlerUrl(
        target=base,
        get=get,
        post=post,
        charset=charset,
        fmt=fmt_value,
        hash_name=hash_name,
        secret=options.get(hash_name, "") if hash_name else "",
        hash_in_get=bool(hash_name) and any(k.lower() == hash_name for k, _ in get),
    )


def digest(name: str, data: bytes) -> str:
    """md5/sha1 as lowercase hex; crc32 as the unsigned decimal PHP's crc32() gives."""
    if name == "crc32":
        return str(zlib.crc32(data) & 0xFFFFFFFF)
    return hashlib.new(name, data).hexdigest()


def local_time(ts: float, zone: str) -> str:
    return datetime.fromtimestamp(ts, ZoneInfo(zone)).strftime("%d.%m.%y %H:%M:%S")


def status_fields(event: StatusEvent, message: Message, account: Account) -> list[tuple[str, Any]]:
    code, err = smsc_status(event.status, event.error_code)
    meta = message.meta or {}
    kind = type_of(message)
    fields: list[tuple[str, Any]] = [
        ("id", str(meta.get("smsc_id", message.seq))),
        ("phone", message.phone),
        ("status", code),
        ("time", local_time(event.at, account.timezone)),
        ("ts", int(event.at)),
    ]
    if err:
        fields.append(("err", err))
    fields += [
        ("cnt", message.segments),
        ("type", kind),
        ("cost", format_amount(message.price, 2)),
        ("flag", kind),
        ("sender", message.sender or ""),
    ]
    if is_hlr(message):  # the seed's "additional parameters for HLR queries"
        answer = hlr.from_text(event.carrier_error) or hlr.HlrAnswer()
        fields += list(msgspec.structs.asdict(answer).items())
    if meta.get("cmt"):
        fields.append(("cmt", str(meta["cmt"])))
    return fields


def mo_fields(mo: MoMessage) -> list[tuple[str, Any]]:
    meta = mo.meta or {}
    fields: list[tuple[str, Any]] = [("id", str(mo.seq or mo.id))]
    if meta.get("sms_id"):
        fields.append(("sms_id", str(meta["sms_id"])))
    fields += [
        ("phone", mo.phone),
        ("mes", mo.text),
        ("to", mo.to),
        ("smsc", str(meta.get("smsc", ""))),
        ("sent", int(meta.get("sent", mo.received_at))),
        ("time", int(mo.received_at)),
    ]
    return fields


def _hashed(fields: list[tuple[str, Any]], keys: tuple[str, ...], secret: str) -> str:
    values = dict(fields)
    return ":".join([*(str(values[k]) for k in keys), secret])


class SmscCallbacks(CallbackPolicy):
    wants_mo = True
    mo_on_dr_url = True
    statuses = FINAL
    base_delay = 240.0  # "1 request every 4 minutes"
    max_attempts = 50  # "50 attempts in all"

    def verdict(self, status: int, body: bytes) -> Verdict:
        if status == 200:
            return "ok"
        return "stop" if status == 404 else "retry"

    def retry_delay(self, attempts: int) -> float | None:
        if attempts >= self.max_attempts:
            return None
        return self.base_delay * self.delay_scale

    def render(self, notices: Sequence[Notice], url: str, account: Account) -> CallbackRequest:
        notice = notices[0]
        handler = parse_handler(url)
        if notice.kind == "mo" and notice.mo is not None:
            fields = mo_fields(notice.mo)
            keys: tuple[str, ...] = ("phone", "mes", "to")
        else:
            assert notice.event is not None and notice.message is not None
            fields = status_fields(notice.event, notice.message, account)
            keys = ("id", "phone", "status")
        get, post = list(handler.get), list(handler.post)
        if handler.hash_name:
            text = _hashed(fields, keys, handler.secret).encode(handler.charset, "replace")
            value = digest(handler.hash_name, text)
            replace = get if handler.hash_in_get else post
            for i, (k, _v) in enumerate(replace):
                if k.lower() == handler.hash_name:
                    replace[i] = (k, value)
        target = handler.target
        if get:
            target += "?" + "&".join(
                quote(k, safe="") + ("=" + quote(v, safe="") if v else "") for k, v in get
            )
        payload: list[tuple[str, Any]] = [*fields, *post]
        return CallbackRequest(url=target, **_body(payload, handler))


def _body(payload: list[tuple[str, Any]], handler: HandlerUrl) -> dict[str, Any]:
    charset = handler.charset
    if handler.fmt == 3:
        data = {k: number(v) if k == "id" else v for k, v in payload}
        text = msgspec.json.encode(data).decode()
        return {
            "headers": {"Content-Type": f"application/json; charset={charset}"},
            "body": text.encode(charset, "replace"),
        }
    if handler.fmt == 2:
        inner = "".join(f"<{k}>{escape(str(v))}</{k}>" for k, v in payload)
        text = f'<?xml version="1.0" encoding="{charset}"?>\n<data>{inner}</data>'
        return {
            "headers": {"Content-Type": f"application/xml; charset={charset}"},
            "body": text.encode(charset, "replace"),
        }
    form = urlencode([(k, str(v)) for k, v in payload], encoding=charset, errors="replace")
    return {
        "headers": {"Content-Type": "application/x-www-form-urlencoded"},
        "body": form.encode("ascii"),
    }
