"""What every console page shares: the template environment and `render`, which gives each
page what the layout needs (the admin, the CSRF token, the console's root path)."""

from __future__ import annotations

from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import Response
from starlette.templating import Jinja2Templates

from ..core.money import format_amount
from . import auth
from .pages_format import duration, host_of, iso_utc, time_tag, without_url

environment = Environment(
    loader=PackageLoader("smsgate.admin", "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)
environment.filters.update(money=format_amount, host=host_of, time=time_tag, iso=iso_utc)
environment.globals.update(duration=duration, without_url=without_url)
templates = Jinja2Templates(env=environment)


def root_of(request: Request) -> str:
    """The console's root path ("/admin" where the admin app is mounted there)."""
    return str(request.scope.get("root_path", "")).rstrip("/")


def render(request: Request, template: str, status: int = 200, **values: Any) -> Response:
    """A page, with what every page's layout needs: the admin, the CSRF token, the root."""
    admin = getattr(request.state, "admin", None)
    values.update(
        admin=admin,
        root=root_of(request),
        csrf=auth.csrf_token(request),
        read_only=admin is None or admin.role != "operator",
        partial=request.headers.get("HX-Request") == "true",
    )
    return templates.TemplateResponse(request, template, values, status_code=status)
