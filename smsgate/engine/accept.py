"""The only synchronous path: validate, price, and store a request's messages in one commit."""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator, Sequence
from functools import lru_cache, partial
from typing import Any, cast

import msgspec

from .. import logs
from ..core.errors import ErrorCode, GatewayError
from ..core.ids import new_id
from ..core.models import Account, Alike, Job, Message, OneTemplate, Refused, Submission
from ..core.status import Status
from ..core.urls import Networks, origin_of, refused_target, target_refusal
from ..core.validate import NUL, Limits, build_message, build_messages
from ..store.base import AllNew, Outcome, Refusal, Store
from ..store.rules import AcceptRequest, needs_store, without_store
from . import metrics

log = logging.getLogger("smsgate.accept")


class Acceptor:
    def __init__(
        self,
        store: Store,
        limits: Limits,
        *,
        on_accept: Callable[[], None] | None = None,
        callback_networks: Networks = (),
    ) -> None:
        """`callback_networks`: the networks callbacks may go to beside public addresses
        (callbacks.allow_networks)."""
        self.store = store
        self.limits = limits
        self.on_accept = on_accept  # wakes a dispatcher in this process
        # Few distinct origins come back again and again (the URLs may differ in their query
        # strings): each is judged once (~20 us), then looked up (~0.5 us).
        self._refused_origin = lru_cache(maxsize=4096)(
            partial(refused_target, allowed=tuple(callback_networks))
        )

    def submit(
        self,
        account: Account,
        dialect: str,
        items: Sequence[Submission | Refused],
        *,
        atomic: bool = False,
        job: bool = False,
        job_ref: str | None = None,
        job_meta: dict[str, Any] | None = None,
        trunk_8_to_7: bool = False,
        keep_rejected: bool = False,
        keep_alone: bool = True,
        max_parts: int | None = None,
        now: float | None = None,
    ) -> Awaitable[tuple[list[Outcome], Job | None]]:
        """Accept a request. Outcomes come back in the order of `items`.

        `atomic`: one bad recipient refuses the whole request (nothing stored).
        `job`: the messages form a batch whose id is returned (and stored when any is new).
        `keep_rejected` (not with `atomic`): a recipient that fails validation is stored too,
        unpriced and held back, so that it can be reported REJECTED like any message (for
        dialects whose batches report bad recipients in delivery reports). Its Outcome is an
        `error` that carries the stored message; the caller records the rejection.
        `keep_alone` (with `keep_rejected`): keep them even when nothing else is stored.
        A `Refused` item is a recipient the dialect refused itself: it takes part like one
        the core refused (kept with `keep_rejected`, counted, never stored otherwise).
        `max_parts`: the dialect's own segment limit, where its provider documents one.

        To await: a single send's coroutine or a batch's, without one of its own (a frame
        less for every single send).
        """
        limits = self.limits
        if max_parts is not None:
            limits = msgspec.structs.replace(limits, max_parts=max_parts)
        if not items:
            raise GatewayError(ErrorCode.MISSING_FIELD, "no recipients")
        if len(items) == 1 and not (atomic or job or keep_rejected):
            return self._submit_one(account, dialect, items[0], limits, trunk_8_to_7, now)
        return self._submit_many(
            account,
            dialect,
            items,
            limits,
            atomic=atomic,
            job=job,
            job_ref=job_ref,
            job_meta=job_meta,
            trunk_8_to_7=trunk_8_to_7,
            keep_rejected=keep_rejected,
            keep_alone=keep_alone,
            now=now,
        )

    async def _submit_many(
        self,
        account: Account,
        dialect: str,
        items: Sequence[Submission | Refused],
        limits: Limits,
        *,
        atomic: bool,
        job: bool,
        job_ref: str | None,
        job_meta: dict[str, Any] | None,
        trunk_8_to_7: bool,
        keep_rejected: bool,
        keep_alone: bool,
        now: float | None,
    ) -> tuple[list[Outcome], Job | None]:
        """`submit` of a batch, or of one item with options."""
        self._check_callback_targets(items)
        if len(items) > self.limits.max_recipients:
            raise GatewayError(
                ErrorCode.TOO_MANY_RECIPIENTS,
                f"at most {self.limits.max_recipients} recipients per request",
            )
        now = time.time() if now is None else now
        batch = (
            Job(
                id=new_id(),
                account_id=account.id,
                dialect=dialect,
                client_ref=job_ref,
                total=len(items),
                created_at=now,
                meta=job_meta,
            )
            if job
            else None
        )
        job_id = batch.id if batch else None
        build = partial(_build, account=account, dialect=dialect, now=now, limits=limits)
        lazily = Lazily(partial(build, trunk=trunk_8_to_7, job_id=job_id), items)
        if len(items) >= STREAM_FROM and not lazily.refused:
            streamed = await self.store.accept_stream(
                account.id, len(items), lazily.chunks(), job=batch
            )
            if streamed is not None:
                return streamed, batch if self._after(account, dialect, streamed, now) else None
        built = lazily.rest()
        if type(built) is OneTemplate or not any([isinstance(m, GatewayError) for m in built]):
            # The usual request, every recipient valid: the outcomes are the store's, in order,
            # without looking at each recipient again.
            valid_all = cast(list[Message], built)
            stored = await self.store.accept(account.id, valid_all, job=batch, atomic=atomic)
            return stored, batch if self._after(account, dialect, stored, now) else None
        accepted: list[Message | Refusal] = []
        for item, built_one in zip(items, built, strict=True):
            if isinstance(built_one, GatewayError):
                held = _held_back(account, dialect, item, now, job_id) if keep_rejected else None
                accepted.append(_refusal(built_one, dialect, item, held, keep_alone))
            else:
                accepted.append(built_one)
        request = AcceptRequest(account.id, accepted, batch, atomic)
        outcomes = await self._accept(request)
        new = self._after(account, dialect, outcomes, now)
        stored_refused = any(o.kind == "error" and o.message is not None for o in outcomes)
        return outcomes, batch if new or stored_refused else None

    def _check_callback_targets(self, items: Sequence[Submission | Refused]) -> None:
        """A callback URL whose host is an address callbacks may not go to (loopback,
        private, ...: core.urls) refuses the request, like a malformed one. Without DNS: a
        name is checked where the callback connects (net/http_client.py)."""
        try:
            if type(items) is Alike:  # one callback URL, the very object, by construction
                urls = {items[0].callback_url}
            else:
                urls = {i.callback_url for i in items}  # type: ignore[union-attr]  # 50,000: 1 ms
        except AttributeError:  # a Refused item among them
            urls = {getattr(i, "callback_url", None) for i in items}
        for url in urls:
            reason = self._refused_origin(origin_of(url)) if url else None
            if reason is not None:
                raise target_refusal(reason)

    async def _accept(self, request: AcceptRequest) -> list[Outcome]:
        """Through the store, unless no item can be stored or be a duplicate (a request of
        refusals without client references: the rules answer it without I/O)."""
        if needs_store(request):
            return await self.store.accept(
                request.account_id, request.items, job=request.job, atomic=request.atomic
            )
        return without_store(request)

    async def _submit_one(
        self,
        account: Account,
        dialect: str,
        item: Submission | Refused,
        limits: Limits,
        trunk_8_to_7: bool,
        now: float | None,
    ) -> tuple[list[Outcome], None]:
        """A single send, the commonest request, without the batch bookkeeping."""
        if getattr(item, "callback_url", None):  # else: nothing to check
            self._check_callback_targets((item,))
        now = time.time() if now is None else now
        try:
            if isinstance(item, Refused):
                raise item.error
            message = build_message(account, dialect, item, now, limits, trunk_8_to_7=trunk_8_to_7)
        except GatewayError as exc:
            refused = AcceptRequest(account.id, [_refusal(exc, dialect, item)])
            outcome = (await self._accept(refused))[0]
        else:
            outcome = (await self.store.accept(account.id, [message]))[0]
        self._after(account, dialect, [outcome], now)
        return [outcome], None

    def _after(
        self, account: Account, dialect: str, outcomes: Sequence[Outcome], now: float
    ) -> int:
        """Count the request's outcomes, log its refusals (one line, whatever its size) and
        wake the dispatcher when a new message is due now (scheduled ones wait for the
        scheduler). Returns how many messages are new."""
        new, rejected, due = _counts(outcomes, now)
        if due and self.on_accept is not None:
            self.on_accept()
        if new:
            metrics.BATCH.count_accepted(dialect, new)
        if rejected:
            metrics.REFUSED.labels(dialect).inc(rejected)
            _log_refusals(account, dialect, outcomes, rejected)
        return new


