"""Every admin page added for voicemail, mail, conferences, recordings, devices, network, storage, backup and
health opens in headless Chromium without a script error, in English and in French, with its tab marked."""

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

# (path, the tab or menu entry marked "on" there, in English and in French)
PAGES = (
    ("/settings/mail", ("Mail", "E-mail")),
    ("/settings/network", ("Network", "Réseau")),
    ("/settings/dhcp", ("DHCP server", "Serveur DHCP")),
    ("/settings/storage", ("Storage", "Stockage")),
    ("/settings/info", ("Info", "Infos")),
    ("/settings/backup", ("Backup", "Sauvegarde")),
    ("/calls/recordings", ("Recordings", "Enregistrements")),
    ("/dialplan/conferences", ("Conferences", "Conférences")),
    ("/voicemail", None),
    ("/voicemail/201", None),
    ("/devices", None),
)


@pytest.fixture(scope="module")
def web(tmp_path_factory):
    running = running_web(tmp_path_factory.mktemp("admin-pages") / "data")
    first_login(running)
    create_user({"extension": "201", "first_name": "Alice", "last_name": "Test"})
    yield running
    running.stop()


@pytest.fixture(params=["en-US", "fr-FR"])
def page(web, request):
    from playwright.sync_api import sync_playwright

    from appliance.users.models import User

    # The pages speak the logged-in user's language (then the browser's): the admin's is set here.
    User.update(language=request.param[:2]).where(User.login == "admin").execute()
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = launch_chromium(p)
        context = browser.new_context(locale=request.param, viewport={"width": 1280, "height": 900})
        page = context.new_page()
        page.language = request.param[:2]
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(web.url + "/login")
        page.fill("#username", "admin")
        page.fill("#password", STRONG)
        page.click("button[type=submit]")
        page.wait_for_url("**/users")
        yield page
        context.close()
        browser.close()
        assert errors == [], f"JavaScript errors: {errors}"


def test_each_new_admin_page_opens_with_its_tab_and_no_script_error(page, web):
    for path, tab in PAGES:
        response = page.goto(web.url + path)
        assert response.status == 200, path
        page.wait_for_load_state("networkidle")
        assert "Traceback" not in page.content()
        if tab is not None:
            label = tab[0] if page.language == "en" else tab[1]
            expect(page.locator("nav.tabs a.on, nav.sub a.on").first).to_have_text(label)
    page.screenshot(path=str(ARTIFACTS / f"admin-pages-devices-{page.language}.png"), full_page=True)
