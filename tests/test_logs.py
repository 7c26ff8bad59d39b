"""Logs: JSON lines (smsgate's and uvicorn's), whole tracebacks, request ids, no secrets.

The server tests run `smsgate serve` as a real process with two workers (so the supervisor,
the workers' uvicorn and the notifier process all write) and read what it wrote on stderr.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from smsgate import logs
from smsgate.app import ErrorGuard
from smsgate.core.errors import ErrorCode, GatewayError
from smsgate.dialects.endpoint import Refusals, endpoint
from smsgate.store.base import StoreUnavailable
from tests.support.nodes import import_accounts, node_env
from tests.support.servers import free_port

TOKEN = "acme-secret-token"
WRONG_TOKEN = "wrong-secret-token"
PASSWORD = "acme-secret-pw"
WRONG_PASSWORD = "wrong-secret-pw"
SECRETS = (TOKEN, WRONG_TOKEN, PASSWORD, WRONG_PASSWORD)


def _raise_deep(depth: int) -> None:
    if depth == 0:
        raise RuntimeError("the innermost frame")
    _raise_deep(depth - 1)


def _record_with_traceback(level: int = logging.ERROR) -> logging.LogRecord:
    try:
        _raise_deep(3)
    except RuntimeError:
        return logging.getLogger("smsgate.test").makeRecord(
            "smsgate.test", level, __file__, 1, "it failed", (), sys.exc_info()
        )
    raise AssertionError("unreachable")


@pytest.mark.parametrize("formatter", [logs.JsonFormatter(), logs.KeyValueFormatter()])
def test_the_whole_traceback_is_kept(formatter: logging.Formatter) -> None:
    """The text formatter kept only the traceback's last line (`splitlines()[-1]`)."""
    out = formatter.format(_record_with_traceback())
    if isinstance(formatter, logs.JsonFormatter):
        assert "\n" not in out  # one line
        out = json.loads(out)["exception"]
    assert "Traceback (most recent call last)" in out
    assert out.count("in _raise_deep") == 4  # every frame
    assert "RuntimeError: the innermost frame" in out


@pytest.mark.parametrize("formatter", [logs.JsonFormatter(), logs.KeyValueFormatter()])
def test_a_warning_with_an_exception_names_it_in_one_line(formatter: logging.Formatter) -> None:
    """A library's warning while it retries (asyncpg's pool during a PostgreSQL restart)."""
    out = formatter.format(_record_with_traceback(logging.WARNING))
    if isinstance(formatter, logs.JsonFormatter):
        out = json.loads(out)["exception"]
    else:
        out = out.split("\n", 1)[1]
    assert out.strip() == "RuntimeError: the innermost frame"


def test_text_lines_carry_fields_and_continue_tracebacks_indented() -> None:
    record = _record_with_traceback()
    record.__dict__.update({"account": "acme", "reason": "two words"})
    first, *rest = logs.KeyValueFormatter().format(record).splitlines()
    assert first.startswith("time=") and 'msg="it failed"' in first
    assert first.endswith('account=acme reason="two words"')
    assert rest and all(line.startswith("    ") for line in rest)


def test_a_clients_request_id_is_kept_when_harmless() -> None:
    uuid = b"3f2c9a1e-7b4d-4c1a-9a7e-0c5b1d2e3f40"
    assert logs.request_id(uuid) == uuid
    made = {logs.request_id(given) for given in (None, b"", b"a b", b'a"b', b"x" * 129, b"\xff")}
    assert len(made) == 6 and all(re.fullmatch(rb"[0-9a-f]{12}-[0-9a-f]+", m) for m in made)


# The endpoint wrapper and the request context ------------------------------------------------
class Refused(Exception):
    def __init__(self, code: int) -> None:
        super().__init__(f"refusal {code}")
        self.code = code


REFUSALS = Refusals(
    kinds=(Refused, GatewayError),
    answer=lambda request, exc: PlainTextResponse(str(exc), status_code=400),
    unavailable=Refused(503),
)


async def _handler(request: Request) -> PlainTextResponse:
    if request.url.path == "/down":
        raise StoreUnavailable("disk gone")
    if request.url.path == "/phone":
        logs.note_account("acme")
        raise GatewayError(ErrorCode.INVALID_PHONE, "phone number +1234567 cannot exist")
    raise Refused(7)


