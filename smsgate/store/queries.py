"""Named SQL queries: each backend keeps its statements in `sql/<backend>/*.sql` files that are
not numbered migrations: `queries.sql` for messages and accounts, and one file per other subject
(the console's, the routes'). A name is unique across a backend's files.

The file is a list of blocks, each headed by its name and a comment (after procrastinate's
`sql/queries.sql`):

    -- message_by_id --
    -- One message of an account
    SELECT ... WHERE id = ? AND account_id = ?

A few statements have parts only known at run time (the columns a bulk insert binds once, the
number of rows in one VALUES list); they carry `{placeholders}` that the backend fills with
`str.format` from trusted, code-made fragments, never from user input.
"""

from __future__ import annotations

import re
from importlib import resources

_HEADER = re.compile(r"(?:\n|^)-- ([a-z0-9_]+) --\n(?:--.*\n)*", re.MULTILINE)


def parse(text: str) -> dict[str, str]:
    """The named blocks of a queries file; what stands before the first name is ignored."""
    parts = _HEADER.split(text)
    found: dict[str, str] = {}
    for name, body in zip(parts[1::2], parts[2::2], strict=True):
        if name in found:
            raise ValueError(f"query {name!r} is defined twice")
        found[name] = body.strip().rstrip(";").strip()
    return found


def load(backend: str) -> dict[str, str]:
    """Every query file of `sql/<backend>/`, parsed and merged: read once per process by the
    backend's module. Numbered files are migrations, not queries."""
    folder = resources.files("smsgate.store").joinpath("sql", backend)
    found: dict[str, str] = {}
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".sql") or entry.name[:1].isdigit():
            continue
        for name, body in parse(entry.read_text(encoding="utf-8")).items():
            if name in found:
                raise ValueError(f"query {name!r} is defined twice ({entry.name})")
            found[name] = body
    return found
