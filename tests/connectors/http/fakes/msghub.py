"""A fake Beeline MsgHub JSONv2 platform, from seeds/msghub-jsonv2.txt (not from our dialect).

Serves `[JSONv2_URL]/{client_id}/json2/simple`, `json2/batch/sync`, `json2/broadcast/sync`,
`dr/{message_id}/simple` and `dr/external/{extra_id}/simple`, with HTTP Basic auth, answering
the seed's example bodies.
A message taken is "being delivered" (status -1: no final status yet) until `finish` gives it
its final numbers; with `auto_finish` the next status request finds it delivered (2/23/23011),
unless `never_report`. Phones in `outcomes` end as given there (status, substatus,
msghub_status), e.g. the seed's expired one: (3, 35, 35015).
"""

from __future__ import annotations

import re
import time
import uuid
from functools import partial
from typing import Any

from .base import FakeProvider, Reply, Request

CLIENT_ID = "4567"
PREFIX = f"/msghub/api/{CLIENT_ID}"
DELIVERED = (2, 23, 23011)  # the seed's "SMS delivered"
EXPIRED = (3, 35, 35015)  # the seed's "SMS expired"
PHONE_INCORRECT = {"error_code": 36024, "error_text": "Phone number incorrect"}
SMS_REQUIRED = ("text", "alpha_name", "ttl")


class FakeMsgHub(FakeProvider):
    def __init__(self, login: str = "user", password: str = "pa55-Xq9") -> None:
        super().__init__()
        self.login, self.password = login, password
        self.messages: dict[str, dict[str, Any]] = {}  # message_id -> what was taken
        self.by_extra: dict[str, str] = {}  # extra_id -> message_id
        self.outcomes: dict[str, tuple[int, int, int]] = {}  # phone -> final numbers
        self.auto_finish = True
        self.refuse_phones: set[str] = set()  # answered 36024 "Phone number incorrect"

    @property
    def api(self) -> str:
        return self.url + PREFIX

    def handle(self, request: Request) -> Reply:
        if request.basic() != (self.login, self.password):
            return Reply.json(401, {"error_code": 10001, "error_text": "Unauthorized"})
        path = request.path.removeprefix(PREFIX)
        if request.method == "POST" and path == "/json2/simple":
            return self._simple(request)
        if request.method == "POST" and path == "/json2/batch/sync":
            return self._batch(request)
        if request.method == "POST" and path == "/json2/broadcast/sync":
            return self._broadcast(request)
        if request.method == "GET" and path.startswith("/dr/") and path.endswith("/simple"):
            ref = path.removeprefix("/dr/").removesuffix("/simple")
            if ref.startswith("external/"):
                return self._report(self.by_extra.get(ref.removeprefix("external/"), ""))
            return self._report(ref)
        return Reply.json(404, {"error_code": 10010, "error_text": "Not found"})

    def _simple(self, request: Request) -> Reply:
        body = request.json()
        sms = body.get("channel_options", {}).get("sms", {})
        if not request.headers.get("content-type", "").startswith("application/json"):
            return Reply.json(400, {"error_code": 10004, "error_text": "Content-Type"})
        if body.get("channels") != ["sms"] or any(k not in sms for k in SMS_REQUIRED):
            return Reply.json(400, {"error_code": 10005, "error_text": "Mandatory parameter"})
        phone = str(body.get("phone_number", ""))
        if not phone.isdigit() or phone in self.refuse_phones:
            return Reply.json(400, PHONE_INCORRECT)
        message_id = self._take(phone, body.get("extra_id"), sms["text"])
        return Reply.json(200, {"message_id": message_id})

    def _batch(self, request: Request, items: list[dict[str, Any]] | None = None) -> Reply:
        body = request.json()
        sms = body.get("channel_options", {}).get("sms", {})
        if any(k not in sms for k in ("alpha_name", "ttl")) or body.get("channels") != ["sms"]:
            return Reply.json(400, {"error_code": 10005, "error_text": "Mandatory parameter"})
        answer = []
        for item in body["messages"] if items is None else items:
            phone = str(item.get("phone_number", ""))
            if not phone.isdigit() or phone in self.refuse_phones:
                answer.append({"processed": False, "phone_number": phone,
                               "extra_id": item.get("extra_id"), "accepted": False,
                               **PHONE_INCORRECT})  # fmt: skip
                continue
            message_id = self._take(phone, item.get("extra_id"), item["text"])
            answer.append({"processed": True, "phone_number": phone, "message_id": message_id,
                           "extra_id": item.get("extra_id"), "accepted": True})  # fmt: skip
        return Reply.json(200, {"messages": answer})

    def _broadcast(self, request: Request) -> Reply:
        """1.3.2: one text, `%variables%` from each recipient; answered as 1.3.3's sync."""
        body = request.json()
        sms = body.get("channel_options", {}).get("sms", {})
        if any(k not in sms for k in SMS_REQUIRED) or body.get("channels") != ["sms"]:
            return Reply.json(400, {"error_code": 10005, "error_text": "Mandatory parameter"})
        items = [
            {**r, "text": re.sub(r"%(\w+)%", partial(_value, r), sms["text"])}
            for r in body["recipients"]
        ]
        return self._batch(request, items)

    def _take(self, phone: str, extra_id: str | None, text: str) -> str:
        message_id = str(uuid.uuid4())
        self.messages[message_id] = {
            "phone_number": phone, "extra_id": extra_id, "text": text,
            "time": int(time.time() * 1000), "final": None,
        }  # fmt: skip
        if extra_id:
            self.by_extra[extra_id] = message_id
        return message_id

    def finish(self, message_id: str, numbers: tuple[int, int, int] = DELIVERED) -> None:
        self.messages[message_id]["final"] = numbers

    def _report(self, message_id: str) -> Reply:
        m = self.messages.get(message_id)
        if m is None:
            return Reply.json(404, {"error_code": 10010, "error_text": "Message not found"})
        if m["final"] is None and self.auto_finish and not self.never_report:
            m["final"] = self.outcomes.get(m["phone_number"], DELIVERED)
        report = {"phone_number": m["phone_number"], "last_partner": "sms",
                  "message_id": message_id, "extra_id": m["extra_id"], "time": m["time"]}  # fmt: skip
        if m["final"] is None:
            report.update(status=-1)
        else:
            status, substatus, full = m["final"]
            report.update(status=status, substatus=substatus, msghub_status=full,
                          total_sms_parts=1, delivered_sms_parts=int(status == 2))  # fmt: skip
        return Reply.json(200, report)


def _value(recipient: dict[str, Any], variable: re.Match[str]) -> str:
    """A `%variable%` of a broadcast's text: the recipient's value, or the text as it was."""
    return str(recipient.get(variable[1], variable[0]))
