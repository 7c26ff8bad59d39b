"""DR push to `callback_url`: one final report per POST, or batched JSON arrays.

Per account, `settings["msghub"]`:
- `dr_batch_size` (default 1): above 1, reports go as arrays of up to that many
  (the seed's "batch mailing report"; `number` is then a string, as in its example);
- `dr_batch_interval` (seconds, default 1.0): how long a batch may wait to fill.

The URL is the message's `callback_url`, else the account's `callback_urls["msghub"]`.
Any 2xx answer is success; anything else is retried with the notifier's back-off.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ...core.models import Account, Notice
from ..base import CallbackPolicy, CallbackRequest
from .reports import push_report
from .schemas import encode

DEFAULT_BATCH_INTERVAL = 1.0
MAX_BATCH = 1000


def _options(account: Account) -> dict[str, Any]:
    options = account.settings.get("msghub")
    return options if isinstance(options, dict) else {}


def batch_size(account: Account) -> int:
    try:
        size = int(_options(account).get("dr_batch_size", 1))
    except (TypeError, ValueError):
        return 1
    return max(1, min(size, MAX_BATCH))


class MsgHubCallbacks(CallbackPolicy):
    def max_batch(self, account: Account) -> int:
        return batch_size(account)

    def linger(self, account: Account) -> float:
        if batch_size(account) == 1:
            return 0.0
        try:
            value = float(_options(account).get("dr_batch_interval", DEFAULT_BATCH_INTERVAL))
        except (TypeError, ValueError):
            return DEFAULT_BATCH_INTERVAL
        return max(0.0, value)

    def render(self, notices: Sequence[Notice], url: str, account: Account) -> CallbackRequest:
        batched = batch_size(account) > 1
        reports = [
            push_report(n.message, n.event, batched=batched)
            for n in notices
            if n.message is not None and n.event is not None
        ]
        body = encode(reports if batched else reports[0])
        return CallbackRequest(url=url, headers={"Content-Type": "application/json"}, body=body)
