"""Where a PostgreSQL claim starts in `messages_due`: past the messages it already sent.

A claimed message stays in `messages_due` until its SUBMITTED (migration 018), and the
SUBMITTED, which moves it out, leaves its old version's entry behind until that version can
be pruned: not before every transaction older than it has ended, in any database of the
server. So every claim that walks from the head of the index visits each message sent since
the oldest transaction began, row by row. Under a long transaction (a dump, a report, another
application's session) that walk grew with every message sent: 16,000-35,000 buffer hits and
13-32 ms of the server's CPU for a claim of 50 (docs/operations.md, "A claim that starts past
what it sent"). A claim therefore starts at a floor on `seq` (an index condition: entries
below it are passed over in the index, their rows never read) and walks from the head only
now and then.

Only the walk moves; what a claim takes, and that no two nodes take one message, stay the
claim's statement's. A due message below the floor (a release, a schedule come due, an accept
that committed late, another node's claim undone) waits at most `full_every` seconds more,
for the next claim walked from the head.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

# Numbers taken before their accept committed: an accept group holds a few hundred at most,
# and a group that takes longer is found by the next walk from the head.
SLACK = 1_000
FULL_EVERY = 0.25  # seconds of the claims' clock between claims walked from the head


class ClaimFloor:
    """The lowest `seq` a claim looks at, kept by the one store that claims with it."""

    def __init__(self, slack: int = SLACK, full_every: float = FULL_EVERY) -> None:
        self.slack = slack
        self.full_every = full_every
        self._floor = 0
        self._full_at = -math.inf

    def start(self, now: float) -> int:
        """Where the claim made at `now` starts (0: the head, every `full_every` seconds)."""
        if self._full_at <= now < self._full_at + self.full_every:
            return self._floor
        self._full_at = now
        return 0

    def claimed(self, start: int, limit: int, seqs: Sequence[int], skipped: bool) -> None:
        """A claim from `start` for up to `limit` took the messages numbered `seqs`, some
        accounts `skipped`. One that came back short took everything it could see from
        `start` on, so the next starts near its last message; one that came back full from
        the head walks from the head again (a backlog: the messages after those it took may
        have lower numbers at a lower priority). Skipped accounts' messages stay behind."""
        if len(seqs) >= limit:
            if start == 0:
                self._floor = 0
        elif seqs and not skipped:
            self._floor = max(self._floor, max(seqs) - self.slack)

    def reset(self) -> None:
        """Messages may have come due below the floor (released, or scheduled and come due):
        the next claim starts at the head."""
        self._floor = 0
        self._full_at = -math.inf
