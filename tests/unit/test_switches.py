"""Switches: the service (validation, codes, states, in use) and feature code 93 driven by a scripted phone."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from appliance.callcore import prompts
from appliance.callcore.channel import HungUp
from appliance.dialplan import engine, switches
from appliance.dialplan.call import DialplanCall, Stop
from appliance.dialplan.models import Procedure, Switch, current_revision
from appliance.errors import Conflict, NotFound, ValidationError
from appliance.users import create_user
from tests.support.browser import STRONG, running_web
from tests.support.fake_channel import FakeChannel


@pytest.fixture(scope="module")
def web(tmp_path_factory):
    """One in-process web server (and its store) for this module; users 201-203, a technician and a user."""
    running = running_web(tmp_path_factory.mktemp("switches") / "data")
    client = running.client()
    assert client.api("POST", "/api/v1/session/password", {
        "username": "admin", "current_password": running.admin_password, "new_password": STRONG}).status == 200
    for extension in ("201", "202", "203"):
        create_user({"extension": extension, "first_name": "User", "last_name": extension})
    for extension, role in (("380", "technician"), ("381", "user")):
        create_user({"extension": extension, "first_name": "P" + extension, "last_name": "Test", "role": role,
                     "web_password": STRONG})
    yield running
    running.stop()


@pytest.fixture
def users(web):
    """The module's store, emptied of switches and new procedures after each test."""
    procedures = [p.name for p in Procedure.select(Procedure.name)]
    yield web.settings
    Procedure.delete().where(Procedure.name.not_in(procedures)).execute()
    Switch.delete().execute()


def client_as(web, login: str):
    client = web.client()
    assert client.api_login(login, STRONG).status == 200
    return client


# -- service ---------------------------------------------------------------------------------------

def test_create_then_set_state_reads_live_without_moving_the_dialplan_revision(users):
    before = current_revision()
    night = switches.create_switch({"name": "night", "description": "Night mode", "code": 1,
                                    "allowed": ["201", "202"]}, by="admin")
    assert current_revision() == before + 1
    assert switches.to_public(night) | {"updated_at": None} == {
        "name": "night", "description": "Night mode", "code": 1, "states": 2, "state": 0, "state_label": "off",
        "allowed": ["201", "202"], "changed_by": "admin", "revision": 1, "updated_at": None}

    switches.set_state("night", 1, by="admin (web)")
    row = switches.get_switch("night")
    assert (row.state, row.changed_by, row.revision) == (1, "admin (web)", 1)
    assert current_revision() == before + 1
    with pytest.raises(ValidationError) as caught:
        switches.set_state("night", 2)
    assert caught.value.field == "state"
    with pytest.raises(ValidationError):
        switches.set_state("night", True)
    with pytest.raises(NotFound):
        switches.set_state("day", 1)


def test_three_state_switch_takes_the_extra_state_and_cannot_lose_it_while_in_it(users):
    switches.create_switch({"name": "mode", "code": 2, "states": 3, "state": 2})
    assert switches.get_switch("mode").state == 2
    with pytest.raises(ValidationError) as caught:
        switches.update_switch("mode", {"states": 2})
    assert caught.value.field == "states"
    switches.update_switch("mode", {"states": 2, "state": 0})
    assert (switches.get_switch("mode").states, switches.get_switch("mode").state) == (2, 0)


@pytest.mark.parametrize("data, field", [
    ({"code": 5}, "name"),
    ({"name": "night"}, "code"),
    ({"name": "Night", "code": 5}, "name"),
    ({"name": "night", "code": 0}, "code"),
    ({"name": "night", "code": 100}, "code"),
    ({"name": "night", "code": "ab"}, "code"),
    ({"name": "night", "code": True}, "code"),
    ({"name": "night", "code": 5, "states": 4}, "states"),
    ({"name": "night", "code": 5, "state": 2}, "state"),
    ({"name": "night", "code": 5, "allowed": ["201", "999"]}, "allowed.1"),
    ({"name": "night", "code": 5, "allowed": "201"}, None),   # a comma/space separated string is accepted
    ({"name": "night", "code": 5, "allowed": [201]}, "allowed"),
    ({"name": "night", "code": 5, "colour": "red"}, "colour"),
    ({"name": "night", "code": 5, "description": "x" * 256}, "description"),
])
def test_create_validation_names_the_field(users, data, field):
    if field is None:
        assert switches.create_switch(data).allowed == ["201"]
        return
    with pytest.raises(ValidationError) as caught:
        switches.create_switch(data)
    assert caught.value.field == field


