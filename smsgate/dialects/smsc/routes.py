"""SMSC.ru's HTTP API: /sys/send.php, /sys/status.php, /sys/balance.php (GET and POST alike).

Also served with a trailing slash, and as /rest/send/, /rest/status/, /rest/balance/ (JSON
bodies; JSON answers unless `fmt` says otherwise).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from ...core.errors import ErrorCode, GatewayError
from ...core.models import Account, Message, Submission
from ...core.money import format_amount
from ...core.segments import segment
from ...engine.gateway import Gateway
from ...store.base import Outcome
from ..endpoint import Refusals, endpoint
from . import render
from .auth import DIALECT, authenticate
from .errors import SmscError, from_gateway
from .parse import (
    MAX_ID,
    Params,
    check_id,
    fallback,
    normalize_phone,
    read,
    recipients,
)
from .schedule import parse_time, parse_valid, translit
from .statuses import NAMES, NOT_FOUND, of_message

MAX_TEXT = 1000  # characters in `mes`
CURRENCY = {"RUB": "RUR"}

Handler = Callable[[Gateway, Params, Account], Awaitable[Response]]


def _answer(default_fmt: int, request: Request, exc: SmscError | GatewayError) -> Response:
    """An error in the request's format and charset, or its query string's when the body could
    not be read (`serve` keeps the parameters it read in request.state)."""
    p = getattr(request.state, "params", None) or fallback(request, default_fmt)
    return render.error(p, exc if isinstance(exc, SmscError) else from_gateway(exc))


def refusals(default_fmt: int) -> Refusals[SmscError | GatewayError]:
    """Storage down is error 9 with HTTP 503 (SMSC.ru answers 200 otherwise)."""
    return Refusals(
        kinds=(SmscError, GatewayError),
        answer=partial(_answer, default_fmt),
        unavailable=from_gateway(GatewayError(ErrorCode.UNAVAILABLE)),
    )


SYS_REFUSALS, REST_REFUSALS = refusals(0), refusals(3)


def routes(gateway: Gateway) -> list[BaseRoute]:
    """Each call under /sys/ (text answers by default) and /rest/ (JSON by default), with and
    without a trailing slash, bound to `gateway`."""
    table: list[BaseRoute] = []
    for name, handler in (("send", send), ("status", status), ("balance", balance)):
        sys_run = endpoint(partial(serve, handler, 0, gateway), SYS_REFUSALS)
        rest_run = endpoint(partial(serve, handler, 3, gateway), REST_REFUSALS)
        for path, run in (
            (f"/sys/{name}.php", sys_run),
            (f"/sys/{name}.php/", sys_run),
            (f"/rest/{name}/", rest_run),
            (f"/rest/{name}", rest_run),
        ):
            table.append(Route(path, run, methods=["GET", "POST"]))
    return table


async def serve(handler: Handler, default_fmt: int, gateway: Gateway, request: Request) -> Response:
    """The parameters read (and kept for an error's answer), the caller authenticated, then
    the handler."""
    p = await read(request, default_fmt)
    request.state.params = p
    account = await authenticate(gateway, request, p)
    return await handler(gateway, p, account)


# balance.php ---------------------------------------------------------------------------------
async def balance(gateway: Gateway, p: Params, account: Account) -> Response:
    amount = format_amount(await gateway.balance(account), 2)
    currency = CURRENCY.get(account.currency, account.currency) if p.flag("cur") else None
    return render.balance(p, amount, currency)


# send.php ------------------------------------------------------------------------------------
async def send(gateway: Gateway, p: Params, account: Account) -> Response:
    """Send to `phones` (or each line of `list`); `cost=1` only prices the message."""
    client_id = check_id(p.get("id"))
    msg_id = client_id or _new_id()
    try:
        return await _send_as(gateway, p, account, client_id, msg_id)
    except GatewayError as exc:
        raise from_gateway(exc, msg_id) from None


async def _send_as(
    gateway: Gateway, p: Params, account: Account, client_id: str | None, msg_id: str
) -> Response:
    now = time.time()
    cost_mode = p.flag("cost")
    if cost_mode not in (0, 1, 2, 3):
        raise SmscError(1)
    pairs = recipients(p)
    if any(len(text) > MAX_TEXT for _, text in pairs):
        raise SmscError(1)
    if p.flag("translit"):
        pairs = [(phone, translit(text)) for phone, text in pairs]
    sender: str | None = p.values.get("sender")
    if sender is not None and sender.strip() in ("", "."):
        sender = None
    not_before, window = parse_time(p.get("time"), now, account.timezone)
    ttl = parse_valid(p.get("valid"))
    flash = p.flag("flash") == 1
    targets: dict[str, str] = {}
    first_error: GatewayError | None = None
    for raw, text in pairs:
        try:
            e164 = normalize_phone(raw)
        except GatewayError as exc:
            first_error = first_error or exc
            continue
        targets.setdefault(e164, text)
    if not targets:
        raise from_gateway(first_error or GatewayError(ErrorCode.INVALID_PHONE), msg_id)
    if len(targets) > gateway.limits.max_recipients:
        raise SmscError(1)
    if cost_mode == 1:
        count = sum(segment(text).count for text in targets.values())
        return render.cost(p, format_amount(count * account.price, 2), count)

    def items(ref_id: str, phones_: list[str]) -> list[Submission]:
        meta: dict[str, Any] = {"smsc_id": ref_id}
        return [
            Submission(
                phone=e164,
                text=targets[e164],
                sender=sender,
                client_ref=f"{ref_id}:{e164}",
                not_before=not_before,
                ttl=ttl,
                window=window,
                flash=flash,
                meta=meta,
            )
            for e164 in phones_
        ]

    numbers = list(targets)
    outcomes, _ = await gateway.submit(account, DIALECT, items(msg_id, numbers))
    if client_id is None:
        outcomes = await _reroll(gateway, account, numbers, outcomes, items, msg_id)
        msg_id = _first_id(outcomes, msg_id)
    new = [o.message for o in outcomes if o.kind == "new" and o.message is not None]
    if not new:
        errors = [o.error for o in outcomes if o.kind == "error" and o.error is not None]
        if errors:
            raise from_gateway(errors[0], msg_id)
        raise SmscError(9)
    cnt = sum(m.segments for m in new)
    cost = format_amount(sum(m.price for m in new), 2) if cost_mode in (2, 3) else None
    balance = format_amount(await gateway.balance(account), 2) if cost_mode == 3 else None
    return render.sent(p, msg_id, cnt, cost, balance)


async def _reroll(
    gateway: Gateway,
    account: Account,
    numbers: list[str],
    outcomes: list[Outcome],
    items: Callable[[str, list[str]], list[Submission]],
    msg_id: str,
) -> list[Outcome]:
    """An id we drew that a phone already had: send those recipients again under a new id."""
    for _ in range(5):
        clashed = [i for i, o in enumerate(outcomes) if o.kind == "duplicate"]
        if not clashed:
            break
        again, _job = await gateway.submit(
            account, DIALECT, items(_new_id(), [numbers[i] for i in clashed])
        )
        outcomes = list(outcomes)
        for i, outcome in zip(clashed, again, strict=True):
            outcomes[i] = outcome
    return outcomes


def _first_id(outcomes: list[Outcome], default: str) -> str:
    for o in outcomes:
        if o.kind == "new" and o.message is not None and o.message.meta:
            return str(o.message.meta.get("smsc_id", default))
    return default


# status.php ----------------------------------------------------------------------------------
def _date(ts: float, zone: str) -> str:
    return datetime.fromtimestamp(ts, ZoneInfo(zone)).strftime("%d.%m.%Y %H:%M:%S")


def _record(
    m: Message | None, account: Account, full: int, key: tuple[str, str] | None
) -> dict[str, Any]:
    record: dict[str, Any]
    if m is None:
        record = {"status": NOT_FOUND}
    else:
        code, err = of_message(m)
        record = {
            "status": code,
            "last_date": _date(m.updated_at, account.timezone),
            "last_timestamp": int(m.updated_at),
        }
        if err:
            record["err"] = err
        if full:
            record.update(
                send_date=_date(m.created_at, account.timezone),
                send_timestamp=int(m.created_at),
                phone=m.phone,
                cost=format_amount(m.price, 2),
                sender_id=m.sender or "",
                status_name=NAMES.get(code, ""),
                message="" if m.confidential else m.text,
                type=1 if m.flash else 0,
            )
    if key is not None:
        record["id"] = render.number(key[0])
        record.setdefault("phone", key[1])
    return record


async def status(gateway: Gateway, p: Params, account: Account) -> Response:
    """The status of each `id` at its `phone`; several ids: one record each."""
    raw_ids, raw_phones = p.get("id"), p.get("phone")
    many = "," in raw_ids
    ids = [i.strip() for i in raw_ids.split(",") if i.strip()]
    numbers = [n.strip() for n in raw_phones.split(",") if n.strip()]
    if not ids or not numbers or (len(numbers) != len(ids) and len(numbers) != 1):
        raise SmscError(1)
    if len(ids) > 1000:
        raise SmscError(1)
    if p.flag("del"):
        raise SmscError(1, text="parameters error")
    full = p.flag("all")
    records = []
    for i, msg_ref in enumerate(ids):
        number = numbers[i] if len(numbers) > 1 else numbers[0]
        try:
            e164 = normalize_phone(number)
        except GatewayError:
            message = None
        else:
            ref = str(int(msg_ref)) if msg_ref.isdigit() and len(msg_ref) < 19 else msg_ref
            message = await gateway.message_by_ref(account, DIALECT, f"{ref}:{e164}")
        records.append(_record(message, account, full, (msg_ref, number) if many else None))
    return render.statuses(p, records, many)


def _new_id() -> str:
    return str(secrets.randbelow(MAX_ID) + 1)
