"""SMSC.ru's four answer formats: fmt=0 text, fmt=1 comma-separated numbers, fmt=2 XML, fmt=3 JSON.

Each answer is encoded in the request's charset; the HTTP status is 200 unless the error says
otherwise (413 for an oversized body, 503 while storage is unavailable).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

import msgspec
from starlette.responses import Response

from ...core.hlr import FIELDS as HLR_FIELDS
from ...core.hlr import HlrAnswer
from ...core.models import Message
from ...core.money import format_amount
from ...core.phone import country_of
from .channels import type_of
from .errors import SmscError
from .parse import Params
from .statuses import NAMES, NOT_FOUND, of_message

MEDIA = {0: "text/plain", 1: "text/plain", 2: "application/xml", 3: "application/json"}


def number(value: str) -> int | str:
    """An id as SMSC.ru's JSON shows it: a number when it is one."""
    return int(value) if value.isdigit() and len(value) < 19 else value


def _response(p: Params, text: str, status: int = 200) -> Response:
    return Response(
        text.encode(p.charset, "replace"),
        status_code=status,
        media_type=f"{MEDIA[p.fmt]}; charset={p.charset}",
    )


def _xml(fields: list[tuple[str, Any]], root: str = "result", raw: str = "") -> str:
    """`<root>` holding an element per field, then `raw` (markup made by _xml)."""
    inner = "".join(f"<{k}>{escape(str(v))}</{k}>" for k, v in fields)
    return f"<{root}>{inner}{raw}</{root}>"


def _xml_doc(p: Params, body: str) -> str:
    return f'<?xml version="1.0" encoding="{p.charset}"?>\n{body}'


def _json(value: Any) -> str:
    return msgspec.json.encode(value).decode()


def structured(p: Params, fields: list[tuple[str, Any]]) -> Response:
    """fmt=2 / fmt=3 of an ordered field list."""
    if p.fmt == 2:
        return _response(p, _xml_doc(p, _xml(fields)))
    return _response(p, _json(dict(fields)))


def error(p: Params, exc: SmscError) -> Response:
    if p.fmt == 0:
        text = f"ERROR = {exc.code} ({exc.text})"
        if exc.msg_id is not None:
            text += f", ID - {exc.msg_id}"
        return _response(p, text, exc.http)
    if p.fmt == 1:
        return _response(p, f"{exc.msg_id or 0},-{exc.code}", exc.http)
    fields: list[tuple[str, Any]] = [("error", exc.text), ("error_code", exc.code)]
    if exc.msg_id is not None:
        fields.append(("id", number(exc.msg_id)))
    if p.fmt == 2:
        return _response(p, _xml_doc(p, _xml(fields)), exc.http)
    return _response(p, _json(dict(fields)), exc.http)


def sent(
    p: Params,
    msg_id: str,
    cnt: int,
    cost: str | None,
    balance: str | None,
    phones: list[dict[str, Any]] | None = None,
) -> Response:
    """The answer to a send; `phones` (err=1 or op=1): a record per number (phone, cost, cnt,
    status, error), as lines after the first in fmt=0/1, as `phones` in fmt=2/3."""
    if p.fmt == 0:
        text = f"OK - {cnt} SMS, ID - {msg_id}"
        if cost is not None:
            text += f", COST - {cost}"
        if balance is not None:
            text += f", BALANCE - {balance}"
        lines = [", ".join(f"{k} = {v}" for k, v in r.items()) for r in phones or []]
        return _response(p, "\n".join([text, *lines]))
    if p.fmt == 1:
        parts = [msg_id, str(cnt)]
        parts += [v for v in (cost, balance) if v is not None]
        lines = [",".join(str(v) for v in r.values()) for r in phones or []]
        return _response(p, "\n".join([",".join(parts), *lines]))
    fields: list[tuple[str, Any]] = [("id", number(msg_id)), ("cnt", cnt)]
    if cost is not None:
        fields.append(("cost", cost))
    if balance is not None:
        fields.append(("balance", balance))
    if phones is None:
        return structured(p, fields)
    if p.fmt == 2:
        inner = "".join(_xml(list(r.items()), "phone") for r in phones)
        return _response(p, _xml_doc(p, _xml(fields, raw=f"<phones>{inner}</phones>")))
    return _response(p, _json({**dict(fields), "phones": phones}))


def cost(p: Params, amount: str, cnt: int) -> Response:
    if p.fmt == 0:
        return _response(p, f"{amount} ({cnt} SMS)")
    if p.fmt == 1:
        return _response(p, f"{amount},{cnt}")
    return structured(p, [("cost", amount), ("cnt", cnt)])


def balance(p: Params, amount: str, currency: str | None) -> Response:
    if p.fmt in (0, 1):
        sep = ", " if p.fmt == 0 else ","
        return _response(p, amount + (f"{sep}{currency}" if currency else ""))
    fields: list[tuple[str, Any]] = [("balance", amount)]
    if currency:
        fields.append(("currency", currency))
    return structured(p, fields)


