"""MsgHub JSONv2 as a carrier (`kind = "msghub"`): docs/upstreams.md#msghub.

`url` is the API's start URL with our client id: `[JSONv2_URL]/{client_id}`. One message goes
by `json2/simple`; more by `json2/broadcast/sync` when they share their text, else by
`json2/batch/sync`: their answers name each message's id (the plain `batch` and `broadcast`
answer only a job id). Our message id is the `extra_id`, so a message is
found by our own reference (`dr/external/{extra_id}/simple`) after a lost answer. Outcomes come
as DR pushes to `dr_url` (one report or an array of them) and by the simple DR pull.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

import msgspec

from ...core.errors import ErrorCode
from ...core.models import Message, Report
from ..base import ReportSink
from .base import (
    Answer,
    BadAnswer,
    HttpConnector,
    http_refusal,
    refused,
    sendable_texts,
    taken,
)
from .msghub_codes import error_of, status_of

TTL_MIN, TTL_MAX = 300, 259_200  # the seed's bounds of `ttl` (seconds)
TTL_DEFAULT = 86_400  # a message with no expiry: a day, as carriers commonly keep an SMS


class MsgHubConnector(HttpConnector):
    kind = "msghub"

    def groups(self, messages: Sequence[Message]) -> list[list[Message]]:
        """A batch shares `alpha_name`: messages grouped by sender, `batch` a request."""
        by_sender: dict[str, list[Message]] = {}
        for m in messages:
            by_sender.setdefault(self._sender(m), []).append(m)
        size = self.config.batch
        return [g[i : i + size] for g in by_sender.values() for i in range(0, len(g), size)]

    async def send(self, group: Sequence[Message]) -> list[Report]:
        now = time.time()
        sendable, bad = sendable_texts(group, now)
        if len(sendable) == 1:
            return bad + await self._simple(sendable[0], now)
        if sendable:
            return bad + await self._batch(sendable, now)
        return bad

    async def _simple(self, m: Message, now: float) -> list[Report]:
        body: dict[str, Any] = {"phone_number": _number(m), "extra_id": m.id}
        if self.config.dr_url:
            body["callback_url"] = self.config.dr_url
        if m.tag:
            body["tag"] = m.tag[:64]
        body["channels"] = ["sms"]
        sms = {"text": m.text, "alpha_name": self._sender(m), "ttl": _ttl([m], now)}
        body["channel_options"] = {"sms": sms}
        answer = await self._post("send", "/json2/simple", body)
        refusal = _refusal(answer)
        if refusal is not None:
            return [_refused_by(m, *refusal, now)]
        carrier_id = _decode(answer.body).get("message_id")
        if not isinstance(carrier_id, str):
            raise BadAnswer(f"no message_id in {answer.body[:200]!r}")
        return [taken(m, carrier_id, now)]

    async def _batch(self, group: Sequence[Message], now: float) -> list[Report]:
        """One text for all (and no "%", which would read as a variable): a broadcast, the
        text sent once; else a batch, a text per message. Both /sync: an id per message."""
        text = group[0].text
        shared = "%" not in text and all(m.text == text for m in group)
        body: dict[str, Any] = {}
        if shared:
            body["recipients"] = [{"phone_number": _number(m), "extra_id": m.id} for m in group]
        else:
            body["messages"] = [
                {"phone_number": _number(m), "extra_id": m.id, "text": m.text} for m in group
            ]
        if self.config.dr_url:
            body["callback_url"] = self.config.dr_url
        body["channels"] = ["sms"]
        sms = {"alpha_name": self._sender(group[0]), "ttl": _ttl(group, now)}
        body["channel_options"] = {"sms": {"text": text, **sms} if shared else sms}
        if shared:
            answer = await self._post("broadcast", "/json2/broadcast/sync", body)
        else:
            answer = await self._post("batch", "/json2/batch/sync", body)
        refusal = _refusal(answer)
        if refusal is not None:
            return [_refused_by(m, *refusal, now) for m in group]
        listed = _decode(answer.body).get("messages")
        if not isinstance(listed, list):
            raise BadAnswer(f"no messages in {answer.body[:200]!r}")
        by_ref = {item.get("extra_id"): item for item in listed if isinstance(item, dict)}
        reports = []
        for m in group:  # one the answer leaves out is in doubt: recover looks it up
            item = by_ref.get(m.id)
            if item is None:
                continue
            if item.get("accepted") and isinstance(item.get("message_id"), str):
                reports.append(taken(m, item["message_id"], now))
            else:
                code = _int(item.get("error_code"))
                text = str(item.get("error_text") or "not accepted")
                reports.append(_refused_by(m, error_of(code) if code else None, text, now))
        return reports

    async def lookup(self, message_id: str, carrier_id: str) -> list[Report] | None:
        path = (
            f"/dr/{quote(carrier_id, safe='')}/simple"
            if carrier_id
            else f"/dr/external/{quote(message_id, safe='')}/simple"
        )
        answer = await self.call("status", "GET", path, self._auth())
        if answer.status == 404:
            return None
        if answer.status != 200:
            raise BadAnswer(f"HTTP {answer.status}: {answer.body[:200]!r}")
        report = _report(_decode(answer.body), message_id)
        if report is None:
            raise BadAnswer(f"not a delivery report: {answer.body[:200]!r}")
        return [report]

    async def read_push(
        self,
        method: str,
        query: Mapping[str, str],
        headers: Mapping[str, str],
        body: bytes,
        sink: ReportSink | None,
    ) -> tuple[int, bytes, list[Report]]:
        """One report (1.4.1) or an array of them (1.4.2); each names our id as `extra_id`."""
        value = _decode_any(body)
        items = value if isinstance(value, list) else [value]
        reports = [r for item in items if (r := _report(item, None)) is not None]
        return 200, b"", reports

    # helpers
    def _sender(self, m: Message) -> str:
        return m.sender or self.config.sender

    def _auth(self) -> dict[str, str]:
        pair = f"{self.config.login}:{self.config.password}".encode()
        return {"Authorization": "Basic " + base64.b64encode(pair).decode()}

    async def _post(self, request: str, path: str, body: dict[str, Any]) -> Answer:
        headers = {**self._auth(), "Content-Type": "application/json"}
        return await self.call(request, "POST", path, headers, msgspec.json.encode(body))


def _number(m: Message) -> int:
    """`phone_number`: international format without "+", a JSON number as in the seed."""
    return int(m.phone.lstrip("+"))


def _ttl(group: Sequence[Message], now: float) -> int:
    """The shortest validity left in the group, within the seed's bounds."""
    left = [m.expires_at - now for m in group if m.expires_at is not None]
    return max(TTL_MIN, min(TTL_MAX, int(min(left)) if left else TTL_DEFAULT))


