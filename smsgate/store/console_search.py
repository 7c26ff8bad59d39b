"""What the console's reads share on both backends: which query answers a search, how a time
becomes a seq, and the rows of its own records. The backends' console mixins
(sqlite_console.py, postgres_console.py) run the queries; this module chooses and reads them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from .base import CallbackHealth, CallbackRecord, ConsoleFilter

# The newest seq a search starts below when the console gives none (above every real seq).
NEWEST = 2**62

# The first row with a seq at or above the given one: (its seq, its time), or None past the end.
Probe = Callable[[int], Awaitable[tuple[int, float] | None]]


def search_query(flt: ConsoleFilter) -> str:
    """The named query that walks the fewest rows for `flt`: an id is one row of its unique
    index; an account walks its own messages (messages_account); else every message, newest
    first, bounded by the job's seq range or the time range. Choosing an index is not a rule
    about messages: the same filter answers the same rows whichever query runs."""
    if flt.message_id is not None:
        return "console_message_by_id"
    if flt.account_id is not None:
        return "console_messages_of_account"
    return "console_messages"


async def seq_at(probe: Probe, last: int, since: float) -> int:
    """The seq just before the first row stamped at or after `since` (`last` if none is), by
    bisecting the primary key: about log2(last) probes, no index on the time. Seq and time
    grow together (both are taken at commit), so the row found is the first of that time
    but for a few concurrent commits near the boundary."""
    newest = await probe(last) if last else None
    if newest is None or newest[1] < since:
        return last  # nothing that recent: one probe (the live figures ask this every tick)
    low, high = 0, last + 1  # f(low) < since <= f(high), f(s): the time of the first row >= s
    while high - low > 1:
        middle = (low + high) // 2
        found = await probe(middle)
        if found is None or found[1] >= since:
            high = middle
        else:
            low = found[0]  # every row up to the one found is older
    return high - 1


def callback_record(r: Sequence[Any]) -> CallbackRecord:
    return CallbackRecord(
        event_id=r[0],
        dialect=r[1],
        kind=r[2],
        url=r[3],
        state=r[4],
        attempts=int(r[5]),
        last_error=r[6],
        created_at=float(r[7]),
        next_at=float(r[8]),
        done_at=None if r[9] is None else float(r[9]),
    )


def callback_health(rows: Sequence[Sequence[Any]]) -> list[CallbackHealth]:
    """Rows of (account, state, failed before, count) folded into one record per account."""
    tally: dict[int, dict[str, int]] = {}
    for account_id, state, failed, count in rows:
        figures = tally.setdefault(
            int(account_id), dict.fromkeys(("pending", "retrying", "done", "dead"), 0)
        )
        figures[state] = figures.get(state, 0) + int(count)
        if state == "pending" and failed:
            figures["retrying"] += int(count)
    return [
        CallbackHealth(
            account_id=a,
            pending=f["pending"],
            retrying=f["retrying"],
            done=f["done"],
            dead=f["dead"],
        )
        for a, f in sorted(tally.items())
    ]
