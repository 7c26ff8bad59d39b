"""How the console's pages show values: times, URLs, money. Pure functions (Jinja2 filters)."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlsplit

from markupsafe import Markup, escape


def iso_utc(stamp: float | None) -> str:
    """A Unix time as ISO 8601 in UTC, to the second ("" for none)."""
    if stamp is None:
        return ""
    return datetime.fromtimestamp(stamp, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def time_tag(stamp: float | None) -> Markup:
    """A `<time>` in UTC; static/console.js rewrites its text in the operator's time zone."""
    if stamp is None:
        return Markup("")
    iso = iso_utc(stamp)
    text = iso.replace("T", " ").replace("Z", " UTC")
    return Markup('<time datetime="{}">{}</time>').format(iso, text)


def host_of(url: str | None) -> str:
    """Only a URL's host (and port): its user, path and query may hold a client's secret."""
    if not url:
        return ""
    if url.startswith("smpp:"):
        return "smpp bind"
    try:
        parts = urlsplit(url)
        host = parts.hostname or "?"
        port = parts.port
    except ValueError:
        return "(unreadable URL)"
    return f"{host}:{port}" if port else host


def without_url(text: str | None, url: str) -> str:
    """An error text with the URL it may quote cut down to the URL's host."""
    if not text:
        return ""
    return text.replace(url, host_of(url)) if url else text


def duration(start: float | None, end: float | None) -> str:
    """How long from `start` to `end`, for people: "850 ms", "12.3 s", "4 min"."""
    if start is None or end is None:
        return ""
    seconds = max(0.0, end - start)
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 120:
        return f"{seconds:.1f} s"
    return f"{seconds / 60:.0f} min"


def escaped(value: object) -> Markup:
    return escape(value)
