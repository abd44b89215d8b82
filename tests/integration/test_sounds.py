"""Sounds on the real stack: a caller hears an uploaded tone and a TTS prompt, and the appliance
calls a phone to record a prompt (the phone answers, plays a tone, then hangs up or presses #)."""

from __future__ import annotations

import subprocess
import time
import uuid

import pytest

from tests.support import audio
from tests.support.stack import Stack

PASSWORD = "Phone-Secret-2024"


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    s = Stack(tmp_path_factory.mktemp("sounds") / "data", spare_workers=2).start()
    s.api = s.admin_api()
    s.wait_workers_dispatched(2)  # the pool makes the system prompts before its first workers
    yield s
    s.stop()


@pytest.fixture
def phones(stack):
    opened = []

    def open_phone(extension, first="Test", last="Phone", **more):
        data = {"extension": extension, "first_name": first, "last_name": last, "sip_password": PASSWORD, **more}
        status, body = stack.api.request("POST", "/api/v1/users", data)
        assert status == 201, body
        phone = stack.registered_phone(extension, PASSWORD)
        opened.append(phone)
        return phone

    yield open_phone
    for phone in opened:
        phone.close()


def upload(stack, name: str, path, **fields) -> tuple[int, dict]:
    """POST /api/v1/sounds as multipart/form-data, the way the page's upload form sends it."""
    import json
    import urllib.error
    import urllib.request

    boundary = uuid.uuid4().hex
    body = b"".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
        for k, v in {"name": name, **fields}.items())
    body += (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{path.name}"\r\n\r\n'
             .encode() + path.read_bytes() + f"\r\n--{boundary}--\r\n".encode())
    request = urllib.request.Request(stack.web_url + "/api/v1/sounds", data=body, method="POST", headers={
        "Content-Type": f"multipart/form-data; boundary={boundary}",
        "Authorization": f"Bearer {stack.api.token}"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def download(stack, name: str, target):
    import urllib.request

    request = urllib.request.Request(f"{stack.web_url}/api/v1/sounds/{name}/audio",
                                     headers={"Authorization": f"Bearer {stack.api.token}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        target.write_bytes(response.read())
    return target


def wait_job(stack, job: str, states: tuple[str, ...], timeout: float = 30) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        status, body = stack.api.request("GET", f"/api/v1/sounds/record/{job}")
        assert status == 200, body
        if body["state"] in states:
            return body
        if body["state"] in ("done", "failed"):
            raise AssertionError(f"job ended {body['state']} while waiting for {states}: {body}")
        if time.monotonic() > deadline:
            raise AssertionError(f"job still {body['state']} after {timeout} s, wanted {states}: {body}")
        time.sleep(0.2)


def call_and_record(stack, phone, number: str, target) -> None:
    """Call `number`, record what is heard until the appliance hangs up."""
    phone.call(f"sip:{number}@127.0.0.1:{stack.settings.sip_port}")
    phone.record(target)
    phone.wait_for("confirmed", 10)
    phone.wait_for("disconnected", 30)
    phone.stop_recording()


def test_callers_hear_an_uploaded_tone_and_a_tts_prompt(stack, phones, tmp_path):
    tone = tmp_path / "tone.wav"
    subprocess.run(["sox", "-n", "-r", "44100", "-c", "2", str(tone), "synth", "3", "sine", "1000", "vol", "0.5"],
                   check=True)
    status, body = upload(stack, "tone-1k", tone, description="A 1 kHz tone")
    assert status == 201, body
    status, body = stack.api.request("POST", "/api/v1/sounds/tts", {
        "name": "welcome-fr", "text": "Bienvenue. Tous nos conseillers sont occupés.", "language": "fr"})
    assert status == 201, body
    status, body = stack.api.request("POST", "/api/v1/dialplan/procedures", {
        "name": "sound-test", "includes": ["internal"], "numbers": [
            {"number": "801", "apps": [{"app": "play", "sound": "tone-1k"}]},
            {"number": "802", "apps": [{"app": "play", "sound": "welcome-fr"}]}]})
    assert status == 201, body
    caller = phones("210", dialplan="sound-test")

    call_and_record(stack, caller, "801", tmp_path / "heard_tone.wav")
    assert audio.has_tone(tmp_path / "heard_tone.wav", 1000, min_share=0.5), "the caller did not hear the tone"

    call_and_record(stack, caller, "802", tmp_path / "heard_tts.wav")
    assert not audio.is_silent(tmp_path / "heard_tts.wav", skip_seconds=0.3), "the caller heard silence"
    assert not audio.has_tone(tmp_path / "heard_tts.wav", 1000, min_share=0.5)


def test_the_appliance_calls_a_phone_to_record_a_prompt(stack, phones, tmp_path):
    phone = phones("220", "Rita", "Corder", language="de")
    last_cdr = stack.last_cdr_id()
    status, job = stack.api.request("POST", "/api/v1/sounds/record", {
        "name": "recorded-greeting", "extension": "220", "description": "Said by Rita"})
    assert status == 202, job
    assert job["state"] in ("queued", "calling") and job["extension"] == "220"

    incoming = phone.wait_for("incoming", 15)
    assert incoming["remote_name"] == "Sound recording"
    phone.answer(200)
    phone.record(tmp_path / "phone_hears.wav", call=incoming["call"])
    phone.play_tone(1000, call=incoming["call"])
    wait_job(stack, job["job"], ("recording",), timeout=30)
    time.sleep(2.5)
    phone.stop_recording(call=incoming["call"])
    phone.hangup(call=incoming["call"])
    done = wait_job(stack, job["job"], ("done",), timeout=20)
    assert done["sound"] == "recorded-greeting"

    # The phone heard the instructions (in Rita's language) before the tone.
    assert not audio.is_silent(tmp_path / "phone_hears.wav", skip_seconds=0.3)
    status, sound = stack.api.request("GET", "/api/v1/sounds/recorded-greeting")
    assert status == 200
    assert sound["origin"] == "recording" and sound["description"] == "Said by Rita" and sound["language"] == "de"
    assert 1.5 <= sound["duration_s"] <= 10
    recorded = download(stack, "recorded-greeting", tmp_path / "recorded.wav")
    assert not audio.is_silent(recorded)
    assert audio.has_tone(recorded, 1000, skip_seconds=0.2, min_share=0.5), "the recording does not hold the tone"
    # The call history shows the appliance's call to the phone.
    rows = stack.closed_cdrs_after(last_cdr)
    assert [(r["caller"], r["callee"], r["disposition"]) for r in rows] == [("sounds", "220", "answered")]


def test_hash_ends_the_recording_and_the_appliance_hangs_up(stack, phones):
    phone = phones("221")
    status, job = stack.api.request("POST", "/api/v1/sounds/record", {"name": "short-one", "extension": "221"})
    assert status == 202, job
    incoming = phone.wait_for("incoming", 15)
    phone.answer(200)
    phone.play_tone(700, call=incoming["call"])
    wait_job(stack, job["job"], ("recording",), timeout=30)
    time.sleep(1.5)
    phone.send_dtmf("#", call=incoming["call"])
    assert wait_job(stack, job["job"], ("done",), timeout=20)["sound"] == "short-one"
    # After "goodbye" the appliance hangs up by itself.
    phone.wait_for("disconnected", 15, call=incoming["call"])
    status, sound = stack.api.request("GET", "/api/v1/sounds/short-one")
    assert status == 200 and sound["duration_s"] < 5


def test_a_busy_phone_fails_the_recording_with_the_reason(stack, phones):
    phone = phones("222")
    status, job = stack.api.request("POST", "/api/v1/sounds/record", {"name": "never", "extension": "222"})
    assert status == 202, job
    phone.wait_for("incoming", 15)
    phone.reject(486)
    failed = wait_job(stack, job["job"], ("failed",), timeout=20)
    assert failed["outcome"] == "busy" and "busy" in failed["error"]
    assert stack.api.request("GET", "/api/v1/sounds/never")[0] == 404


def test_an_unregistered_phone_fails_the_recording(stack):
    status, body = stack.api.request("POST", "/api/v1/users", {
        "extension": "223", "first_name": "Off", "last_name": "Line", "sip_password": PASSWORD})
    assert status == 201, body
    status, job = stack.api.request("POST", "/api/v1/sounds/record", {"name": "nobody", "extension": "223"})
    assert status == 202, job
    failed = wait_job(stack, job["job"], ("failed",), timeout=20)
    assert failed["outcome"] == "unavailable"
