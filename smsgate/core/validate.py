"""Turn parsed recipients into priced, segmented Messages, or refuse them. Pure."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import repeat
from operator import attrgetter, eq, is_
from typing import Any, cast

import msgspec

from . import payload
from . import phone as phones
from .bounds import Count, Delay, Seconds
from .errors import ErrorCode, GatewayError
from .ids import new_id, new_ids
from .models import Account, Alike, Message, OneTemplate, Submission
from .segments import shape, shape_all
from .status import Status
from .windows import check_schedule


class Limits(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    max_parts: Count = 10
    max_recipients: Count = 50_000
    max_schedule_ahead: Delay = 30 * 86400.0
    default_ttl: Seconds = 86400.0
    max_ttl: Seconds = 7 * 86400.0
    max_text_chars: Count = 10_000


def build_message(
    account: Account,
    dialect: str,
    item: Submission,
    now: float,
    limits: Limits,
    *,
    trunk_8_to_7: bool = False,
    job_id: str | None = None,
) -> Message:
    """One recipient as a Message, or GatewayError: build_messages for a request of one,
    without its per-request tables (a single send spent 5 of its 11 µs here on them)."""
    e164 = phones.check(item.phone, trunk_8_to_7, _test_ranges(account))
    if item.client_ref is not None and NUL in item.client_ref:
        raise _holds_nul("client_ref")
    found = _shape(item.text, limits) if item.encoding is None else _shape_payload(item, limits)
    if isinstance(found, GatewayError):
        raise found
    template = _template(account, dialect, item, now, limits, job_id)
    if isinstance(template, GatewayError):
        raise template
    return _recipient(template, new_id(), item, e164, found, account.price)


def build_messages(
    account: Account,
    dialect: str,
    items: Sequence[Submission],
    now: float,
    limits: Limits,
    *,
    trunk_8_to_7: bool = False,
    job_id: str | None = None,
) -> list[Message | GatewayError]:
    """Each recipient of one request as a priced, segmented Message, or why it is refused.

    The checks run in the same order for each recipient (phone: its form, then whether it can
    exist, outside the account's `test_numbers` ranges; text; then sender, schedule and
    validity). Recipients of one request mostly share all but phone and text: what they
    share is checked once and copied from one template Message, which is what lets a
    50,000-recipient request through in a few microseconds each.
    """
    test_ranges = _test_ranges(account)
    if len(items) >= UNIFORM_FROM:
        uniform = _build_uniform(
            account, dialect, items, now, limits, trunk_8_to_7, job_id, test_ranges
        )
        if uniform is not None:
            return uniform
    check = phones.check
    price = account.price
    ids = new_ids(len(items))
    shapes: dict[str, tuple[str, int] | GatewayError] = {}
    templates: dict[tuple[Any, ...], Message | GatewayError] = {}
    out: list[Message | GatewayError] = []
    for item, message_id in zip(items, ids, strict=True):
        try:
            e164 = check(item.phone, trunk_8_to_7, test_ranges)
        except GatewayError as exc:
            out.append(exc.with_traceback(None))  # no cycle through this frame and `out`
            continue
        if item.client_ref is not None and NUL in item.client_ref:
            out.append(_holds_nul("client_ref"))
            continue
        text = item.text
        found = shapes.get(text) if item.encoding is None else _shape_payload(item, limits)
        if found is None:
            found = shapes[text] = _shape(text, limits)
        if isinstance(found, GatewayError):
            out.append(found)
            continue
        common = (
            item.sender,
            item.not_before,
            item.expires_at,
            item.ttl,
            id(item.window),
            item.priority,
            item.flash,
            item.tag,
            item.callback_url,
            item.confidential,
            id(item.meta),
        )
        template = templates.get(common)
        if template is None:
            template = templates[common] = _template(account, dialect, item, now, limits, job_id)
        if isinstance(template, GatewayError):
            out.append(template)
            continue
        out.append(_recipient(template, message_id, item, e164, found, price))
    return out


UNIFORM_FROM = 100  # recipients from which a request is first tried as a uniform one

# What a recipient's template is made of (`_template`), and the fields that make it not a text
# (`encoding`) or priced by its dialect (`price`): the same in every recipient of a bulk.
# `window` and `meta` are shared as the very objects, as build_messages' templates share them.
_SHARED = attrgetter(
    *("sender", "not_before", "expires_at", "ttl", "priority", "flash", "tag", "callback_url"),
    *("confidential", "encoding", "price", "window", "meta"),
)


def _build_uniform(
    account: Account,
    dialect: str,
    items: Sequence[Submission],
    now: float,
    limits: Limits,
    trunk_8_to_7: bool,
    job_id: str | None,
    test_ranges: tuple[str, ...],
) -> list[Message | GatewayError] | None:
    """A request whose recipients share everything but phone, text and client reference (a
    bulk), every one of them valid: built with a few passes over all of them, most in C,
    instead of one recipient at a time (a 50,000-recipient bulk spent ~4 us a recipient here).

    None when any recipient differs or is refused: build_messages then decides each one, in
    its order of checks, with its errors. The checks are its checks, made over all at once.
    """
    first = _SHARED(items[0])
    if first[9:11] != (None, None):
        return None  # not a text, or a price fixed
    if type(items) is not Alike and not _share(items, first):
        return None
    texts = [i.text for i in items]
    refs = [i.client_ref for i in items]
    longest = max(map(len, texts))
    if (
        longest > limits.max_text_chars
        or any(map(str.isspace, texts))  # empty ones: shape_all
        or NUL in "".join(texts)
        or NUL in "".join(filter(None, refs))
    ):
        return None
    found = shape_all(texts)
    if found is None or _too_many_parts("text", found[1], limits) is not None:
        return None
    try:
        e164s = phones.check_all([i.phone for i in items], trunk_8_to_7, test_ranges)
    except GatewayError:
        return None
    template = _template(account, dialect, items[0], now, limits, job_id)
    if isinstance(template, GatewayError):
        return None
    encoding, parts = found
    shaped = _replace(template, encoding=encoding, segments=parts, price=parts * account.price)
    built = OneTemplate(
        _replace(shaped, id=message_id, client_ref=ref, phone=e164, text=text)
        for message_id, ref, e164, text in zip(new_ids(len(items)), refs, e164s, texts, strict=True)
    )
    return cast(list[Message | GatewayError], built)


def _share(items: Sequence[Submission], first: tuple[Any, ...]) -> bool:
    """Whether every item has the first's `_SHARED` fields (window and meta: the very objects,
    as build_messages' templates share them)."""
    if not all(map(eq, map(_SHARED, items), repeat(first))):
        return False
    for field, shared in zip(("window", "meta"), first[11:], strict=True):
        if shared is not None and not all(map(is_, map(attrgetter(field), items), repeat(shared))):
            return False
    return True


