"""The retention purge as both backends run it: a walk over each table from its oldest row,
one window of at most `rules.PURGE_CHUNK` rows per transaction, until `rules.purge_goes_on`
says the rest is too new. Each backend gives the step (its SQL: which rows of a window go).

One statement over a whole table held SQLite's write lock for 4.4 s at 700,000 outbox rows,
though nothing was old enough to go: every accept of every process waited that long. A window
holds it for milliseconds, and a purge with nothing to delete reads one window per table."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from . import rules

TABLES = ("outbox", "connector_log")  # callback attempts go with their outbox rows

# One window of a table: (table, after this id, at most this many rows, the cutoff).
Step = Callable[[str, int, int, float], Awaitable[rules.Window]]


async def purge(step: Step, before: float) -> int:
    """Walk every table with `step`; the number of rows deleted."""
    gone = 0
    for table in TABLES:
        after = 0
        while True:
            chunk = rules.PURGE_CHUNK  # read each time: a test may shrink it
            window = await step(table, after, chunk, before)
            gone += window.gone
            if not rules.purge_goes_on(window, chunk):
                break
            after = window.last
    return gone