def test_codes_and_names_are_unique_and_revisions_refuse_stale_edits(users):
    switches.create_switch({"name": "night", "code": 7})
    with pytest.raises(ValidationError) as caught:
        switches.create_switch({"name": "other", "code": 7})
    assert caught.value.field == "code" and "night" in caught.value.message
    with pytest.raises(ValidationError) as caught:
        switches.create_switch({"name": "night", "code": 8})
    assert caught.value.field == "name"
    switches.create_switch({"name": "other", "code": 8})
    with pytest.raises(ValidationError):
        switches.update_switch("other", {"code": 7})
    switches.update_switch("other", {"code": "9", "revision": 1})
    with pytest.raises(Conflict):
        switches.update_switch("other", {"description": "stale", "revision": 1})
    assert switches.get_switch("other").code == 9


def test_delete_refused_while_a_procedure_checks_the_switch(users):
    switches.create_switch({"name": "night", "code": 7})
    Procedure.create(name="reception", numbers=[{"number": "100", "apps": [
        {"app": "check_switch", "switch": "night", "on_procedure": "main"}]}])
    with pytest.raises(Conflict) as caught:
        switches.delete_switch("night")
    assert "procedure reception" in caught.value.message
    Procedure.delete().where(Procedure.name == "reception").execute()
    switches.delete_switch("night")
    assert Switch.select().count() == 0


# -- by phone: a scripted caller -------------------------------------------------------------------------

class ScriptedPhone(FakeChannel):
    """The caller's leg: each collect_digits returns the next scripted answer ("" = timeout)."""

    def __init__(self, answers: list[str]):
        super().__init__(caller="x", callee="x")
        self.answers = list(answers)

    @property
    def hung_up_with(self):
        return self.hangup_code

    def play(self, path, loop=False, wait=True, stop_on_digit=False):
        assert self._answered, "played before answering"
        super().play(path, loop, wait, stop_on_digit)

    def collect_digits(self, max_digits, timeout, terminator="#"):
        if not self.answers:
            raise HungUp(self)
        return self.answers.pop(0)

    def dial(self, *args, **kwargs):
        raise AssertionError("no dial expected")


class Steps:
    def __init__(self):
        self.steps = []

    def step(self, event, **data):
        self.steps.append((event, data))


@pytest.fixture
def phone_call(users, monkeypatch):
    monkeypatch.setattr(prompts, "prompt_path", lambda settings, name, language: (
        Path(f"/prompts/{language}/{name}.wav") if name in prompts.TEXTS else pytest.fail(f"no prompt {name}")))

    def make(user: str, answers: list[str]) -> tuple[DialplanCall, ScriptedPhone]:
        phone = ScriptedPhone(answers)
        call = DialplanCall(channel=phone, settings=users, trace=Steps(), caller=user, caller_name="",
                            called="93", user=user, procedure="users", language="en",
                            now=lambda: dt.datetime.now(dt.UTC))
        return call, phone

    return make


def test_allowed_caller_turns_a_switch_on_by_phone(phone_call):
    switches.create_switch({"name": "night", "code": 12, "allowed": ["201"]})
    call, phone = phone_call("201", ["12", "1"])
    assert isinstance(switches.toggle_by_phone(call), Stop)
    assert phone.heard == ["switch_enter_code", "switch_is_off", "switch_choose_two", "switch_is_on", "goodbye"]
    assert not phone.is_up
    row = switches.get_switch("night")
    assert (row.state, row.changed_by) == (1, "phone 201")
    assert ("result", {"switch": "night", "state": "on", "by": "201"}) in call.trace.steps


