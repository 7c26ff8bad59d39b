"""`%var%` templates, as MsgHub broadcasts use them."""

from __future__ import annotations

import re
from collections.abc import Mapping

from .errors import ErrorCode, GatewayError

_VAR = re.compile(r"%([A-Za-z0-9_\-]+)%")


def variables(template: str) -> set[str]:
    return set(_VAR.findall(template))


def render(template: str, values: Mapping[str, object], *, strict: bool = False) -> str:
    """Substitute `%name%` with values[name]. Unknown names stay as written, or raise if strict."""
    if "%" not in template:
        return template

    def sub(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in values:
            value = values[name]
            return "" if value is None else str(value)
        if strict:
            raise GatewayError(ErrorCode.INVALID_FIELD, f"no value for %{name}%", field=name)
        return match.group(0)

    return _VAR.sub(sub, template)
