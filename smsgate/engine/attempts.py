"""What the notifier keeps of each try at delivering a callback (store.base.CallbackAttempt):
the URL's host only, the answer's status or the failure in a few words, the time it took."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from urllib.parse import urlsplit

from ..store.base import CallbackAttempt, OutboxItem

ERROR_TEXT = 200  # characters of a failed attempt's error kept (logs, outbox, attempts)


def attempts_of(
    items: Sequence[OutboxItem],
    url: str,
    started: float,
    took_ms: int,
    status: int | None,
    error: str | None,
    outcome: str,
) -> list[CallbackAttempt]:
    """One request's try, as an attempt of each row it carried (each row's own next number):
    `status` answered, or no answer and `error`; `outcome` what became of the rows."""
    host = host_of(url)
    return [
        CallbackAttempt(
            outbox_id=i.id,
            account_id=i.account_id,
            attempt=i.attempts + 1,
            started_at=started,
            host=host,
            status=status,
            error=error,
            took_ms=took_ms,
            outcome=outcome,
        )
        for i in items
    ]


def error_text(exc: BaseException, url: str) -> str:
    """A failure in a few words, with the URL (should an error quote it) cut to its host."""
    text = f"{type(exc).__name__}: {exc}"
    return (text.replace(url, host_of(url)) if url else text)[:ERROR_TEXT]


@lru_cache(maxsize=1024)  # a few URLs take most callbacks; urlsplit costs microseconds
def host_of(url: str) -> str:
    """For logs and attempts: the host (and port) only; a path or query string may carry
    secrets. An SMPP bind's "URL" names the account's binds, not a host."""
    if url.startswith("smpp:"):
        return "smpp bind"
    try:
        split = urlsplit(url)
        host = split.hostname or ""
        return f"{host}:{split.port}" if split.port else host
    except ValueError:
        return "(unreadable URL)"