async def test_each_refusal_is_logged_with_its_request(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    caplog.handler.addFilter(logs.RequestFilter())  # as logs.setup's handler has
    app = ErrorGuard(Starlette(routes=[Route("/{path:path}", endpoint(_handler, REFUSALS))]))
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        own = await client.get("/api/v1/x", headers={"X-Request-ID": "rid-1"})
        phone = await client.get("/phone")
        downs = [await client.get("/down") for _ in range(5)]
    assert own.headers["x-request-id"] == "rid-1" and phone.headers["x-request-id"]
    assert all(d.status_code == 400 for d in downs)
    refused = [r for r in caplog.records if r.name == "smsgate.refused"]
    first, second, *down = refused
    assert first.levelno == logging.INFO and first.__dict__["reason"] == "Refused:7"
    assert first.__dict__["smsgate_request"].request_id == "rid-1"
    assert first.__dict__["smsgate_request"].dialect == "native"  # by its path
    assert second.__dict__["reason"] == "invalid_phone" and "+1234567" in second.getMessage()
    assert second.__dict__["smsgate_request"].account == "acme"
    # Storage down: a line at once, then none for a second (a busy server would flood).
    assert [d.levelno for d in down] == [logging.WARNING]
    assert down[0].__dict__["reason"] == "unavailable" and "disk gone" in down[0].getMessage()


# A real server -----------------------------------------------------------------------------
FAULTY_SERVE = """
import importlib

routes = importlib.import_module("smsgate.dialects.native.routes")  # (the package's `routes`
# attribute is the function of that name)


async def broken_balance(gateway, request, account):
    raise RuntimeError("injected fault")


routes.balance = broken_balance  # at import: spawned workers run it too

if __name__ == "__main__":
    from smsgate.cli import main

    main()
"""


class Served:
    def __init__(self, port: int, proc: subprocess.Popen[bytes], stderr: Path) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.proc = proc
        self.stderr = stderr

    def lines(self) -> list[str]:
        return [line for line in self.stderr.read_text().splitlines() if line.strip()]


@pytest.fixture
async def json_server(tmp_path: Path) -> AsyncIterator[Served]:
    """`smsgate serve --workers 2` with log_format = "json" (access log on by default), a
    simulated carrier that fails numbers starting 7965999, and /api/v1/balance broken."""
    database = f"sqlite:///{tmp_path}/logs.db"
    import_accounts(  # `smsgate init`, then the import
        database,
        tmp_path,
        {
            "name": "acme",
            "balance": "100",
            "price": "0.5",
            "senders": ["ACME"],
            "credentials": [
                {"dialect": "native", "kind": "token", "secret": TOKEN},
                {"dialect": "smsc", "kind": "login", "identifier": "acme", "secret": PASSWORD},
                {"dialect": "msghub", "kind": "basic", "identifier": "acme", "secret": PASSWORD},
            ],
        },
    )
    (tmp_path / "smsgate.toml").write_text(
        '[simulator]\ndr_delay = 0.01\nfail_prefixes = ["7965999"]\n'
    )
    (tmp_path / "serve_with_fault.py").write_text(FAULTY_SERVE)
    port = free_port()
    env = node_env(log_level="info", log_format="json", config=str(tmp_path / "smsgate.toml"))
    stderr = tmp_path / "stderr.log"
    serve = ["serve", "--database", database, "--host", "127.0.0.1", "--port", str(port)]
    proc = subprocess.Popen(
        [sys.executable, str(tmp_path / "serve_with_fault.py"), *serve, "--workers", "2"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=stderr.open("wb"),
        start_new_session=True,
    )
    served = Served(port, proc, stderr)
    try:
        async with aiohttp.ClientSession() as http:
            for _ in range(600):
                assert proc.poll() is None, "\n".join(served.lines()[-20:])
                try:
                    async with http.get(served.url + "/readyz") as r:
                        if r.status == 200:
                            break
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.05)
        yield served
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _parsed(lines: list[str]) -> Iterator[dict[str, Any]]:
    for line in lines:
        try:
            yield json.loads(line)
        except ValueError:
            raise AssertionError(f"not a JSON line: {line!r}") from None


async def test_a_json_server_writes_only_json_lines_and_no_secret(json_server: Served) -> None:
    native = {"Authorization": f"Bearer {TOKEN}"}
    async with aiohttp.ClientSession(base_url=json_server.url) as http:
        sent = await http.post(
            "/api/v1/messages",
            json={"to": "+79651234567", "text": "hi", "from": "ACME"},
            headers={**native, "X-Request-ID": "client-chosen-42"},
        )
        assert sent.status == 201 and sent.headers["X-Request-ID"] == "client-chosen-42"
        failing = await http.post(
            "/api/v1/messages",
            json={"to": "+79659991234", "text": "to fail", "from": "ACME"},
            headers=native,
        )
        failed_id = (await failing.json())["id"]
        wrong = await http.post(
            "/api/v1/messages",
            json={"to": "+79651234567", "text": "hi"},
            headers={"Authorization": f"Bearer {WRONG_TOKEN}"},
        )
        assert wrong.status == 401
        wrong_id = wrong.headers["X-Request-ID"]
        assert re.fullmatch(r"[0-9a-f]{12}-[0-9a-f]+", wrong_id)  # made by the server
        invalid = await http.post(
            "/api/v1/messages", json={"to": "+9991234567", "text": "hi"}, headers=native
        )
        assert invalid.status == 422
        smsc = await http.get(
            "/sys/send.php",
            params={"login": "acme", "psw": WRONG_PASSWORD, "phones": "79651234567", "mes": "x"},
        )
        assert "ERROR" in await smsc.text()
        basic = base64.b64encode(f"acme:{WRONG_PASSWORD}".encode()).decode()
        msghub = await http.post(
            "/msghub/api/acme/json2/simple",
            json={"phone": "79651234567", "text": "x"},
            headers={"Authorization": f"Basic {basic}"},
        )
        assert msghub.status == 401
        broken = await http.get("/api/v1/balance", headers=native)
        assert broken.status == 500
        broken_id = broken.headers["X-Request-ID"]
    reader, writer = await asyncio.open_connection("127.0.0.1", json_server.port)
    writer.write(b"NOT HTTP AT ALL\r\n\r\n")  # uvicorn's own warning
    await reader.read()
    writer.close()
    # Until uvicorn's warning and the failing message's receipt are logged, and not longer. The
    # engine logs a receipt after storing it, in its own process; a 5 s wait ran out in CI.
    awaited = [("Invalid HTTP request received.",), ("smsgate.reports", failed_id)]
    deadline = time.monotonic() + 30
    while missing := [
        w for w in awaited if not any(all(p in line for p in w) for line in json_server.lines())
    ]:
        assert time.monotonic() < deadline, f"not logged: {missing}"
        await asyncio.sleep(0.02)

    lines = json_server.lines()
    parsed = list(_parsed(lines))
    assert all({"time", "level", "logger", "message"} <= line.keys() for line in parsed)
    for secret in (*SECRETS, base64.b64encode(f"acme:{WRONG_PASSWORD}".encode()).decode()):
        assert not [line for line in lines if secret in line], secret

    def of(**fields: Any) -> list[dict[str, Any]]:
        return [p for p in parsed if all(p.get(k) == v for k, v in fields.items())]

    # uvicorn's lines, from the workers: JSON too.
    assert of(logger="uvicorn.error", message="Application startup complete.")
    assert of(logger="uvicorn.error", message="Invalid HTTP request received.", level="warning")
    # The client's request id, on the request's access line.
    [access] = of(logger="smsgate.access", request_id="client-chosen-42")
    assert access["status"] == 201 and access["account"] == "acme" and access["dialect"] == "native"
    # Each refusal, with the request's id, dialect and reason.
    [refused] = of(logger="smsgate.refused", request_id=wrong_id)
    assert refused["reason"] == "unauthorized" and refused["status"] == 401
    assert refused["level"] == "info" and refused["dialect"] == "native"
    [phone] = of(logger="smsgate.accept", account="acme", dialect="native")
    assert phone["reasons"] == {"invalid_phone": 1}
    assert of(logger="smsgate.refused", dialect="smsc", level="info")
    assert of(logger="smsgate.refused", dialect="msghub", level="info")
    # The carrier's failure: the message and the carrier's raw code.
    [failure] = of(logger="smsgate.reports", message_id=failed_id)
    assert failure["status"] == "undelivered" and failure["carrier_error"]
    # The exception: its whole traceback, on one JSON line, with the request's id.
    [crash] = of(logger="smsgate.app", level="error", request_id=broken_id)
    assert crash["exception"].startswith("Traceback (most recent call last)")
    assert "RuntimeError: injected fault" in crash["exception"]
    assert crash["exception"].count('File "') >= 3
    assert "broken_balance" in crash["exception"]
