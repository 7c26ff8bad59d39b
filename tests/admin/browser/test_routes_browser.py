"""The Routes page in headless chromium: reached from the navigation, the table shown, and a
number tested in place by htmx (the page is not reloaded), at desktop and at phone width."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from smsgate.core.routing import parse_table
from tests.admin.browser.conftest import Console
from tests.admin.browser.test_console_browser import shot, text_of, until
from tests.admin.pages_support import PASSWORD

# One console and one chromium for the module: on one xdist worker, after or before the
# console's browser tests, never beside them (test_console_browser.py).
pytestmark = pytest.mark.xdist_group("browser")

TABLE = {
    "rules": [{"name": "kz", "prefixes": ["+77"], "route": "kz"}],
    "routes": [{"name": "kz", "connectors": [{"connector": "simulator", "weight": 3}]}],
    "prices": [{"connector": "simulator", "country": "KZ", "price": "0.012"}],
}


@pytest.fixture(scope="module")
def on_routes(browser: Any, console: Console) -> Any:
    console.run(console.gateway.store.routing_apply(parse_table(TABLE)))
    browser.get(f"{console.url}/admin/login")
    browser.find_element(By.ID, "username").send_keys("root")
    browser.find_element(By.ID, "password").send_keys(PASSWORD, Keys.ENTER)
    until(browser, lambda d: d.current_url.rstrip("/").endswith("/admin"))
    browser.find_element(By.LINK_TEXT, "Routes").click()
    until(browser, lambda d: d.current_url.endswith("/admin/routes"))
    return browser


def test_test_a_number_in_place(on_routes: Any, console: Console, screenshots: list[Path]) -> None:
    driver = on_routes
    link = driver.find_element(By.LINK_TEXT, "Routes")
    assert link.get_attribute("aria-current") == "page"
    assert "1 kz prefix +77 kz" in text_of(driver, "#rules")
    driver.execute_script("window.notReloaded = true")
    driver.find_element(By.NAME, "phone").send_keys("+7 701 123 45 67")
    driver.find_element(By.CSS_SELECTOR, "#test-heading ~ form button").click()
    until(driver, lambda d: "kz" in text_of(d, "#route-test"))
    assert driver.execute_script("return window.notReloaded === true")  # swapped by htmx
    answer = text_of(driver, "#route-test")
    assert "+77011234567 (region KZ)" in answer
    assert "simulator (priority 0, weight 3, 0.012)" in answer
    shot(driver, screenshots, "routes")

    number = driver.find_element(By.NAME, "phone")
    number.clear()
    number.send_keys("hello", Keys.ENTER)
    until(driver, lambda d: "is not a number" in text_of(d, "#route-test"))
    assert driver.find_element(By.CSS_SELECTOR, "#route-test [role=alert]")


def test_phone_width(on_routes: Any, screenshots: list[Path]) -> None:
    driver = on_routes
    driver.set_window_size(390, 844)
    try:
        driver.get(driver.current_url)
        until(driver, lambda d: d.find_element(By.ID, "rules"))
        wide = driver.execute_script(
            "return document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert wide <= 0, f"{wide} px of horizontal scrolling"
        shot(driver, screenshots, "routes-phone")
    finally:
        driver.set_window_size(1280, 800)
