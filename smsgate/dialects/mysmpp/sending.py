"""Send: parsed batches -> Submissions -> one Entry per phone, in request order."""

from __future__ import annotations

import time
from dataclasses import dataclass

from ...core.errors import ErrorCode, GatewayError
from ...core.models import Account, Submission
from ...engine.gateway import Gateway
from . import errors as E
from .model import Batch, Recipient
from .statuses import parse_local

DIALECT = "mysmpp"
MAX_CLIENT_ID = 64  # characters of client_id_sms (the provider says Int; we keep it as text)
MAX_SENDER_DIGITS = 15
MAX_SENDER_ALPHA = 11
MAX_PHONE_DIGITS = 15
_PHONE_STRIP = str.maketrans("", "", " -().\t\u00a0")


class PhoneError(Exception):
    """One phone refused before submission, with the provider's text."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


@dataclass
class Entry:
    """What became of one phone: an id and parts, or an error text."""

    number_sms: str | None
    id_sms: int | None = None
    parts: int | None = None
    error: str | None = None


def _text(value: str | int | None) -> str:
    return "" if value is None else str(value)


def _check_sender(sender: str) -> str | None:
    if not sender:
        return E.NO_SENDER
    digits = sender[1:] if sender.startswith("+") else sender
    if digits.isascii() and digits.isdigit():
        too_long = len(digits) > MAX_SENDER_DIGITS
    else:
        too_long = len(sender) > MAX_SENDER_ALPHA
    return E.SENDER_TOO_LONG if too_long else None


def _check_phone(phone: str | int | None) -> str | None:
    if phone is None or (isinstance(phone, str) and not phone.strip()):
        return E.NO_PHONE
    digits = str(phone).strip().translate(_PHONE_STRIP).lstrip("+")
    if digits.isascii() and digits.isdigit() and len(digits) > MAX_PHONE_DIGITS:
        return E.PHONE_TOO_LONG
    return None


def _channel_error(batch: Batch) -> str | None:
    channel = (batch.type_send_1 or "sms").strip().lower()
    if channel != "sms":
        return E.CLOSED_FOR_YOU  # Viber (and anything else) is not offered by this gateway
    kind = (batch.type or "sms").strip().lower()
    if kind in ("sms", "flashsms"):
        return None
    return E.CLOSED_FOR_YOU


def client_ref(value: str | int | None, xml: bool) -> str | None:
    if value is None or isinstance(value, bool):
        return None
    ref = str(value).strip()
    if len(ref) > MAX_CLIENT_ID:
        raise E.format_error(xml)
    return ref or None


def _when(value: str | None, account: Account, xml: bool) -> float | None:
    if value is None or not value.strip():
        return None
    try:
        return parse_local(value, account)
    except ValueError:
        raise PhoneError(E.XML_FORMAT if xml else E.JSON_FORMAT) from None


def submission(
    batch: Batch, r: Recipient, account: Account, gateway: Gateway, now: float, xml: bool
) -> Submission:
    not_before = _when(r.time_send, account, xml)
    if not_before is not None and not_before <= now:
        not_before = None  # a time already past means "now", as the provider says of no time
    validity = _when(r.validity_period, account, xml)
    expires_at = None
    if validity is not None:
        due = not_before or now
        if validity <= due:  # already over: nothing may be attempted
            raise PhoneError(E.JSON_FORMAT if not xml else E.XML_FORMAT)
        expires_at = min(validity, due + gateway.limits.max_ttl)
    return Submission(
        phone=r.phone if isinstance(r.phone, int) else _text(r.phone).strip(),
        text=_text(batch.text),
        sender=_text(batch.sender).strip(),
        client_ref=client_ref(r.client_id_sms, xml),
        not_before=not_before,
        expires_at=expires_at,
        flash=(batch.type or "").strip().lower() == "flashsms",
    )


async def send(gateway: Gateway, account: Account, batches: list[Batch], xml: bool) -> list[Entry]:
    now = time.time()
    entries: list[Entry] = []
    items: list[Submission] = []
    positions: list[int] = []
    for batch in batches:
        sender = _text(batch.sender).strip()
        text = _text(batch.text)
        for r in batch.recipients:
            entry = Entry(number_sms=r.number_sms)
            if entry.number_sms is None and xml:
                entry.number_sms = str(len(entries) + 1)
            entry.error = (
                _channel_error(batch)
                or _check_phone(r.phone)
                or _check_sender(sender)
                or (E.NO_TEXT if not text.strip() else None)
            )
            if entry.error is None:
                try:
                    items.append(submission(batch, r, account, gateway, now, xml))
                except PhoneError as exc:
                    entry.error = exc.text
                else:
                    positions.append(len(entries))
            entries.append(entry)
    if not entries or len(entries) > gateway.limits.max_recipients:
        raise E.format_error(xml)
    if items:
        outcomes, _ = await gateway.submit(account, DIALECT, items, trunk_8_to_7=True)
        for pos, outcome in zip(positions, outcomes, strict=True):
            entry = entries[pos]
            if outcome.kind == "error" or outcome.message is None:
                error = outcome.error or GatewayError(ErrorCode.SYSTEM_ERROR)
                entry.error = E.per_phone_text(error, xml)
            else:
                entry.id_sms = outcome.message.seq
                entry.parts = outcome.message.segments
    return entries
