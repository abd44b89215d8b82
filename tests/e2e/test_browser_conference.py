"""The conference rooms page in headless Chromium: add a room, an error at its field, edit, delete."""

from __future__ import annotations

import os

import pytest
from playwright.sync_api import expect

from appliance.conference.models import ConferenceRoom
from appliance.users import create_user
from tests.support.browser import ARTIFACTS, CHROMIUM, STRONG, first_login, launch_chromium, running_web

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian's chromium is not installed"),
]


@pytest.fixture(scope="module")
def web(tmp_path_factory):
    running = running_web(tmp_path_factory.mktemp("conference-ui") / "data")
    first_login(running)
    create_user({"extension": "201", "first_name": "Alice", "last_name": "Test"})
    yield running
    running.stop()


@pytest.fixture
def page(web):
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = launch_chromium(p)
        context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900})
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(web.url + "/login")
        page.fill("#username", "admin")
        page.fill("#password", STRONG)
        page.click("button[type=submit]:has-text('Log in')")
        page.wait_for_url("**/users")
        yield page
        context.close()
        browser.close()
        assert errors == [], f"JavaScript errors: {errors}"


def test_add_a_room_see_the_error_at_the_field_edit_and_delete(page, web):
    page.goto(web.url + "/dialplan")
    page.click("nav.tabs a:has-text('Conferences')")
    expect(page.locator("nav.tabs a.on")).to_have_text("Conferences")
    page.fill("#cf-name", "weekly")
    page.fill("#cf-number", "201")  # Alice's extension
    page.fill("#cf-pin", "12ab")
    page.click("#conference-submit")
    expect(page.locator("[data-error-for=pin]")).to_be_visible()
    page.fill("#cf-pin", "1234")
    page.click("#conference-submit")
    expect(page.locator("[data-error-for=number]")).to_contain_text("201")
    page.fill("#cf-number", "870")
    page.click("#conference-submit")
    expect(page.locator("#conferences tr[data-name=weekly]")).to_contain_text("870")
    page.screenshot(path=str(ARTIFACTS / "conference-rooms.png"), full_page=True)
    page.click("[data-edit=weekly]")
    expect(page.locator("#cf-name")).to_have_value("weekly")
    page.fill("#cf-max", "12")
    page.click("#conference-submit")
    expect(page.locator("#conferences tr[data-name=weekly]")).to_contain_text("12")
    assert ConferenceRoom.get(name="weekly").max_participants == 12
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("[data-delete=weekly]")
    expect(page.locator("#conferences")).to_have_count(0)
