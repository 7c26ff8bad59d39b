"""The XML specification's account requests that the core supports: the senders list
(originator.php), incoming SMS (incoming.php), the stop list (stop.php, list_stop.php),
scheduled SMS (list_scheduled.php, scheduled.php), the user's time (time.php) and version.php.

Each takes the authenticated account and the parsed document; every read sees only that
account's data."""

from __future__ import annotations

import math
import time
from importlib import metadata
from xml.etree.ElementTree import Element

from starlette.responses import Response

from ...core.errors import GatewayError
from ...core.models import Account, Message, MoMessage
from ...core.phone import normalize
from ...core.status import Status
from ...engine.gateway import Gateway
from ...store.base import MessageFilter
from . import render
from .actions import message, number
from .auth import DIALECT
from .errors import format_error
from .parse import page_of, schedule_ids, stop_changes, time_window
from .schemas import Parsed

SCHEDULED_PAGE = 100  # scheduled SMS a page of list_scheduled.php
MAX_INCOMING = 10_000  # incoming SMS one incoming.php answer lists at most
READ_BATCH = 1000  # rows a store read returns while a list is gathered


def _document(parsed: Parsed) -> Element:
    if parsed.document is None:  # only the XML routes reach these requests
        raise format_error(xml=True)
    return parsed.document


async def originators(gateway: Gateway, parsed: Parsed, account: Account, xml: bool) -> Response:
    return render.xml_response(render.originators_xml(account))


async def incoming(gateway: Gateway, parsed: Parsed, account: Account, xml: bool) -> Response:
    """Incoming SMS received after `start` and before `end` (both excluded)."""
    start, end = time_window(_document(parsed), account)
    found: list[MoMessage] = []
    after = 0
    while len(found) < MAX_INCOMING:
        batch = await gateway.list_mo(account, after_seq=after, limit=READ_BATCH)
        found += [
            m for m in batch if start < m.received_at and (end is None or m.received_at < end)
        ]
        if len(batch) < READ_BATCH:
            break
        after = batch[-1].seq
    return render.xml_response(render.incoming_xml(found[:MAX_INCOMING], account))


async def stop(gateway: Gateway, parsed: Parsed, account: Account, xml: bool) -> Response:
    """stop.php: `add` for each phone added (already listed too), `delete` for each phone
    taken off, `not_found` for a phone to take off that was not listed or any phone that is
    not a number. Additions are applied before removals, as the document lists them."""
    adds, deletes = stop_changes(_document(parsed))
    listed = set(await gateway.stoplist(account))
    results: list[tuple[str, str]] = []
    to_add: list[str] = []
    to_remove: list[str] = []
    for raw in adds:
        phone = _e164(raw)
        results.append((raw, "add" if phone else "not_found"))
        if phone:
            to_add.append(phone)
            listed.add(phone)
    for raw in deletes:
        phone = _e164(raw)
        found = phone is not None and phone in listed
        results.append((raw, "delete" if found else "not_found"))
        if phone is not None and found:
            to_remove.append(phone)
            listed.discard(phone)
    if to_add:
        await gateway.stoplist_add(account, to_add)
    if to_remove:
        await gateway.stoplist_remove(account, to_remove)
    return render.xml_response(render.phone_words_xml(results))


def _e164(raw: str) -> str | None:
    try:
        return normalize(raw, trunk_8_to_7=True)
    except GatewayError:
        return None


async def stoplist(gateway: Gateway, parsed: Parsed, account: Account, xml: bool) -> Response:
    return render.xml_response(render.stoplist_xml(sorted(await gateway.stoplist(account))))


async def scheduled(gateway: Gateway, parsed: Parsed, account: Account, xml: bool) -> Response:
    """list_scheduled.php: page `page` (from one) of the account's scheduled SMS, oldest
    first, SCHEDULED_PAGE a page; `num_pages` is at least 1."""
    page = page_of(_document(parsed), "scheduled")
    waiting = await _all_scheduled(gateway, account)
    pages = max(1, math.ceil(len(waiting) / SCHEDULED_PAGE))
    shown = waiting[(page - 1) * SCHEDULED_PAGE : page * SCHEDULED_PAGE]
    return render.xml_response(render.scheduled_xml(page, pages, shown, account))


async def _all_scheduled(gateway: Gateway, account: Account) -> list[Message]:
    wanted = MessageFilter(status=Status.SCHEDULED.value, dialect=DIALECT)
    found: list[Message] = []
    after = 0
    while True:
        batch = await gateway.list_messages(account, wanted, after_seq=after, limit=READ_BATCH)
        found += batch
        if len(batch) < READ_BATCH:
            return found
        after = batch[-1].seq


async def delete_scheduled(
    gateway: Gateway, parsed: Parsed, account: Account, xml: bool
) -> Response:
    """scheduled.php: `delete` for each scheduled SMS cancelled (and refunded by the core),
    `not_found` for an id that is not one of the account's scheduled SMS."""
    results = []
    for raw in schedule_ids(_document(parsed)):
        seq = number(raw)
        found = await message(gateway, account, seq) if seq is not None else None
        results.append((raw, await _cancel(gateway, account, found)))
    return render.xml_response(render.deleted_xml(results))


async def _cancel(gateway: Gateway, account: Account, found: Message | None) -> str:
    if found is None or found.status is not Status.SCHEDULED:
        return "not_found"
    try:
        await gateway.cancel(account, found.id)
    except GatewayError:  # a dispatcher took it in the meantime
        return "not_found"
    return "delete"


async def user_time(gateway: Gateway, parsed: Parsed, account: Account, xml: bool) -> Response:
    """time.php: the user's local time (the account's time zone)."""
    return render.xml_response(render.time_xml(time.time(), account))


async def version(gateway: Gateway, parsed: Parsed, account: Account, xml: bool) -> Response:
    """version.php: smsgate's version (no provider document describes this request)."""
    try:
        found = metadata.version("smsgate")
    except metadata.PackageNotFoundError:
        found = "unknown"
    return render.xml_response(render.version_xml(found))
