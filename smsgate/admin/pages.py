"""The operator console's pages (the dashboard at /admin): server-rendered with Jinja2, updated
in place by htmx, live figures over server-sent events. `routes(context)` is what the admin app
(smsgate/admin/app.py) mounts at the console's root, beside the admin API.

The pages only read: the store's console reads (search, timeline, figures) and the ledger and
audit reads. Every change a page offers (top-up, revoke, rotate) is a form that posts to the
admin API (`/admin/api/...`, through static/console.js, with the session's CSRF token), so
that a change is checked, audited and applied in one place whichever client makes it.

Modules: pages_login (login, logout), pages_overview (overview, its event stream, incoming
SMS, audit log), pages_messages (search, a message's timeline, jobs), pages_accounts
(accounts); pages_render and pages_format are what they share; console_figures reads the
overview's figures.
"""

from __future__ import annotations

from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from . import pages_accounts, pages_login, pages_messages, pages_overview
from .console_figures import Figures
from .context import AdminContext


def routes(context: AdminContext) -> list[BaseRoute]:
    """The console's pages, relative to its root. One `Figures` over the context's store is
    shared by the overview and its event streams."""
    figures = Figures(context.store, context.links)
    static = StaticFiles(packages=[("smsgate.admin", "static")])
    return [
        Route("/login", pages_login.login_page, methods=["GET"]),
        Route("/login", pages_login.login_submit, methods=["POST"]),
        Route("/logout", pages_login.logout, methods=["POST"]),
        *pages_overview.routes(figures),
        *pages_messages.routes(),
        *pages_accounts.routes(),
        Mount("/static", static, name="console_static"),
    ]
