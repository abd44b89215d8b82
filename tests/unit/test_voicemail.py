"""Voicemail without Kamailio: the box service (PIN, quota, retention, email option), the phone menus
with a scripted channel, and the web API and pages (tests that open their own store come first: the
module's web server keeps its store to the end).

The API runs on a real cheroot server in this process (tests.support.browser.running_web); bad
input answers 400 naming the field, a user only ever sees their own box.
"""

from __future__ import annotations

import datetime as dt
import io
import math
import os
import struct
import wave
from pathlib import Path

import pytest

from appliance.auth import sessions
from appliance.errors import Conflict, ValidationError
from appliance.users.models import User
from appliance.voicemail import email as vm_email
from appliance.voicemail import service, storage
from appliance.voicemail.models import Box, Message
from tests.support.browser import CHROMIUM, STRONG, launch_chromium, running_web
from tests.support.fake_channel import FakeChannel, make_call

NOW = dt.datetime(2026, 11, 20, 9, 30, tzinfo=dt.UTC)


def wav_bytes(seconds: float, freq: int = 440, rate: int = 16000) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(b"".join(struct.pack("<h", int(8000 * math.sin(2 * math.pi * freq * i / rate)))
                               for i in range(int(seconds * rate))))
    return out.getvalue()


def recording(settings, box: Box, seconds: float) -> Path:
    """A finished recording in the box's scratch folder, as the call core leaves it."""
    path = storage.scratch(settings, box.id) / "message.wav"
    path.write_bytes(wav_bytes(seconds))
    return path


def make_user(extension: str, email: str | None = None, login: str = "") -> User:
    return User.create(login=login or extension, extension=extension, first_name="U" + extension, last_name="Test",
                       email=email)


# -- the service ------------------------------------------------------------------------------------

def test_a_users_box_appears_off_and_the_extension_only_rings_until_it_is_turned_on(store):
    from appliance.dialplan.apps.voicemail import extension_apps
    from appliance.dialplan.engine import internal_entry

    make_user("201")
    box = service.get_box("201")
    assert box.user.extension == "201" and box.enabled is False and box.quota_mb == 30 and box.retention_days == 30
    assert extension_apps("201") == [{"app": "dial_users", "extensions": ["201"]}]
    service.update_box("201", {"enabled": True, "ring_seconds": 15})
    assert extension_apps("201") == [{"app": "dial_users", "extensions": ["201"], "ring_seconds": 15},
                                     {"app": "voicemail", "box": "201", "greeting": "auto"}]
    assert internal_entry("*95", lambda n: False).apps == [{"app": "voicemail_listen", "mode": "own"}]
    assert internal_entry("999", lambda n: False).apps == [{"app": "voicemail_listen", "mode": "own"}]
    assert internal_entry("*98", lambda n: False).apps == [{"app": "voicemail_listen", "mode": "ask"}]


def test_a_box_follows_its_user_to_a_new_extension_and_the_old_number_goes_to_its_new_user(store):
    alice = make_user("201")
    box = service.get_box("201")
    service.store_message(store, box, recording(store, box, 1), "202", "", NOW)
    User.update(extension="205").where(User.id == alice.id).execute()
    make_user("201", login="bruno")                     # someone else takes 201
    theirs = service.get_box("201")
    assert theirs.id != box.id and service.list_messages(theirs) == []
    moved = service.get_box("205")
    assert moved.id == box.id and moved.number == "205" and len(service.list_messages(moved)) == 1
    assert sorted(b.number for b in service.list_boxes()) == ["201", "205"]


def test_the_pin_is_stored_hashed_and_only_4_to_8_digits_are_accepted(store):
    make_user("201")
    service.update_box("201", {"pin": "0123"})
    box = service.get_box("201")
    assert box.pin_hash.startswith("scrypt$") and "0123" not in box.pin_hash
    assert service.check_pin(box, "0123") and not service.check_pin(box, "0124") and not service.check_pin(box, "")
    for bad in ("12ab", "123", "123456789", 1234, " 1234"):
        with pytest.raises(ValidationError) as err:
            service.update_box("201", {"pin": bad})
        assert err.value.field == "pin"


