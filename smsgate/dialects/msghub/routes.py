"""The JSONv2 endpoints under /msghub/api/{client_id}/..., with HTTP Basic authentication."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from ...core.errors import ErrorCode, GatewayError
from ...core.models import Account, Job, Message
from ...engine.gateway import Gateway
from ...store.base import Outcome, StoreUnavailable
from ..http import basic_credentials, client_ip, ip_allowed, read_body, release_after
from . import parse
from .errors import METHOD_NOT_ALLOWED, error_response, refusal
from .reports import (
    advanced_dr,
    job_item,
    refused_item,
    refused_job_item,
    simple_dr,
    sync_item,
)
from .schemas import (
    JobReport,
    JobResponse,
    SendResponse,
    SyncResponse,
    bulk_decoder,
    encode,
    simple_decoder,
)
from .settings import client_ids, timezone

DIALECT = "msghub"
BASE = "/msghub/api"
PAGE = 1000
# Every route takes every method and answers a wrong one itself, in MsgHub's error format.
ANY_METHOD = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]

Handler = Callable[[Request, Account], Awaitable[Response]]


def _json(value: object, status: int = 200) -> Response:
    return Response(encode(value), status_code=status, media_type="application/json")


def _given(value: object) -> str:
    """A phone number or id as the client sent it, for echoing in a refusal."""
    return "" if value is None else str(value)


def routes(gateway: Gateway) -> list[BaseRoute]:
    async def authenticate(request: Request) -> Account:
        creds = basic_credentials(request)
        account = await gateway.login(DIALECT, "basic", *creds) if creds else None
        if account is None or creds is None:
            raise GatewayError(ErrorCode.UNAUTHORIZED, "missing or invalid Basic credentials")
        if not ip_allowed(account.ip_allowlist, client_ip(request)):
            raise GatewayError(ErrorCode.IP_NOT_ALLOWED, "address not allowed for this account")
        if request.path_params.get("client_id") not in client_ids(account, creds[0]):
            raise GatewayError(ErrorCode.FORBIDDEN, "client_id does not belong to this account")
        return account

    def endpoint(
        handler: Handler, methods: Sequence[str]
    ) -> Callable[[Request], Awaitable[Response]]:
        async def run(request: Request) -> Response:
            try:
                if request.method not in methods:
                    exc = GatewayError(ErrorCode.BAD_REQUEST, "method not allowed")
                    response = error_response(exc, METHOD_NOT_ALLOWED)
                    response.headers["Allow"] = ", ".join(methods)
                    return response
                account = await authenticate(request)
                return await handler(request, account)
            except GatewayError as exc:
                return error_response(exc)
            except StoreUnavailable:
                return error_response(GatewayError(ErrorCode.UNAVAILABLE))

        return run

    # Sending --------------------------------------------------------------------------------
    async def simple(request: Request, account: Account) -> Response:
        req = parse.decode(simple_decoder, await read_body(request))
        item = parse.simple(req, timezone(account), time.time())
        outcomes, _ = await gateway.submit(account, DIALECT, [item], max_parts=parse.MAX_PARTS)
        outcome = outcomes[0]
        if outcome.kind == "error":
            assert outcome.error is not None
            raise outcome.error
        assert outcome.message is not None
        return _json(SendResponse(outcome.message.id))

    def bulk(kind: str, sync: bool) -> Handler:
        async def handle(request: Request, account: Account) -> Response:
            req = parse.decode(bulk_decoder, await read_body(request))
            shape = kind
            if shape == "auto":  # the older paths take either body
                shape = (
                    "batch" if req.messages is not None and req.recipients is None else "broadcast"
                )
            now = time.time()
            common = parse.shared(req, timezone(account), now, templated=shape == "broadcast")
            if shape == "batch":
                items, given = parse.batch(req, common)
                max_parts = parse.MAX_PARTS
            else:
                items, given = parse.broadcast(req, common)
                max_parts = parse.BROADCAST_MAX_PARTS
            results, job = await _submit(account, items, given, max_parts, sync, request)
            if sync:
                answer = _json(SyncResponse(_sync_items(results, given)))
            else:
                answer = _job_answer(results, job)
            return release_after(answer, req, items, given, results)

        return handle

    async def _submit(
        account: Account,
        items: list[parse.Item],
        given: list[tuple[object, object]],
        max_parts: int,
        sync: bool,
        request: Request,
    ) -> tuple[list[Outcome], Job | None]:
        """Outcomes in request order; refusals known before the core are kept in the job."""
        items = [parse.precheck(i, account) for i in items]
        results: list[Outcome] = [
            Outcome("error", error=i.error) if isinstance(i, parse.Rejected) else Outcome("new")
            for i in items
        ]
        valid = [(n, i) for n, i in enumerate(items) if not isinstance(i, parse.Rejected)]
        if not valid:
            return results, None
        meta: dict[str, Any] = {"client_id": request.path_params["client_id"]}
        if not sync:
            refused = [
                [_given(given[n][0]), _ref(given[n][1]), *refusal(i.error)]
                for n, i in enumerate(items)
                if isinstance(i, parse.Rejected)
            ]
            if refused:
                meta["refused"] = refused
        outcomes, job = await gateway.submit(
            account,
            DIALECT,
            [i for _, i in valid],
            job=not sync,
            job_meta=meta,
            max_parts=max_parts,
        )
        for (n, _), outcome in zip(valid, outcomes, strict=True):
            results[n] = outcome
        return results, job

    def _sync_items(results: list[Outcome], given: list[tuple[object, object]]) -> list[Any]:
        out = []
        for outcome, (phone, extra_id) in zip(results, given, strict=True):
            if outcome.message is not None:
                out.append(sync_item(outcome.message))
            else:
                assert outcome.error is not None
                out.append(refused_item(_given(phone), _ref(extra_id), *refusal(outcome.error)))
        return out

    def _job_answer(results: list[Outcome], job: Job | None) -> Response:
        if job is not None:
            return _json(JobResponse(job.id))
        # Nothing new: a repeat of an earlier request answers with that request's job.
        for outcome in results:
            if outcome.kind == "duplicate" and outcome.message and outcome.message.job_id:
                return _json(JobResponse(outcome.message.job_id))
        for outcome in results:
            if outcome.error is not None:
                raise outcome.error
        raise GatewayError(ErrorCode.DUPLICATE, "every extra_id was already used")

    # Reports --------------------------------------------------------------------------------
    async def job_report(request: Request, account: Account) -> Response:
        job_id = request.path_params["job_id"]
        counts = await gateway.get_job(account, job_id)
        if counts is None:
            raise GatewayError(ErrorCode.NOT_FOUND, "job not found")
        items = []
        after = 0
        while True:
            page = await gateway.job_messages(account, job_id, after_seq=after, limit=PAGE)
            items += [job_item(m) for m in page]
            if len(page) < PAGE:
                break
            after = page[-1].seq
        meta = counts.job.meta or {}
        for phone, extra_id, code, text in meta.get("refused", []):
            items.append(refused_job_item(counts.job.created_at, phone, extra_id, code, text))
        return _json(JobReport(items))

    async def find(request: Request, account: Account) -> Message:
        params = request.path_params
        if "extra_id" in params:
            message = await gateway.message_by_ref(account, DIALECT, params["extra_id"])
        else:
            message = await gateway.get_message(account, params["message_id"])
        if message is None or message.dialect != DIALECT:
            raise GatewayError(ErrorCode.NOT_FOUND, "message not found")
        return message

    async def dr_simple(request: Request, account: Account) -> Response:
        return _json(simple_dr(await find(request, account)))

    async def dr_advanced(request: Request, account: Account) -> Response:
        message = await find(request, account)
        return _json(advanced_dr(message, await gateway.events_of(account, message.id)))

    async def not_found(request: Request) -> Response:
        return error_response(GatewayError(ErrorCode.NOT_FOUND, "no such endpoint"))

    send = ("POST",)
    read = ("GET", "POST")
    table: list[tuple[str, Handler, Sequence[str]]] = [
        ("/{client_id}/json2/simple", simple, send),
        ("/{client_id}/json2/batch", bulk("batch", sync=False), send),
        ("/{client_id}/json2/batch/sync", bulk("batch", sync=True), send),
        ("/{client_id}/json2/broadcast", bulk("broadcast", sync=False), send),
        ("/{client_id}/json2/broadcast/sync", bulk("broadcast", sync=True), send),
        ("/{client_id}/json", bulk("auto", sync=False), send),
        ("/{client_id}", bulk("auto", sync=True), send),
        ("/{client_id}/json2/job/{job_id}", job_report, read),
        ("/{client_id}/dr/external/{extra_id}/simple", dr_simple, read),
        ("/{client_id}/dr/external/{extra_id}/advanced", dr_advanced, read),
        ("/{client_id}/dr/{message_id}/simple", dr_simple, read),
        ("/{client_id}/dr/{message_id}/advanced", dr_advanced, read),
    ]
    out: list[BaseRoute] = []
    for path, handler, methods in table:
        run = endpoint(handler, methods)
        out.append(Route(BASE + path, run, methods=ANY_METHOD))
        out.append(Route(BASE + path + "/", run, methods=ANY_METHOD))
    out.append(Route(BASE + "/{rest:path}", not_found, methods=ANY_METHOD))
    return out


def _ref(value: object) -> str | None:
    return None if value is None or value == "" else str(value)
