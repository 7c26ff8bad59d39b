"""Webcom Mobi's (mysmpp) JSON API as a carrier: send (many phones and texts in one request),
status (`json/state.php`), balance (`json/balance.php`).

A send request carries `batch` messages: one `message` entry per sender and text, holding its
phones in order; the answer's `information` has one entry per phone in that order. Each phone
carries `client_id_sms`, our message's sequence number (the seed types it Int): the provider
sends nothing for a number it has seen and returns the earlier `id_sms`. So a request whose
answer was lost is sent again safely: `recover` sends again (the provider's status request
knows only its own `id_sms`), and what the provider had comes back with its id, not twice.
"""

from __future__ import annotations

import hmac
import json
import logging
import time
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from ...core.errors import ErrorCode
from ...core.models import Message, Report
from ...core.money import to_micros
from ...core.status import Status
from ..base import ReportSink
from . import mysmpp_codes as codes
from .base import BadAnswer, HttpConnector, http_refusal, refused, sendable_texts, taken

log = logging.getLogger("smsgate.upstream")

ZONE = "Europe/Moscow"  # the provider's local time, where `timezone` is not set
JSON = {"Content-type": "text/json; charset=utf-8;"}  # the seed's header, as written


def client_id_sms(message: Message) -> str:
    """Our number for the message at the provider (its idempotency key)."""
    return str(message.seq) if message.seq else message.id


