"""HTTP endpoints: the JSON API (/json, /json/state.php, /json/balance.php), the XML API (/xml
and its *.php requests) and the HTTP GET API (/sendsms.php). Any other path under /json/ or
/xml/ (or /sendsms.php/) answers in that API's error format."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from enum import Enum
from functools import partial

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from ...core.errors import ErrorCode, GatewayError
from ...core.models import Account
from ...engine.gateway import Gateway
from ..endpoint import Refusals, endpoint
from ..http import EVERY_METHOD, Namespace, params, read_body
from . import actions, getapi, render, xmlrequests
from .auth import authenticate
from .errors import UNAVAILABLE, UNSUPPORTED, MysmppError, format_error
from .parse import Lifetime, get_request, parse_json, parse_xml
from .schemas import Parsed

MAX_IDS = 1000  # id_sms per status request

Action = Callable[[Gateway, Parsed, Account, bool], Awaitable[Response]]


class Api(Enum):
    """The three syntaxes: each reads its requests and writes its errors its own way."""

    JSON = "json"
    XML = "xml"
    GET = "get"


def _answer(api: Api, request: Request, exc: MysmppError | GatewayError) -> Response:
    """A whole-request error (HTTP 200 unless it says otherwise); a canonical one is the
    document-format error."""
    refusal = exc if isinstance(exc, MysmppError) else format_error(api is Api.XML)
    if api is Api.GET:
        return render.text_response(refusal.text, refusal.status)
    return render.error_response(refusal.text, refusal.status, api is Api.XML)


def refusals(api: Api) -> Refusals[MysmppError | GatewayError]:
    """Storage down is 503 'Service temporarily unavailable' (not in the provider's list)."""
    return Refusals(
        kinds=(MysmppError, GatewayError),
        answer=partial(_answer, api),
        unavailable=MysmppError(UNAVAILABLE, 503),
    )


REFUSALS = {api: refusals(api) for api in Api}


def routes(gateway: Gateway) -> list[BaseRoute]:
    """The route table, each action bound to `gateway`; every path also with a trailing slash;
    then each API's catch-all."""
    table: list[tuple[str, Action, Api]] = [
        ("/json", by_body, Api.JSON),
        ("/json/state.php", state, Api.JSON),
        ("/json/balance.php", balance, Api.JSON),
        ("/xml", by_body, Api.XML),
        ("/xml/index.php", by_body, Api.XML),
        ("/xml/state.php", state, Api.XML),
        ("/xml/balance.php", balance, Api.XML),
        ("/xml/originator.php", xmlrequests.originators, Api.XML),
        ("/xml/incoming.php", xmlrequests.incoming, Api.XML),
        ("/xml/stop.php", xmlrequests.stop, Api.XML),
        ("/xml/list_stop.php", xmlrequests.stoplist, Api.XML),
        ("/xml/list_scheduled.php", xmlrequests.scheduled, Api.XML),
        ("/xml/scheduled.php", xmlrequests.delete_scheduled, Api.XML),
        ("/xml/time.php", xmlrequests.user_time, Api.XML),
        ("/xml/version.php", xmlrequests.version, Api.XML),
        ("/sendsms.php", getapi.by_params, Api.GET),
    ]
    out: list[BaseRoute] = []
    for path, action, api in table:
        run = endpoint(partial(serve, action, api, gateway), REFUSALS[api])
        for variant in (path, path + "/"):  # the provider reads the body whatever the method
            out.append(Route(variant, run, methods=EVERY_METHOD))
    for prefix, api in (("/json", Api.JSON), ("/xml", Api.XML), ("/sendsms.php", Api.GET)):
        out.append(Namespace(prefix, endpoint(unsupported, REFUSALS[api])))
    return out


async def unsupported(request: Request) -> Response:
    """A path of the provider's that smsgate does not serve (bases, files, add_originator.php
    ...) or no path at all: the API's own error, never a native 404 (a PHP client throws on
    an XML answer that does not start with `<?xml`)."""
    raise MysmppError(UNSUPPORTED, 404)


async def serve(action: Action, api: Api, gateway: Gateway, request: Request) -> Response:
    """The request read in its syntax, the caller authenticated from it, then the action."""
    xml = api is Api.XML
    try:
        body = await read_body(request)
    except GatewayError as exc:
        status = 413 if exc.code is ErrorCode.BODY_TOO_LARGE else 200
        raise MysmppError(format_error(xml).text, status) from None
    parsed = await _parse(api, request, body)
    account = await authenticate(gateway, request, parsed.credentials)
    return await action(gateway, parsed, account, xml)


async def _parse(api: Api, request: Request, body: bytes) -> Parsed:
    if api is Api.XML:
        return parse_xml(body)
    if api is Api.JSON:
        return await parse_json(request, body)
    try:
        return get_request(await params(request, body))
    except Exception:  # a broken multipart body is the client's malformed request
        raise format_error(xml=False) from None


async def by_body(gateway: Gateway, parsed: Parsed, account: Account, xml: bool) -> Response:
    """The bare path: the body says what it is (message: send; id_sms: status; else balance)."""
    if parsed.batches is not None:
        return await send(gateway, parsed, account, xml)
    if parsed.id_sms is not None:
        return await state(gateway, parsed, account, xml)
    return await balance(gateway, parsed, account, xml)


async def send(gateway: Gateway, parsed: Parsed, account: Account, xml: bool) -> Response:
    assert parsed.batches is not None
    lifetime = Lifetime(xml=xml, default=gateway.limits.max_ttl)
    entries = await actions.send(gateway, account, parsed.batches, lifetime)
    return render.sent_xml(entries) if xml else render.sent_json(entries)


async def state(gateway: Gateway, parsed: Parsed, account: Account, xml: bool) -> Response:
    ids = parsed.id_sms
    if not ids or len(ids) > MAX_IDS:
        raise format_error(xml)
    rows = await actions.lookup(gateway, account, ids)
    if xml:
        return render.xml_response(render.state_xml(rows, account))
    return render.json_response(render.state_json(rows, account, parsed.detail))


async def balance(gateway: Gateway, parsed: Parsed, account: Account, xml: bool) -> Response:
    amount = await gateway.balance(account)
    if xml:
        return render.xml_response(render.balance_xml(amount, account))
    return render.json_response(render.balance_json(amount, account))
