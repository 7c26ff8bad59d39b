"""Per-account mysmpp options, from `Account.settings["mysmpp"]` (all optional).

- `timezone`: the zone of local times read and written (default: the account's);
- `area`: the balance answer's area (default "Russia");
- `webhook_format` ("json" or "xml"), `webhook_batch` (statuses a push, default 100) and
  `webhook_linger` (seconds a push may wait to fill, default 0): the status webhook.
"""

from __future__ import annotations

from typing import Any

from ...core.models import Account


def options(account: Account) -> dict[str, Any]:
    found = account.settings.get("mysmpp")
    return found if isinstance(found, dict) else {}
