"""The dialplan pages in headless Chromium: build a procedure, drag to reorder, errors at the field.

Screenshots go to test-artifacts/.
"""

from __future__ import annotations

import os

import pytest
from playwright.sync_api import expect

from appliance.users import create_user
from tests.support.browser import ARTIFACTS, CHROMIUM, STRONG, first_login, launch_chromium, running_web

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian's chromium is not installed"),
]


@pytest.fixture(scope="module")
def web(tmp_path_factory):
    running = running_web(tmp_path_factory.mktemp("dialplan-ui") / "data")
    first_login(running)
    for ext, name in (("201", "Alice"), ("202", "Bruno")):
        create_user({"extension": ext, "first_name": name, "last_name": "Test"})
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


def test_every_dialplan_tab_opens_without_script_errors(page, web):
    for tab in ("Procedures", "Time ranges", "Switches", "Call groups", "IVR", "Sounds", "Debug"):
        page.goto(web.url + "/dialplan")
        page.click(f"nav.tabs a:has-text('{tab}')")
        expect(page.locator("nav.tabs a.on")).to_have_text(tab)
        page.wait_for_load_state("networkidle")


def test_build_a_procedure_reorder_by_dragging_and_see_errors_at_the_field(page, web):
    page.click("nav.menu a:has-text('Dialplan')")
    page.wait_for_url("**/dialplan")
    page.fill("#np-name", "reception")
    page.fill("#np-description", "Front desk")
    page.click("#new-procedure button[type=submit]")
    page.wait_for_url("**/dialplan/procedures/reception")

    # Two numbers, the first with two applications.
    page.click("#add-number")
    first = page.locator("#numbers > li").nth(0)
    first.locator("input.number").fill("100")
    first.locator("select.add-app").select_option("answer")
    first = page.locator("#numbers > li").nth(0)
    first.locator("select.add-app").select_option("dial_users")
    first = page.locator("#numbers > li").nth(0)
    first.locator('[data-option="extensions"]').fill("201 202")
    first.locator('[data-option="ring_seconds"]').fill("15")
    page.click("#add-number")
    second = page.locator("#numbers > li").nth(1)
    second.locator("input.number").fill("1XX")
    second.locator("select.add-app").select_option("hangup")
    page.click("#save")
    expect(page.locator("#saved")).to_be_visible()

    # Drag "dial users" above "answer", and the 1XX number above 100.
    apps = page.locator("#numbers > li").nth(0).locator(".apps > li")
    apps.nth(1).drag_to(apps.nth(0))
    expect(page.locator("#numbers > li").nth(0).locator(".apps > li").nth(0)).to_have_attribute(
        "data-app", "dial_users")
    numbers = page.locator("#numbers > li")
    numbers.nth(1).locator(".number-head .handle").drag_to(numbers.nth(0).locator(".number-head"))
    expect(page.locator("#numbers > li").nth(0)).to_have_attribute("data-number", "1XX")
    page.click("#save")
    expect(page.locator("#saved")).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "webui-20-procedure-editor.png"), full_page=True)

    saved = web.client()
    assert saved.api_login("admin", STRONG).status == 200
    body = saved.api("GET", "/api/v1/dialplan/procedures/reception").json()
    assert [n["number"] for n in body["numbers"]] == ["1XX", "100"]
    assert [a["app"] for a in body["numbers"][1]["apps"]] == ["dial_users", "answer"]
    assert body["numbers"][1]["apps"][0] == {"app": "dial_users", "extensions": ["201", "202"], "ring_seconds": 15}

    # A bad pattern: the message appears next to that number, and nothing is saved.
    page.locator("#numbers > li").nth(0).locator("input.number").fill("1[2")
    page.click("#save")
    error = page.locator('#numbers > li >> nth=0 >> [data-error-for="numbers.0.number"]')
    expect(error).to_be_visible()
    expect(error).to_contain_text("closing")
    page.screenshot(path=str(ARTIFACTS / "webui-21-procedure-error.png"), full_page=True)
    assert saved.api("GET", "/api/v1/dialplan/procedures/reception").json()["numbers"][0]["number"] == "1XX"


def test_call_group_members_move_in_place_before_saving(page, web):
    from appliance.dialplan.callgroups import create_group, get_group

    create_group({"name": "front-desk", "strategy": "sequential", "members": ["201", "202"]})
    page.goto(web.url + "/dialplan/groups/front-desk/edit")
    rows = page.locator("#members > li")
    expect(rows.nth(0)).to_have_attribute("data-member", "201")
    rows.nth(1).locator('button[data-move="up"]').click()
    # Moved in the page, no round trip: the same URL, the new order.
    expect(rows.nth(0)).to_have_attribute("data-member", "202")
    assert page.url.endswith("/dialplan/groups/front-desk/edit")
    page.locator("#members").evaluate("list => list.closest('form').requestSubmit()")
    page.wait_for_url("**/dialplan/groups?saved=front-desk")
    assert [m["extension"] for m in get_group("front-desk").members] == ["202", "201"]


def test_trunks_and_security_pages_open_without_script_errors(page, web):
    for path, heading in (("/trunks", "Trunks"), ("/trunks/new", None), ("/trunks/dids", None),
                          ("/trunks/groups", None), ("/trunks/prices", None), ("/security/fraud", None),
                          ("/security/events", None)):
        response = page.goto(web.url + path)
        assert response.status == 200, path
        page.wait_for_load_state("networkidle")
        if heading:
            expect(page.locator("nav.tabs a.on")).to_have_text(heading)
    # Choosing a provider preset fills the form in place.
    page.goto(web.url + "/trunks/new")
    presets = page.locator("select#preset option")
    assert presets.count() >= 10
