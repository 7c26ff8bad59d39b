"""`POST /api/v1/bulk-sms/create`: a CSV of numbers, one text, an optional send time.

This endpoint belongs to the provider's web cabinet (a Laravel application), so its errors
have another shape than the send API's: validation errors as
`{"success": false, "message": "Validation errors", "data": {field: [text]}}`, the rest as
`{"error": text}`.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from datetime import datetime

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response

from ...core.errors import ErrorCode, GatewayError
from ...core.models import Submission
from ...core.segments import segment
from ...core.windows import check_schedule
from ...engine.gateway import Gateway
from ...store.base import Outcome, StoreUnavailable
from ..http import bearer_token, read_body, release_after
from . import auth, csvfile, errors, requests
from .schemas import BulkOk, BulkReport, InvalidLine, encoder

DIALECT = auth.DIALECT
MAX_FILE = 5 * 1024 * 1024  # the seed's 5 MB: 5120 kilobytes, as Laravel counts
MAX_BODY = MAX_FILE + 1024 * 1024  # the file plus room for the other fields and framing
REQUIRED = ("from", "msg", "login", "str_hash", "txn_id")
SEND_AT_FORMAT = "%Y-%m-%d %H:%M:%S"


class Invalid(Exception):
    """Laravel validation errors: field -> messages."""

    def __init__(self, fields: dict[str, list[str]]) -> None:
        super().__init__(fields)
        self.fields = fields


class Refused(Exception):
    def __init__(self, status: int, text: str) -> None:
        super().__init__(text)
        self.status = status
        self.text = text


def label(name: str) -> str:
    return name.replace("_", " ")


def _out(body: object, status: int) -> Response:
    return Response(encoder.encode(body), status_code=status, media_type="application/json")


def invalid_response(fields: dict[str, list[str]]) -> Response:
    return _out({"success": False, "message": "Validation errors", "data": fields}, 422)


def refused_response(status: int, text: str) -> Response:
    return _out({"error": text}, status)


# Canonical errors in the cabinet's words (seed: 404 "User not found", 400 "No phone numbers...").
REFUSALS: dict[ErrorCode, tuple[int, str]] = {
    ErrorCode.UNAUTHORIZED: (404, "User not found"),
    ErrorCode.IP_NOT_ALLOWED: (401, errors.NOT_WHITELISTED),
    ErrorCode.DUPLICATE: (409, errors.DUPLICATE),
    ErrorCode.INSUFFICIENT_BALANCE: (402, errors.NO_BALANCE),
    ErrorCode.BODY_TOO_LARGE: (413, "Request Entity Too Large"),
    ErrorCode.MALFORMED_BODY: (400, "Malformed multipart/form-data body"),
    ErrorCode.BAD_REQUEST: (400, "Bad request"),
    ErrorCode.UNAVAILABLE: (503, "Service temporarily unavailable. Please retry later."),
}
DENIED = {
    105: (404, "User not found"),
    106: (422, errors.BAD_HASH),
    114: (401, errors.NOT_WHITELISTED),
}


def _send_at(raw: str, zone: str) -> float | None:
    text = raw.strip()
    if not text:
        return None
    try:
        when = datetime.strptime(text, SEND_AT_FORMAT)
    except ValueError:
        try:
            when = datetime.fromisoformat(text)
        except ValueError:
            raise Invalid(
                {"send_at": ["The send at field must match the format Y-m-d H:i:s."]}
            ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=errors.zone(zone))
    return when.timestamp()


def endpoint(gateway: Gateway) -> Callable[[Request], Awaitable[Response]]:
    async def run(request: Request) -> Response:
        try:
            if request.method != "POST":
                return refused_response(405, "Method not allowed")
            return await create(gateway, request)
        except Invalid as exc:
            return invalid_response(exc.fields)
        except Refused as exc:
            return refused_response(exc.status, exc.text)
        except auth.Denied as d:
            return refused_response(*DENIED[d.code])
        except GatewayError as exc:
            if exc.code in REFUSALS:
                return refused_response(*REFUSALS[exc.code])
            p = errors.problem(exc)
            return invalid_response({exc.field or "request": [p.msg]})
        except StoreUnavailable:
            return refused_response(*REFUSALS[ErrorCode.UNAVAILABLE])
        except Exception as exc:
            errors_log(request, exc)
            return refused_response(500, errors.CANNOT_STORE)

    return run


def errors_log(request: Request, exc: Exception) -> None:
    from .api import log

    log.error("osonsms %s failed: %s", request.url.path, type(exc).__name__)


async def create(gateway: Gateway, request: Request) -> Response:
    body = await read_body(request, MAX_BODY)
    v: dict[str, str] = dict(request.query_params)
    upload: UploadFile | None = None
    if requests.media_type(request) == "multipart/form-data":
        form = await requests.multipart(request, body, max_files=4)
        for key, value in form.multi_items():
            if isinstance(value, str):
                v[key] = value
            elif key == "file" and upload is None:
                upload = value
    elif body.strip():
        v.update(await requests.variables_from(request, body))

    # Validation first, as Laravel does: every failing field at once.
    token = bearer_token(request) is not None
    problems: dict[str, list[str]] = {}
    for name in REQUIRED:
        if token and name in ("login", "str_hash"):
            continue
        if not v.get(name, "").strip():
            problems[name] = [f"The {label(name)} field is required."]
    data = b""
    if upload is None:
        problems["file"] = [
            "The file field must be a file." if v.get("file") else "The file field is required."
        ]
    else:
        data = await upload.read()
        if len(data) > MAX_FILE:
            problems["file"] = [
                f"The file field must not be greater than {MAX_FILE // 1024} kilobytes."
            ]
    zone = errors.PROVIDER_ZONE
    not_before = None
    try:
        not_before = _send_at(v.get("send_at", ""), zone)
    except Invalid as exc:
        problems.update(exc.fields)
    if problems:
        raise Invalid(problems)

    account = await auth.authenticate(gateway, request, v, auth.bulk_parts)
    txn_id = v["txn_id"]
    if len(txn_id) > requests.MAX_TXN_ID:
        raise Invalid(
            {
                "txn_id": [
                    f"The txn id field must not be greater than {requests.MAX_TXN_ID} characters."
                ]
            }
        )
    sender = v["from"]
    if sender not in account.senders:
        raise Invalid({"from": ["The selected from is invalid."]})
    text = v["msg"]
    limits = gateway.limits
    if len(text) > limits.max_text_chars or segment(text).count > limits.max_parts:
        raise Invalid(
            {"msg": [f"The msg field must not be longer than {limits.max_parts} SMS parts."]}
        )
    now = time.time()
    try:
        not_before = check_schedule(not_before, now, max_ahead=limits.max_schedule_ahead)
    except GatewayError as exc:
        raise Invalid({"send_at": [_schedule_text(exc, limits.max_schedule_ahead)]}) from None
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
    rejected = sum(1 for o in outcomes if o.kind == "error")
    report = BulkReport(
        sms_bulk_id=job.id if job else "",
        recipients=created,
        lines=numbers.lines,
        blank_lines=numbers.blank,
        duplicates=numbers.duplicates,
        invalid_lines=numbers.invalid,
        invalid=[InvalidLine(n, value) for n, value in numbers.invalid_lines],
        rejected=rejected,
        send_at=_local(not_before, zone),
    )
    answer = BulkOk(
        status="success",
        message="Bulk SMS created successfully",
        sms_bulk_name=name,
        data=report,
    )
    return release_after(_out(answer, 200), numbers, items, outcomes)


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


def _schedule_text(exc: GatewayError, ahead: float) -> str:
    if "past" in exc.detail:
        return "The send at field must be a date after or equal to now."
    return (
        f"The send at field must be a date before or equal to {int(ahead // 86400)} days from now."
    )


def _local(ts: float | None, zone: str) -> str | None:
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, errors.zone(zone)).strftime(SEND_AT_FORMAT)
