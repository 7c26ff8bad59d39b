"""Callback URL validation: absolute http(s), a host, sane length, no embedded credentials."""

from __future__ import annotations

from urllib.parse import urlsplit

from .errors import ErrorCode, GatewayError

MAX_URL = 2048


def check_callback_url(url: str, *, field: str = "callback_url", max_length: int = MAX_URL) -> str:
    url = url.strip()
    if len(url) > max_length:
        raise GatewayError(
            ErrorCode.INVALID_FIELD, f"{field} is longer than {max_length}", field=field
        )
    try:
        parts = urlsplit(url)
        port = parts.port  # raises on a bad port
    except ValueError:
        raise GatewayError(
            ErrorCode.INVALID_FIELD, f"{field} is not a valid URL", field=field
        ) from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise GatewayError(ErrorCode.INVALID_FIELD, f"{field} must be an http(s) URL", field=field)
    if parts.username or parts.password:
        raise GatewayError(
            ErrorCode.INVALID_FIELD, f"{field} must not embed credentials", field=field
        )
    if port == 0 or any(c in url for c in " \r\n\t"):
        raise GatewayError(ErrorCode.INVALID_FIELD, f"{field} is not a valid URL", field=field)
    return url
