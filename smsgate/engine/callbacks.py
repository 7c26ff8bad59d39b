"""What a callback policy is: the notifier pushes reports, and each dialect says how.

The engine owns this seam so that it never imports a dialect: app.py hands it each dialect's
policy by name (`dialects.base.Dialect.callbacks`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, Self

import msgspec

from ..core.models import Account, Message, Notice
from ..core.status import FINAL, Status

Verdict = Literal["ok", "retry", "stop"]


class CallbackRequest(msgspec.Struct, kw_only=True):
    method: str = "POST"
    url: str
    headers: dict[str, str] = msgspec.field(default_factory=dict)
    body: bytes = b""


class CallbackPolicy:
    """How a dialect pushes reports: which events, what the request looks like, when to retry.

    Subclasses override `render` (required) and whatever else their provider does differently.
    The default: final statuses only, one event per request, a 2xx answer is success,
    exponential back-off from 5 s to 10 min for 48 attempts (about 7 hours) then give up.
    """

    wants_mo: bool = False
    mo_on_dr_url: bool = True  # MO goes to the DR URL unless '<dialect>.mo' is configured
    statuses: frozenset[Status] = FINAL
    base_delay: float = 5.0
    max_delay: float = 600.0
    max_attempts: int = 48

    def __init__(self, *, delay_scale: float = 1.0) -> None:
        # Tests shorten every schedule by this factor; the schedule's shape stays the seed's.
        self.delay_scale = delay_scale

    def scaled(self, delay_scale: float) -> Self:
        """This policy with its delays scaled: a new one, so that the dialect's own stays as is
        (a subclass whose constructor takes more arguments overrides this)."""
        return type(self)(delay_scale=delay_scale)

    def wants_status(self, status: Status) -> bool:
        return status in self.statuses

    def wants(self, message: Message, status: Status) -> bool:
        """Whether this message's client is told of `status` (a message may ask for less)."""
        return self.wants_status(status)

    def max_batch(self, account: Account) -> int:
        return 1

    def linger(self, account: Account) -> float:
        """How long to wait for a batch to fill before sending what there is."""
        return 0.0

    def render(self, notices: Sequence[Notice], url: str, account: Account) -> CallbackRequest:
        raise NotImplementedError

    def verdict(self, status: int, body: bytes) -> Verdict:
        return "ok" if 200 <= status < 300 else "retry"

    def retry_delay(self, attempts: int) -> float | None:
        """Seconds before attempt number `attempts + 1`, or None to give up."""
        if attempts >= self.max_attempts:
            return None
        return float(min(self.max_delay, self.base_delay * 2 ** (attempts - 1))) * self.delay_scale
