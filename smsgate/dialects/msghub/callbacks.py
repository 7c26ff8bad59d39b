"""DR push to `callback_url`: one final report per POST, or batched JSON arrays.

With `settings["msghub"]["dr_batch_size"]` above 1, reports go as arrays of up to that many
(the seed's "batch mailing report"; `number` is then a string, as in its example), each sent
when full or `dr_batch_interval` seconds after its oldest report.

The URL is the message's `callback_url`, else the account's `callback_urls["msghub"]`.
Any 2xx answer is success; anything else is retried with the notifier's back-off. A recipient
refused at acceptance (kept as a rejected message of its campaign) is never pushed.
"""

from __future__ import annotations

from collections.abc import Sequence

from ...core.models import Account, Message, Notice
from ...core.status import Status
from ...engine.callbacks import CallbackPolicy, CallbackRequest
from .render import kept_refusal, push_report
from .schemas import encode
from .settings import batch_interval, batch_size


class MsgHubCallbacks(CallbackPolicy):
    def wants(self, message: Message, status: Status) -> bool:
        """Not a recipient refused at acceptance: the client learnt of it in its answer."""
        return kept_refusal(message) is None and self.wants_status(status)

    def max_batch(self, account: Account) -> int:
        return batch_size(account)

    def linger(self, account: Account) -> float:
        return batch_interval(account) if batch_size(account) > 1 else 0.0

    def render(self, notices: Sequence[Notice], url: str, account: Account) -> CallbackRequest:
        batched = batch_size(account) > 1
        reports = [
            push_report(n.message, n.event, batched=batched)
            for n in notices
            if n.message is not None and n.event is not None
        ]
        body = encode(reports if batched else reports[0])
        return CallbackRequest(url=url, headers={"Content-Type": "application/json"}, body=body)
