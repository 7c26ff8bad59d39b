"""OsonSMS (osonsms.txt): `sendsms_v1.php`, `query_sms.php`, `check_balance.php` with a sha256
`str_hash` (or a Bearer token), and the cabinet's `api/v1/bulk-sms/create` CSV bulk.

No callbacks: the seed documents none; clients poll `query_sms.php`.
"""

from __future__ import annotations

from starlette.routing import BaseRoute, Route

from ...engine.gateway import Gateway
from ..base import Dialect
from . import api, bulk

METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]


def routes(gateway: Gateway) -> list[BaseRoute]:
    handlers = api.routes_for(gateway)
    send = api.guarded(handlers["send"], unavailable=api.SEND_UNAVAILABLE)
    query = api.guarded(handlers["query"], unavailable=api.UNAVAILABLE)
    balance = api.guarded(handlers["balance"], unavailable=api.UNAVAILABLE)
    create = bulk.endpoint(gateway)
    table = [
        ("/sendsms_v1.php", send),
        ("/query_sms.php", query),
        ("/check_balance.php", balance),
        ("/api/v1/bulk-sms/create", create),
    ]
    found: list[BaseRoute] = []
    for path, handler in table:
        found.append(Route(path, handler, methods=METHODS))
        found.append(Route(path + "/", handler, methods=METHODS))  # sloppy clients
    return found


dialect = Dialect(name="osonsms", routes=routes, callbacks=None, description="OsonSMS")
