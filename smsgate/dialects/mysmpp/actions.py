"""What the JSON, XML and HTTP GET APIs share: a send's phones into Entries, and status ids
into the account's messages."""

from __future__ import annotations

import time

from ...core.errors import ErrorCode, GatewayError
from ...core.models import Account, Message, Submission
from ...engine.gateway import Gateway
from .auth import DIALECT
from .errors import PhoneError, format_error, per_phone_text
from .parse import Lifetime, phone_error, submission
from .schemas import Batch, Entry, StateRow

MAX_SEQ = 2**63 - 1  # the stores' integer: a larger id_sms names no message


async def send(
    gateway: Gateway, account: Account, batches: list[Batch], lifetime: Lifetime
) -> list[Entry]:
    """One Entry per phone, in request order: the phones refused before submission keep the
    provider's text, the others go to the core in one request."""
    now = time.time()
    xml = lifetime.xml
    entries: list[Entry] = []
    items: list[Submission] = []
    positions: list[int] = []
    for batch in batches:
        for r in batch.recipients:
            entry = Entry(number_sms=r.number_sms)
            if entry.number_sms is None and xml:
                entry.number_sms = str(len(entries) + 1)
            entry.error = phone_error(batch, r)
            if entry.error is None:
                try:
                    items.append(submission(batch, r, account, gateway.limits, now, lifetime))
                except PhoneError as exc:
                    entry.error = exc.text
                else:
                    positions.append(len(entries))
            entries.append(entry)
    if not entries or len(entries) > gateway.limits.max_recipients:
        raise format_error(xml)
    if items:
        outcomes, _ = await gateway.submit(account, DIALECT, items, trunk_8_to_7=True)
        for pos, outcome in zip(positions, outcomes, strict=True):
            entry = entries[pos]
            if outcome.kind == "error" or outcome.message is None:
                error = outcome.error or GatewayError(ErrorCode.SYSTEM_ERROR)
                entry.error = per_phone_text(error, xml)
            else:
                entry.id_sms = outcome.message.seq
                entry.parts = outcome.message.segments
    return entries


async def lookup(gateway: Gateway, account: Account, ids: list[str | int]) -> list[StateRow]:
    """Each requested id in order; only this account's mysmpp messages are ever found."""
    rows = []
    for raw in ids:
        seq = number(raw)
        found = await message(gateway, account, seq) if seq is not None else None
        rows.append(StateRow(seq if seq is not None else raw, found))
    return rows


async def message(gateway: Gateway, account: Account, seq: int) -> Message | None:
    found = await gateway.message_by_seq(account, seq)
    return found if found is not None and found.dialect == DIALECT else None


def number(value: str | int) -> int | None:
    """An id_sms as the stores' integer, else None (it names no message): a JSON number or
    ASCII digits, from 1 to 2**63 - 1."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 0 < value <= MAX_SEQ else None
    text = str(value).strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 19:
        return None
    seq = int(text)
    return seq if 0 < seq <= MAX_SEQ else None
