"""SMPP benchmarks, each beside a baseline measured in the same run (not part of the test suite).

    PYTHONPATH=. .venv/bin/python bench/smpp_bench.py [--messages 20000] [--only NAME ...]

Runs, on this machine, with real processes:

- ``kannel->npm`` (baseline): Kannel's HTTP sendsms into the npm `smpp` SMSC (tests/peers/smsc.js),
  receipts back, each delivery report pushed to Kannel's dlr-url. Kannel keeps its queue in memory.
- ``smsgate e2e``: HTTP accept (native bulk API, committed to SQLite before the answer) ->
  dispatcher -> SMPP client submit_sm to the same npm SMSC -> deliver_sm receipt -> store ->
  native callback (HTTP POST) received. Counted when the "delivered" callback arrives.
- ``smsgate e2e, final callback only``: the same, each message asking for its final callback
  only (``"callback_events": "final"``), like the baseline's ``dlr-mask=1``: one POST per message.
- ``kannel->npm, no DLR``: Kannel's bare MT rate, sendsms to the npm SMSC without receipts.
- ``smsgate smpp path``: as ``smsgate e2e`` without callbacks (until every receipt is stored).
- ``esme->smsgate->npm``: an SMPP client binds to smsgate's server and submits; smsgate sends on
  over SMPP to the npm SMSC; receipts come back to the bind as deliver_sm (durable in between).
- ``kannel->smsgate->npm``: smsgate put between Kannel and the npm SMSC of the baseline: Kannel's
  sendsms into smsgate's SMPP server (accepted, stored), on through smsgate's SMPP client, receipts
  back to Kannel as deliver_sm, reported to dlr-url. ``kannel->smsgate(simulator)``: the same
  with smsgate's built-in simulator as the carrier.

``--wrk SECONDS`` drives Kannel's sendsms with wrk (Debian's package) for that long instead of
the Python loop, and smsgate e2e with wrk's native single sends instead of bulk requests; the
message count is then what wrk got answered.

Each figure is messages per second from the first request to the last delivery report received.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import parse_wrk  # noqa: E402
from smsgate.core.urls import parse_networks  # noqa: E402
from smsgate.provision import Document, apply  # noqa: E402
from smsgate.smpp.pdu import BindTransceiver, DeliverSm, Pdu, SubmitSm  # noqa: E402
from smsgate.smpp.session import Session  # noqa: E402
from smsgate.store import open_store  # noqa: E402
from tests.smpp.peers import start_kannel, start_smsc  # noqa: E402
from tests.support.servers import account, free_port  # noqa: E402


class Counter(asyncio.Protocol):
    """A minimal HTTP/1.1 keep-alive server that answers 200 and counts matching requests."""

    def __init__(self, match: Callable[[bytes], bool], state: dict[str, float]) -> None:
        self.match = match
        self.state = state
        self.buf = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's is no subclass

    def data_received(self, data: bytes) -> None:
        self.buf += data
        out = []
        while True:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                break
            head = self.buf[:end]
            length = 0
            for line in head.split(b"\r\n")[1:]:
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            total = end + 4 + length
            if len(self.buf) < total:
                break
            request = self.buf[:total]
            self.buf = self.buf[total:]
            if self.match(request):
                self.state["count"] += 1
                self.state["last"] = time.monotonic()
            out.append(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nOK")
        if out and self.transport is not None:
            self.transport.write(b"".join(out))


async def counter(match: Callable[[bytes], bool]) -> tuple[str, dict[str, float], asyncio.Server]:
    state = {"count": 0.0, "last": 0.0}
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: Counter(match, state), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    return f"http://127.0.0.1:{port}", state, server


async def wait_count(state: dict[str, float], n: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while state["count"] < n:
        if time.monotonic() > deadline:
            raise TimeoutError(f"only {int(state['count'])} of {n} reports arrived")
        await asyncio.sleep(0.05)


async def sendsms_loop(sendsms: str, n: int, dlr_url: str, concurrency: int = 64) -> None:
    dlr = quote(dlr_url + "?type=%d", safe="")
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as http:
        queue = iter(range(n))

        async def worker() -> None:
            for i in queue:
                url = (
                    f"{sendsms}?username=tester&password=testpw&from=ACME"
                    f"&to=7900{i:07d}&text=Bench+{i}&dlr-mask=1&dlr-url={dlr}"
                )
                async with http.get(url) as r:
                    await r.read()
                    if r.status != 202:
                        raise RuntimeError(f"sendsms answered {r.status}")

        await asyncio.gather(*(worker() for _ in range(concurrency)))


WRK_SECONDS = 0.0  # set by --wrk: drive sendsms and smsgate e2e with wrk for this long
POST = str(ROOT / "bench/post.lua")


def _delivered_dlr(request: bytes) -> bool:
    return b"type=1" in request.split(b"\r\n", 1)[0]


async def _wrk(url: str, seconds: float, *script: str, **env: str) -> int:
    """wrk (Debian's package), c=64, on `url` for `seconds`; returns the requests answered 2xx."""
    proc = await asyncio.create_subprocess_exec(
        *("wrk", "-t1", "-c64", f"-d{int(seconds)}s", *script, url),
        stdout=asyncio.subprocess.PIPE,
        env={**os.environ, **env},
    )
    out, _ = await proc.communicate()
    return parse_wrk(out.decode(), allow_errors=True).answered


async def wrk_loop(sendsms: str, dlr_url: str, seconds: float) -> int:
    """wrk (Debian's package) hammers sendsms for `seconds`; returns the requests it completed."""
    dlr = quote(dlr_url + "?type=%d", safe="")
    url = (
        f"{sendsms}?username=tester&password=testpw&from=ACME&to=79001234567"
        f"&text=Bench+message&dlr-mask=1&dlr-url={dlr}"
    )
    return await _wrk(url, seconds)


async def kannel_no_dlr(folder: Path, seconds: float) -> float:
    """Kannel's sendsms into the npm SMSC without delivery reports: its bare MT rate."""
    smsc = await start_smsc(log=False, count_every=100, receipt="none")
    kannel = await start_kannel(folder, smsc.port, user="carrier", password="secret", window=1000)
    try:
        await asyncio.sleep(2.0)
        started_wall = time.time()
        sendsms = kannel.sendsms
        url = f"{sendsms}?username=tester&password=testpw&from=ACME&to=79001234567&text=Bench"
        proc = await asyncio.create_subprocess_exec(
            "wrk", "-t1", "-c64", f"-d{int(seconds)}s", url, stdout=asyncio.subprocess.PIPE
        )
        out, _ = await proc.communicate()
        total = int(next(x for x in out.decode().splitlines() if "requests in" in x).split()[0])
        target = total // 100 * 100
        deadline = time.monotonic() + 60
        while not smsc.of("count") or smsc.of("count")[-1]["n"] < target:
            if time.monotonic() > deadline:
                raise TimeoutError("the SMSC did not get every message")
            await asyncio.sleep(0.05)
        last = next(e for e in smsc.of("count") if e["n"] >= target)["t"] / 1000
        print(f"    (wrk: {total} sendsms requests in {seconds:.0f} s)")
        return target / (last - started_wall)
    finally:
        await kannel.stop()
        await smsc.stop()


async def kannel_into(folder: Path, smsc_port: int, user: str, password: str, n: int) -> float:
    url, state, server = await counter(_delivered_dlr)
    kannel = await start_kannel(folder, smsc_port, user=user, password=password, window=1000)
    try:
        await asyncio.sleep(2.0)  # bearerbox binds
        started = time.monotonic()
        if shutil.which("wrk") and WRK_SECONDS:
            n = await wrk_loop(kannel.sendsms, url + "/dlr", WRK_SECONDS)
            print(f"    (wrk: {n} sendsms requests answered 202 in {WRK_SECONDS:.0f} s)")
        else:
            await sendsms_loop(kannel.sendsms, n, url + "/dlr")
        await wait_count(state, n, timeout=60 + n / 500)
        return n / (state["last"] - started)
    finally:
        await kannel.stop()
        server.close()


async def provision(database: str, callback_url: str | None) -> None:
    store = open_store(database)
    await store.open()
    try:
        await store.migrate()
        urls = {"native": callback_url} if callback_url else {}
        await apply(
            store,
            Document(accounts=[account("acme", balance="100000000", callback_urls=urls)]),
            allowed_networks=parse_networks(["127.0.0.0/8"]),  # the receiver is on loopback
        )
    finally:
        await store.close()


async def start_smsgate(folder: Path, config: str) -> tuple[asyncio.subprocess.Process, int]:
    port = free_port()
    conf = folder / "smsgate.toml"
    conf.write_text(config)
    env = dict(os.environ, PYTHONPATH=str(ROOT), SMSGATE_CONFIG=str(conf))
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "smsgate.cli",
        "serve",
        "--port",
        str(port),
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=open(folder / "smsgate.log", "wb"),  # noqa: SIM115
    )
    deadline = time.monotonic() + 30
    async with aiohttp.ClientSession() as http:
        while True:
            try:
                async with http.get(f"http://127.0.0.1:{port}/healthz") as r:
                    if r.status == 200:
                        break
            except aiohttp.ClientError:
                pass
            if time.monotonic() > deadline or proc.returncode is not None:
                raise RuntimeError(f"smsgate did not start: see {folder}/smsgate.log")
            await asyncio.sleep(0.1)
    return proc, port