def test_a_message_that_does_not_fit_the_quota_is_refused_and_nothing_is_corrupted(store):
    make_user("201")
    service.update_box("201", {"enabled": True, "quota_mb": 1})
    box = service.get_box("201")
    first = service.store_message(store, box, recording(store, box, 20), "202", "Bob", NOW)   # 640 kB
    assert first is not None
    kept = storage.message_path(store, first.file).read_bytes()
    assert 0 < service.room_seconds(store, box) < 13
    assert service.store_message(store, box, recording(store, box, 20), "203", "", NOW) is None
    assert [m.caller for m in service.list_messages(box)] == ["202"]
    assert storage.message_path(store, first.file).read_bytes() == kept
    assert sorted(p.name for p in storage.box_dir(store, box.id).glob("*.wav")) == [Path(first.file).name]


def test_room_is_the_maximum_length_until_the_quota_is_nearly_used(store):
    make_user("201")
    service.update_box("201", {"max_message_s": 60})
    assert service.room_seconds(store, service.get_box("201")) == 60


def test_messages_older_than_the_retention_are_purged_with_their_files(store):
    make_user("201")
    service.update_box("201", {"retention_days": 7})
    box = service.get_box("201")
    old = service.store_message(store, box, recording(store, box, 1), "202", "", NOW - dt.timedelta(days=8))
    recent = service.store_message(store, box, recording(store, box, 1), "203", "", NOW - dt.timedelta(days=6))
    assert service.purge(store, now=NOW) == 1
    assert [m.id for m in service.list_messages(box)] == [recent.id]
    assert not storage.message_path(store, old.file).exists()


def test_deleting_a_box_with_messages_needs_confirmation_then_removes_its_files(store):
    make_user("201")
    box = service.get_box("201")
    service.store_message(store, box, recording(store, box, 1), "202", "", NOW)
    with pytest.raises(Conflict) as err:
        service.delete_box(store, "201")
    assert err.value.field == "confirm" and "1 message" in err.value.message
    assert storage.box_dir(store, box.id).is_dir()
    service.delete_box(store, "201", confirm=True)
    assert not storage.box_dir(store, box.id).exists()
    assert Message.select().count() == 0
    assert service.get_box("201").id != box.id          # the user's box comes back, empty, at its next use


def test_shared_boxes_take_free_numbers_and_known_subscribers(store):
    make_user("201")
    with pytest.raises(ValidationError) as err:
        service.create_shared_box({"number": "201"})
    assert err.value.field == "number"
    with pytest.raises(ValidationError) as err:
        service.create_shared_box({"number": "300", "subscribers": ["201", "299"]})
    assert err.value.field == "subscribers.1"
    box = service.create_shared_box({"number": "300", "name": "Accueil", "subscribers": ["201"]})
    user = User.get(User.extension == "201")
    assert [b.number for b in service.boxes_of(user)] == ["201", "300"]
    assert service.mwi_targets(box) == ["201"]
    make_user("202")
    with pytest.raises(ValidationError) as err:
        service.update_box("201", {"subscribers": ["201"]})
    assert err.value.field == "subscribers"
    service.update_box("201", {"subscribers": ["202"]})      # a secretary reads her boss's box
    assert service.mwi_targets(service.get_box("201")) == ["201", "202"]
    assert [b.number for b in service.boxes_of(User.get(User.extension == "202"))] == ["202", "201"]


def test_email_without_smtp_keeps_the_message_and_says_so(store):
    make_user("201", "alice@example.com")
    service.update_box("201", {"email_mode": "attach"})
    box = service.get_box("201")
    message = service.store_message(store, box, recording(store, box, 1), "202", "Bob", NOW)
    assert Message.get_by_id(message.id).email_state == "no_smtp"
    assert storage.message_path(store, message.file).exists()


