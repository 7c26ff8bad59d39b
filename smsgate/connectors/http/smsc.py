"""SMSC.ru's HTTP API as a carrier: send.php (several phones in one request), status.php,
balance.php, and the status push to our handler, checked by its md5 or sha1 signature.

SMSC.ru keys a message by the client's `id` and the phone: one request sends one text to
several phones under one `id` (ours: the first message's id), and each message is known there
as `id:phone` (its carrier id here). That id is chosen before the request is written, so it is
in the connector log before anything leaves: `recover` asks status.php for it, and a message
SMSC.ru already has is never sent twice. Requests are POSTed (credentials in the body, never in
a URL), `fmt=3` (JSON answers), `charset=utf-8`, `err=1` (the answer names each phone nothing
was sent to, with its status and error).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlencode

from ...core import payload
from ...core.errors import ErrorCode
from ...core.models import Message, Report
from ...core.money import to_micros
from ...core.status import Status
from ...store.base import ConnectorEntry
from ..base import Incoming, ReportSink
from . import smsc_codes as codes
from . import smsc_push
from .base import BadAnswer, HttpConnector, http_refusal, refused, taken

log = logging.getLogger("smsgate.upstream")

FORM = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
PLANNED = "planned"  # connector-log outcome: the carrier id SMSC.ru will know a message by
VALID_MAX = 24 * 60  # minutes: SMSC.ru's longest (and default) lifetime


def carrier_id(smsc_id: str, phone: str) -> str:
    return f"{smsc_id}:{digits(phone)}"


def digits(phone: str) -> str:
    return phone.lstrip("+")


class SmscConnector(HttpConnector):
    kind = "smsc"

    # Requests ----------------------------------------------------------------------------------
    def credentials(self) -> dict[str, str]:
        if self.config.token:
            return {"apikey": self.config.token}
        return {"login": self.config.login, "psw": self.config.password}

    async def post(self, request: str, path: str, fields: Mapping[str, str]) -> tuple[int, Any]:
        """POST a form; (HTTP status, the JSON answer or None when the body is no JSON)."""
        form = {**self.credentials(), **fields, "fmt": "3", "charset": "utf-8"}
        answer = await self.call(request, "POST", path, FORM, urlencode(form).encode())
        try:
            return answer.status, json.loads(answer.body)
        except ValueError:
            return answer.status, None

    # Sending -----------------------------------------------------------------------------------
    def groups(self, messages: Sequence[Message]) -> list[list[Message]]:
        """One request per text, sender and kind, each phone once, `batch` phones at most."""
        buckets: dict[tuple[str, str, bool, str], list[tuple[list[Message], set[str]]]] = {}
        for m in messages:
            chunks = buckets.setdefault((m.sender or "", m.text, m.flash, m.encoding), [])
            if not chunks or len(chunks[-1][0]) >= self.config.batch or m.phone in chunks[-1][1]:
                chunks.append(([], set()))
            chunk, phones = chunks[-1]
            chunk.append(m)
            phones.add(m.phone)
        return [chunk for chunks in buckets.values() for chunk, _ in chunks]

    async def send(self, group: Sequence[Message]) -> list[Report]:
        first = group[0]
        smsc_id = first.id
        now = time.time()
        await self.store.connector_log_add(
            self.name,
            [
                ConnectorEntry(
                    message_id=m.id,
                    carrier_id=carrier_id(smsc_id, m.phone),
                    submitted_at=now,
                    outcome=PLANNED,
                )
                for m in group
            ],
        )
        fields = {
            "phones": ",".join(digits(m.phone) for m in group),
            "mes": "" if first.encoding in (payload.HLR, payload.PING) else first.text,
            "id": smsc_id,
            "err": "1",
            **kind_fields(first),
        }
        sender = first.sender or self.config.sender
        if sender:
            fields["sender"] = sender
        valid = validity(group, now)
        if valid:
            fields["valid"] = valid
        status, answer = await self.post("send", "/sys/send.php", fields)
        return self._sent(group, smsc_id, status, answer, now)

    def _sent(
        self, group: Sequence[Message], smsc_id: str, status: int, answer: Any, now: float
    ) -> list[Report]:
        if status != 200 or not isinstance(answer, dict):
            code = http_refusal(status)
            if code is None and status < 300:
                raise BadAnswer(f"HTTP {status}: not SMSC.ru's JSON answer")
            text = f"HTTP {status}"
            return [refused(m, code or ErrorCode.CARRIER_REJECTED, text, now) for m in group]
        if "error_code" in answer:
            error = _int(answer.get("error_code"))
            if error == codes.DUPLICATE:  # our id to these phones again: SMSC.ru has them
                return [taken(m, carrier_id(smsc_id, m.phone), now) for m in group]
            text = f"{error} {answer.get('error', '')}".strip()
            return [refused(m, codes.error_code(error), text, now) for m in group]
        failed = _failed_phones(answer.get("phones"))
        reports = []
        for m in group:
            failure = failed.get(digits(m.phone))
            if failure is None:
                reports.append(taken(m, carrier_id(smsc_id, m.phone), now))
            else:
                reports.append(refused(m, failure[0], failure[1], now))
        return reports

    # Outcomes ----------------------------------------------------------------------------------
    async def lookup(self, message_id: str, carrier_id: str) -> list[Report] | None:
        """status.php for `id:phone`; before an answer named it, the id the connector log
        planned for the message. None when SMSC.ru has no such message (status -3)."""
        if not carrier_id:
            carrier_id = await self._planned(message_id)
            if not carrier_id:
                return None  # no request was ever planned: nothing can have left
        smsc_id, _, phone = carrier_id.rpartition(":")
        status, answer = await self.post(
            "status", "/sys/status.php", {"id": smsc_id, "phone": phone}
        )
        if status != 200 or not isinstance(answer, dict):
            raise BadAnswer(f"status: HTTP {status}: not SMSC.ru's JSON answer")
        if "error_code" in answer:
            raise BadAnswer(f"status: error {answer.get('error_code')} {answer.get('error', '')}")
        code = _int(answer.get("status"))
        if code == codes.NOT_FOUND:
            return None
        return [_report(message_id, carrier_id, code, _int(answer.get("err")), time.time())]

    async def _planned(self, message_id: str) -> str:
        entries = await self.store.connector_log_find(self.name, [message_id])
        planned = [e.carrier_id for e in entries if e.outcome == PLANNED and e.carrier_id]
        return planned[-1] if planned else ""

    async def read_push(
        self,
        method: str,
        query: Mapping[str, str],
        headers: Mapping[str, str],
        body: bytes,
        sink: ReportSink | None,
    ) -> tuple[int, bytes, list[Report]]:
        """A status or incoming-SMS push (smsc_push). Its md5 or sha1 must match `dr_secret`;
        one without, or with a wrong one, is answered 403 and read no further (SMSC.ru tries
        again: a secret fixed later still gets it). Incoming SMS go to the sink."""
        try:
            push = smsc_push.read(query, headers, body)
        except smsc_push.BadPush as exc:
            raise BadAnswer(str(exc)) from None
        if not smsc_push.is_signed(push, self.config.dr_secret):
            log.warning("upstream %s: a %s push with no valid signature, refused", self.name,
                        push.kind)  # fmt: skip
            return 403, b"bad signature", []
        if push.kind == "mo":
            await self._incoming(push.fields, sink)
            return 200, b"OK", []
        if push.kind == "call":
            log.info("upstream %s: a number-confirming call push, not taken", self.name)
            return 200, b"OK", []
        return 200, b"OK", await self._status_push(push.fields)

    async def _status_push(self, fields: Mapping[str, str]) -> list[Report]:
        try:
            smsc_id, phone, status = fields["id"], fields["phone"], _int(fields["status"])
        except KeyError as exc:
            raise BadAnswer(f"a status push without {exc.args[0]}") from None
        err = _int(fields.get("err"))
        mapped = codes.status_of(status, err)
        if mapped is None or not mapped[0].is_final:
            return []
        cid = carrier_id(smsc_id, phone)
        message_id = smsc_id if await self._planned(smsc_id) == cid else ""
        return [_report(message_id, cid, status, err, _stamp(fields.get("ts")))]

    async def _incoming(self, fields: Mapping[str, str], sink: ReportSink | None) -> None:
        if not fields.get("phone"):
            return
        if sink is None:  # a connector neither started nor handed a sink: only in tests
            log.warning("upstream %s: an incoming-SMS push with nowhere to go, dropped", self.name)
            return
        mo = Incoming(
            phone="+" + fields["phone"].lstrip("+"),
            to=fields.get("to", ""),
            text=fields.get("mes", ""),
            at=_stamp(fields.get("time") or fields.get("sent")),
        )
        await sink.incoming([mo])

    async def balance(self) -> int | None:
        status, answer = await self.post("balance", "/sys/balance.php", {})
        if status != 200 or not isinstance(answer, dict) or "balance" not in answer:
            raise BadAnswer(f"balance: HTTP {status}: {str(answer)[:100]}")
        return to_micros(str(answer["balance"]))


def kind_fields(message: Message) -> dict[str, str]:
    """send.php's flags for what the message carries."""
    fields = {"flash": "1"} if message.flash else {}
    if message.encoding in (payload.BINARY, payload.BINARY_UDH):
        fields["bin"] = "2"  # mes holds the octets in hex (a leading UDH goes as the UDH)
    elif message.encoding == payload.HLR:
        fields["hlr"] = "1"
    elif message.encoding == payload.PING:
        fields["ping"] = "1"
    return fields