def _tree(pid: int) -> list[tuple[Path, list[str]]]:
    """A process and its live children (Linux /proc), each with the fields of its stat after
    the name: smsgate with several workers is a tree of processes."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(entry.name) == pid or int(fields[1]) == pid:  # fields[1]: the parent's pid
            found.append((entry, fields))
    return found


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a process and its live children have used so far."""
    return sum(cpu_by_process(pid).values())


def cpu_by_process(pid: int) -> dict[int, float]:
    """User + system CPU seconds of a process and of each live child, the process first, then
    its children in the order they started (smsgate: the engine, then the workers, then the
    notifier process)."""
    tree = sorted(_tree(pid), key=lambda e: (int(e[0].name) != pid, int(e[1][19])))
    tick = os.sysconf("SC_CLK_TCK")
    return {int(entry.name): (int(f[11]) + int(f[12])) / tick for entry, f in tree}


def per_process(before: dict[int, float], after: dict[int, float], n: int) -> str:
    """Each process's CPU a message between two cpu_by_process counts, µs."""
    return ", ".join(f"{(c - before.get(p, 0.0)) / n * 1e6:.0f}" for p, c in after.items())


def disk_bytes(pid: int) -> int:
    """Bytes a process and its live children have written to storage so far (/proc/*/io
    write_bytes: the database, its WAL and checkpoints); 0 where the kernel does not say."""
    total = 0
    for entry, _fields in _tree(pid):
        try:
            lines = (entry / "io").read_text().splitlines()
        except OSError:
            continue
        total += sum(int(line.split()[1]) for line in lines if line.startswith("write_bytes:"))
    return total


