"""Status webhook: the provider's JSON array (or XML document) of {id_sms, time, state}.

The client must answer naming the id_sms it took (`[{"id_sms": 3234}, ...]` or
`<response><id_sms>3234</id_sms></response>`); otherwise the push counts as not received and
is tried again, 5 attempts in all.
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from ...core.models import Account, Notice
from ...core.status import FINAL, Status
from ...engine.callbacks import CallbackPolicy, CallbackRequest, Verdict
from . import xmlio
from .settings import options
from .statuses import state_of
from .times import local_time

DEFAULT_BATCH = 100


def _acknowledged_json(body: bytes) -> bool:
    """`[{"id_sms": 3234}, ...]` (or one such object) naming at least one id."""
    try:
        data = msgspec.json.decode(body)
    except msgspec.DecodeError:
        return False
    items = data if isinstance(data, list) else [data]
    return any(isinstance(i, dict) and i.get("id_sms") not in (None, "") for i in items)


class MysmppCallbacks(CallbackPolicy):
    statuses = FINAL | {Status.UNKNOWN}
    max_attempts = 5  # "5 attempts will be made to deliver the status"
    base_delay = 60.0
    max_delay = 3600.0

    def max_batch(self, account: Account) -> int:
        value = options(account).get("webhook_batch", DEFAULT_BATCH)
        return int(value) if isinstance(value, int | str) and str(value).isdigit() else 1

    def linger(self, account: Account) -> float:
        value = options(account).get("webhook_linger", 0.0)
        return float(value) if isinstance(value, int | float) else 0.0

    def render(self, notices: Sequence[Notice], url: str, account: Account) -> CallbackRequest:
        rows = [
            (n.message.seq, local_time(n.event.at, account), state_of(n.event.status))
            for n in notices
            if n.message is not None and n.event is not None
        ]
        if options(account).get("webhook_format") == "xml":
            body = xmlio.document(
                xmlio.element("state", {"id_sms": i, "time": t, "sms": s}, s) for i, t, s in rows
            )
            content_type = "text/xml; charset=utf-8"
        else:
            body = msgspec.json.encode([{"id_sms": i, "time": t, "state": s} for i, t, s in rows])
            content_type = "application/json; charset=utf-8"
        return CallbackRequest(url=url, headers={"Content-Type": content_type}, body=body)

    def verdict(self, status: int, body: bytes) -> Verdict:
        if not 200 <= status < 300:
            return "retry"
        stripped = body.lstrip()
        if stripped.startswith(b"<"):
            return "ok" if xmlio.acknowledged(body) else "retry"
        return "ok" if _acknowledged_json(body) else "retry"
