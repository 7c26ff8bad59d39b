"""Admin API: accounts (list, read, create, update, deactivate), their senders, stop lists and
callback URLs. Every change is audited; balances change only through the ledger
(api_ledger.py), never through an update."""

from __future__ import annotations

import ipaddress
import time

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from ..core import phone as phones
from ..core.admin import MAX_MONEY
from ..core.errors import ErrorCode, GatewayError
from ..core.models import Account
from ..core.money import to_micros
from ..core.urls import check_callback_target, check_callback_url
from ..core.windows import check_zone
from .api_common import (
    account_or_404,
    account_view,
    admin_of,
    audit,
    body,
    endpoint,
    json,
    masked_url,
)
from .context import context_of

MAX_PHONES = 10_000  # numbers one stop-list request may add or remove
GLOBAL_STOPLIST = 0  # the stop list's account id for numbers no account may send to


class AccountCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    name: str
    balance: str | int | float | None = None
    price: str | int | float | None = None
    currency: str | None = None
    tps: int | None = None
    timezone: str | None = None
    ip_allowlist: list[str] | None = None
    senders: list[str] | None = None


class AccountUpdate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    name: str | None = None
    price: str | int | float | None = None
    currency: str | None = None
    tps: int | None = None
    timezone: str | None = None
    active: bool | None = None
    ip_allowlist: list[str] | None = None


class SenderAdd(msgspec.Struct, forbid_unknown_fields=True):
    name: str


class Phones(msgspec.Struct, forbid_unknown_fields=True):
    phones: list[str | int]


def _money(value: str | int | float, field: str) -> int:
    try:
        micros = to_micros(value)
    except ValueError:
        raise GatewayError(
            ErrorCode.INVALID_FIELD, f"{field} is not an amount", field=field
        ) from None
    if not 0 <= micros <= MAX_MONEY:
        raise GatewayError(ErrorCode.INVALID_FIELD, f"{field} is out of range", field=field)
    return micros


def _name(name: str) -> str:
    name = name.strip()
    if not 1 <= len(name) <= 100:
        raise GatewayError(ErrorCode.INVALID_FIELD, "a name has 1 to 100 characters", field="name")
    return name


def _networks(entries: list[str]) -> list[str]:
    for entry in entries:
        try:
            ipaddress.ip_network(entry, strict=False)
        except ValueError:
            raise GatewayError(
                ErrorCode.INVALID_FIELD,
                f"not an address or network: {entry!r}",
                field="ip_allowlist",
            ) from None
    return entries


def _zone(name: str) -> str:
    try:
        return check_zone(name)
    except ValueError:
        raise GatewayError(
            ErrorCode.INVALID_FIELD, f"unknown time zone {name!r}", field="timezone"
        ) from None


def _fields(spec: AccountCreate | AccountUpdate) -> dict[str, object]:
    """The account fields a create or an update sets, each checked."""
    fields: dict[str, object] = {}
    if spec.name is not None:
        fields["name"] = _name(spec.name)
    if spec.price is not None:
        fields["price"] = _money(spec.price, "price")
    if spec.currency is not None:
        if not spec.currency.isalpha() or len(spec.currency) != 3:
            raise GatewayError(ErrorCode.INVALID_FIELD, "a currency is 3 letters", field="currency")
        fields["currency"] = spec.currency.upper()
    if spec.tps is not None:
        if not 0 <= spec.tps <= 1_000_000:
            raise GatewayError(ErrorCode.INVALID_FIELD, "tps is out of range", field="tps")
        fields["tps"] = spec.tps
    if spec.timezone is not None:
        fields["timezone"] = _zone(spec.timezone)
    if spec.ip_allowlist is not None:
        fields["ip_allowlist"] = _networks(spec.ip_allowlist)
    if isinstance(spec, AccountUpdate) and spec.active is not None:
        fields["active"] = spec.active
    return fields


@endpoint()
async def list_accounts(request: Request) -> Response:
    accounts = await context_of(request).store.list_accounts()
    return json({"accounts": [account_view(a) for a in accounts]})


@endpoint()
async def get_account(request: Request) -> Response:
    return json(account_view(await account_or_404(request)))


@endpoint(write=True)
async def create_account(request: Request) -> Response:
    """A new account; an opening balance is its first ledger entry (a top-up)."""
    spec = await body(request, AccountCreate)
    fields = _fields(spec)
    opening = _money(spec.balance, "balance") if spec.balance is not None else 0
    senders = sorted({_sender(s) for s in spec.senders or []})
    store = context_of(request).store
    account = await store.create_account(
        Account(id=0, senders=senders, **fields)  # type: ignore[arg-type]
    )
    await audit(request, "account.create", f"account:{account.id}", name=account.name)
    if opening:
        await store.ledger_post(
            account.id,
            "top_up",
            opening,
            reason="opening balance",
            actor=admin_of(request).username,
            now=time.time(),
        )
        account = await account_or_404_by_id(request, account.id)
    return json(account_view(account), 201)


async def account_or_404_by_id(request: Request, account_id: int) -> Account:
    found = await context_of(request).store.get_account(account_id)
    if found is None:
        raise GatewayError(ErrorCode.NOT_FOUND, f"no account {account_id}")
    return found


@endpoint(write=True)
async def update_account(request: Request) -> Response:
    account = await account_or_404(request)
    fields = _fields(await body(request, AccountUpdate))
    updated = await context_of(request).store.update_account(account.id, **fields)
    changed = {k: v for k, v in fields.items() if getattr(account, k) != v}
    await audit(request, "account.update", f"account:{account.id}", **changed)
    return json(account_view(updated))