async def stop(proc: asyncio.subprocess.Process) -> None:
    if proc.returncode is None:
        proc.terminate()
        try:
            await asyncio.wait_for(proc.wait(), 20)
        except TimeoutError:
            proc.kill()


E2E_CONFIG = """
database = "{database}"
workers = {workers}
log_level = "warning"
connector = "smpp"
[smpp]
port = 0
[smpp_client]
port = {smsc_port}
system_id = "carrier"
password = "secret"
window = 1000
sessions = 2
[dispatcher]
batch = 2000
max_inflight = 4
[notifier]
concurrency = 128
[callbacks]
allow_networks = ["127.0.0.0/8"]  # the callback receiver listens on loopback
"""


async def bulk_load(port: int, n: int, batch: int = 1000, events: str = "all") -> None:
    """n messages through the native bulk API, 4 requests at a time; `events`: which callbacks
    each message asks for ("all": submitted and delivered; "final": delivered only)."""
    async with aiohttp.ClientSession(base_url=f"http://127.0.0.1:{port}") as http:
        sem = asyncio.Semaphore(4)

        async def post(start: int) -> None:
            body = {
                "from": "ACME",
                "text": "Bench message",
                "callback_events": events,
                "recipients": [{"to": f"7900{i:07d}"} for i in range(start, min(n, start + batch))],
            }
            async with (
                sem,
                http.post(
                    "/api/v1/messages/bulk",
                    data=json.dumps(body),
                    headers={"Authorization": "Bearer acme-token"},
                ) as r,
            ):
                if r.status != 202:
                    raise RuntimeError(f"bulk answered {r.status}: {await r.text()}")

        await asyncio.gather(*(post(s) for s in range(0, n, batch)))


def _delivered_callback(request: bytes) -> bool:
    return b'"status":"delivered"' in request