def _date(ts: float, zone: str) -> str:
    return datetime.fromtimestamp(ts, ZoneInfo(zone)).strftime("%d.%m.%Y %H:%M:%S")


def status_record(
    m: Message | None,
    answer: HlrAnswer | None,
    zone: str,
    full: int,
    key: tuple[str, str] | None,
) -> dict[str, Any]:
    """What status.php tells of a message (None: not found): its status, the HLR answer of an
    HLR query, with `full` (all=1, 2) the message itself, with `key` (several ids) its id."""
    record: dict[str, Any]
    if m is None:
        record = {"status": NOT_FOUND}
    else:
        code, err = of_message(m)
        record = {
            "status": code,
            "last_date": _date(m.updated_at, zone),
            "last_timestamp": int(m.updated_at),
        }
        if err:
            record["err"] = err
        if answer is not None:
            record.update(msgspec.structs.asdict(answer))
        if full:
            record.update(_message_fields(m, answer, zone, code, full))
    if key is not None:
        record["id"] = number(key[0])
        record.setdefault("phone", key[1])
    return record


def _message_fields(
    m: Message, answer: HlrAnswer | None, zone: str, code: int, full: int
) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "send_date": _date(m.created_at, zone),
        "send_timestamp": int(m.created_at),
        "phone": m.phone,
        "cost": format_amount(m.price, 2),
    }
    if full == 2:
        fields["country"] = answer.cn if answer else (country_of(m.phone) or "")
        fields["operator"] = answer.net if answer else ""
        fields["region"] = ""
    # An HLR query's sender is "HLR": SMSC.ru's libraries tell its lines by that field.
    fields["sender_id"] = "HLR" if answer is not None else m.sender or ""
    fields["status_name"] = NAMES.get(code, "")
    fields["message"] = "" if m.confidential else m.text
    fields["type"] = type_of(m)
    return fields


def senders(p: Params, names: list[str]) -> Response:
    """senders.php?get=1: fmt=0 `sender = NAME` a line, fmt=1 a name a line, fmt=2
    `<result><sender>NAME</sender>…</result>`, fmt=3 `[{"sender": "NAME"}, …]`."""
    if p.fmt == 0:
        return _response(p, "\n".join(f"sender = {n}" for n in names))
    if p.fmt == 1:
        return _response(p, "\n".join(names))
    if p.fmt == 2:
        return _response(p, _xml_doc(p, _xml([("sender", n) for n in names])))
    return _response(p, _json([{"sender": n} for n in names]))


def statuses(p: Params, records: list[dict[str, Any]], many: bool, full: int) -> Response:
    """Status answers. Each record: status, last_date, last_timestamp, err (when not zero), the
    HLR fields of an HLR query, then with `full` (all=1/2) what status.php tells of the message,
    then `id` (and `phone` where not already there) when `many`."""
    if not many:
        record = records[0]
        if p.fmt in (2, 3):
            return structured(p, list(record.items()))
        return _response(p, _status_line(p, record, full))
    if p.fmt == 3:
        return _response(p, _json(records))
    if p.fmt == 2:
        body = "".join(_xml(list(r.items()), "result") for r in records)
        return _response(p, _xml_doc(p, f"<results>{body}</results>"))
    return _response(p, "\n".join(_status_line(p, r, full) for r in records))


# The fields of a status line after status, time and err, in the order SMSC.ru's libraries
# split them: the message text last, so that the text may hold commas (smsc_api.py and
# smsc_api.php split an all=1 line into 9 fields, an all=2 line into 12). `type` is left to
# the JSON and XML answers, where it is a named field.
FULL_LINE = ("phone", "cost", "sender_id", "status_name", "message")
FULL2_LINE = (
    "phone",
    "cost",
    "country",
    "operator",
    "region",
    "sender_id",
    "status_name",
    "message",
)


def _line_fields(r: dict[str, Any], full: int) -> list[tuple[str, Any]]:
    """(name, value) of the fields after status, time and err, in line order."""
    fields = [(k, r[k]) for k in HLR_FIELDS if k in r]
    if full and "send_date" in r:
        fields.append(("send_date", r["send_date"]))
        fields += [(k, r.get(k, "")) for k in (FULL2_LINE if full == 2 else FULL_LINE)]
    fields += [(k, r[k]) for k in ("id", "phone") if k in r and k not in dict(fields)]
    return fields


def _status_line(p: Params, r: dict[str, Any], full: int) -> str:
    fields = _line_fields(r, full)
    if p.fmt == 0:
        if r["status"] == NOT_FOUND:
            head = f"Status = {NOT_FOUND}"
        else:
            head = f"Status = {r['status']}, check_time = {r['last_date']}"
            if r.get("err"):
                head += f", err = {r['err']}"
        return ", ".join([head, *(f"{k} = {v}" for k, v in fields)])
    values = [r["status"], r.get("last_timestamp", 0), r.get("err", 0)]
    values += [r["send_timestamp"] if k == "send_date" else v for k, v in fields]
    return ",".join(str(v) for v in values)
