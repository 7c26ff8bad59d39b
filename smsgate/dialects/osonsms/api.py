"""`sendsms_v1.php`, `query_sms.php`, `check_balance.php`: the provider's paths and bodies."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from starlette.requests import Request
from starlette.responses import Response

from ...core.errors import ErrorCode, GatewayError
from ...core.models import Account, Message, Submission
from ...core.money import MICROS
from ...engine.gateway import Gateway
from ...store.base import StoreUnavailable
from . import auth, errors, requests, statuses
from .errors import Problem
from .schemas import BalanceOk, FinalDate, LegacyStatusOk, SendOk, StatusOk, encoder

log = logging.getLogger("smsgate.dialects.osonsms")

DIALECT = auth.DIALECT
ALLOWED_METHODS = frozenset({"GET", "POST"})
SUPPORTED_CHANNELS = frozenset({"", "sms"})
SEND_FIELDS = ("from", "phone_number", "msg", "login", "str_hash", "txn_id")
QUERY_FIELDS = ("login", "str_hash", "msg_id")
BALANCE_FIELDS = ("login", "str_hash", "txn_id")
AUTH_FIELDS = frozenset({"login", "str_hash"})
UNAVAILABLE = Problem(503, 109, "Service temporarily unavailable. Please retry later.")
SEND_UNAVAILABLE = Problem(500, 109, errors.CANNOT_STORE)  # the seed's answer

Handler = Callable[[Request], Awaitable[Response]]


def json(value: object, status: int = 200) -> Response:
    return Response(encoder.encode(value), status_code=status, media_type="application/json")


def settings(account: Account) -> dict[str, object]:
    found = account.settings.get(DIALECT)
    return found if isinstance(found, dict) else {}


def require(request: Request, v: dict[str, str], fields: tuple[str, ...], text: str) -> None:
    """Code 100 when a mandatory variable is absent or empty (login/str_hash not with Bearer)."""
    token = auth.uses_token(request)
    for name in fields:
        if token and name in AUTH_FIELDS:
            continue
        if not v.get(name):
            raise Problem(422, 100, text)


def guarded(handler: Handler, *, unavailable: Problem) -> Handler:
    """Every failure in the dialect's format; never a traceback, never a request's values logged."""

    async def run(request: Request) -> Response:
        try:
            if request.method not in ALLOWED_METHODS:
                raise Problem(405, 101, "Method not allowed.")
            return await handler(request)
        except Problem as p:
            return errors.error_response(p)
        except auth.Denied as d:
            return errors.error_response(auth.DENIED[d.code])
        except GatewayError as exc:
            if exc.code is ErrorCode.UNAVAILABLE:
                return errors.error_response(unavailable)
            return errors.error_response(errors.problem(exc))
        except StoreUnavailable:
            return errors.error_response(unavailable)
        except Exception as exc:  # a bug: answer in format, log only the type
            log.error("osonsms %s failed: %s", request.url.path, type(exc).__name__)
            return errors.error_response(Problem(*errors.FALLBACK))

    return run


def routes_for(gateway: Gateway) -> dict[str, Handler]:
    async def send(request: Request) -> Response:
        v = await requests.variables(request)
        require(request, v, SEND_FIELDS, errors.MISSING_SEND)
        account = await auth.authenticate(gateway, request, v, auth.send_parts)
        txn_id = requests.bounded(v["txn_id"], "txn_id", requests.MAX_TXN_ID)
        sender = requests.bounded(v["from"], "from", requests.MAX_SENDER)
        channel = v.get("channel", "").strip().lower()
        if channel not in SUPPORTED_CHANNELS:
            raise Problem(422, 115, f"Channel {channel[:32]} is not supported")
        confidential = requests.flag(v.get("is_confidential"), "is_confidential")
        item = Submission(
            phone=requests.recipient(v["phone_number"]),
            text=v["msg"],
            sender=sender,
            client_ref=txn_id,
            confidential=confidential,
        )
        outcomes, _ = await gateway.submit(account, DIALECT, [item])
        outcome = outcomes[0]
        if outcome.kind == "duplicate":
            raise Problem(409, 108, errors.DUPLICATE)
        if outcome.kind == "error":
            assert outcome.error is not None
            raise outcome.error
        message = outcome.message
        assert message is not None
        body = SendOk(
            status="ok",
            timestamp=errors.timestamp(),
            txn_id=txn_id,
            msg_id=message.seq,
            smsc_msg_id=f"{message.seq:08x}",
            smsc_msg_status="success",
            smsc_msg_parts=message.segments,
        )
        return json(body, 201)

    async def query(request: Request) -> Response:
        v = await requests.variables(request)
        token = auth.uses_token(request)
        if not (token and v.get("txn_id", "").strip()):
            require(request, v, QUERY_FIELDS, errors.MISSING_QUERY)
        account = await auth.authenticate(gateway, request, v, auth.query_parts)
        message = await _find(gateway, account, v, by_txn_id=token)
        word = statuses.word(message.status)
        if settings(account).get("legacy_status_fields"):
            return json(_legacy(message, word))
        return json(StatusOk(status=word, timestamp=errors.timestamp()))

    async def balance(request: Request) -> Response:
        v = await requests.variables(request)
        require(request, v, BALANCE_FIELDS, errors.MISSING_BALANCE)
        account = await auth.authenticate(gateway, request, v, auth.balance_parts)
        micros = await gateway.balance(account)
        amount = (Decimal(micros) / MICROS).quantize(Decimal("0.01"), ROUND_HALF_UP)
        return json(BalanceOk(balance=amount, timestamp=errors.timestamp()))

    return {"send": send, "query": query, "balance": balance}


async def _find(
    gateway: Gateway, account: Account, v: dict[str, str], *, by_txn_id: bool
) -> Message:
    not_found = Problem(404, 107, "Message ID is invalid")
    raw = v.get("msg_id", "").strip()
    if not raw and by_txn_id:
        found = await gateway.message_by_ref(account, DIALECT, v["txn_id"].strip())
        if found is None:
            raise not_found
        return found
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 18:
        raise not_found
    message = await gateway.message_by_seq(account, int(raw))
    if message is None:
        raise not_found
    return message


def _legacy(message: Message, word: str) -> LegacyStatusOk:
    final = None
    if message.done_at is not None:
        when = datetime.fromtimestamp(message.done_at, errors.zone(errors.PROVIDER_ZONE))
        final = FinalDate(
            date=when.strftime("%Y-%m-%d %H:%M:%S.%f"), timezone_type=1, timezone="+05:00"
        )
    return LegacyStatusOk(
        status=word,
        timestamp=errors.timestamp(),
        message_id=str(message.seq),
        final_date=final,
        message_state_code=statuses.STATE_CODES[word],
        error_code=0 if message.error_code is None else 1,
        message_state=word.title(),
    )
