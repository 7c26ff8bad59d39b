"""OsonSMS's HTTP API as a carrier: sendsms_v1.php, query_sms.php, check_balance.php.

Every request is a GET signed with `str_hash`, the sha256 of its fields and `pass_salt_hash`
(the connector's `password`), in the order the seed gives for each call; the salt itself never
travels. One message a request (the API has no batch but its CSV cabinet upload).

`txn_id` is our message id: the provider refuses a second message with the same `txn_id`
(409, code 108), so a request whose answer was lost is sent again safely, as the seed advises
("the SMS will not be sent twice"). A 108 is read as "taken before": the provider has the
message, but its `msg_id` is not known, so its fate cannot be asked: UNKNOWN (docs/upstreams.md).
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlencode

from ...core.errors import ErrorCode
from ...core.models import Message, Report
from ...core.money import to_micros
from ...core.status import Status
from . import osonsms_codes as codes
from .base import BadAnswer, HttpConnector, http_refusal, refused, sendable_texts, taken


def str_hash(*fields: str) -> str:
    """The seed's `str_hash`: sha256 of the fields joined by ';', as lowercase hex."""
    return hashlib.sha256(";".join(fields).encode()).hexdigest()


def digits(phone: str) -> str:
    return phone.lstrip("+")  # the seed's 992XXXXXXXXX: no plus


class OsonSmsConnector(HttpConnector):
    kind = "osonsms"

    def groups(self, messages: Sequence[Message]) -> list[list[Message]]:
        return [[m] for m in messages]

    def headers(self) -> dict[str, str]:
        """A Bearer token where one is configured (the provider's newer clients send both)."""
        return {"Authorization": f"Bearer {self.config.token}"} if self.config.token else {}

    async def get(self, request: str, path: str, fields: dict[str, str]) -> tuple[int, Any]:
        """(HTTP status, the JSON answer or None when the body is no JSON)."""
        answer = await self.call(request, "GET", f"{path}?{urlencode(fields)}", self.headers())
        try:
            return answer.status, json.loads(answer.body)
        except ValueError:
            return answer.status, None

    async def send(self, group: Sequence[Message]) -> list[Report]:
        (message,) = group
        sendable, refusals = sendable_texts(group, time.time())
        if not sendable:
            return refusals  # binary data, an HLR query, a ping: no form for them here
        login, salt = self.config.login, self.config.password
        sender = message.sender or self.config.sender
        phone = digits(message.phone)
        fields = {
            "from": sender,
            "phone_number": phone,
            "msg": message.text,
            "login": login,
            "str_hash": str_hash(message.id, login, sender, phone, salt),
            "txn_id": message.id,
        }
        if message.confidential:
            fields["is_confidential"] = "true"
        status, answer = await self.get("send", "/sendsms_v1.php", fields)
        now = time.time()
        if status in (200, 201) and isinstance(answer, dict) and answer.get("status") == "ok":
            return [taken(message, str(answer.get("msg_id", "")) or None, now)]
        code, text = _error(answer)
        if code == codes.DUPLICATE_TXN:
            return [_taken_before(message, text, now)]
        if code is None and status < 300:
            raise BadAnswer(f"HTTP {status}: not OsonSMS's answer")
        canonical = codes.error_code(code, status) if code is not None else _by_status(status)
        return [refused(message, canonical, text or f"HTTP {status}", now)]

    async def lookup(self, message_id: str, carrier_id: str) -> list[Report] | None:
        """query_sms.php by `msg_id` (and our `txn_id`); None when the provider does not know
        the message. Without a `msg_id` the seed's provider cannot be asked (it requires one):
        None at once (sending again is safe), unless a Bearer token is configured (smsgate's own
        osonsms dialect then finds a message by `txn_id` alone)."""
        if not carrier_id and not self.config.token:
            return None
        login = self.config.login
        fields = {
            "login": login,
            "str_hash": str_hash(login, message_id, self.config.password),
            "txn_id": message_id,
        }
        if carrier_id:
            fields["msg_id"] = carrier_id
        status, answer = await self.get("status", "/query_sms.php", fields)
        if status == 200 and isinstance(answer, dict) and isinstance(answer.get("status"), str):
            return [_report(message_id, carrier_id, answer["status"])]
        code, text = _error(answer)
        if status == 404 or code == 100:
            return None  # unknown, or not to be found by our reference alone
        raise BadAnswer(f"status: HTTP {status}: {code} {text}")

    async def balance(self) -> int | None:
        login, nonce = self.config.login, uuid.uuid4().hex  # txn_id: a nonce for the hash
        fields = {
            "login": login,
            "str_hash": str_hash(nonce, login, self.config.password),
            "txn_id": nonce,
        }
        status, answer = await self.get("balance", "/check_balance.php", fields)
        if status != 200 or not isinstance(answer, dict) or "balance" not in answer:
            code, text = _error(answer)
            raise BadAnswer(f"balance: HTTP {status}: {code} {text}")
        return to_micros(str(answer["balance"]))


def _error(answer: Any) -> tuple[int | None, str]:
    """The seed's `{"error": {"code", "msg"}}`: (code, "code msg"), or (None, "")."""
    error = answer.get("error") if isinstance(answer, dict) else None
    if not isinstance(error, dict):
        return None, ""
    try:
        code = int(str(error.get("code")))
    except ValueError:
        return None, ""
    return code, f"{code} {error.get('msg', '')}".strip()


def _taken_before(message: Message, text: str, now: float) -> Report:
    """409/108: this txn_id went before (an answer that was lost), so the provider has the
    message, and its `msg_id` cannot be learnt: UNKNOWN, which no status pull follows."""
    return Report(message_id=message.id, status=Status.UNKNOWN, carrier_error=text[:200], at=now)


def _by_status(status: int) -> ErrorCode:
    return http_refusal(status) or codes.error_code(None, status)


def _report(message_id: str, carrier_id: str, word: str) -> Report:
    now = time.time()
    mapped = codes.status_of(word)
    if mapped is None or not mapped[0].is_final:
        status = mapped[0] if mapped else Status.SUBMITTED
        return Report(message_id=message_id, status=status, carrier_id=carrier_id or None, at=now)
    canonical, error = mapped
    return Report(
        message_id=message_id,
        status=canonical,
        carrier_id=carrier_id or None,
        error_code=error.value if error else None,
        carrier_error=word if error else None,
        at=now,
    )
