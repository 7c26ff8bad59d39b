"""The JSONv2 endpoints under /msghub/api/{client_id}/..., with HTTP Basic authentication;
with `[msghub] mount_at_root`, also at the host root."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from functools import partial

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from ...core.errors import ErrorCode, GatewayError
from ...core.models import Account, Job, Message, Refused, Submission
from ...core.status import FINAL
from ...engine.gateway import Gateway
from ...store.base import Outcome
from ..endpoint import Refusals, endpoint
from ..http import EVERY_METHOD, Namespace, read_body, release_after
from . import parse
from .auth import DIALECT, authenticate
from .errors import METHOD_NOT_ALLOWED, error_response, refusal
from .render import (
    REFUSED,
    advanced_dr,
    job_item,
    kept_refusal,
    refused_item,
    refused_job_item,
    simple_dr,
    sync_item,
)
from .schemas import (
    BulkRequest,
    JobReport,
    JobResponse,
    OlderRequest,
    SendResponse,
    SimpleRequest,
    SyncItem,
    SyncResponse,
    bulk_decoder,
    encode,
    older_decoder,
    simple_decoder,
)
from .settings import MsgHubConfig, default_sender, job_report_final_only, timezone

BASE = "/msghub/api"
NAMESPACE = "/msghub"  # every path under it is MsgHub's: an unknown one answers 10010
PAGE = 1000
# Every route takes every method (EVERY_METHOD) and answers a wrong one itself, in MsgHub's
# error format.
SEND = ("POST",)
READ = ("GET", "POST")

Handler = Callable[[Gateway, Request, Account], Awaitable[Response]]


def _answer(request: Request, exc: GatewayError) -> Response:
    return error_response(exc)


REFUSALS = Refusals(
    kinds=(GatewayError,), answer=_answer, unavailable=GatewayError(ErrorCode.UNAVAILABLE)
)


def _table() -> list[tuple[str, Handler, Sequence[str]]]:
    """(path under the prefix, handler, methods it takes)."""
    return [
        ("/{client_id}/json2/simple", simple, SEND),
        ("/{client_id}/json2/batch", partial(bulk, shape="batch", sync=False), SEND),
        ("/{client_id}/json2/batch/sync", partial(bulk, shape="batch", sync=True), SEND),
        ("/{client_id}/json2/broadcast", partial(bulk, shape="broadcast", sync=False), SEND),
        ("/{client_id}/json2/broadcast/sync", partial(bulk, shape="broadcast", sync=True), SEND),
        ("/{client_id}/json", partial(bulk, shape="auto", sync=False), SEND),
        ("/{client_id}", older, SEND),
        ("/{client_id}/json2/job/{job_id}", job_report, READ),
        # MTS-Belarus clients (api_mts) poll the campaign report here.
        ("/{client_id}/json2/job/status/{job_id}", job_report, READ),
        ("/{client_id}/dr/external/{extra_id}/simple", dr_simple, READ),
        ("/{client_id}/dr/external/{extra_id}/advanced", dr_advanced, READ),
        ("/{client_id}/dr/{message_id}/simple", dr_simple, READ),
        ("/{client_id}/dr/{message_id}/advanced", dr_advanced, READ),
    ]


# At the host root, the bare `/{client_id}` would take every one-segment path of the other
# dialects and the server (`/json`, `/healthz`...): it is served under BASE only.
NOT_AT_ROOT = "/{client_id}"


def routes(gateway: Gateway) -> list[BaseRoute]:
    """The route table, each handler bound to `gateway`; every path also with a trailing slash,
    and anything else under /msghub answered 10010 in MsgHub's format. With `mount_at_root`,
    the table again at the host root (no catch-all there: the root is everyone's)."""
    config = getattr(gateway.settings.get("config"), "msghub", None) or MsgHubConfig()
    out: list[BaseRoute] = []
    for path, handler, methods in _table():
        run = endpoint(partial(serve, handler, methods, gateway), REFUSALS)
        prefixes = [BASE, ""] if config.mount_at_root and path != NOT_AT_ROOT else [BASE]
        for prefix in prefixes:
            out.append(Route(prefix + path, run, methods=EVERY_METHOD))
            out.append(Route(prefix + path + "/", run, methods=EVERY_METHOD))
    out.append(Namespace(NAMESPACE, endpoint(not_found, REFUSALS)))
    return out


async def serve(
    handler: Handler, methods: Sequence[str], gateway: Gateway, request: Request
) -> Response:
    """A method the route does not take is refused before authentication (with Allow);
    otherwise the handler runs for the authenticated account."""
    if request.method not in methods:
        exc = GatewayError(ErrorCode.BAD_REQUEST, "method not allowed")
        response = error_response(exc, METHOD_NOT_ALLOWED)
        response.headers["Allow"] = ", ".join(methods)
        return response
    account = await authenticate(gateway, request)
    return await handler(gateway, request, account)


async def not_found(request: Request) -> Response:
    raise GatewayError(ErrorCode.NOT_FOUND, "no such endpoint")


# Sending ------------------------------------------------------------------------------------
async def simple(gateway: Gateway, request: Request, account: Account) -> Response:
    return await _send_one(gateway, account, parse.decode(simple_decoder, await read_body(request)))


async def older(gateway: Gateway, request: Request, account: Account) -> Response:
    """The older `/{client_id}`: a batch or broadcast answered per message, or a single
    message answered as `json2/simple` answers it."""
    req = parse.decode(older_decoder, await read_body(request))
    if parse.is_single(req):
        return await _send_one(gateway, account, req)
    return await _bulk(gateway, request, account, req, shape="auto", sync=True)


async def _send_one(
    gateway: Gateway, account: Account, req: SimpleRequest | OlderRequest
) -> Response:
    """One message: its message_id, or its refusal as the whole answer."""
    item = parse.simple(req, timezone(account), time.time(), default_sender(account))
    outcomes, _ = await gateway.submit(account, DIALECT, [item], max_parts=parse.MAX_PARTS)
    outcome = outcomes[0]
    if outcome.kind == "error":
        assert outcome.error is not None
        raise outcome.error
    assert outcome.message is not None
    return _json(SendResponse(outcome.message.id))


async def bulk(
    gateway: Gateway, request: Request, account: Account, *, shape: str, sync: bool
) -> Response:
    """A batch or broadcast: each recipient's result (`sync`), or a campaign's job_id.
    `shape` "auto" (the older paths): the body says which."""
    req = parse.decode(bulk_decoder, await read_body(request))
    return await _bulk(gateway, request, account, req, shape=shape, sync=sync)


async def _bulk(
    gateway: Gateway,
    request: Request,
    account: Account,
    req: BulkRequest,
    *,
    shape: str,
    sync: bool,
) -> Response:
    if shape == "auto":
        shape = "batch" if req.messages is not None and req.recipients is None else "broadcast"
    common = parse.shared(
        req,
        timezone(account),
        time.time(),
        templated=shape == "broadcast",
        default_alpha=default_sender(account),
    )
    if shape == "batch":
        items, given = parse.batch(req, common)
        max_parts = parse.MAX_PARTS
    else:
        items, given = parse.broadcast(req, common)
        max_parts = parse.BROADCAST_MAX_PARTS
    client_id = request.path_params["client_id"]
    results, job = await _submit(gateway, account, items, given, max_parts, sync, client_id)
    answer = _json(SyncResponse(_sync_items(results, given))) if sync else _job_answer(results, job)
    return release_after(answer, req, items, given, results)


async def _submit(
    gateway: Gateway,
    account: Account,
    items: list[parse.Item],
    given: list[tuple[object, object]],
    max_parts: int,
    sync: bool,
    client_id: str,
) -> tuple[list[Outcome], Job | None]:
    """Outcomes in request order, a refusal of msghub's own as msghub gave it.

    A campaign's refused recipients, msghub's own refusals included (as Refused), are kept by
    the core as rejected messages of the campaign, for its report to list; only beside a new
    message (keep_alone=False): a campaign with nothing to send is answered with its first
    refusal, and keeps nothing."""
    items = [parse.precheck(i, account) for i in items]
    results: list[Outcome] = [
        Outcome("error", error=i.error) if isinstance(i, parse.Rejected) else Outcome("new")
        for i in items
    ]
    sent = [n for n, i in enumerate(items) if not sync or not isinstance(i, parse.Rejected)]
    if not any(not isinstance(items[n], parse.Rejected) for n in sent):
        return results, None
    outcomes, job = await gateway.submit(
        account,
        DIALECT,
        [_submission(items[n], given[n]) for n in sent],
        job=not sync,
        job_meta={"client_id": client_id},
        keep_rejected=not sync,
        keep_alone=False,
        max_parts=max_parts,
    )
    for n, outcome in zip(sent, outcomes, strict=True):
        if not isinstance(items[n], parse.Rejected):
            results[n] = outcome
    return results, job


def _submission(item: parse.Item, given: tuple[object, object]) -> Submission | Refused:
    """A recipient as the core takes it: one msghub refused keeps its refusal as answered in
    its meta (REFUSED), and no extra_id (a refused recipient does not use it up)."""
    if not isinstance(item, parse.Rejected):
        return item
    phone, extra_id = _given(given[0]), _ref(given[1])
    return Refused(
        error=item.error, phone=phone, meta={REFUSED: [phone, extra_id, *refusal(item.error)]}
    )


def _sync_items(results: list[Outcome], given: list[tuple[object, object]]) -> list[SyncItem]:
    out: list[SyncItem] = []
    for outcome, (phone, extra_id) in zip(results, given, strict=True):
        if outcome.message is not None:
            out.append(sync_item(outcome.message))
        else:
            assert outcome.error is not None
            out.append(refused_item(_given(phone), _ref(extra_id), *refusal(outcome.error)))
    return out


def _job_answer(results: list[Outcome], job: Job | None) -> Response:
    """The campaign's job_id when a recipient of it is new. Else a repeat of an earlier
    campaign answers with that one's job_id, and a campaign with nothing to send with its
    first refusal (a job holding kept refusals alone is never answered)."""
    if job is not None and any(o.kind == "new" for o in results):
        return _json(JobResponse(job.id))
    for outcome in results:
        if outcome.kind == "duplicate" and outcome.message and outcome.message.job_id:
            return _json(JobResponse(outcome.message.job_id))
    for outcome in results:
        if outcome.error is not None:
            raise outcome.error
    raise GatewayError(ErrorCode.DUPLICATE, "every extra_id was already used")


# Reports ------------------------------------------------------------------------------------
async def job_report(gateway: Gateway, request: Request, account: Account) -> Response:
    """The campaign's messages, then the recipients refused at acceptance, in request order."""
    job_id = request.path_params["job_id"]
    counts = await gateway.get_job(account, job_id) if storable(job_id) else None
    if counts is None:
        raise GatewayError(ErrorCode.NOT_FOUND, "job not found")
    final_only = job_report_final_only(account)
    taken, refused = [], []
    after = 0
    while True:
        page = await gateway.job_messages(account, job_id, after_seq=after, limit=PAGE)
        for m in page:
            kept = kept_refusal(m)
            if kept is None:
                if not final_only or m.status in FINAL:
                    taken.append(job_item(m))
            else:
                refused.append(refused_job_item(m.created_at, *kept))
        if len(page) < PAGE:
            break
        after = page[-1].seq
    # Campaigns stored before refusals were kept as messages have them in the job's meta.
    for old in (counts.job.meta or {}).get(REFUSED, []):
        refused.append(refused_job_item(counts.job.created_at, *old))
    return _json(JobReport(taken + refused))


async def find(gateway: Gateway, request: Request, account: Account) -> Message:
    """The message the path names by message_id or extra_id, if sent through MsgHub."""
    params = request.path_params
    key = params.get("extra_id", params.get("message_id", ""))
    if not storable(key):
        message = None
    elif "extra_id" in params:
        message = await gateway.message_by_ref(account, DIALECT, key)
    else:
        message = await gateway.get_message(account, key)
    if message is None or message.dialect != DIALECT:
        raise GatewayError(ErrorCode.NOT_FOUND, "message not found")
    return message


async def dr_simple(gateway: Gateway, request: Request, account: Account) -> Response:
    return _json(simple_dr(await find(gateway, request, account)))


async def dr_advanced(gateway: Gateway, request: Request, account: Account) -> Response:
    message = await find(gateway, request, account)
    return _json(advanced_dr(message, await gateway.events_of(account, message.id)))


def storable(key: str) -> bool:
    """False for an id no message or job can have: PostgreSQL refuses a NUL even to look it up."""
    return "\x00" not in key


def _json(value: object, status: int = 200) -> Response:
    return Response(encode(value), status_code=status, media_type="application/json")


def _given(value: object) -> str:
    """A phone number or id as the client sent it, for echoing in a refusal."""
    return "" if value is None else str(value)


def _ref(value: object) -> str | None:
    return None if value is None or value == "" else str(value)
