"""wait_set keeps a cancellation that comes in the same turn as the event (wait_for loses it)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from smsgate.waits import wait_set

Wait = Callable[[asyncio.Event, float], Awaitable[object]]


async def _wait_for(event: asyncio.Event, timeout: float) -> object:
    return await asyncio.wait_for(event.wait(), timeout)


async def _cancel_as_the_event_is_set(wait: Wait) -> bool:
    """A polling loop like the notifier's; True if cancel() ended it."""
    event = asyncio.Event()
    polls = 0

    async def poller() -> None:
        nonlocal polls
        while True:
            event.clear()
            await wait(event, 0.05)
            polls += 1

    task = asyncio.create_task(poller())
    await asyncio.sleep(0)  # the poller waits
    event.set()  # work arrives...
    task.cancel()  # ...as the engine stops, in the same turn of the loop
    await asyncio.wait({task}, timeout=0.5)
    ended = task.done() and task.cancelled()
    task.cancel()  # (the lost cancellation left it running: end it for the next test)
    await asyncio.wait({task}, timeout=0.5)
    return ended


async def test_a_cancellation_in_the_same_turn_as_the_event_ends_the_wait() -> None:
    assert await _cancel_as_the_event_is_set(wait_set)


async def test_asyncio_wait_for_loses_it_here() -> None:
    """Why wait_set exists: on this Python, wait_for returns and the cancellation is gone."""
    import sys

    if sys.version_info >= (3, 12):
        pytest.skip("wait_for keeps the cancellation from Python 3.12")
    assert not await _cancel_as_the_event_is_set(_wait_for)


async def test_wait_set_answers_whether_the_event_came() -> None:
    event = asyncio.Event()
    assert await wait_set(event, 0.01) is False
    asyncio.get_running_loop().call_later(0.01, event.set)
    assert await wait_set(event, 5) is True
    assert await wait_set(event, None) is True  # already set, no limit
