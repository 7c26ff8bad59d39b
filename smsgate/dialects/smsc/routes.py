"""SMSC.ru's HTTP API: /sys/send.php, /sys/status.php, /sys/balance.php, /sys/senders.php (GET
and POST alike).

Also served with a trailing slash, and as /rest/send/, /rest/status/, /rest/balance/,
/rest/senders/ (JSON bodies; JSON answers unless `fmt` says otherwise). Any other path under
/sys/ or /rest/ answers SMSC.ru's error 1 in the requested format.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from ...core import hlr, payload
from ...core.errors import ErrorCode, GatewayError
from ...core.hlr import HlrAnswer
from ...core.models import Account, Message, Submission
from ...core.money import format_amount
from ...core.segments import fit, segment
from ...core.status import Status
from ...core.windows import Window
from ...engine.gateway import Gateway
from ...store.base import Outcome
from ..endpoint import Refusals, endpoint
from ..http import Namespace
from . import render
from .auth import DIALECT, authenticate
from .channels import Channel, binary_payload, channel_of, is_hlr
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
from .schedule import parse_spread, parse_time, parse_valid, spread, translit, zone_of
from .settings import price_of
from .statuses import of_message, smsc_status

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
    without a trailing slash, bound to `gateway`; then, last, every other path under them,
    any method (SMSC.ru's error 1)."""
    table: list[BaseRoute] = []
    handlers: tuple[tuple[str, Handler], ...] = (
        ("send", send),
        ("status", status),
        ("balance", balance),
        ("senders", senders),
    )
    for name, handler in handlers:
        sys_run = endpoint(partial(serve, handler, 0, gateway), SYS_REFUSALS)
        rest_run = endpoint(partial(serve, handler, 3, gateway), REST_REFUSALS)
        for path, run in (
            (f"/sys/{name}.php", sys_run),
            (f"/sys/{name}.php/", sys_run),
            (f"/rest/{name}/", rest_run),
            (f"/rest/{name}", rest_run),
        ):
            table.append(Route(path, run, methods=["GET", "POST"]))
    for prefix, default_fmt, refused in (("/sys", 0, SYS_REFUSALS), ("/rest", 3, REST_REFUSALS)):
        table.append(Namespace(prefix, endpoint(partial(unknown, default_fmt), refused)))
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


class _Target(msgspec.Struct, gc=False):
    """One number of a send: its E.164 form and what it is sent (or why it is not)."""

    phone: str  # E.164 digits, or the number as given when it is not one
    text: str = ""
    encoding: str | None = None
    refused: GatewayError | None = None


async def _send_as(
    gateway: Gateway, p: Params, account: Account, client_id: str | None, msg_id: str
) -> Response:
    now = time.time()
    cost_mode = p.flag("cost")
    if cost_mode not in (0, 1, 2, 3):
        raise SmscError(1)
    listing = _listing(p)  # read before anything is sent: a bad value sends nothing
    channel = channel_of(p, msg_id)
    targets = _targets(p, channel)
    numbers = [t for t in targets if t.refused is None]
    if not numbers:
        first = next((t.refused for t in targets if t.refused), None)
        raise from_gateway(first or GatewayError(ErrorCode.INVALID_PHONE), msg_id)
    if len(numbers) > gateway.limits.max_recipients:
        raise SmscError(1)
    price = _fixed_price(channel, account)
    if cost_mode == 1:
        cnt, amount = _quote(numbers, price, account)
        return render.cost(p, format_amount(amount, 2), cnt)
    sender: str | None = p.values.get("sender")
    if sender is not None and sender.strip() in ("", "."):
        sender = None
    not_before, window, due = _when(p, account, [t.phone for t in numbers], now)
    ttl = parse_valid(p.get("valid"))
    by_phone = {t.phone: t for t in numbers}

    def items(ref_id: str, phones_: list[str]) -> list[Submission]:
        meta: dict[str, Any] = {"smsc_id": ref_id}
        return [
            Submission(
                phone=e164,
                text=by_phone[e164].text,
                sender=sender,
                client_ref=f"{ref_id}:{e164}",
                not_before=due.get(e164, not_before),
                ttl=ttl,
                window=window,
                flash=channel.kind == "flash",
                meta=meta,
                encoding=by_phone[e164].encoding,
                price=price,
            )
            for e164 in phones_
        ]

    phones_ = list(by_phone)
    outcomes, _ = await gateway.submit(account, DIALECT, items(msg_id, phones_))
    if client_id is None:
        outcomes = await _reroll(gateway, account, phones_, outcomes, items, msg_id)
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
    listed = _phone_list(listing, targets, dict(zip(phones_, outcomes, strict=True)))
    return render.sent(p, msg_id, cnt, cost, balance, listed)


def _when(
    p: Params, account: Account, phones_: list[str], now: float
) -> tuple[float | None, Window | None, dict[str, float]]:
    """(not before, window, each number's own time when `period` spreads the send) from `time`
    in the zone `tz` names (the account's without it), `period` and `freq`."""
    not_before, window = parse_time(p.get("time"), now, zone_of(p.get("tz"), account.timezone))
    spread_over = parse_spread(p.get("period"), p.get("freq"))
    if spread_over is None:
        return not_before, window, {}
    times = spread(len(phones_), not_before or now, *spread_over)
    return not_before, window, dict(zip(phones_, times, strict=True))


