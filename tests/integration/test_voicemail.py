"""Voicemail through the real stack, with registered test phones (one stack for the module).

Alice (201) has her box on, a PIN, and voicemail after 2 s of ringing; Bob (202) calls her and
she does not answer. What is asserted is what the people notice: Bob's tone is in the message
(downloaded through the API), Alice's phone gets the message-waiting NOTIFY with the counts,
Alice hears the tone when she dials *95 and enters her PIN, the message is gone once she deletes
it, three wrong PINs hang up, `*` during the greeting asks for the PIN, and a full box tells the
caller and keeps nothing. Steps of a call are followed through the debug-trace API.
"""

from __future__ import annotations

import io
import math
import struct
import time
import urllib.request
import wave

import pytest

from tests.support import audio
from tests.support.smtp import SmtpServer
from tests.support.stack_lab import StackLab, running_lab

PASSWORD = "Phone-Secret-Kq7w"
PIN = "2468"
TONE = 1000
PEOPLE = [("201", "Alice", "Martin"), ("202", "Bob", "Durand")]
FULL_BOX = "203"     # a user with no phone and a tiny quota, already full
BOB_EMAIL = "bob@dupont.example"


class Lab(StackLab):
    def box(self, number: str) -> dict:
        return self.request("GET", f"/api/v1/voicemail/boxes/{number}")

    def messages(self, number: str) -> list[dict]:
        return self.request("GET", f"/api/v1/voicemail/boxes/{number}/messages")

    def wait_messages(self, number: str, count: int, timeout: float = 15) -> list[dict]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.messages(number)
            if len(found) == count:
                return found
            time.sleep(0.2)
        raise AssertionError(f"box {number}: {self.messages(number)} instead of {count} message(s)")

    def download(self, path: str) -> bytes:
        request = urllib.request.Request(self.stack.web_url + path,
                                         headers={"Authorization": f"Bearer {self.api.token}"})
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.headers["Content-Type"].startswith("audio/wav")
            return response.read()

    def voicemail_steps(self, caller: str, callee: str, timeout: float = 10, until: str | None = None) -> list[dict]:
        """The "voicemail" steps of the latest call from `caller` to `callee` (waiting for `until`)."""
        deadline = time.monotonic() + timeout
        while True:
            calls = [c for c in self.request("GET", "/api/v1/dialplan/traces")
                     if c["caller"] == caller and c["callee"] == callee]
            steps = []
            if calls:
                live = [c for c in calls if c["live"]]
                latest = live[0] if live else calls[0]   # in progress first, then the newest finished
                trace = self.request("GET", "/api/v1/dialplan/traces/" + latest["call_id"])
                steps = [s for s in trace["steps"] if s["event"] == "voicemail"]
            if until is None or any(s.get("action") == until for s in steps) or time.monotonic() > deadline:
                return steps
            time.sleep(0.2)

    def keys(self, phone: str, digits: str, call: int, pause: float = 0.4) -> None:
        for digit in digits:
            self.phones[phone].send_dtmf(digit, call=call)
            time.sleep(pause)


def tone_wav(seconds: float, freq: int = 440, rate: int = 16000) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(b"".join(struct.pack("<h", int(8000 * math.sin(2 * math.pi * freq * i / rate)))
                               for i in range(int(seconds * rate))))
    return out.getvalue()


def multipart(filename: str, content: bytes) -> tuple[bytes, str]:
    boundary = "----vmtest7d1b"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\n"
            "Content-Type: audio/wav\r\n\r\n").encode() + content + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


@pytest.fixture(scope="module")
def smtp():
    server = SmtpServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def lab(tmp_path_factory, smtp):
    def configure(lab: Lab) -> None:
        lab.request("POST", "/api/v1/mail/profiles", {
            "name": "office", "sender": "pbx@dupont.example", "server": "127.0.0.1", "port": smtp.port,
            "security": "none", "helo": "pbx.dupont.example"}, 201)
        # Bob's box mails each message with its recording, then deletes it once the mail is sent.
        lab.request("PUT", "/api/v1/voicemail/boxes/202", {"enabled": True, "ring_seconds": 1, "pin": "8642",
                                                            "email_mode": "attach_delete",
                                                            "email_address": BOB_EMAIL})
        lab.request("PUT", "/api/v1/voicemail/boxes/201", {"enabled": True, "pin": PIN, "ring_seconds": 2,
                                                            "max_message_s": 30})
        lab.api.create_user(FULL_BOX, "Chloé", "Petit", PASSWORD)
        lab.request("PUT", f"/api/v1/voicemail/boxes/{FULL_BOX}", {"enabled": True, "quota_mb": 1, "pin": "1357"})
        # A 40 s greeting (1.3 MB at 16 kHz) fills its 1 MB quota.
        body, ctype = multipart("long.wav", tone_wav(40))
        status, answer = lab.api.send("PUT", f"/api/v1/voicemail/boxes/{FULL_BOX}/greetings/unavailable", body, ctype)
        assert status == 200, answer
        assert answer["used_bytes"] >= answer["quota_bytes"]

    with running_lab(Lab, tmp_path_factory.mktemp("voicemail") / "data", PEOPLE, PASSWORD, configure) as lab:
        lab.tmp = tmp_path_factory.mktemp("voicemail-heard")
        yield lab


