"""Independent peers as real processes: npm's `smpp` SMSC script and Debian's Kannel.

A missing peer skips its tests with the reason, except under CI=true, where it fails them:
CI must have run `make peers`.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

PEERS = Path(__file__).resolve().parent.parent / "peers"


def require(ok: bool, reason: str) -> None:
    if ok:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI must run `make peers`)")
    pytest.skip(reason)


@dataclass
class Smsc:
    """The npm SMSC: its port and the JSON events it printed."""

    port: int
    proc: asyncio.subprocess.Process
    events: list[dict[str, Any]] = field(default_factory=list)
    reader: asyncio.Task[None] | None = None

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e.get("event") == kind]

    async def wait_events(self, kind: str, n: int, timeout: float = 15.0) -> list[dict[str, Any]]:
        deadline = asyncio.get_running_loop().time() + timeout
        while len(self.of(kind)) < n:
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"SMSC printed {len(self.of(kind))} {kind} events, wanted {n}")
            await asyncio.sleep(0.02)
        return self.of(kind)

    async def stop(self) -> None:
        if self.proc.returncode is None:
            self.proc.terminate()
            await self.proc.wait()
        if self.reader is not None:
            self.reader.cancel()


async def start_smsc(**config: Any) -> Smsc:
    node = shutil.which("node")
    require(node is not None, "node is not installed")
    require((PEERS / "node_modules" / "smpp").is_dir(), "npm smpp peer missing: run `make peers`")
    assert node is not None
    env = dict(os.environ, SMSC_CONFIG=json.dumps(config))
    proc = await asyncio.create_subprocess_exec(
        node,
        str(PEERS / "smsc.js"),
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
        limit=1 << 20,
    )
    assert proc.stdout is not None
    line = await asyncio.wait_for(proc.stdout.readline(), 15)
    assert line.startswith(b"LISTENING "), line
    smsc = Smsc(int(line.split()[1]), proc)

    async def read() -> None:
        assert proc.stdout is not None
        async for raw in proc.stdout:
            smsc.events.append(json.loads(raw))

    smsc.reader = asyncio.create_task(read())
    return smsc
