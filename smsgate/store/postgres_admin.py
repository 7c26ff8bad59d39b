"""PostgreSQL backend, the operator console's part: admin users, sessions, login buckets, the
ledger and the audit log. A mixin of `PostgresStore` (I/O only: the decisions are
core.admin's and core.throttle's, the statements `sql/postgres/admin.sql`'s)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

import asyncpg
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
from . import postgres_debits as debits
from . import rules
from .queries import load
from .sqlite_admin import BUCKETS_KEPT, NEWEST, admin_from_row, audit_from_row, ledger_from_row

T = TypeVar("T")
Q = load("postgres")


def _count(status: str) -> int:
    """The rows an asyncpg status string ("DELETE 3") says were touched."""
    last = status.rpartition(" ")[2]
    return int(last) if last.isdigit() else 0


class PostgresAdmin:
    """The admin methods of `Store` for PostgreSQL; `PostgresStore` gives `_tx` and `_fetch`."""

    async def _tx(self, fn: Callable[[asyncpg.Connection], Awaitable[T]], tx: bool = True) -> T:
        raise NotImplementedError

    async def _fetch(self, query: str, *args: Any) -> list[Any]:
        raise NotImplementedError

    async def _run(self, query: str, *args: Any) -> int:
        status = await self._tx(lambda conn: conn.execute(Q[query], *args), tx=False)
        return _count(status)

    async def admin_create(
        self, username: str, password_hash: str, role: Role, now: float
    ) -> AdminUser:
        async def op(conn: asyncpg.Connection) -> int:
            return int(await conn.fetchval(Q["admin_insert"], username, password_hash, role, now))

        try:
            new_id = await self._tx(op, tx=False)
        except asyncpg.UniqueViolationError as exc:
            raise rules.admin_name_taken(username) from exc
        return AdminUser(id=new_id, username=username, role=role, created_at=now)

    async def admin_login(self, username: str) -> AdminLogin | None:
        found = await self._fetch("admin_by_name", username)
        if not found:
            return None
        return AdminLogin(user=admin_from_row(found[0]), password_hash=found[0][4])

    async def admin_list(self) -> list[AdminUser]:
        return [admin_from_row(r) for r in await self._fetch("admin_all")]

    async def admin_remove(self, username: str) -> bool:
        return await self._run("admin_delete", username) > 0

    async def admin_update(
        self, username: str, *, password_hash: str | None = None, role: Role | None = None
    ) -> bool:
        async def op(conn: asyncpg.Connection) -> bool:
            changed = 0
            if password_hash is not None:
                changed += _count(
                    await conn.execute(Q["admin_set_password"], password_hash, username)
                )
                await conn.execute(Q["admin_sessions_end_user"], username)
            if role is not None:
                changed += _count(await conn.execute(Q["admin_set_role"], role, username))
            return changed > 0

        return await self._tx(op)

    async def session_start(self, key: str, user_id: int, now: float, expires_at: float) -> None:
        async def op(conn: asyncpg.Connection) -> None:
            await conn.execute(Q["admin_sessions_purge"], now)
            await conn.execute(Q["admin_session_insert"], key, user_id, now, expires_at)

        await self._tx(op)

    async def session_user(self, key: str, now: float) -> AdminUser | None:
        found = await self._fetch("admin_session_user", key)
        if not found or not session_live(float(found[0][4]), now):
            return None
        return admin_from_row(found[0])

    async def session_end(self, key: str) -> None:
        await self._run("admin_session_delete", key)

    async def login_throttle(self, keys: Sequence[str], limit: Limit, now: float) -> float:
        async def op(conn: asyncpg.Connection) -> float:
            # Keys in a fixed order: two logins lock their buckets alike, never crosswise.
            ordered = sorted(set(keys))
            for key in ordered:  # a row to lock, for a key never seen
                await conn.execute(Q["admin_bucket_seed"], key, limit.burst, now)
            rows = await conn.fetch(Q["admin_buckets_of"], ordered)
            known = {r[0]: Bucket(float(r[1]), float(r[2])) for r in rows}
            buckets, wait = take_all({k: known.get(k) for k in ordered}, limit, now)
            await conn.executemany(
                Q["admin_bucket_put"], [(k, b.tokens, b.updated_at) for k, b in buckets.items()]
            )
            await conn.execute(Q["admin_buckets_purge"], now - BUCKETS_KEPT)
            return wait

        return await self._tx(op)

    async def ledger_post(
        self, account_id: int, kind: LedgerKind, amount: int, *, reason: str, actor: str, now: float
    ) -> LedgerEntry:
        async def op(conn: asyncpg.Connection) -> LedgerEntry:
            before = await debits.whole_balance(conn, account_id)  # the row and its slices
            after = ledger_balance(kind, before, amount)
            delta = after - (before or 0)
            await conn.execute(Q["ledger_set_balance"], after, account_id)
            values = (account_id, kind, delta, after, reason, actor, now)
            entry_id = int(await conn.fetchval(Q["ledger_insert"], *values))
            return ledger_from_row((entry_id, *values))

        return await self._tx(op)

    async def ledger(
        self, account_id: int, *, before_id: int | None = None, limit: int = 100
    ) -> list[LedgerEntry]:
        rows = await self._fetch("ledger_of", account_id, before_id or NEWEST, limit)
        return [ledger_from_row(r) for r in rows]

    async def audit_add(
        self, actor: str, action: str, target: str, details: dict[str, Any], now: float
    ) -> None:
        encoded = msgspec.json.encode(details).decode()
        await self._run("audit_insert", now, actor, action, target, encoded)

    async def audit_list(
        self, *, target: str | None = None, before_id: int | None = None, limit: int = 100
    ) -> list[AuditEntry]:
        before = before_id or NEWEST
        if target is None:
            rows = await self._fetch("audit_before", before, limit)
        else:
            rows = await self._fetch("audit_of_target", target, before, limit)
        return [audit_from_row(r) for r in rows]

    async def callback_backlog_by_account(self) -> dict[int, int]:
        rows = await self._fetch("callback_backlog_by_account")
        return {int(r[0]): int(r[1]) for r in rows}