def test_unanswered_call_leaves_the_callers_tone_in_the_box_and_lights_the_owners_phone(lab):
    alice, bob = lab.phones["201"], lab.phones["202"]
    since, call = lab.call("202", "201")
    ringing = lab.wait_ring("201", since)                      # Alice's phone rings, she does not answer
    bob.wait_for("confirmed", 20, call=call)                   # the voicemail answers Bob
    bob.play_tone(TONE, call=call)
    steps = lab.voicemail_steps("202", "201", timeout=30, until="record")
    assert [s["action"] for s in steps][:2] == ["greeting", "record"], steps
    assert steps[0]["kind"] == "unavailable"
    alice.wait_for("disconnected", 10, call=ringing["call"])   # she stopped ringing when voicemail took it
    time.sleep(3)
    bob.hangup(call=call)
    bob.wait_for("disconnected", 10, call=call)

    [message] = lab.wait_messages("201", 1)
    assert message["caller"] == "202" and message["folder"] == "new" and not message["read"]
    assert message["duration"] >= 1
    wav = lab.tmp / "left.wav"
    wav.write_bytes(lab.download(f"/api/v1/voicemail/boxes/201/messages/{message['id']}/audio?download=1"))
    assert audio.has_tone(wav, TONE, skip_seconds=0.3)

    mwi = alice.wait_for("mwi", 10, new=1)
    assert mwi["waiting"] is True and mwi["old"] == 0
    assert lab.box("201")["new"] == 1


def test_owner_dials_star95_enters_the_pin_hears_the_message_and_deletes_it(lab):
    alice = lab.phones["201"]
    assert len(lab.messages("201")) == 1, "the previous test left a message"
    _, call = lab.call("201", "*95")
    alice.wait_for("confirmed", 10, call=call)
    time.sleep(1.0)
    lab.keys("201", PIN + "#", call)
    assert "logged_in" in [s["action"] for s in lab.voicemail_steps("201", "*95", until="logged_in")]
    time.sleep(1.0)
    lab.keys("201", "1", call)                                 # new messages: the first plays at once
    lab.voicemail_steps("201", "*95", until="play")
    heard = lab.tmp / "heard.wav"
    alice.record(heard, call=call)
    time.sleep(2.5)
    alice.stop_recording(call=call)
    lab.keys("201", "7", call)                                 # delete
    lab.voicemail_steps("201", "*95", until="deleted")
    alice.hangup(call=call)
    alice.wait_for("disconnected", 10, call=call)

    assert audio.has_tone(heard, TONE, skip_seconds=0.3)
    assert lab.messages("201") == []
    mwi = alice.wait_for("mwi", 10, new=0, old=0)
    assert mwi["waiting"] is False


def test_three_wrong_pins_end_the_call(lab):
    bob = lab.phones["202"]
    _, call = lab.call("202", "*98")                           # voicemail main: box number, then PIN
    bob.wait_for("confirmed", 10, call=call)
    time.sleep(1.0)
    for _ in range(3):                                         # each failure asks for the box again
        lab.keys("202", "201#", call, pause=0.25)
        time.sleep(0.5)
        lab.keys("202", "1111#", call, pause=0.25)
        time.sleep(0.8)
    bob.wait_for("disconnected", 30, call=call)                # the appliance hung up, not Bob
    actions = [s["action"] for s in lab.voicemail_steps("202", "*98")]
    assert actions.count("wrong_pin") == 3 and "logged_in" not in actions, actions
    events = lab.request("GET", "/api/v1/events?kind=voicemail.pin_failed")
    assert [e["subject"] for e in events] == ["voicemail:201"], events


