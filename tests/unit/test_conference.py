"""Conference rooms: the service and API (bad input named by field, numbers, live state) and the call flow
(PIN, limit, lock, moderator keys) driven by a scripted channel."""

from __future__ import annotations

import pytest

from appliance.callcore.channel import HungUp
from appliance.conference import calls, service
from appliance.conference.models import ConferenceParticipant, ConferenceRoom
from appliance.dialplan import engine
from appliance.dialplan.engine import Snapshot
from appliance.dialplan.models import current_revision
from appliance.errors import Conflict, ValidationError
from appliance.users import create_user
from tests.support.browser import STRONG, running_web
from tests.support.fake_channel import FakeChannel, make_call


@pytest.fixture(scope="module")
def web(tmp_path_factory):
    running = running_web(tmp_path_factory.mktemp("conference") / "data")
    client = running.client()
    assert client.api("POST", "/api/v1/session/password", {
        "username": "admin", "current_password": running.admin_password, "new_password": STRONG}).status == 200
    create_user({"extension": "201", "first_name": "User", "last_name": "201"})
    create_user({"extension": "381", "first_name": "Plain", "last_name": "User", "role": "user",
                 "web_password": STRONG})
    yield running
    running.stop()


@pytest.fixture
def rooms(web):
    yield web.settings
    ConferenceParticipant.delete().execute()
    ConferenceRoom.delete().execute()


@pytest.fixture
def admin(web):
    client = web.client()
    assert client.api_login("admin", STRONG).status == 200
    return client


# -- service and API ------------------------------------------------------------------------------

@pytest.mark.parametrize(("body", "field"), [
    ({"name": "r1", "number": "800", "pin": "12a4"}, "pin"),
    ({"name": "r1", "number": "800", "moderator_pin": "abc"}, "moderator_pin"),
    ({"name": "r1", "number": "800", "max_participants": 0}, "max_participants"),
    ({"name": "r1", "number": "800", "max_participants": 10000}, "max_participants"),
    ({"name": "r1", "number": "800", "max_participants": "many"}, "max_participants"),
    ({"name": "r1", "number": "201"}, "number"),          # a user's extension
    ({"name": "r1", "number": "76"}, "number"),           # the echo test
    ({"name": "r1", "number": "8a"}, "number"),
    ({"name": "r1"}, "number"),
    ({"name": "Bad Name", "number": "800"}, "name"),
    ({"name": "r1", "number": "800", "language": "xx"}, "language"),
    ({"name": "r1", "number": "800", "entry_tones": "maybe"}, "entry_tones"),
    ({"name": "r1", "number": "800", "pin": "1234", "moderator_pin": "1234"}, "moderator_pin"),
    ({"name": "r1", "number": "800", "colour": "red"}, "colour"),
])
def test_bad_input_is_a_400_naming_the_field(rooms, admin, body, field):
    response = admin.api("POST", "/api/v1/conferences", body)
    assert response.status == 400, response.json()
    assert response.json()["field"] == field
    assert ConferenceRoom.select().count() == 0


def test_duplicate_number_and_name_are_refused(rooms, admin):
    assert admin.api("POST", "/api/v1/conferences", {"name": "sales", "number": "800"}).status == 201
    again = admin.api("POST", "/api/v1/conferences", {"name": "other", "number": "800"})
    assert again.status == 400 and again.json()["field"] == "number" and "sales" in again.json()["message"]
    same_name = admin.api("POST", "/api/v1/conferences", {"name": "sales", "number": "801"})
    assert same_name.status == 400 and same_name.json()["field"] == "name"
    admin.api("POST", "/api/v1/conferences", {"name": "other", "number": "801"})
    moved = admin.api("PUT", "/api/v1/conferences/other", {"number": "800"})
    assert moved.status == 400 and moved.json()["field"] == "number"