class MysmppConnector(HttpConnector):
    kind = "mysmpp"

    def credentials(self) -> dict[str, str]:
        """login and password, or the token (the seed: "a secret key instead")."""
        if self.config.token:
            return {"token": self.config.token}
        return {"login": self.config.login, "password": self.config.password}

    async def post(self, request: str, path: str, fields: dict[str, Any]) -> tuple[int, Any]:
        """(HTTP status, the JSON answer or None when the body is no JSON)."""
        body = json.dumps({**self.credentials(), **fields}, ensure_ascii=False).encode()
        answer = await self.call(request, "POST", path, JSON, body)
        try:
            return answer.status, json.loads(answer.body)
        except ValueError:
            return answer.status, None

    async def send(self, group: Sequence[Message]) -> list[Report]:
        sendable, refusals = sendable_texts(group, time.time())
        if not sendable:
            return refusals  # binary data, HLR queries, pings: no form for them here
        return refusals + await self._send_texts(sendable)

    async def _send_texts(self, group: Sequence[Message]) -> list[Report]:
        entries, order = self.message_entries(group)
        status, answer = await self.post("send", "/json", {"message": entries})
        now = time.time()
        if isinstance(answer, dict) and isinstance(answer.get("information"), list):
            information = answer["information"]
            if len(information) != len(order):
                raise BadAnswer(f"{len(information)} answers for {len(order)} phones")
            return [_sent(m, entry, now) for m, entry in zip(order, information, strict=True)]
        if isinstance(answer, dict) and isinstance(answer.get("error"), str):
            code, text = codes.error_code(answer["error"]), answer["error"]
        elif status < 300:
            raise BadAnswer(f"HTTP {status}: not Webcom's JSON answer")
        else:
            code, text = http_refusal(status) or ErrorCode.CARRIER_REJECTED, f"HTTP {status}"
        return [refused(m, code, text, now) for m in group]

    def message_entries(
        self, group: Sequence[Message]
    ) -> tuple[list[dict[str, Any]], list[Message]]:
        """The seed's `message` list (one entry per sender and text, its phones in order) and
        the messages in the order the answer's `information` names their phones."""
        by_text: dict[tuple[str, str], list[Message]] = {}
        for m in group:
            by_text.setdefault((m.sender or self.config.sender, m.text), []).append(m)
        entries = [
            {
                "type_send_1": "sms",
                "sender": sender,
                "text": text,
                "phones": [self.phone_entry(m) for m in messages],
            }
            for (sender, text), messages in by_text.items()
        ]
        return entries, [m for messages in by_text.values() for m in messages]

    def phone_entry(self, message: Message) -> dict[str, str]:
        """One `phones` entry; `validity_period` when the message expires, in the provider's
        local time (`timezone`, Moscow unless set)."""
        entry = {"phone": message.phone.lstrip("+"), "client_id_sms": client_id_sms(message)}
        if message.expires_at is not None:
            zone = ZoneInfo(self.config.timezone or ZONE)
            at = datetime.fromtimestamp(message.expires_at, zone)
            entry["validity_period"] = at.strftime("%Y-%m-%d %H:%M:%S")
        return entry

    async def lookup(self, message_id: str, carrier_id: str) -> list[Report] | None:
        """The state of `id_sms`; None without one (the provider is then asked by sending again
        under the same `client_id_sms`) or when the provider has no such SMS."""
        if not carrier_id:
            return None
        status, answer = await self.post("status", "/json/state.php", {"id_sms": [carrier_id]})
        entry = _state_entry(answer)
        if entry is None:
            raise BadAnswer(f"status: HTTP {status}: not Webcom's answer")
        state = entry.get("state")
        if not isinstance(state, str):
            return None  # "SMS not found"
        mapped = codes.state_of(state)
        now = time.time()
        if mapped is None or not mapped[0].is_final:
            return [
                Report(
                    message_id=message_id, status=Status.SUBMITTED, carrier_id=carrier_id, at=now
                )
            ]
        canonical, error = mapped
        reason = entry.get("error")
        return [
            Report(
                message_id=message_id,
                status=canonical,
                carrier_id=carrier_id,
                error_code=error.value if error else None,
                carrier_error=(f"{state}: {reason}" if reason else state) if error else None,
                at=now,
            )
        ]

    async def read_push(
        self,
        method: str,
        query: Mapping[str, str],
        headers: Mapping[str, str],
        body: bytes,
        sink: ReportSink | None,
    ) -> tuple[int, bytes, list[Report]]:
        """The status webhook: `[{"id_sms", "time", "state"}, ...]`, answered with the ids
        taken (`[{"id_sms": 17}]`: the provider repeats a push whose ids are not named). The
        webhook carries no signature: the URL registered at the provider must hold `key=`
        our `dr_secret` (compared in constant time), or the push is refused (403)."""
        key, secret = query.get("key", ""), self.config.dr_secret
        if not secret or not hmac.compare_digest(key.encode(), secret.encode()):
            log.warning("upstream %s: a webhook push without our key, refused", self.name)
            return 403, b"", []
        try:
            items = json.loads(body)
        except ValueError:
            raise BadAnswer("a webhook body that is not JSON") from None
        items = items if isinstance(items, list) else [items]
        entries = [i for i in items if isinstance(i, dict) and i.get("id_sms") not in (None, "")]
        reports = [r for i in entries if (r := self._pushed(i)) is not None]
        taken_ids = [{"id_sms": i["id_sms"]} for i in entries]
        return 200, json.dumps(taken_ids).encode(), reports

    def _pushed(self, entry: dict[str, Any]) -> Report | None:
        """A final state of a webhook entry, naming the message by its `id_sms`."""
        mapped = codes.state_of(str(entry.get("state", "")))
        if mapped is None or not mapped[0].is_final:
            return None
        canonical, error = mapped
        return Report(
            message_id="",
            status=canonical,
            carrier_id=str(entry["id_sms"]),
            error_code=error.value if error else None,
            carrier_error=str(entry["state"]) if error else None,
            at=self._time(entry.get("time")),
        )

    def _time(self, value: object) -> float:
        """The provider's `YYYY-MM-DD HH:MM:SS` in its zone; now when absent or unreadable."""
        try:
            at = datetime.strptime(str(value), "%Y-%m-%d %H:%M:%S")
        except ValueError:
            return time.time()
        return at.replace(tzinfo=ZoneInfo(self.config.timezone or ZONE)).timestamp()

    async def balance(self) -> int | None:
        status, answer = await self.post("balance", "/json/balance.php", {})
        if status != 200 or not isinstance(answer, dict) or "money" not in answer:
            raise BadAnswer(f"balance: HTTP {status}: {str(answer)[:100]}")
        return to_micros(str(answer["money"]))


def _sent(message: Message, entry: Any, now: float) -> Report:
    """One phone's answer: an `id_sms` (taken, also a repeat's earlier id) or an `error`."""
    if isinstance(entry, dict) and entry.get("id_sms") not in (None, ""):
        return taken(message, str(entry["id_sms"]), now)
    text = entry.get("error") if isinstance(entry, dict) else None
    if not isinstance(text, str):
        raise BadAnswer(f"an answer entry with neither id_sms nor error: {str(entry)[:100]}")
    return refused(message, codes.error_code(text), text, now)


def _state_entry(answer: Any) -> dict[str, Any] | None:
    """The one entry of a status answer (a list of entries, an object holding them, or the
    entry itself); None for anything else, a whole-request error included."""
    if isinstance(answer, dict):
        held = answer.get("information")
        answer = held if isinstance(held, list) else [answer]
    if isinstance(answer, list) and answer and isinstance(answer[0], dict):
        entry: dict[str, Any] = answer[0]
        return entry if "id_sms" in entry or "state" in entry else None
    return None
