"""Per-account MsgHub options, from `Account.settings["msghub"]` (all optional).

- `client_ids`: the `{client_id}` path values the account may use (default: its Basic user);
- `timezone`: the zone of a `start_time` without offset (default Europe/Moscow);
- `dr_batch_size`: DR push batch size, 1..1000 (default 1: one report per request);
- `dr_batch_interval`: seconds a DR batch may wait to fill (default 1.0).
"""

from __future__ import annotations

from typing import Any

from ...core.models import Account

DEFAULT_TIMEZONE = "Europe/Moscow"  # "the local provider's time": MsgHub is Beeline's, Moscow
DEFAULT_BATCH_INTERVAL = 1.0
MAX_BATCH = 1000


def options(account: Account) -> dict[str, Any]:
    found = account.settings.get("msghub")
    return found if isinstance(found, dict) else {}


def client_ids(account: Account, user: str) -> set[str]:
    configured = options(account).get("client_ids")
    return {str(c) for c in configured} if configured else {user}


def timezone(account: Account) -> str:
    return str(options(account).get("timezone") or DEFAULT_TIMEZONE)


def batch_size(account: Account) -> int:
    try:
        size = int(options(account).get("dr_batch_size", 1))
    except (TypeError, ValueError):
        return 1
    return max(1, min(size, MAX_BATCH))


def batch_interval(account: Account) -> float:
    try:
        return max(0.0, float(options(account).get("dr_batch_interval", DEFAULT_BATCH_INTERVAL)))
    except (TypeError, ValueError):
        return DEFAULT_BATCH_INTERVAL
