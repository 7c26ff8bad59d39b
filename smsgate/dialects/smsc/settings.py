"""Per-account SMSC.ru options: `Account.settings["smsc"]`.

`hlr_price`, `ping_price`: what one HLR query, one ping costs (a decimal amount in the account's
currency, as balances are written: "0.20"). Without one, a query or a ping costs what one SMS
part does (the account's price).
"""

from __future__ import annotations

import logging
from typing import Any

from ...core.models import Account
from ...core.money import to_micros

log = logging.getLogger("smsgate.dialects.smsc")
MAX_PRICE = 10**15  # micro-units: a billion in the account's currency, beyond any real price


def options(account: Account) -> dict[str, Any]:
    found = account.settings.get("smsc")
    return found if isinstance(found, dict) else {}


def price_of(account: Account, name: str) -> int:
    """The account's `name` price in micro-units; its SMS part price when it has none. A
    malformed setting is the operator's mistake: logged, and the part price used."""
    value = options(account).get(name)
    if value is None:
        return account.price
    try:
        price = to_micros(value)
    except (ValueError, ArithmeticError):
        price = -1
    if not 0 <= price <= MAX_PRICE:
        log.warning("account %s: settings.smsc.%s %r is not a price", account.name, name, value)
        return account.price
    return price
