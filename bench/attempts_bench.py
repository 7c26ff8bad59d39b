"""What keeping callback attempts costs the store: outbox done marks without attempts (the
baseline) and with one attempt each, alternated in one run (not part of the test suite).

    PYTHONPATH=. .venv/bin/python bench/attempts_bench.py [--callbacks 20000] [--rounds 3]

Each run fills an SQLite outbox with `--callbacks` rows, then marks them done in batches of
`--batch` (the notifier's 20 ms batches), as the notifier does: with attempts, each built by
`engine.attempts.attempts_of` and written in the same call. Prints the CPU (this process and
the writer thread) per callback of each run and the ratio with to without.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from smsgate.core.models import Report  # noqa: E402
from smsgate.core.status import Status  # noqa: E402
from smsgate.engine.attempts import attempts_of  # noqa: E402
from smsgate.store.base import CallbackAttempt, OutboxItem  # noqa: E402
from smsgate.store.sqlite import SQLiteStore  # noqa: E402
from tests.store.helpers import make_account, message  # noqa: E402

URL = "http://127.0.0.1:9/dr?token=bench"


async def owed(store: SQLiteStore, n: int) -> list[OutboxItem]:
    """n pending callbacks (one per message, as rules.dr_callbacks writes them)."""
    acme = await make_account(store, balance=10**15, callback_urls={"native": URL})
    batch = [message(acme.id, phone=f"7965{i:07d}") for i in range(n)]
    await store.accept(acme.id, batch)
    await store.claim_due(time.time(), n, "bench", 600.0)
    reports = [Report(message_id=m.id, status=Status.SUBMITTED, at=time.time()) for m in batch]
    await store.record_reports(reports, lambda m, e, urls: [("native", URL)])
    return await store.outbox_items(acme.id, "pending")


async def run(keep: bool, n: int, batch: int) -> float:
    """CPU microseconds per callback of marking `n` callbacks done."""
    with tempfile.TemporaryDirectory() as folder:
        store = SQLiteStore(f"sqlite:///{folder}/bench.db")
        await store.open()
        await store.migrate()
        items = await owed(store, n)
        started = time.process_time()
        for start in range(0, len(items), batch):
            part = items[start : start + batch]
            tried: list[CallbackAttempt] = []
            if keep:
                for item in part:
                    tried += attempts_of([item], URL, time.time(), 3, 200, None, "done")
            await store.outbox_done([i.id for i in part], time.time(), tried)
        spent = time.process_time() - started
        await store.close()
    return spent / len(items) * 1e6


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--callbacks", type=int, default=20000)
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    print("| round | without attempts (µs CPU a callback) | with | ratio |")
    print("|---|---|---|---|")
    for round_ in range(1, args.rounds + 1):
        without = await run(False, args.callbacks, args.batch)
        with_ = await run(True, args.callbacks, args.batch)
        print(f"| {round_} | {without:.1f} | {with_:.1f} | {with_ / without:.2f} |", flush=True)


if __name__ == "__main__":
    asyncio.run(main())