async def smsgate_e2e(
    folder: Path, smsc_port: int, smsc_pid: int, n: int, workers: int, events: str = "all"
) -> float:
    url, state, server = await counter(_delivered_callback)
    database = f"sqlite:///{folder}/e2e.db"
    await provision(database, url + "/dr")
    config = E2E_CONFIG.format(database=database, smsc_port=smsc_port, workers=workers)
    proc, port = await start_smsgate(folder, config)
    try:
        await asyncio.sleep(1.0)  # the SMPP client binds
        cpu0, smsc0, own0 = cpu_seconds(proc.pid), cpu_seconds(smsc_pid), time.process_time()
        disk0, each0 = disk_bytes(proc.pid), cpu_by_process(proc.pid)
        started = time.monotonic()
        if WRK_SECONDS:  # native single sends, as Kannel's baseline gets its sendsms
            extra = f',"callback_events":"{events}"'
            url = f"http://127.0.0.1:{port}/api/v1/messages"
            n = await _wrk(
                url, WRK_SECONDS, "-s", POST, BENCH_TOKEN="acme-token", BENCH_EXTRA=extra
            )
            print(f"    (wrk: {n} single sends answered in {WRK_SECONDS:.0f} s)")
        else:
            await bulk_load(port, n, events=events)
        accepted = time.monotonic() - started
        await wait_count(state, n, timeout=60 + n / 500)
        elapsed = state["last"] - started
        print(
            f"    (accept of {n}: {accepted:.2f} s, {n / accepted:,.0f} msg/s; in {elapsed:.1f} s"
            f" smsgate used {cpu_seconds(proc.pid) - cpu0:.1f} s CPU"
            f" and wrote {(disk_bytes(proc.pid) - disk0) / n / 1024:.1f} KiB a message to disk,"
            f" the npm SMSC {cpu_seconds(smsc_pid) - smsc0:.1f} s, this process"
            f" {time.process_time() - own0:.1f} s)"
        )
        each = per_process(each0, cpu_by_process(proc.pid), n)
        print(f"    (µs of CPU a message, each smsgate process by start: {each})")
        return n / elapsed
    finally:
        await stop(proc)
        server.close()


async def kannel_into_smsgate(folder: Path, n: int, smsc_port: int | None = None) -> float:
    """Kannel -> smsgate's SMPP server; smsgate sends on through its SMPP client to the npm SMSC
    (`smsc_port`), or with its built-in simulator when None."""
    database = f"sqlite:///{folder}/k.db"
    await provision(database, None)
    smpp_port = free_port()
    if smsc_port is None:
        config = f"""
database = "{database}"
workers = 1
log_level = "warning"
[smpp]
port = {smpp_port}
[simulator]
dr_delay = 0.05
[notifier]
concurrency = 128
"""
    else:
        config = E2E_CONFIG.format(database=database, smsc_port=smsc_port, workers=1).replace(
            "[smpp]\nport = 0", f"[smpp]\nport = {smpp_port}"
        )
    proc, _ = await start_smsgate(folder, config)
    try:
        cpu0 = cpu_seconds(proc.pid)
        wall0 = time.monotonic()
        rate = await kannel_into(folder, smpp_port, "acme", "acme-pw", n)
        print(
            f"    (smsgate used {cpu_seconds(proc.pid) - cpu0:.1f} s CPU"
            f" in {time.monotonic() - wall0:.1f} s)"
        )
        return rate
    finally:
        await stop(proc)


async def smsgate_smpp_path(folder: Path, smsc_port: int, n: int) -> float:
    """HTTP accept -> submit_sm -> receipt -> stored as delivered (no callbacks): the SMPP path."""
    import sqlite3

    database = f"sqlite:///{folder}/path.db"
    await provision(database, None)
    proc, port = await start_smsgate(
        folder, E2E_CONFIG.format(database=database, smsc_port=smsc_port, workers=1)
    )
    try:
        await asyncio.sleep(1.0)
        cpu0 = cpu_seconds(proc.pid)
        started = time.monotonic()
        await bulk_load(port, n)
        reader = sqlite3.connect(f"{folder}/path.db")
        deadline = time.monotonic() + 60 + n / 500
        while True:
            done = reader.execute(
                "SELECT count(*) FROM messages WHERE status = 'delivered'"
            ).fetchone()[0]
            if done >= n:
                break
            if time.monotonic() > deadline:
                raise TimeoutError(f"only {done} of {n} delivered")
            await asyncio.sleep(0.05)
        last = reader.execute("SELECT max(done_at) - min(created_at) FROM messages").fetchone()[0]
        reader.close()
        print(
            f"    (accept to last receipt stored: {last:.2f} s;"
            f" smsgate used {cpu_seconds(proc.pid) - cpu0:.1f} s CPU)"
        )
        return n / (time.monotonic() - started)
    finally:
        await stop(proc)


class BenchEsme(Session):
    """An SMPP client for the bench: counts receipts, answers them at once."""

    def __init__(self) -> None:
        super().__init__(window=1000, response_timeout=30.0, enquire_link=0, name="bench-esme")
        self.receipts = 0
        self.refused = 0

    def handle_request(self, pdu: Pdu) -> Pdu | None:
        if isinstance(pdu, DeliverSm):
            self.receipts += 1
            return pdu.make_resp()
        return super().handle_request(pdu)


