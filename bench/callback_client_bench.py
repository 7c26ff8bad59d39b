"""The callbacks' HTTP client: one request per connection (the baseline) against pipelined, and
against more requests in flight, alternated in one run (not part of the test suite).

    PYTHONPATH=. .venv/bin/python -m bench.callback_client_bench [--requests 40000] [--rounds 2]

Each mode sends `--requests` callback-sized POSTs through `smsgate.net.http_client.HttpClient`
to `bench/smpp_bench.py`'s receiver (answers at once, keep-alive, pipelining understood), in
this process, from as many workers as the mode keeps in flight. Prints requests a second and
the CPU a request (client and receiver: they share the process) of each mode, and the ratio to
the baseline's: whether round trips or the number in flight limit the rate.
"""

from __future__ import annotations

import argparse
import asyncio
import time

import uvloop

from bench.smpp_bench import counter
from smsgate.core.urls import parse_networks
from smsgate.net.http_client import HttpClient

BODY = b'{"event_id":"ev-1","type":"status","message":{"text":"' + b"x" * 600 + b'"}}'
MODES = {  # name: (pipelined, in flight)
    "one per connection, 128 in flight (baseline)": (False, 128),
    "one per connection, 512 in flight": (False, 512),
    "pipelined, 128 in flight": (True, 128),
}


async def run(pipeline: bool, in_flight: int, n: int) -> tuple[float, float]:
    """(requests a second, CPU µs a request) of n requests, after a warm-up of as many."""
    url, _state, server = await counter(lambda request: True)
    client = HttpClient(allowed=parse_networks(["127.0.0.0/8"]), pipeline=pipeline)
    headers = {"Content-Type": "application/json"}

    async def send_all() -> None:
        left = iter(range(n))

        async def worker() -> None:
            for _ in left:
                status, _body = await client.request("POST", url + "/dr", headers, BODY)
                assert status == 200

        await asyncio.gather(*(worker() for _ in range(in_flight)))

    try:
        await send_all()  # connections opened, the pool warm
        started, cpu = time.monotonic(), time.process_time()
        await send_all()
        took, spent = time.monotonic() - started, time.process_time() - cpu
    finally:
        await client.close()
        server.close()
    return n / took, spent / n * 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=40000)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    print("| round | mode | requests/s | µs CPU a request | × baseline rate | × baseline CPU |")
    print("|---|---|---|---|---|---|")
    for round_ in range(1, args.rounds + 1):
        base: tuple[float, float] | None = None
        for name, (pipeline, in_flight) in MODES.items():
            rate, cpu = uvloop.run(run(pipeline, in_flight, args.requests))
            base = base or (rate, cpu)
            print(
                f"| {round_} | {name} | {rate:,.0f} | {cpu:.1f} | {rate / base[0]:.2f} |"
                f" {cpu / base[1]:.2f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