def _counts(outcomes: Sequence[Outcome], now: float) -> tuple[int, int, bool]:
    """How many outcomes are new, how many refused, and whether a new message is due now."""
    if type(outcomes) is AllNew:  # a bulk stored whole: looked at up to its first due one
        return len(outcomes), 0, any(_is_due(o.message, now) for o in outcomes)
    new = rejected = 0
    due = False
    for o in outcomes:
        if o.kind == "new":
            new += 1
            due = due or _is_due(o.message, now)
        elif o.kind == "error":
            rejected += 1
    return new, rejected, due


def _is_due(message: Message | None, now: float) -> bool:
    return message is not None and (message.not_before is None or message.not_before <= now)


def _log_refusals(
    account: Account, dialect: str, outcomes: Sequence[Outcome], rejected: int
) -> None:
    """One info line per request with refused recipients: how many, each reason's count, and
    the first refusal's detail (a 50,000-recipient bulk makes one line, not 50,000)."""
    errors = [o.error for o in outcomes if o.kind == "error" and o.error is not None]
    reasons = Counter(e.code.value for e in errors)
    log.info(
        "%d of %d recipients refused (%s): %s",
        rejected,
        len(outcomes),
        ", ".join(f"{code} x{n}" for code, n in reasons.most_common()),
        errors[0].detail if errors else "",
        extra={
            "account": account.name,
            "dialect": dialect,
            "refused": rejected,
            "recipients": len(outcomes),
            "reasons": dict(reasons),
        },
    )
    logs.note_refusals_logged()


