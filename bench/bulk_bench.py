"""Time to accept and commit one 50,000-recipient request, through the real HTTP front.

    python -m bench.bulk_bench [--recipients 50000] [--runs 3]

Starts `smsgate serve` on a fresh SQLite database, posts a native bulk request with a %var%
template and a client reference per recipient, and reports the wall time from sending the
body to the 202 answer (which comes only after the commit). A baseline in the same run: the
same body posted to a route that only decodes it, to show what HTTP and JSON alone cost.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import tempfile
import time
from pathlib import Path

import httpx

from bench.http_bench import start_smsgate, wait_ready


def body(n: int, run: int) -> bytes:
    recipients = [
        {"to": f"+7965{i:07d}", "client_ref": f"r{run}-{i}", "vars": {"name": f"client {i}"}}
        for i in range(n)
    ]
    return json.dumps(
        {"text": "Dear %name%, your order has shipped", "from": "Test", "recipients": recipients}
    ).encode()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--recipients", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--port", type=int, default=18180)
    parser.add_argument(
        "--database", default=None, help="database URL (default: a fresh SQLite file)"
    )
    args = parser.parse_args()
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
    try:
        wait_ready(f"http://127.0.0.1:{args.port}/healthz")
        with httpx.Client(timeout=60) as http:
            for run in range(args.runs):
                payload = body(args.recipients, run)
                started = time.perf_counter()
                r = http.post(
                    f"http://127.0.0.1:{args.port}/api/v1/messages/bulk",
                    content=payload,
                    headers={
                        "Authorization": "Bearer bulk-token",
                        "Content-Type": "application/json",
                    },
                )
                elapsed = time.perf_counter() - started
                assert r.status_code == 202 and r.json()["accepted"] == args.recipients, r.text[
                    :300
                ]
                print(
                    f"run {run + 1}: {args.recipients} recipients accepted and committed in {elapsed:.3f} s",
                    flush=True,
                )
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
