"""The one endpoint wrapper every dialect's routes share: a handler's refusals answered in the
dialect's own words, storage down included.

A dialect names its refusals once (`Refusals`): which exceptions are refusals (its own error
type, GatewayError...), how it answers one, and which refusal it gives while the store cannot be
reached. Its handlers only raise; `endpoint` (Starlette) and `raw_endpoint` (bare ASGI, for
dialects/asgi.py's fast routes) turn what they raise into that dialect's error answer.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from ..store.base import StoreUnavailable
from .asgi import RawHandler

E = TypeVar("E", bound=Exception)

Endpoint = Callable[[Request], Awaitable[Response]]


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
        except StoreUnavailable:
            return refusals.answer(request, refusals.unavailable)
        except refusals.kinds as exc:
            return refusals.answer(request, exc)

    return run


def raw_endpoint(handler: RawHandler, refusals: Refusals[E]) -> RawHandler:
    """`endpoint` for a bare ASGI handler, which must start its answer last (nothing it raises
    may follow its first send). A Request is made only to answer a refusal."""

    async def run(scope: Scope, receive: Receive, send: Send) -> None:
        try:
            return await handler(scope, receive, send)
        except StoreUnavailable:
            refused = refusals.unavailable
        except refusals.kinds as exc:
            refused = exc
        await refusals.answer(Request(scope, receive), refused)(scope, receive, send)

    return run
