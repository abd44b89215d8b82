"""The Settings page and GET/PUT /api/v1/settings on a real cheroot server (Kamailio absent)."""

from __future__ import annotations

import re

import pytest

from appliance.auth import sessions
from appliance.system import get_system_settings
from appliance.users import create_user
from tests.support.browser import STRONG, first_login, running_web

FORM = {"appliance_name": "Cabinet Dupont", "sip_domain": "pbx.dupont.example", "country": "FR",
        "timezone": "Europe/Paris", "language": "fr", "ring_timeout_s": "30", "ban_failures": "10",
        "ban_window_s": "60", "ban_minutes": "15", "flood_limit": "100", "national_prefix": "0",
        "international_prefix": "00"}
# One bad value per field: each answered 400 naming the field.
BAD = [
    ("appliance_name", ""), ("appliance_name", "x" * 65), ("appliance_name", "tab\there"),
    ("sip_domain", "pbx local"), ("sip_domain", "<script>.example"), ("sip_domain", "300.1.1.1.1"),
    ("country", "ZZ"), ("timezone", "Europe/Atlantis"), ("language", "es"),
    ("ring_timeout_s", "2"), ("ring_timeout_s", "9999"), ("ring_timeout_s", "thirty"),
    ("ban_failures", "1"), ("ban_failures", "1001"), ("ban_window_s", "5"), ("ban_window_s", "7200"),
    ("ban_minutes", "0"), ("ban_minutes", "10081"), ("flood_limit", "8"),
]


@pytest.fixture(scope="module")
def web(tmp_path_factory):
    running = running_web(tmp_path_factory.mktemp("websettings"))
    yield running
    running.stop()


@pytest.fixture(autouse=True)
def no_lockout():
    yield
    sessions.clear_failures("127.0.0.1")


@pytest.fixture(scope="module")
def admin(web):
    return first_login(web)


@pytest.fixture(scope="module")
def api(web, admin):
    client = web.client()
    assert client.api_login("admin", STRONG).status == 200
    return client


def _as(web, extension: str, role: str):
    create_user({"extension": extension, "first_name": role.title(), "last_name": "Test", "role": role,
                 "web_password": STRONG})
    client = web.client()
    assert client.login(extension, STRONG).status == 303
    assert client.api_login(extension, STRONG).status == 200
    return client


def _field_error(page: str, field: str) -> str | None:
    match = re.search(rf'data-field="{field}"[^>]*>([^<]*)<', page)
    return match.group(1) if match else None


def _stored() -> dict:
    return get_system_settings().to_public()


# -- the page --------------------------------------------------------------------------------------

def test_settings_page_shows_system_and_security_sections(web, admin):
    page = admin.get("/settings")
    assert page.status == 200
    for text in ("Appliance name", "SIP domain", "Time zone", "Security", "Failures before a ban",
                 'name="csrf_token"', 'id="save-settings"', 'value="Europe/Paris" selected'):
        assert text in page.text, text


def test_saving_the_form_stores_every_field_and_shows_the_new_name(web, admin):
    response = admin.post_form("/settings", dict(FORM, revision=str(_stored()["revision"])))
    assert response.status == 303 and response.header("Location").endswith("/settings?saved=1")
    stored = _stored()
    assert {k: str(v) for k, v in stored.items() if k != "revision"} == FORM
    page = admin.get("/settings?saved=1")
    assert "Settings saved." in page.text and 'data-status="appliance_name">Cabinet Dupont<' in page.text


@pytest.mark.parametrize("field,value", BAD, ids=[f"{f}={v}"[:30] for f, v in BAD])
def test_bad_form_input_is_a_400_with_the_message_next_to_the_field(web, admin, field, value):
    before = _stored()
    response = admin.post_form("/settings", {**FORM, "appliance_name": "Never stored", field: value})
    assert response.status == 400
    assert _field_error(response.text, field), response.text[-2000:]
    assert _stored() == before
    if field in ("appliance_name", "sip_domain"):
        assert "<script>" not in response.text  # what was typed comes back escaped


