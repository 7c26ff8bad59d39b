"""Per-account OsonSMS options, from `Account.settings["osonsms"]` (all optional).

- `legacy_status_fields`: `query_sms.php` also answers `message_id`, as the provider's older
  API did (its other older fields are always sent).
"""

from __future__ import annotations

from typing import Any

from ...core.models import Account


def options(account: Account) -> dict[str, Any]:
    found = account.settings.get("osonsms")
    return found if isinstance(found, dict) else {}


def legacy_status_fields(account: Account) -> bool:
    return bool(options(account).get("legacy_status_fields"))
