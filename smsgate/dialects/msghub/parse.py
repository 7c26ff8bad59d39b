"""JSONv2 requests into core Submissions: the seed's fields, limits and mandatory parameters.

Request-wide problems raise GatewayError (the whole request is refused). Problems of one
recipient of a batch or broadcast are kept per recipient, so the others still go out.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import msgspec

from ...core import phone as phones
from ...core.errors import ErrorCode, GatewayError
from ...core.models import Account, Submission
from ...core.segments import is_gsm7, segment
from ...core.templates import render
from ...core.urls import check_callback_url
from .schemas import Bounds, BulkRequest, Common, OlderRequest, SimpleRequest

MAX_RECIPIENTS = 50_000
MAX_EXTRA_ID = 64
MAX_CALLBACK_URL = 256
MAX_TAG = 64
MAX_ALPHA_NAME = 11
TTL_MIN, TTL_MAX = 300, 259_200
# "Cyrillic characters (up to 1005 characters), Latin characters (up to 2295 characters)":
# 15 parts of 67 UCS-2 or 153 GSM 7-bit characters.
TEXT_LIMITS = {"ucs2": 1005, "gsm7": 2295}
# The broadcast example's `sms_cyrillic` / `sms_latin` bounds (20 parts): the most allowed.
BROADCAST_LIMITS = {"ucs2": 1340, "gsm7": 3060}
# Segment ceilings handed to the core: the character limits above decide; an extension
# character or emoji that may not be split can add a part, hence one spare.
MAX_PARTS = 16
BROADCAST_MAX_PARTS = 21

_PATH = re.compile(r"at `\$(.*)`$")
_INDEX = re.compile(r"\[\d+\]")


class Rejected(msgspec.Struct):
    """A recipient refused before reaching the core."""

    error: GatewayError


def decode(decoder: msgspec.json.Decoder[Any], body: bytes) -> Any:
    body = body.strip()
    if body.startswith(b"\xef\xbb\xbf"):
        body = body[3:]
    if not body:
        raise GatewayError(ErrorCode.MALFORMED_BODY, "request body is empty")
    try:
        return decoder.decode(body)
    except msgspec.ValidationError as exc:
        raise validation_error(exc) from None
    except msgspec.DecodeError as exc:
        raise GatewayError(ErrorCode.MALFORMED_BODY, f"malformed JSON: {exc}") from None
    except RecursionError:  # msgspec's decoder gives up on deep nesting (about 1,000 levels)
        raise GatewayError(ErrorCode.MALFORMED_BODY, "JSON nested too deeply") from None


def validation_error(exc: msgspec.ValidationError) -> GatewayError:
    message = str(exc)
    found = _PATH.search(message)
    if found is None:  # the body is JSON but not an object
        return GatewayError(ErrorCode.MALFORMED_BODY, message)
    field = _INDEX.sub("", found.group(1)).lstrip(".")
    if field.endswith("phone_number"):
        return GatewayError(ErrorCode.INVALID_PHONE, message, field="phone_number")
    if field == "channels":
        return GatewayError(ErrorCode.UNSUPPORTED_CHANNEL, message, field="channels")
    return GatewayError(ErrorCode.INVALID_FIELD, message, field=field)


def parse_start_time(value: str | None, timezone: str, now: float) -> float | None:
    """`YYYY-MM-DD hh:mm:ss±hh:mm`; no offset: provider-local time. Past or empty: send now."""
    if value is None or not value.strip():
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise GatewayError(
            ErrorCode.BAD_SCHEDULE, f"start_time {value[:40]!r} is not YYYY-MM-DD hh:mm:ss±hh:mm"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=ZoneInfo(timezone))
    at = parsed.timestamp()
    return at if at > now else None


def extra_id_of(value: object) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise GatewayError(ErrorCode.INVALID_FIELD, "extra_id must be a string", field="extra_id")
    ref = str(value)
    if len(ref) > MAX_EXTRA_ID:
        raise GatewayError(
            ErrorCode.INVALID_FIELD, f"extra_id is longer than {MAX_EXTRA_ID}", field="extra_id"
        )
    if "\x00" in ref:  # PostgreSQL cannot keep it: refused on SQLite too, so both agree
        raise GatewayError(
            ErrorCode.INVALID_FIELD, "extra_id has a NUL character", field="extra_id"
        )
    return ref


def check_alpha_name(alpha: str, default: str | None = None) -> str:
    """The alpha name to send with: an empty one stands for the account's `default`."""
    if not alpha and default:
        return default
    if not alpha:
        raise GatewayError(
            ErrorCode.MISSING_FIELD, "alpha_name is empty", field="channel_options.sms.alpha_name"
        )
    if len(alpha) > MAX_ALPHA_NAME or not is_gsm7(alpha):
        raise GatewayError(
            ErrorCode.INVALID_FIELD,
            f"alpha_name must be at most {MAX_ALPHA_NAME} GSM 7-bit characters",
            field="channel_options.sms.alpha_name",
        )
    return alpha