def test_form_without_csrf_token_is_refused_and_changes_nothing(web, admin):
    before = _stored()
    response = admin.post_form("/settings", dict(FORM, csrf_token="forged", appliance_name="Forged"), csrf=False)
    assert response.status == 403 and _stored() == before


def test_stale_form_is_a_409_and_keeps_the_other_admins_change(web, admin, api):
    revision = _stored()["revision"]
    assert api.api("PUT", "/api/v1/settings", {"appliance_name": "Changed by API"}).status == 200
    response = admin.post_form("/settings", dict(FORM, appliance_name="Stale form", revision=str(revision)))
    assert response.status == 409 and "changed by someone else" in response.text
    assert _stored()["appliance_name"] == "Changed by API"


def test_technician_reads_the_settings_but_cannot_change_them(web, admin):
    client = _as(web, "411", "technician")
    page = client.get("/settings")
    assert page.status == 200 and 'id="read-only"' in page.text and 'id="save-settings"' not in page.text
    assert " disabled" in page.text
    before = _stored()
    assert client.post_form("/settings", dict(FORM, appliance_name="Technician")).status == 403
    assert client.api("GET", "/api/v1/settings").status == 200
    assert client.api("PUT", "/api/v1/settings", {"appliance_name": "Technician"}).status == 403
    assert _stored() == before


def test_user_role_gets_403_on_the_settings(web, admin):
    client = _as(web, "412", "user")
    assert client.get("/settings").status == 403
    assert client.api("GET", "/api/v1/settings").status == 403


def test_settings_page_in_french(web, admin):
    client = web.client()
    create_user({"extension": "413", "first_name": "Technicien", "last_name": "Fr", "role": "technician",
                 "language": "fr", "web_password": STRONG})
    assert client.login("413", STRONG).status == 303
    page = client.get("/settings")
    assert "Domaine SIP" in page.text and "Sécurité" in page.text and "Échecs avant bannissement" in page.text


# -- the API ---------------------------------------------------------------------------------------

def test_api_get_and_put_settings(web, api):
    current = api.api("GET", "/api/v1/settings").json()
    assert set(current) == {"appliance_name", "sip_domain", "country", "timezone", "language", "ring_timeout_s",
                            "ban_failures", "ban_window_s", "ban_minutes", "flood_limit", "national_prefix",
                            "international_prefix", "revision"}
    response = api.api("PUT", "/api/v1/settings", {"ban_failures": 3, "ban_window_s": 30, "ban_minutes": 2,
                                                   "revision": current["revision"]})
    assert response.status == 200
    body = response.json()
    assert (body["ban_failures"], body["ban_window_s"], body["ban_minutes"]) == (3, 30, 2)
    assert body["revision"] == current["revision"] + 1
    stale = api.api("PUT", "/api/v1/settings", {"ban_failures": 4, "revision": current["revision"]})
    assert stale.status == 409 and stale.json()["field"] == "revision"
    assert _stored()["ban_failures"] == 3


API_BAD = BAD + [("ring_timeout_s", 4.5), ("ban_failures", True), ("country", None), ("language", 1),
                 ("nonsense", 1), ("updated_at", "2020-01-01"), ("revision", "one")]


@pytest.mark.parametrize("field,value", API_BAD, ids=[f"{f}={v}"[:30] for f, v in API_BAD])
def test_api_bad_input_is_a_400_naming_the_field_and_nothing_is_stored(web, api, field, value):
    before = _stored()
    response = api.api("PUT", "/api/v1/settings", {"appliance_name": "Never stored", field: value})
    assert response.status == 400
    assert response.json()["error"] == "invalid" and response.json()["field"] == field
    assert _stored() == before


@pytest.mark.parametrize("raw", [b"[]", b"not json", b'"text"'])
def test_api_body_that_is_not_an_object_is_a_400(web, api, raw):
    response = api.api("PUT", "/api/v1/settings", raw=raw)
    assert response.status == 400 and response.json()["field"] == "body"