def test_attach_and_delete_removes_the_message_only_once_the_mail_is_sent(store):
    from appliance.mail import outbox, profiles
    from appliance.mail.models import MailQueue

    profiles.create_profile({"name": "office", "sender": "pbx@example.com", "server": "127.0.0.1", "port": 2525,
                             "security": "none"})
    make_user("201", "alice@example.com")
    with pytest.raises(ValidationError) as err:
        service.update_box("201", {"email_mode": "notify", "email_address": "not an address"})
    assert err.value.field == "email_address"
    service.update_box("201", {"email_mode": "attach_delete"})
    box = service.get_box("201")
    message = service.store_message(store, box, recording(store, box, 1), "0612345678", "", NOW)
    queued = Message.get_by_id(message.id)
    assert queued.email_state == "queued"
    row = MailQueue.get_by_id(int(queued.email_ref))
    assert row.recipients == ["alice@example.com"] and "0612345678" in row.subject
    assert b"audio/wav" in bytes(row.message)
    vm_email.settle(store, box)                                 # not sent yet: the message stays
    assert Message.get_or_none(Message.id == message.id) is not None
    MailQueue.update(state="sent").where(MailQueue.id == row.id).execute()
    vm_email.configure(store)
    vm_email.on_sent(row.id, outbox.find("voicemail")[0]["purpose"], f"{box.id}/{message.id}")
    assert Message.get_or_none(Message.id == message.id) is None
    assert not storage.message_path(store, message.file).exists()


def test_mwi_notify_sums_own_and_subscribed_boxes_for_each_registered_phone(store, monkeypatch):
    from appliance.sipedge import rpc
    from appliance.voicemail import mwi

    calls = []

    def fake_call(settings, method, *params):
        calls.append((method, params))
        if method == "ul.lookup":
            if params[1] != "201":
                raise rpc.RpcFault(method, 404, "AOR not found")
            return {"AoR": "201", "Contacts": [{"Contact": {"Address": "sip:201@127.0.0.1:5070",
                                                            "Received": "sip:127.0.0.1:5071"}}]}
        return None

    monkeypatch.setattr(rpc, "call", fake_call)
    monkeypatch.setattr(mwi, "notify_async", lambda settings, extensions: None)   # sent below, in this thread
    make_user("201")
    make_user("202")
    own = service.get_box("201")
    shared = service.create_shared_box({"number": "300", "subscribers": ["201"]})
    service.store_message(store, own, recording(store, own, 1), "202", "", NOW)
    for caller in ("203", "204"):
        service.store_message(store, shared, recording(store, shared, 1), caller, "", NOW)
    service.mark(store, shared, service.list_messages(shared)[0], read=True)
    assert service.summary_for(User.get(User.extension == "201")) == (2, 1)
    assert mwi.refresh(store, "201") == 1
    assert mwi.refresh(store, "202") == 0                       # not registered: nothing sent
    [(method, (verb, ruri, next_hop, socket, headers, body))] = [c for c in calls if c[0] == "tm.t_uac_start"]
    assert (verb, ruri, next_hop, socket) == ("NOTIFY", "sip:201@127.0.0.1:5070", "sip:127.0.0.1:5071", ".")
    assert "Event: message-summary\r\n" in headers and "To: <sip:201@" in headers
    assert "Content-Type: application/simple-message-summary" in headers
    assert body.startswith("Messages-Waiting: yes\r\n") and "Voice-Message: 2/1 (0/0)\r\n" in body


