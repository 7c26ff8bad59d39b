"""The console in headless chromium: log in, find a message and its delivered timeline, revoke
a token (the API then refuses it), top up a balance (the ledger shows it), watch the overview
count a bulk as it runs, and use it at phone width with the keyboard."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from tests.admin.browser.conftest import Console
from tests.admin.pages_support import PASSWORD

T = TypeVar("T")

# One console and one chromium for the module, whose tests build on each other (the audit log
# holds the revoke of an earlier test): one xdist worker runs them all, in order, as do the
# Routes page's (make test runs the two browsers one after the other, not side by side).
pytestmark = pytest.mark.xdist_group("browser")


def until(driver: Any, check: Callable[[Any], T], timeout: float = 15.0) -> T:
    ignored = (NoSuchElementException, StaleElementReferenceException)  # a page reloading
    wait = WebDriverWait(driver, timeout, poll_frequency=0.1, ignored_exceptions=ignored)
    result: T = wait.until(check)
    return result


def shot(driver: Any, folders: list[Path], name: str) -> None:
    for folder in folders:
        driver.save_screenshot(str(folder / f"{name}.png"))


def text_of(driver: Any, css: str) -> str:
    return str(driver.find_element(By.CSS_SELECTOR, css).text)


@pytest.fixture(scope="module")
def logged_in(browser: Any, console: Console, screenshots: list[Path]) -> Any:
    browser.get(f"{console.url}/admin/")
    until(browser, lambda d: "/admin/login" in d.current_url)
    shot(browser, screenshots, "login")
    browser.find_element(By.ID, "username").send_keys("root")
    browser.find_element(By.ID, "password").send_keys(PASSWORD, Keys.ENTER)
    until(browser, lambda d: d.current_url.rstrip("/").endswith("/admin"))
    assert "Overview" in browser.title
    return browser


def test_find_a_message_by_phone_and_see_it_delivered(
    logged_in: Any, console: Console, screenshots: list[Path]
) -> None:
    status, sent = console.api(
        "POST", "/api/v1/messages", "acme-token", {"to": "+79651110001", "text": "Code 1234"}
    )
    assert status == 201
    driver = logged_in
    driver.get(f"{console.url}/admin/messages")
    driver.find_element(By.ID, "q-phone").send_keys("79651110001", Keys.ENTER)
    # The unfiltered list shows the message too: wait for htmx to swap in the search's rows.
    until(driver, lambda d: "phone=79651110001" in d.current_url)  # pushed by htmx
    until(driver, lambda d: text_of(d, "#results caption").startswith("1 message"))
    shot(driver, screenshots, "search")
    until(driver, lambda d: d.find_element(By.LINK_TEXT, sent["id"]).click() or True)
    until(driver, lambda d: sent["id"] in d.title)

    def delivered(d: Any) -> bool:
        if "delivered" in text_of(d, "#timeline"):
            return True
        d.refresh()
        return False

    until(driver, delivered)
    assert text_of(driver, "#message-status") == "delivered"
    assert "Code 1234" in text_of(driver, "pre.text")
    shot(driver, screenshots, "message")


def test_revoke_a_token_and_the_api_refuses_it(logged_in: Any, console: Console) -> None:
    assert console.api("GET", "/api/v1/balance", "bravo-token")[0] == 200
    driver = logged_in
    driver.get(f"{console.url}/admin/accounts/{console.accounts['bravo']}")
    row = until(
        driver,
        lambda d: next(
            r
            for r in d.find_elements(By.CSS_SELECTOR, "#credentials tbody tr")
            if r.text.startswith("native token")
        ),
    )
    row.find_element(By.XPATH, ".//button[text()='Revoke']").click()
    until(driver, lambda d: d.switch_to.alert).accept()
    until(driver, lambda d: "native token" not in text_of(d, "#credentials"))
    deadline = time.monotonic() + 10  # the gateway caches a credential for up to 2 s
    while console.api("GET", "/api/v1/balance", "bravo-token")[0] != 401:
        assert time.monotonic() < deadline, "the revoked token still works"
        time.sleep(0.2)


def test_rotate_shows_the_new_secret_once_and_the_audit_log_has_both(
    logged_in: Any, console: Console, screenshots: list[Path]
) -> None:
    driver = logged_in
    page = f"{console.url}/admin/accounts/{console.accounts['bravo']}"
    driver.get(page)
    row = next(
        r
        for r in driver.find_elements(By.CSS_SELECTOR, "#credentials tbody tr")
        if r.text.startswith("smsc login")
    )
    row.find_element(By.XPATH, ".//button[text()='Rotate']").click()
    until(driver, lambda d: d.switch_to.alert).accept()
    shown = until(driver, lambda d: row.find_element(By.CSS_SELECTOR, "output.secret").text)
    secret = shown.removeprefix("New secret (shown once): ")
    assert secret and secret != shown
    shot(driver, screenshots, "rotated")
    driver.get(page)
    assert secret not in driver.page_source
    driver.get(f"{console.url}/admin/audit")
    log = text_of(driver, "#audit")
    assert "credential.rotate" in log and "credential.revoke" in log and secret not in log
    shot(driver, screenshots, "audit")


def test_top_up_and_see_the_ledger_entry(
    logged_in: Any, console: Console, screenshots: list[Path]
) -> None:
    driver = logged_in
    driver.get(f"{console.url}/admin/accounts/{console.accounts['charlie']}")
    before = text_of(driver, "#balance")
    driver.find_element(By.ID, "top-up-amount").send_keys("12.50")
    driver.find_element(By.ID, "top-up-reason").send_keys("invoice 42", Keys.ENTER)
    until(driver, lambda d: "invoice 42" in text_of(d, "#ledger"))
    entry = text_of(driver, "#ledger tbody tr:first-child")
    assert "top_up" in entry and "12.50" in entry and "root" in entry
    assert text_of(driver, "#balance") != before
    shot(driver, screenshots, "account")


def test_the_overview_counts_a_bulk_while_it_runs(
    logged_in: Any, console: Console, screenshots: list[Path]
) -> None:
    driver = logged_in
    driver.get(f"{console.url}/admin/")
    # Read in one script: the element is replaced by every update (a found one goes stale).
    read = "return document.getElementById('count-delivered').textContent"
    start = int(until(driver, lambda d: d.execute_script(read)))
    recipients = [{"to": f"+7965222{i:04d}"} for i in range(1500)]
    status, _ = console.api(
        "POST", "/api/v1/messages/bulk", "acme-token", {"recipients": recipients, "text": "Hi"}
    )
    assert status in (200, 201, 202)
    seen = [start]
    deadline = time.monotonic() + 30
    while seen[-1] < start + 1500:
        assert time.monotonic() < deadline, f"the counter stopped at {seen}"
        value = int(driver.execute_script(read))  # never reloaded: the event stream swaps it
        if value != seen[-1]:
            seen.append(value)
        time.sleep(0.1)
    assert len(seen) >= 3, f"no value between the start and the end: {seen}"
    assert seen == sorted(seen)
    until(driver, lambda d: d.find_element(By.CSS_SELECTOR, "#chart-hour canvas"))
    shot(driver, screenshots, "overview")


def test_phone_width_and_keyboard(
    logged_in: Any, console: Console, screenshots: list[Path]
) -> None:
    driver = logged_in
    driver.set_window_size(390, 844)
    try:
        for name, path in (
            ("phone-overview", "/admin/"),
            ("phone-messages", "/admin/messages?phone=79651110001"),
            ("phone-account", f"/admin/accounts/{console.accounts['acme']}"),
        ):
            driver.get(f"{console.url}{path}")
            until(driver, lambda d: d.execute_script("return document.readyState") == "complete")
            wide = driver.execute_script(
                "return document.documentElement.scrollWidth - window.innerWidth"
            )
            assert wide <= 1, f"{path} is {wide}px wider than the phone's screen"
            shot(driver, screenshots, name)
        driver.find_element(By.TAG_NAME, "body").send_keys(Keys.TAB)
        focused = driver.switch_to.active_element
        assert focused.text == "Skip to content"
        focused.send_keys(Keys.ENTER)
        assert driver.switch_to.active_element.get_attribute("id") == "main"
        labels = driver.execute_script(
            "return [...document.querySelectorAll('input:not([type=hidden]), select')]"
            ".filter(e => !(e.labels && e.labels.length)).map(e => e.name)"
        )
        assert labels == [], f"inputs without a label: {labels}"
    finally:
        driver.set_window_size(1280, 800)
