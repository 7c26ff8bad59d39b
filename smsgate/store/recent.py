"""The message states a store remembers from its own claims and reports, so that the next
reports on those messages are planned without reading their rows (rules.decides). Both
backends write such a plan with a check: each move applies only if its row is still in the
status it was planned from. A row that moved meanwhile is read and planned again."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping, Sequence
from itertools import islice

from ..core.models import Message, Report
from . import rules


class RecentMessages:
    """States of messages this store claimed or reported on, so that their reports need not
    read the rows back: a report that moves one on is checked against the row's status when
    written; one that cannot apply to a settled message changes nothing (rules.decides).
    Reports remember what they wrote once it is written, so the next batch starts from it; a
    write whose outcome is unknown forgets what it touched. Kept for final messages too (their
    late and repeated reports are common). Past `limit` the first remembered are forgotten
    first, so the engine's memory stays flat under steady load (about 1 KB a message: emptying
    it at 200,000 grew the engine by 200 MB between clears)."""

    LIMIT = 50_000  # several seconds of reports at the highest rates measured

    def __init__(self) -> None:
        self._by_id: dict[str, Message] = {}
        # SQLite's claims remember on the event loop's thread, its reports on the writer's: two
        # trimming at once deleted the same oldest key twice (a KeyError that failed the
        # reports' whole group).
        self._lock = threading.Lock()

    def remember(self, messages: Iterable[Message]) -> None:
        remembered = list(messages)  # built outside the lock: a generator may do real work
        with self._lock:
            by_id = self._by_id
            for m in remembered:
                by_id[m.id] = m  # an update keeps its place: order is of first remembering
            excess = len(by_id) - self.LIMIT
            if excess > 0:
                for oldest in list(islice(by_id, excess)):
                    del by_id[oldest]

    def forget(self, ids: Iterable[str]) -> None:
        forgotten = list(ids)
        with self._lock:
            by_id = self._by_id
            for i in forgotten:
                by_id.pop(i, None)

    def clear(self) -> None:
        with self._lock:
            self._by_id.clear()

    def of(self, ids: Iterable[str]) -> dict[str, Message]:
        by_id = self._by_id
        return {i: m for i in ids if (m := by_id.get(i)) is not None}


def decided(
    reports: Sequence[Report], known: Mapping[str, Message]
) -> tuple[dict[str, Message], list[str]]:
    """The remembered state of each message whose reports it decides (rules.decides, the
    first remembered for a message), and the ids of the reports it does not. A message's later
    report in the batch is judged by the state its earlier ones leave: an SMPP receipt that
    overtook the dispatcher's record brings SUBMITTED and then the final status, and its final
    status was judged against QUEUED (not decided: its batch planned under the write lock)."""
    current: dict[str, Message] = {}
    unknown: list[str] = []
    # a message's state as far as rules.decides reads it, and its last decided report
    last: dict[str, tuple[rules.Seen, Report]] = {}
    decides, moved_by = rules.decides, rules.moved_by
    for r in reports:
        i = r.message_id
        earlier = last.get(i)
        first = None  # the remembered state, for the message's first report
        if earlier is not None:
            seen: rules.Seen | None = moved_by(*earlier)
        elif (first := known.get(i)) is not None:
            seen = (first.status, first.carrier_id)
        else:
            seen = None
        if seen is None or not decides(seen, r):
            unknown.append(i)
            continue
        if first is not None:
            current.setdefault(i, first)
        last[i] = (seen, r)
    return current, unknown
