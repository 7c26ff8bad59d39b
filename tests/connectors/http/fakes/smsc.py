"""A fake SMSC.ru, from `seeds/smsc-callbacks.txt` and the calls it names (send, status,
balance) as SMSC.ru's public API describes them: fmt=3 (JSON) answers, errors as
`{"error", "error_code"}` with HTTP 200, messages kept by (id, phone). `push()` builds the
seed's status push for a message, signed as the seed says: md5/sha1 of "id:phone:status:<secret>".
"""

from __future__ import annotations

import hashlib
import time
from typing import Any
from urllib.parse import parse_qsl, urlencode

from .base import FakeProvider, Reply, Request

ERRORS = {1: "parameters error", 2: "authorise error", 3: "no money", 7: "invalid number"}
ERRORS[9] = "duplicate request, wait a minute"


def error(code: int, smsc_id: str | None = None) -> Reply:
    body: dict[str, Any] = {"error": ERRORS[code], "error_code": code}
    if smsc_id is not None and code in (3, 7):
        body["id"] = smsc_id
    return Reply.json(200, body)


class FakeSmsc(FakeProvider):
    def __init__(self, login: str = "acme", psw: str = "pa55") -> None:
        super().__init__()
        self.login = login
        self.psw = psw
        self.money = "1000.50"
        self.invalid = {"70000000000"}  # phones SMSC.ru says are not numbers (status 22)
        self.statuses: dict[tuple[str, str], int] = {}  # (id, phone) -> status
        self.final = 1  # delivered
        self.error_code: int | None = None  # answer every send with this error

    def handle(self, request: Request) -> Reply:
        form = dict(request.query)
        if request.method == "POST":
            form.update(parse_qsl(request.body.decode(), keep_blank_values=True))
        if form.get("fmt") != "3":
            return Reply(200, b"ERROR = 1 (parameters error)")  # we only ever ask for JSON
        if (form.get("login"), form.get("psw")) != (self.login, self.psw):
            return error(2)
        route = {
            "/sys/send.php": self.send,
            "/sys/status.php": self.status,
            "/sys/balance.php": lambda f: Reply.json(200, {"balance": self.money}),
        }.get(request.path)
        return route(form) if route else error(1)

    def send(self, form: dict[str, str]) -> Reply:
        smsc_id = form.get("id", "")
        phones = [p for p in form.get("phones", "").replace(";", ",").split(",") if p]
        if not phones or "mes" not in form:
            return error(1)
        if self.error_code is not None:
            return error(self.error_code, smsc_id)
        bad = [p for p in phones if p in self.invalid or not p.isdigit()]
        good = [p for p in phones if p not in bad]
        if not good:
            return error(7, smsc_id)
        if all((smsc_id, p) in self.statuses for p in good):
            return error(9)
        for p in good:
            self.statuses.setdefault((smsc_id, p), 0 if self.never_report else self.final)
        answer: dict[str, Any] = {"id": smsc_id, "cnt": len(good)}
        if form.get("err") == "1" and bad:
            answer["phones"] = [
                {"phone": p, "cost": "0.00", "cnt": 0, "status": 22, "error": 249} for p in bad
            ]
        return Reply.json(200, answer)

    def status(self, form: dict[str, str]) -> Reply:
        key = (form.get("id", ""), form.get("phone", ""))
        status = self.statuses.get(key, -3)
        now = int(time.time())
        body = {"status": status, "last_date": time.strftime("%d.%m.%Y %H:%M:%S"),
                "last_timestamp": now}  # fmt: skip
        if status == 20:
            body["err"] = 1
        return Reply.json(200, body)


def push(smsc_id: str, phone: str, status: int, secret: str, algorithm: str = "md5",
         **extra: str) -> bytes:  # fmt: skip
    """The seed's status push, form-encoded, its hash the seed's over id:phone:status."""
    fields = {"id": smsc_id, "phone": phone, "status": str(status),
              "time": time.strftime("%d.%m.%y %H:%M:%S"), "ts": "1700000000", "cnt": "1",
              "type": "0", "cost": "1.50", "flag": "0", "sender": "ACME", **extra}  # fmt: skip
    signed = f"{smsc_id}:{phone}:{status}:{secret}".encode()
    fields[algorithm] = hashlib.new(algorithm, signed).hexdigest()
    return urlencode(fields).encode()
