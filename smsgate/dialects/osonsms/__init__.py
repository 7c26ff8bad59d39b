"""OsonSMS (osonsms.txt): `sendsms_v1.php`, `query_sms.php`, `check_balance.php` with a sha256
`str_hash` (or a Bearer token), and the cabinet's `api/v1/bulk-sms/create` CSV bulk.

No callbacks: the seed documents none; clients poll `query_sms.php`.
"""

from __future__ import annotations

from ..base import Dialect
from .routes import routes

dialect = Dialect(name="osonsms", routes=routes, callbacks=None, description="OsonSMS")
