"""SQLite's named queries (store/sql/sqlite/queries.sql): each is valid on the migrated schema,
used by the backend, and a lookup by a list parameter searches an index."""

from __future__ import annotations

import re
import sqlite3
from inspect import getsourcefile
from pathlib import Path

import pytest

from smsgate.store import sqlite as sqlite_module
from smsgate.store.migrations import migrations, statements
from smsgate.store.queries import load

QUERIES = load("sqlite")
# The statements whose shape is only known at run time, filled as the backend fills them.
SHAPES = {
    "connect": {"synchronous": "NORMAL"},
    "insert_messages": {"columns": "seq, id", "picked": "column1, column2", "rows": "(?, ?)"},
    "insert_new_messages": {"columns": "seq, id", "picked": "column1, column2", "rows": "(?, ?)"},
    "event_insert_next_rows": {"rows": "(?, ?, ?, ?, ?, ?), (?, ?, ?, ?, ?, ?)"},
    "connector_log_add_rows": {"rows": "(?, ?, ?, ?, ?, ?)"},
    "callback_insert_rows": {"rows": "(?, ?, ?, ?, ?, ?, ?), (?, ?, ?, ?, ?, ?, ?)"},
    "outbox_done_rows": {"rows": "(?, ?, ?, ?, ?, ?, ?), (?, ?, ?, ?, ?, ?, ?)"},
}


@pytest.fixture
def conn() -> sqlite3.Connection:
    c = sqlite3.connect(":memory:", isolation_level=None)
    c.execute(QUERIES["schema_version_create"])
    for _version, sql in migrations("sqlite"):
        for statement in statements(sql):
            c.execute(statement)
    return c


def _params(sql: str) -> dict[str, None] | tuple[None, ...]:
    names = re.findall(r"(?<!:):([a-z_]+)", sql)
    if names:
        return dict.fromkeys(names)
    numbered = [int(n) for n in re.findall(r"\?(\d+)", sql)]
    return (None,) * (max(numbered) if numbered else sql.count("?"))


@pytest.mark.parametrize("name", sorted(QUERIES))
def test_each_query_prepares_on_the_schema(conn: sqlite3.Connection, name: str) -> None:
    sql = QUERIES[name].format(**SHAPES[name]) if name in SHAPES else QUERIES[name]
    if name == "connect":
        conn.executescript(sql)
        return
    conn.execute("EXPLAIN " + sql, _params(sql)).fetchall()


def test_every_query_is_used_and_none_is_inline() -> None:
    """Used: named in the SQLite backend's modules (sqlite.py, its mixins sqlite_*.py, and
    what both backends share, such as console_search.py); inline: none in the backend's own."""
    folder = Path(getsourcefile(sqlite_module) or "").parent
    backend = [folder / "sqlite.py", *sorted(folder.glob("sqlite_*.py"))]
    shared = [
        p for p in sorted(folder.glob("*.py")) if not p.name.startswith(("postgres", "sqlite"))
    ]
    source = "".join(p.read_text() for p in backend)
    everywhere = source + "".join(p.read_text() for p in shared)
    unused = [name for name in QUERIES if f'"{name}"' not in everywhere]
    assert unused == []
    inline = re.findall(r'"\s*(?:SELECT|INSERT|UPDATE|DELETE|PRAGMA|CREATE|SAVEPOINT)\b', source)
    assert inline == []


@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("messages_by_ids", ('["a", "b"]', 1)),
        ("messages_by_any_ids", ('["a", "b"]',)),
        ("refs_stored", (1, "native", '["r1", "r2"]')),
        ("stoplist_hits", {"accounts": "[1, 0]", "phones": '["79650000001"]'}),
        ("connector_log_find", ("sim", '["a"]')),
        ("balances", ("[1, 2]",)),
        ("callback_urls", ("[1, 2]",)),
    ],
)
def test_a_list_lookup_searches_an_index(
    conn: sqlite3.Connection, name: str, params: tuple[object, ...] | dict[str, str]
) -> None:
    plan = [row[-1] for row in conn.execute("EXPLAIN QUERY PLAN " + QUERIES[name], params)]
    searched = [step for step in plan if step.startswith("SEARCH")]
    assert searched, plan
    # the searched table by a key of the list, never the account's whole range or a scan
    assert all("=?" in step for step in searched), plan
    scans = [step for step in plan if step.startswith("SCAN") and "VIRTUAL TABLE" not in step]
    assert scans == [], plan  # only the list parameter's json_each is scanned


def test_none_bytes_and_bool_are_bound_without_a_failed_adaptation() -> None:
    """sqlite_module.bind_directly: None, bytes and bool go to an adapter registered for
    them (no `__adapt__` looked up on the protocol, no AttributeError made and dropped), and
    bind as they did: NULL, a blob, an integer."""
    sqlite_module.bind_directly()
    for kind in (type(None), bytes, bool):
        assert (kind, sqlite3.PrepareProtocol) in sqlite3.adapters
    c = sqlite3.connect(":memory:")
    c.execute("CREATE TABLE t (a, b, c)")
    c.executemany("INSERT INTO t VALUES (?, ?, ?)", [(None, b"x", True), (1, b"", False)])
    rows = c.execute("SELECT a, typeof(a), b, typeof(b), c, typeof(c) FROM t").fetchall()
    assert rows == [
        (None, "null", b"x", "blob", 1, "integer"),
        (1, "integer", b"", "blob", 0, "integer"),
    ]
