"""Kannel's own rate, the issue's reference: sendsms into fakesmsc, memory queue, wrk.

    python -m bench.kannel_bench [--seconds 10] [--connections 64] [--runs 2]

bearerbox and smsbox (Debian's `kannel`) with no store file, so the queue is in memory only;
the SMSC is Kannel's own `fakesmsc` (Debian's `kannel-extras`, /usr/lib/kannel/test), which
takes each message and answers nothing. wrk (one thread) posts sendsms for `--seconds` on the
same two cores. The figure is wrk's requests per second, as for smsgate's single sends; beside
it, the seconds after wrk until fakesmsc had every message (the memory queue drained) and the
CPU per message of bearerbox, smsbox and fakesmsc.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench.common import cpu_seconds, spread, stop_all, wrk
from tests.support.servers import free_port

BEARERBOX = "/usr/sbin/bearerbox"
SMSBOX = "/usr/sbin/smsbox"
FAKESMSC = "/usr/lib/kannel/test/fakesmsc"

CONF = """group = core
admin-port = {admin}
admin-password = adminpw
admin-interface = 127.0.0.1
smsbox-port = {box}
smsbox-interface = 127.0.0.1
box-allow-ip = 127.0.0.1
log-file = "{folder}/bearerbox.log"
log-level = 2

group = smsc
smsc = fake
smsc-id = fake
port = {fake}
connect-allow-ip = 127.0.0.1

group = smsbox
bearerbox-host = 127.0.0.1
bearerbox-port = {box}
sendsms-port = {sendsms}
sendsms-interface = 127.0.0.1
log-file = "{folder}/smsbox.log"
log-level = 2

group = sendsms-user
username = tester
password = testpw
"""


def missing() -> str | None:
    """Why this bench cannot run here, or None."""
    for path, package in ((BEARERBOX, "kannel"), (SMSBOX, "kannel"), (FAKESMSC, "kannel-extras")):
        if not os.access(path, os.X_OK):
            return f"{path} is missing (Debian package {package}: make peers)"
    return None if shutil.which("wrk") else "wrk is not installed (Debian package wrk)"


@dataclass
class KannelRun:
    rate: float  # sendsms requests answered a second, by wrk
    drain: float  # seconds after wrk until the SMSC had every message
    cpu_us: float  # bearerbox + smsbox + fakesmsc CPU per message


def _sent(admin: int) -> int:
    """Messages bearerbox has handed to the SMSC (its status page)."""
    page = httpx.get(f"http://127.0.0.1:{admin}/status.txt?password=adminpw", timeout=5).text
    found = re.search(r"SMS: received \d+ \(\d+ queued\), sent (\d+)", page)
    if not found:
        raise RuntimeError(f"bearerbox status without an SMS line:\n{page}")
    return int(found.group(1))


def _wait_port(port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            httpx.get(f"http://127.0.0.1:{port}/", timeout=1)
            return
        except httpx.HTTPError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"Kannel did not open port {port}") from None
            time.sleep(0.1)


def one_run(seconds: float, connections: int = 64) -> KannelRun:
    folder = Path(tempfile.mkdtemp(prefix="kannel-bench-"))
    admin, box, fake, sendsms = (free_port() for _ in range(4))
    conf = folder / "kannel.conf"
    conf.write_text(CONF.format(folder=folder, admin=admin, box=box, fake=fake, sendsms=sendsms))
    procs: list[subprocess.Popen[bytes]] = []

    def start(*command: str) -> None:
        procs.append(
            subprocess.Popen(
                command, cwd=folder, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
        )

    try:
        start(BEARERBOX, str(conf))
        _wait_port(admin)
        start(SMSBOX, str(conf))
        # -m 0: send no MO message, only take MT ones; -v 1: no debug line per message
        start(FAKESMSC, "-v", "1", "-H", "127.0.0.1", "-r", str(fake), "-m", "0", "1 2 text x")
        _wait_port(sendsms)
        url = (
            f"http://127.0.0.1:{sendsms}/cgi-bin/sendsms?username=tester&password=testpw"
            "&from=ACME&to=79001234567&text=Your+code+is+1234"
        )
        wrk(url, 2, connections)  # warm-up; fakesmsc connects meanwhile
        pids = [p.pid for p in procs]
        sent0, cpu0 = _sent(admin), cpu_seconds(pids)
        run = wrk(url, seconds, connections)
        ended = time.monotonic()
        # wrk's count leaves out the requests cut off when it stopped; Kannel may still
        # have taken them, so wait for at least what wrk got answered
        while _sent(admin) - sent0 < run.answered:
            if time.monotonic() - ended > 60:
                raise RuntimeError("fakesmsc did not get every message within 60 s")
            time.sleep(0.02)
        drain = time.monotonic() - ended
        used = cpu_seconds(pids) - cpu0
        done = _sent(admin) - sent0
        return KannelRun(run.rate, drain, used / done * 1e6 if done else 0.0)
    finally:
        stop_all(procs)
        shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()
    if why := missing():
        raise SystemExit(why)
    runs = []
    for _ in range(args.runs):
        runs.append(one_run(args.seconds, args.connections))
        r = runs[-1]
        print(
            f"Kannel sendsms -> fakesmsc: {r.rate:,.0f} req/s, drained {r.drain:.1f} s after,"
            f" {r.cpu_us:.0f} µs CPU a message",
            flush=True,
        )
    print(f"median {spread([r.rate for r in runs])} req/s")


if __name__ == "__main__":
    main()