def _refusal(answer: Answer) -> tuple[ErrorCode | None, str] | None:
    """(canonical error, provider's words) when the answer refuses the request, else None."""
    by_status = http_refusal(answer.status)
    if by_status is not None:
        return by_status, f"HTTP {answer.status}: {answer.body[:100].decode(errors='replace')}"
    try:
        value = msgspec.json.decode(answer.body)
    except msgspec.DecodeError:
        value = None
    if isinstance(value, dict) and "error_code" in value:
        code = _int(value.get("error_code"))
        text = f"{code}: {value.get('error_text', '')}"
        return (error_of(code) if code else ErrorCode.CARRIER_REJECTED), text
    if answer.status >= 400:
        return ErrorCode.BAD_REQUEST, f"HTTP {answer.status}"
    return None


def _refused_by(m: Message, code: ErrorCode | None, text: str, now: float) -> Report:
    if code is ErrorCode.DUPLICATE:  # our extra_id is taken: an earlier attempt of ours
        return taken(m, None, now)
    return refused(m, code or ErrorCode.CARRIER_REJECTED, text, now)


def _report(item: Any, message_id: str | None) -> Report | None:
    """A DR (push or pull) as a Report for our message (by `extra_id`, else by the platform's
    `message_id`, which the router matches); None when it names neither."""
    if not isinstance(item, dict):
        return None
    ours = message_id or item.get("extra_id") or ""  # "": named by the platform's id alone
    carrier_id = item.get("message_id")
    if not isinstance(ours, str) or not (ours or isinstance(carrier_id, str)):
        return None
    status, error = status_of(
        _int(item.get("status")), _int(item.get("substatus")), _int(item.get("msghub_status"))
    )
    raw = item.get("msghub_status") or item.get("error_code")
    at = _int(item.get("time"))
    return Report(
        message_id=ours,
        status=status,
        carrier_id=carrier_id if isinstance(carrier_id, str) else None,
        error_code=error.value if error is not None else None,
        carrier_error=str(raw) if error is not None and raw is not None else None,
        at=at / 1000 if at else time.time(),
    )


def _int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return None


def _decode(body: bytes) -> dict[str, Any]:
    value = _decode_any(body)
    if not isinstance(value, dict):
        raise BadAnswer(f"not a JSON object: {body[:200]!r}")
    return value


def _decode_any(body: bytes) -> Any:
    try:
        return msgspec.json.decode(body)
    except msgspec.DecodeError as exc:
        raise BadAnswer(f"not JSON: {body[:200]!r}") from exc
