"""The web UI in headless Chromium (Debian's, driven by Playwright): what an installer does first.

Screenshots go to test-artifacts/.
"""

from __future__ import annotations

import os

import pytest
from playwright.sync_api import expect

from appliance.users import User
from tests.support.browser import ARTIFACTS, CHROMIUM, STRONG, launch_chromium, running_web

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian's chromium is not installed"),
]


@pytest.fixture
def web(tmp_path):
    running = running_web(tmp_path / "data")
    yield running
    running.stop()


@pytest.fixture
def page():
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = launch_chromium(p)
        context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 860})
        yield context.new_page()
        context.close()
        browser.close()


def _shot(page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"webui-{name}.png"), full_page=True)


def test_first_login_forced_change_then_create_a_user(web, page):
    page.goto(web.url + "/")
    assert "/login" in page.url
    _shot(page, "01-login")

    page.fill("#username", "admin")
    page.fill("#password", web.admin_password)
    page.click("button[type=submit]:has-text('Log in')")
    page.wait_for_url("**/password")
    expect(page.locator("p.warn")).to_be_visible()
    _shot(page, "02-forced-password-change")

    # A weak password is refused with the message next to the field.
    page.fill("#current_password", web.admin_password)
    page.fill("#new_password", "tooweak")
    page.fill("#confirm_password", "tooweak")
    with page.expect_navigation():
        page.click("button:has-text('Change password')")
    expect(page.locator('[data-field="new_password"]')).to_be_visible()

    page.fill("#current_password", web.admin_password)
    page.fill("#new_password", STRONG)
    page.fill("#confirm_password", STRONG)
    page.click("button:has-text('Change password')")
    page.wait_for_url("**/users?changed=1")
    expect(page.locator("#status-strip .edge.down")).to_be_visible()  # no Kamailio in this test
    _shot(page, "03-users-empty")

    page.click("#add-user")
    page.wait_for_url("**/users/new")
    generated = page.input_value("#sip_password")
    with page.expect_navigation():
        page.click("#generate-sip-password")
    assert page.input_value("#sip_password") not in ("", generated)

    page.fill("#extension", "abc")
    page.fill("#first_name", "Zoë")
    page.fill("#last_name", "Lefèvre")
    with page.expect_navigation():
        page.click("#save-user")
    expect(page.locator('[data-field="extension"]')).to_be_visible()
    assert page.input_value("#first_name") == "Zoë"  # what was typed is kept
    _shot(page, "04-user-form-error")

    page.fill("#extension", "201")
    page.fill("#email", "zoe@example.com")
    page.click("#save-user")
    page.wait_for_url("**/users?created=201")
    row = page.locator('tr[data-extension="201"]')
    expect(row).to_contain_text("Zoë Lefèvre")
    assert row.locator(".dot").get_attribute("data-registered") == "unknown"
    _shot(page, "05-user-created")
    assert User.get(User.extension == "201").email == "zoe@example.com"

    page.click("button:has-text('Log out')")
    page.wait_for_url("**/login")