def test_star_during_the_greeting_goes_to_the_box_login(lab):
    bob = lab.phones["202"]
    since, call = lab.call("202", "201")
    lab.wait_ring("201", since)
    bob.wait_for("confirmed", 20, call=call)
    time.sleep(0.8)
    lab.keys("202", "*", call)
    assert "login" in [s["action"] for s in lab.voicemail_steps("202", "201", until="login")]
    time.sleep(1.0)
    lab.keys("202", PIN + "#", call)
    actions = [s["action"] for s in lab.voicemail_steps("202", "201", until="logged_in")]
    assert "logged_in" in actions and "record" not in actions, actions
    bob.hangup(call=call)
    bob.wait_for("disconnected", 10, call=call)
    assert lab.messages("201") == []


def test_a_full_box_tells_the_caller_and_stores_nothing(lab):
    bob = lab.phones["202"]
    before = lab.box(FULL_BOX)
    _, call = lab.call("202", FULL_BOX)                        # no phone registered: voicemail at once
    bob.wait_for("confirmed", 20, call=call)
    heard = lab.tmp / "full.wav"
    bob.record(heard, call=call)
    bob.play_tone(TONE, call=call)
    bob.wait_for("disconnected", 30, call=call)                # the appliance hung up
    bob.stop_recording(call=call)
    actions = [s["action"] for s in lab.voicemail_steps("202", FULL_BOX)]
    assert "box_full" in actions and "record" not in actions, actions
    assert not audio.is_silent(heard, skip_seconds=0.2)        # Bob was told
    assert lab.messages(FULL_BOX) == []
    after = lab.box(FULL_BOX)
    assert after["used_bytes"] == before["used_bytes"]         # the greeting is intact
    greeting = lab.download(f"/api/v1/voicemail/boxes/{FULL_BOX}/greetings/unavailable/audio")
    assert len(greeting) == before["used_bytes"]


def test_a_message_is_mailed_with_its_recording_then_leaves_the_box(lab, smtp):
    alice, bob = lab.phones["201"], lab.phones["202"]
    already = len(smtp.messages)
    since, call = lab.call("201", "202")
    lab.wait_ring("202", since)
    alice.wait_for("confirmed", 20, call=call)
    alice.play_tone(TONE, call=call)
    lab.voicemail_steps("201", "202", timeout=30, until="record")
    time.sleep(3)
    alice.hangup(call=call)
    alice.wait_for("disconnected", 10, call=call)

    mail = smtp.wait_for(already + 1)[already]
    assert "202" in mail["Subject"] and "201" in mail["Subject"]
    assert mail["To"] == BOB_EMAIL
    [attachment] = [part for part in mail.iter_attachments()]
    assert attachment.get_content_type() == "audio/wav"
    wav = lab.tmp / "mailed.wav"
    wav.write_bytes(attachment.get_content())
    assert audio.has_tone(wav, TONE, skip_seconds=0.3)
    lab.wait_messages("202", 0)                                # sent: "attach and delete" removed it
    assert bob.wait_for("mwi", 10, new=0)["waiting"] is False  # the light went off again


def test_a_phone_that_subscribes_to_message_summary_is_sent_its_counts(lab):
    import uuid

    from tests.support.kamailio import SipClient, digest

    settings = lab.stack.settings
    with SipClient(settings) as phone:
        assert phone.register("202", PASSWORD).status == 200
        uri = f"sip:202@{settings.bind}:{settings.sip_port}"
        call_id = uuid.uuid4().hex
        event = [("Event", "message-summary"), ("Accept", "application/simple-message-summary")]
        first = phone.request("SUBSCRIBE", uri, "202", call_id, extra=event)
        assert first.status == 407, first.raw
        answer = phone.request("SUBSCRIBE", uri, "202", call_id,
                               extra=[*event, ("Proxy-Authorization", digest(first, "SUBSCRIBE", uri, "202", PASSWORD))])
        assert answer.status == 200 and answer.header("Expires") == "3600", answer.raw
        # The counts arrive as a NOTIFY message-summary to this phone's registered contact.
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            phone.sock.settimeout(max(0.1, deadline - time.monotonic()))
            try:
                data = phone.sock.recv(65535).decode(errors="replace")
            except TimeoutError:
                break
            if data.startswith("NOTIFY ") and "message-summary" in data:
                assert "Messages-Waiting:" in data and "Voice-Message:" in data, data
                return
        raise AssertionError("no NOTIFY message-summary after the SUBSCRIBE")


def test_a_subscribe_to_another_event_package_is_refused(lab):
    import uuid

    from tests.support.kamailio import SipClient

    settings = lab.stack.settings
    with SipClient(settings) as phone:
        uri = f"sip:202@{settings.bind}:{settings.sip_port}"
        refused = phone.request("SUBSCRIBE", uri, "202", uuid.uuid4().hex, extra=[("Event", "presence")])
        assert refused.status == 489, refused.raw
