"""Admin API: an account's balance ledger. A top-up, a debit or a correction is one ledger
entry (who, when, why, how much, the balance after), written with the balance change in one
transaction (Store.ledger_post; the rule is core.admin.ledger_balance)."""

from __future__ import annotations

import time
from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from ..core.admin import LedgerEntry, LedgerKind
from ..core.errors import ErrorCode, GatewayError
from ..core.money import to_micros
from .api_common import (
    account_or_404,
    admin_of,
    amount,
    audit,
    body,
    endpoint,
    json,
    query_int,
)
from .context import context_of

MAX_REASON = 500


class LedgerPost(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """`amount`: a top-up's or a debit's size (> 0); a correction's is the balance to set."""

    kind: LedgerKind
    amount: str | int | float
    reason: str


def entry_view(entry: LedgerEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "account_id": entry.account_id,
        "kind": entry.kind,
        "amount": amount(entry.amount),
        "balance_after": amount(entry.balance_after),
        "reason": entry.reason,
        "actor": entry.actor,
        "created_at": entry.created_at,
    }


@endpoint()
async def list_ledger(request: Request) -> Response:
    account = await account_or_404(request)
    limit = query_int(request, "limit", 100) or 100
    entries = await context_of(request).store.ledger(
        account.id, before_id=query_int(request, "before", None), limit=limit
    )
    after = entries[-1].id if len(entries) == limit else None
    return json({"entries": [entry_view(e) for e in entries], "next_before": after})


@endpoint(write=True)
async def post_ledger(request: Request) -> Response:
    account = await account_or_404(request)
    spec = await body(request, LedgerPost)
    if spec.kind == "import":
        raise GatewayError(
            ErrorCode.INVALID_FIELD, "import entries come from imports", field="kind"
        )
    reason = spec.reason.strip()
    if not reason or len(reason) > MAX_REASON:
        raise GatewayError(
            ErrorCode.INVALID_FIELD, f"say why, in 1 to {MAX_REASON} characters", field="reason"
        )
    try:
        micros = to_micros(spec.amount)
    except ValueError:
        raise GatewayError(ErrorCode.INVALID_FIELD, "not an amount", field="amount") from None
    entry = await context_of(request).store.ledger_post(
        account.id,
        spec.kind,
        micros,
        reason=reason,
        actor=admin_of(request).username,
        now=time.time(),
    )
    await audit(
        request,
        f"balance.{spec.kind}",
        f"account:{account.id}",
        amount=amount(entry.amount),
        balance_after=amount(entry.balance_after),
        reason=reason,
    )
    return json(entry_view(entry), 201)


def routes() -> list[BaseRoute]:
    return [
        Route("/accounts/{account_id}/ledger", list_ledger, methods=["GET"]),
        Route("/accounts/{account_id}/ledger", post_ledger, methods=["POST"]),
    ]
