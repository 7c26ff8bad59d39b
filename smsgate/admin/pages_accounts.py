"""The console's accounts: the list with balances, and an account's page (balance and ledger,
credentials without their secrets, senders, stop list, callback hosts, today's traffic). Its
forms (top-up, revoke, rotate) post to the admin API (see pages.py)."""

from __future__ import annotations

import time
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from ..core.models import Account
from . import auth
from .api_credentials import credential_view
from .console_figures import balance_alerts
from .context import context_of
from .pages_query import optional_int
from .pages_render import render

LEDGER_PAGE = 20
STOPLIST_SHOWN = 100


def start_of_day(account: Account, now: float) -> float:
    """Midnight of today in the account's time zone (UTC if its zone is unknown here)."""
    try:
        zone = ZoneInfo(account.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    local = datetime.fromtimestamp(now, zone)
    return local.replace(hour=0, minute=0, second=0, microsecond=0).timestamp()


@auth.require_page()
async def accounts(request: Request) -> Response:
    store = context_of(request).store
    found = await store.list_accounts()
    low = {a.account_id for a in balance_alerts(found)}
    backlog = await store.callback_backlog_by_account()
    return render(request, "accounts.html", accounts=found, low=low, backlog=backlog)


@auth.require_page()
async def account(request: Request) -> Response:
    store = context_of(request).store
    account_id = optional_int(request.path_params["account_id"])
    found = await store.get_account(account_id) if account_id is not None else None
    if found is None:
        what = f"account {request.path_params['account_id']}"
        return render(request, "not_found.html", 404, what=what)
    day = start_of_day(found, time.time())
    since = await store.console_seq_at("messages", day)
    stoplist = await store.stoplist(found.id)
    before = optional_int(request.query_params.get("ledger_before"))
    ledger = await store.ledger(found.id, before_id=before, limit=LEDGER_PAGE + 1)
    return render(
        request,
        "account.html",
        a=found,
        today=sorted((await store.console_account_traffic(found.id, since)).items()),
        day_start=day,
        credentials=[credential_view(c) for c in await store.credentials_of(found.id)],
        stoplist=stoplist[:STOPLIST_SHOWN],
        stoplist_total=len(stoplist),
        ledger=ledger[:LEDGER_PAGE],
        ledger_older=ledger[LEDGER_PAGE - 1].id if len(ledger) > LEDGER_PAGE else None,
        low=bool(balance_alerts([found])),
    )


def routes() -> list[BaseRoute]:
    return [
        Route("/accounts", accounts, methods=["GET"]),
        Route("/accounts/{account_id}", account, methods=["GET"]),
    ]
