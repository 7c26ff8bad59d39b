"""Storage: one interface (base.Store), a backend per database URL scheme."""

from __future__ import annotations

from .base import Store, StoreUnavailable


def open_store(
    url: str,
    *,
    synchronous: str = "FULL",
    flush_on_loop: bool = True,
    heavy_on_loop: bool = False,
    wake_nodes: bool = True,
) -> Store:
    """`sqlite:///path/to/file.db` or `postgresql://user@host/db`.

    `synchronous`, `flush_on_loop` and `heavy_on_loop` (see smsgate/store/_sqlite_writer.py)
    are SQLite's. `wake_nodes` is PostgreSQL's: whether accepts wake every node's dispatcher
    (a serving process wakes its own node's and no other: smsgate/store/postgres.py).
    """
    if url.startswith("sqlite:") or "://" not in url:
        from .sqlite import SQLiteStore

        return SQLiteStore(
            url,
            synchronous=synchronous,
            flush_on_loop=flush_on_loop,
            heavy_on_loop=heavy_on_loop,
        )
    if url.startswith(("postgresql://", "postgres://")):
        try:
            from .postgres import PostgresStore  # type: ignore[import-not-found,unused-ignore]
        except ImportError as exc:
            raise ValueError("the PostgreSQL backend is not available in this build") from exc
        return PostgresStore(url, wake_nodes=wake_nodes)  # type: ignore[no-any-return,unused-ignore]
    raise ValueError(f"unsupported database URL: {url.split('://', 1)[0]}://...")


__all__ = ["Store", "StoreUnavailable", "open_store"]
