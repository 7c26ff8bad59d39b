"""Admin API: an account's credentials. Listed without their secrets; revoked; rotated or
created with a new secret that is in that one answer only (the store keeps a hash where the
protocol allows it, and nothing here ever logs or audits a secret).

A credential is named in URLs by its `ref`, a digest of (dialect, kind, identifier): a token's
identifier is itself a digest of the token, and user names may hold any character."""

from __future__ import annotations

import hashlib
from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from ..core import secrets
from ..core.errors import ErrorCode, GatewayError
from ..core.models import Account, Credential
from ..provision import TOKEN_KINDS, CredentialSpec, credential
from .api_common import account_or_404, audit, body, endpoint, json
from .context import context_of

KINDS = ("basic", "login", "token", "salt", "apikey", "smpp")
SMPP_PASSWORD = 8  # characters: SMPP 3.4 passwords are at most 8 octets


class CredentialCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    dialect: str
    kind: str
    identifier: str = ""  # a user name or login; a token's label


def ref_of(c: Credential) -> str:
    return hashlib.sha256(f"{c.dialect}\0{c.kind}\0{c.identifier}".encode()).hexdigest()[:16]


def credential_view(c: Credential) -> dict[str, Any]:
    """What may be shown: never a secret, a hash of one, nor a token's digest in full."""
    view: dict[str, Any] = {"ref": ref_of(c), "dialect": c.dialect, "kind": c.kind}
    if c.kind in TOKEN_KINDS:
        view["label"] = c.secret  # a token's credential keeps its label where others a secret
        view["identifier"] = None
    else:
        view["identifier"] = c.identifier
    return view


def new_secret(kind: str) -> str:
    return secrets.new_token(6) if kind == "smpp" else secrets.new_token(24)


def _spec(old_or_new: Credential | CredentialCreate, secret: str, md5: bool) -> CredentialSpec:
    """The provisioning form of a credential with `secret`: a token keeps its label."""
    if old_or_new.kind in TOKEN_KINDS:
        label = old_or_new.secret if isinstance(old_or_new, Credential) else old_or_new.identifier
        return CredentialSpec(
            dialect=old_or_new.dialect, kind=old_or_new.kind, identifier=label, secret=secret
        )
    return CredentialSpec(
        dialect=old_or_new.dialect,
        kind=old_or_new.kind,
        identifier=old_or_new.identifier,
        secret=secret,
        md5=md5,
    )


async def _find(request: Request, account: Account) -> Credential:
    ref = request.path_params["ref"]
    for c in await context_of(request).store.credentials_of(account.id):
        if ref_of(c) == ref:
            return c
    raise GatewayError(ErrorCode.NOT_FOUND, f"no credential {ref!r} of this account")


def _answer(stored: Credential, secret: str) -> dict[str, Any]:
    return {**credential_view(stored), "secret": secret, "shown_once": True}


@endpoint()
async def list_credentials(request: Request) -> Response:
    account = await account_or_404(request)
    found = await context_of(request).store.credentials_of(account.id)
    return json({"credentials": [credential_view(c) for c in found]})


@endpoint(write=True)
async def revoke_credential(request: Request) -> Response:
    """The credential is deleted: requests with it are refused within the gateway's 2 s cache."""
    account = await account_or_404(request)
    old = await _find(request, account)
    await context_of(request).store.delete_credential(old.dialect, old.kind, old.identifier)
    await audit(request, "credential.revoke", f"account:{account.id}", **_about(old))
    return json({"revoked": credential_view(old)})


@endpoint(write=True)
async def rotate_credential(request: Request) -> Response:
    """A new secret for the credential; the old one stops working. A password kept for MD5
    clients (SMSC's psw) stays so."""
    account = await account_or_404(request)
    old = await _find(request, account)
    secret = new_secret(old.kind)
    md5 = old.secret.startswith(secrets.MD5_SCHEME + "$")
    fresh = credential(account.id, _spec(old, secret, md5))
    store = context_of(request).store
    await store.put_credential(fresh)  # first, so that the account is never without one
    if (fresh.dialect, fresh.kind, fresh.identifier) != (old.dialect, old.kind, old.identifier):
        await store.delete_credential(old.dialect, old.kind, old.identifier)
    await audit(request, "credential.rotate", f"account:{account.id}", **_about(old))
    return json(_answer(fresh, secret))


@endpoint(write=True)
async def create_credential(request: Request) -> Response:
    account = await account_or_404(request)
    spec = await body(request, CredentialCreate)
    context = context_of(request)
    if context.dialects and spec.dialect not in context.dialects:
        raise GatewayError(ErrorCode.INVALID_FIELD, f"no dialect {spec.dialect!r}", field="dialect")
    if spec.kind not in KINDS:
        raise GatewayError(
            ErrorCode.INVALID_FIELD, f"kind is one of {', '.join(KINDS)}", field="kind"
        )
    if spec.kind not in TOKEN_KINDS and not spec.identifier:
        raise GatewayError(ErrorCode.MISSING_FIELD, "an identifier is needed", field="identifier")
    secret = new_secret(spec.kind)
    try:
        fresh = credential(account.id, _spec(spec, secret, md5=False))
    except ValueError as exc:
        raise GatewayError(ErrorCode.INVALID_FIELD, str(exc)) from None
    taken = await context.store.find_credential(fresh.dialect, fresh.kind, fresh.identifier)
    if taken is not None:  # never moved from another account, nor replaced silently
        raise GatewayError(ErrorCode.DUPLICATE, "that identifier is in use", field="identifier")
    await context.store.put_credential(fresh)
    await audit(request, "credential.create", f"account:{account.id}", **_about(fresh))
    return json(_answer(fresh, secret), 201)


def _about(c: Credential) -> dict[str, Any]:
    """A credential in the audit log: what it is, never its secret."""
    about = {"dialect": c.dialect, "kind": c.kind, "ref": ref_of(c)}
    if c.kind not in TOKEN_KINDS:
        about["identifier"] = c.identifier
    return about


def routes() -> list[BaseRoute]:
    base = "/accounts/{account_id}/credentials"
    return [
        Route(base, list_credentials, methods=["GET"]),
        Route(base, create_credential, methods=["POST"]),
        Route(f"{base}/{{ref}}/revoke", revoke_credential, methods=["POST"]),
        Route(f"{base}/{{ref}}/rotate", rotate_credential, methods=["POST"]),
    ]
