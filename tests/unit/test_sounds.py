"""Sounds: conversion with the real sox, limits, TTS with espeak-ng, refusals, MOH classes, origination plumbing,
and the API on a real cheroot server (no call core: recording by phone answers 503 there)."""

from __future__ import annotations

import io
import json
import subprocess
import threading
import uuid
import wave
from types import SimpleNamespace

import pytest

from appliance.callcore import originate
from appliance.dialplan import procedures
from appliance.dialplan.models import current_revision
from appliance.errors import CallCoreError, Conflict, NotFound, ValidationError
from appliance.sounds import library, service
from tests.support import audio
from tests.support.browser import STRONG, running_web


def sox(*args) -> None:
    subprocess.run(["sox", *map(str, args)], check=True, capture_output=True)


def tone_file(tmp_path, name: str, *options, freq: int = 1000, seconds: float = 1.5):
    """A sine made by sox; `options` are sox's output options (rate, channels, encoding...)."""
    path = tmp_path / name
    sox("-n", *options, path, "synth", seconds, "sine", freq)
    return path


def wav_format(path) -> tuple[int, int, int]:
    with wave.open(str(path)) as w:
        return w.getframerate(), w.getnchannels(), w.getsampwidth()


def upload(settings, name, path, **data):
    with open(path, "rb") as f:
        return service.upload_sound(settings, {"name": name, **data}, path.name, f)


# -- conversion -----------------------------------------------------------------------------

def test_a_44k_stereo_wav_becomes_16k_mono_16bit_with_its_tone(store, tmp_path):
    source = tone_file(tmp_path, "stereo.wav", "-r", "44100", "-c", "2")
    sound = upload(store, "welcome", source, description="Welcome")
    path = library.sound_path(store, "welcome", "en")
    assert path == store.sounds_dir / "custom" / "welcome.wav"
    assert wav_format(path) == (16000, 1, 2)
    assert audio.has_tone(path, 1000, skip_seconds=0.1)
    assert sound.origin == "upload" and sound.kind == "prompt" and sound.description == "Welcome"
    assert sound.duration_s == pytest.approx(1.5, abs=0.05)
    assert sound.size_bytes == path.stat().st_size


def test_an_mp3_is_converted(store, tmp_path):
    source = tone_file(tmp_path, "tone.mp3", "-r", "16000", "-c", "1", freq=800)
    upload(store, "mp3-tone", source)
    path = library.sound_path(store, "mp3-tone", "en")
    assert wav_format(path) == (16000, 1, 2)
    assert abs(audio.dominant_frequency(path, skip_seconds=0.2) - 800) < 30


@pytest.mark.parametrize("filename, options", [
    ("raw.al", ("-r", "8000", "-c", "1", "-t", "al")),
    ("raw.alaw", ("-r", "8000", "-c", "1", "-t", "al")),
    ("alaw.wav", ("-r", "8000", "-c", "1", "-e", "a-law")),
])
def test_a_law_raw_and_a_law_wav_are_converted(store, tmp_path, filename, options):
    source = tone_file(tmp_path, filename, *options, freq=600)
    upload(store, "alaw", source)
    path = library.sound_path(store, "alaw", "en")
    assert wav_format(path) == (16000, 1, 2)
    assert abs(audio.dominant_frequency(path, skip_seconds=0.2) - 600) < 30
    assert library.sound_path(store, "alaw", "en").stat().st_size > 16000 * 2


def test_a_file_over_10_mb_is_refused_naming_the_file(store):
    too_big = io.BytesIO(b"\0" * (service.UPLOAD_MAX_BYTES + 1))
    with pytest.raises(ValidationError) as exc:
        service.upload_sound(store, {"name": "big"}, "big.al", too_big)
    assert exc.value.field == "file" and "10 MB" in exc.value.message
    assert not service.list_sounds()
    assert not list((store.sounds_dir / "tmp").glob("*")), "the partial upload was not cleaned up"


@pytest.mark.parametrize("filename", ["noise.wav", "noise.mp3"])
def test_a_garbage_file_is_refused_naming_the_file(store, filename):
    with pytest.raises(ValidationError) as exc:
        service.upload_sound(store, {"name": "noise"}, filename, b"this is not audio at all\n" * 40)
    assert exc.value.field == "file"
    assert "cannot be read" in exc.value.message
    assert "/" not in exc.value.message, "a server path leaked into the message"
    assert not service.list_sounds()


