"""A fake OsonSMS, written from the provider's protocol v1.5 (`seeds/osonsms.txt`) alone.

sendsms_v1.php, query_sms.php and check_balance.php, GET, answers in JSON with the seed's HTTP
statuses, codes and texts; `str_hash` checked as the seed defines it per call.
"""

from __future__ import annotations

import hashlib
import time
from typing import Any

from .base import FakeProvider, Reply, Request

MANDATORY_SEND = ("from", "phone_number", "msg", "login", "str_hash", "txn_id")
TEXTS = {
    100: "One of the mandatory variables ({}) not set.",
    105: "Inactive or non-existent account",
    106: "Incorrect hash",
    107: "Incorrect sender",
    108: "Duplicate txn_id. It should be unique.",
    109: "Unable to store message.",
    112: "Error while sending sms.",
    113: "Unable to connect to smsc host.",
    114: "Host is not in whitelist",
    119: "Balance overdraft limit has reached. Please top up your balance.",
}
STATUS = {100: 422, 105: 401, 106: 422, 107: 422, 108: 409, 109: 500, 113: 599, 114: 401, 119: 402}


def seed_hash(*fields: str) -> str:
    """The seed: "Хеш(sha256) строки txn_id+";"+login+..." """
    return hashlib.sha256(";".join(fields).encode()).hexdigest()


def stamp() -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S")


def error(code: int, mandatory: str = "") -> Reply:
    msg = TEXTS[code].format(mandatory)
    return Reply.json(
        STATUS.get(code, 500), {"error": {"code": code, "msg": msg, "timestamp": stamp()}}
    )


class FakeOsonSms(FakeProvider):
    def __init__(self, login: str = "acme", salt: str = "s3cret-salt") -> None:
        super().__init__()
        self.login = login
        self.salt = salt
        self.senders = {"OsonSMS", "ACME"}
        self.balance = "6.07"
        self.refuse_code: int | None = None  # answer every send with this error code
        self.sent: dict[str, dict[str, str]] = {}  # txn_id -> the send's variables
        self.msg_ids: dict[str, str] = {}  # msg_id -> txn_id
        self.statuses: dict[str, str] = {}  # msg_id -> status word
        self.final = "DELIVERED"  # what a taken message becomes, unless never_report

    def handle(self, request: Request) -> Reply:
        route = {
            "/sendsms_v1.php": self.send,
            "/query_sms.php": self.query,
            "/check_balance.php": self.check_balance,
        }.get(request.path)
        if route is None or request.method != "GET":
            return Reply(404, b"not found")
        return route(request.query)

    def send(self, q: dict[str, str]) -> Reply:
        if any(not q.get(k) for k in MANDATORY_SEND):
            return error(100, ",".join(MANDATORY_SEND))
        if q["login"] != self.login:
            return error(105)
        fields = (q["txn_id"], q["login"], q["from"], q["phone_number"], self.salt)
        if q["str_hash"] != seed_hash(*fields):
            return error(106)
        if q["from"] not in self.senders:
            return error(107)
        if q["txn_id"] in self.sent:
            return error(108)
        if self.refuse_code is not None:
            return error(self.refuse_code)
        msg_id = str(40127 + len(self.sent))
        self.sent[q["txn_id"]] = q
        self.msg_ids[msg_id] = q["txn_id"]
        self.statuses[msg_id] = "ENROUTE" if self.never_report else self.final
        parts = 1 if len(q["msg"]) <= 70 else -(-len(q["msg"]) // 67)
        answer: dict[str, Any] = {
            "status": "ok",
            "txn_id": q["txn_id"],
            "msg_id": int(msg_id),
            "smsc_msg_parts": parts,
            "timestamp": stamp(),
        }
        return Reply.json(201, answer)

    def query(self, q: dict[str, str]) -> Reply:
        if any(not q.get(k) for k in ("login", "str_hash", "msg_id")):
            return error(100, "login,str_hash,msg_id")
        if q["login"] != self.login:
            return error(105)
        if q["str_hash"] != seed_hash(q["login"], q.get("txn_id", ""), self.salt):
            return error(106)
        status = self.statuses.get(q["msg_id"])
        if status is None:  # the seed has no answer for it: the provider's 404
            return Reply.json(404, {"error": {"code": 107, "msg": "Message ID is invalid"}})
        return Reply.json(200, {"status": status, "timestamp": stamp()})

    def check_balance(self, q: dict[str, str]) -> Reply:
        if any(not q.get(k) for k in ("login", "str_hash", "txn_id")):
            return error(100, "login,str_hash,txn_id")
        if q["login"] != self.login:
            return error(105)
        if q["str_hash"] != seed_hash(q["txn_id"], q["login"], self.salt):
            return error(106)
        return Reply(200, f'{{"balance": {self.balance}, "timestamp": "{stamp()}"}}'.encode())
