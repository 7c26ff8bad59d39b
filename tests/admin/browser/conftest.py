"""The console in a real browser: Debian's chromium driven by selenium (headless), against a
real smsgate on 127.0.0.1. One server and one browser per module (starting chromium takes
about two seconds). Without chromium or chromedriver the tests skip and say so, except under
CI=true, where they fail (`make peers` installs both).

Screenshots of each page go to a temporary folder, and to `$SMSGATE_SCREENSHOTS` when set:
`SMSGATE_SCREENSHOTS=tests/artifacts/screenshots .venv/bin/python -m pytest tests/admin/browser`.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from smsgate.connectors.simulator import SimulatorConfig
from tests.admin.pages_support import PASSWORD
from tests.smpp.peers import require
from tests.support.servers import Gateway, account, start_gateway, test_config

T = TypeVar("T")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")


class Console:
    """A running smsgate in a thread of its own (selenium's calls block; the server must not
    wait for them), with an operator `root` and the accounts the tests use."""

    def __init__(self, database: str) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        # The simulator sends 500 messages a second: a bulk takes long enough to be watched.
        config = test_config(database, simulator=SimulatorConfig(dr_delay=0.05, tps=500))
        self.gateway: Gateway = self.run(start_gateway(config))
        self.url = self.gateway.url
        self.accounts: dict[str, int] = {}

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 30.0) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def stop(self) -> None:
        self.run(self.gateway.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)

    def api(self, method: str, path: str, token: str, body: Any = None) -> tuple[int, Any]:
        """A native API request: (status, decoded answer)."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(f"{self.url}{path}", data=data, method=method)
        request.add_header("Authorization", f"Bearer {token}")
        request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:
                return answer.status, json.loads(answer.read() or b"null")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"null")


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    folder = tmp_path_factory.mktemp("console")
    running = Console(f"sqlite:///{folder}/smsgate.db")
    try:
        from smsgate.core.passwords import hash_password

        store = running.gateway.store
        running.run(store.admin_create("root", hash_password(PASSWORD), "operator", time.time()))
        names = ("acme", "bravo", "charlie")
        ids = running.run(running.gateway.provision(*(account(n) for n in names)))
        running.accounts = dict(zip(names, ids, strict=True))
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def browser(console: Console) -> Iterator[Any]:
    """Headless chromium at 1280x800, logged in as `root` (closed before the server stops)."""
    require(CHROMIUM is not None, "chromium is not installed (apt-get install chromium)")
    require(
        CHROMEDRIVER is not None, "chromedriver is not installed (apt-get install chromium-driver)"
    )
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=1280,800",
        "--lang=en-US",
    ):
        options.add_argument(argument)
    driver = webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    folders = [tmp_path_factory.mktemp("screenshots")]
    wanted = os.environ.get("SMSGATE_SCREENSHOTS")
    if wanted:
        Path(wanted).mkdir(parents=True, exist_ok=True)
        folders.append(Path(wanted))
    return folders
