"""The database a command opens (issue 21): a mistyped SQLite path is refused instead of served
empty, migrations run only when asked (`init`, `migrate`, `serve --migrate`, on by default for
SQLite only), a schema newer than the code is refused, and read-only commands change nothing."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import asyncpg
import pytest

from smsgate.store import open_store
from smsgate.store.migrations import SchemaStatus, migrations
from tests.support.backends import both_backends
from tests.support.commands import one_line, serving, smsgate
from tests.support.servers import free_port


def status_of(url: str) -> SchemaStatus:
    async def read() -> SchemaStatus:
        store = open_store(url)
        await store.open()
        try:
            return await store.schema_status()
        finally:
            await store.close()

    return asyncio.run(read())


def backend_of(url: str) -> str:
    return "sqlite" if url.startswith("sqlite:") else "postgres"


def latest(url: str) -> int:
    return migrations(backend_of(url))[-1][0]


@pytest.fixture
def fresh(database_url: str) -> str:
    """A database with nothing in it: an empty SQLite file, or a new PostgreSQL schema."""
    if database_url.startswith("sqlite:"):
        sqlite3.connect(database_url.removeprefix("sqlite:///")).close()
    return database_url


def serve_args(url: str, port: int, *flags: str) -> list[str]:
    return ["--database", url, "serve", "--host", "127.0.0.1", "--port", str(port), *flags]


# A missing SQLite file -----------------------------------------------------------------------------
@pytest.mark.parametrize("workers", ["1", "2"])
def test_serve_on_a_missing_sqlite_path_refuses(tmp_path: Path, workers: str) -> None:
    """Before: a mistyped path served a new, empty database and exited 0 when stopped."""
    path = tmp_path / "typo" / "smsgate.db"
    line = one_line(smsgate(*serve_args(f"sqlite:///{path}", free_port(), "--workers", workers)))
    assert f"no database at {path}" in line and "smsgate init" in line and "--create" in line
    assert not path.parent.exists()  # neither the file nor its folder was made


@pytest.mark.parametrize(
    "command",
    [
        ["account", "list"],
        ["status", "x", "--account", "a"],
        ["tail"],
        ["migrate"],
        ["migrate", "--status"],
        ["send", "a", "--to", "+79651111111", "--text", "hi"],
    ],
)
def test_no_command_but_init_creates_a_database(tmp_path: Path, command: list[str]) -> None:
    path = tmp_path / "smsgate.db"
    line = one_line(smsgate("--database", f"sqlite:///{path}", *command))
    assert f"no database at {path}" in line
    assert not path.exists()


def test_serve_create_makes_the_database(tmp_path: Path) -> None:
    path = tmp_path / "new" / "smsgate.db"
    url = f"sqlite:///{path}"
    port = free_port()
    serving(serve_args(url, port, "--create", "--workers", "1"), port)
    assert status_of(url).current


def test_init_creates_it_and_serve_takes_it(tmp_path: Path) -> None:
    """`make run` and the container's entry point: init, then serve."""
    url = f"sqlite:///{tmp_path}/smsgate.db"
    done = smsgate("--database", url, "init")
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"database schema at version {latest(url)}\n"
    port = free_port()
    serving(serve_args(url, port, "--workers", "1"), port)


# Migrations are explicit --------------------------------------------------------------------------
@both_backends
@pytest.mark.parametrize(
    "command", [["status", "x", "--account", "a"], ["account", "list"], ["tail"]]
)
def test_read_only_commands_do_not_migrate(fresh: str, command: list[str]) -> None:
    line = one_line(smsgate("--database", fresh, *command))
    assert "no smsgate schema yet: run `smsgate init`" in line
    assert status_of(fresh).version == 0


@both_backends
def test_migrate_status_then_migrate(fresh: str) -> None:
    names = [p.name for p in _migration_files(fresh)]
    shown = smsgate("--database", fresh, "migrate", "--status")
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.splitlines() == [
        f"schema version 0; this smsgate's: {latest(fresh)}",
        *(f"pending: {name}" for name in names),
    ]
    assert status_of(fresh).version == 0  # --status changes nothing

    done = smsgate("--database", fresh, "migrate")
    assert done.returncode == 0, done.stderr
    assert (
        done.stdout == f"database schema at version {latest(fresh)} (applied {', '.join(names)})\n"
    )
    assert status_of(fresh).current

    again = smsgate("--database", fresh, "migrate", "--status")
    assert again.stdout.splitlines()[-1] == "up to date"
    assert smsgate("--database", fresh, "migrate").stdout.endswith("(up to date)\n")


def _migration_files(url: str) -> list[Path]:
    import smsgate.store

    folder = Path(smsgate.store.__file__).parent / "sql" / backend_of(url)
    return sorted(p for p in folder.glob("*.sql") if p.name[:1].isdigit())


@both_backends
def test_serve_migrates_sqlite_by_default_and_postgresql_when_told(fresh: str) -> None:
    port = free_port()
    if backend_of(fresh) == "postgres":  # nodes share it: `smsgate migrate` once, or --migrate
        line = one_line(smsgate(*serve_args(fresh, port)))
        assert "no smsgate schema yet" in line and "--migrate" in line
        assert status_of(fresh).version == 0
        serving(serve_args(fresh, port, "--migrate", "--workers", "1"), port)
    else:
        line = one_line(smsgate(*serve_args(fresh, port, "--no-migrate")))
        assert "no smsgate schema yet" in line
        serving(serve_args(fresh, port, "--workers", "1"), port)
    assert status_of(fresh).current


@both_backends
def test_a_schema_newer_than_the_code_is_refused(fresh: str) -> None:
    assert smsgate("--database", fresh, "init").returncode == 0
    newer = latest(fresh) + 1
    _record_version(fresh, newer)
    port = free_port()
    for command in (
        serve_args(fresh, port, "--migrate"),
        ["--database", fresh, "account", "list"],
        ["--database", fresh, "migrate"],
        ["--database", fresh, "init"],
    ):
        line = one_line(smsgate(*command))
        assert f"schema version {newer} is newer than this smsgate's ({latest(fresh)})" in line
        assert "upgrade smsgate" in line
    assert status_of(fresh).version == newer
    shown = smsgate("--database", fresh, "migrate", "--status")
    assert shown.returncode == 0 and "newer than this smsgate" in shown.stdout


def _record_version(url: str, version: int) -> None:
    """A later smsgate's migration, as far as the version table tells."""
    if backend_of(url) == "sqlite":
        with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
            conn.execute("INSERT INTO schema_version VALUES (?)", (version,))
        return

    async def record() -> None:
        conn = await asyncpg.connect(url)
        try:
            await conn.execute("INSERT INTO schema_version VALUES ($1)", version)
        finally:
            await conn.close()

    asyncio.run(record())
