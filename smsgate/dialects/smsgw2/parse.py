"""SMSGW2 requests: the body (JSON or form), and one message object -> a core Submission, with
the seed's rules.

Lenient like the real service: numbers may come as strings and strings as numbers, `recipient`
with or without '+' (or a trunk 8), `priority` outside 0..3 counts as 0. Strict where the seed
is: a recipient is `7xxxYYYzzzz`. Every refusal is a Smsgw2Error carrying the seed's code and
text; in a batch without fail-fast a refused message becomes a core `Refused`, kept and reported.
"""

from __future__ import annotations

import time
from typing import Any, TypeGuard

import msgspec
from starlette.requests import Request

from ...core import phone as phones
from ...core.errors import GatewayError
from ...core.models import Account, Refused, Submission
from ...core.windows import Window
from ..http import decode_json, media_type, params, read_body
from .errors import (
    KEPT,
    SCHEDULE_CODE,
    SCHEDULE_TEXT,
    Smsgw2Error,
    alias_error,
    canonical,
    coded,
    reported,
)
from .settings import default_time_bounds
from .times import format_time, parse_time

SINGLE_BODY_LIMIT = 64 * 1024  # one message: far above any real one, far below a flood
MAX_CLIENT_ID = 64
KZ_DIGITS = 11  # 7xxxYYYzzzz
SCHEDULE_STEP_MINUTES = 15
SCHEDULE_MIN_AHEAD = 10 * 60.0
SCHEDULE_MAX_AHEAD = 10 * 86400.0
DEFAULT_EXPIRY = 86400.0

_WEEKDAYS = (0, 1, 2, 3, 4)
_ALL_DAYS = (0, 1, 2, 3, 4, 5, 6)
# time_bounds -> (days, start minute, end minute); "full" has no window.
TIME_BOUNDS: dict[str, tuple[tuple[int, ...], int, int] | None] = {
    "def": (_WEEKDAYS, 9 * 60, 18 * 60),
    "wd99": (_WEEKDAYS, 9 * 60, 21 * 60),
    "wd911": (_WEEKDAYS, 9 * 60, 23 * 60),
    "ad96": (_ALL_DAYS, 9 * 60, 18 * 60),
    "ad99": (_ALL_DAYS, 9 * 60, 21 * 60),
    "ad911": (_ALL_DAYS, 9 * 60, 23 * 60),
    "full": None,
}

_TRUE = {"true", "1", "yes", "y"}
_FALSE = {"false", "0", "no", "n", ""}
_BOM = b"\xef\xbb\xbf"


async def body_object(request: Request, limit: int | None) -> Any:
    """The JSON body (whatever the Content-Type says), or a urlencoded form as a dict."""
    body = await read_body(request, limit)
    if body.startswith(_BOM):
        body = body[len(_BOM) :]
    stripped = body.strip()
    if media_type(request) == "application/x-www-form-urlencoded" and not stripped.startswith(
        (b"{", b"[")
    ):
        return await params(request, body)
    if not stripped:
        raise Smsgw2Error("Request body is empty")
    try:
        return decode_json(stripped)
    except (msgspec.DecodeError, UnicodeDecodeError):
        pass
    try:  # a client that sent its JSON in Windows-1251
        return decode_json(stripped.decode("cp1251").encode())
    except (UnicodeDecodeError, msgspec.DecodeError):
        raise Smsgw2Error("Malformed JSON in request body") from None


