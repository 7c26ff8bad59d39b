"""A fake Kcell SMSGW2 REST v2, from seeds/kcell-smsgw2-rest.txt (not from our dialect).

Serves `POST /messages` (201, `Location`, `{"message_id": ...}`), `POST /batches` (201,
`{"batch_id": ...}`, fail-fast off: a bad message in a batch gets its own UNDELIVERABLE status),
`GET /messages/:id`, `GET /batches/:id` and `GET /users/:user/client_messages/:id`, with HTTP
Basic auth. Refusals are the seed's: HTTP 400 `{"error_message": "..."}` in the seed's words.
A message taken is SENT until `finish`; with `auto_finish` the next status request finds it
DELIVERED (or as `outcomes` says for its phone), unless `never_report`.
"""

from __future__ import annotations

import itertools
from typing import Any

from .base import FakeProvider, Reply, Request

PREFIX = "/app/smsgw/rest/v2"
BAD_RECIPIENT = "Invalid recipient / destination address (format should be 7xxxYYYzzzz)"
DUPLICATE = "Duplicate client_message_id, should be unique for each message."
TIME_BOUNDS = {"def", "wd99", "wd911", "ad96", "ad99", "ad911", "full"}
REQUIRED = ("client_message_id", "sender", "recipient", "message_text")


class FakeSmsgw2(FakeProvider):
    def __init__(self, login: str = "kz-user", password: str = "Kc3ll-pw") -> None:
        super().__init__()
        self.login, self.password = login, password
        self.senders = {"SMSGW"}
        self.messages: dict[str, dict[str, Any]] = {}  # message_id -> the message
        self.batches: dict[str, list[str]] = {}  # batch_id -> message ids
        self.outcomes: dict[str, tuple[str, int]] = {}  # recipient -> (final status, code)
        self.auto_finish = True
        self.batch_key = "batch_id"  # the seed's example answer spells it " batch_id"
        self._ids = itertools.count(12313)  # the seed's first message_id

    def handle(self, request: Request) -> Reply:
        if request.basic() != (self.login, self.password):
            return Reply(401, b"", {"WWW-Authenticate": 'Basic realm="smsgw"'})
        path = request.path.removeprefix(PREFIX)
        parts = path.strip("/").split("/")
        if request.method == "POST" and path == "/messages":
            return self._message(request.json())
        if request.method == "POST" and path == "/batches":
            return self._batch(request.json())
        if request.method == "GET" and len(parts) == 2 and parts[0] == "messages":
            return self._show(self.messages.get(parts[1]))
        if request.method == "GET" and len(parts) == 2 and parts[0] == "batches":
            ids = self.batches.get(parts[1])
            if ids is None:
                return Reply.json(404, {"error_message": "Batch not found"})
            return Reply.json(200, [self._view(self.messages[i]) for i in ids])
        if request.method == "GET" and len(parts) == 4 and parts[2] == "client_messages":
            if parts[1] != self.login:
                return Reply.json(403, {"error_message": "Forbidden"})
            found = [m for m in self.messages.values() if m["client_message_id"] == parts[3]]
            return self._show(found[0] if found else None)
        return Reply.json(404, {"error_message": "Not found"})

    def _message(self, body: dict[str, Any]) -> Reply:
        error = self._check(body)
        if error is not None:
            return Reply.json(400, {"error_message": error})
        message_id = self._take(body, None)
        location = f"{self.url}{PREFIX}/messages/{message_id}"
        return Reply.json(201, {"message_id": message_id}, Location=location)

    def _batch(self, body: dict[str, Any]) -> Reply:
        batch_id = str(next(self._ids) + 170_000)
        ids = []
        for item in body["messages"]:
            error = self._check(item)
            if error == DUPLICATE:
                continue
            ids.append(self._take(item, batch_id, (11, BAD_RECIPIENT) if error else None))
        self.batches[batch_id] = ids
        location = f"{self.url}{PREFIX}/batches/{batch_id}"
        return Reply.json(201, {self.batch_key: batch_id}, Location=location)

    def _check(self, item: dict[str, Any]) -> str | None:
        if any(not item.get(k) for k in REQUIRED):
            return "Mandatory parameter missing"
        if item["sender"] not in self.senders:
            return f"User can't use alias {item['sender']} to send messages"
        recipient = str(item["recipient"])
        if not (recipient.isdigit() and len(recipient) == 11 and recipient.startswith("7")):
            return BAD_RECIPIENT
        if item.get("time_bounds", "def") not in TIME_BOUNDS:
            return "Wrong information in time_bounds field."
        if any(m["client_message_id"] == item["client_message_id"] for m in self.messages.values()):
            return DUPLICATE
        return None

    def _take(self, item: dict[str, Any], batch_id: str | None, error: Any = None) -> str:
        message_id = str(next(self._ids))
        self.messages[message_id] = {
            **item, "message_id": message_id, "batch_id": batch_id,
            "status": "UNDELIVERABLE" if error else "SENT",
            "error": error,
        }  # fmt: skip
        return message_id

    def finish(self, message_id: str, status: str = "DELIVERED", code: int = 0) -> None:
        self.messages[message_id].update(status=status, error=(code, "") if code else None)

    def _show(self, m: dict[str, Any] | None) -> Reply:
        if m is None:
            return Reply.json(404, {"error_message": "Message not found"})
        if m["status"] == "SENT" and self.auto_finish and not self.never_report:
            status, code = self.outcomes.get(m["recipient"], ("DELIVERED", 0))
            self.finish(m["message_id"], status, code)
        return Reply.json(200, self._view(m))

    def _view(self, m: dict[str, Any]) -> dict[str, Any]:
        """A message as the seed's GET answers describe it."""
        code, text = m["error"] or (None, None)
        return {
            "message_id": m["message_id"], "batch_id": m["batch_id"],
            "client_message_id": m["client_message_id"], "sender": m["sender"],
            "recipient": m["recipient"], "message_text": m["message_text"],
            "message_status": m["status"], "error_code": code, "error_message": text,
            "segment_count": 1, "sent_count": 1, "delivery_count": int(m["status"] == "DELIVERED"),
            "is_informed": None, "init_time": "2015-07-16 15:53:55",
            "sent_time": "2015-07-16 15:53:55", "sent_confirm_time": "2015-07-16 15:53:56",
            "status_time": "2015-07-16 15:53:56", "schedule_state": None, "retry_count": 0,
            "rn_code": "02",
        }  # fmt: skip
