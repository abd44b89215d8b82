"""Call recording: who is recorded (policy with a scripted channel), quota, retention, settings, the API and page.

The conversation itself (both voices in one file) is proven with real phones in
tests/integration/test_recordings.py.
"""

from __future__ import annotations

import datetime as dt
import wave

import pytest

from appliance.callcore.channel import DialOutcome, DialResult
from appliance.dialplan import callgroups
from appliance.errors import Conflict, ValidationError
from appliance.events.models import Event
from appliance.recordings import policy, service
from appliance.recordings.models import Recording
from appliance.users import create_user, update_user
from tests.support.browser import STRONG, first_login, running_web
from tests.support.fake_channel import FakeChannel, make_call


def answered_by(extension: str):
    def outcome(targets, timeout):
        peer = FakeChannel(caller="100", callee=extension)
        peer.answer()
        return DialResult(DialOutcome.ANSWERED, 200, "OK", peer=peer, target=f"sip:{extension}@pbx.local")
    return outcome


def write_wav(path, seconds: float = 1.0, rate: int = 16000) -> None:
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(b"\0\0" * int(seconds * rate))


def routed(store, caller: str, target: str, data: dict | None = None) -> tuple[FakeChannel, object]:
    """`caller` calls `target`, who answers; the recording policy watches as in engine.route."""
    channel = FakeChannel(caller=caller, callee=target, dial_outcome=answered_by(target))
    call = make_call(store, channel, user=caller)
    call.data.update(data or {})
    policy.attach(call)
    channel.dial(f"sip:{target}@pbx.local", timeout=10)
    return channel, call


@pytest.fixture
def people(store):
    for ext, mode in (("201", "always"), ("202", "never"), ("203", "on_demand")):
        create_user({"extension": ext, "first_name": "P", "last_name": ext, "recording_mode": mode})
    return store


def test_a_user_recorded_always_is_recorded_from_the_answer_and_the_file_is_noted_at_the_end(people):
    channel, call = routed(people, "201", "202")
    assert channel.is_recording
    recording = Recording.get()
    assert (recording.owner, recording.reason, recording.call_id) == ("201", "always", channel.call_id)
    assert channel.recording == str(service.folder(people) / recording.file)
    write_wav(channel.recording, seconds=2.0)  # what the call core would have written
    policy.finish(call)
    assert not channel.is_recording
    done = Recording.get()
    assert done.duration_s == pytest.approx(2.0) and done.size_bytes > 60000


def test_calling_someone_recorded_always_records_for_them_and_nobody_else_is_recorded(people):
    _channel, _call = routed(people, "202", "201")
    assert Recording.get().owner == "201"
    channel, _call = routed(people, "202", "203")
    assert not channel.is_recording and Recording.select().count() == 1


def test_a_recorded_call_group_records_the_member_who_answered(people):
    channel, _call = routed(people, "202", "203", data={"record_group": "sales"})
    assert channel.is_recording
    assert (Recording.get().owner, Recording.get().reason) == ("203", "call_group")


def test_on_demand_the_feature_code_starts_then_stops_with_a_beep_for_both(people):
    channel, call = routed(people, "203", "202")
    assert not channel.is_recording
    channel.digit_callbacks["*1"](channel)
    assert channel.is_recording and Recording.get().reason == "on_demand"
    assert channel.heard == ["beep"] and call.data["peer"].heard == ["beep"]
    channel.digit_callbacks["*1"](channel)
    assert not channel.is_recording
    assert channel.heard == ["beep", "beep"]


def test_the_answering_user_on_demand_can_key_the_code_too(people):
    channel, call = routed(people, "202", "203")
    peer = call.data["peer"]
    peer.digit_callbacks["*1"](peer)
    assert channel.is_recording and Recording.get().owner == "203"


def test_the_legal_notice_is_heard_by_both_when_the_settings_ask(people):
    service.update_settings({"announcement": True})
    channel, call = routed(people, "201", "202")
    assert channel.heard == ["call_recorded"] and call.data["peer"].heard == ["call_recorded"]


def test_an_owner_over_quota_is_not_recorded_and_the_event_log_says_so(people):
    service.update_settings({"quota_mb": 1})
    Recording.create(call_id="old", owner="201", reason="always", file="x.wav", size_bytes=2 * 1024 * 1024,
                     duration_s=60)
    channel, _call = routed(people, "201", "202")
    assert not channel.is_recording
    event = Event.get(Event.kind == "recording.quota_full")
    assert event.subject == "201"


def test_recordings_past_the_retention_are_deleted_with_their_files(people):
    folder = service.folder(people)
    folder.mkdir(parents=True)
    old_file, new_file = folder / "old.wav", folder / "new.wav"
    write_wav(old_file)
    write_wav(new_file)
    now = dt.datetime(2026, 11, 22, 12, 0)
    Recording.create(call_id="a", owner="201", reason="always", file="old.wav", size_bytes=1,
                     started_at=now - dt.timedelta(days=31))
    Recording.create(call_id="b", owner="201", reason="always", file="new.wav", size_bytes=1,
                     started_at=now - dt.timedelta(days=29))
    assert service.purge(people, now) == 1
    assert [r.call_id for r in Recording.select()] == ["b"]
    assert not old_file.exists() and new_file.exists()


