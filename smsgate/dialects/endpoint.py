"""The one endpoint wrapper every dialect's routes share: a handler's refusals answered in the
dialect's own words, storage down included.

A dialect names its refusals once (`Refusals`): which exceptions are refusals (its own error
type, GatewayError...), how it answers one, and which refusal it gives while the store cannot be
reached. Its handlers only raise; `endpoint` (Starlette) and `raw_endpoint` (bare ASGI, for
dialects/asgi.py's fast routes) turn what they raise into that dialect's error answer.

Each refusal is logged here, at info: the reason and the answer's HTTP status (the request's
id, dialect and account come with every line of the request, see smsgate/logs.py). Where the
acceptor already logged the request's refused recipients, the same refusal is logged again at
debug only. Storage down is logged at warning, at most once a second (with a count).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from .. import logs
from ..core.errors import GatewayError
from ..store.base import StoreUnavailable
from .asgi import Answered, RawHandler

E = TypeVar("E", bound=Exception)

Endpoint = Callable[[Request], Awaitable[Response]]

log = logging.getLogger("smsgate.refused")


@dataclass(frozen=True, slots=True)
class Refusals(Generic[E]):
    """How one dialect (or one group of its routes) answers a refusal.

    `kinds`: the exceptions that are refusals. `answer`: any of them as the dialect's error
    answer (given the request, for dialects whose error format the request chooses).
    `unavailable`: the refusal answered while the store is unavailable.
    """

    kinds: tuple[type[E], ...]
    answer: Callable[[Request, E], Response]
    unavailable: E


def endpoint(handler: Endpoint, refusals: Refusals[E]) -> Endpoint:
    """A Starlette endpoint running `handler`, whose refusals `refusals` answers.

    StoreUnavailable is answered as the dialect's `unavailable` refusal: never a 500."""

    async def run(request: Request) -> Response:
        try:
            return await handler(request)
        except StoreUnavailable as exc:
            return _answered(refusals.answer(request, refusals.unavailable), exc)
        except refusals.kinds as exc:
            return _answered(refusals.answer(request, exc), exc)

    return run


def raw_endpoint(handler: RawHandler, refusals: Refusals[E]) -> RawHandler:
    """`endpoint` for a bare ASGI handler, which must start its answer last (nothing it raises
    may follow its first send). A Request is made only to answer a refusal."""

    async def run(scope: Scope, receive: Receive, send: Send) -> None:
        try:
            return await handler(scope, receive, send)
        except StoreUnavailable as down:
            refused: E = refusals.unavailable
            why: Exception = down
        except refusals.kinds as exc:
            refused = why = exc
        answer = _answered(refusals.answer(Request(scope, receive), refused), why)
        context = logs.CONTEXT.get()
        await answer(scope, receive, send if context is None else Answered(send, context))

    return run


def _answered(answer: Response, why: Exception) -> Response:
    """`answer`, once the refusal it answers (`why`) is logged."""
    status = answer.status_code
    if isinstance(why, StoreUnavailable):
        _OUTAGE.refused(status, why)
        return answer
    context = logs.CONTEXT.get()
    level = logging.DEBUG if context is not None and context.refusals_logged else logging.INFO
    if log.isEnabledFor(level):
        reason, detail = _reason(why)
        log.log(
            level,
            "request refused (%d): %s",
            status,
            detail,
            extra={"status": status, "reason": reason},
        )
    return answer


class _Outage:
    """Refusals while storage is down: the first logged at once, then at most one line a
    second, saying how many were refused since the last (every request of a busy server is
    refused then: a line each would bury the rest)."""

    EVERY = 1.0  # seconds

    def __init__(self) -> None:
        self.unlogged = 0
        self.logged_at = -math.inf

    def refused(self, status: int, why: StoreUnavailable) -> None:
        self.unlogged += 1
        now = time.monotonic()
        if now - self.logged_at < self.EVERY:
            return
        log.warning(
            "%d request(s) refused (%d): storage unavailable: %s",
            self.unlogged,
            status,
            why,
            extra={"status": status, "reason": "unavailable", "refused": self.unlogged},
        )
        self.logged_at, self.unlogged = now, 0


_OUTAGE = _Outage()


def _reason(refused: Exception) -> tuple[str, str]:
    """A refusal's reason (the canonical code, or the dialect's error type and code) and its
    text. Refusal texts name what was wrong, never a credential's value."""
    if isinstance(refused, GatewayError):
        return refused.code.value, refused.detail
    code = getattr(refused, "code", None)
    name = type(refused).__name__
    return (f"{name}:{code}" if code is not None else name), str(refused)[:300]
