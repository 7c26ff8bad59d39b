"""Per-account SMSGW2 options, from `Account.settings["smsgw2"]` (all optional).

- `default_time_bounds`: the `time_bounds` of a message that names none (default "def");
- `callback_user`, `callback_password`: HTTP Basic credentials sent with the pushes.
"""

from __future__ import annotations

from typing import Any

from ...core.models import Account

DEFAULT_TIME_BOUNDS = "def"


def options(account: Account) -> dict[str, Any]:
    found = account.settings.get("smsgw2")
    return found if isinstance(found, dict) else {}


def default_time_bounds(account: Account) -> str:
    return str(options(account).get("default_time_bounds", DEFAULT_TIME_BOUNDS))
