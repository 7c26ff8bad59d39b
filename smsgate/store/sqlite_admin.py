"""SQLite backend, the operator console's part: admin users, sessions, login buckets, the
ledger and the audit log. A mixin of `SQLiteStore` (I/O only: the decisions are core.admin's
and core.throttle's, the statements `sql/sqlite/admin.sql`'s)."""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, TypeVar

import msgspec

from ..core.admin import (
    AdminLogin,
    AdminUser,
    AuditEntry,
    LedgerEntry,
    LedgerKind,
    Role,
    ledger_balance,
    session_live,
)
from ..core.throttle import Bucket, Limit, take_all
from . import rules
from .queries import load

T = TypeVar("T")
_Q = load("sqlite")
NEWEST = 2**62  # a cursor before every id
BUCKETS_KEPT = 86400.0  # seconds an untouched login bucket is kept (it is full long before)


def admin_from_row(row: Sequence[Any]) -> AdminUser:
    return AdminUser(id=int(row[0]), username=row[1], role=row[2], created_at=float(row[3]))


def ledger_from_row(row: Sequence[Any]) -> LedgerEntry:
    return LedgerEntry(
        id=int(row[0]),
        account_id=int(row[1]),
        kind=row[2],
        amount=int(row[3]),
        balance_after=int(row[4]),
        reason=row[5],
        actor=row[6],
        created_at=float(row[7]),
    )


def audit_from_row(row: Sequence[Any]) -> AuditEntry:
    details = msgspec.json.decode(row[5]) if row[5] else {}
    return AuditEntry(
        id=int(row[0]),
        at=float(row[1]),
        actor=row[2],
        action=row[3],
        target=row[4],
        details=details,
    )


class SQLiteAdmin:
    """The admin methods of `Store` for SQLite; `SQLiteStore` gives `_write` and `_read`."""

    def _write(self, fn: Callable[[sqlite3.Connection], T], weight: int = 1) -> Awaitable[T]:
        raise NotImplementedError

    def _read(self, query: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> list[Any]:
        raise NotImplementedError

    async def admin_create(
        self, username: str, password_hash: str, role: Role, now: float
    ) -> AdminUser:
        params = (username, password_hash, role, now)
        try:
            new_id = await self._write(
                lambda conn: int(conn.execute(_Q["admin_insert"], params).lastrowid or 0)
            )
        except sqlite3.IntegrityError as exc:  # the unique name
            raise rules.admin_name_taken(username) from exc
        return AdminUser(id=new_id, username=username, role=role, created_at=now)

    async def admin_login(self, username: str) -> AdminLogin | None:
        found = self._read("admin_by_name", (username,))
        if not found:
            return None
        return AdminLogin(user=admin_from_row(found[0]), password_hash=found[0][4])

    async def admin_list(self) -> list[AdminUser]:
        return [admin_from_row(r) for r in self._read("admin_all")]

    async def admin_remove(self, username: str) -> bool:
        return await self._write(
            lambda conn: conn.execute(_Q["admin_delete"], (username,)).rowcount > 0
        )

    async def admin_update(
        self, username: str, *, password_hash: str | None = None, role: Role | None = None
    ) -> bool:
        def op(conn: sqlite3.Connection) -> bool:
            changed = 0
            if password_hash is not None:
                changed += conn.execute(
                    _Q["admin_set_password"], (password_hash, username)
                ).rowcount
                conn.execute(_Q["admin_sessions_end_user"], (username,))
            if role is not None:
                changed += conn.execute(_Q["admin_set_role"], (role, username)).rowcount
            return changed > 0

        return await self._write(op)

    async def session_start(self, key: str, user_id: int, now: float, expires_at: float) -> None:
        def op(conn: sqlite3.Connection) -> None:
            conn.execute(_Q["admin_sessions_purge"], (now,))
            conn.execute(_Q["admin_session_insert"], (key, user_id, now, expires_at))

        await self._write(op)

    async def session_user(self, key: str, now: float) -> AdminUser | None:
        found = self._read("admin_session_user", (key,))
        if not found or not session_live(float(found[0][4]), now):
            return None
        return admin_from_row(found[0])

    async def session_end(self, key: str) -> None:
        await self._write(lambda conn: conn.execute(_Q["admin_session_delete"], (key,)))

    async def login_throttle(self, keys: Sequence[str], limit: Limit, now: float) -> float:
        def op(conn: sqlite3.Connection) -> float:
            rows = conn.execute(_Q["admin_buckets_of"], (msgspec.json.encode(list(keys)),))
            known = {r[0]: Bucket(float(r[1]), float(r[2])) for r in rows}
            buckets, wait = take_all({k: known.get(k) for k in keys}, limit, now)
            conn.executemany(
                _Q["admin_bucket_put"], [(k, b.tokens, b.updated_at) for k, b in buckets.items()]
            )
            conn.execute(_Q["admin_buckets_purge"], (now - BUCKETS_KEPT,))
            return wait

        return await self._write(op)

    async def ledger_post(
        self, account_id: int, kind: LedgerKind, amount: int, *, reason: str, actor: str, now: float
    ) -> LedgerEntry:
        def op(conn: sqlite3.Connection) -> LedgerEntry:
            row = conn.execute(_Q["ledger_balance"], (account_id,)).fetchone()
            before = int(row[0]) if row else None
            after = ledger_balance(kind, before, amount)
            delta = after - (before or 0)
            conn.execute(_Q["ledger_set_balance"], (after, account_id))
            values = (account_id, kind, delta, after, reason, actor, now)
            entry_id = int(conn.execute(_Q["ledger_insert"], values).lastrowid or 0)
            return ledger_from_row((entry_id, *values))

        return await self._write(op)

    async def ledger(
        self, account_id: int, *, before_id: int | None = None, limit: int = 100
    ) -> list[LedgerEntry]:
        rows = self._read("ledger_of", (account_id, before_id or NEWEST, limit))
        return [ledger_from_row(r) for r in rows]

    async def audit_add(
        self, actor: str, action: str, target: str, details: dict[str, Any], now: float
    ) -> None:
        values = (now, actor, action, target, msgspec.json.encode(details).decode())
        await self._write(lambda conn: conn.execute(_Q["audit_insert"], values))

    async def audit_list(
        self, *, target: str | None = None, before_id: int | None = None, limit: int = 100
    ) -> list[AuditEntry]:
        before = before_id or NEWEST
        if target is None:
            rows = self._read("audit_before", (before, limit))
        else:
            rows = self._read("audit_of_target", (target, before, limit))
        return [audit_from_row(r) for r in rows]

    async def callback_backlog_by_account(self) -> dict[int, int]:
        return {int(r[0]): int(r[1]) for r in self._read("callback_backlog_by_account")}
