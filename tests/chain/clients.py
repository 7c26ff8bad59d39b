"""Node A's clients, one per dialect: each sends as that provider's own clients do (the
requests of the provider's document) and reads each message's final status the way such a
client learns it: from the pushes its receiver got, or by asking (OsonSMS pushes nothing).

A client's `words` say, in the provider's own terms (the seeds), what "delivered" and "not
delivered" look like to it; `outcomes` returns, for each id the client was given, the word
it finally saw, or nothing yet."""

from __future__ import annotations

import base64
import hashlib
import itertools
from typing import Any
from urllib.parse import parse_qsl

import aiohttp
import msgspec

from tests.support.servers import Received, Receiver

SENDER = "ACME"
CLIENT = "shop"  # A's account: tests.support.servers.account("shop") credentials
SMSC_SECRET = "Shop-secret_7"  # the <secret> of A's client's SMSC handler URL
_txn = itertools.count(1)


def basic(user: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


class Client:
    """One dialect's client of node A. `send` returns the id the client was given for each
    phone; `outcomes` the final word seen for each such id."""

    dialect = ""
    words: tuple[str, str] = ("", "")  # (delivered, not delivered), in the dialect's terms

    def callback_url(self, receiver: Receiver) -> str | None:
        """The client's callback URL configured on its account at A, if the dialect pushes."""
        return f"{receiver.url}/{self.dialect}"

    async def send(self, http: aiohttp.ClientSession, phones: list[str]) -> dict[str, str]:
        raise NotImplementedError

    async def outcomes(
        self, http: aiohttp.ClientSession, pushes: list[Received], ids: list[str]
    ) -> dict[str, str]:
        raise NotImplementedError


class MsgHub(Client):
    """JSONv2 `json2/batch/sync`; DRs pushed to `callback_url` (1.4.1: status 2, substatus
    23, msghub_status 23011 when delivered; status 3 when not)."""

    dialect = "msghub"
    words = ("2/23/23011", "3")

    async def send(self, http: aiohttp.ClientSession, phones: list[str]) -> dict[str, str]:
        body = {
            "messages": [
                {"phone_number": int(p), "extra_id": f"x{p}", "text": "chain"} for p in phones
            ],
            "channels": ["sms"],
            "channel_options": {"sms": {"text": "chain", "alpha_name": SENDER, "ttl": 300}},
        }
        r = await http.post(
            f"/msghub/api/{CLIENT}/json2/batch/sync", json=body, headers=basic(CLIENT, "shop-pw")
        )
        assert r.status == 200, await r.text()
        answer = await r.json(content_type=None)
        return {p: str(m["message_id"]) for p, m in zip(phones, answer["messages"], strict=True)}

    async def outcomes(
        self, http: aiohttp.ClientSession, pushes: list[Received], ids: list[str]
    ) -> dict[str, str]:
        seen = {}
        for push in pushes:
            data = push.json()
            for report in data if isinstance(data, list) else [data]:
                word = str(report["status"])
                if report["status"] == 2:
                    word += f"/{report['substatus']}/{report['msghub_status']}"
                seen[str(report["message_id"])] = word
        return seen


class Smsgw2(Client):
    """REST v2 `POST /messages`; `{"delivery_report": [...]}` pushes naming the client's
    `client_message_id`, answered 204."""

    dialect = "smsgw2"
    words = ("DELIVERED", "UNDELIVERABLE")

    async def send(self, http: aiohttp.ClientSession, phones: list[str]) -> dict[str, str]:
        given = {}
        for phone in phones:
            ref = f"k30dhs{phone}"  # the seed's client_message_id, made unique
            body = {
                "client_message_id": ref,
                "sender": SENDER,
                "recipient": phone,
                "message_text": "chain",
                "time_bounds": "full",  # the default ("def") holds it to weekdays 9 to 18
            }
            r = await http.post(
                "/app/smsgw/rest/v2/messages", json=body, headers=basic(CLIENT, "shop-pw")
            )
            assert r.status == 201, await r.text()
            given[phone] = ref
        return given

    async def outcomes(
        self, http: aiohttp.ClientSession, pushes: list[Received], ids: list[str]
    ) -> dict[str, str]:
        return {
            str(report["client_message_id"]): report["status"].strip()
            for push in pushes
            for report in push.json()["delivery_report"]
        }


class OsonSms(Client):
    """v1.5 `sendsms_v1.php` (sha256 `str_hash`); no pushes: `query_sms.php` by `msg_id`."""

    dialect = "osonsms"
    words = ("DELIVERED", "UNDELIVERABLE")

    def callback_url(self, receiver: Receiver) -> str | None:
        return None

    async def send(self, http: aiohttp.ClientSession, phones: list[str]) -> dict[str, str]:
        given = {}
        for phone in phones:
            txn = f"chain-{next(_txn)}"
            params = {
                "from": SENDER, "phone_number": phone, "msg": "chain", "login": CLIENT,
                "str_hash": sha256(f"{txn};{CLIENT};{SENDER};{phone};shop-salt"), "txn_id": txn,
            }  # fmt: skip
            r = await http.get("/sendsms_v1.php", params=params)
            assert r.status == 201, await r.text()
            given[phone] = str((await r.json(content_type=None))["msg_id"])
        return given

    async def outcomes(
        self, http: aiohttp.ClientSession, pushes: list[Received], ids: list[str]
    ) -> dict[str, str]:
        seen = {}
        for msg_id in ids:
            txn = f"chain-q{next(_txn)}"
            params = {"login": CLIENT, "str_hash": sha256(f"{CLIENT};{txn};shop-salt"),
                      "txn_id": txn, "msg_id": msg_id}  # fmt: skip
            r = await http.get("/query_sms.php", params=params)
            assert r.status == 200, await r.text()
            status = (await r.json(content_type=None))["status"]
            if status in self.words:
                seen[msg_id] = status
        return seen


class Mysmpp(Client):
    """Webcom JSON `POST /json`; the status webhook `[{"id_sms", "time", "state"}]`, answered
    by naming each id_sms."""

    dialect = "mysmpp"
    words = ("deliver", "not_deliver")

    async def send(self, http: aiohttp.ClientSession, phones: list[str]) -> dict[str, str]:
        message = {"type_send_1": "sms", "sender": SENDER, "text": "chain", "phones": phones}
        body = {"login": CLIENT, "password": "shop-pw", "message": [message]}
        r = await http.post(
            "/json", data=msgspec.json.encode(body),
            headers={"Content-type": "text/json; charset=utf-8;"},
        )  # fmt: skip
        assert r.status == 200, await r.text()
        info = (await r.json(content_type=None))["information"]
        return {p: str(e["id_sms"]) for p, e in zip(phones, info, strict=True)}

    async def outcomes(
        self, http: aiohttp.ClientSession, pushes: list[Received], ids: list[str]
    ) -> dict[str, str]:
        return {str(e["id_sms"]): e["state"] for push in pushes for e in push.json()}


class Smsc(Client):
    """SMSC.ru `POST /sys/send.php` (several phones, `fmt=3`); status pushes to the handler
    URL, each signed with sha1 of `id:phone:status:<secret>` (the seed); 1 is delivered, and
    an unknown subscriber 22, invalid number (SMSC.ru's status list)."""

    dialect = "smsc"
    words = ("1", "22")

    def callback_url(self, receiver: Receiver) -> str | None:
        return f"{receiver.url}/smsc?charset=utf-8&sha1={SMSC_SECRET}"

    async def send(self, http: aiohttp.ClientSession, phones: list[str]) -> dict[str, str]:
        form = {"login": CLIENT, "psw": "shop-pw", "phones": ",".join(phones), "mes": "chain",
                "sender": SENDER, "fmt": "3"}  # fmt: skip
        r = await http.post("/sys/send.php", data=form)
        assert r.status == 200, await r.text()
        answer = await r.json(content_type=None)
        assert "error" not in answer, answer
        return {p: f"{answer['id']}:{p}" for p in phones}  # SMSC.ru: a message is id + phone

    async def outcomes(
        self, http: aiohttp.ClientSession, pushes: list[Received], ids: list[str]
    ) -> dict[str, str]:
        seen = {}
        for push in pushes:
            fields = dict(parse_qsl(push.body.decode("utf-8")))
            signed = f"{fields['id']}:{fields['phone']}:{fields['status']}:{SMSC_SECRET}"
            assert fields["sha1"] == hashlib.sha1(signed.encode()).hexdigest(), fields
            seen[f"{fields['id']}:{fields['phone']}"] = fields["status"]
        return seen


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


CLIENTS: dict[str, Client] = {
    c.dialect: c for c in (MsgHub(), Smsgw2(), OsonSms(), Mysmpp(), Smsc())
}


def acknowledge(request: Received, n: int) -> tuple[int, bytes]:
    """What each dialect's client answers a push (its seed): SMSGW2 204; mysmpp names the
    id_sms it took; the others 200."""
    if request.path == "/smsgw2":
        return 204, b""
    if request.path == "/mysmpp":
        entries: Any = request.json()
        return 200, msgspec.json.encode([{"id_sms": e["id_sms"]} for e in entries])
    return 200, b"OK"
