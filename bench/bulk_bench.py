"""Time to accept and commit one 50,000-recipient request, through the real HTTP front.

    python -m bench.bulk_bench [--recipients 50000] [--runs 3]

Starts `smsgate serve` (one worker) on a fresh SQLite database, posts a native bulk request
with a %var% template and a client reference per recipient, and reports the wall time from
sending the body to the 202 answer (which comes only after the commit and its fsync). Between
runs it waits until the previous run's messages are all delivered through the simulator, so
that each run measures the accept on an idle gateway (and says how long that took: the
dispatcher otherwise shares the two cores with the next run).

Baseline, same run: the same body posted to a bare Starlette + msgspec route (bench/bare_app.py)
that only decodes it and answers one id per recipient: what HTTP and JSON alone cost.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import tempfile
import time
from pathlib import Path

import httpx

from bench.http_bench import start_bare, start_smsgate, stop, wait_ready

HEADERS = {"Authorization": "Bearer bulk-token", "Content-Type": "application/json"}
FINAL = {"delivered", "undelivered", "expired", "rejected", "cancelled", "unknown"}


def body(n: int, run: int) -> bytes:
    recipients = [
        {"to": f"+7965{i:07d}", "client_ref": f"r{run}-{i}", "vars": {"name": f"client {i}"}}
        for i in range(n)
    ]
    return json.dumps(
        {"text": "Dear %name%, your order has shipped", "from": "Test", "recipients": recipients}
    ).encode()


def post(http: httpx.Client, url: str, payload: bytes, n: int) -> tuple[float, dict[str, object]]:
    started = time.perf_counter()
    r = http.post(url, content=payload, headers=HEADERS)
    elapsed = time.perf_counter() - started
    answer = r.json()
    assert r.status_code == 202 and answer["accepted"] == n, r.text[:300]
    return elapsed, answer


def settle(http: httpx.Client, base: str, job_id: str, timeout: float = 300.0) -> float:
    """Seconds until every message of the job is in a final state."""
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        counts = http.get(f"{base}/api/v1/jobs/{job_id}", headers=HEADERS).json()["by_status"]
        if set(counts) <= FINAL:
            return time.perf_counter() - started
        time.sleep(0.5)
    raise RuntimeError(f"job {job_id} not settled after {timeout} s")


def run_bare(n: int, runs: int, port: int) -> list[float]:
    proc = start_bare(port)
    try:
        wait_ready(f"http://127.0.0.1:{port}/")
        with httpx.Client(timeout=60) as http:
            url = f"http://127.0.0.1:{port}/api/v1/messages/bulk"
            return [post(http, url, body(n, run), n)[0] for run in range(runs)]
    finally:
        stop(proc)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--recipients", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--port", type=int, default=18180)
    parser.add_argument(
        "--database", default=None, help="database URL (default: a fresh SQLite file)"
    )
    args = parser.parse_args()
    n = args.recipients
    tmp = Path(tempfile.mkdtemp(prefix="smsgate-bulk-"))
    db = args.database or f"sqlite:///{tmp}/bulk.db"
    accounts = {
        "accounts": [
            {
                "name": "bulk",
                "balance": "100000000",
                "price": "0.01",
                "senders": ["Test"],
                "credentials": [{"dialect": "native", "kind": "token", "secret": "bulk-token"}],
            }
        ]
    }
    proc = start_smsgate(tmp, db, accounts, args.port, 1, {"SMSGATE_DISPATCHER__POLL": "1"})
    times: list[float] = []
    base = f"http://127.0.0.1:{args.port}"
    try:
        wait_ready(f"{base}/healthz")
        with httpx.Client(timeout=60) as http:
            for run in range(args.runs):
                elapsed, answer = post(http, f"{base}/api/v1/messages/bulk", body(n, run), n)
                times.append(elapsed)
                settled = settle(http, base, str(answer["job_id"]))
                print(
                    f"run {run + 1}: {n} recipients accepted and committed in {elapsed:.3f} s"
                    f"  (then delivered in {settled:.1f} s)",
                    flush=True,
                )
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
        shutil.rmtree(tmp, ignore_errors=True)
    bare = run_bare(n, args.runs, args.port + 1)
    print(f"smsgate bulk: median {statistics.median(times):.3f} s of {args.runs} runs")
    print(
        f"bare decode-only route, same body: median {statistics.median(bare):.3f} s"
        f"  ({', '.join(f'{b:.3f}' for b in bare)})"
    )


if __name__ == "__main__":
    main()
