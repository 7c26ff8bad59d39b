"""The durable outbox's delivery side: push callbacks in each dialect's format, retry, never lose.

Rows are written by the store in the same transaction as the event they report, so a callback
exists as soon as its event does. Delivery is at least once: a row is marked done only after
the client accepted it, so a crash between the two repeats it, with the same event id.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping, Sequence

from ..core.models import Account
from ..core.urls import Networks
from ..net.http_client import HttpClient
from ..store.base import (
    EVERY_DIALECT,
    CallbackAttempt,
    OutboxItem,
    OutboxScope,
    Store,
    StoreUnavailable,
)
from ..waits import wait_set
from . import metrics
from .attempts import attempts_of, error_text, host_of
from .callbacks import CallbackPolicy, CallbackRequest
from .idle import IdleWait

log = logging.getLogger("smsgate.notifier")

DONE_EVERY = 0.02  # seconds: callbacks answered within this share one "done" write

# A request's turn among its messages' callbacks, for those waiting for it: done when it was
# answered, with the time it is to be tried again when it failed (None: delivered, or given up).
Turns = asyncio.Future[float | None]
# (request) -> (HTTP status, body); a connection failure raises.
Sender = Callable[[CallbackRequest], Awaitable[tuple[int, bytes]]]
# One callback request to make: its dialect's policy, the account, the URL, the rows it carries.
Request = tuple[CallbackPolicy, Account, str, Sequence[OutboxItem]]


class HttpSender:
    """Pooled keep-alive connections (see http_client), requests of one turn pipelined on one,
    bounded time per attempt; redirects are not followed; targets checked as they are
    connected to (`allowed`: networks opened to callbacks beside public addresses)."""

    def __init__(
        self, timeout: float = 10.0, max_body: int = 65536, allowed: Networks = ()
    ) -> None:
        self._client = HttpClient(
            max_body=max_body, timeout=timeout, allowed=allowed, pipeline=True
        )

    def __call__(self, request: CallbackRequest) -> Awaitable[tuple[int, bytes]]:
        # The client's coroutine itself, not one awaiting it: a frame less to resume per
        # callback (five were stacked on each answer).
        return self._client.request(request.method, request.url, request.headers, request.body)

    async def close(self) -> None:
        await self._client.close()


class Notifier:
    def __init__(
        self,
        store: Store,
        policies: Mapping[str, CallbackPolicy],
        send: Sender,
        *,
        poll: float = 0.2,
        lease: float = 120.0,
        concurrency: int = 64,
        claim: int = 1000,
        scope: OutboxScope = EVERY_DIALECT,
        wakeup: asyncio.Event | None = None,
        idle_poll: float | None = None,
    ) -> None:
        """`wakeup`: an event set when callbacks may be owed (this process's `Reports.changed`).
        `idle_poll`: the longest idle wait (engine/idle.py; None: always `poll`)."""
        self.store = store
        self.scope = scope  # the dialects whose callbacks this notifier delivers
        self.policies = dict(policies)
        self.send = send
        self.poll = poll
        self.idle_poll = poll if idle_poll is None else idle_poll
        self._claimed = False  # the last step claimed something: look again soon
        self.lease = lease
        self.claim = claim
        self.wakeup = asyncio.Event() if wakeup is None else wakeup
        self.concurrency = concurrency
        self._slots = asyncio.Semaphore(concurrency)
        self._tasks: set[asyncio.Task[None]] = set()
        self._accounts: dict[int, tuple[Account, float]] = {}
        self._done: list[int] = []  # accepted by the client, to be marked done in one write
        self._tried: list[CallbackAttempt] = []  # the attempts that delivered them
        self._answered: dict[str, int] = {}  # requests among them, by dialect (metrics)
        self._done_timer: asyncio.TimerHandle | None = None
        self._writes: set[asyncio.Task[None]] = set()
        self._in_flight: dict[str, _Turn] = {}  # message id -> its latest request

    async def run(self) -> None:
        if self.store.exclusive_dispatch:  # the only notifier: leases of a dead one are void
            await self.store.outbox_unlease(self.scope)
        idle = IdleWait(self.poll, self.idle_poll)  # looking is for retries coming due
        while True:
            try:
                worked = await self.step()
            except StoreUnavailable as exc:
                log.warning("store unavailable, retrying: %s", exc)
                await asyncio.sleep(1.0)
                continue
            if self._claimed:  # it sent: retries and later statuses may come due soon
                idle.reset()
            if worked:  # a whole claim's worth: more may be due now
                continue
            self.wakeup.clear()
            if await wait_set(self.wakeup, idle.next()):
                idle.reset()

    async def step(self) -> bool:
        now = time.time()
        items = await self.store.outbox_claim(now, self.claim, self.lease, self.scope)
        self._claimed = bool(items)
        if not items:
            return False
        groups: dict[tuple[str, str, str, int], list[OutboxItem]] = {}
        for item in items:
            groups.setdefault((item.dialect, item.url, item.kind, item.account_id), []).append(item)
        requests: deque[list[Request]] = deque()
        chains: dict[str, list[Request]] = {}  # message id -> its requests of this claim
        for (dialect, url, _kind, account_id), group in groups.items():
            policy = self.policies.get(dialect)
            account = await self._account(account_id)
            if policy is None or account is None:
                await self.store.outbox_dead([i.id for i in group], "no dialect or account")
                continue
            size = max(1, policy.max_batch(account))
            linger = policy.linger(account)
            if linger and len(group) < size:
                oldest = min(i.created_at for i in group)
                if oldest + linger > now:
                    await self.store.outbox_defer([i.id for i in group], oldest + linger)
                    continue
            for start in range(0, len(group), size):
                batch = group[start : start + size]
                request = (policy, account, url, batch)
                key = _one_message(batch) if len(batch) == 1 else None
                chain = None if key is None else chains.get(key)
                if chain is not None:
                    chain.append(request)
                    continue
                requests.append([request])
                if key is not None:
                    chains[key] = requests[-1]
        for chain in chains.values():
            if len(chain) > 1:  # groups came in the order of their first rows: events' order
                chain.sort(key=lambda r: r[3][0].id)
        started = asyncio.Event()  # every request of this claim is under way
        for _ in range(min(len(requests), self.concurrency)):
            await self._slots.acquire()
            if not requests:  # the workers already started took them all meanwhile
                self._slots.release()
                break
            task = asyncio.create_task(self._work(requests, started))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        if requests:
            await started.wait()  # claim no more (nor lease longer) than can be sent
        return len(items) >= self.claim

    async def _work(self, requests: deque[list[Request]], started: asyncio.Event) -> None:
        """One of up to `concurrency` workers (one slot each) taking this claim's requests in
        turn: a task per worker, not per callback. A message's requests of one claim (its
        `submitted` and final status, nearly always claimed together) are one chain that one
        worker sends one after another: the later one waited for the earlier's answer in a
        worker of its own before, holding a slot meanwhile."""
        try:
            while requests:
                chain = requests.popleft()
                if not requests:
                    started.set()
                for at, request in enumerate(chain):
                    behind = await self._deliver(*request)
                    if behind is not None and at + 1 < len(chain):
                        # its later statuses go after it, never before (see _Turn)
                        later = [i.id for r in chain[at + 1 :] for i in r[3]]
                        await self._hold(later, behind)
                        break
        finally:
            self._slots.release()

    async def _hold(self, ids: Sequence[int], until: float) -> None:
        try:
            await self.store.outbox_defer(ids, until)
        except Exception as exc:  # their leases lapse and they are claimed again, in order
            log.warning("could not hold %d callbacks back: %s", len(ids), exc)

    async def _account(self, account_id: int) -> Account | None:
        cached = self._accounts.get(account_id)
        now = time.monotonic()
        if cached is None or cached[1] < now:
            account = await self.store.get_account(account_id)
            if account is None:
                return None
            self._accounts[account_id] = (account, now + 5.0)
            return account
        return cached[0]

    async def _deliver(
        self, policy: CallbackPolicy, account: Account, url: str, items: Sequence[OutboxItem]
    ) -> float | None:
        """Send one request; the time it goes again when it is to be retried (or is held back
        behind an earlier one that is), else None."""
        ids = [i.id for i in items]
        dialect = items[0].dialect
        notices = [n for n in (i.subject() for i in items) if n is not None]
        if len(notices) < len(items):  # rendered from rows that are gone (purged)
            log.warning(
                "callbacks given up, their message is gone: %d of %s",
                len(ids),
                account.name,
                extra={"account": account.name, "dialect": dialect, "callbacks": len(ids)},
            )
            await self.store.outbox_dead(ids, "its message is gone")
            return None
        turn = None
        try:
            request = policy.render(notices, url, account)
            messages = [n.message.id for n in notices if n.message is not None]
            turn = _Turn(self._in_flight, messages)
            waiting = turn.enter()
            if waiting is not None:
                await waiting
                if turn.behind is not None:  # an earlier status of its messages failed
                    await self.store.outbox_defer(ids, turn.behind)  # after it, never before
                    return turn.behind
            started, clock = time.time(), time.monotonic()
            answer: int | None = None
            try:
                answer, body = await self.send(request)
                verdict = policy.verdict(answer, body)
                error = f"HTTP {answer}"
            except (TimeoutError, OSError) as exc:  # what HttpClient raises
                verdict, error = "retry", error_text(exc, url)
            took_ms = round((time.monotonic() - clock) * 1000)
            failure = None if answer is not None else error  # no answer: why
            if verdict == "ok":
                tried = attempts_of(items, url, started, took_ms, answer, None, "done")
                self._mark_done(dialect, ids, tried)
                return None
            metrics.callbacks(dialect, verdict).inc()
            attempt = max(i.attempts for i in items) + 1
            delay = policy.retry_delay(attempt) if verdict == "retry" else None
            _log_failed(account, dialect, url, items, attempt, error, delay)
            outcome = "dead" if delay is None else "retry"
            tried = attempts_of(items, url, started, took_ms, answer, failure, outcome)
            if delay is None:
                await self.store.outbox_dead(ids, error, tried)
                return None  # a dead callback holds nothing back
            again = time.time() + delay
            turn.retry_at(again)  # the later statuses of its messages wait for it
            await self.store.outbox_retry(ids, again, error, tried)
            return again
        except Exception as exc:
            if isinstance(exc, StoreUnavailable):  # an outage, not a bug: no traceback
                log.warning("callback delivery: store unavailable, will retry: %s", exc)
            else:
                log.exception("callback delivery failed unexpectedly; will retry")
            again = time.time() + 30.0
            try:
                await self.store.outbox_retry(ids, again, "internal error")
            except Exception:
                pass  # the lease expires and the row is claimed again
            return again
        finally:
            if turn is not None:
                turn.release()

    def _mark_done(
        self, dialect: str, ids: Sequence[int], tried: Sequence[CallbackAttempt]
    ) -> None:
        """Answered callbacks are marked done together, in one statement at most every
        DONE_EVERY seconds, and nobody waits for that write. Until it commits, the rows' leases
        keep them from being claimed again; a crash before it sends them again (at least once,
        with the same event ids), as a crash between the answer and any done mark always did.
        The attempts that delivered them go in the same write, and they are counted in the
        metrics then too (a labelled counter's increment per request was 2-4% of this
        process's CPU).
        """
        self._done += ids
        self._tried += tried
        self._answered[dialect] = self._answered.get(dialect, 0) + 1
        if self._done_timer is None:
            self._done_timer = asyncio.get_running_loop().call_later(DONE_EVERY, self._write_done)

    def _write_done(self) -> None:
        self._done_timer = None
        for dialect, n in self._answered.items():
            metrics.callbacks(dialect, "ok").inc(n)
        self._answered.clear()
        ids, self._done = self._done, []
        tried, self._tried = self._tried, []
        if ids:
            task = asyncio.ensure_future(self._store_done(ids, tried))
            self._writes.add(task)
            task.add_done_callback(self._writes.discard)

    async def _store_done(self, ids: Sequence[int], tried: Sequence[CallbackAttempt]) -> None:
        try:
            await self.store.outbox_done(ids, time.time(), tried)
        except Exception as exc:  # their leases lapse and they are sent again
            log.warning(
                "could not mark %d callbacks done, they will be repeated: %s", len(ids), exc
            )

    async def drain(self) -> None:
        """Wait for the deliveries under way, then write their done marks now."""
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._done_timer is not None:
            self._done_timer.cancel()
        self._write_done()
        if self._writes:
            await asyncio.gather(*self._writes, return_exceptions=True)


def _log_failed(
    account: Account,
    dialect: str,
    url: str,
    items: Sequence[OutboxItem],
    attempt: int,
    error: str,
    retry_in: float | None,
) -> None:
    """One line per failed attempt: its number, the URL's host only (a path or query string
    may carry the client's own secret), the status or error, and what happens next."""
    then = f"retry in {retry_in:.3g} s" if retry_in is not None else "given up"
    log.log(
        logging.INFO if retry_in is not None else logging.WARNING,
        "callback attempt %d to %s failed: %s; %s",
        attempt,
        host_of(url),
        error,
        then,
        extra={
            "account": account.name,
            "dialect": dialect,
            "attempt": attempt,
            "host": host_of(url),
            "error": error,
            "events": [i.event_id for i in items[:10]],
            "callbacks": len(items),
            "given_up": retry_in is None,
        },
    )


def _one_message(items: Sequence[OutboxItem]) -> str | None:
    """The message a one-callback request `items` reports on (its chain's key), else None."""
    notice = items[0].notice
    return None if notice is None or notice.message is None else notice.message.id


async def _settled(futures: set[Turns]) -> None:
    """Until every one of `futures` is done, never cancelling them (as asyncio.wait, at about
    half its cost for the one or two futures a message has in flight)."""
    pending = [f for f in futures if not f.done()]
    if not pending:
        return
    waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    left = len(pending)

    def one_done(_: Turns) -> None:
        nonlocal left
        left -= 1
        if not left and not waiter.done():
            waiter.set_result(None)

    for f in pending:
        f.add_done_callback(one_done)
    try:
        await waiter  # a cancellation cancels this waiter only
    finally:
        for f in pending:
            f.remove_done_callback(one_done)


class _Turn:
    """A message's callbacks go out one after another, in the order they were claimed (the
    order of its events): a request carrying a message whose earlier callback is still in
    flight waits for that one's answer first. Otherwise a "submitted" and a "delivered" claimed
    together went out at once, and a client that keeps the latest status it was told could
    end on "submitted". When the earlier one fails and is to be tried again at some time,
    `behind` tells the later ones that time: they wait for it (held back in the outbox), and
    so do the ones after them. Across processes and nodes the store's claim keeps the same
    order (rules.order_claim).

    One request's turn: `enter` takes its place in line (and says what to await when an
    earlier one is still out), `release` gives it up. A future to wait on is made only when a
    later request waits for this one: nearly every request finds none ahead of it (a claim's
    callbacks of one message go in one chain, one after another), and a future, two
    coroutines (an async context manager) and a set a request were a tenth of the notifier's
    samples in the loop. Also an async context manager, for tests.
    """

    __slots__ = ("_done", "_keys", "_last", "_released", "_retry_at", "behind")

    def __init__(self, last: dict[str, _Turn], messages: Sequence[str]) -> None:
        self._last = last  # message id -> the turn of its latest request
        self._keys = messages
        self._done: Turns | None = None  # its retry time, for those waiting for it (if any)
        self._released = False
        self._retry_at: float | None = None  # this request's, when it failed and will retry
        self.behind: float | None = None  # an earlier one's retry time: this one waits for it

    def enter(self) -> Awaitable[None] | None:
        """Take this request's place after the latest of each of its messages (before any
        wait: requests queue up in the order they started); what to await before sending,
        when one of them is still out, else None."""
        last = self._last
        earlier: set[_Turn] | None = None
        for key in self._keys:
            prior = last.get(key)
            if prior is not None and prior is not self:
                if earlier is None:
                    earlier = set()
                earlier.add(prior)
        for key in self._keys:
            last[key] = self
        return None if earlier is None else self._after(earlier)

    async def _after(self, earlier: set[_Turn]) -> None:
        futures = {t._future() for t in earlier}
        try:
            await _settled(futures)
        except BaseException:  # cancelled in line: nobody releases it but here; let others on
            self.release()
            raise
        retries = [t for t in (f.result() for f in futures) if t is not None]
        self.behind = self._retry_at = max(retries) if retries else None

    def _future(self) -> Turns:
        done = self._done
        if done is None:
            done = self._done = asyncio.get_running_loop().create_future()
            if self._released:
                done.set_result(self._retry_at)
        return done

    async def __aenter__(self) -> _Turn:
        waiting = self.enter()
        if waiting is not None:
            await waiting
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.release()

    def retry_at(self, when: float) -> None:
        """This request failed and goes again at `when`: the later ones wait for it."""
        self._retry_at = when

    def release(self) -> None:
        if self._released:
            return
        self._released = True
        done = self._done
        if done is not None and not done.done():
            done.set_result(self._retry_at)
        last = self._last
        for key in self._keys:
            if last.get(key) is self:
                del last[key]
