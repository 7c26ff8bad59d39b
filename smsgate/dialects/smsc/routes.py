"""SMSC.ru's HTTP API: /sys/send.php, /sys/status.php, /sys/balance.php (GET and POST alike).

Also served with a trailing slash, and as /rest/send/, /rest/status/, /rest/balance/ (JSON
bodies; JSON answers unless `fmt` says otherwise).
"""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from ...core import phone as phones
from ...core.errors import ErrorCode, GatewayError
from ...core.models import Account, Message, Submission
from ...core.money import format_amount
from ...core.segments import segment
from ...engine.gateway import Gateway
from ...store.base import Outcome, StoreUnavailable
from ..http import client_ip, ip_allowed
from . import answers
from .errors import SmscError, from_gateway
from .params import Params, charset_of, read
from .schedule import parse_time, parse_valid, translit
from .statuses import NAMES, NOT_FOUND, of_message

DIALECT = "smsc"
MAX_TEXT = 1000  # characters in `mes`
MAX_ID = 2_147_483_647
_STRING_ID = re.compile(r"^[A-Za-z0-9._-]{1,40}$")
_MD5 = re.compile(r"^[0-9a-f]{32}$")
_SPLIT = re.compile(r"[,;]")
CURRENCY = {"RUB": "RUR"}

Handler = Callable[[Params, Account], Awaitable[Response]]


def check_id(value: str) -> str | None:
    """The client's message id: 1..2147483647 or up to 40 of [A-Za-z0-9._-]; '0'/'' = none."""
    value = value.strip()
    if value in ("", "0"):
        return None
    if value.isdigit():
        if not 0 < int(value) <= MAX_ID:
            raise SmscError(1)
        return str(int(value))
    if not _STRING_ID.match(value):
        raise SmscError(1)
    return value


def normalize_phone(raw: str) -> str:
    """E.164 digits. Without '+', SMSC.ru corrects 8XXXXXXXXXX and 9XXXXXXXXX to +7."""
    raw = raw.strip()
    if raw.startswith("+"):
        return phones.normalize(raw)
    digits = phones.normalize(raw, trunk_8_to_7=True)
    if len(digits) == 10 and digits[0] == "9":
        digits = "7" + digits
    return digits


def split_list(value: str) -> list[str]:
    return [v.strip() for v in _SPLIT.split(value) if v.strip()]


def _new_id() -> str:
    return str(secrets.randbelow(MAX_ID) + 1)


async def authenticate(gateway: Gateway, request: Request, p: Params) -> Account:
    apikey = p.get("apikey").strip()
    login, psw = p.get("login").strip(), p.get("psw")
    account: Account | None = None
    if apikey:
        account = await gateway.token(DIALECT, apikey)
        if account is None:
            found = await gateway.shared_secret(DIALECT, "apikey", apikey)
            account = found[0] if found else None
    elif login and psw:
        account = await gateway.login(DIALECT, "login", login, psw)
        if account is None and not _MD5.match(psw):
            # Operators may keep the MD5 of the password, which SMSC.ru clients may send instead.
            md5 = hashlib.md5(psw.encode(p.charset, "replace")).hexdigest()
            account = await gateway.login(DIALECT, "login", login, md5)
    if account is None:
        raise SmscError(2)
    if not ip_allowed(account.ip_allowlist, client_ip(request)):
        raise SmscError(4)
    return account


def _fallback(request: Request, default_fmt: int) -> Params:
    query = dict(request.query_params)
    return Params(query, charset_of(query.get("charset")), default_fmt)


def routes(gateway: Gateway) -> list[BaseRoute]:
    def endpoint(handler: Handler, default_fmt: int) -> Callable[[Request], Awaitable[Response]]:
        async def run(request: Request) -> Response:
            p = _fallback(request, default_fmt)
            try:
                p = await read(request, default_fmt)
                account = await authenticate(gateway, request, p)
                return await handler(p, account)
            except SmscError as exc:
                return answers.error(p, exc)
            except GatewayError as exc:
                return answers.error(p, from_gateway(exc))
            except StoreUnavailable:
                return answers.error(p, from_gateway(GatewayError(ErrorCode.UNAVAILABLE)))

        return run

    async def send(p: Params, account: Account) -> Response:
        return await _send(gateway, p, account)

    async def status(p: Params, account: Account) -> Response:
        return await _status(gateway, p, account)

    async def balance(p: Params, account: Account) -> Response:
        amount = format_amount(await gateway.balance(account), 2)
        currency = CURRENCY.get(account.currency, account.currency) if p.flag("cur") else None
        return answers.balance(p, amount, currency)

    table: list[BaseRoute] = []
    for name, handler in (("send", send), ("status", status), ("balance", balance)):
        sys_run, rest_run = endpoint(handler, 0), endpoint(handler, 3)
        for path, run in (
            (f"/sys/{name}.php", sys_run),
            (f"/sys/{name}.php/", sys_run),
            (f"/rest/{name}/", rest_run),
            (f"/rest/{name}", rest_run),
        ):
            table.append(Route(path, run, methods=["GET", "POST"]))
    return table


# send.php ------------------------------------------------------------------------------------
def _recipients(p: Params) -> list[tuple[str, str]]:
    """(phone, text) pairs from `phones` + `mes`, or from `list` (one `phone:text` a line)."""
    listed = p.get("list")
    if listed.strip():
        pairs = []
        for line in listed.replace("\r\n", "\n").split("\n"):
            phone, sep, text = line.partition(":")
            if line.strip() and not sep:
                raise SmscError(1)
            if line.strip():
                pairs.append((phone.strip(), text.replace("\\n", "\n")))
        if not pairs:
            raise SmscError(1)
        return pairs
    numbers = split_list(p.get("phones"))
    text = p.get("mes")
    if not numbers or not text.strip():
        raise SmscError(1)
    return [(n, text) for n in numbers]


async def _send(gateway: Gateway, p: Params, account: Account) -> Response:
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
    pairs = _recipients(p)
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
        return answers.cost(p, format_amount(count * account.price, 2), count)

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
    return answers.sent(p, msg_id, cnt, cost, balance)


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
        record["id"] = answers.number(key[0])
        record.setdefault("phone", key[1])
    return record


async def _status(gateway: Gateway, p: Params, account: Account) -> Response:
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
    return answers.statuses(p, records, many)
