"""The provider's paths: `sendsms_v1.php`, `query_sms.php`, `check_balance.php` (the send API),
and the cabinet's `api/v1/bulk-sms/create` (a CSV of numbers, one text, an optional send time)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from decimal import ROUND_HALF_UP, Decimal
from functools import partial

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from ...core.errors import ErrorCode
from ...core.models import Account, Message, Submission
from ...core.money import MICROS
from ...engine.gateway import Gateway
from ...store.base import Outcome
from ..endpoint import Refusals, endpoint
from ..http import EVERY_METHOD, Namespace, release_after
from . import auth, csvfile, errors, parse
from .auth import DIALECT
from .errors import Invalid, Problem, Refused
from .render import sent, status
from .schemas import BalanceOk, BulkOk, BulkReport, InvalidLine, encoder
from .settings import legacy_status_fields
from .times import local, timestamp

CABINET = "/api/v1/bulk-sms"  # the cabinet's bulk API: every path under it is answered here
ALLOWED_METHODS = frozenset({"GET", "POST"})  # of the send API; the cabinet takes POST
SUPPORTED_CHANNELS = frozenset({"", "sms"})
SEND_FIELDS = ("from", "phone_number", "msg", "login", "str_hash", "txn_id")
QUERY_FIELDS = ("login", "str_hash", "msg_id")
BALANCE_FIELDS = ("login", "str_hash", "txn_id")

Handler = Callable[[Gateway, Request], Awaitable[Response]]

# Every failure answered in format, a bug included (logged by its type only). Storage down is
# the seed's 500/109 for a send, 503/109 for a read, and the cabinet's own 503.
SEND_REFUSALS = Refusals(
    kinds=(Exception,),
    answer=partial(errors.api_answer, errors.SEND_UNAVAILABLE),
    unavailable=errors.SEND_UNAVAILABLE,
)
READ_REFUSALS = Refusals(
    kinds=(Exception,),
    answer=partial(errors.api_answer, errors.UNAVAILABLE),
    unavailable=errors.UNAVAILABLE,
)
CABINET_REFUSALS = Refusals(
    kinds=(Exception,), answer=errors.cabinet_answer, unavailable=errors.CABINET_UNAVAILABLE
)


def routes(gateway: Gateway) -> list[BaseRoute]:
    """The route table, each handler bound to `gateway`; every path also with a trailing slash
    (sloppy clients)."""
    table: list[tuple[str, Handler, Refusals[Exception]]] = [
        ("/sendsms_v1.php", partial(api, send), SEND_REFUSALS),
        ("/query_sms.php", partial(api, query), READ_REFUSALS),
        ("/check_balance.php", partial(api, balance), READ_REFUSALS),
        (CABINET + "/create", create, CABINET_REFUSALS),
    ]
    found: list[BaseRoute] = []
    for path, handler, refusals in table:
        run = endpoint(partial(handler, gateway), refusals)
        found.append(Route(path, run, methods=EVERY_METHOD))
        found.append(Route(path + "/", run, methods=EVERY_METHOD))
    found.append(Namespace(CABINET, endpoint(not_in_cabinet, CABINET_REFUSALS)))
    return found


async def not_in_cabinet(request: Request) -> Response:
    """Any other path of the cabinet's bulk API, answered in the cabinet's format."""
    raise Refused(404, "Not found")


async def api(handler: Handler, gateway: Gateway, request: Request) -> Response:
    """The send API takes GET and POST (101 and 405 otherwise)."""
    if request.method not in ALLOWED_METHODS:
        raise Problem(405, 101, "Method not allowed.")
    return await handler(gateway, request)


def json(value: object, status: int = 200) -> Response:
    return Response(encoder.encode(value), status_code=status, media_type="application/json")


# The send API -------------------------------------------------------------------------------
async def send(gateway: Gateway, request: Request) -> Response:
    v = await parse.variables(request)
    parse.require(request, v, SEND_FIELDS, errors.MISSING_SEND)
    account = await auth.authenticate(gateway, request, v, auth.send_parts)
    txn_id = parse.bounded(v["txn_id"], "txn_id", parse.MAX_TXN_ID)
    sender = parse.bounded(v["from"], "from", parse.MAX_SENDER)
    channel = v.get("channel", "").strip().lower()
    if channel not in SUPPORTED_CHANNELS:
        raise Problem(422, 115, f"Channel {channel[:32]} is not supported")
    confidential = parse.flag(v.get("is_confidential"), "is_confidential")
    item = Submission(
        phone=parse.recipient(v["phone_number"]),
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
    assert outcome.message is not None
    return json(sent(outcome.message, txn_id), 201)


async def query(gateway: Gateway, request: Request) -> Response:
    v = await parse.variables(request)
    token = auth.uses_token(request)
    if not (token and v.get("txn_id", "").strip()):
        parse.require(request, v, QUERY_FIELDS, errors.MISSING_QUERY)
    account = await auth.authenticate(gateway, request, v, auth.query_parts)
    message = await _find(gateway, account, v, by_txn_id=token)
    return json(status(message, with_message_id=legacy_status_fields(account)))


async def balance(gateway: Gateway, request: Request) -> Response:
    v = await parse.variables(request)
    parse.require(request, v, BALANCE_FIELDS, errors.MISSING_BALANCE)
    account = await auth.authenticate(gateway, request, v, auth.balance_parts)
    micros = await gateway.balance(account)
    amount = (Decimal(micros) / MICROS).quantize(Decimal("0.01"), ROUND_HALF_UP)
    return json(BalanceOk(balance=amount, timestamp=timestamp()))


async def _find(
    gateway: Gateway, account: Account, v: dict[str, str], *, by_txn_id: bool
) -> Message:
    not_found = Problem(404, 107, "Message ID is invalid")
    raw = v.get("msg_id", "").strip()
    txn_id = v.get("txn_id", "").strip()
    if not raw and by_txn_id and txn_id:
        found = await gateway.message_by_ref(account, DIALECT, txn_id)
        if found is None:
            raise not_found
        return found
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 18:
        raise not_found
    message = await gateway.message_by_seq(account, int(raw))
    if message is None:
        raise not_found
    return message


# The cabinet --------------------------------------------------------------------------------
async def create(gateway: Gateway, request: Request) -> Response:
    """One text to every number of a CSV file, as one job; the file's lines accounted for."""
    if request.method != "POST":
        raise Refused(405, "Method not allowed")
    v, upload = await parse.bulk_form(request)
    data, not_before = await parse.bulk_fields(request, v, upload)
    account = await auth.authenticate(gateway, request, v, auth.bulk_parts)
    limits = gateway.limits
    not_before = parse.bulk_options(v, account, limits, not_before, time.time())
    txn_id, sender, text = v["txn_id"], v["from"], v["msg"]
    if await gateway.message_by_ref(account, DIALECT, _ref(txn_id, 0)) is not None:
        raise Refused(409, errors.DUPLICATE)
    numbers = csvfile.parse(data)
    if not numbers.phones:
        raise Refused(400, "No phone numbers found in the file")
    if len(numbers.phones) > limits.max_recipients:
        raise Invalid(
            {
                "file": [
                    f"The file must not contain more than {limits.max_recipients} phone numbers."
                ]
            }
        )
    name = v.get("name", "").strip()[:255] or txn_id
    items = [
        Submission(
            phone=p, text=text, sender=sender, client_ref=_ref(txn_id, i), not_before=not_before
        )
        for i, p in enumerate(numbers.phones)
    ]
    outcomes, job = await gateway.submit(
        account, DIALECT, items, job=True, job_ref=txn_id, job_meta={"name": name}
    )
    created = sum(1 for o in outcomes if o.kind == "new")
    if not created:
        _nothing_created(outcomes)
    report = BulkReport(
        sms_bulk_id=job.id if job else "",
        recipients=created,
        lines=numbers.lines,
        blank_lines=numbers.blank,
        duplicates=numbers.duplicates,
        invalid_lines=numbers.invalid,
        invalid=[InvalidLine(n, value) for n, value in numbers.invalid_lines],
        rejected=sum(1 for o in outcomes if o.kind == "error"),
        send_at=local(not_before),
    )
    answer = BulkOk(
        status="success",
        message="Bulk SMS created successfully",
        sms_bulk_name=name,
        data=report,
    )
    return release_after(json(answer), numbers, items, outcomes)


def _ref(txn_id: str, index: int) -> str:
    """Per-recipient idempotency key: a repeated bulk txn_id finds every number already stored."""
    return f"bulk:{txn_id}:{index}"


def _nothing_created(outcomes: list[Outcome]) -> None:
    if all(o.kind == "duplicate" for o in outcomes):
        raise Refused(409, errors.DUPLICATE)
    for o in outcomes:
        error = o.error
        if error is not None:
            if error.code is ErrorCode.INSUFFICIENT_BALANCE:
                raise error
            raise Refused(422, f"No message created: {errors.problem(error).msg}")
    raise Refused(409, errors.DUPLICATE)