def test_caller_not_in_the_allowed_list_is_refused_and_the_state_stays(phone_call):
    switches.create_switch({"name": "night", "code": 12, "allowed": ["201"]})
    call, phone = phone_call("202", ["12", "1"])
    switches.toggle_by_phone(call)
    assert phone.heard == ["switch_enter_code", "not_allowed"]
    assert not phone.is_up and switches.get_switch("night").state == 0


def test_trunk_caller_is_never_allowed(phone_call):
    switches.create_switch({"name": "night", "code": 12, "allowed": ["201"]})
    call, phone = phone_call("", ["12"])
    switches.toggle_by_phone(call)
    assert phone.heard[-1] == "not_allowed"


def test_wrong_codes_three_times_then_goodbye(phone_call):
    switches.create_switch({"name": "night", "code": 12, "allowed": ["201"]})
    call, phone = phone_call("201", ["13", "", "1a"])
    switches.toggle_by_phone(call)
    assert phone.heard == ["switch_enter_code", "invalid_choice"] * 3 + ["goodbye"]
    assert not phone.is_up and switches.get_switch("night").state == 0


def test_wrong_code_then_right_one_then_invalid_choice_then_off(phone_call):
    switches.create_switch({"name": "night", "code": 3, "state": 1, "allowed": ["201"]})
    call, phone = phone_call("201", ["4", "03", "2", "0"])
    switches.toggle_by_phone(call)
    assert phone.heard == ["switch_enter_code", "invalid_choice", "switch_enter_code", "switch_is_on",
                           "switch_choose_two", "invalid_choice", "switch_choose_two", "switch_is_off", "goodbye"]
    assert switches.get_switch("night").state == 0


def test_three_state_switch_offers_and_takes_the_extra_state(phone_call):
    switches.create_switch({"name": "mode", "code": 30, "states": 3, "allowed": ["203"]})
    call, phone = phone_call("203", ["30", "2"])
    switches.toggle_by_phone(call)
    assert phone.heard == ["switch_enter_code", "switch_is_off", "switch_choose_three", "switch_is_extra", "goodbye"]
    assert switches.get_switch("mode").state == 2


def test_no_choice_leaves_the_state(phone_call):
    switches.create_switch({"name": "night", "code": 12, "allowed": ["201"]})
    call, phone = phone_call("201", ["12", "", "", ""])
    switches.toggle_by_phone(call)
    assert phone.heard[-2:] == ["invalid_choice", "goodbye"] and switches.get_switch("night").state == 0


def test_feature_code_93_of_the_users_procedure_runs_the_toggle(phone_call):
    """Through the engine: 93 dialled from the default users procedure reaches the switch application."""
    switches.create_switch({"name": "night", "code": 12, "allowed": ["201"]})
    call, phone = phone_call("201", ["12", "1"])
    engine.run(call, engine.Snapshot.load())
    assert switches.get_switch("night").state == 1
    assert phone.heard[-1] == "goodbye"


def test_check_switch_follows_the_live_state(phone_call):
    from appliance.dialplan.apps.branches import check_switch

    switches.create_switch({"name": "night", "code": 12, "states": 3})
    call, _ = phone_call("201", [])
    options = {"switch": "night", "on_procedure": "night-proc", "extra_procedure": "extra-proc"}
    assert check_switch(call, options) is None
    switches.set_state("night", 1)
    assert check_switch(call, options).procedure == "night-proc"
    switches.set_state("night", 2)
    assert check_switch(call, options).procedure == "extra-proc"


# -- API and page --------------------------------------------------------------------------------------------

