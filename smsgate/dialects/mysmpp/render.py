"""The platform's answers, as JSON, XML or (the HTTP GET API) plain text: send results,
statuses, balance, the XML account requests' lists, errors."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import msgspec
from starlette.responses import Response

from ...core.models import Account, Message, MoMessage
from ...core.money import MICROS, format_amount
from ...core.status import Status
from . import xmlio
from .errors import NOT_FOUND, delivery_text
from .schemas import Entry, StateRow
from .settings import options
from .statuses import SEND, state_of
from .times import local_time

JSON_TYPE = "application/json; charset=utf-8"
XML_TYPE = "text/xml; charset=utf-8"
TEXT_TYPE = "text/plain; charset=utf-8"


def json_response(value: Any, status: int = 200) -> Response:
    return Response(msgspec.json.encode(value), status_code=status, media_type=JSON_TYPE)


def xml_response(body: bytes, status: int = 200) -> Response:
    return Response(body, status_code=status, media_type=XML_TYPE)


def text_response(text: str, status: int = 200) -> Response:
    """The HTTP GET API's bare answer: no whitespace around it (a client pastes it into its
    next URL)."""
    return Response(text.encode(), status_code=status, media_type=TEXT_TYPE)


def error_response(text: str, status: int, xml: bool) -> Response:
    """A whole-request error: `{"error": text}` or `<response><error>text</error></response>`."""
    if xml:
        return xml_response(xmlio.error_document(text), status)
    return json_response({"error": text}, status)


def sent_json(entries: list[Entry]) -> Response:
    information = [
        {"error": e.error} if e.error is not None else {"state": "send", "id_sms": e.id_sms}
        for e in entries
    ]
    return json_response({"information": information})


def sent_xml(entries: list[Entry]) -> Response:
    children = [
        xmlio.element("information", {"number_sms": e.number_sms}, e.error)
        if e.error is not None
        else xmlio.element(
            "information",
            {"number_sms": e.number_sms, "id_sms": e.id_sms, "parts": e.parts},
            "send",
        )
        for e in entries
    ]
    return xml_response(xmlio.document(children))


def sent_text(entries: list[Entry]) -> str:
    """The GET API's send answer: each phone's id_sms, or its error text, joined by commas."""
    return ",".join(e.error if e.error is not None else str(e.id_sms) for e in entries)


def _price(m: Message) -> float:
    return float(Decimal(m.price // max(m.segments, 1)) / MICROS)


def _time(m: Message, account: Account) -> str:
    state = state_of(m.status)
    return "" if state == SEND else local_time(m.done_at or m.updated_at, account)


def _failure(m: Message) -> str | None:
    if m.status in (Status.UNDELIVERED, Status.EXPIRED, Status.REJECTED, Status.UNKNOWN):
        return delivery_text(m.error_code)
    return None


def state_json(rows: list[StateRow], account: Account, detail: bool) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for row in rows:
        m = row.message
        if m is None:
            out.append({"id_sms": row.id_sms, "error": NOT_FOUND})
            continue
        entry: dict[str, Any] = {
            "id_sms": m.seq,
            "time_change_state": _time(m, account),
            "state": state_of(m.status),
        }
        if detail:
            entry["num_parts"] = m.segments
            entry["price"] = _price(m)
        failure = _failure(m)
        if failure:
            entry["error"] = failure
        out.append(entry)
    return out


def state_xml(rows: list[StateRow], account: Account) -> bytes:
    children = []
    for row in rows:
        m = row.message
        if m is None:
            children.append(
                xmlio.element("state", {"id_sms": row.id_sms, "time": "", "error": NOT_FOUND}, "")
            )
            continue
        state = state_of(m.status)
        attrs: dict[str, object] = {
            "id_sms": m.seq,
            "time": _time(m, account),
            "sms": state,
            "num_parts": m.segments,
            "price": _price(m),
            "error": _failure(m),
        }
        children.append(xmlio.element("state", attrs, state))
    return xmlio.document(children)


def _money(micros: int) -> str:
    """19023.90 -> '19023.9', 1000.00 -> '1000' (the provider's example form)."""
    text = format_amount(micros, 2)
    return text.rstrip("0").rstrip(".") if "." in text else text


def currency(account: Account) -> str:
    return "RUR" if account.currency.upper() == "RUB" else account.currency


def sms_left(balance: int, account: Account) -> str:
    return str(max(balance, 0) // account.price) if account.price > 0 else "Unlim"


def area(account: Account) -> str:
    return str(options(account).get("area", "Russia"))


def balance_json(balance: int, account: Account) -> dict[str, Any]:
    return {
        "money": _money(balance),
        "currency": currency(account),
        "information": [
            {"type_sms": "sms", "area": area(account), "num_sms": sms_left(balance, account)}
        ],
    }


def balance_xml(balance: int, account: Account) -> bytes:
    return xmlio.document(
        [
            xmlio.element("money", {"currency": currency(account)}, _money(balance)),
            xmlio.element("sms", {"area": area(account)}, sms_left(balance, account)),
        ]
    )


# The XML account requests ---------------------------------------------------------------------
def originators_xml(account: Account) -> bytes:
    """originator.php: smsgate sends only from the account's senders, each ready for use."""
    listed = "".join(
        xmlio.element("originator", {"state": "completed"}, name) for name in account.senders
    )
    return xmlio.document(
        [
            xmlio.element("any_originator", text="FALSE"),
            f"<list_originator>{listed}</list_originator>",
        ]
    )


def incoming_xml(found: list[MoMessage], account: Account) -> bytes:
    return xmlio.document(
        xmlio.element(
            "sms",
            {
                "id_sms": mo.seq,
                "date_receive": local_time(mo.received_at, account),
                "originator": mo.phone,
                "prefix": str((mo.meta or {}).get("prefix", "")),
                "phone": mo.to,
            },
            mo.text,
        )
        for mo in found
    )


def phone_words_xml(results: list[tuple[str, str]]) -> bytes:
    """stop.php: `<phone phone="…">add|delete|not_found</phone>` for each phone asked about."""
    return xmlio.document(xmlio.element("phone", {"phone": p}, word) for p, word in results)


def stoplist_xml(phones: list[str]) -> bytes:
    """The stop list: each phone as the attribute stop.php answers with, and as text."""
    return xmlio.document(xmlio.element("phone", {"phone": p}, p) for p in phones)


def scheduled_xml(page: int, pages: int, found: list[Message], account: Account) -> bytes:
    """list_scheduled.php: one page of the account's scheduled SMS."""
    rows = "".join(_scheduled(m, account) for m in found)
    return xmlio.document([f'<phones page="{page}" num_pages="{pages}">{rows}</phones>'])


def _scheduled(m: Message, account: Account) -> str:
    kind = "flashsms" if m.flash else "sms"
    return xmlio.element(
        "scheduled",
        {
            "id_sms": m.seq,
            "time_put_turn": local_time(m.created_at, account),
            "originator": m.sender or "",
            "phone": m.phone,
            "type_sms": kind,  # the provider's example
            "type": kind,  # its table's name for the same
            "text_sms": "" if m.confidential else m.text,
            "count_sms": m.segments,
            "name_delivery": m.tag or "",
            "time_send": local_time(m.not_before, account)[:16],  # YYYY-MM-DD HH:MM
            "validity_period": local_time(m.expires_at, account),
        },
    )


def deleted_xml(results: list[tuple[str, str]]) -> bytes:
    """scheduled.php: `<scheduled id_sms="…">delete|not_found</scheduled>` for each id."""
    return xmlio.document(xmlio.element("scheduled", {"id_sms": i}, word) for i, word in results)


def time_xml(now: float, account: Account) -> bytes:
    return xmlio.document([xmlio.element("time", text=local_time(now, account))])


def version_xml(version: str) -> bytes:
    return xmlio.document([xmlio.element("version", text=version)])
