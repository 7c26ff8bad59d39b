"""Declarative accounts: apply a TOML/JSON document (create or update), as CM tools expect."""

from __future__ import annotations

import json
import time
import tomllib
from pathlib import Path
from typing import Any

import msgspec

from .core import secrets
from .core.models import Account, Credential
from .core.money import format_amount, to_micros
from .core.urls import Networks, check_callback_target, check_callback_url
from .core.windows import check_zone
from .store.base import Store

HASHED_KINDS = {"basic", "login", "smpp"}  # the protocol sends the password itself: keep a hash
TOKEN_KINDS = {"token"}  # looked up by the token: keep its SHA-256 only


class CredentialSpec(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    dialect: str
    kind: str
    identifier: str = ""
    secret: str
    # A password the client may also send as its MD5 (SMSC.ru's `psw`); kept as the salted
    # SHA-256 of the MD5, which is weaker (core.secrets.hash_password_md5). Password kinds only.
    md5: bool = False


class AccountSpec(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    name: str
    balance: str | int | float | None = None
    price: str | int | float | None = None
    currency: str | None = None
    tps: int | None = None
    timezone: str | None = None
    active: bool | None = None
    ip_allowlist: list[str] | None = None
    callback_urls: dict[str, str] | None = None
    settings: dict[str, Any] | None = None
    senders: list[str] | None = None
    credentials: list[CredentialSpec] = msgspec.field(default_factory=list)


class Document(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    accounts: list[AccountSpec]


def read_document(path: str | Path) -> Document:
    data = Path(path).read_bytes()
    raw = tomllib.loads(data.decode()) if str(path).endswith(".toml") else json.loads(data)
    return msgspec.convert(raw, Document, strict=False)


def credential(account_id: int, spec: CredentialSpec) -> Credential:
    """Store form of a credential: passwords hashed, tokens by digest, shared secrets as given."""
    if spec.md5 and spec.kind not in HASHED_KINDS:
        raise ValueError(f"{spec.dialect}/{spec.kind} credential: md5 is for passwords only")
    if spec.kind in TOKEN_KINDS:
        return Credential(
            account_id=account_id,
            dialect=spec.dialect,
            kind=spec.kind,
            identifier=secrets.token_id(spec.secret),
            secret=spec.identifier or "token",
        )
    if not spec.identifier:
        raise ValueError(f"{spec.dialect}/{spec.kind} credential needs an identifier")
    if spec.md5:
        secret = secrets.hash_password_md5(spec.secret)
    elif spec.kind in HASHED_KINDS:
        secret = secrets.hash_password(spec.secret)
    else:
        secret = spec.secret
    return Credential(
        account_id=account_id,
        dialect=spec.dialect,
        kind=spec.kind,
        identifier=spec.identifier,
        secret=secret,
    )


def _fields(spec: AccountSpec, allowed_networks: Networks = ()) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    if spec.balance is not None:
        fields["balance"] = to_micros(spec.balance)
    if spec.price is not None:
        fields["price"] = to_micros(spec.price)
    if spec.timezone is not None:
        fields["timezone"] = check_zone(spec.timezone)
    if spec.callback_urls is not None:
        fields["callback_urls"] = {
            # smpp:// sends to the account's SMPP binds (smsgate.dialects.smpp.callbacks)
            k: v if v.startswith("smpp:") else _callback_url(v, k, allowed_networks)
            for k, v in spec.callback_urls.items()
        }
    for name in ("currency", "tps", "active", "ip_allowlist", "settings"):
        value = getattr(spec, name)
        if value is not None:
            fields[name] = value
    return fields


def _callback_url(url: str, field: str, allowed_networks: Networks) -> str:
    """A callback URL's form, and its target where it can be told without DNS (a name is
    checked where each callback connects)."""
    return check_callback_target(
        check_callback_url(url, field=field), allowed_networks, field=field
    )


async def apply(
    store: Store,
    doc: Document,
    *,
    allowed_networks: Networks = (),
    reset_balance: bool = False,
    actor: str = "import",
) -> list[str]:
    """Create or update every account in `doc`; return a line per account for the operator.
    `allowed_networks`: networks callback URLs may point into (callbacks.allow_networks).

    A document's balance is an account's opening balance: an account that exists keeps its
    live balance (it moved with every message since) unless `reset_balance`. Either way a
    balance the document sets is a ledger entry of kind "import" by `actor`."""
    report = []
    for spec in doc.accounts:
        fields = _fields(spec, allowed_networks)
        balance = fields.pop("balance", None)
        existing = await store.account_by_name(spec.name)
        if existing is None:
            account = await store.create_account(Account(id=0, name=spec.name, **fields))
            verb = "created"
        else:
            account = await store.update_account(existing.id, **fields)
            verb = "updated"
        note = ""
        if balance is not None and (existing is None or reset_balance):
            await store.ledger_post(
                account.id,
                "import",
                balance,
                reason=f"{verb} by import",
                actor=actor,
                now=time.time(),
            )
        elif balance is not None:
            note = f"; balance kept at {format_amount(account.balance)} (--reset-balance sets it)"
        if spec.senders is not None:
            for name in set(account.senders) - set(spec.senders):
                await store.remove_sender(account.id, name)
            for name in spec.senders:
                await store.add_sender(account.id, name)
        for cred in spec.credentials:
            await store.put_credential(credential(account.id, cred))
        report.append(f"{verb} account {spec.name} (id {account.id}){note}")
    return report


DEMO = Document(
    accounts=[
        AccountSpec(
            name="demo",
            balance="1000",
            price="0.5",
            currency="RUB",
            senders=["SMSGATE", "Test"],
            settings={"callback_secret": "demo-callback-secret"},
            credentials=[
                CredentialSpec(dialect="native", kind="token", secret="demo-token"),
                CredentialSpec(dialect="msghub", kind="basic", identifier="demo", secret="demo"),
                CredentialSpec(dialect="smsgw2", kind="basic", identifier="demo", secret="demo"),
                CredentialSpec(
                    dialect="osonsms", kind="salt", identifier="demo", secret="demo-salt"
                ),
                CredentialSpec(dialect="mysmpp", kind="login", identifier="demo", secret="demo"),
                CredentialSpec(dialect="smsc", kind="login", identifier="demo", secret="demo"),
                CredentialSpec(dialect="smpp", kind="smpp", identifier="demo", secret="demo"),
            ],
        )
    ]
)
