"""The only synchronous path: validate, price, and store a request's messages in one commit."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import msgspec

from ..core.errors import ErrorCode, GatewayError
from ..core.ids import new_id
from ..core.models import Account, Job, Submission
from ..core.validate import Limits, build_message
from ..store.base import Outcome, Store
from . import metrics


class Acceptor:
    def __init__(self, store: Store, limits: Limits) -> None:
        self.store = store
        self.limits = limits
        self.on_accept: Callable[[], None] | None = None  # wakes a dispatcher in this process

    async def submit(
        self,
        account: Account,
        dialect: str,
        items: Sequence[Submission],
        *,
        atomic: bool = False,
        job: bool = False,
        job_ref: str | None = None,
        job_meta: dict[str, Any] | None = None,
        trunk_8_to_7: bool = False,
        max_parts: int | None = None,
        now: float | None = None,
    ) -> tuple[list[Outcome], Job | None]:
        """Accept a request. Outcomes come back in the order of `items`.

        `atomic`: one bad recipient refuses the whole request (nothing stored).
        `job`: the messages form a batch whose id is returned (and stored when any is new).
        `max_parts`: the dialect's own segment limit, where its provider documents one.
        """
        limits = self.limits
        if max_parts is not None:
            limits = msgspec.structs.replace(limits, max_parts=max_parts)
        if not items:
            raise GatewayError(ErrorCode.MISSING_FIELD, "no recipients")
        if len(items) > self.limits.max_recipients:
            raise GatewayError(
                ErrorCode.TOO_MANY_RECIPIENTS,
                f"at most {self.limits.max_recipients} recipients per request",
            )
        now = time.time() if now is None else now
        batch = (
            Job(
                id=new_id(),
                account_id=account.id,
                dialect=dialect,
                client_ref=job_ref,
                total=len(items),
                created_at=now,
                meta=job_meta,
            )
            if job
            else None
        )
        job_id = batch.id if batch else None
        outcomes: list[Outcome | None] = [None] * len(items)
        valid = []
        positions = []
        for i, item in enumerate(items):
            try:
                message = build_message(
                    account,
                    dialect,
                    item,
                    now,
                    limits,
                    trunk_8_to_7=trunk_8_to_7,
                    job_id=job_id,
                )
            except GatewayError as exc:
                outcomes[i] = Outcome("error", error=exc)
                if atomic:
                    break
            else:
                valid.append(message)
                positions.append(i)
        if atomic and any(o is not None for o in outcomes):
            return [o for o in outcomes if o is not None], None
        if valid:
            stored = await self.store.accept(account.id, valid, job=batch, atomic=atomic)
            for i, outcome in zip(positions, stored, strict=True):
                outcomes[i] = outcome
        final = [o for o in outcomes if o is not None]
        new = sum(1 for o in final if o.kind == "new")
        if new and self.on_accept is not None:
            self.on_accept()
        metrics.ACCEPTED.labels(dialect).inc(new)
        rejected = sum(1 for o in final if o.kind == "error")
        if rejected:
            metrics.REFUSED.labels(dialect).inc(rejected)
        return final, batch if new else None
