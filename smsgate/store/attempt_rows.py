"""Callback attempts as both backends write and read them (`callback_attempts`: see
sql/<backend>/attempts.sql): the columns of an attempt in the tables' order, the done columns
of an outbox row (a delivered callback's successful attempt), and a row back."""

from __future__ import annotations

from collections.abc import Sequence
from operator import attrgetter
from typing import Any

from .base import AttemptRecord, CallbackAttempt

COLUMNS = "outbox_id attempt account_id started_at host status error took_ms outcome"
values = attrgetter(*COLUMNS.split())  # one attempt's values, in the insert's column order


def arrays(tried: Sequence[CallbackAttempt]) -> list[list[Any]]:
    """One list per column (PostgreSQL's unnest); empty lists for no attempt."""
    columns: list[list[Any]] = [[] for _ in COLUMNS.split()]
    for row in map(values, tried):
        for column, value in zip(columns, row, strict=True):
            column.append(value)
    return columns


# A delivered callback's successful attempt, as its outbox row keeps it (its done_* columns):
# attempt, started_at, host, status, took_ms; all None when the mark carries no attempt.
DoneColumns = tuple[int | None, float | None, str | None, int | None, int | None]
_NO_ATTEMPT: DoneColumns = (None, None, None, None, None)


def done_columns(ids: Sequence[int], tried: Sequence[CallbackAttempt]) -> list[DoneColumns]:
    """For each of `ids` marked done, the attempt that delivered it, for its outbox row: a
    success is kept there, by the mark made anyway, and not as a row of its own (only
    failures are rows of callback_attempts)."""
    by_row = {a.outbox_id: a for a in tried}
    found = (by_row.get(i) for i in ids)
    return [
        _NO_ATTEMPT if a is None else (a.attempt, a.started_at, a.host, a.status, a.took_ms)
        for a in found
    ]


def attempt_record(r: Sequence[Any]) -> AttemptRecord:
    """A row of `attempts_of_message`: the attempt's columns, then its callback's."""
    return AttemptRecord(
        outbox_id=int(r[0]),
        account_id=int(r[1]),
        attempt=int(r[2]),
        started_at=float(r[3]),
        host=str(r[4]),
        status=None if r[5] is None else int(r[5]),
        error=r[6],
        took_ms=int(r[7]),
        outcome=str(r[8]),
        event_id=str(r[9]),
        dialect=str(r[10]),
        kind=str(r[11]),
    )
