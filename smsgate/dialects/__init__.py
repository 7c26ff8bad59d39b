"""Northbound dialects. Each is a package exposing `dialect`; NAMES lists them explicitly."""

from __future__ import annotations

import importlib

from .base import Dialect

NAMES = ("native", "msghub", "smsgw2", "osonsms", "mysmpp", "smsc", "smpp")


def available() -> list[Dialect]:
    """Every dialect package present in this build, in NAMES order."""
    found = []
    for name in NAMES:
        try:
            module = importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"{__name__}.{name}":
                continue  # not part of this build
            raise
        found.append(module.dialect)
    return found
