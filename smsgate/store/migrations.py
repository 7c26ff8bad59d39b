"""Versioned schema migrations, shared by every backend.

Each backend keeps numbered SQL files in `store/sql/<backend>/`: `001_init.sql` is version 1,
`002_<what>.sql` version 2, and so on. A backend applies, in one transaction per file, every file
above the version recorded in its `schema_version` table, then records the new version.
"""

from __future__ import annotations

from importlib import resources


def migrations(backend: str) -> list[tuple[int, str]]:
    """Numbered SQL files for a backend, in order: '001_init.sql' is version 1."""
    folder = resources.files("smsgate.store").joinpath("sql", backend)
    found = []
    for entry in folder.iterdir():
        if entry.name.endswith(".sql") and entry.name[:1].isdigit():  # not queries.sql
            found.append((int(entry.name.split("_", 1)[0]), entry.read_text(encoding="utf-8")))
    return sorted(found)


def statements(sql: str) -> list[str]:
    """A migration file's statements (separated by ';' at the end of a line)."""
    return [s for s in sql.split(";\n") if s.strip()]