def test_the_mwi_watcher_notifies_phones_that_just_registered_or_subscribed(store, monkeypatch):
    from appliance.sipedge import rpc
    from appliance.voicemail import mwi

    registered = [{"extension": "201", "contact": "sip:201@127.0.0.1:5070"}]
    subscribed: list[str] = []
    refreshed: list[str] = []
    monkeypatch.setattr(rpc, "registrations", lambda settings: list(registered))
    monkeypatch.setattr(mwi, "refresh", lambda settings, ext: refreshed.append(ext) or 1)

    def fake_call(settings, method, *params):
        if method == "htable.dump":
            return [{"slot": [{"name": ext, "value": 1} for ext in subscribed]}]
        if method == "htable.delete":
            subscribed.remove(params[1])
        return None

    monkeypatch.setattr(rpc, "call", fake_call)
    watcher = mwi.MwiWatcher(store)
    assert watcher.poll() == ["201"]              # the first look refreshes every registered phone
    assert watcher.poll() == []                   # a registration refresh (same contact) sends nothing
    registered.append({"extension": "202", "contact": "sip:202@127.0.0.1:5072"})
    subscribed.append("203")
    assert watcher.poll() == ["202", "203"]       # a new phone, a SUBSCRIBE noted by the edge
    assert subscribed == [] and refreshed == ["201", "202", "203"]


# -- the phone menus, with a scripted channel ------------------------------------------------------------

class KeypadChannel(FakeChannel):
    """Keys the caller presses when they hear a prompt ({prompt name: [keys, ...]}); a recording is a tone."""

    def __init__(self, keys: dict[str, list[str]], **kw):
        super().__init__(**kw)
        self.keys = {k: list(v) for k, v in keys.items()}
        self.pending = ""

    def play(self, path, loop=False, wait=True, stop_on_digit=False):
        super().play(path, loop, wait, stop_on_digit)
        queue = self.keys.get(Path(path).stem)
        if queue:
            self.pending += queue.pop(0)

    def collect_digits(self, max_digits, timeout, terminator="#"):
        self._check()
        taken = ""
        while self.pending and len(taken) < max_digits:
            digit, self.pending = self.pending[0], self.pending[1:]
            if terminator and digit in terminator:
                break
            taken += digit
        self.log.append(("digits", taken))
        return taken

    def record(self, path, max_seconds, stop_digits="#"):
        Path(path).write_bytes(wav_bytes(2))
        return 2.0


def test_by_phone_the_owner_changes_the_pin_records_a_greeting_and_hears_who_called_when(store):
    from appliance.dialplan.apps.voicemail import voicemail_listen

    make_user("201")
    service.update_box("201", {"enabled": True, "pin": "1111", "announce": True})
    box = service.get_box("201")
    service.store_message(store, box, recording(store, box, 1), "0612", "", NOW)
    channel = KeypadChannel({
        "vm_enter_pin": ["1111#"],
        "vm_main_menu": ["0", "1", "#"],
        "vm_options_menu": ["4", "1", "*"],
        "vm_new_pin": ["98765#"], "vm_pin_again": ["98765#"],
        "vm_message_menu": ["*"],
    }, caller="201", callee="*95", language="en")
    voicemail_listen(make_call(store, channel, user="201"), {"mode": "own"})

    box = service.get_box("201")
    assert service.check_pin(box, "98765") and not service.check_pin(box, "1111")
    assert box.greetings["unavailable"]["source"] == "recorded"
    assert service.greeting_file(store, box, "unavailable") is not None
    heard = channel.heard
    assert heard.index("vm_pin_changed") < heard.index("vm_greeting_saved")
    message_file = Path(service.list_messages(box)[0].file).stem
    played = heard.index(message_file)
    assert heard[played - 1] not in ("vm_main_menu", "vm_message_menu")   # the spoken header came first
    assert service.list_messages(box)[0].read is True
    assert heard[-1] == "goodbye" and channel.hangup_code is None and not channel.is_up