def test_empty_file_wrong_extension_and_no_file_are_refused(store):
    cases = [("empty.wav", b"", "is empty"), ("song.ogg", b"OggS....", ".wav, .mp3, .al or .alaw"),
             ("", None, "is required")]
    for filename, content, words in cases:
        with pytest.raises(ValidationError) as exc:
            service.upload_sound(store, {"name": "x"}, filename, content)
        assert exc.value.field == "file" and words in exc.value.message


def test_names_follow_the_dialplan_rule_and_are_unique(store, tmp_path):
    source = tone_file(tmp_path, "t.wav", "-r", "16000")
    for bad in ("", "Hello", "-x", "a b", "x" * 65, "../etc"):
        with pytest.raises(ValidationError) as exc:
            upload(store, bad, source)
        assert exc.value.field == "name"
    upload(store, "hello", source)
    with pytest.raises(ValidationError) as exc:
        upload(store, "hello", source)
    assert exc.value.field == "name" and "already exists" in exc.value.message


def test_kind_and_music_class_are_checked(store, tmp_path):
    source = tone_file(tmp_path, "t.wav", "-r", "16000")
    with pytest.raises(ValidationError) as exc:
        upload(store, "a", source, kind="ringtone")
    assert exc.value.field == "kind"
    with pytest.raises(ValidationError) as exc:
        upload(store, "a", source, kind="moh", moh_class="jazz")
    assert exc.value.field == "moh_class"
    with pytest.raises(ValidationError) as exc:
        upload(store, "a", source, kind="prompt", moh_class="default")
    assert exc.value.field == "moh_class"
    with pytest.raises(ValidationError) as exc:
        upload(store, "a", source, description="d" * 256)
    assert exc.value.field == "description"
    with pytest.raises(ValidationError) as exc:
        upload(store, "a", source, language="es")
    assert exc.value.field == "language"


# -- text to speech -------------------------------------------------------------------------------

@pytest.mark.parametrize("language, text", [
    ("fr", "Bienvenue chez nous."), ("en", "Welcome to our company."),
    ("de", "Willkommen bei uns."), ("it", "Benvenuti da noi."),
])
def test_tts_speaks_in_each_language(store, language, text):
    sound = service.create_tts(store, {"name": f"welcome-{language}", "text": text, "language": language})
    path = library.sound_path(store, sound.name, language)
    assert wav_format(path) == (16000, 1, 2)
    assert not audio.is_silent(path)
    assert sound.origin == "tts" and sound.language == language and sound.tts_text == text
    assert sound.duration_s > 0.5


def test_tts_input_is_checked(store):
    for data, field in [
        ({"name": "t", "language": "fr"}, "text"),
        ({"name": "t", "language": "fr", "text": "   "}, "text"),
        ({"name": "t", "language": "fr", "text": "a" * (service.TTS_TEXT_MAX + 1)}, "text"),
        ({"name": "t", "text": "Hello"}, "language"),
        ({"name": "t", "language": "es", "text": "Hola"}, "language"),
        ({"name": "t", "language": "en", "text": "Hello", "voice": "x"}, "voice"),
    ]:
        with pytest.raises(ValidationError) as exc:
            service.create_tts(store, data)
        assert exc.value.field == field, data


# -- using and deleting ------------------------------------------------------------------------------

def test_a_sound_a_procedure_plays_cannot_be_deleted_until_it_no_longer_does(store):
    service.create_tts(store, {"name": "closed", "text": "We are closed.", "language": "en"})
    procedures.create_procedure({"name": "night", "numbers": [
        {"number": "600", "apps": [{"app": "play", "sound": "closed"}]}]})
    with pytest.raises(Conflict) as exc:
        service.delete_sound(store, "closed")
    assert "procedure night, number 600" in exc.value.message
    assert library.sound_path(store, "closed", "en").exists()

    procedures.delete_procedure("night")
    path = library.sound_path(store, "closed", "en")
    service.delete_sound(store, "closed")
    assert not path.exists()
    with pytest.raises(NotFound):
        library.sound_path(store, "closed", "en")
    with pytest.raises(NotFound):
        service.delete_sound(store, "closed")


def test_every_change_moves_the_dialplan_revision(store):
    before = current_revision()
    service.create_tts(store, {"name": "r", "text": "Hello.", "language": "en"})
    service.update_sound("r", {"description": "greeting"})
    assert service.get_sound("r").description == "greeting"
    service.create_moh_class({"name": "jazz"})
    service.delete_moh_class(store, "jazz")
    service.delete_sound(store, "r")
    assert current_revision() == before + 5


def test_only_the_description_can_be_changed(store):
    service.create_tts(store, {"name": "r", "text": "Hello.", "language": "en"})
    with pytest.raises(ValidationError) as exc:
        service.update_sound("r", {"name": "other"})
    assert exc.value.field == "name"
    with pytest.raises(NotFound):
        service.update_sound("nope", {"description": "x"})


