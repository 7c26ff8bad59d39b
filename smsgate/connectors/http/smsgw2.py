"""Kcell SMSGW2 REST v2 as a carrier (`kind = "smsgw2"`): docs/upstreams.md#smsgw2.

`url` is the REST base, `https://api.kcell.kz/app/smsgw/rest/v2`; HTTP Basic with `login` and
`password`. One message goes by `POST /messages`, more by `POST /batches` (fail-fast off: a bad
message in a batch is reported by its own status), after which `GET /batches/:batch_id` names
each message's id. Our message id is the `client_message_id`, so a message is found by our own
reference (`/users/:login/client_messages/:id`) after a lost answer. Outcomes come as
`delivery_report` pushes to `dr_url` (the provider's settings, not the request, name it) and by
the status pull; `incoming_report` pushes are MO, handed to the sink.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

import msgspec

from ...core.errors import ErrorCode
from ...core.models import Message, Report
from ..base import Incoming, ReportSink
from .base import (
    Answer,
    BadAnswer,
    HttpConnector,
    http_refusal,
    refused,
    sendable_texts,
    taken,
)
from .smsgw2_codes import DUPLICATE, code_in_text, error_of, status_of

ZONE = "Asia/Almaty"  # the provider's local time, where `timezone` is not set
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
ACCEPT = "application/json, text/plain, */*"  # the seed's example requests' headers
CONTENT_TYPE = "application/json;charset=utf-8"


class Smsgw2Connector(HttpConnector):
    kind = "smsgw2"

    async def send(self, group: Sequence[Message]) -> list[Report]:
        now = time.time()
        sendable, bad = sendable_texts(group, now)
        if len(sendable) == 1:
            return bad + await self._single(sendable[0], now)
        if sendable:
            return bad + await self._batch(sendable, now)
        return bad

    async def _single(self, m: Message, now: float) -> list[Report]:
        answer = await self._post("send", "/messages", self._item(m))
        refusal = _refusal(answer)
        if refusal is not None:
            return [_refused_by(m, *refusal, now)]
        return [taken(m, _id(_object(answer.body), "message_id"), now)]

    async def _batch(self, group: Sequence[Message], now: float) -> list[Report]:
        answer = await self._post("batch", "/batches", {"messages": [self._item(m) for m in group]})
        refusal = _refusal(answer)
        if refusal is not None:
            return [_refused_by(m, *refusal, now) for m in group]
        ids = await self._batch_ids(_id(_object(answer.body), "batch_id"))
        return [taken(m, ids.get(m.id), now) for m in group]

    async def lookup(self, message_id: str, carrier_id: str) -> list[Report] | None:
        if carrier_id:
            path = f"/messages/{quote(carrier_id, safe='')}"
        else:
            path = f"/users/{quote(self.config.login, safe='')}/client_messages/"
            path += quote(message_id, safe="")
        answer = await self.call("status", "GET", path, self._headers())
        if answer.status == 404:
            return None
        if answer.status != 200:
            raise BadAnswer(f"HTTP {answer.status}: {answer.body[:200]!r}")
        report = self._report(_object(answer.body), message_id)
        if report is None:
            raise BadAnswer(f"not a message: {answer.body[:200]!r}")
        return [report]

    async def read_push(
        self,
        method: str,
        query: Mapping[str, str],
        headers: Mapping[str, str],
        body: bytes,
        sink: ReportSink | None,
    ) -> tuple[int, bytes, list[Report]]:
        """`{"delivery_report": [...]}` or `{"incoming_report": [...]}`; answered 204, which
        the seed names first among the answers SMSGW2 takes as received."""
        value = _object(body)
        items, received = value.get("delivery_report") or [], value.get("incoming_report") or []
        if not isinstance(items, list) or not isinstance(received, list):
            raise BadAnswer(f"not a list of reports: {body[:200]!r}")
        reports = [r for i in items if (r := self._report(i, None)) is not None]
        incoming = [mo for i in received if (mo := self._mo(i))]
        if incoming and sink is not None:
            await sink.incoming(incoming)
        return 204, b"", reports

    # requests and answers
    def _item(self, m: Message) -> dict[str, Any]:
        """One message as the seed's request shows it, and its optional parameters."""
        item: dict[str, Any] = {
            "client_message_id": m.id,
            "sender": m.sender or self.config.sender,
            "recipient": m.phone.lstrip("+"),
            "message_text": m.text,
            # Not the provider's default ("def": weekdays 9 to 18): our dispatcher has
            # already kept the message's own window, and sends when it is due.
            "time_bounds": "full",
        }
        if m.priority > 0:
            item["priority"] = min(m.priority, 3)  # 0 bulk .. 3 emergency
        if m.expires_at is not None:
            item["expire_date"] = self._time(m.expires_at)
        if m.flash:
            item["flash"] = True
        return item

    async def _batch_ids(self, batch_id: str) -> dict[str, str]:
        """Our message id -> the provider's, from the batch's listing ({} if it cannot say)."""
        try:
            answer = await self.call("batch status", "GET", f"/batches/{quote(batch_id)}",
                                     self._headers())  # fmt: skip
            listed = msgspec.json.decode(answer.body) if answer.status == 200 else []
        except (OSError, TimeoutError, msgspec.DecodeError):
            return {}  # the pull asks by our own reference instead
        if not isinstance(listed, list):
            return {}
        return {
            str(i["client_message_id"]): str(i["message_id"])
            for i in listed
            if isinstance(i, dict) and i.get("client_message_id") and i.get("message_id")
        }

    def _report(self, item: Any, message_id: str | None) -> Report | None:
        """A message's status (DR push or pull) as a Report for our message (by
        `client_message_id`, else by the provider's `message_id`, which the router matches)."""
        if not isinstance(item, dict):
            return None
        ours = message_id or item.get("client_message_id") or ""  # "": by the provider's id
        carrier_id = item.get("message_id")
        if not (ours or carrier_id) or not isinstance(
            item.get("status", item.get("message_status")), str
        ):
            return None
        code = _int(item.get("error_code"))
        status, error = status_of(str(item.get("status") or item.get("message_status")), code)
        raw = f"{code}: {item.get('error_message') or ''}".strip() if code else None
        return Report(
            message_id=str(ours),
            status=status,
            carrier_id=str(carrier_id) if carrier_id is not None else None,
            error_code=error.value if error is not None else None,
            carrier_error=raw if error is not None else None,
            at=self._parse_time(item.get("status_time")),
        )

    def _mo(self, item: Any) -> Incoming | None:
        if not isinstance(item, dict) or not item.get("sender") or not item.get("recipient"):
            return None
        return Incoming(
            phone="+" + str(item["sender"]).lstrip("+"),
            to=str(item["recipient"]),
            text=str(item.get("text") or ""),
            at=self._parse_time(item.get("receive_time")),
        )

    def _zone(self) -> ZoneInfo:
        return ZoneInfo(self.config.timezone or ZONE)

    def _time(self, ts: float) -> str:
        return datetime.fromtimestamp(ts, self._zone()).strftime(TIME_FORMAT)

    def _parse_time(self, value: object) -> float:
        """The provider's 'YYYY-MM-DD HH:mm:ss' in its zone; now when absent or unreadable."""
        if isinstance(value, str):
            try:
                when = datetime.strptime(" ".join(value.split()), TIME_FORMAT)
                return when.replace(tzinfo=self._zone()).timestamp()
            except ValueError:
                pass
        return time.time()

    def _headers(self) -> dict[str, str]:
        pair = f"{self.config.login}:{self.config.password}".encode()
        return {"Accept": ACCEPT, "Authorization": "Basic " + base64.b64encode(pair).decode()}

    async def _post(self, request: str, path: str, body: dict[str, Any]) -> Answer:
        headers = {**self._headers(), "Content-Type": CONTENT_TYPE}
        return await self.call(request, "POST", path, headers, msgspec.json.encode(body))


