"""Status and balance: looked up once, rendered as JSON or XML."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ...core.models import Account, Message
from ...core.money import MICROS, format_amount
from ...core.status import Status
from ...engine.gateway import Gateway
from . import xmlio
from .errors import delivery_text
from .statuses import SEND, local_time, state_of

MAX_IDS = 1000  # id_sms per status request
NOT_FOUND = "SMS not found"


@dataclass
class StateRow:
    id_sms: str | int
    message: Message | None


def _number(value: str | int) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    text = str(value).strip()
    return int(text) if text.isascii() and text.isdigit() and len(text) < 19 else None


async def lookup(gateway: Gateway, account: Account, ids: list[str | int]) -> list[StateRow]:
    """Each requested id in order; only this account's messages are ever found."""
    rows = []
    for raw in ids:
        seq = _number(raw)
        found = await gateway.message_by_seq(account, seq) if seq else None
        if found is not None and found.dialect != "mysmpp":
            found = None
        rows.append(StateRow(seq if seq is not None else raw, found))
    return rows


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


def _options(account: Account) -> dict[str, Any]:
    options = account.settings.get("mysmpp")
    return options if isinstance(options, dict) else {}


def currency(account: Account) -> str:
    return "RUR" if account.currency.upper() == "RUB" else account.currency


def sms_left(balance: int, account: Account) -> str:
    return str(max(balance, 0) // account.price) if account.price > 0 else "Unlim"


def area(account: Account) -> str:
    return str(_options(account).get("area", "Russia"))


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