# -- music on hold --------------------------------------------------------------------------------------

def test_the_default_class_always_has_a_generated_melody(store):
    tracks = library.moh_tracks(store, "default")
    assert len(tracks) == 1 and tracks[0].name == "_generated.wav"
    assert wav_format(tracks[0]) == (16000, 1, 2)
    assert library.duration(tracks[0]) > 5
    assert not audio.is_silent(tracks[0])
    # A class with no track plays the default music rather than silence.
    service.create_moh_class({"name": "empty"})
    assert library.moh_tracks(store, "empty") == tracks


def test_music_class_lifecycle(store, tmp_path):
    row = service.create_moh_class({"name": "jazz", "description": "Smooth"})
    assert row.description == "Smooth"
    with pytest.raises(ValidationError) as exc:
        service.create_moh_class({"name": "jazz"})
    assert exc.value.field == "name"
    with pytest.raises(ValidationError) as exc:
        service.create_moh_class({"name": "Jazz Club"})
    assert exc.value.field == "name"

    upload(store, "b-track", tone_file(tmp_path, "b.wav", "-r", "16000", freq=500), kind="moh", moh_class="jazz")
    upload(store, "a-track", tone_file(tmp_path, "a.wav", "-r", "16000", freq=700), kind="moh", moh_class="jazz")
    tracks = library.moh_tracks(store, "jazz")
    assert [t.name for t in tracks] == ["a-track.wav", "b-track.wav"]
    assert tracks[0].parent == store.sounds_dir / "moh" / "jazz"
    assert {c["name"]: c["tracks"] for c in service.list_moh_classes()} == {"default": 1, "jazz": 2}

    with pytest.raises(Conflict) as exc:
        service.delete_moh_class(store, "jazz")
    assert "2 track(s)" in exc.value.message
    with pytest.raises(Conflict):
        service.delete_moh_class(store, "default")
    with pytest.raises(NotFound):
        service.delete_moh_class(store, "blues")

    service.delete_sound(store, "a-track")
    service.delete_sound(store, "b-track")
    procedures.create_procedure({"name": "queue", "numbers": [
        {"number": "700", "apps": [{"app": "music_on_hold", "moh_class": "jazz"}]}]})
    with pytest.raises(Conflict) as exc:
        service.delete_moh_class(store, "jazz")
    assert "procedure queue" in exc.value.message
    procedures.delete_procedure("queue")
    service.delete_moh_class(store, "jazz")
    assert [c["name"] for c in service.list_moh_classes()] == ["default"]


def test_build_system_prompts_makes_every_generated_sound(store):
    library.build_system_prompts(store)
    assert (store.sounds_dir / "system" / "fr" / "record_after_tone.wav").exists()
    beep = library.beep_path(store)
    assert abs(audio.dominant_frequency(beep, skip_seconds=0.05) - 1000) < 30
    assert (store.sounds_dir / "moh" / "default" / "_generated.wav").exists()


# -- origination plumbing (no call core) --------------------------------------------------------------

def _serve(listener, start_job, count=1):
    def run():
        import select

        for _ in range(count):
            select.select([listener], [], [], 5)
            listener.serve(start_job)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_originate_hands_the_job_to_the_pool_and_the_status_follows(store):
    listener = originate.Listener(store)
    seen = []
    try:
        thread = _serve(listener, lambda job: seen.append(job))
        job_id = originate.originate(store, "201", "record_sound", caller_name="Rec", caller_number="sounds",
                                     name="hello", description="Hi")
        thread.join(5)
    finally:
        listener.close()
    assert seen and seen[0]["id"] == job_id and seen[0]["target"] == "201"
    assert seen[0]["params"] == {"name": "hello", "description": "Hi"}
    assert seen[0]["caller_number"] == "sounds"
    status = originate.job_status(store, job_id)
    assert status["state"] == "queued" and status["kind"] == "record_sound" and status["target"] == "201"
    originate.write_status(store, job_id, state="done", result={"sound": "hello"})
    assert originate.job_status(store, job_id)["result"] == {"sound": "hello"}
    assert not originate.socket_path(store).exists(), "the socket file outlived its listener"


def test_originate_says_why_when_the_pool_cannot_take_the_job(store):
    listener = originate.Listener(store)
    try:
        thread = _serve(listener, lambda job: "every call-core worker is busy: try again in a moment")
        with pytest.raises(CallCoreError) as exc:
            originate.originate(store, "201", "record_sound", name="x")
        thread.join(5)
    finally:
        listener.close()
    assert "busy" in str(exc.value)
    jobs = list(originate.jobs_dir(store).glob("*.json"))
    assert len(jobs) == 1 and json.loads(jobs[0].read_text())["state"] == "failed"


