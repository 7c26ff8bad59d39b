"""The façade dialects talk to: authentication, submission, reads. Dialects never see the store."""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Awaitable, Callable, Hashable, Sequence
from functools import partial
from typing import Any, TypeVar

from .. import logs
from ..connectors.base import Incoming
from ..core import secrets
from ..core.models import (
    Account,
    Credential,
    Job,
    JobCounts,
    Message,
    MoMessage,
    Refused,
    Report,
    StatusEvent,
    Submission,
)
from ..core.status import Status
from ..core.validate import Limits
from ..store.base import CallbackState, MessageFilter, Outcome, Store
from .accept import Acceptor
from .reports import Reports
from .routing import CallbackRouter

_DUMMY_HASH = secrets.hash_password("not a password")
AUTH_TTL = 2.0  # seconds a verified credential or an account is reused without a read
T = TypeVar("T")
K = TypeVar("K", bound=Hashable)


class Gateway:
    def __init__(
        self,
        store: Store,
        acceptor: Acceptor,
        router: CallbackRouter,
        *,
        reports: Reports | None = None,
        settings: dict[str, Any] | None = None,
    ) -> None:
        """`reports`: where refused recipients and injected incoming SMS go (with none, refusals
        are recorded in the store directly and incoming SMS are refused)."""
        self.store = store
        self.acceptor = acceptor
        self.router = router
        self.reports = reports
        self.settings = settings or {}
        self._accounts: dict[int, tuple[Account, float]] = {}
        # Verified passwords (key ends with the password's digest) and looked-up credentials
        # (key ends with ""), each with its expiry; cleared whole when it grows too large.
        self._verified: dict[tuple[str, str, str, str], tuple[Credential, float]] = {}
        # Reads under way, by key: a busy worker's entries expire under tens of requests at
        # once, and each would read the store (and check the password) again.
        self._reading: dict[Hashable, asyncio.Future[Any]] = {}

    @property
    def limits(self) -> Limits:
        """The acceptor's: what dialects check before they submit is what it enforces."""
        return self.acceptor.limits

    # Authentication -------------------------------------------------------------------------
    async def account(self, account_id: int, *, fresh: bool = False) -> Account | None:
        if not fresh and (cached := _fresh(self._accounts, account_id)) is not None:
            return cached
        if fresh:
            return await self._read_account(account_id)
        return await self._once(("account", account_id), lambda: self._read_account(account_id))

    async def _read_account(self, account_id: int) -> Account | None:
        account = await self.store.get_account(account_id)
        if account is not None:
            self._accounts[account_id] = (account, time.monotonic() + AUTH_TTL)
        return account

    async def _once(self, key: Hashable, read: Callable[[], Awaitable[T]]) -> T:
        """`read()`'s result, shared by every caller that asks for `key` while it runs."""
        running = self._reading.get(key)
        if running is None:
            running = asyncio.ensure_future(read())
            self._reading[key] = running
            running.add_done_callback(partial(self._read_done, key))
        # shielded: one caller's cancellation must not cancel the others' read
        result: T = await asyncio.shield(running)
        return result

    def _read_done(self, key: Hashable, read: asyncio.Future[Any]) -> None:
        del self._reading[key]
        if not read.cancelled():
            read.exception()  # its callers raise it; none left must not log it as lost

    async def login(
        self, dialect: str, kind: str, identifier: str, password: str
    ) -> Account | None:
        """An account whose `kind` credential for `dialect` is (identifier, password)."""
        key = (dialect, kind, identifier, hashlib.sha256(password.encode()).hexdigest())
        credential = _fresh(self._verified, key)
        if credential is not None:
            return await self._active(credential.account_id)
        credential = await self._once(key, lambda: self._verify(key, password))
        return await self._active(credential.account_id) if credential else None

    async def _verify(self, key: tuple[str, str, str, str], password: str) -> Credential | None:
        dialect, kind, identifier, _ = key
        credential = await self.store.find_credential(dialect, kind, identifier)
        stored = credential.secret if credential else _DUMMY_HASH
        if not secrets.verify_password(password, stored) or credential is None:
            return None
        self._remember(key, credential, time.monotonic())
        return credential

    async def token(self, dialect: str, token: str) -> Account | None:
        """An account holding bearer/API `token` for `dialect` (looked up by its SHA-256)."""
        if not token:
            return None
        key = (dialect, "token", secrets.token_id(token), "")
        # Both cached and fresh (nearly every request): answered here, without the three
        # coroutines of the reads below (about a microsecond a request).
        credential = _fresh(self._verified, key)
        if credential is not None:
            account = _fresh(self._accounts, credential.account_id)
            if account is not None:
                return _named_if_active(account)
        credential = await self._cached_credential(dialect, "token", key[2])
        return await self._active(credential.account_id) if credential else None

    async def shared_secret(
        self, dialect: str, kind: str, identifier: str
    ) -> tuple[Account, str] | None:
        """For protocols that sign with a secret both sides know (OsonSMS hash, SMSC api key)."""
        credential = await self._cached_credential(dialect, kind, identifier)
        if credential is None:
            return None
        account = await self._active(credential.account_id)
        return (account, credential.secret) if account else None

    async def _cached_credential(
        self, dialect: str, kind: str, identifier: str
    ) -> Credential | None:
        key = (dialect, kind, identifier, "")
        credential = _fresh(self._verified, key)
        if credential is not None:
            return credential
        return await self._once(key, lambda: self._look_up(key))

    async def _look_up(self, key: tuple[str, str, str, str]) -> Credential | None:
        credential = await self.store.find_credential(*key[:3])
        if credential is not None:
            self._remember(key, credential, time.monotonic())
        return credential

    def _remember(self, key: tuple[str, str, str, str], credential: Credential, now: float) -> None:
        if len(self._verified) > 100_000:
            self._verified.clear()
        self._verified[key] = (credential, now + AUTH_TTL)

    async def _active(self, account_id: int) -> Account | None:
        account = await self.account(account_id)
        return _named_if_active(account) if account is not None else None

    # Sending --------------------------------------------------------------------------------
    def submit(
        self, account: Account, dialect: str, items: Sequence[Submission | Refused], **options: Any
    ) -> Awaitable[tuple[list[Outcome], Job | None]]:
        """Acceptor.submit, then the rejections it kept recorded (`keep_rejected`). Without
        those, the acceptor's own coroutine: no frame here for every single send."""
        if options.get("keep_rejected"):
            return self._submit_keeping(account, dialect, items, options)
        return self.acceptor.submit(account, dialect, items, **options)

    async def _submit_keeping(
        self,
        account: Account,
        dialect: str,
        items: Sequence[Submission | Refused],
        options: dict[str, Any],
    ) -> tuple[list[Outcome], Job | None]:
        outcomes, job = await self.acceptor.submit(account, dialect, items, **options)
        now = time.time()
        refused = [
            Report(
                message_id=o.message.id,
                status=Status.REJECTED,
                error_code=o.error.code.value,
                at=now,
            )
            for o in outcomes
            if o.kind == "error" and o.message is not None and o.error is not None
        ]
        if refused and self.reports is not None:
            await self.reports.reports(refused)  # also wakes the notifier
        elif refused:
            await self.store.record_reports(refused, self.router)
        return outcomes, job

    async def cancel(self, account: Account, message_id: str) -> Message:
        return await self.store.cancel(account.id, message_id, self.router)

    async def inject_incoming(self, incoming: Sequence[Incoming]) -> None:
        if self.reports is None:
            raise RuntimeError("no engine in this process")
        await self.reports.incoming(incoming)

    # Reads ----------------------------------------------------------------------------------
    async def balance(self, account: Account) -> int:
        fresh = await self.account(account.id, fresh=True)
        return fresh.balance if fresh else 0

    async def get_message(self, account: Account, message_id: str) -> Message | None:
        return await self.store.get_message(account.id, message_id)

    async def get_messages(self, account: Account, message_ids: Sequence[str]) -> list[Message]:
        return await self.store.get_messages(account.id, message_ids)

    async def message_by_ref(
        self, account: Account, dialect: str, client_ref: str
    ) -> Message | None:
        return await self.store.message_by_ref(account.id, dialect, client_ref)

    async def message_by_seq(self, account: Account, seq: int) -> Message | None:
        return await self.store.message_by_seq(account.id, seq)

    async def owned_by_other(self, account: Account, seq: int) -> bool:
        """True when message `seq` exists but belongs to another account (403 rather than 404)."""
        owner = await self.store.owner_by_seq(seq)
        return owner is not None and owner != account.id

    async def list_messages(
        self, account: Account, flt: MessageFilter, *, after_seq: int = 0, limit: int = 100
    ) -> list[Message]:
        return await self.store.list_messages(account.id, flt, after_seq=after_seq, limit=limit)

    async def get_job(self, account: Account, job_id: str) -> JobCounts | None:
        return await self.store.get_job(account.id, job_id)

    async def job_messages(
        self, account: Account, job_id: str, *, after_seq: int = 0, limit: int = 1000
    ) -> list[Message]:
        return await self.store.job_messages(account.id, job_id, after_seq=after_seq, limit=limit)

    async def events_of(self, account: Account, message_id: str) -> list[StatusEvent]:
        return await self.store.events_of(account.id, message_id)

    async def callbacks_of(self, account: Account, message_id: str) -> list[CallbackState]:
        return await self.store.callbacks_of(account.id, message_id)

    async def list_mo(
        self, account: Account, *, after_seq: int = 0, limit: int = 100
    ) -> list[MoMessage]:
        return await self.store.list_mo(account.id, after_seq=after_seq, limit=limit)

    # The stop list ----------------------------------------------------------------------------
    async def stoplist(self, account: Account) -> list[str]:
        """The account's stop-listed phones (E.164 digits)."""
        return await self.store.stoplist(account.id)

    async def stoplist_add(self, account: Account, phones: Sequence[str]) -> int:
        """Adds E.164 `phones` to the account's stop list; how many were new."""
        return await self.store.stoplist_add(account.id, phones)

    async def stoplist_remove(self, account: Account, phones: Sequence[str]) -> int:
        """Takes E.164 `phones` off the account's stop list; how many were on it."""
        return await self.store.stoplist_remove(account.id, phones)


def _fresh(cache: dict[K, tuple[T, float]], key: K) -> T | None:
    """`cache`'s value for `key` until its time (AUTH_TTL after it was read), else None: the
    one freshness check of the accounts and credentials this gateway remembers."""
    hit = cache.get(key)
    return hit[0] if hit is not None and hit[1] > time.monotonic() else None


def _named_if_active(account: Account) -> Account | None:
    """`account` if it is active, named on the request's log lines from here on; else None."""
    if not account.active:
        return None
    logs.note_account(account.name)
    return account