def test_a_caller_who_presses_hash_skips_the_greeting_and_leaves_a_message(store):
    from appliance.dialplan.apps.voicemail import voicemail

    make_user("201")
    service.update_box("201", {"enabled": True})
    channel = KeypadChannel({"vm_leave_message": ["#"]}, caller="202", callee="201", language="fr")
    voicemail(make_call(store, channel, user="202"), {"box": "201", "greeting": "busy"})
    [message] = service.list_messages(service.get_box("201"))
    assert message.caller == "202" and message.duration == 2.0
    assert channel.heard.index("vm_leave_message") < channel.heard.index("beep") < channel.heard.index(
        "vm_message_saved_for")


def test_a_busy_user_with_voicemail_on_sends_the_caller_to_the_busy_greeting(store):
    from appliance.callcore.channel import DialOutcome, DialResult
    from appliance.dialplan import engine, trace

    make_user("201")
    service.update_box("201", {"enabled": True, "ring_seconds": 9})
    rang = []

    def busy(targets, timeout):
        rang.append((targets, timeout))
        return DialResult(DialOutcome.BUSY, 486)

    channel = KeypadChannel({"vm_leave_message": ["#"]}, caller="202", callee="201", dial_outcome=busy)
    call = make_call(store, channel, user="202")
    engine.run(call, engine.Snapshot.from_rows(1, [("users", ["internal"], [])]))
    assert rang == [(["sip:201@pbx.local"], 9)]               # rang for the box's ring time
    steps = [s for s in trace.read(store, channel.call_id) if s["event"] == "voicemail"]
    assert [(s["action"], s.get("kind")) for s in steps][:2] == [("greeting", "busy"), ("record", None)]
    assert len(service.list_messages(service.get_box("201"))) == 1


def test_a_disabled_box_is_announced_as_unavailable(store):
    from appliance.dialplan.apps.voicemail import voicemail

    make_user("201")
    channel = KeypadChannel({}, caller="202", callee="201")
    voicemail(make_call(store, channel, user="202"), {"box": "201"})
    assert "not_available" in channel.heard and channel.hangup_code == 480
    assert service.list_messages(service.get_box("201")) == []


# -- the web API ---------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def web(tmp_path_factory):
    running = running_web(tmp_path_factory.mktemp("vmweb"))
    client = running.client()
    assert client.api("POST", "/api/v1/session/password", {
        "username": "admin", "current_password": running.admin_password, "new_password": STRONG}).status == 200
    yield running
    running.stop()


@pytest.fixture(autouse=True)
def no_lockout():
    yield
    sessions.clear_failures("127.0.0.1")


@pytest.fixture(scope="module")
def admin(web):
    client = web.client()
    assert client.api_login("admin", STRONG).status == 200
    for ext in ("201", "202"):
        assert client.api("POST", "/api/v1/users", {"extension": ext, "first_name": "User", "last_name": ext,
                                                    "role": "user", "web_password": STRONG}).status == 201
    return client


def _user(web, extension: str):
    client = web.client()
    assert client.api_login(extension, STRONG).status == 200
    return client


def test_api_bad_pin_names_the_field(web, admin):
    for pin in ("12ab", "12", 1234):
        response = admin.api("PUT", "/api/v1/voicemail/boxes/201", {"pin": pin})
        assert response.status == 400 and response.json()["field"] == "pin", response.text
    assert admin.api("PUT", "/api/v1/voicemail/boxes/201", {"quota_mb": 0}).json()["field"] == "quota_mb"
    assert admin.api("PUT", "/api/v1/voicemail/boxes/201", {"email_mode": "fax"}).json()["field"] == "email_mode"
    assert admin.api("PUT", "/api/v1/voicemail/boxes/201", {"colour": "red"}).json()["field"] == "colour"
    assert admin.api("GET", "/api/v1/voicemail/boxes/777").status == 404