def check_tag(tag: str | None) -> str | None:
    if tag is not None and len(tag) > MAX_TAG:
        raise GatewayError(ErrorCode.INVALID_FIELD, f"tag is longer than {MAX_TAG}", field="tag")
    return tag or None


def check_url(url: str | None) -> str | None:
    if url is None or not url.strip():
        return None
    return check_callback_url(url, max_length=MAX_CALLBACK_URL)


def check_text(text: str, limits: Mapping[str, tuple[int, int]]) -> str:
    if all(lo == 0 and 2 * len(text) <= hi for lo, hi in limits.values()):
        return text  # no character counts more than 2 in either encoding: no need to count
    seg = segment(text)
    low, high = limits[seg.encoding]
    if seg.units > high:
        raise GatewayError(ErrorCode.TEXT_TOO_LONG, f"text is over {high} characters", field="text")
    if seg.units < low:
        raise GatewayError(ErrorCode.INVALID_FIELD, f"text is under {low} characters", field="text")
    return text


class Shared(msgspec.Struct, kw_only=True):
    """What a request says for all its recipients, validated once."""

    text: str | None
    alpha_name: str
    ttl: int
    not_before: float | None
    tag: str | None
    callback_url: str | None
    meta: dict[str, Any]
    default_alpha: str | None  # what an empty alpha_name stands for


def shared(
    req: Common,
    timezone: str,
    now: float,
    *,
    templated: bool = False,
    default_alpha: str | None = None,
) -> Shared:
    """Check the parameters common to every send; `templated`: %var% fields checked later;
    `default_alpha`: the account's default sender, for an empty `alpha_name`."""
    channels = [req.channels] if isinstance(req.channels, str) else req.channels
    if not channels:
        raise GatewayError(ErrorCode.MISSING_FIELD, "channels is missing", field="channels")
    for channel in channels:
        if not isinstance(channel, str) or channel.strip().lower() != "sms":
            raise GatewayError(
                ErrorCode.UNSUPPORTED_CHANNEL,
                "only the sms channel is supported in this installation",
                field=str(channel),
            )
    options = req.channel_options
    if options is None:
        raise GatewayError(
            ErrorCode.MISSING_FIELD, "channel_options is missing", field="channel_options"
        )
    sms = options.sms
    if sms is None:
        raise GatewayError(
            ErrorCode.MISSING_FIELD, "channel_options.sms is missing", field="channel_options.sms"
        )
    if sms.alpha_name is None:
        raise GatewayError(
            ErrorCode.MISSING_FIELD, "alpha_name is missing", field="channel_options.sms.alpha_name"
        )
    if sms.ttl is None:
        raise GatewayError(
            ErrorCode.MISSING_FIELD, "ttl is missing", field="channel_options.sms.ttl"
        )
    if not TTL_MIN <= sms.ttl <= TTL_MAX:
        raise GatewayError(
            ErrorCode.BAD_VALIDITY,
            f"ttl must be {TTL_MIN}..{TTL_MAX} seconds",
            field="channel_options.sms.ttl",
        )
    meta: dict[str, Any] = {"ttl": sms.ttl}  # the advanced DR reports it per channel
    meta.update((k, v) for k, v in (("is_promotional", req.is_promotional), ("ctr", req.ctr)) if v)
    alpha, tag, url = sms.alpha_name, req.tag, req.callback_url
    if not (templated and "%" in alpha):
        alpha = check_alpha_name(alpha, default_alpha)
    if not (templated and tag and "%" in tag):
        tag = check_tag(tag)
    if not (templated and url and "%" in url):
        url = check_url(url)
    return Shared(
        text=sms.text,
        alpha_name=alpha,
        ttl=sms.ttl,
        not_before=parse_start_time(req.start_time, timezone, now),
        tag=tag,
        callback_url=url,
        meta=meta,
        default_alpha=default_alpha,
    )


def submission(
    phone: object, extra_id: object, text: str | None, common: Shared, limits: Mapping[str, Any]
) -> Submission:
    if phone is None or phone == "":
        raise GatewayError(ErrorCode.MISSING_FIELD, "phone_number is missing", field="phone_number")
    if text is None:
        raise GatewayError(ErrorCode.MISSING_FIELD, "text is missing", field="text")
    if not isinstance(phone, int | str):
        raise GatewayError(ErrorCode.INVALID_PHONE, "phone_number must be digits")
    return Submission(
        phone=phone,
        text=check_text(text, limits) if text else text,
        sender=common.alpha_name,
        client_ref=extra_id_of(extra_id),
        not_before=common.not_before,
        ttl=float(common.ttl),
        tag=common.tag,
        callback_url=common.callback_url,
        meta=common.meta,
    )


