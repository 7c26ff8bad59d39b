"""Which dialect's callback receives a status event or an incoming SMS, and at which URL."""

from __future__ import annotations

from collections.abc import Mapping

from ..core.models import Message, MoMessage, StatusEvent
from .callbacks import CallbackPolicy


class CallbackRouter:
    """Pure and cheap: called inside the store's write transaction for every event."""

    def __init__(self, policies: Mapping[str, CallbackPolicy]) -> None:
        self.policies = dict(policies)

    def __call__(
        self, message: Message | None, event: StatusEvent | MoMessage, urls: dict[str, str]
    ) -> list[tuple[str, str]]:
        if message is not None and isinstance(event, StatusEvent):
            policy = self.policies.get(message.dialect)
            if policy is None or not policy.wants(message, event.status):
                return []
            url = message.callback_url or urls.get(message.dialect)
            return [(message.dialect, url)] if url else []
        targets = []
        for dialect, policy in self.policies.items():
            if policy.wants_mo:
                url = urls.get(f"{dialect}.mo") or (
                    urls.get(dialect) if policy.mo_on_dr_url else None
                )
                if url:
                    targets.append((dialect, url))
        return targets
