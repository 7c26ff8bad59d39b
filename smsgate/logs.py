"""Logs on stderr: key=value text or one JSON object per line, for smsgate's lines and uvicorn's.

Every line names its time, level, logger and message, then its fields: those a call passes in
`extra=`, and, on a line that an HTTP request caused, that request's id, dialect and account
(`RequestContext`, a context variable that `app.ErrorGuard` sets for each request; tasks the
request starts inherit it). An error is logged with its exception's whole traceback; a
warning that carries an exception, with the exception's last line.

Secrets are never passed to a logger: no credential, token, hash, message text or callback
query string (which may carry a client's own secret) is a message or a field.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import itertools
import logging
import re
import secrets
import sys
import time
from dataclasses import dataclass
from typing import Any, Literal, TextIO

import msgspec

LogFormat = Literal["text", "json"]


# Request context --------------------------------------------------------------------------------
@dataclass(slots=True)
class RequestContext:
    """What every line of one HTTP request carries. `account`: set once the request is
    authenticated (the gateway's authentication names it); `status`: the answer's, once it
    started (0 before); `refusals_logged`: the acceptor already logged this request's refused
    recipients (the endpoint wrapper then does not log the same refusal again at info)."""

    raw_id: bytes  # the request id, as the X-Request-ID header carries it
    dialect: str
    account: str | None = None
    status: int = 0
    refusals_logged: bool = False

    @property
    def request_id(self) -> str:
        return self.raw_id.decode("ascii")


CONTEXT: contextvars.ContextVar[RequestContext | None] = contextvars.ContextVar(
    "smsgate_request", default=None
)

# A client's X-Request-ID is kept when it is 1-128 visible ASCII characters other than a quote
# or a backslash (so that it needs no escaping in either format); else a new one is made.
_CLIENT_ID = re.compile(rb"[!#-\[\]-~]{1,128}")
# Made ids: a random prefix per process, then a counter: 0.13 µs where uuid4().hex takes 2 µs,
# and as unique across processes and restarts as 48 random bits make them.
_PREFIX = secrets.token_hex(6).encode()
_COUNTER = itertools.count(1)


def request_id(given: bytes | None) -> bytes:
    """The request's id: the client's X-Request-ID if it is acceptable, else a new one."""
    if given is not None and _CLIENT_ID.fullmatch(given):
        return given
    return b"%s-%x" % (_PREFIX, next(_COUNTER))


def note_account(name: str) -> None:
    """Name the authenticated account on the current request's lines (no request: nothing)."""
    context = CONTEXT.get()
    if context is not None:
        context.account = name


def note_refusals_logged() -> None:
    context = CONTEXT.get()
    if context is not None:
        context.refusals_logged = True


# Formatters -------------------------------------------------------------------------------------
# A record's own attributes; any other attribute came from `extra=` and is a field of the line.
_RECORD_ATTRIBUTES = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime"}
_CONTEXT_ATTRIBUTE = "smsgate_request"  # where RequestFilter puts a record's RequestContext
# uvicorn's coloured copy of its message, and the context (written out as its fields)
_SKIPPED = frozenset({"color_message", _CONTEXT_ATTRIBUTE})


def _time(created: float) -> str:
    """UTC ISO 8601 with milliseconds: 2026-12-06T16:35:35.123Z."""
    whole = int(created)
    return _second(whole) + f".{int((created - whole) * 1000):03d}Z"


@functools.lru_cache(maxsize=8)
def _second(whole: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole))


def fields(record: logging.LogRecord) -> dict[str, Any]:
    """A line's fields: the request's (when a request caused it), then the call's `extra`."""
    out: dict[str, Any] = {}
    context = getattr(record, _CONTEXT_ATTRIBUTE, None)
    if isinstance(context, RequestContext):
        out["request_id"] = context.request_id
        out["dialect"] = context.dialect
        if context.account is not None:
            out["account"] = context.account
    for key, value in record.__dict__.items():
        if key not in _RECORD_ATTRIBUTES and key not in _SKIPPED:
            out[key] = value
    return out