def test_originate_without_a_call_core_fails_clearly(store):
    with pytest.raises(CallCoreError) as exc:
        originate.originate(store, "201", "record_sound", name="x")
    assert "not running" in str(exc.value)
    with pytest.raises(ValidationError) as exc:
        originate.originate(store, "201", "make_coffee")
    assert exc.value.field == "job_kind"
    with pytest.raises(ValidationError) as exc:
        originate.originate(store, "sip:evil@example.com", "record_sound")
    assert exc.value.field == "extension"
    for bad in ("../../etc/passwd", "0123456789abcdef", uuid.uuid4().hex):
        with pytest.raises(NotFound):
            originate.job_status(store, bad)


def test_jobs_of_a_dead_worker_are_marked_failed(store):
    originate.write_status(store, "00000000000000aa", state="recording")
    originate.write_status(store, "00000000000000bb", state="done")
    originate.fail_jobs(store, ["00000000000000aa", "00000000000000bb"], "the call-core worker w1 stopped")
    assert originate.job_status(store, "00000000000000aa")["state"] == "failed"
    assert originate.job_status(store, "00000000000000bb")["state"] == "done"


def _worker(index, legs=0, jobs=(), **flags):
    values = {"ready": True, "stopping": False, "exited": False, "hung": False, "retiring_since": None}
    values.update(flags)
    return SimpleNamespace(index=index, legs=legs, jobs=set(jobs), **values)


def test_a_job_goes_to_the_emptiest_worker_that_has_two_legs_free():
    assert originate.pick_worker([_worker(0, legs=2), _worker(1, legs=0), _worker(2, legs=1)]).index == 1
    assert originate.pick_worker([_worker(0, legs=3), _worker(1, legs=0, ready=False),
                                  _worker(2, legs=0, retiring_since=1.0), _worker(3, legs=0, hung=True)]) is None
    assert originate.pick_worker([_worker(0, legs=1, jobs={"a"}), _worker(1, legs=2)]).index == 1
    assert originate.pick_worker([_worker(0, legs=3, jobs={"a"})]) is None
    assert originate.pick_worker([_worker(0, legs=1, jobs={"a", "b"})]) is None


# -- the API (real web server, no call core) -------------------------------------------------------------

@pytest.fixture(scope="module")
def web(tmp_path_factory):
    running = running_web(tmp_path_factory.mktemp("soundsapi"))
    client = running.client()
    assert client.api("POST", "/api/v1/session/password", {
        "username": "admin", "current_password": running.admin_password, "new_password": STRONG}).status == 200
    yield running
    running.stop()


@pytest.fixture
def admin(web):
    client = web.client()
    assert client.api_login("admin", STRONG).status == 200
    return client


def multipart(fields: dict, file_name: str | None = None, content: bytes = b"") -> tuple[bytes, str]:
    boundary = "----sounds" + uuid.uuid4().hex
    parts = []
    for key, value in fields.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n{value}\r\n'.encode())
    if file_name is not None:
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{file_name}"\r\n'
                     f"Content-Type: application/octet-stream\r\n\r\n".encode() + content + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def post_upload(client, fields, file_name=None, content=b""):
    body, ctype = multipart(fields, file_name, content)
    return client.api("POST", "/api/v1/sounds", raw=body, content_type=ctype)


def test_api_upload_list_listen_describe_delete(admin, tmp_path):
    # 6 s of 44.1 kHz stereo: ~1 MB, far above the 64 KiB other bodies may have.
    source = tone_file(tmp_path, "big.wav", "-r", "44100", "-c", "2", seconds=6)
    assert source.stat().st_size > 1_000_000
    created = post_upload(admin, {"name": "api-tone", "description": "Tone", "kind": "prompt"}, "big.wav",
                          source.read_bytes())
    assert created.status == 201, created.text
    body = created.json()
    assert body["name"] == "api-tone" and body["origin"] == "upload" and round(body["duration_s"]) == 6
    assert created.header("Location") == "/api/v1/sounds/api-tone"

    listed = admin.api("GET", "/api/v1/sounds").json()
    assert [s["name"] for s in listed] == ["api-tone"]
    wav = admin.api("GET", "/api/v1/sounds/api-tone/audio")
    assert wav.status == 200 and wav.header("Content-Type").startswith("audio/wav")
    saved = tmp_path / "got.wav"
    saved.write_bytes(wav.body)
    assert wav_format(saved) == (16000, 1, 2) and audio.has_tone(saved, 1000)

    changed = admin.api("PUT", "/api/v1/sounds/api-tone", {"description": "A tone"})
    assert changed.status == 200 and changed.json()["description"] == "A tone"
    assert admin.api("DELETE", "/api/v1/sounds/api-tone").status == 204
    assert admin.api("GET", "/api/v1/sounds/api-tone").status == 404
    assert admin.api("GET", "/api/v1/sounds/api-tone/audio").status == 404


