"""The platform's answers, as JSON or XML: send results, statuses, balance, errors."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import msgspec
from starlette.responses import Response

from ...core.models import Account, Message
from ...core.money import MICROS, format_amount
from ...core.status import Status
from . import xmlio
from .errors import delivery_text
from .schemas import Entry, StateRow
from .settings import options
from .statuses import SEND, state_of
from .times import local_time

JSON_TYPE = "application/json; charset=utf-8"
XML_TYPE = "text/xml; charset=utf-8"
NOT_FOUND = "SMS not found"


def json_response(value: Any, status: int = 200) -> Response:
    return Response(msgspec.json.encode(value), status_code=status, media_type=JSON_TYPE)


def xml_response(body: bytes, status: int = 200) -> Response:
    return Response(body, status_code=status, media_type=XML_TYPE)


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
