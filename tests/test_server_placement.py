"""`smsgate serve` places its processes: with `pin_engine = "auto"` and fewer workers than
CPUs, the engine on a CPU of its own; and a worker's accept wakes the engine's dispatcher at
once (a byte down a pipe), so an idle one need not look every `dispatcher.poll`."""

from __future__ import annotations

import os
import time
from pathlib import Path

import httpx
import msgspec
import pytest

from smsgate.config import Config
from smsgate.server import Placement, placement
from tests.support.processes import Server, provision
from tests.support.servers import free_port

CPUS = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
HEADERS = {"Authorization": "Bearer place-token"}
ACCOUNT = {
    "name": "place",
    "balance": "1000",
    "price": "0.01",
    "credentials": [{"dialect": "native", "kind": "token", "secret": "place-token"}],
}
many_cpus = pytest.mark.skipif(len(CPUS) < 2, reason="pinning needs two CPUs")


@many_cpus
def test_auto_gives_the_engine_the_last_cpu_when_workers_are_fewer() -> None:
    config = Config(workers=len(CPUS) - 1, pin_engine="auto")
    assert placement(config) == Placement(engine=frozenset(CPUS[-1:]), workers=frozenset(CPUS[:-1]))


def test_no_pinning_when_off_or_when_workers_fill_the_cpus() -> None:
    assert placement(Config(workers=1, pin_engine="off")) is None
    assert placement(Config(workers=len(CPUS) or 1, pin_engine="auto")) is None
    assert placement(Config(workers=len(CPUS) + 1, pin_engine="auto")) is None


def _children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(stat[1]) == pid:
                found.append(int(entry))
    return found


def _status(server: Server, message: str) -> str:
    got = httpx.get(f"{server.url}/api/v1/messages/{message}", headers=HEADERS, timeout=10)
    status: str = got.json()["status"]
    return status


@many_cpus
def test_one_pinned_worker_runs_beside_an_engine_woken_by_its_accepts(tmp_path: Path) -> None:
    """One worker and `pin_engine = "auto"`: the engine is a process of its own on the last
    CPU, the worker on the others. Its dispatcher looks on its own only every 30 s, yet a
    message the worker accepts is sent at once: the worker woke it."""
    db = f"sqlite:///{tmp_path / 'place.db'}"
    provision(db, [ACCOUNT], tmp_path)
    env = {
        "SMSGATE_PIN_ENGINE": "auto",
        "SMSGATE_DISPATCHER__POLL": "30",
        "SMSGATE_DISPATCHER__IDLE_POLL": "30",
        "SMSGATE_SIMULATOR__DR_DELAY": "0.01",
    }
    server = Server(db, free_port(), tmp_path / "serve.log", workers=1, env=env)
    server.start()
    try:
        assert server.proc is not None
        assert os.sched_getaffinity(server.proc.pid) == set(CPUS[-1:])
        placed = {pid: os.sched_getaffinity(pid) for pid in _children(server.proc.pid)}
        assert set(CPUS[:-1]) in placed.values(), placed  # the worker
        time.sleep(1.0)  # the dispatcher has looked once and waits 30 s
        body = {"to": "+79651234567", "text": "hi"}
        sent = httpx.post(f"{server.url}/api/v1/messages", json=body, headers=HEADERS, timeout=10)
        assert sent.status_code == 201, sent.text
        message = sent.json()["id"]
        deadline = time.monotonic() + 10.0
        while _status(server, message) != "delivered":
            assert time.monotonic() < deadline, "the engine was not woken by the worker"
            time.sleep(0.05)
    finally:
        server.stop()


def test_pin_engine_is_a_checked_setting() -> None:
    with pytest.raises(msgspec.ValidationError):
        msgspec.convert({"pin_engine": "always"}, Config)