async def _set_active(request: Request, active: bool) -> Response:
    account = await account_or_404(request)
    updated = await context_of(request).store.update_account(account.id, active=active)
    action = "account.activate" if active else "account.deactivate"
    await audit(request, action, f"account:{account.id}", name=account.name)
    return json(account_view(updated))


@endpoint(write=True)
async def deactivate_account(request: Request) -> Response:
    """The account's every credential stops working (within the gateway's 2 s cache)."""
    return await _set_active(request, False)


@endpoint(write=True)
async def activate_account(request: Request) -> Response:
    return await _set_active(request, True)


def _sender(name: str) -> str:
    name = name.strip()
    if not 1 <= len(name) <= 20 or not name.isprintable():
        raise GatewayError(
            ErrorCode.INVALID_FIELD, "a sender has 1 to 20 printable characters", field="name"
        )
    return name


@endpoint(write=True)
async def add_sender(request: Request) -> Response:
    account = await account_or_404(request)
    name = _sender((await body(request, SenderAdd)).name)
    await context_of(request).store.add_sender(account.id, name)
    await audit(request, "sender.add", f"account:{account.id}", sender=name)
    return json({"senders": sorted({*account.senders, name})}, 201)


@endpoint(write=True)
async def remove_sender(request: Request) -> Response:
    account = await account_or_404(request)
    name = request.path_params["name"]
    if not await context_of(request).store.remove_sender(account.id, name):
        raise GatewayError(ErrorCode.NOT_FOUND, f"no sender {name!r}", field="name")
    await audit(request, "sender.remove", f"account:{account.id}", sender=name)
    return json({"senders": sorted(set(account.senders) - {name})})


def _phones(given: list[str | int]) -> list[str]:
    if len(given) > MAX_PHONES:
        raise GatewayError(
            ErrorCode.INVALID_FIELD, f"at most {MAX_PHONES} numbers a request", field="phones"
        )
    return sorted({phones.normalize(p) for p in given})


async def _stoplist_of(request: Request) -> tuple[int, str]:
    """Whose stop list a path names: an account's (its id, "account:<id>"), or without an
    account the global one that every account's messages are checked against (0)."""
    if "account_id" not in request.path_params:
        return GLOBAL_STOPLIST, "stoplist:global"
    account = await account_or_404(request)
    return account.id, f"account:{account.id}"


@endpoint()
async def get_stoplist(request: Request) -> Response:
    owner, _ = await _stoplist_of(request)
    return json({"phones": await context_of(request).store.stoplist(owner)})


@endpoint(write=True)
async def add_to_stoplist(request: Request) -> Response:
    owner, target = await _stoplist_of(request)
    numbers = _phones((await body(request, Phones)).phones)
    added = await context_of(request).store.stoplist_add(owner, numbers)
    await audit(request, "stoplist.add", target, phones=numbers)
    return json({"added": added})


@endpoint(write=True)
async def remove_from_stoplist(request: Request) -> Response:
    owner, target = await _stoplist_of(request)
    numbers = _phones((await body(request, Phones)).phones)
    removed = await context_of(request).store.stoplist_remove(owner, numbers)
    await audit(request, "stoplist.remove", target, phones=numbers)
    return json({"removed": removed})


def _callback_urls(request: Request, given: dict[str, str | None]) -> dict[str, str | None]:
    """Each key a dialect ("native") or a dialect's incoming SMS ("native.mo"); each URL
    checked as an import checks it (form and target; smpp: for the SMPP binds); None removes."""
    context = context_of(request)
    checked: dict[str, str | None] = {}
    for key, url in given.items():
        dialect = key.removesuffix(".mo")
        if context.dialects and dialect not in context.dialects:
            raise GatewayError(ErrorCode.INVALID_FIELD, f"no dialect {dialect!r}", field=key)
        if url is None or url.startswith("smpp:"):
            checked[key] = url
            continue
        form = check_callback_url(url, field=key)
        checked[key] = check_callback_target(form, context.callback_networks, field=key)
    return checked


@endpoint(write=True)
async def set_callback_urls(request: Request) -> Response:
    account = await account_or_404(request)
    given = _callback_urls(request, await body(request, dict[str, str | None]))
    merged = {**account.callback_urls, **given}
    urls = {k: v for k, v in merged.items() if v is not None}
    await context_of(request).store.update_account(account.id, callback_urls=urls)
    shown = {k: masked_url(v) if v else None for k, v in given.items()}
    await audit(request, "callbacks.set", f"account:{account.id}", **shown)
    return json({"callback_urls": {k: masked_url(v) for k, v in urls.items()}})


def routes() -> list[BaseRoute]:
    one = "/accounts/{account_id}"
    return [
        Route("/accounts", list_accounts, methods=["GET"]),
        Route("/accounts", create_account, methods=["POST"]),
        Route(one, get_account, methods=["GET"]),
        Route(one, update_account, methods=["PATCH"]),
        Route(f"{one}/deactivate", deactivate_account, methods=["POST"]),
        Route(f"{one}/activate", activate_account, methods=["POST"]),
        Route(f"{one}/senders", add_sender, methods=["POST"]),
        Route(f"{one}/senders/{{name}}", remove_sender, methods=["DELETE"]),
        Route(f"{one}/stoplist", get_stoplist, methods=["GET"]),
        Route(f"{one}/stoplist", add_to_stoplist, methods=["POST"]),
        Route(f"{one}/stoplist/remove", remove_from_stoplist, methods=["POST"]),
        Route("/stoplist", get_stoplist, methods=["GET"]),
        Route("/stoplist", add_to_stoplist, methods=["POST"]),
        Route("/stoplist/remove", remove_from_stoplist, methods=["POST"]),
        Route(f"{one}/callback_urls", set_callback_urls, methods=["PUT"]),
    ]