def _targets(p: Params, channel: Channel) -> list[_Target]:
    """Each number of the request once, in its order, with its text (translit, `maxsms` and
    the channel applied), or the reason it cannot be sent to."""
    pairs = recipients(p, channel.has_text)
    if any(len(text) > MAX_TEXT for _, text in pairs):
        raise SmscError(1)
    maxsms = _maxsms(p)
    targets: dict[str, _Target] = {}
    for raw, text in pairs:
        try:
            e164 = normalize_phone(raw)
        except GatewayError as exc:
            targets.setdefault(raw.strip(), _Target(raw.strip(), refused=exc))
            continue
        if e164 not in targets:
            targets[e164] = _Target(e164, *_content(p, channel, text, maxsms))
    return list(targets.values())


def _content(p: Params, channel: Channel, text: str, maxsms: int | None) -> tuple[str, str | None]:
    """(text, core encoding) of what a number is sent on this channel."""
    if channel.kind == "hlr":
        return "", payload.HLR
    if channel.kind == "ping":
        return "", payload.PING
    if channel.kind == "binary":
        encoding, data = binary_payload(text, channel, p.charset)
        if maxsms is not None and _parts(data, encoding) > maxsms:
            raise SmscError(1)  # data cut short would be corrupt: refused, not truncated
        return data, encoding
    if p.flag("translit"):
        text = translit(text)
    return (fit(text, maxsms) if maxsms is not None else text), None


def _maxsms(p: Params) -> int | None:
    """`maxsms`: the most SMS one message may take; a longer text is cut to fit (SMSC.ru)."""
    value = p.get("maxsms").strip()
    if not value or value == "0":
        return None
    if not value.isdigit():
        raise SmscError(1)
    return int(value)


def _parts(text: str, encoding: str | None) -> int:
    try:
        return segment(text).count if encoding is None else payload.count(encoding, text)
    except ValueError:
        raise SmscError(1) from None


def _fixed_price(channel: Channel, account: Account) -> int | None:
    """An HLR query's or a ping's price (the account's setting); None: priced by parts."""
    if channel.kind in ("hlr", "ping"):
        return price_of(account, f"{channel.kind}_price")
    return None


def _quote(numbers: list[_Target], price: int | None, account: Account) -> tuple[int, int]:
    """(SMS count, amount) of `cost=1`: what the send would take, nothing sent."""
    if price is not None:
        return len(numbers), len(numbers) * price
    count = sum(_parts(t.text, t.encoding) for t in numbers)
    return count, count * account.price


def _listing(p: Params) -> str | None:
    """Which numbers the answer lists: "every" (`op=1`), "unsent" (`err=1`), or none."""
    if p.flag("op") == 1:
        return "every"
    return "unsent" if p.flag("err") == 1 else None


def _phone_list(
    listing: str | None, targets: list[_Target], outcomes: dict[str, Outcome]
) -> list[dict[str, Any]] | None:
    """`op=1`: every number with its cost, parts, status and error code; `err=1`: the numbers
    this request sent nothing to. None when neither is asked for."""
    if listing is None:
        return None
    listed = []
    for target in targets:
        outcome = outcomes.get(target.phone)
        if listing == "every" or outcome is None or outcome.kind != "new":
            listed.append(_phone_record(target, outcome))
    return listed


def _phone_record(target: _Target, outcome: Outcome | None) -> dict[str, Any]:
    """A number's line: a message sent now, or one sent before under the same id (its status,
    nothing charged now), or a refusal (status and `err` as status.php would give them)."""
    message = outcome.message if outcome is not None else None
    if message is not None:
        status, err = of_message(message)
        new = outcome is not None and outcome.kind == "new"
        price, parts = (message.price, message.segments) if new else (0, 0)
    else:
        refusal = target.refused or (outcome.error if outcome is not None else None)
        code = refusal.code if refusal is not None else ErrorCode.SYSTEM_ERROR
        (status, err), price, parts = smsc_status(Status.REJECTED, code), 0, 0
    return {
        "phone": target.phone,
        "cost": format_amount(price, 2),
        "cnt": parts,
        "status": status,
        "error": err,
    }


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
    full = p.flag("all")
    if p.flag("del") or full not in (0, 1, 2):
        raise SmscError(1)
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
        answer = await _hlr_answer(gateway, account, message)
        key = (msg_ref, number) if many else None
        records.append(render.status_record(message, answer, account.timezone, full, key))
    return render.statuses(p, records, many, full)


async def _hlr_answer(
    gateway: Gateway, account: Account, message: Message | None
) -> HlrAnswer | None:
    """An HLR query's answer: the carrier's word on its latest status that holds one. An empty
    one while the query has none (not answered yet, or the number failed)."""
    if message is None or not is_hlr(message):
        return None
    for event in reversed(await gateway.events_of(account, message.id)):
        found = hlr.from_text(event.carrier_error)
        if found is not None:
            return found
    return HlrAnswer()


# senders.php and the functions smsgate does not have -----------------------------------------
async def senders(gateway: Gateway, p: Params, account: Account) -> Response:
    """`get=1`: the account's sender names. Adding, changing or confirming a name is the
    operator's (error 1 here)."""
    if p.flag("get") != 1:
        raise SmscError(1)
    return render.senders(p, list(account.senders))


async def unknown(default_fmt: int, request: Request) -> Response:
    """Any other path under /sys/ or /rest/ (get.php, info.php, jobs.php...): error 1 in the
    requested format, HTTP 200, as SMSC.ru answers a call it cannot make; never a 404, which
    its libraries would retry on other hosts."""
    request.state.params = await read(request, default_fmt)
    raise SmscError(1)


def _new_id() -> str:
    return str(secrets.randbelow(MAX_ID) + 1)