def _details(formatter: logging.Formatter, record: logging.LogRecord) -> str | None:
    """An error's whole traceback (and stack, if asked for); for a lower level, the
    exception's last line only: a warning with an exception is an expected condition (a
    library's retry while PostgreSQL restarts), and a traceback a time would bury the rest."""
    parts = []
    if record.exc_info:
        whole = formatter.formatException(record.exc_info)
        parts.append(whole if record.levelno >= logging.ERROR else whole.splitlines()[-1])
    elif record.exc_text:
        parts.append(record.exc_text)
    if record.stack_info:
        parts.append(formatter.formatStack(record.stack_info))
    return "\n".join(parts) if parts else None


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, then the fields, and the whole
    traceback as `exception` (one string: its newlines are escaped, the line stays one)."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": _time(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in fields(record).items():
            line.setdefault(key, value)  # a field never hides the four above
        details = _details(self, record)
        if details is not None:
            line["exception"] = details
        return msgspec.json.encode(line, enc_hook=str).decode()


_BARE = re.compile(r"[^\s\"'=\\]+")


def _text_value(value: object) -> str:
    text = str(value)
    return (
        text
        if _BARE.fullmatch(text)
        else '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
    )


class KeyValueFormatter(logging.Formatter):
    """`time=… level=… logger=… msg="…" key=value …`; a traceback follows on its own lines,
    whole, each indented so that it cannot be read as a line of its own."""

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage().replace('"', "'").replace("\n", " ")
        line = (
            f"time={_time(record.created)} level={record.levelname.lower()} "
            f'logger={record.name} msg="{message}"'
        )
        for key, value in fields(record).items():
            line += f" {key}={_text_value(value)}"
        details = _details(self, record)
        if details is not None:
            line += "\n" + "\n".join("    " + row for row in details.splitlines())
        return line


class RequestFilter(logging.Filter):
    """Stamps each record with the request that caused it, in the caller's context (a handler
    that formatted later, on another thread, would no longer see it)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, _CONTEXT_ATTRIBUTE):
            setattr(record, _CONTEXT_ATTRIBUTE, CONTEXT.get())
        return True


FLUSH_EVERY = 0.05  # seconds a line may wait in the buffer while an event loop runs


class BufferedHandler(logging.StreamHandler):
    """A StreamHandler that, while an event loop runs in its thread, writes what it buffered
    every FLUSH_EVERY seconds instead of after each line: one write per line to a pipe took 8
    of the 20 µs that an access-log line cost. Outside a running loop (another thread, the
    CLI, the end of the process) each line is flushed at once. A process killed outright
    loses at most its last FLUSH_EVERY seconds of lines."""

    def __init__(self, stream: TextIO) -> None:
        super().__init__(stream)
        self._due: asyncio.AbstractEventLoop | None = None  # the loop a flush is queued on

    def flush(self) -> None:  # StreamHandler.emit calls it after every line
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self._flush_now()
            return
        if self._due is not loop:  # none queued on this loop (or on one that since closed)
            self._due = loop
            loop.call_later(FLUSH_EVERY, self._flush_now)

    def _flush_now(self) -> None:
        self._due = None
        super().flush()


UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi")


def setup(level: str = "info", log_format: LogFormat = "text") -> None:
    """Every line on stderr in `log_format`: smsgate's, and uvicorn's (its loggers lose their
    own handlers and pass their lines up to this one)."""
    # stderr through a buffer of our own (sys.stderr flushes at every newline), flushed by
    # the handler, open for the whole process; no thread or process names in records (no
    # line shows them, and they cost 2 µs a line).
    stderr = sys.stderr.fileno()
    stream = open(stderr, "w", buffering=1 << 16, closefd=False, encoding="utf-8")  # noqa: SIM115
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    handler = BufferedHandler(stream)
    handler.setFormatter(JsonFormatter() if log_format == "json" else KeyValueFormatter())
    handler.addFilter(RequestFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in UVICORN_LOGGERS:
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers[:] = []
        uvicorn_logger.propagate = True
