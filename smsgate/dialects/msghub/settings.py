"""MsgHub options: per account from `Account.settings["msghub"]` (all optional), and the
server's `[msghub]` table (`MsgHubConfig`).

Per account:
- `client_ids`: the `{client_id}` path values the account may use (default: its Basic user);
- `timezone`: the zone of a `start_time` without offset (default Europe/Moscow);
- `dr_batch_size`: DR push batch size, 1..1000 (default 1: one report per request);
- `dr_batch_interval`: seconds a DR batch may wait to fill (default 1.0);
- `default_sender`: the alpha name of a request whose `alpha_name` is `""` (default: the
  account-wide `settings["default_sender"]`, else the account's sender when it has exactly one);
- `job_report_final_only`: campaign reports list only entries whose status is final (default
  false), for clients that stop polling at the first report that lists every recipient.
"""

from __future__ import annotations

from typing import Any

import msgspec

from ...core.models import Account

DEFAULT_TIMEZONE = "Europe/Moscow"  # "the local provider's time": MsgHub is Beeline's, Moscow
DEFAULT_BATCH_INTERVAL = 1.0
MAX_BATCH = 1000
_TRUE = frozenset({"1", "true", "yes", "on"})


class MsgHubConfig(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """The server's `[msghub]` table."""

    # Also serve every route at the host root (`/{client_id}/json2/simple`...), for clients that
    # hard-code the root instead of `/msghub/api`.
    mount_at_root: bool = False


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


def default_sender(account: Account) -> str | None:
    """The alpha name an empty `alpha_name` stands for; None: the account has no default."""
    for configured in (
        options(account).get("default_sender"),
        account.settings.get("default_sender"),
    ):
        if isinstance(configured, str) and configured:
            return configured
    return account.senders[0] if len(account.senders) == 1 else None


def job_report_final_only(account: Account) -> bool:
    value = options(account).get("job_report_final_only")
    return value is True or str(value).strip().lower() in _TRUE