def test_settings_refuse_bad_values_naming_the_field(store):
    for data, field in (({"quota_mb": 0}, "quota_mb"), ({"quota_mb": "30"}, "quota_mb"),
                        ({"retention_days": 99999}, "retention_days"), ({"feature_code": "1a"}, "feature_code"),
                        ({"feature_code": ""}, "feature_code"), ({"announcement": "yes"}, "announcement"),
                        ({"volume": 3}, "volume")):
        with pytest.raises(ValidationError) as caught:
            service.update_settings(data)
        assert caught.value.field == field
    row = service.update_settings({"feature_code": "*9", "revision": 1})
    assert row.feature_code == "*9"
    with pytest.raises(Conflict):
        service.update_settings({"feature_code": "*8", "revision": 1})


def test_user_recording_mode_and_group_record_flag_are_validated(store):
    create_user({"extension": "210", "first_name": "R", "last_name": "M"})
    with pytest.raises(ValidationError) as caught:
        update_user("210", {"recording_mode": "sometimes"})
    assert caught.value.field == "recording_mode"
    with pytest.raises(ValidationError) as caught:
        callgroups.create_group({"name": "g", "members": ["210"], "record": "yes"})
    assert caught.value.field == "record"
    assert callgroups.to_public(callgroups.create_group({"name": "g", "members": ["210"], "record": True}))["record"]


# -- web ---------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def web(tmp_path_factory):
    running = running_web(tmp_path_factory.mktemp("recordings"))
    yield running
    running.stop()


@pytest.fixture(scope="module")
def admin(web):
    """Logged in to the pages (cookie) and to the API (bearer token)."""
    client = first_login(web)
    assert client.api_login("admin", STRONG).status == 200
    return client


def test_the_api_lists_serves_and_deletes_a_recording_and_the_history_links_it(web, admin):
    from appliance.cdr.models import Cdr

    folder = service.folder(web.settings)
    (folder / "2026/11").mkdir(parents=True, exist_ok=True)
    write_wav(folder / "2026/11/call-1.wav", seconds=1.0)
    now = dt.datetime.utcnow()
    Cdr.create(call_id="call-1", caller="201", callee="202", start=now, answer=now, end=now, billsec=1,
               disposition="answered", worker="w1")
    recording = Recording.create(call_id="call-1", owner="201", reason="always", file="2026/11/call-1.wav",
                                 duration_s=1.0, size_bytes=(folder / "2026/11/call-1.wav").stat().st_size)
    listed = admin.api("GET", "/api/v1/recordings?call_id=call-1").json()
    assert [r["id"] for r in listed] == [recording.id]
    audio = admin.api("GET", listed[0]["url"])
    assert audio.status == 200 and audio.body[:4] == b"RIFF"
    history = admin.get("/calls/history")
    assert f"/api/v1/recordings/{recording.id}/audio" in history.text
    assert admin.get("/calls/recordings").status == 200
    assert admin.api("GET", "/api/v1/recordings?colour=red").status == 400
    assert admin.api("GET", "/api/v1/recordings?limit=0").status == 400
    assert admin.api("DELETE", f"/api/v1/recordings/{recording.id}").status == 204
    assert admin.api("GET", listed[0]["url"]).status == 404
    assert not (folder / "2026/11/call-1.wav").exists()


def test_the_settings_api_answers_400_naming_the_field(admin):
    bad = admin.api("PUT", "/api/v1/recordings/settings", {"quota_mb": -5})
    assert bad.status == 400 and bad.json()["field"] == "quota_mb"
    good = admin.api("PUT", "/api/v1/recordings/settings", {"announcement": True})
    assert good.status == 200 and good.json()["announcement"] is True


def test_a_technician_may_not_hear_recordings(web, admin):
    create_user({"extension": "230", "first_name": "Tech", "last_name": "Nician", "role": "technician",
                 "web_password": "Tech-Passw0rd-Long"})
    tech = web.client()
    assert tech.api_login("230", "Tech-Passw0rd-Long").status == 200
    assert tech.api("GET", "/api/v1/recordings").status == 403
    page = web.client()
    assert page.login("230", "Tech-Passw0rd-Long").status == 303
    assert page.get("/calls/recordings").status == 403
    assert "/calls/recordings" not in page.get("/calls/history").text


@pytest.mark.parametrize("check", ["mail port", "lan prefix", "recordings limit"])
def test_superscript_digits_are_a_clear_error_not_a_crash(web, admin, check):
    """"²" passes str.isdigit() but not int(): every numeric field says what is wrong instead."""
    from appliance.mail import profiles
    from netconfig.validation import interface_address

    if check == "mail port":
        with pytest.raises(ValidationError) as caught:
            profiles.create_profile({"name": "x", "sender": "pbx@example.com", "server": "mail.example.com",
                                     "port": "2²"})
        assert caught.value.field == "port"
    elif check == "lan prefix":
        with pytest.raises(ValidationError) as caught:
            interface_address("10.135.0.1/2²", "lan.address")
        assert caught.value.field == "lan.address"
    else:
        response = admin.api("GET", "/api/v1/recordings?limit=%C2%B2")
        assert response.status == 400 and response.json()["field"] == "limit"