def validity(group: Sequence[Message], now: float) -> str | None:
    """send.php's `valid` (hh:mm, 00:01..24:00): the time the earliest to expire has left;
    None when none expires or all outlive SMSC.ru's own 24 hours."""
    left = [m.expires_at - now for m in group if m.expires_at is not None]
    if not left or min(left) >= VALID_MAX * 60:
        return None
    minutes = max(1, int(min(left) // 60))
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _failed_phones(entries: Any) -> dict[str, tuple[ErrorCode, str]]:
    """err=1's list: phone -> (refusal, SMSC.ru's words), for phones nothing was sent to."""
    failed: dict[str, tuple[ErrorCode, str]] = {}
    for entry in entries if isinstance(entries, list) else ():
        if not isinstance(entry, dict):
            continue
        status, err = _int(entry.get("status")), _int(entry.get("error"))
        mapped = codes.status_of(status, err)
        if mapped is None or not mapped[0].is_final or mapped[0] is Status.DELIVERED:
            continue  # sent before under this id: SMSC.ru has it
        code = mapped[1] or ErrorCode.CARRIER_REJECTED
        failed[digits(str(entry.get("phone", "")))] = (code, f"status {status} err {err}")
    return failed


def _report(message_id: str, cid: str, status: int, err: int, at: float) -> Report:
    mapped = codes.status_of(status, err)
    if mapped is None or not mapped[0].is_final:
        return Report(message_id=message_id, status=Status.SUBMITTED, carrier_id=cid, at=at)
    canonical, error = mapped
    return Report(
        message_id=message_id,
        status=canonical,
        carrier_id=cid,
        error_code=error.value if error else None,
        carrier_error=f"status {status} err {err}" if error else None,
        at=at,
    )


def _stamp(value: str | None) -> float:
    """A push's time stamp (seconds), or now."""
    return float(value) if value and value.isdigit() else time.time()


def _int(value: Any) -> int:
    try:
        return int(str(value).strip())
    except ValueError:
        return 0