_replace = msgspec.structs.replace
# No store keeps U+0000 in a text column alike (SQLite does, PostgreSQL refuses it): a field
# that holds one is refused before either sees it, so that both answer the same.
NUL = "\x00"


def _holds_nul(field: str) -> GatewayError:
    return GatewayError(ErrorCode.INVALID_FIELD, f"{field} holds a NUL character", field=field)


def _test_ranges(account: Account) -> tuple[str, ...]:
    """The account's test ranges: numbers there skip the existence check (not the format's)."""
    setting = account.settings.get("test_numbers")
    return phones.parse_test_ranges(setting) if setting else ()


def _recipient(
    template: Message,
    message_id: str,
    item: Submission,
    e164: str,
    shaped: tuple[str, int],
    price: int,
) -> Message:
    """The template Message made this recipient's: its id, phone and text, priced by parts
    (or at the price its dialect fixed)."""
    encoding, parts = shaped
    return _replace(
        template,
        id=message_id,
        client_ref=item.client_ref,
        phone=e164,
        text=item.text,
        encoding=encoding,
        segments=parts,
        price=parts * price if item.price is None else item.price,
    )


def _shape(text: str, limits: Limits) -> tuple[str, int] | GatewayError:
    if not text or not text.strip():
        return GatewayError(ErrorCode.EMPTY_TEXT, "message text is empty", field="text")
    if NUL in text:
        return _holds_nul("text")
    if len(text) > limits.max_text_chars:
        return GatewayError(ErrorCode.TEXT_TOO_LONG, "message text is too long", field="text")
    encoding, parts = shape(text)
    return _too_many_parts("text", parts, limits) or (encoding, parts)


