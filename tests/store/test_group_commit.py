"""The group-commit helpers on their own (smsgate/store/_group_commit.py)."""

from __future__ import annotations

import asyncio
import itertools
import time

from smsgate.store._group_commit import AcceptGroups, Pulse
from smsgate.store.base import Outcome
from smsgate.store.rules import AcceptRequest


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


class _Commits:
    """A group commit's transaction that ends when the test says: the groups it was given,
    and how many were in flight at once."""

    def __init__(self) -> None:
        self.groups: list[list[int]] = []
        self.in_flight = self.most = 0
        self.release = asyncio.Event()

    async def __call__(self, requests: list[AcceptRequest]) -> list[list[Outcome]]:
        self.groups.append([r.account_id for r in requests])
        self.in_flight += 1
        self.most = max(self.most, self.in_flight)
        await self.release.wait()
        self.in_flight -= 1
        return [[] for _ in requests]


async def test_a_lone_request_waits_for_the_commit_in_flight_not_a_slot_of_its_own() -> None:
    """With a commit in flight, a request that comes alone joins the next group of that
    commit's slot, not a commit of its own: under load, slots that each took the one
    request waiting made a group in five of one request (docs/operations.md)."""
    commits = _Commits()
    groups = AcceptGroups(commits, slots=5, step=8)
    first = groups.submit(AcceptRequest(1, []))
    await asyncio.sleep(0)
    assert commits.groups == [[1]]  # nothing in flight: at once
    later = [groups.submit(AcceptRequest(i, [])) for i in (2, 3)]
    await asyncio.sleep(0.01)
    assert commits.groups == [[1]]  # they wait for the slot in flight
    commits.release.set()
    await asyncio.gather(first, *later)
    assert commits.groups == [[1], [2, 3]] and commits.most == 1


async def test_enough_waiting_requests_begin_another_commit_at_once() -> None:
    commits = _Commits()
    groups = AcceptGroups(commits, slots=3, step=2)
    futures = [groups.submit(AcceptRequest(1, []))]
    await asyncio.sleep(0)
    futures += [groups.submit(AcceptRequest(i, [])) for i in range(2, 5)]  # 3 > 1 x 2
    await asyncio.sleep(0)
    assert commits.groups == [[1], [2, 3, 4]]
    futures += [groups.submit(AcceptRequest(i, [])) for i in range(5, 10)]  # 5 > 2 x 2
    await asyncio.sleep(0)
    futures += [groups.submit(AcceptRequest(i, [])) for i in range(10, 20)]  # every slot busy
    await asyncio.sleep(0.01)
    assert commits.groups == [[1], [2, 3, 4], [5, 6, 7, 8, 9]]
    commits.release.set()
    await asyncio.gather(*futures)
    assert commits.groups[3:] == [list(range(10, 20))] and commits.most == 3