SIMPLE_LIMITS = {enc: (0, high) for enc, high in TEXT_LIMITS.items()}


def simple(
    req: SimpleRequest | OlderRequest, timezone: str, now: float, default_alpha: str | None
) -> Submission:
    common = shared(req, timezone, now, default_alpha=default_alpha)
    return submission(req.phone_number, req.extra_id, common.text, common, SIMPLE_LIMITS)


def is_single(req: OlderRequest) -> bool:
    """A single-message body (a top-level `phone_number`, no `messages` or `recipients`), as
    legacy Hyber clients post it to the older `/{client_id}` path."""
    return req.messages is None and req.recipients is None and req.phone_number is not None


Item = Submission | Rejected


def batch(req: BulkRequest, common: Shared) -> tuple[list[Item], list[tuple[object, object]]]:
    """Items in request order, and each recipient's (phone_number, extra_id) as given."""
    messages = _recipients(req.messages, "messages")
    items: list[Item] = []
    given: list[tuple[object, object]] = []
    for m in messages:
        given.append((m.phone_number, m.extra_id))
        text = m.text if m.text is not None else common.text
        try:
            items.append(submission(m.phone_number, m.extra_id, text, common, SIMPLE_LIMITS))
        except GatewayError as exc:
            items.append(Rejected(exc))
    return items, given


def bounds(req: BulkRequest) -> dict[str, tuple[int, int]]:
    """Rendered-text bounds of a broadcast: the client's, within the platform's."""

    def pick(given: Bounds | None, cap: int) -> tuple[int, int]:
        low = max(0, given.min or 0) if given else 0
        high = min(cap, given.max) if given and given.max is not None else cap
        return low, high

    return {
        "ucs2": pick(req.sms_cyrillic, BROADCAST_LIMITS["ucs2"]),
        "gsm7": pick(req.sms_latin, BROADCAST_LIMITS["gsm7"]),
    }


def broadcast(req: BulkRequest, common: Shared) -> tuple[list[Item], list[tuple[object, object]]]:
    recipients = _recipients(req.recipients, "recipients")
    if common.text is None:
        raise GatewayError(
            ErrorCode.MISSING_FIELD, "text is missing", field="channel_options.sms.text"
        )
    limits = bounds(req)
    text = common.text
    templated = [
        name
        for name, value in (
            ("alpha_name", common.alpha_name),
            ("tag", common.tag),
            ("callback_url", common.callback_url),
        )
        if value and "%" in value
    ]
    items: list[Item] = []
    given: list[tuple[object, object]] = []
    for r in recipients:
        if not isinstance(r, dict):
            given.append((None, None))
            items.append(Rejected(GatewayError(ErrorCode.INVALID_FIELD, field="recipients")))
            continue
        phone, extra_id = r.get("phone_number"), r.get("extra_id")
        given.append((phone, extra_id))
        try:
            own = common
            if templated:
                own = _personal(common, templated, r)
            items.append(submission(phone, extra_id, render(text, r), own, limits))
        except GatewayError as exc:
            items.append(Rejected(exc))
    return items, given


def precheck(item: Item, account: Account) -> Item:
    """Refusals the core would make, made early so an async campaign can keep them."""
    if isinstance(item, Rejected):
        return item
    try:
        phone = phones.normalize(item.phone)
        if not item.text or not item.text.strip():
            raise GatewayError(ErrorCode.EMPTY_TEXT, "message text is empty", field="text")
        if item.sender is not None and item.sender not in account.senders:
            raise GatewayError(
                ErrorCode.SENDER_NOT_ALLOWED, f"alpha_name {item.sender!r} is not allowed"
            )
    except GatewayError as exc:
        return Rejected(exc)
    item.phone = phone
    return item


def _personal(common: Shared, names: list[str], values: Mapping[str, object]) -> Shared:
    changes: dict[str, Any] = {}
    if "alpha_name" in names:
        changes["alpha_name"] = check_alpha_name(
            render(common.alpha_name, values), common.default_alpha
        )
    if "tag" in names and common.tag:
        changes["tag"] = check_tag(render(common.tag, values))
    if "callback_url" in names and common.callback_url:
        changes["callback_url"] = check_url(render(common.callback_url, values))
    return msgspec.structs.replace(common, **changes)


def _recipients(values: list[Any] | None, field: str) -> list[Any]:
    if not values:
        raise GatewayError(ErrorCode.MISSING_FIELD, f"{field} is missing", field=field)
    if len(values) > MAX_RECIPIENTS:
        raise GatewayError(
            ErrorCode.TOO_MANY_RECIPIENTS, f"at most {MAX_RECIPIENTS} recipients per request"
        )
    return values