def test_api_upload_errors_name_the_field(admin):
    garbage = post_upload(admin, {"name": "junk"}, "junk.wav", b"not a wav" * 100)
    assert garbage.status == 400 and garbage.json()["field"] == "file"
    assert "cannot be read" in garbage.json()["message"]
    assert post_upload(admin, {"name": "junk"}).json()["field"] == "file"
    assert post_upload(admin, {"name": "Bad Name"}, "t.wav", b"x").json()["field"] == "name"
    unknown = post_upload(admin, {"name": "junk", "colour": "red"}, "t.wav", b"x")
    assert unknown.status == 400 and unknown.json()["field"] == "colour"
    as_json = admin.api("POST", "/api/v1/sounds", {"name": "junk"})
    assert as_json.status == 415
    assert admin.api("GET", "/api/v1/sounds").json() == []


def test_api_tts_and_delete_refused_while_used(admin):
    missing = admin.api("POST", "/api/v1/sounds/tts", {"name": "hello", "text": "Hello"})
    assert missing.status == 400 and missing.json()["field"] == "language"
    created = admin.api("POST", "/api/v1/sounds/tts", {"name": "hello", "text": "Hello there.", "language": "en"})
    assert created.status == 201 and created.json()["origin"] == "tts"
    assert admin.api("POST", "/api/v1/dialplan/procedures", {"name": "greet", "numbers": [
        {"number": "610", "apps": [{"app": "play", "sound": "hello"}]}]}).status == 201
    refused = admin.api("DELETE", "/api/v1/sounds/hello")
    assert refused.status == 409 and "procedure greet" in refused.json()["message"]
    assert admin.api("DELETE", "/api/v1/dialplan/procedures/greet").status == 204
    assert admin.api("DELETE", "/api/v1/sounds/hello").status == 204


def test_api_record_by_phone_checks_input_and_says_when_the_call_core_is_down(admin):
    unknown = admin.api("POST", "/api/v1/sounds/record", {"name": "rec", "extension": "299"})
    assert unknown.status == 400 and unknown.json()["field"] == "extension"
    assert admin.api("POST", "/api/v1/users", {"extension": "250", "first_name": "Rec",
                                               "last_name": "Order"}).status == 201
    bad_name = admin.api("POST", "/api/v1/sounds/record", {"name": "Rec!", "extension": "250"})
    assert bad_name.status == 400 and bad_name.json()["field"] == "name"
    down = admin.api("POST", "/api/v1/sounds/record", {"name": "rec", "extension": "250"})
    assert down.status == 503 and down.json()["error"] == "call_core_unavailable"
    assert "not running" in down.json()["message"]
    assert admin.api("GET", "/api/v1/sounds/record/0123456789abcdef").status == 404


def test_api_music_classes(admin):
    created = admin.api("POST", "/api/v1/moh-classes", {"name": "lounge", "description": "Calm"})
    assert created.status == 201
    assert {c["name"] for c in admin.api("GET", "/api/v1/moh-classes").json()} == {"default", "lounge"}
    duplicate = admin.api("POST", "/api/v1/moh-classes", {"name": "lounge"})
    assert duplicate.status == 400 and duplicate.json()["field"] == "name"
    assert admin.api("DELETE", "/api/v1/moh-classes/default").status == 409
    assert admin.api("DELETE", "/api/v1/moh-classes/lounge").status == 204
    assert admin.api("DELETE", "/api/v1/moh-classes/lounge").status == 404


def test_sounds_page_lists_sounds_with_a_player(web, admin):
    assert admin.api("POST", "/api/v1/sounds/tts", {"name": "page-hello", "text": "Hi.", "language": "fr"}).status == 201
    browser = web.client()
    browser.login("admin", STRONG)
    page = browser.get("/dialplan/sounds")
    assert page.status == 200
    assert 'data-name="page-hello"' in page.text
    assert '<audio controls preload="none" src="/api/v1/sounds/page-hello/audio">' in page.text
    assert 'id="upload-sound"' in page.text and 'id="record-sound"' in page.text and 'id="moh-classes"' in page.text
    assert '/static/sounds.js' in page.text
    assert admin.api("DELETE", "/api/v1/sounds/page-hello").status == 204
