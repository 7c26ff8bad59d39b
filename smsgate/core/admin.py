"""The operator console's domain: admin users and roles, sessions, ledger entries, audit
entries, and the pure rules over them (who may write, whether a session is live, what a ledger
entry does to a balance). No I/O: the store and the admin API call these."""

from __future__ import annotations

import hashlib
import re
from typing import Any, Literal

import msgspec

from .errors import ErrorCode, GatewayError

Role = Literal["operator", "readonly"]
ROLES: tuple[Role, ...] = ("operator", "readonly")
LedgerKind = Literal["top_up", "debit", "correction", "import"]
LEDGER_KINDS: tuple[LedgerKind, ...] = ("top_up", "debit", "correction", "import")
# The largest balance or amount (micro-units): 10^11 units of a currency. Far below the
# database's 64-bit integers, so that no sum of two overflows them.
MAX_MONEY = 10**17
_USERNAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}")


class AdminUser(msgspec.Struct, frozen=True, kw_only=True):
    """A console user. Not an account: admins manage accounts, accounts send messages."""

    id: int
    username: str
    role: Role
    created_at: float


class AdminLogin(msgspec.Struct, frozen=True, kw_only=True):
    """A user with its password hash: only the login path reads it."""

    user: AdminUser
    password_hash: str


class LedgerEntry(msgspec.Struct, frozen=True, kw_only=True):
    """One change of an account's balance made by an operator (or an import): who, when, why,
    by how much (micro-units, signed), and the balance it left."""

    id: int
    account_id: int
    kind: LedgerKind
    amount: int
    balance_after: int
    reason: str
    actor: str
    created_at: float


class AuditEntry(msgspec.Struct, frozen=True, kw_only=True):
    """One change made through the console, the admin API or the CLI: who, when, what, on what.
    `details` never holds a secret (the API writes names and figures, never credentials)."""

    id: int
    at: float
    actor: str
    action: str  # "account.create", "credential.revoke", "balance.top_up", ...
    target: str  # "account:12", "admin:alice", ...
    details: dict[str, Any] = msgspec.field(default_factory=dict)


def check_role(role: str) -> Role:
    if role not in ROLES:
        raise GatewayError(
            ErrorCode.INVALID_FIELD, f"role must be one of {', '.join(ROLES)}", field="role"
        )
    return role


def check_username(username: str) -> str:
    if not _USERNAME.fullmatch(username):
        raise GatewayError(
            ErrorCode.INVALID_FIELD,
            "a user name is 1-64 letters, digits or _.@- (starting with a letter or digit)",
            field="username",
        )
    return username


def may_write(user: AdminUser) -> bool:
    """Whether `user` may change anything (operators) or only look (read-only)."""
    return user.role == "operator"


def session_key(token: str) -> str:
    """What the store keeps of a session token: its SHA-256, so that whoever reads the table
    cannot use a session (the token itself has 256 random bits: no salt or slow hash needed)."""
    return hashlib.sha256(token.encode()).hexdigest()


def session_live(expires_at: float, now: float) -> bool:
    return now < expires_at


def ledger_balance(kind: LedgerKind, balance: int | None, amount: int) -> int:
    """The balance a ledger entry leaves. `amount` is what the operator gave: a top-up or a
    debit its size (> 0), a correction or an import the balance to set (>= 0). A debit never
    takes the balance below zero; only a correction or an import sets a figure outright."""
    if balance is None:
        raise GatewayError(ErrorCode.NOT_FOUND, "no such account")
    if abs(amount) > MAX_MONEY:
        raise GatewayError(ErrorCode.INVALID_FIELD, "the amount is too large", field="amount")
    if kind in ("top_up", "debit"):
        if amount <= 0:
            raise GatewayError(ErrorCode.INVALID_FIELD, "amount must be above zero", field="amount")
        delta = amount if kind == "top_up" else -amount
        if balance + delta < 0:
            raise GatewayError(ErrorCode.INSUFFICIENT_BALANCE, "the balance would go below zero")
        if balance + delta > MAX_MONEY:
            raise GatewayError(
                ErrorCode.INVALID_FIELD, "the balance would be too large", field="amount"
            )
        return balance + delta
    if amount < 0:
        raise GatewayError(ErrorCode.INVALID_FIELD, "a balance cannot be negative", field="amount")
    return amount
