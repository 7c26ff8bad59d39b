"""SMSC.ru's four answer formats: fmt=0 text, fmt=1 comma-separated numbers, fmt=2 XML, fmt=3 JSON.

Each answer is encoded in the request's charset; the HTTP status is 200 unless the error says
otherwise (413 for an oversized body, 503 while storage is unavailable).
"""

from __future__ import annotations

from typing import Any
from xml.sax.saxutils import escape

import msgspec
from starlette.responses import Response

from .errors import SmscError
from .parse import Params

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


def _xml(fields: list[tuple[str, Any]], root: str = "result") -> str:
    inner = "".join(f"<{k}>{escape(str(v))}</{k}>" for k, v in fields)
    return f"<{root}>{inner}</{root}>"


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


def sent(p: Params, msg_id: str, cnt: int, cost: str | None, balance: str | None) -> Response:
    if p.fmt == 0:
        text = f"OK - {cnt} SMS, ID - {msg_id}"
        if cost is not None:
            text += f", COST - {cost}"
        if balance is not None:
            text += f", BALANCE - {balance}"
        return _response(p, text)
    if p.fmt == 1:
        parts = [msg_id, str(cnt)]
        parts += [v for v in (cost, balance) if v is not None]
        return _response(p, ",".join(parts))
    fields: list[tuple[str, Any]] = [("id", number(msg_id)), ("cnt", cnt)]
    if cost is not None:
        fields.append(("cost", cost))
    if balance is not None:
        fields.append(("balance", balance))
    return structured(p, fields)


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


def statuses(p: Params, records: list[dict[str, Any]], many: bool) -> Response:
    """Status answers. Each record: status, last_date, last_timestamp, err (when not zero), extras."""
    if not many:
        record = records[0]
        if p.fmt in (2, 3):
            return structured(p, list(record.items()))
        return _response(p, _status_line(p, record))
    if p.fmt == 3:
        return _response(p, _json(records))
    if p.fmt == 2:
        body = "".join(_xml(list(r.items()), "result") for r in records)
        return _response(p, _xml_doc(p, f"<results>{body}</results>"))
    return _response(p, "\n".join(_status_line(p, r) for r in records))


_LINE_SKIP = {"status", "last_date", "last_timestamp", "err", "send_date"}


def _status_line(p: Params, r: dict[str, Any]) -> str:
    if p.fmt == 0:
        if r["status"] == -3:
            text = "Status = -3"
        else:
            text = f"Status = {r['status']}, check_time = {r['last_date']}"
            if r.get("err"):
                text += f", err = {r['err']}"
        extras = [f"{k} = {v}" for k, v in r.items() if k not in _LINE_SKIP]
        return ", ".join([text, *extras])
    values = [r["status"], r.get("last_timestamp", 0), r.get("err", 0)]
    values += [v for k, v in r.items() if k not in _LINE_SKIP]
    return ",".join(str(v) for v in values)