def test_api_a_huge_greeting_upload_is_refused_naming_the_file(web, admin):
    boundary = "----vm"
    content = b"RIFF" + b"\0" * (service.GREETING_UPLOAD_MAX_BYTES + 1)
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.wav\"\r\n"
            "Content-Type: audio/wav\r\n\r\n").encode() + content + f"\r\n--{boundary}--\r\n".encode()
    response = admin.api("PUT", "/api/v1/voicemail/boxes/201/greetings/unavailable", raw=body,
                         content_type=f"multipart/form-data; boundary={boundary}")
    assert response.status == 400 and response.json()["field"] == "file", response.text
    assert "larger than" in response.json()["message"]
    assert admin.api("GET", "/api/v1/voicemail/boxes/201").json()["greetings"] == {}


def test_api_greeting_by_text_to_speech_then_removed(web, admin):
    response = admin.api("PUT", "/api/v1/voicemail/boxes/202/greetings/busy", {"text": ""})
    assert response.status == 400 and response.json()["field"] == "text"
    response = admin.api("PUT", "/api/v1/voicemail/boxes/202/greetings/busy", {"text": "Bob is busy.",
                                                                                "language": "en"})
    assert response.status == 200, response.text
    assert response.json()["greetings"]["busy"] == {"source": "tts", "text": "Bob is busy."}
    audio = admin.request("GET", "/api/v1/voicemail/boxes/202/greetings/busy/audio")
    assert audio.status == 200 and audio.body[:4] == b"RIFF"
    assert admin.api("DELETE", "/api/v1/voicemail/boxes/202/greetings/busy").status == 204
    assert admin.api("PUT", "/api/v1/voicemail/boxes/202/greetings/other", {"text": "x"}).status == 404


def test_api_a_user_sees_and_manages_only_their_own_box(web, admin):
    box = service.get_box("201")
    message = service.store_message(web.settings, box, recording(web.settings, box, 1), "202", "Bob", NOW)
    alice, bob = _user(web, "201"), _user(web, "202")
    assert [b["number"] for b in alice.api("GET", "/api/v1/voicemail/mine").json()] == ["201"]
    assert alice.api("GET", "/api/v1/voicemail/mine").json()[0]["messages"][0]["caller"] == "202"
    assert bob.api("GET", "/api/v1/voicemail/boxes/201").status == 404
    assert bob.api("GET", "/api/v1/voicemail/boxes/201/messages").status == 404
    assert bob.api("DELETE", f"/api/v1/voicemail/boxes/201/messages/{message.id}").status == 404
    assert bob.api("GET", "/api/v1/voicemail/boxes").status == 403
    assert alice.api("PUT", "/api/v1/voicemail/boxes/201", {"quota_mb": 500}).status == 403
    assert alice.api("PUT", "/api/v1/voicemail/boxes/201", {"pin": "4321", "enabled": True}).status == 200
    path = f"/api/v1/voicemail/boxes/201/messages/{message.id}"
    assert alice.api("PUT", path, {"read": True}).json()["read"] is True
    assert alice.api("PUT", path, {"folder": "old"}).json()["field"] == "folder"
    wav = alice.request("GET", path + "/audio?download=1")
    assert wav.status == 200 and wav.body[:4] == b"RIFF"
    assert "attachment" in (wav.header("Content-Disposition") or "")
    assert alice.api("DELETE", path).status == 204
    assert alice.api("GET", "/api/v1/voicemail/boxes/201/messages").json() == []


def test_api_deleting_a_box_with_messages_asks_then_removes_the_files(web, admin):
    box = service.get_box("202")
    message = service.store_message(web.settings, box, recording(web.settings, box, 1), "201", "", NOW)
    file = storage.message_path(web.settings, message.file)
    response = admin.api("DELETE", "/api/v1/voicemail/boxes/202")
    assert response.status == 409 and response.json()["field"] == "confirm"
    assert file.exists()
    assert admin.api("DELETE", "/api/v1/voicemail/boxes/202?confirm=true").status == 204
    assert not file.exists()
    assert admin.api("GET", "/api/v1/voicemail/boxes/202").json()["new"] == 0


