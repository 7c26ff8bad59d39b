"""The admin API over real HTTP on both backends: accounts, ledger, senders, stop lists,
callback URLs, the audit log and the status view."""

from __future__ import annotations

import aiohttp

from tests.admin.support import Admin, login, make_admin, session
from tests.support.backends import both_backends
from tests.support.servers import Gateway, account


async def operator(gateway: Gateway, http: aiohttp.ClientSession) -> Admin:
    password = await make_admin(gateway.store, "alice")
    return await login(http, "alice", password)


@both_backends
async def test_account_lifecycle_is_audited(gateway: Gateway) -> None:
    async with session(gateway.url) as http:
        alice = await operator(gateway, http)
        status, created = await alice.send(
            "POST",
            "/accounts",
            {"name": "acme", "balance": "100.50", "price": "0.35", "senders": ["ACME"]},
        )
        assert status == 201
        assert (created["balance"], created["price"], created["senders"]) == (
            "100.5",
            "0.35",
            ["ACME"],
        )
        one = f"/accounts/{created['id']}"
        status, updated = await alice.send("PATCH", one, {"tps": 20, "timezone": "Asia/Almaty"})
        assert status == 200 and (updated["tps"], updated["timezone"]) == (20, "Asia/Almaty")
        # A balance is never set by an update: only ledger entries move it
        status, refused = await alice.send("PATCH", one, {"balance": "5"})
        assert status == 400 and refused["error"]["code"] == "invalid_field"
        status, refused = await alice.send("PATCH", one, {"timezone": "Mars/Base"})
        assert status == 400
        status, off = await alice.send("POST", f"{one}/deactivate")
        assert status == 200 and off["active"] is False
        assert (await alice.get(one))[1]["active"] is False
        status, listed = await alice.get("/accounts")
        assert [a["name"] for a in listed["accounts"]] == ["acme"]
        assert (await alice.send("POST", "/accounts", {"name": "acme"}))[0] == 409
        assert (await alice.get("/accounts/999"))[0] == 404
        assert (await alice.get("/accounts/abc"))[0] == 404
        status, audit = await alice.get(f"/audit?target=account:{created['id']}")
        actions = [(e["actor"], e["action"]) for e in audit["entries"]]
        assert actions == [
            ("alice", "account.deactivate"),
            ("alice", "account.update"),
            ("alice", "account.create"),
        ]
        assert audit["entries"][1]["details"] == {"tps": 20, "timezone": "Asia/Almaty"}
        status, ledger = await alice.get(f"{one}/ledger")
        assert [(e["kind"], e["amount"], e["reason"]) for e in ledger["entries"]] == [
            ("top_up", "100.5", "opening balance")
        ]


@both_backends
async def test_top_up_debit_and_correction_are_ledger_entries(gateway: Gateway) -> None:
    [acme] = await gateway.provision(account("acme", balance="1000"))
    async with session(gateway.url) as http:
        alice = await operator(gateway, http)
        base = f"/accounts/{acme}/ledger"
        status, entry = await alice.send(
            "POST", base, {"kind": "top_up", "amount": "250.25", "reason": "invoice 42"}
        )
        assert status == 201
        assert (entry["amount"], entry["balance_after"], entry["actor"]) == (
            "250.25",
            "1250.25",
            "alice",
        )
        status, refused = await alice.send(
            "POST", base, {"kind": "debit", "amount": "2000", "reason": "too much"}
        )
        assert status == 402 and refused["error"]["code"] == "insufficient_balance"
        status, entry = await alice.send(
            "POST", base, {"kind": "correction", "amount": "999.65", "reason": "recount"}
        )
        assert status == 201 and (entry["amount"], entry["balance_after"]) == (
            "-250.6",
            "999.65",
        )
        for bad in (
            {"kind": "top_up", "amount": "-5", "reason": "x"},
            {"kind": "top_up", "amount": "ten", "reason": "x"},
            {"kind": "top_up", "amount": "5", "reason": " "},
            {"kind": "gift", "amount": "5", "reason": "x"},
            {"kind": "import", "amount": "5", "reason": "x"},
        ):
            assert (await alice.send("POST", base, bad))[0] == 400, bad
        status, ledger = await alice.get(f"{base}?limit=1")
        assert [e["kind"] for e in ledger["entries"]] == ["correction"]
        status, older = await alice.get(f"{base}?before={ledger['next_before']}")
        assert [e["kind"] for e in older["entries"]] == ["top_up", "import"]  # import: opening
        async with (
            aiohttp.ClientSession(base_url=gateway.url) as client,
            client.get("/api/v1/balance", headers={"Authorization": "Bearer acme-token"}) as r,
        ):
            assert "999.65" in await r.text()
        status, audit = await alice.get(f"/audit?target=account:{acme}")
        assert [e["action"] for e in audit["entries"]] == ["balance.correction", "balance.top_up"]
        assert audit["entries"][1]["details"]["reason"] == "invoice 42"


