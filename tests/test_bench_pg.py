"""bench/pg_bench.py's `--hits` line: buffer hits a request by table, the most read first,
the share of the debit slices' and the messages' updates that were HOT, the slices made and
refills, and the oldest transaction and snapshot during the run."""

from __future__ import annotations

import collections

from bench.pg_bench import Result, hits_line


def test_hits_are_per_request_most_read_first() -> None:
    r = Result(1000.0, 80.0, 30.0, collections.Counter())
    r.requests = 2000
    r.hits = {"messages": (18_000, 600), "balance_slices": (40_000, 120), "stoplist": (0, 0)}
    r.slice_updates = (2000, 1900)
    r.message_updates = (6000, 1500)
    r.refills = (120, 130)
    r.horizon = (812, 71)
    line = hits_line(r, tables=2)
    assert line == (
        "buffer hits/request: balance_slices 20.0 (120 p), messages 9.0 (600 p);"
        " balance_slices updates HOT 95.0%, messages 25.0%; slices made 120, accounts' rows"
        " updated 130; oldest, in transactions: another session's 812, the servers' snapshot 71"
    )


def test_no_slice_updates_and_no_requests_read_as_such() -> None:
    r = Result(0.0, 0.0, 0.0, collections.Counter())
    assert hits_line(r) == (
        "buffer hits/request: ; balance_slices updates HOT -, messages -; slices made 0,"
        " accounts' rows updated 0; oldest, in transactions: another session's 0, the servers'"
        " snapshot 0"
    )


def test_engine_bench_rows_a_message_leave_the_history_out() -> None:
    """bench/pg_engine_bench.py's rows line: each table's inserts and updates a message
    delivered, the history's inserts already left out by `_rows`, HOT as a share."""
    from bench.pg_engine_bench import _rows_line

    rows = {"messages": (1000, 3000, 750), "events": (2000, 0, 0), "connector_log": (1000, 990, 0)}
    assert _rows_line(rows, 1000) == (
        "messages 1.00 inserted, 3.00 updated (25% HOT); events 2.00 inserted, 0.00 updated;"
        " connector_log 1.00 inserted, 0.99 updated (0% HOT)"
    )
