"""A fake Webcom Mobi (mysmpp) JSON API, from `seeds/webcom-mysmpp-json.txt`: the send request
with its answer (`information`, one entry per phone, or `error`) and the seed's error texts;
status (`json/state.php`) and balance (`json/balance.php`), which the seed lists by name, answer
as the provider's status page does."""

from __future__ import annotations

import json
from typing import Any

from .base import FakeProvider, Reply, Request


class FakeMysmpp(FakeProvider):
    def __init__(self, login: str = "acme", password: str = "pa55") -> None:
        super().__init__()
        self.login = login
        self.password = password
        self.token = "tok-123"
        self.senders = {"ACME", "Test"}
        self.stop_list = {"79650000000"}
        self.whole_error: str | None = None  # answer every send with {"error": this}
        self.ids: dict[str, int] = {}  # client_id_sms -> id_sms
        self.states: dict[int, str] = {}  # id_sms -> state
        self.final = "deliver"
        self.money = "19023.9"

    def handle(self, request: Request) -> Reply:
        try:
            body = json.loads(request.body)
        except ValueError:
            return Reply.json(200, {"error": "Incorrect JSON document format"})
        if not isinstance(body, dict):
            return Reply.json(200, {"error": "Incorrect JSON document format"})
        logged_in = (body.get("login"), body.get("password")) == (self.login, self.password)
        if not logged_in and body.get("token") != self.token:
            return Reply.json(200, {"error": "Incorrect login or password"})
        route = {"/json": self.send, "/json/state.php": self.state,
                 "/json/balance.php": self.balance}.get(request.path)  # fmt: skip
        return route(body) if route else Reply(404, b"")

    def send(self, body: dict[str, Any]) -> Reply:
        if self.whole_error is not None:
            return Reply.json(400, {"error": self.whole_error})
        information = [
            self.one(message, phone)
            for message in body.get("message", [])
            for phone in message.get("phones", [])
        ]
        return Reply.json(200, {"information": information})

    def one(self, message: dict[str, Any], phone: dict[str, Any]) -> dict[str, Any]:
        number, ref = str(phone.get("phone", "")), str(phone.get("client_id_sms", ""))
        if not number:
            return {"error": "Specify phone number"}
        if message.get("sender") not in self.senders:
            return {"error": "There is no such sender"}
        if number in self.stop_list:
            return {"error": "Phone number is on the stop list"}
        if ref and ref in self.ids:  # "it will not be sent again, but the number ... returned"
            return {"state": "send", "id_sms": self.ids[ref]}
        id_sms = 1000 + len(self.states)
        self.states[id_sms] = "send" if self.never_report else self.final
        if ref:
            self.ids[ref] = id_sms
        return {"state": "send", "id_sms": id_sms}

    def state(self, body: dict[str, Any]) -> Reply:
        ids = body.get("id_sms", [])
        answer = []
        for id_sms in ids if isinstance(ids, list) else [ids]:
            state = self.states.get(int(id_sms))
            if state is None:
                answer.append({"id_sms": id_sms, "error": "SMS not found"})
            else:
                entry = {"id_sms": int(id_sms), "time_change_state": "2021-04-26 15:15:03",
                         "state": state}  # fmt: skip
                if state == "not_deliver":
                    entry["error"] = "Subscriber is absent"
                answer.append(entry)
        return Reply.json(200, answer)

    def balance(self, body: dict[str, Any]) -> Reply:
        info = [{"type_sms": "sms", "area": "Russia", "num_sms": "38047"}]
        return Reply.json(200, {"money": self.money, "currency": "RUR", "information": info})