def _refusal(answer: Answer) -> tuple[int | None, ErrorCode, str] | None:
    """(seed code, canonical error, provider's words) of a refusal; None when it was taken."""
    by_status = http_refusal(answer.status)
    text = answer.body[:200].decode(errors="replace")
    if by_status is not None:
        return None, by_status, f"HTTP {answer.status}: {text}"
    if answer.status < 300:
        return None
    try:
        value = msgspec.json.decode(answer.body)
    except msgspec.DecodeError:
        value = None
    if isinstance(value, dict):
        text = str(value.get("error_message") or text)
        code = _int(value.get("error_code")) or code_in_text(text)
    else:
        code = code_in_text(text)
    return code, (error_of(code) if code else ErrorCode.CARRIER_REJECTED), text


def _refused_by(m: Message, code: int | None, error: ErrorCode, text: str, now: float) -> Report:
    if code == DUPLICATE:  # our client_message_id is taken: an earlier attempt of ours
        return taken(m, None, now)
    return refused(m, error, text, now)


def _object(body: bytes) -> dict[str, Any]:
    try:
        value = msgspec.json.decode(body)
    except msgspec.DecodeError as exc:
        raise BadAnswer(f"not JSON: {body[:200]!r}") from exc
    if not isinstance(value, dict):
        raise BadAnswer(f"not a JSON object: {body[:200]!r}")
    return value


def _id(value: dict[str, Any], key: str) -> str:
    """An id from an answer, a string or a number (the seed shows both, and `" batch_id"`)."""
    found = value.get(key, value.get(" " + key))
    if isinstance(found, bool) or not isinstance(found, (str, int)) or found == "":
        raise BadAnswer(f"no {key} in {value!r}"[:200])
    return str(found)


def _int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None
