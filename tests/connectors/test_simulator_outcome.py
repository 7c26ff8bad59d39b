"""The simulator's outcome of a message: a pure function of seed, phone and text."""

from __future__ import annotations

import pytest

from smsgate.connectors import simulator
from smsgate.connectors.simulator import Simulator, SimulatorConfig
from smsgate.core.errors import ErrorCode
from smsgate.core.models import Message
from smsgate.core.status import Status


class _Store:
    exclusive_dispatch = True


def _message(phone: str, text: str = "hello") -> Message:
    return Message(
        id="m", account_id=1, dialect="native", phone=phone, text=text, encoding="gsm7", segments=1
    )


def test_the_default_delivers_every_message_without_a_digest(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every roll delivers with the default ratios, so none is made: a SHA-256 a message was
    most of the simulator's own CPU in a live run."""

    def no_digest(_data: bytes) -> None:
        raise AssertionError("a digest was made")

    monkeypatch.setattr(simulator.hashlib, "sha256", no_digest)
    sim = Simulator(_Store(), SimulatorConfig())  # type: ignore[arg-type]
    outcomes = {sim.outcome(_message(f"7965{i:07d}", f"t{i}")) for i in range(200)}
    assert outcomes == {(Status.DELIVERED, None)}


def test_prefixes_decide_before_the_roll() -> None:
    config = SimulatorConfig(reject_prefixes=["7900"], fail_prefixes=["7911", "7922"])
    sim = Simulator(_Store(), config)  # type: ignore[arg-type]
    assert sim.outcome(_message("79001234567")) == (
        Status.REJECTED,
        ErrorCode.CARRIER_REJECTED.value,
    )
    undelivered = (Status.UNDELIVERED, config.failure_codes[0])
    assert sim.outcome(_message("79221234567")) == undelivered
    assert sim.outcome(_message("79651234567")) == (Status.DELIVERED, None)


def test_ratios_roll_the_same_for_the_same_message() -> None:
    sim = Simulator(_Store(), SimulatorConfig(delivery_ratio=0.5, seed=7))  # type: ignore[arg-type]
    messages = [_message(f"7965{i:07d}", f"t{i}") for i in range(400)]
    first = [sim.outcome(m) for m in messages]
    assert first == [sim.outcome(m) for m in messages]
    delivered = sum(1 for status, _ in first if status is Status.DELIVERED)
    assert 150 < delivered < 250
