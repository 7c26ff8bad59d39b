"""Admin API: the southbound routing table and the HTTP upstreams (docs/routing.md).

`GET /routes` answers the table in the shape `smsgate routes import` reads from TOML, and
`PUT /routes` takes that shape back: checked by `core.routing.table_errors`, applied by
`Store.routing_apply` (idempotent: the same table again changes nothing), audited with what
changed. `POST /routes/test` says which rule and route a message would take, from
`core.routing_views.explain_route`, the function `smsgate routes test` prints. `GET /upstreams`
shows each upstream without its credentials. The dashboard's routes page calls `route_test`
and `upstreams_view` too."""

from __future__ import annotations

import time
from typing import Annotated, Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from ..core import phone as phones
from ..core.errors import ErrorCode, GatewayError
from ..core.routing import RoutingTable, destination, parse_table, table_errors
from ..core.routing_views import explain_route, price_text, table_document
from ..dialects.http import read_body
from .api_common import MAX_BODY, admin_name, audit, body, endpoint, json, log
from .context import AdminContext, context_of

MAX_TEXT = 64  # characters of a tested sender or dialect


class RouteTest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A message to route: `account` by id or name (none: account 0, which no rule names);
    `at` a Unix time (none: now)."""

    phone: str | int
    account: str | int | None = None
    sender: str | None = None
    dialect: str = "native"
    at: Annotated[float, msgspec.Meta(ge=0, lt=1e11)] | None = None


class BadTable(Exception):
    """A routing table that cannot be applied, with every reason."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("; ".join(errors))
        self.errors = errors


def read_table(raw: Any, connectors: tuple[str, ...]) -> RoutingTable:
    """The table in a request's JSON (the TOML import's shape), or BadTable naming what is
    wrong: a field, a value, an unknown route or connector, a name used twice."""
    if not isinstance(raw, dict):
        raise BadTable(["the body is a JSON object with rules, routes and prices"])
    not_lists = [
        key for key in ("rules", "routes", "prices") if not isinstance(raw.get(key, []), list)
    ]
    if not_lists:
        raise BadTable([f"{key} is not a list" for key in not_lists])
    try:
        table = parse_table(raw)
    except (ValueError, TypeError) as exc:  # msgspec.ValidationError is a ValueError
        raise BadTable([str(exc)]) from None
    errors = table_errors(table, connectors)
    if errors:
        raise BadTable(errors)
    return table


@endpoint()
async def get_routes(request: Request) -> Response:
    return json(table_document(await context_of(request).store.routing_table()))


@endpoint(write=True)
async def put_routes(request: Request) -> Response:
    """Replace the routing table; what was added, changed and removed (nothing: no change)."""
    context = context_of(request)
    raw = await read_body(request, MAX_BODY)
    try:
        table = read_table(msgspec.json.decode(raw or b"null"), context.routing.connectors)
    except msgspec.DecodeError as exc:
        raise GatewayError(ErrorCode.MALFORMED_BODY, f"not JSON: {exc}") from None
    except BadTable as exc:
        log.warning("admin %s: routing table refused: %s", admin_name(request), exc)
        message = {"code": ErrorCode.INVALID_FIELD.value, "message": str(exc)}
        return json({"error": {**message, "errors": exc.errors}}, 400)
    diff = await context.store.routing_apply(table)
    changes = {"added": diff.added, "changed": diff.changed, "removed": diff.removed}
    await audit(request, "routes.apply", "routes", **changes, no_change=diff.empty)
    return json({**changes, "no_change": diff.empty})


async def account_id_of(context: AdminContext, account: str | int | None) -> int:
    """The id of the account named by id or name (0: none given); NOT_FOUND when none is."""
    if account is None or account == "":
        return 0
    found = None
    if isinstance(account, int) or (account.isascii() and account.isdigit()):
        if 0 < int(account) < 2**62:
            found = await context.store.get_account(int(account))
    else:
        found = await context.store.account_by_name(account)
    if found is None:
        raise GatewayError(ErrorCode.NOT_FOUND, f"no account {account!r}", field="account")
    return found.id


async def route_test(context: AdminContext, given: RouteTest) -> dict[str, Any]:
    """Which rule and route a message takes and its connectors in order, with each one's
    breaker where this process runs the engine (GatewayError for a bad number or account)."""
    number = phones.normalize(given.phone)
    for name, value in (("sender", given.sender or ""), ("dialect", given.dialect)):
        if len(value) > MAX_TEXT:
            raise GatewayError(ErrorCode.INVALID_FIELD, f"{name} is too long", field=name)
    account_id = await account_id_of(context, given.account)
    at = given.at if given.at is not None else time.time()
    dest = destination(number, account_id, given.sender or None, given.dialect, at)
    setup = context.routing
    choice = explain_route(
        await context.store.routing_table(), dest, setup.default, setup.default_route
    )
    return {
        "phone": f"+{choice.phone}",
        "region": choice.region,
        "account_id": account_id,
        "rule": msgspec.to_builtins(choice.rule),
        "route": msgspec.to_builtins(choice.route),
        "default_connector": choice.default,
        "hops": [
            {
                "connector": hop.connector,
                "priority": hop.priority,
                "weight": hop.weight,
                "price": price_text(hop.price) if hop.price is not None else None,
                "breaker_open": setup.breaker(hop.connector),
            }
            for hop in choice.hops
        ],
    }


@endpoint()
async def test_route(request: Request) -> Response:
    return json(await route_test(context_of(request), await body(request, RouteTest)))


async def upstreams_view(context: AdminContext) -> list[dict[str, Any]]:
    """Each HTTP upstream: name, kind, host, breaker (None: not known in this process) and the
    routes' hops that name it. Never a credential, a secret or the dr_url's token."""
    table = await context.store.routing_table()
    return [
        {
            "name": upstream.name,
            "kind": upstream.kind,
            "host": upstream.host,
            "breaker_open": context.routing.breaker(upstream.name),
            "hops": [
                {"route": route.name, "priority": hop.priority, "weight": hop.weight}
                for route in table.routes
                for hop in route.connectors
                if hop.connector == upstream.name
            ],
        }
        for upstream in context.routing.upstreams
    ]


@endpoint()
async def list_upstreams(request: Request) -> Response:
    context = context_of(request)
    return json(
        {
            "default_connector": context.routing.default,
            "upstreams": await upstreams_view(context),
        }
    )


def routes() -> list[BaseRoute]:
    return [
        Route("/routes", get_routes, methods=["GET"]),
        Route("/routes", put_routes, methods=["PUT"]),
        Route("/routes/test", test_route, methods=["POST"]),
        Route("/upstreams", list_upstreams, methods=["GET"]),
    ]
