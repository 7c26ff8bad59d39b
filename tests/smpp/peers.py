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


BEARERBOX = "/usr/sbin/bearerbox"
SMSBOX = "/usr/sbin/smsbox"


@dataclass
class Kannel:
    """bearerbox + smsbox as an ESME towards an SMSC; `sendsms` is smsbox's HTTP send URL."""

    sendsms: str
    procs: list[asyncio.subprocess.Process]
    logs: Path

    async def stop(self) -> None:
        for proc in reversed(self.procs):
            if proc.returncode is None:
                proc.terminate()
        for proc in self.procs:
            try:
                await asyncio.wait_for(proc.wait(), 10)
            except TimeoutError:
                proc.kill()
                await proc.wait()


def kannel_conf(
    folder: Path,
    smsc_port: int,
    ports: tuple[int, int, int],
    *,
    user: str,
    password: str,
    window: int = 100,
) -> Path:
    admin, box, sendsms = ports
    conf = folder / "kannel.conf"
    conf.write_text(
        f"""group = core
admin-port = {admin}
admin-password = adminpw
admin-interface = 127.0.0.1
smsbox-port = {box}
smsbox-interface = 127.0.0.1
box-allow-ip = 127.0.0.1
log-file = "{folder}/bearerbox.log"
log-level = 1
dlr-storage = internal
sms-resend-retry = 3

group = smsc
smsc = smpp
smsc-id = smsgate
host = 127.0.0.1
port = {smsc_port}
transceiver-mode = true
smsc-username = {user}
smsc-password = {password}
system-type = ""
source-addr-ton = 5
source-addr-npi = 0
dest-addr-ton = 1
dest-addr-npi = 1
enquire-link-interval = 30
max-pending-submits = {window}
reconnect-delay = 1

group = smsbox
bearerbox-host = 127.0.0.1
bearerbox-port = {box}
sendsms-port = {sendsms}
sendsms-interface = 127.0.0.1
log-file = "{folder}/smsbox.log"
log-level = 1

group = sendsms-user
username = tester
password = testpw
max-messages = 10
concatenation = true
"""
    )
    return conf


async def start_kannel(
    folder: Path, smsc_port: int, *, user: str, password: str, window: int = 100
) -> Kannel:
    require(
        os.access(BEARERBOX, os.X_OK) and os.access(SMSBOX, os.X_OK),
        "kannel is not installed (make peers runs tests/peers/install-debian.sh)",
    )
    from tests.support.servers import free_port

    ports = (free_port(), free_port(), free_port())
    conf = kannel_conf(folder, smsc_port, ports, user=user, password=password, window=window)
    procs = []
    for binary in (BEARERBOX, SMSBOX):
        procs.append(
            await asyncio.create_subprocess_exec(
                binary,
                str(conf),
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.DEVNULL,
                cwd=str(folder),
            )
        )
        await asyncio.sleep(0.3)
    kannel = Kannel(f"http://127.0.0.1:{ports[2]}/cgi-bin/sendsms", procs, folder)
    # smsbox answers HTTP once it is connected to bearerbox: in a second or two on an idle
    # machine; a CI-like run at load 20 waited more than 20 s.
    deadline = asyncio.get_running_loop().time() + 60
    while True:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", ports[2])
            writer.close()
            break
        except OSError:
            if asyncio.get_running_loop().time() > deadline:
                await kannel.stop()
                logs = [
                    f"{name}: {(folder / name).read_text(errors='replace')[-1500:]}"
                    for name in ("bearerbox.log", "smsbox.log")
                    if (folder / name).exists()
                ]
                raise AssertionError(
                    "Kannel's sendsms port did not open\n" + "\n".join(logs)
                ) from None
            await asyncio.sleep(0.1)
    return kannel