async def esme_through_smsgate(folder: Path, smsc_port: int, n: int) -> float:
    """An SMPP client binds to smsgate, submits; smsgate sends on to the npm SMSC over SMPP;
    receipts come back to the bind as deliver_sm. SMPP in, SMPP out, durable in between."""
    database = f"sqlite:///{folder}/smpp.db"
    await provision(database, None)
    smpp_port = free_port()
    config = E2E_CONFIG.format(database=database, smsc_port=smsc_port, workers=1).replace(
        "[smpp]\nport = 0", f"[smpp]\nport = {smpp_port}"
    )
    proc, _ = await start_smsgate(folder, config)
    loop = asyncio.get_running_loop()
    try:
        await asyncio.sleep(1.0)
        _, esme = await loop.create_connection(BenchEsme, "127.0.0.1", smpp_port)
        bound = await esme.call(BindTransceiver(system_id="acme", password="acme-pw"))
        assert bound.command_status == 0, bound
        started = time.monotonic()

        def check(fut: asyncio.Future[Pdu]) -> None:
            if fut.exception() is not None or fut.result().command_status != 0:
                esme.refused += 1

        for i in range(n):
            await esme.acquire_slot()
            fut = esme.send_request(
                SubmitSm(
                    source_addr="ACME",
                    source_addr_ton=5,
                    dest_addr_ton=1,
                    dest_addr_npi=1,
                    destination_addr=f"7900{i:07d}",
                    registered_delivery=1,
                    short_message=b"Bench message",
                )
            )
            fut.add_done_callback(check)
        deadline = time.monotonic() + 60 + n / 500
        while esme.receipts < n - esme.refused:
            if time.monotonic() > deadline:
                raise TimeoutError(f"only {esme.receipts} of {n} receipts ({esme.refused} refused)")
            await asyncio.sleep(0.02)
        elapsed = time.monotonic() - started
        if esme.refused:
            print(f"    ({esme.refused} submits refused)")
        esme.close()
        return (n - esme.refused) / elapsed
    finally:
        await stop(proc)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=20000)
    parser.add_argument(
        "--workers",
        type=int,
        default=os.cpu_count() or 1,
        help="smsgate's HTTP workers in the e2e runs (default: the core count, as `serve`)",
    )
    parser.add_argument("--only", nargs="*", default=None)
    parser.add_argument(
        "--wrk",
        type=float,
        default=0.0,
        help="drive Kannel's sendsms with wrk for this many seconds",
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the run's folder (databases, logs)"
    )
    args = parser.parse_args()
    n = args.messages
    global WRK_SECONDS
    WRK_SECONDS = args.wrk
    results: dict[str, float] = {}
    root = Path(tempfile.mkdtemp(prefix="smpp-bench-"))
    smsc = await start_smsc(log=False)
    try:
        runs = {
            "kannel->npm, no DLR": lambda d: kannel_no_dlr(d, WRK_SECONDS or 8.0),
            "kannel->npm": lambda d: kannel_into(d, smsc.port, "carrier", "secret", n),
            "smsgate e2e": lambda d: smsgate_e2e(d, smsc.port, smsc.proc.pid, n, args.workers),
            "smsgate e2e, final callback only": lambda d: smsgate_e2e(
                d, smsc.port, smsc.proc.pid, n, args.workers, events="final"
            ),
            "smsgate smpp path": lambda d: smsgate_smpp_path(d, smsc.port, n),
            "esme->smsgate->npm": lambda d: esme_through_smsgate(d, smsc.port, n),
            "kannel->smsgate->npm": lambda d: kannel_into_smsgate(d, n, smsc.port),
            "kannel->smsgate(simulator)": lambda d: kannel_into_smsgate(d, n),
        }
        for name, run in runs.items():
            if args.only and name not in args.only:
                continue
            folder = root / "".join(c if c.isalnum() else "-" for c in name)
            folder.mkdir()
            print(f"{name}: {n} messages ...", flush=True)
            results[name] = await run(folder)
            print(f"  {name}: {results[name]:,.0f} msg/s", flush=True)
    finally:
        await smsc.stop()
    print()
    print(f"| run ({n} messages, this machine) | msg/s end to end |")
    print("|---|---|")
    for name, rate in results.items():
        print(f"| {name} | {rate:,.0f} |")
    if args.keep:
        print(f"kept {root}")
    else:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    asyncio.run(main())