def test_create_read_update_delete_with_revision(rooms, admin):
    before = current_revision()
    created = admin.api("POST", "/api/v1/conferences", {"name": "board", "number": "810", "pin": "4321",
                                                        "moderator_pin": "9999", "max_participants": "12",
                                                        "entry_tones": False, "language": "fr"})
    assert created.status == 201
    assert current_revision() == before + 1
    room = created.json()
    assert room | {"live": None} == {
        "name": "board", "number": "810", "description": "", "pin": "4321", "moderator_pin": "9999",
        "max_participants": 12, "entry_tones": False, "exit_tones": True, "announce_count": True,
        "language": "fr", "revision": 1, "live": None}
    assert room["live"] == {"locked": False, "count": 0, "workers": [], "participants": []}
    changed = admin.api("PUT", "/api/v1/conferences/board", {"pin": "", "revision": 1})
    assert changed.status == 200 and changed.json()["pin"] == "" and changed.json()["revision"] == 2
    stale = admin.api("PUT", "/api/v1/conferences/board", {"pin": "1", "revision": 1})
    assert stale.status == 409
    assert admin.api("GET", "/api/v1/conferences").json()[0]["name"] == "board"
    assert admin.api("DELETE", "/api/v1/conferences/board").status == 204
    assert admin.api("GET", "/api/v1/conferences/board").status == 404


def test_a_plain_user_cannot_create_rooms_and_the_page_lists_them(rooms, web, admin):
    admin.api("POST", "/api/v1/conferences", {"name": "weekly", "number": "820", "moderator_pin": "55"})
    user = web.client()
    assert user.api_login("381", STRONG).status == 200
    assert user.api("POST", "/api/v1/conferences", {"name": "x", "number": "821"}).status == 403
    browser = web.client()
    browser.login("admin", STRONG)
    page = browser.get("/dialplan/conferences")
    assert page.status == 200 and "weekly" in page.text and "820" in page.text
    room = service.get_room("weekly")
    service.join(room.id, "call-1", "w2", "201", "User 201", moderator=True)
    page = browser.get("/dialplan/conferences")
    assert "User 201" in page.text and "w2" in page.text and "data-mute=" in page.text
    state = admin.api("PUT", "/api/v1/conferences/weekly/live", {"locked": True, "muted": True}).json()
    assert state["locked"] and state["participants"][0]["muted"] is False  # a moderator is never muted
    assert admin.api("PUT", "/api/v1/conferences/weekly/live", {"loud": True}).json()["field"] == "loud"
    pid = state["participants"][0]["id"]
    muted = admin.api("PUT", f"/api/v1/conferences/weekly/participants/{pid}", {"muted": True}).json()
    assert muted["participants"][0]["muted"] is True
    assert admin.api("DELETE", f"/api/v1/conferences/weekly/participants/{pid}").status == 204
    assert admin.api("GET", "/api/v1/conferences/weekly/live").json()["count"] == 0
    assert admin.api("DELETE", f"/api/v1/conferences/weekly/participants/{pid}").status == 404


def test_join_enforces_the_limit_and_the_lock_and_the_last_one_out_unlocks(rooms):
    room = service.create_room({"name": "small", "number": "830", "max_participants": 2})
    assert service.join(room.id, "c1", "w0", "201", "A", moderator=False) == 1
    service.set_locked(room.id, True)
    with pytest.raises(service.RoomLocked):
        service.join(room.id, "c2", "w1", "202", "B", moderator=False)
    assert service.join(room.id, "c2", "w1", "202", "B", moderator=True) == 2  # a moderator enters
    with pytest.raises(service.RoomFull):
        service.join(room.id, "c3", "w2", "203", "C", moderator=True)
    live = service.live_state(ConferenceRoom.get_by_id(room.id))
    assert live["count"] == 2 and live["workers"] == ["w0", "w1"] and live["locked"]
    assert service.set_all_muted(room.id, True) == ["w0", "w1"]
    assert [p.muted for p in service.participants(room)] == [True, False]  # not the moderator
    with pytest.raises(Conflict):
        service.delete_room("small")  # people are in it
    assert service.leave("c1") == (room.id, ["w1"])
    assert service.forget_worker("w1") == 1
    assert service.leave("c2") is None
    assert ConferenceRoom.get_by_id(room.id).locked
    service.join(room.id, "c4", "w3", "204", "D", moderator=True)
    assert service.leave("c4") == (room.id, [])
    assert not ConferenceRoom.get_by_id(room.id).locked  # the last one out unlocked it


