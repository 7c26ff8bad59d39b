"""uvicorn's server, waking once a second instead of ten times.

uvicorn's main loop sleeps 0.1 s between looks at its exit flag and its clock (the Date header
changes once a second). In an idle worker those ten wake-ups a second were most of its CPU.
Here the loop looks once a second, and an exit signal wakes it at once, so a SIGTERM is
acted on as soon as before.
"""

from __future__ import annotations

import asyncio
import contextlib
from types import FrameType

import uvicorn

TICK = 1.0  # seconds between looks at the clock: the Date header's resolution
TICKS_A_SECOND = 10  # uvicorn's on_tick refreshes the Date header every 10th of its ticks


class QuietServer(uvicorn.Server):
    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._exit = asyncio.Event()

    async def main_loop(self) -> None:
        self._loop = asyncio.get_running_loop()
        counter = 0
        should_exit = await self.on_tick(counter)
        while not should_exit:
            counter = (counter + TICKS_A_SECOND) % 864000  # each tick refreshes the Date header
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._exit.wait(), TICK)
            should_exit = await self.on_tick(counter)

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        """SIGTERM or SIGINT (a signal handler: the loop is woken through its thread-safe call,
        which only writes to the loop's wake-up pipe)."""
        super().handle_exit(sig, frame)
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._exit.set)
