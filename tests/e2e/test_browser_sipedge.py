"""The web UI beside a real Kamailio, in headless Chromium: a user turns green when its phone
registers, and a banned address is listed and unbanned from the Banned IPs page.

(Kamailio alone, no call core: the full-stack version runs `appliance run`.)
Screenshots go to test-artifacts/.
"""

from __future__ import annotations

import os
import shutil

import pytest
from playwright.sync_api import expect

from appliance.system import get_system_settings
from tests.support.browser import ARTIFACTS, CHROMIUM, STRONG, launch_chromium, running_web
from tests.support.kamailio import SipClient, edge_settings, running_kamailio

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian's chromium is not installed"),
    pytest.mark.skipif(shutil.which("kamailio") is None and not os.path.exists("/usr/sbin/kamailio"),
                       reason="kamailio is not installed"),
]

SIP_PASSWORD = "Phone-Secret-2024"


@pytest.fixture
def stack(tmp_path):
    edge = edge_settings(tmp_path / "data")
    web = running_web(edge.data_dir, sip_port=edge.sip_port, kamailio_rpc_port=edge.kamailio_rpc_port,
                      worker_sip_port_base=edge.worker_sip_port_base, worker_count_max=edge.worker_count_max)
    system = get_system_settings()
    system.ban_failures, system.ban_window_s, system.ban_minutes = 3, 60, 1
    system.save()
    try:
        with running_kamailio(web.settings):
            yield web
    finally:
        web.stop()


@pytest.fixture
def page(stack):
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = launch_chromium(p)
        context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 860})
        page = context.new_page()
        page.goto(stack.url + "/login")
        page.fill("#username", "admin")
        page.fill("#password", stack.admin_password)
        page.click("button[type=submit]:has-text('Log in')")
        page.wait_for_url("**/password")
        page.fill("#current_password", stack.admin_password)
        page.fill("#new_password", STRONG)
        page.fill("#confirm_password", STRONG)
        page.click("button:has-text('Change password')")
        page.wait_for_url("**/users?changed=1")
        yield page
        context.close()
        browser.close()


def test_user_turns_green_when_its_phone_registers(stack, page):
    expect(page.locator("#status-strip .edge.up")).to_be_visible()
    page.click("#add-user")
    page.fill("#extension", "301")
    page.fill("#first_name", "Paul")
    page.fill("#last_name", "Phone")
    page.fill("#sip_password", SIP_PASSWORD)
    page.click("#save-user")
    page.wait_for_url("**/users?created=301")
    dot = page.locator('tr[data-extension="301"] .dot')
    assert dot.get_attribute("data-registered") == "no"
    page.screenshot(path=str(ARTIFACTS / "webui-10-user-not-registered.png"), full_page=True)

    with SipClient(stack.settings, user_agent="Test Phone 1.0") as phone:
        assert phone.register("301", SIP_PASSWORD).status == 200
        page.reload()
        expect(dot).to_have_attribute("data-registered", "yes")
        row = page.locator('tr[data-extension="301"]').inner_text()
        assert "Test Phone 1.0" in row and "127.0.0.1" in row
        page.screenshot(path=str(ARTIFACTS / "webui-11-user-registered.png"), full_page=True)
        assert page.locator('[data-status="registered"]').inner_text() == "1"

        phone.register("301", SIP_PASSWORD, expires=0)
        page.reload()
        expect(dot).to_have_attribute("data-registered", "no")


def test_banned_address_is_listed_and_unbanned_from_the_ui(stack, page):
    with SipClient(stack.settings, source_ip="127.0.0.7") as attacker:
        for _ in range(3):
            attacker.register("399", "Wrong-Passw0rd-1")
        page.goto(stack.url + "/security/bans")
        row = page.locator('tr[data-ip="127.0.0.7"]')
        expect(row).to_be_visible()
        page.screenshot(path=str(ARTIFACTS / "webui-12-banned-ips.png"), full_page=True)
        row.locator("button:has-text('Unban')").click()
        page.wait_for_url("**/security/bans?unbanned=127.0.0.7")
        assert page.locator('tr[data-ip="127.0.0.7"]').count() == 0
        assert "127.0.0.7 is no longer banned." in page.inner_text("main")
        # The address may try again: it gets a challenge, not silence.
        assert attacker.register("399", None).status == 401


def test_settings_page_lowers_the_ban_threshold_live(stack, page):
    page.click("nav.menu a:has-text('Settings')")
    page.wait_for_url("**/settings")
    expect(page.locator("#security")).to_be_visible()
    assert page.input_value("#ban_failures") == "3"
    page.screenshot(path=str(ARTIFACTS / "webui-13-settings.png"), full_page=True)

    # A bad value comes back next to its field, with what was typed kept.
    page.fill("#appliance_name", "Cabinet Dupont")
    page.fill("#ban_failures", "1")
    with page.expect_navigation():
        page.click("#save-settings")
    expect(page.locator('[data-field="ban_failures"]')).to_be_visible()
    assert page.input_value("#appliance_name") == "Cabinet Dupont"
    page.screenshot(path=str(ARTIFACTS / "webui-14-settings-error.png"), full_page=True)
    assert get_system_settings().appliance_name != "Cabinet Dupont"

    page.fill("#ban_failures", "2")
    page.click("#save-settings")
    page.wait_for_url("**/settings?saved=1")
    expect(page.locator('[data-status="appliance_name"]')).to_have_text("Cabinet Dupont")

    # Kamailio was not restarted: the second failure already bans.
    with SipClient(stack.settings, source_ip="127.0.0.8") as attacker:
        for _ in range(2):
            assert attacker.register("399", "Wrong-Passw0rd-1").status == 403
        assert attacker.register("399", None, timeout=1.0) is None
    page.goto(stack.url + "/security/bans")
    expect(page.locator('tr[data-ip="127.0.0.8"]')).to_be_visible()