def test_a_room_used_by_a_procedure_cannot_be_deleted(rooms):
    from appliance.dialplan import procedures

    service.create_room({"name": "team", "number": "840"})
    procedures.create_procedure({"name": "confs", "numbers": [{"number": "7000",
                                                               "apps": [{"app": "conference", "room": "team"}]}]})
    try:
        with pytest.raises(Conflict) as refused:
            service.delete_room("team")
        assert "confs" in str(refused.value)
    finally:
        procedures.delete_procedure("confs")


def test_a_rooms_number_is_in_the_internal_procedure(rooms):
    service.create_room({"name": "hall", "number": "850"})
    match = Snapshot.load().lookup("users", "850", engine.extension_exists, engine.conference_room_at)
    assert match.procedure == "internal" and match.apps == [{"app": "conference", "room": "hall"}]


# -- the call flow, with a scripted channel ------------------------------------------------------------

class ConfChannel(FakeChannel):
    """Hangs up once its scripted digits are used up; records what it did in the room."""

    worker = "w7"

    def collect_digits(self, max_digits, timeout, terminator="#"):
        if not self.digits:
            self._up = False
            raise HungUp(self)
        return super().collect_digits(max_digits, timeout, terminator)

    def conference_enter(self, room_id):
        self.log.append(("enter", room_id))

    def conference_leave(self):
        self.log.append(("leave",))

    def conference_play(self, room_id, path, wait=True):
        self.log.append(("room_tone", path.rsplit("/", 1)[-1]))


def run_call(settings, room: str, digits: list[str], caller: str = "201") -> ConfChannel:
    channel = ConfChannel(caller=caller, callee="860", digits=digits)
    call = make_call(settings, channel)
    calls.run(call, room)
    call.trace.close()
    return channel


def test_three_wrong_pins_end_the_call(rooms):
    service.create_room({"name": "secret", "number": "860", "pin": "1234"})
    channel = run_call(rooms, "secret", ["1111", "2222", "3333"])
    assert channel.heard == ["conf_enter_pin", "conf_wrong_pin"] * 3 + ["goodbye"]
    assert channel.hangup_code is None and not channel.is_up
    assert ("enter", ConferenceRoom.get(name="secret").id) not in channel.log
    assert ConferenceParticipant.select().count() == 0


def test_right_pin_enters_hears_the_count_and_entry_and_exit_tones(rooms):
    room = service.create_room({"name": "open", "number": "861", "pin": "1234"})
    service.join(room.id, "someone", "w1", "202", "B", moderator=False)
    channel = run_call(rooms, "open", ["1234"])
    assert channel.heard == ["conf_enter_pin", "conf_count_1"]
    assert channel.log.index(("room_tone", "conf_exit.wav")) < channel.log.index(("leave",))
    assert ("enter", room.id) in channel.log and ("room_tone", "conf_entry.wav") in channel.log
    assert [p.call_id for p in ConferenceParticipant.select()] == ["someone"]  # it left


def test_moderator_keys_mute_all_and_lock(rooms):
    room = service.create_room({"name": "mod", "number": "862", "moderator_pin": "999", "announce_count": False})
    service.join(room.id, "listener", "w1", "202", "B", moderator=False)
    channel = run_call(rooms, "mod", ["999", "1", "3"])
    assert channel.heard == ["conf_enter_pin", "conf_muted_all", "conf_lock_on"]
    assert ConferenceParticipant.get(call_id="listener").muted
    assert ConferenceRoom.get_by_id(room.id).locked
    # A participant's keys do nothing; # alone enters a room with only a moderator PIN.
    service.set_locked(room.id, False)
    plain = run_call(rooms, "mod", ["", "2"])
    assert plain.heard == ["conf_enter_pin"]
    assert ConferenceParticipant.get(call_id="listener").muted


def test_full_and_locked_rooms_are_announced(rooms):
    room = service.create_room({"name": "tiny", "number": "863", "max_participants": 1})
    service.join(room.id, "first", "w1", "202", "B", moderator=False)
    full = run_call(rooms, "tiny", [])
    assert full.heard == ["conf_full"] and not full.is_up
    service.update_room("tiny", {"max_participants": 5})
    service.set_locked(room.id, True)
    locked = run_call(rooms, "tiny", [])
    assert locked.heard == ["conf_locked"]


def test_validation_error_names_field_at_service_level(rooms):
    with pytest.raises(ValidationError) as bad:
        service.create_room({"name": "x", "number": "870", "pin": "12 34"})
    assert bad.value.field == "pin"
