"""Versioned schema migrations, shared by every backend.

Each backend keeps numbered SQL files in `store/sql/<backend>/`: `001_init.sql` is version 1,
`002_<what>.sql` version 2, and so on. A backend applies, in one transaction per file, every file
above the version recorded in its `schema_version` table, then records the new version.
Migrations only go forward: a database migrated by a newer smsgate is refused by an older one
(`SchemaStatus.newer`), never changed back.
"""

from __future__ import annotations

from importlib import resources
from typing import NamedTuple


def _files(backend: str) -> list[tuple[int, str, str]]:
    """(version, file name, SQL) of every numbered file of a backend, in order."""
    folder = resources.files("smsgate.store").joinpath("sql", backend)
    found = []
    for entry in folder.iterdir():
        if entry.name.endswith(".sql") and entry.name[:1].isdigit():  # not queries.sql
            version = int(entry.name.split("_", 1)[0])
            found.append((version, entry.name, entry.read_text(encoding="utf-8")))
    return sorted(found)


def migrations(backend: str) -> list[tuple[int, str]]:
    """Numbered SQL files for a backend, in order: '001_init.sql' is version 1."""
    return [(version, sql) for version, _, sql in _files(backend)]


def statements(sql: str) -> list[str]:
    """A migration file's statements (separated by ';' at the end of a line)."""
    return [s for s in sql.split(";\n") if s.strip()]


class SchemaStatus(NamedTuple):
    """Where a database's schema stands against this code's migrations."""

    version: int  # the database's (0: no schema yet)
    latest: int  # this code's: its last migration
    pending: tuple[str, ...]  # the files `migrate` would apply, in order

    @property
    def current(self) -> bool:
        return self.version == self.latest

    @property
    def newer(self) -> bool:
        """Migrated by a newer smsgate: this code may not read or write it."""
        return self.version > self.latest


def schema_status(backend: str, version: int) -> SchemaStatus:
    """`version` (the database's) against `backend`'s migrations."""
    files = _files(backend)
    latest = files[-1][0] if files else 0
    return SchemaStatus(version, latest, tuple(name for v, name, _ in files if v > version))