def flag(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value == 1
    return isinstance(value, str) and value.strip().lower() in _TRUE


def numeric_id(value: str) -> int | None:
    value = value.strip()
    return int(value) if value.isdigit() and len(value) < 19 else None


def text_field(raw: dict[str, Any], name: str, *, required: bool = True) -> str | None:
    value = raw.get(name)
    if value is None:
        if required:
            raise Smsgw2Error(f"Field {name} is required", field=name)
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise Smsgw2Error(f"Field {name} must be a string", field=name)
    if isinstance(value, float):
        value = int(value) if value.is_integer() else value
    text = str(value)
    if required and not text.strip():
        raise Smsgw2Error(f"Field {name} is required", field=name)
    return text


def client_id_of(raw: dict[str, Any]) -> str:
    client_id = text_field(raw, "client_message_id")
    assert client_id is not None
    client_id = client_id.strip()
    if len(client_id) > MAX_CLIENT_ID:
        raise Smsgw2Error(
            f"Field client_message_id is longer than {MAX_CLIENT_ID} characters",
            field="client_message_id",
        )
    return client_id


def _plain_kz(value: object) -> TypeGuard[str]:
    """Already 7xxxYYYzzzz as a string: most recipients of a 50,000-message batch."""
    return (
        type(value) is str
        and len(value) == KZ_DIGITS
        and value[0] == "7"
        and value.isdigit()
        and value.isascii()
    )


def recipient_of(raw: dict[str, Any]) -> str:
    """The seed's `7xxxYYYzzzz`: 11 digits starting with 7, written with '+', spaces, dashes or
    a trunk 8 as real clients do (E.164 digits back); anything else is error 11. Whether such a
    number can exist is the core's check."""
    value = raw.get("recipient")
    if _plain_kz(value):
        return value  # the usual form, without normalize's work
    if value is None or (isinstance(value, str) and not value.strip()):
        raise Smsgw2Error("Field recipient is required", field="recipient")
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise coded(11)
    try:
        digits = phones.normalize(value, trunk_8_to_7=True)
    except GatewayError:
        raise coded(11) from None
    if len(digits) != KZ_DIGITS or digits[0] != "7":
        raise coded(11)
    return digits


def priority_of(value: Any) -> int:
    """The seed: values outside 0..3 are taken as 0 (so are values that are not numbers)."""
    if isinstance(value, bool):
        return 0
    if isinstance(value, str):
        try:
            value = int(value.strip())
        except ValueError:
            return 0
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return value if isinstance(value, int) and 0 <= value <= 3 else 0


def flash_of(value: Any) -> bool:
    if value is None or isinstance(value, bool):
        return bool(value)
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise Smsgw2Error("Field flash must be true or false", field="flash")


def window_of(bounds: str, tz: str) -> Window | None:
    rule = TIME_BOUNDS[bounds]
    if rule is None:
        return None
    days, start, end = rule
    return Window(days=days, start_minute=start, end_minute=end, tz=tz)


def schedule_of(value: str, tz: str, now: float) -> float:
    """A schedule on the 15-minute grid, 10 minutes to 10 days ahead; else error 10012."""
    try:
        when = parse_time(value, tz)
    except ValueError:
        raise coded(SCHEDULE_CODE, text=SCHEDULE_TEXT) from None
    at = when.timestamp()
    on_grid = when.minute % SCHEDULE_STEP_MINUTES == 0 and when.second == 0
    if not on_grid or not now + SCHEDULE_MIN_AHEAD <= at <= now + SCHEDULE_MAX_AHEAD:
        raise coded(SCHEDULE_CODE, text=SCHEDULE_TEXT)
    return at


def submission(
    raw: Any, account: Account, *, now: float | None = None, with_sender_check: bool = True
) -> Submission:
    """Parse and check one message object; the core still checks phone, text and balance."""
    if not isinstance(raw, dict):
        raise Smsgw2Error("Message must be a JSON object")
    now = time.time() if now is None else now
    tz = account.timezone
    client_id = client_id_of(raw)
    sender = text_field(raw, "sender")
    assert sender is not None
    sender = sender.strip()
    if with_sender_check and sender not in account.senders:
        raise alias_error(sender)
    recipient = recipient_of(raw)
    text = raw.get("message_text")
    if text is None:
        raise Smsgw2Error("Field message_text is required", field="message_text")
    if not isinstance(text, str):
        if isinstance(text, bool) or not isinstance(text, int | float):
            raise Smsgw2Error("Field message_text must be a string", field="message_text")
        text = str(text)

    bounds = text_field(raw, "time_bounds", required=False)
    if bounds is None or not bounds.strip():
        bounds = default_time_bounds(account)
    bounds = bounds.strip().lower()
    if bounds not in TIME_BOUNDS:
        raise coded(25)

    schedule = text_field(raw, "schedule", required=False)
    not_before = schedule_of(schedule, tz, now) if schedule and schedule.strip() else None

    expire = text_field(raw, "expire_date", required=False)
    if expire and expire.strip():
        try:
            expires_at = parse_time(expire, tz).timestamp()
        except ValueError:
            raise coded(98) from None
        if expires_at <= max(now, not_before or now):
            raise coded(98)
    else:
        expires_at = (not_before or now) + DEFAULT_EXPIRY

    meta: dict[str, Any] = {"tb": bounds}
    if not_before is not None:
        meta["schedule"] = format_time(not_before, tz)
    return Submission(
        phone=recipient,
        text=text,
        sender=sender,
        client_ref=client_id,
        priority=priority_of(raw.get("priority")),
        not_before=not_before,
        expires_at=expires_at,
        window=window_of(bounds, tz),
        flash=flash_of(raw.get("flash")),
        meta=meta,
    )


# Batches without fail-fast ------------------------------------------------------------------
def batch_items(raw: list[Any], account: Account, now: float) -> list[Submission | Refused]:
    """Every message of a batch for the core: a Submission, or a `Refused` where SMSGW2's own
    rules refuse it (kept and reported with its code, like the core's refusals).

    A client_message_id seen earlier in the batch is error 23: the core would make the repeat
    share its first occurrence's fate (a duplicate: no message, no report), so it goes as a
    Refused, without the id, which stays the first occurrence's. The alias is left to the core.
    """
    items: list[Submission | Refused] = []
    seen: set[str] = set()
    for obj in raw:
        try:
            item = submission(obj, account, now=now, with_sender_check=False)
        except Smsgw2Error as exc:
            given = _given_id(obj)
            first = _first(given, seen)
            items.append(refused(obj, exc, given) if first else refused(obj, coded(23)))
            continue
        items.append(item if _first(item.client_ref, seen) else refused(obj, coded(23)))
    return items


def refused(raw: Any, exc: Smsgw2Error, client_id: str | None = None) -> Refused:
    """A batch message SMSGW2 refused, as the core keeps it; meta[KEPT] holds the code and text
    it is reported with and what it gave (the kept message has no sender or text of its own).
    `client_id`: its client_message_id, kept with it (so that it can be looked up, and a retried
    batch finds it), unless it repeats one of the batch (error 23: that id is the first's)."""
    given = raw if isinstance(raw, dict) else {}
    code, text = reported(exc)
    kept: dict[str, Any] = {"code": code, "text": text}
    for name in ("client_message_id", "sender", "message_text"):
        value = _scalar(given.get(name))
        if value is not None:
            kept[name] = value.strip() if name != "message_text" else value
    return Refused(
        error=canonical(exc),
        phone=_scalar(given.get("recipient")) or "",
        client_ref=client_id,
        meta={KEPT: kept},
    )


def _first(client_id: str | None, seen: set[str]) -> bool:
    """Whether `client_id` is new to the batch (noting it); a message without one always is.
    A repeat is error 23 whatever else is wrong with it."""
    if client_id is None:
        return True
    if client_id in seen:
        return False
    seen.add(client_id)
    return True


def _given_id(raw: Any) -> str | None:
    """A message's client_message_id as far as it can be read, for spotting repeats."""
    if not isinstance(raw, dict):
        return None
    try:
        return client_id_of(raw) or None
    except Smsgw2Error:
        return None


def _scalar(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
