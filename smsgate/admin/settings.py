"""The console's settings: the `[admin]` section of the configuration (smsgate/config.py)."""

from __future__ import annotations

import msgspec

from ..core.bounds import Count, Seconds
from ..core.throttle import Limit


class AdminConfig(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    # How long a console session lasts from its login (seconds; then the admin logs in again).
    session_lifetime: Seconds = 12 * 3600.0
    # Login attempts allowed at once, per user name and per client address, and regained per
    # minute after that: 10 at once, then 5 a minute (a token bucket each, kept in the store so
    # that every worker and node counts the same attempts).
    login_burst: Count = 10
    login_per_minute: Seconds = 5.0

    def login_limit(self) -> Limit:
        return Limit(burst=float(self.login_burst), rate=self.login_per_minute / 60.0)