def test_pages_render_for_the_admin_and_the_portal(web, admin):
    page = web.client()
    assert page.login("admin", STRONG).status in (200, 303)
    listing = page.get("/voicemail")
    assert listing.status == 200 and "/voicemail/201" in listing.text
    assert page.get("/voicemail/201").status == 200
    box = service.get_box("201")
    service.store_message(web.settings, box, recording(web.settings, box, 1), "0612345678", "", NOW)
    alice = web.client()
    assert alice.login("201", STRONG).status in (200, 303)
    portal = alice.get("/portal/voicemail")
    assert portal.status == 200 and "0612345678" in portal.text and "<audio" in portal.text
    assert alice.get("/voicemail").status == 403


# -- in a browser ------------------------------------------------------------------------------------------

@pytest.mark.browser
@pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian's chromium is not installed")
def test_in_a_browser_the_admin_adds_and_deletes_boxes_and_a_user_manages_messages(web, admin):
    from playwright.sync_api import expect, sync_playwright

    box = service.get_box("202")
    service.store_message(web.settings, box, recording(web.settings, box, 1), "0698765432", "", NOW)
    mine = service.get_box("201")
    for caller in ("0611111111", "0622222222"):
        service.store_message(web.settings, mine, recording(web.settings, mine, 1), caller, "", NOW)
    errors: list[str] = []
    with sync_playwright() as p:
        browser = launch_chromium(p)
        try:
            for login in ("admin", "201"):
                context = browser.new_context(locale="en-US")
                page = context.new_page()
                page.on("pageerror", lambda exc: errors.append(str(exc)))
                page.on("dialog", lambda dialog: dialog.accept())
                page.goto(web.url + "/login")
                page.fill("#username", login)
                page.fill("#password", STRONG)
                page.click("button[type=submit]:has-text('Log in')")
                page.wait_for_load_state("networkidle")
                if login == "admin":
                    page.goto(web.url + "/voicemail")
                    page.fill("#vm-number", "201")
                    page.click("[data-vm-create] button[type=submit]")
                    expect(page.locator('#voicemail-create [data-error-for="number"]')).to_be_visible()
                    page.fill("#vm-number", "300")
                    page.fill("#vm-name", "Reception")
                    page.fill("#vm-subscribers", "201")
                    page.click("[data-vm-create] button[type=submit]")
                    expect(page.locator('tr[data-number="300"]')).to_contain_text("Reception")
                    page.click('tr[data-number="202"] [data-vm-delete]')      # holds a message: asked twice
                    expect(page.locator('tr[data-number="202"] td').nth(4)).to_have_text("0")  # "new" count
                    assert Message.select().where(Message.box == box.id).count() == 0
                else:
                    page.goto(web.url + "/portal/voicemail")
                    rows = page.locator('[data-vm-messages="201"] tr[data-message]')
                    held = len(service.list_messages(mine))
                    expect(rows).to_have_count(held)
                    rows.nth(0).locator('[data-vm-msg="read"]').click()
                    expect(rows.nth(0).locator('[data-vm-msg="unread"]')).to_be_visible()
                    rows.nth(1).locator('[data-vm-msg="delete"]').click()
                    expect(rows).to_have_count(held - 1)
                    page.click("details summary")
                    page.fill("#vm-pin-201", "12ab")
                    page.click('[data-vm-settings="201"] button[type=submit]')
                    expect(page.locator('[data-vm-settings="201"] [data-error-for="pin"]')).to_contain_text("digits")
                    page.fill("#vm-pin-201", "2580")
                    page.click('[data-vm-settings="201"] button[type=submit]')
                    expect(page.locator('[data-vm-settings="201"] [data-saved]')).to_be_visible()
                    assert service.check_pin(service.get_box("201"), "2580")
                    expect(page.locator("h2", has_text="300")).to_be_visible()   # the shared box she subscribes to
                context.close()
        finally:
            browser.close()
    assert errors == [], f"JavaScript errors: {errors}"