def _shape_payload(item: Submission, limits: Limits) -> tuple[str, int] | GatewayError:
    """A message that is not a text (core.payload): its encoding and parts, or why not."""
    encoding = item.encoding or ""
    if encoding not in payload.KINDS:
        return GatewayError(ErrorCode.INVALID_FIELD, f"unknown encoding {encoding!r}")
    try:
        parts = payload.count(encoding, item.text)
    except ValueError as exc:
        return GatewayError(ErrorCode.INVALID_FIELD, str(exc), field="text")
    return _too_many_parts("data", parts, limits) or (encoding, parts)


def _too_many_parts(what: str, parts: int, limits: Limits) -> GatewayError | None:
    """A text or data longer than the configured parts allow (one limit for both)."""
    if parts <= limits.max_parts:
        return None
    return GatewayError(
        ErrorCode.TEXT_TOO_LONG,
        f"{what} needs {parts} parts, at most {limits.max_parts} allowed",
        field="text",
    )


def _template(
    account: Account,
    dialect: str,
    item: Submission,
    now: float,
    limits: Limits,
    job_id: str | None,
) -> Message | GatewayError:
    """What recipients with the same sender, schedule, validity and options share."""
    for field, value in (
        ("sender", item.sender),
        ("tag", item.tag),
        ("callback_url", item.callback_url),
    ):
        if value is not None and NUL in value:
            return _holds_nul(field)
    sender = item.sender if item.sender is not None else account.settings.get("default_sender")
    if sender is not None and sender not in account.senders:
        return GatewayError(
            ErrorCode.SENDER_NOT_ALLOWED, f"sender {sender!r} is not allowed", field="sender"
        )
    try:
        not_before = check_schedule(item.not_before, now, max_ahead=limits.max_schedule_ahead)
    except GatewayError as exc:
        return exc
    due = not_before or now
    if item.expires_at is not None:
        expires_at = item.expires_at
    else:
        ttl = item.ttl if item.ttl is not None else limits.default_ttl
        if not 0 < ttl <= limits.max_ttl:
            return GatewayError(ErrorCode.BAD_VALIDITY, "validity period out of range", field="ttl")
        expires_at = due + ttl
    if expires_at <= due:
        return GatewayError(ErrorCode.BAD_VALIDITY, "message expires before it is due", field="ttl")
    if item.window is not None:
        not_before = item.window.next_open(due) if not item.window.contains(due) else not_before
    # Fourteen keywords, then the options: CPython passes a call of more than 15 keywords
    # through a dict it builds first, which cost a single send about a microsecond here.
    template = Message(
        id="",
        account_id=account.id,
        dialect=dialect,
        sender=sender,
        phone="",
        text="",
        encoding="",
        segments=0,
        priority=item.priority,
        not_before=not_before,
        expires_at=expires_at,
        status=Status.SCHEDULED if not_before else Status.QUEUED,
        created_at=now,
        updated_at=now,
    )
    return _replace(
        template,
        job_id=job_id,
        window=item.window,
        flash=item.flash,
        tag=item.tag,
        callback_url=item.callback_url,
        confidential=item.confidential,
        meta=item.meta,
    )
