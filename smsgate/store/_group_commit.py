"""Group commit for a store whose writes are transactions over a connection pool (PostgreSQL).

Calls that arrive while every slot is writing wait together and share the next write: under
load one transaction serves many callers, and an idle store writes at once (no timer).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

from .base import Outcome, StoreUnavailable
from .rules import AcceptRequest

T = TypeVar("T")
log = logging.getLogger("smsgate.store")

GROUP_MAX = 2000  # messages in one group commit
GROUP_STEP = 8  # requests waiting, for each commit in flight, to begin one more


_Waiting = tuple[AcceptRequest, asyncio.Future[list[Outcome]]]  # a request, its answer


class AcceptGroups:
    """Group commit for small accepts: requests that arrive while every slot is committing
    wait together and share the next transaction (no timer: an idle store commits at once).
    Requests sharing a reference may share one: the plan decides them in arrival order.

    A commit begins with the requests waiting when they outnumber `step` for each commit
    already in flight (none in flight: at once), up to `slots` in flight. Fewer wait for
    a commit in flight to end, and its slot takes them: a request waits at most for the
    commits it found in flight, and groups do not go out one request each while others
    are committing (docs/operations.md, "Two workers' groups")."""

    def __init__(
        self,
        commit: Callable[[list[AcceptRequest]], Awaitable[list[list[Outcome]]]],
        slots: int,
        step: int = GROUP_STEP,
    ) -> None:
        self.commit = commit  # the requests' outcomes, all in one transaction
        self.slots = slots
        self.step = step
        self.busy = 0
        self.pending: deque[_Waiting] = deque()
        self.tasks: set[asyncio.Task[None]] = set()

    def submit(self, request: AcceptRequest) -> asyncio.Future[list[Outcome]]:
        """The request's outcomes, to await: the future itself (a frame less per request)."""
        future: asyncio.Future[list[Outcome]] = asyncio.get_running_loop().create_future()
        self.pending.append((request, future))
        if self.busy < self.slots and len(self.pending) > self.busy * self.step:
            self.busy += 1
            task = asyncio.create_task(self._flush())
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)
        return future

    async def _flush(self) -> None:
        try:  # as a new commit would: the last one in flight takes whatever waits
            while len(self.pending) > (self.busy - 1) * self.step:
                group: list[_Waiting] = []
                size = 0
                while self.pending and size < GROUP_MAX:
                    group.append(self.pending.popleft())
                    size += len(group[-1][0].items)
                await self._commit(group)
        finally:
            self.busy -= 1

    async def _commit(self, group: list[_Waiting]) -> None:
        try:
            results = await self.commit([r for r, _ in group])
        except Exception as exc:
            if isinstance(exc, StoreUnavailable) or len(group) == 1:
                for _, future in group:
                    if not future.done():
                        future.set_exception(exc)
                return
            # One request broke the shared transaction: each again on its own.
            log.warning(
                "group commit of %d accepts failed (%s); retrying one by one", len(group), exc
            )
            for item in group:
                await self._commit([item])
            return
        for (_, future), outcomes in zip(group, results, strict=True):
            if not future.done():
                future.set_result(outcomes)

    async def drain(self) -> None:
        if self.tasks:
            await asyncio.gather(*self.tasks, return_exceptions=True)


class Coalesce(Generic[T]):
    """Items added while `slots` writes are running are written together by the next one."""

    def __init__(self, write: Callable[[list[T]], Awaitable[None]], slots: int) -> None:
        self.write = write
        self.slots = slots
        self.busy = 0
        self.pending: list[tuple[list[T], asyncio.Future[None]]] = []
        self.tasks: set[asyncio.Task[None]] = set()

    async def add(self, items: list[T]) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.pending.append((items, future))
        if self.busy < self.slots:
            self.busy += 1
            task = asyncio.create_task(self._flush())
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)
        await future

    async def _flush(self) -> None:
        try:
            while self.pending:
                batch, self.pending = self.pending, []
                try:
                    await self.write([item for items, _ in batch for item in items])
                except Exception as exc:
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(exc)
                else:
                    for _, future in batch:
                        if not future.done():
                            future.set_result(None)
        finally:
            self.busy -= 1

    async def drain(self) -> None:
        if self.tasks:
            await asyncio.gather(*self.tasks, return_exceptions=True)


class Pulse:
    """A signal sent after the calls that ask for it, without making them wait: asks that come
    while one is being sent, or within `spacing` seconds after, make one more then, not one
    each (under load: one signal per `spacing`, whatever the rate of asks)."""

    def __init__(self, send: Callable[[], Awaitable[object]], spacing: float = 0.0) -> None:
        self.send = send
        self.spacing = spacing
        self.again = False
        self.task: asyncio.Task[None] | None = None

    def ask(self) -> None:
        if self.task is not None:
            self.again = True
            return
        self.task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        try:
            self.again = True
            while self.again:
                self.again = False
                try:
                    await self.send()
                except Exception as exc:  # the receivers' own polls find what it announced
                    log.warning("could not send a wake-up (%s)", exc)
                if self.spacing:
                    await asyncio.sleep(self.spacing)
        finally:
            self.task = None

    async def drain(self) -> None:
        if self.task is not None:
            await asyncio.gather(self.task, return_exceptions=True)
