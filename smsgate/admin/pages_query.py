"""What the console's pages read from a query string: a search's filter, a page's cursor, a
time in the operator's time zone. A value that cannot be read is an error to show beside the
form, never a 500."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import msgspec
from starlette.requests import Request

from ..core.status import Status
from ..store.base import ConsoleFilter

MAX_OFFSET = 16 * 60  # minutes: every real time zone's offset from UTC is within this


def optional_int(value: str | None) -> int | None:
    """A positive integer, or None for an empty or unreadable one."""
    if value is None or not value.strip().isdigit() or len(value) > 18:
        return None
    return int(value)


class Cursor(msgspec.Struct, frozen=True):
    """A keyset page: the rows before `before` (a seq or an id); None: from the newest."""

    before: int | None = None

    @classmethod
    def of(cls, request: Request) -> Cursor:
        return cls(optional_int(request.query_params.get("before")))


def local_time(value: str, offset_minutes: int) -> float:
    """A `datetime-local` value ("2026-12-06T19:20") in a zone `offset_minutes` behind UTC
    (JavaScript's getTimezoneOffset(): -180 in Moscow) as a Unix time. ValueError if not."""
    if len(value) > 32:
        raise ValueError(value)
    naive = datetime.fromisoformat(value.strip())
    if naive.tzinfo is not None:
        return naive.timestamp()
    return (naive.replace(tzinfo=UTC) + timedelta(minutes=offset_minutes)).timestamp()


class SearchForm(msgspec.Struct, kw_only=True):
    """A message search as the form gave it (every value as typed, for the form to show)."""

    id: str = ""
    phone: str = ""
    client_ref: str = ""
    account: str = ""
    job: str = ""
    status: str = ""
    dialect: str = ""
    since: str = ""
    until: str = ""
    tz: str = ""  # minutes behind UTC, from the browser (static/console.js); none: UTC

    @classmethod
    def of(cls, request: Request) -> SearchForm:
        fields = cls.__struct_fields__
        given = {k: v.strip()[:200] for k, v in request.query_params.items() if k in fields}
        return cls(**given)

    def filter(self) -> tuple[ConsoleFilter, list[str]]:
        """The store's filter, and what could not be read (the search then finds nothing)."""
        errors: list[str] = []
        account = None
        if self.account:
            account = optional_int(self.account)
            if account is None:
                errors.append("The account is its number (see Accounts).")
        if self.status and self.status not in Status.__members__.values():
            errors.append(f"No status {self.status!r}.")
        offset = 0
        if self.tz:
            read = self.tz.lstrip("-")
            if read.isdigit() and int(read) <= MAX_OFFSET:
                offset = int(self.tz)
        since, until = (
            self._time(self.since, offset, errors),
            self._time(self.until, offset, errors),
        )
        phone = self.phone.lstrip("+").replace(" ", "")
        flt = ConsoleFilter(
            message_id=self.id or None,
            account_id=account,
            phone=phone or None,
            client_ref=self.client_ref or None,
            job_id=self.job or None,
            status=self.status or None,
            dialect=self.dialect or None,
            since=since,
            until=until,
        )
        return flt, errors

    @staticmethod
    def _time(value: str, offset: int, errors: list[str]) -> float | None:
        if not value:
            return None
        try:
            return local_time(value, offset)
        except ValueError:
            errors.append(f"Not a date and time: {value!r}.")
            return None

    def query(self, **changes: str) -> str:
        """This search as a query string, with `changes` (the next page's cursor)."""
        values = {k: v for k, v in msgspec.structs.asdict(self).items() if v}
        values.update(changes)
        return urlencode(values)