@both_backends
async def test_senders_and_stop_list(gateway: Gateway) -> None:
    [acme] = await gateway.provision(account("acme"))
    async with session(gateway.url) as http:
        alice = await operator(gateway, http)
        one = f"/accounts/{acme}"
        status, answer = await alice.send("POST", f"{one}/senders", {"name": "NEWS"})
        assert status == 201 and answer["senders"] == ["ACME", "NEWS", "Test"]
        assert (await alice.send("DELETE", f"{one}/senders/Test"))[0] == 200
        assert (await alice.send("DELETE", f"{one}/senders/Test"))[0] == 404
        assert (await alice.get(one))[1]["senders"] == ["ACME", "NEWS"]
        status, added = await alice.send(
            "POST", f"{one}/stoplist", {"phones": ["+7 965 111-11-11", 79652222222]}
        )
        assert status == 200 and added == {"added": 2}
        assert (await alice.send("POST", f"{one}/stoplist", {"phones": ["12"]}))[0] == 400
        status, listed = await alice.get(f"{one}/stoplist")
        assert listed == {"phones": ["79651111111", "79652222222"]}
        status, removed = await alice.send(
            "POST", f"{one}/stoplist/remove", {"phones": ["79651111111"]}
        )
        assert removed == {"removed": 1}
        assert (await alice.get(f"{one}/stoplist"))[1] == {"phones": ["79652222222"]}
        # The stop list is the one sends are checked against
        async with (
            aiohttp.ClientSession(base_url=gateway.url) as client,
            client.post(
                "/api/v1/messages",
                json={"to": "79652222222", "text": "hi", "from": "NEWS"},
                headers={"Authorization": "Bearer acme-token"},
            ) as r,
        ):
            assert "stop_listed" in await r.text()
        status, audit = await alice.get(f"/audit?target=account:{acme}")
        assert [e["action"] for e in audit["entries"]] == [
            "stoplist.remove",
            "stoplist.add",
            "sender.remove",
            "sender.add",
        ]
        # The global stop list: every account's messages are checked against it
        assert (await alice.send("POST", "/stoplist", {"phones": ["79653333333"]}))[1] == {
            "added": 1
        }
        assert (await alice.get("/stoplist"))[1] == {"phones": ["79653333333"]}
        assert (await alice.get(f"{one}/stoplist"))[1] == {"phones": ["79652222222"]}
        async with (
            aiohttp.ClientSession(base_url=gateway.url) as client,
            client.post(
                "/api/v1/messages",
                json={"to": "79653333333", "text": "hi", "from": "NEWS"},
                headers={"Authorization": "Bearer acme-token"},
            ) as r,
        ):
            assert "stop_listed" in await r.text()
        assert (await alice.send("POST", "/stoplist/remove", {"phones": ["79653333333"]}))[1] == {
            "removed": 1
        }
        _, audit = await alice.get("/audit?target=stoplist:global")
        assert [e["action"] for e in audit["entries"]] == ["stoplist.remove", "stoplist.add"]


async def test_callback_urls_are_checked_and_masked(gateway: Gateway) -> None:
    [acme] = await gateway.provision(account("acme"))
    async with session(gateway.url) as http:
        alice = await operator(gateway, http)
        path = f"/accounts/{acme}/callback_urls"
        status, answer = await alice.send(
            "PUT", path, {"native": "https://cb.example.com/dr?token=s3cret&x=1"}
        )
        assert status == 200
        shown = answer["callback_urls"]["native"]
        assert "s3cret" not in shown and "x=1" in shown and "token=***" in shown
        stored = await gateway.store.get_account(acme)
        assert stored is not None and "s3cret" in stored.callback_urls["native"]
        assert "s3cret" not in str(await alice.get(f"/accounts/{acme}"))
        for bad in (
            {"native": "ftp://cb.example.com/"},
            {"native": "https://user:pw@cb.example.com/"},  # credentials in a URL: refused
            {"nodialect": "https://a.example/"},
        ):
            assert (await alice.send("PUT", path, bad))[0] == 400, bad
        # Loopback is allowed in this test configuration ([callbacks] allow_networks) ...
        assert (await alice.send("PUT", path, {"smsc": "http://127.0.0.1:9/cb"}))[0] == 200
        # ... a private address is not
        status, refused = await alice.send("PUT", path, {"smsc": "http://10.1.2.3/cb"})
        assert status == 400 and refused["error"]["field"] == "smsc"
        status, answer = await alice.send("PUT", path, {"native": None})
        assert set(answer["callback_urls"]) == {"smsc"}
        status, audit = await alice.get(f"/audit?target=account:{acme}")
        assert "s3cret" not in str(audit)


async def test_status_view_shows_links_queue_and_backlog(gateway: Gateway) -> None:
    async with session(gateway.url) as http:
        alice = await operator(gateway, http)
        status, view = await alice.get("/status")
        assert status == 200
        assert view["connector"] == "simulator"
        assert set(view["queue"]) == {"scheduled", "queued"}
        assert view["callback_backlog"] == []
        assert isinstance(view["links"], list)


async def test_bad_bodies_are_clear_json_errors(gateway: Gateway) -> None:
    async with session(gateway.url) as http:
        alice = await operator(gateway, http)
        async with http.post(
            "/admin/api/accounts",
            data=b"{not json",
            headers={"X-CSRF-Token": alice.csrf, "Content-Type": "application/json"},
        ) as r:
            assert r.status == 400 and (await r.json())["error"]["code"] == "malformed_body"
        status, answer = await alice.send("POST", "/accounts", {"name": "a", "color": "red"})
        assert status == 400 and "color" in answer["error"]["message"]
        async with http.get("/admin/api/nothing-here") as r:
            assert r.status == 404 and (await r.json())["error"]["code"] == "not_found"
        assert (await alice.get("/audit?limit=0"))[0] == 400
