"""How long an idle loop (the dispatcher, a notifier) waits before it looks for work again.

Such a loop is woken at once by the work it can hear of (accepts in this process or the
workers', callbacks queued by its reports); looking is only for work nobody announces: a
schedule or a retry coming due, a release, another process's row. Right after work that may
come soon, so the wait starts short and doubles while nothing is found, up to a ceiling: an
idle node looks about once a `most` seconds, and something due is found at most twice as late
as it has been quiet (and never later than `most`).
"""

from __future__ import annotations


class IdleWait:
    def __init__(self, first: float, most: float) -> None:
        self.first = first
        self.most = max(first, most)
        self._next = first

    def reset(self) -> None:
        """Work was found or announced: look again soon."""
        self._next = self.first

    def next(self) -> float:
        """Seconds to wait now; the wait after it is twice as long, up to `most`."""
        wait = self._next
        self._next = min(wait * 2, self.most)
        return wait


def claim_wait(last_claimed: int, since: float, *, few: int, spacing: float) -> float:
    """Seconds a dispatcher waits before its next claim.

    Each claim, with the SUBMITTED write, connector-log line and receipt batch that follow it,
    costs about the same statements however many messages it took, and a busy dispatcher
    claims again as soon as it can. Two nodes claiming from one queue each take half of what
    one did, so each message cost twice the statements (issue 18); on SQLite each of those
    transactions also reads its pages afresh, the workers having committed meanwhile. A claim
    that took some but fewer than `few` messages makes the next one wait until `spacing`
    seconds after it; one that took none lets the dispatcher go idle (woken at once), and a
    full one claims again now.
    """
    if not 0 < last_claimed < few:
        return 0.0
    return max(0.0, spacing - since)
