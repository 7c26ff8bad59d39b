"""/docs: Swagger UI from the package's own files (no CDN, no outside URL), and in a real
headless Chromium it shows every operation of /openapi.json and calls the API with a token."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
from pathlib import Path
from typing import Any

import aiohttp

from tests.smpp.peers import require
from tests.support.servers import Gateway, account

EXTERNAL = re.compile(rb"(?:https?:)?//[\w.-]+\.\w")  # a URL with a host of its own


async def test_the_page_and_its_files_are_served_with_no_outside_url(
    http: aiohttp.ClientSession,
) -> None:
    page = await http.get("/docs")
    assert page.status == 200 and page.content_type == "text/html"
    html = await page.read()
    assert not EXTERNAL.search(html), EXTERNAL.search(html)
    policy = page.headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "script-src 'self'" in policy
    wanted = {
        "docs/static/swagger-ui.css": "text/css",
        "docs/static/swagger-ui-bundle.js": "text/javascript",
        "docs/swagger-init.js": "text/javascript",
        "docs/static/favicon-32x32.png": "image/png",
    }
    linked = set(re.findall(rb'(?:src|href)="([^"]+)"', html)) - {b"openapi.json"}
    assert linked == {name.encode() for name in wanted}
    for name, kind in wanted.items():
        r = await http.get("/" + name)
        assert r.status == 200, name
        assert r.content_type == kind, (name, r.content_type)
    init = await (await http.get("/docs/swagger-init.js")).read()
    assert not EXTERNAL.search(init)
    assert b'url: "openapi.json"' in init and b"validatorUrl: null" in init
    # Swagger UI's demo page (it loads its example document from the internet) is not served.
    for other in ("index.html", "swagger-initializer.js", "../../__init__.py"):
        assert (await http.get("/docs/static/" + other)).status == 404, other


def _chrome() -> Any:
    """A headless Chromium (Debian's chromium and chromium-driver), or a skip outside CI."""
    browser, driver = shutil.which("chromium"), shutil.which("chromedriver")
    require(browser is not None, "chromium is not installed (apt-get install chromium)")
    require(driver is not None, "chromedriver is not installed (apt-get install chromium-driver)")
    assert browser is not None and driver is not None
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(driver), options=options)


def _try_balance(url: str, artifacts: Path) -> tuple[list[str], str, list[dict[str, Any]]]:
    """In the browser: the operations shown, then Authorize with the token and "Try it out"
    on GET /api/v1/balance; what the page shows as its answer; the console's messages."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ready
    from selenium.webdriver.support.ui import WebDriverWait

    chrome = _chrome()
    try:
        chrome.set_window_size(1280, 900)
        chrome.get(url + "/docs")
        wait = WebDriverWait(chrome, 30)
        wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, ".opblock-summary-path")) >= 10)
        shown = [
            f"{e.find_element(By.CSS_SELECTOR, '.opblock-summary-method').text} "
            f"{e.find_element(By.CSS_SELECTOR, '.opblock-summary-path').text}"
            for e in chrome.find_elements(By.CSS_SELECTOR, ".opblock-summary")
        ]
        chrome.save_screenshot(str(artifacts / "docs.png"))
        chrome.find_element(By.CSS_SELECTOR, "button.authorize").click()
        field = wait.until(
            ready.visibility_of_element_located((By.CSS_SELECTOR, ".auth-container input"))
        )
        field.send_keys("acme-token")
        chrome.find_element(By.CSS_SELECTOR, ".auth-btn-wrapper button.authorize").click()
        chrome.find_element(By.CSS_SELECTOR, "button.btn-done").click()
        block = chrome.find_element(By.ID, "operations-Account-get_balance")
        block.find_element(By.CSS_SELECTOR, ".opblock-summary").click()
        wait.until(lambda d: block.find_elements(By.CSS_SELECTOR, "button.try-out__btn"))
        block.find_element(By.CSS_SELECTOR, "button.try-out__btn").click()
        wait.until(lambda d: block.find_elements(By.CSS_SELECTOR, "button.execute"))
        block.find_element(By.CSS_SELECTOR, "button.execute").click()
        answer = wait.until(
            lambda d: block.find_elements(
                By.CSS_SELECTOR, ".live-responses-table tbody .response-col_status"
            )
        )
        wait.until(
            lambda d: block.find_elements(By.CSS_SELECTOR, ".live-responses-table .microlight")
        )
        text = (
            answer[0].text
            + " "
            + block.find_element(By.CSS_SELECTOR, ".live-responses-table .microlight").text
        )
        chrome.save_screenshot(str(artifacts / "docs-try-balance.png"))
        return shown, text, chrome.get_log("browser")
    finally:
        chrome.quit()


async def test_swagger_ui_shows_every_operation_and_calls_the_api(
    gateway: Gateway, http: aiohttp.ClientSession, tmp_path: Path
) -> None:
    await gateway.provision(account("acme"))
    doc = await (await http.get("/openapi.json")).json()
    artifacts = Path(os.environ.get("SMSGATE_SCREENSHOTS", tmp_path))  # as the console's
    artifacts.mkdir(parents=True, exist_ok=True)
    shown, answer, console = await asyncio.to_thread(_try_balance, gateway.url, artifacts)
    documented = {f"{m.upper()} {p}" for p, ops in doc["paths"].items() for m in ops}
    documented |= {f"POST {name}" for name in doc["webhooks"]}  # shown under Webhooks
    assert {s.replace("\u200b", "") for s in shown} == documented
    assert answer.startswith("200") and '"balance": "1000.0000"' in answer, answer
    errors = [entry for entry in console if entry["level"] == "SEVERE"]
    assert not errors, errors  # a Content-Security-Policy refusal would show here
