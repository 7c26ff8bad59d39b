"""Waiting for an asyncio.Event with a timeout, without asyncio.wait_for.

On Python 3.11, asyncio.wait_for returns normally when a cancellation arrives in the same turn
of the loop as the event it waits for: the cancellation is lost, the task runs on, and whatever
awaits it (a stopping engine) waits forever. A server's shutdown hung this way in a test run:
the notifier task was "cancelling" and still polling. asyncio.timeout keeps the cancellation.
"""

from __future__ import annotations

import asyncio


async def wait_set(event: asyncio.Event, timeout: float | None) -> bool:
    """Wait until `event` is set, at most `timeout` seconds (None: no limit). True if set."""
    try:
        async with asyncio.timeout(timeout):
            await event.wait()
    except TimeoutError:
        return False
    return True