def test_api_create_flip_and_delete(web, users):
    admin, technician, user = client_as(web, "admin"), client_as(web, "380"), client_as(web, "381")
    created = admin.api("POST", "/api/v1/dialplan/switches", {"name": "night", "description": "Night mode",
                                                             "code": 5, "allowed": ["201"]})
    assert created.status == 201, created.text
    assert created.header("Location") == "/api/v1/dialplan/switches/night"
    assert created.json()["state_label"] == "off" and created.json()["changed_by"] == "admin (API)"
    duplicate = admin.api("POST", "/api/v1/dialplan/switches", {"name": "day", "code": 5})
    assert duplicate.status == 400 and duplicate.json()["field"] == "code"
    missing = admin.api("POST", "/api/v1/dialplan/switches", {"name": "day", "code": 6, "allowed": ["999"]})
    assert missing.status == 400 and missing.json()["field"] == "allowed.0"

    assert technician.api("POST", "/api/v1/dialplan/switches", {"name": "day", "code": 6}).status == 403
    assert technician.api("PUT", "/api/v1/dialplan/switches/night", {"code": 6}).status == 403
    flipped = technician.api("PUT", "/api/v1/dialplan/switches/night/state", {"state": 1})
    assert flipped.status == 200 and flipped.json()["state"] == 1 and flipped.json()["changed_by"] == "380 (API)"
    assert switches.get_switch("night").state == 1
    bad = technician.api("PUT", "/api/v1/dialplan/switches/night/state", {"state": 2})
    assert bad.status == 400 and bad.json()["field"] == "state"
    assert technician.api("PUT", "/api/v1/dialplan/switches/night/state", {}).json()["field"] == "state"
    assert technician.api("PUT", "/api/v1/dialplan/switches/night/state", {"state": 0, "x": 1}).status == 400
    assert technician.api("PUT", "/api/v1/dialplan/switches/nothing/state", {"state": 1}).status == 404
    assert user.api("PUT", "/api/v1/dialplan/switches/night/state", {"state": 0}).status == 403
    assert user.api("GET", "/api/v1/dialplan/switches").status == 403
    assert [s["name"] for s in technician.api("GET", "/api/v1/dialplan/switches").json()] == ["night"]

    changed = admin.api("PUT", "/api/v1/dialplan/switches/night", {"states": 3, "revision": 1})
    assert changed.status == 200 and changed.json()["states"] == 3 and changed.json()["state"] == 1
    stale = admin.api("PUT", "/api/v1/dialplan/switches/night", {"description": "x", "revision": 1})
    assert stale.status == 409

    Procedure.create(name="reception", numbers=[{"number": "100", "apps": [
        {"app": "check_switch", "switch": "night", "on_procedure": "main"}]}])
    used = admin.api("DELETE", "/api/v1/dialplan/switches/night")
    assert used.status == 409 and "procedure reception" in used.json()["message"]
    Procedure.delete().where(Procedure.name == "reception").execute()
    assert admin.api("DELETE", "/api/v1/dialplan/switches/night").status == 204
    assert admin.api("GET", "/api/v1/dialplan/switches/night").status == 404


def test_page_shows_states_with_flip_buttons_and_edit_only_for_the_admin(web, users):
    switches.create_switch({"name": "night", "description": "Night mode", "code": 5, "allowed": ["201"]})
    switches.create_switch({"name": "mode", "code": 6, "states": 3, "state": 2})
    technician = web.client()
    assert technician.login("380", STRONG).status == 303
    page = technician.get("/dialplan/switches")
    assert page.status == 200
    assert 'data-set-state="1" data-switch="night"' in page.text
    assert 'data-set-state="0" data-switch="night"' not in page.text     # already off
    assert 'data-set-state="1" data-switch="mode"' in page.text and 'data-set-state="0" data-switch="mode"' in page.text
    assert "201 (User 201)" in page.text
    assert "data-edit=" not in page.text and 'id="switch-form"' not in page.text
    admin = web.client()
    assert admin.login("admin", STRONG).status == 303
    page = admin.get("/dialplan/switches")
    assert 'data-edit="night"' in page.text and 'id="switch-form"' in page.text
    assert 'src="/static/switches.js"' in page.text
