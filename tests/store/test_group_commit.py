"""The group-commit helpers on their own (smsgate/store/_group_commit.py)."""

from __future__ import annotations

import asyncio
import itertools
import time

from smsgate.store._group_commit import Pulse


async def test_a_pulse_goes_at_once_and_asks_meanwhile_make_one_more() -> None:
    sent: list[float] = []
    release = asyncio.Event()

    async def send() -> None:
        sent.append(time.monotonic())
        await release.wait()

    pulse = Pulse(send)
    started = time.monotonic()
    pulse.ask()
    await asyncio.sleep(0.01)
    assert len(sent) == 1 and sent[0] - started < 0.01  # no wait for the first
    for _ in range(50):
        pulse.ask()  # while the first is being sent
    release.set()
    await pulse.drain()
    assert len(sent) == 2
    pulse.ask()  # nothing in flight: a new one
    await pulse.drain()
    assert len(sent) == 3


async def test_a_spaced_pulse_sends_once_a_spacing_under_a_stream_of_asks() -> None:
    sent: list[float] = []

    async def send() -> None:
        sent.append(time.monotonic())

    pulse = Pulse(send, spacing=0.05)
    until = time.monotonic() + 0.3
    while time.monotonic() < until:
        pulse.ask()
        await asyncio.sleep(0.001)
    await pulse.drain()
    assert 2 <= len(sent) <= 8  # about 0.3 / 0.05, not one per ask (~300)
    assert all(b - a >= 0.049 for a, b in itertools.pairwise(sent))


async def test_a_failed_pulse_is_logged_and_the_next_ask_sends_again() -> None:
    calls = 0

    async def send() -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise OSError("down")

    pulse = Pulse(send)
    pulse.ask()
    await pulse.drain()
    pulse.ask()
    await pulse.drain()
    assert calls == 2
