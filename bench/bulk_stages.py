"""The CPU of each in-memory stage of a 50,000-recipient native bulk, in one process.

    python -m bench.bulk_stages [--recipients 50000] [--repeat 7]

Decodes the body bulk_bench posts, parses it, builds its messages and makes the rows each
store writes, and prints the least thread CPU time of `--repeat` runs of each stage (the
least: neighbours on a shared machine only ever add to it). Beside the stages that a marked
list skips work in (`Alike` recipients, `OneTemplate` messages), the same stage over a plain
list of the same items; after the plan, what the acceptor and the native answer do with its
outcomes (a bulk stored whole is `store.base.AllNew`: counted by its length). No database:
SQLite's insert and PostgreSQL's COPY are measured by bench/bulk_bench.py, inside the whole
request.
"""

from __future__ import annotations

import argparse
import gc
import time
from collections.abc import Callable
from itertools import chain
from typing import Any

from bench.bulk_bench import body
from smsgate.core.models import Account, Message
from smsgate.core.validate import Limits, build_messages
from smsgate.dialects.native import parse, render
from smsgate.engine.accept import _counts
from smsgate.store import postgres, rules, sqlite

ACCOUNT = Account(id=1, name="bulk", balance=10**15, price=10_000, senders=["Test"])


def least(repeat: int, fn: Callable[[], Any]) -> tuple[float, Any]:
    """The least thread CPU seconds of `repeat` calls, and the last call's result."""
    best, result = float("inf"), None
    for _ in range(repeat):
        started = time.thread_time()
        result = fn()
        best = min(best, time.thread_time() - started)
    return best, result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--recipients", type=int, default=50_000)
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args()
    gc.freeze()  # as each smsgate process does after start-up

    def show(name: str, fn: Callable[[], Any]) -> Any:
        seconds, result = least(args.repeat, fn)
        print(f"{name:40s} {1000 * seconds:7.1f} ms")
        return result

    payload = body(args.recipients, 0)
    req = show("decode", lambda: parse.decode(parse.bulk_decoder, payload))
    items = show("parse.many (Alike)", lambda: parse.many(req))
    now, limits = time.time(), Limits()
    plain_items = list(items)
    show("build_messages, a plain list", lambda: build_messages(ACCOUNT, "native", plain_items, now, limits, job_id="j"))  # fmt: skip
    built = show("build_messages, Alike", lambda: build_messages(ACCOUNT, "native", items, now, limits, job_id="j"))  # fmt: skip
    messages: list[Message] = built
    for seq, m in enumerate(messages, 1):
        m.seq = seq
    plain = list(messages)
    show("sqlite columns, a plain list", lambda: sqlite.MessageColumns(plain))
    columns = show("sqlite columns, OneTemplate", lambda: sqlite.MessageColumns(messages))
    show("sqlite row values", lambda: [*chain.from_iterable(map(columns.row, messages))])
    show("postgres COPY rows, a plain list", lambda: list(postgres.message_rows(plain)))
    show("postgres COPY rows, OneTemplate", lambda: list(postgres.message_rows(messages)))
    request = [rules.AcceptRequest(ACCOUNT.id, messages, None)]
    known = rules.Known({}, (), {ACCOUNT.id: ACCOUNT.balance})
    plan = show("rules.plan_accept", lambda: rules.plan_accept(request, known))
    outcomes = plan.outcomes[0]
    show("the acceptor's counts", lambda: _counts(outcomes, now))
    answer = show("the native answer's body", lambda: render.bulk_response("j", outcomes))
    show("the answer encoded", lambda: render.dump(answer))


if __name__ == "__main__":
    main()