STREAM_FROM = 1000  # recipients from which the first are written while the next are built
STREAM_CHUNK = 5000  # messages built at a time for the store to take


class Lazily:
    """A request's messages built a chunk at a time, as the store takes them (`chunks`), so
    that the database writes one chunk while the next is built: a 50,000-recipient request
    spends about a third of its time building and most of the rest writing, which the
    PostgreSQL server does meanwhile (`Store.accept_stream`; SQLite does not stream).

    What is built is kept: `rest` builds what `chunks` did not and returns all of it."""

    def __init__(
        self,
        build: Callable[[Sequence[Submission | Refused]], list[Message | GatewayError]],
        items: Sequence[Submission | Refused],
    ) -> None:
        self.build = build
        self.items = items
        self.built: list[Message | GatewayError] = []
        self.refused = _any_refused(items)  # refused by the dialect already

    def chunks(self) -> Iterator[list[Message]]:
        """The messages a chunk at a time, until a chunk holds a refused recipient: then the
        store has fewer than it was told and stores none of them (`Store.accept_stream`)."""
        while len(self.built) < len(self.items):
            start = len(self.built)
            items = self.items[start : start + STREAM_CHUNK]
            if type(self.items) is Alike:  # still alike, sliced
                items = Alike(cast(Sequence[Submission], items))
            chunk = self.build(items)
            self.built += chunk
            if any([isinstance(m, GatewayError) for m in chunk]):
                return
            yield cast(list[Message], chunk)

    def rest(self) -> list[Message | GatewayError]:
        if not self.built:  # built here at once: the list as built (a OneTemplate, say)
            self.built = self.build(self.items)
        elif len(self.built) < len(self.items):
            self.built += self.build(self.items[len(self.built) :])
        return self.built


def _any_refused(items: Sequence[Submission | Refused]) -> bool:
    """Whether the dialect refused any item itself; an Alike holds only Submissions."""
    return type(items) is not Alike and Refused in set(map(type, items))


def _build(
    items: Sequence[Submission | Refused],
    *,
    account: Account,
    dialect: str,
    now: float,
    limits: Limits,
    trunk: bool,
    job_id: str | None,
) -> list[Message | GatewayError]:
    """Each item as a message, or why it is refused (a Refused item: its dialect's reason)."""
    if not _any_refused(items):
        submissions = cast(Sequence[Submission], items)
        return build_messages(
            account, dialect, submissions, now, limits, trunk_8_to_7=trunk, job_id=job_id
        )
    valid = [i for i in items if isinstance(i, Submission)]
    built = iter(
        build_messages(account, dialect, valid, now, limits, trunk_8_to_7=trunk, job_id=job_id)
    )
    return [i.error if isinstance(i, Refused) else next(built) for i in items]


def _refusal(
    error: GatewayError,
    dialect: str,
    item: Submission | Refused,
    held: Message | None = None,
    held_alone: bool = True,
) -> Refusal:
    ref = item.client_ref
    if ref is not None and NUL in ref:
        ref = None  # no store holds such a reference: it cannot be a duplicate
    return Refusal(error=error, dialect=dialect, client_ref=ref, held=held, held_alone=held_alone)


HELD_BACK = 3600.0  # a kept rejection is recorded at once; this only bounds a crash in between


def _held_back(
    account: Account, dialect: str, given: Submission | Refused, now: float, job_id: str | None
) -> Message:
    """A refused recipient as a stored message: scheduled far enough ahead never to be sent
    before its rejection is recorded (and expiring, should a crash come in between)."""
    item = (
        given
        if isinstance(given, Submission)
        else Submission(phone=given.phone, text="", client_ref=given.client_ref, meta=given.meta)
    )
    return Message(
        id=new_id(),
        account_id=account.id,
        dialect=dialect,
        client_ref=item.client_ref,
        job_id=job_id,
        sender=item.sender,
        phone=str(item.phone)[:32],
        text=item.text if isinstance(item.text, str) else "",
        encoding="gsm7",
        segments=1,
        priority=item.priority,
        not_before=now + HELD_BACK,
        expires_at=now + HELD_BACK,
        flash=item.flash,
        tag=item.tag,
        callback_url=item.callback_url,
        status=Status.SCHEDULED,
        price=0,
        created_at=now,
        updated_at=now,
        confidential=item.confidential,
        meta=item.meta,
    )
