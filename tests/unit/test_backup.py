"""Backup and restore: the archive gives back everything, refuses what is damaged and changes nothing then.

Every test works on real data folders populated through the services (users, settings, trunks, sounds,
voicemail, recordings, mail profiles, conference rooms, call history), backs up, and restores onto a
fresh data folder (a factory reset) or onto the populated one.
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import io
import json
import math
import os
import random
import re
import shutil
import sqlite3
import struct
import tarfile
import wave
from pathlib import Path

import pytest

from appliance import changes
from appliance.backup import archive, bundle, container, service
from appliance.backup.errors import BackupRefused
from appliance.backup.restore import restore_backup
from appliance.settings import Settings
from appliance.store import close_store, migrations, open_store, secrets

PASSPHRASE = "correct horse battery"
SIP_PASSWORD = "Sip-Pass-7391-alpha"
WEB_PASSWORD = "Web-Pass-5521-bravo"
TRUNK_PASSWORD = "Trunk-Pass-8830-charlie"
SMTP_PASSWORD = "Smtp-Pass-4417-delta"
VM_PIN = "582913"
ROOM_PIN = "7391"
ROOM_MOD_PIN = "8462"
SCHEDULE_PASSPHRASE = "Sched-Phrase-2290-echo"


def write_wav(path: Path, seconds: float = 1.0, freq: float = 440.0, seed: int = 0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    frames = bytearray()
    for i in range(int(8000 * seconds)):
        value = int(8000 * math.sin(2 * math.pi * freq * i / 8000)) + rng.randint(-300, 300)
        frames += struct.pack("<h", value)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(bytes(frames))
    return path


def open_box(settings: Settings) -> None:
    open_store(settings)
    secrets.load_key(settings.secret_key_path)


def shut(settings: Settings | None = None) -> None:
    close_store()
    changes.unsubscribe_all()


def populate(settings: Settings, users: int = 3) -> dict:
    """A configured appliance, through the services. Returns what to find again."""
    from appliance.cdr.models import Cdr
    from appliance.conference import service as conferences
    from appliance.mail import profiles
    from appliance.recordings import service as recordings
    from appliance.sounds import service as sounds
    from appliance.system.service import update_system_settings
    from appliance.trunks import service as trunks
    from appliance.users import service as users_service
    from appliance.voicemail import service as voicemail

    update_system_settings({"appliance_name": "Backup Test PBX", "sip_domain": "backup.example.org",
                            "ring_timeout_s": 42})
    made = []
    for n in range(users):
        user, _ = users_service.create_user({
            "extension": str(201 + n), "first_name": f"First{n}", "last_name": f"Last{n}",
            "email": f"user{n}@example.org", "sip_password": f"{SIP_PASSWORD}-{n}",
            "web_password": f"{WEB_PASSWORD}-{n}", "mobile": f"+3361234567{n}"})
        made.append(user)
    trunks.create_trunk({"name": "provider", "host": "sip.provider.example", "auth_user": "acct1234",
                         "password": TRUNK_PASSWORD, "register": True})
    sound = sounds.upload_sound(settings, {"name": "welcome", "description": "Welcome"}, "welcome.wav",
                                write_wav(settings.data_dir / "upload.wav", 1.0, 523, 1).read_bytes())
    profiles.create_profile({"name": "office", "sender": "pbx@example.org", "server": "smtp.example.org",
                             "username": "pbx@example.org", "password": SMTP_PASSWORD})
    conferences.create_room({"name": "weekly", "number": "800", "pin": ROOM_PIN, "moderator_pin": ROOM_MOD_PIN})
    box = voicemail.box_for_user(made[0])
    voicemail.update_box(box.number, {"enabled": True})
    voicemail.set_pin(box, VM_PIN)
    greeting = write_wav(settings.data_dir / "greet.wav", 1.0, 330, 2)
    voicemail.upload_greeting(settings, box, "unavailable", "greet.wav", greeting.read_bytes())
    box = voicemail.get_box(box.number)
    message = voicemail.store_message(settings, box, write_wav(settings.data_dir / "msg.wav", 2.0, 600, 3),
                                      "0612345678", "Caller", dt.datetime(2026, 11, 20, 9, 30))
    assert message is not None
    rec, path = recordings.new_recording(settings, "call-rec-1", "201", "always")
    write_wav(path, 1.5, 700, 4)
    recordings.finish(settings, rec)
    Cdr.create(call_id="cdr-1", caller="201", callee="202", start=dt.datetime(2026, 11, 20, 9, 0),
               end=dt.datetime(2026, 11, 20, 9, 1), billsec=60, disposition="answered")
    from appliance.backup import schedule
    schedule.update_schedule({"frequency": "weekly", "weekday": 6, "hour": 2, "parts": ["voicemail"],
                              "passphrase": SCHEDULE_PASSPHRASE, "keep": 4})
    for leftover in ("upload.wav", "greet.wav"):
        (settings.data_dir / leftover).unlink(missing_ok=True)
    return {"users": [u.extension for u in made], "sound_file": sound.file, "message_file": message.file,
            "recording_file": rec.file}


def media_hashes(settings: Settings) -> dict[str, str]:
    out = {}
    for root in (settings.sounds_dir, settings.data_dir / "voicemail", settings.data_dir / "recordings"):
        if root.is_dir():
            for path in root.rglob("*"):
                rel = path.relative_to(settings.data_dir).as_posix()
                if path.is_file() and "/system/" not in f"/{rel}" and "/tmp/" not in rel and "/tts/" not in rel:
                    out[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def data_hashes(settings: Settings) -> dict[str, str]:
    """Every file of the data folder, byte for byte (not run/ nor the SQLite shared-memory index)."""
    out = {}
    for path in sorted(settings.data_dir.rglob("*")):
        rel = path.relative_to(settings.data_dir).as_posix()
        if path.is_file() and not rel.startswith("run/") and not rel.endswith("-shm"):
            out[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def make_backup(settings: Settings, parts=archive.OPTIONAL_PARTS, passphrase: str | None = PASSPHRASE,
                secrets_included: bool = True) -> bytes:
    out = io.BytesIO()
    archive.create_backup(settings, out, parts, passphrase, secrets_included)
    return out.getvalue()


@pytest.fixture(scope="module")
def populated_template(tmp_path_factory):
    """One populated data folder per module (sox, password hashing...), copied for each test."""
    settings = Settings(data_dir=tmp_path_factory.mktemp("template") / "box")
    open_box(settings)
    found = populate(settings)
    shut()
    return settings.data_dir, found


@pytest.fixture
def box(tmp_path, populated_template):
    """A populated appliance (store open)."""
    template, found = populated_template
    settings = Settings(data_dir=tmp_path / "box")
    shutil.copytree(template, settings.data_dir, symlinks=True)
    open_box(settings)
    yield settings, found
    shut()


# -- the round trip ------------------------------------------------------------------------------------------

def test_backup_then_factory_reset_then_restore_gives_everything_back(box, tmp_path):
    from appliance.auth.passwords import verify_password
    from appliance.conference.models import ConferenceRoom
    from appliance.mail import profiles
    from appliance.recordings.models import Recording
    from appliance.system.models import get_system_settings
    from appliance.trunks import service as trunks
    from appliance.users import service as users_service
    from appliance.users.models import User
    from appliance.voicemail import service as voicemail
    from appliance.voicemail.models import Message

    settings, found = box
    before_media = media_hashes(settings)
    users_before = {u.extension: (u.first_name, u.last_name, u.email, u.mobile, u.ha1) for u in User.select()}
    data = make_backup(settings)
    shut()

    fresh = Settings(data_dir=tmp_path / "fresh")  # a factory-reset appliance: nothing in its data folder
    result = restore_backup(fresh, io.BytesIO(data), PASSPHRASE)
    assert result.migrated_from is None
    assert set(result.restart) == {"kamailio", "callcore", "web"}
    assert result.summary["users"] == len(found["users"])

    open_box(fresh)
    assert {u.extension: (u.first_name, u.last_name, u.email, u.mobile, u.ha1) for u in User.select()} == users_before
    for n, ext in enumerate(found["users"]):
        user = users_service.get_user(ext)
        assert users_service.reveal_sip_password(user) == f"{SIP_PASSWORD}-{n}"
        assert verify_password(f"{WEB_PASSWORD}-{n}", user.web_password_hash)
    system = get_system_settings()
    assert (system.appliance_name, system.sip_domain, system.ring_timeout_s) == \
        ("Backup Test PBX", "backup.example.org", 42)
    assert trunks.password_of(trunks.get_trunk("provider")) == TRUNK_PASSWORD
    assert secrets.decrypt(profiles.get_profile("office").password_enc) == SMTP_PASSWORD
    room = ConferenceRoom.get(ConferenceRoom.name == "weekly")
    assert (room.pin, room.moderator_pin) == (ROOM_PIN, ROOM_MOD_PIN)
    vm = voicemail.get_box(found["users"][0])
    assert voicemail.check_pin(vm, VM_PIN)
    assert [m.file for m in Message.select()] == [found["message_file"]]
    assert [r.file for r in Recording.select()] == [found["recording_file"]]
    from appliance.cdr.models import Cdr
    assert [c.call_id for c in Cdr.select()] == ["cdr-1"]
    from appliance.backup import schedule
    restored = schedule.get_schedule()
    assert (restored.frequency, restored.weekday, restored.keep) == ("weekly", 6, 4)
    assert secrets.decrypt(restored.passphrase_enc) == SCHEDULE_PASSPHRASE
    # every file byte for byte: the sound, the greeting, the message, the recording
    assert media_hashes(fresh) == before_media
    assert found["sound_file"] in {p.split("/", 1)[1] for p in before_media if p.startswith("sounds/")}


def test_inspect_tells_the_content_without_changing_anything(box):
    settings, found = box
    data = make_backup(settings)
    before = data_hashes(settings)
    info = archive.inspect_archive(io.BytesIO(data), PASSPHRASE)
    assert info["verified"] and info["encrypted"] and info["secrets"]
    assert info["parts"] == ["config", "sounds", "voicemail", "recordings", "history"]
    assert info["summary"]["users"] == 3 and info["summary"]["trunks"] == 1
    assert info["summary"]["voicemail_messages"] == 1 and info["summary"]["recordings"] == 1
    assert info["summary"]["calls"] == 1
    assert info["schema_version"] == len(migrations.MIGRATIONS)
    assert info["files"]["voicemail"]["files"] == 1 and info["files"]["recordings"]["files"] == 1
    assert info["files"]["sounds"]["files"] == 2  # the prompt and the greeting
    quick = archive.inspect_archive(io.BytesIO(data), PASSPHRASE, verify=False)
    assert quick["verified"] is False and quick["summary"] == info["summary"]
    assert data_hashes(settings) == before


def test_a_backup_with_secrets_needs_a_passphrase(box):
    settings, _ = box
    with pytest.raises(BackupRefused) as refused:
        make_backup(settings, passphrase=None)
    assert refused.value.reason == "passphrase_required"
    with pytest.raises(BackupRefused) as refused:
        make_backup(settings, passphrase="short")
    assert refused.value.reason == "passphrase_too_short"


def test_the_archive_is_encrypted_when_it_holds_secrets(box):
    settings, _ = box
    data = make_backup(settings)
    key = settings.secret_key_path.read_bytes().strip()
    for needle in (key, b"Backup Test PBX", b"backup.example.org", b"SQLite format 3", b"manifest.json"):
        assert needle not in data


# -- refusals change nothing ----------------------------------------------------------------------------------

def _foreign_tar() -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as tar:
        payload = b"not a backup\n" * 100
        info = tarfile.TarInfo("etc/hosts")
        info.size = len(payload)
        tar.addfile(info, io.BytesIO(payload))
    return out.getvalue()


def _our_container_with_a_random_tar() -> bytes:
    out = io.BytesIO()
    writer = container.FrameWriter(out, None)
    with tarfile.open(fileobj=writer, mode="w|") as tar:
        payload = b"hello"
        info = tarfile.TarInfo("hello.txt")
        info.size = len(payload)
        tar.addfile(info, io.BytesIO(payload))
    writer.close()
    return out.getvalue()


def _flip(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1:]


@pytest.mark.parametrize("case, reason", [
    ("truncated_end", "truncated"),
    ("truncated_half", "truncated"),
    ("truncated_header", "truncated"),
    ("flipped_header", "corrupted"),
    ("flipped_middle", "corrupted"),
    ("flipped_last_byte", "corrupted"),
    ("wrong_passphrase", "wrong_passphrase"),
    ("no_passphrase", "passphrase_required"),
    ("random_tar", "foreign"),
    ("tar_without_manifest", "foreign"),
    ("empty_file", "foreign"),
    ("appended_garbage", "corrupted"),
])
def test_a_bad_archive_is_refused_with_its_reason_and_nothing_changes(box, case, reason):
    settings, _ = box
    data = make_backup(settings)
    bad, passphrase = {
        "truncated_end": (data[:-40], PASSPHRASE),
        "truncated_half": (data[:len(data) // 2], PASSPHRASE),
        "truncated_header": (data[:20], PASSPHRASE),
        "flipped_header": (_flip(data, 40), PASSPHRASE),
        "flipped_middle": (_flip(data, len(data) // 2), PASSPHRASE),
        "flipped_last_byte": (_flip(data, len(data) - 1), PASSPHRASE),
        "wrong_passphrase": (data, "not the passphrase"),
        "no_passphrase": (data, None),
        "random_tar": (_foreign_tar(), None),
        "tar_without_manifest": (_our_container_with_a_random_tar(), None),
        "empty_file": (b"", None),
        "appended_garbage": (data + b"\0" * 10, PASSPHRASE),
    }[case]
    before = data_hashes(settings)
    with pytest.raises(BackupRefused) as refused:
        restore_backup(settings, io.BytesIO(bad), passphrase)
    assert refused.value.reason == reason, refused.value.message
    assert refused.value.message
    assert data_hashes(settings) == before
    assert not (settings.data_dir / ".restore-staging").exists()
    with pytest.raises(BackupRefused):
        archive.inspect_archive(io.BytesIO(bad), passphrase)


def test_an_unencrypted_archive_with_a_flipped_byte_in_a_file_is_refused(box):
    settings, _ = box
    data = make_backup(settings, passphrase=None, secrets_included=False)
    before = data_hashes(settings)
    for at in (len(data) // 3, 2 * len(data) // 3, len(data) - 100):
        with pytest.raises(BackupRefused) as refused:
            restore_backup(settings, io.BytesIO(_flip(data, at)), None)
        assert refused.value.reason == "corrupted"
    assert data_hashes(settings) == before


def test_an_archive_from_a_newer_version_is_refused(box, tmp_path):
    settings, _ = box
    shut()
    newer = Settings(data_dir=tmp_path / "newer")
    open_box(newer)
    populate(newer, users=1)
    conn = sqlite3.connect(str(newer.db_path))
    conn.execute("INSERT INTO schema_version (version) VALUES (?)", (len(migrations.MIGRATIONS) + 1,))
    conn.commit()
    conn.close()
    data = make_backup(newer)
    shut()
    open_box(settings)
    before = data_hashes(settings)
    with pytest.raises(BackupRefused) as refused:
        restore_backup(settings, io.BytesIO(data), PASSPHRASE)
    assert refused.value.reason == "newer_version"
    assert "newer" in refused.value.message
    assert data_hashes(settings) == before


def test_an_archive_from_an_older_schema_is_migrated(tmp_path, monkeypatch):
    older_count = len(migrations.MIGRATIONS) - 3
    old = Settings(data_dir=tmp_path / "old")
    monkeypatch.setattr(migrations, "MIGRATIONS", migrations.MIGRATIONS[:older_count])
    monkeypatch.setattr(archive, "MIGRATIONS", migrations.MIGRATIONS[:older_count])
    open_box(old)
    from appliance.store import database
    database.execute_sql("INSERT INTO user (login, extension, first_name, last_name, sip_password_enc) "
                         "VALUES ('301', '301', 'Old', 'Timer', ?)", (secrets.encrypt("old-sip-pass-1"),))
    data = make_backup(old, parts=())
    shut()
    monkeypatch.undo()
    assert archive.inspect_archive(io.BytesIO(data), PASSPHRASE)["migrates"] is True

    fresh = Settings(data_dir=tmp_path / "fresh")
    result = restore_backup(fresh, io.BytesIO(data), PASSPHRASE)
    assert result.migrated_from == older_count
    open_box(fresh)
    try:
        from appliance.users import service as users_service
        user = users_service.get_user("301")
        assert (user.first_name, user.last_name) == ("Old", "Timer")
        assert users_service.reveal_sip_password(user) == "old-sip-pass-1"
        assert migrations.current_version(database.obj) == len(migrations.MIGRATIONS)
    finally:
        shut()


# -- restoring onto a running configuration ------------------------------------------------------------------

def test_restore_onto_a_changed_box_swaps_the_configuration_and_keeps_the_previous_one(box):
    from appliance.users import service as users_service
    from appliance.users.models import User

    settings, found = box
    data = make_backup(settings, parts=())  # configuration and sounds only
    users_service.create_user({"extension": "299", "first_name": "After", "last_name": "Backup"})
    users_service.delete_user(found["users"][1])
    (settings.sounds_dir / "custom" / "later.wav").write_bytes(b"RIFF later")
    vm_before = media_hashes(settings)

    result = restore_backup(settings, io.BytesIO(data), PASSPHRASE)

    assert sorted(u.extension for u in User.select()) == sorted(found["users"])
    assert not (settings.sounds_dir / "custom" / "later.wav").exists()
    # parts the archive does not hold stay as they are: the message, the recording, the call history
    assert result.carried == {"history": 1, "recordings": 1, "voicemail": 1}
    after = media_hashes(settings)
    for rel, digest in vm_before.items():
        if rel.startswith(("voicemail/", "recordings/")):
            assert after[rel] == digest
    from appliance.voicemail.models import Message
    assert Message.select().count() == 1
    previous = Path(result.previous)
    assert (previous / "appliance.sqlite").is_file() and (previous / "secret.key").is_file()
    assert (previous / "sounds" / "custom" / "later.wav").read_bytes() == b"RIFF later"
    conn = sqlite3.connect(str(previous / "appliance.sqlite"))
    assert conn.execute("SELECT COUNT(*) FROM user WHERE extension = '299'").fetchone()[0] == 1
    conn.close()


def test_an_archive_without_secrets_holds_none_and_keeps_this_box_passwords(box):
    from appliance.trunks import service as trunks
    from appliance.users import service as users_service

    settings, found = box
    data = make_backup(settings, passphrase=None, secrets_included=False)
    assert data[:8] == container.MAGIC
    raw = _plain_payload(data)
    for secret in bundle.collect_secrets(settings):
        assert secret.encode() not in raw, secret
    assert b"Backup Test PBX" in raw  # not encrypted: the configuration is readable
    result = restore_backup(settings, io.BytesIO(data), None)
    assert result.carried["secrets"] > 0
    assert users_service.reveal_sip_password(users_service.get_user(found["users"][0])) == f"{SIP_PASSWORD}-0"
    assert trunks.password_of(trunks.get_trunk("provider")) == TRUNK_PASSWORD


def test_a_restore_without_secrets_keeps_this_boxs_phone_provisioning_credentials(box):
    from appliance.provisioning import service as provisioning
    from appliance.provisioning.models import Device

    settings, _found = box
    device, _password = provisioning.create_device({"mac": "80:5E:C0:12:34:56", "vendor": "yealink"})
    before = Device.get(Device.id == device.id)
    restore_backup(settings, io.BytesIO(make_backup(settings, passphrase=None, secrets_included=False)), None)
    after = Device.get(Device.mac == before.mac)
    assert (after.prov_ha1, after.prov_password_enc, after.link_token_hash) == (
        before.prov_ha1, before.prov_password_enc, before.link_token_hash)


def test_two_archives_made_in_the_same_second_are_both_kept(box, monkeypatch):
    settings, _found = box
    monkeypatch.setattr(service, "default_name", lambda *_args, **_kw: "backup-same-second.pbxbak")
    first = service.create_stored(settings, {"parts": [], "passphrase": PASSPHRASE, "secrets": True})
    second = service.create_stored(settings, {"parts": [], "passphrase": PASSPHRASE, "secrets": True})
    assert first["name"] != second["name"]
    assert sorted(p.name for p in service.folder(settings).glob("*.pbxbak")) == sorted(
        [first["name"], second["name"]])
    assert not list(service.folder(settings).glob(".*.partial"))


def _plain_payload(data: bytes) -> bytes:
    reader = container.FrameReader(io.BytesIO(data), None)
    return reader.read()


# -- the support bundle ---------------------------------------------------------------------------------------

def test_the_support_bundle_holds_no_secret(box):
    settings, found = box
    every_secret = bundle.collect_secrets(settings)
    plain = {f"{SIP_PASSWORD}-0", f"{SIP_PASSWORD}-2", TRUNK_PASSWORD, SMTP_PASSWORD, ROOM_PIN, ROOM_MOD_PIN,
             SCHEDULE_PASSPHRASE}
    assert plain <= every_secret
    settings.log_dir.mkdir(parents=True, exist_ok=True)
    (settings.log_dir / "web.log").write_text(
        "2026-11-22 user 201 logged in\n"
        f"2026-11-22 debug: trunk provider password={TRUNK_PASSWORD} registered\n"
        f"2026-11-22 smtp login pbx@example.org with {SMTP_PASSWORD}\n"
        'Authorization: Digest username="201", response="0123456789abcdef0123456789abcdef"\n')
    out = io.BytesIO()
    bundle.support_bundle(settings, out)
    with tarfile.open(fileobj=io.BytesIO(out.getvalue()), mode="r:gz") as tar:
        members = {m.name: tar.extractfile(m).read() for m in tar if m.isfile()}
    assert {"README.txt", "summary.json", "config/appliance.sqlite", "log/web.log"} <= set(members)
    blob = b"".join(members.values())
    key = settings.secret_key_path.read_bytes().strip()
    assert key not in blob
    for secret in every_secret:
        assert secret.encode() not in blob, f"secret found in the bundle: {secret[:12]}..."
    assert b"0123456789abcdef0123456789abcdef" not in blob
    assert b"user 201 logged in" in members["log/web.log"]
    # the configuration is there for the support engineer, without the secrets
    store = members["config/appliance.sqlite"]
    path = settings.data_dir / "bundle-check.sqlite"
    path.write_bytes(store)
    conn = sqlite3.connect(str(path))
    assert conn.execute("SELECT COUNT(*) FROM user").fetchone()[0] == 3
    assert conn.execute("SELECT COUNT(*) FROM user WHERE ha1 IS NOT NULL OR web_password_hash IS NOT NULL "
                        "OR sip_password_enc IS NOT NULL").fetchone()[0] == 0
    conn.close()
    path.unlink()
    assert json.loads(members["summary.json"])["store"]["trunks"] == 1
    gzip.decompress(out.getvalue())  # a plain tar.gz any tool opens
    assert not any(n.endswith("secret.key") or n.endswith(".key") for n in members)


def test_container_frames_detect_reordering(tmp_path):
    out = io.BytesIO()
    writer = container.FrameWriter(out, PASSPHRASE)
    writer.write(os.urandom(container.FRAME_SIZE * 2 + 10))
    writer.close()
    data = out.getvalue()
    header = container.read_header(io.BytesIO(data))["header_size"]
    frame = 5 + container.FRAME_SIZE + 16
    swapped = data[:header] + data[header + frame:header + 2 * frame] + data[header:header + frame] + \
        data[header + 2 * frame:]
    reader = container.FrameReader(io.BytesIO(swapped), PASSPHRASE)
    with pytest.raises(BackupRefused) as refused:
        reader.finish()
    assert refused.value.reason == "corrupted"
    dropped = data[:header] + data[header + frame:]
    with pytest.raises(BackupRefused):
        container.FrameReader(io.BytesIO(dropped), PASSPHRASE).finish()


# -- the web UI and API ---------------------------------------------------------------------------------------

def test_web_generate_upload_inspect_restore_and_support_bundle(tmp_path):
    from appliance.auth import sessions
    from appliance.users import service as users_service
    from tests.support.browser import STRONG, first_login, running_web

    web = running_web(tmp_path / "web")
    try:
        admin = first_login(web)
        api = web.client()
        assert api.api_login("admin", STRONG).status == 200
        users_service.create_user({"extension": "401", "first_name": "Web", "last_name": "User",
                                   "sip_password": f"{SIP_PASSWORD}-web"})
        users_service.create_user({"extension": "402", "first_name": "Tech", "last_name": "Nician",
                                   "role": "technician", "web_password": STRONG})

        page = admin.get("/settings/backup")
        assert page.status == 200 and 'id="backup-form"' in page.text and 'href="/settings/backup"' in page.text
        # a bad request names its field, before anything is streamed
        bad = api.api("POST", "/api/v1/backup/archive", {"secrets": True})
        assert bad.status == 400 and bad.json()["field"] == "passphrase"
        bad = api.api("POST", "/api/v1/backup/archive", {"parts": ["everything"], "passphrase": PASSPHRASE})
        assert bad.status == 400 and bad.json()["field"] == "parts.0"
        # generate and download: a streamed archive
        got = api.api("POST", "/api/v1/backup/archive", {"parts": ["history"], "passphrase": PASSPHRASE})
        assert got.status == 200 and got.header("Content-Type") == "application/octet-stream"
        assert "attachment" in got.header("Content-Disposition")
        archive_bytes = got.body
        assert archive.inspect_archive(io.BytesIO(archive_bytes), PASSPHRASE)["summary"]["users"] == 3
        # the page's form does the same
        form = admin.post_form("/settings/backup/download", {"secrets": "1", "passphrase": PASSPHRASE,
                                                             "passphrase_confirm": PASSPHRASE})
        assert form.status == 200 and form.body[:8] == container.MAGIC
        mismatch = admin.post_form("/settings/backup/download", {"secrets": "1", "passphrase": PASSPHRASE,
                                                                 "passphrase_confirm": "something else"})
        assert mismatch.status == 400 and 'data-field="passphrase_confirm"' in mismatch.text
        # generate onto the appliance: kept in the backup folder, listed, downloadable, deletable
        stored = admin.post_form("/settings/backup/store", {"part_history": "1", "passphrase": PASSPHRASE,
                                                            "passphrase_confirm": PASSPHRASE, "secrets": "1"})
        assert stored.status == 303 and "stored=" in stored.header("Location")
        page = admin.get("/settings/backup")
        kept = re.search(r'data-name="(backup-[^"]+\.pbxbak)" data-encrypted="1"', page.text)
        assert kept, page.text[:2000]
        assert admin.get(f"/settings/backup/files/{kept.group(1)}").body[:8] == container.MAGIC
        assert admin.post_form(f"/settings/backup/files/{kept.group(1)}/delete", {}).status == 303
        assert kept.group(1) not in admin.get("/settings/backup").text
        # the schedule: page form and API, the passphrase never shown again
        bad = admin.post_form("/settings/backup/schedule", {"frequency": "daily", "hour": "25", "keep": "3",
                                                            "weekday": "0", "month_day": "1", "sched_secrets": "1",
                                                            "passphrase": PASSPHRASE})
        assert bad.status == 400 and 'data-field="sched_hour"' in bad.text
        saved = admin.post_form("/settings/backup/schedule", {"frequency": "weekly", "hour": "4", "keep": "3",
                                                              "weekday": "5", "month_day": "1", "sched_secrets": "1",
                                                              "sched_part_voicemail": "1", "passphrase": PASSPHRASE})
        assert saved.status == 303
        got_schedule = api.api("GET", "/api/v1/backup/schedule").json()
        assert got_schedule["frequency"] == "weekly" and got_schedule["weekday"] == 5
        assert got_schedule["parts"] == ["voicemail"] and got_schedule["passphrase_set"] is True
        assert PASSPHRASE not in json.dumps(got_schedule) and PASSPHRASE not in admin.get("/settings/backup").text
        put = api.api("PUT", "/api/v1/backup/schedule", {"frequency": "monthly", "month_day": 30})
        assert put.status == 400 and put.json()["field"] == "month_day"
        put = api.api("PUT", "/api/v1/backup/schedule", {"frequency": "off", "revision": got_schedule["revision"]})
        assert put.status == 200 and put.json()["frequency"] == "off"
        # a technician may not
        tech = web.client()
        assert tech.api_login("402", STRONG).status == 200
        assert tech.api("POST", "/api/v1/backup/archive", {"passphrase": PASSPHRASE}).status == 403
        assert tech.request("GET", "/api/v1/backup/support-bundle").status == 403

        # upload: a foreign file is refused, ours is kept
        foreign = api.request("POST", "/api/v1/backup/uploads", _foreign_tar(),
                              {"Content-Type": "application/octet-stream"})
        assert foreign.status == 400 and foreign.json()["field"] == "file"
        up = api.request("POST", "/api/v1/backup/uploads", archive_bytes, {"Content-Type": "application/octet-stream"})
        assert up.status == 201, up.text
        name = up.json()["name"]
        assert up.json()["encrypted"] is True
        listed = api.api("GET", "/api/v1/backup/files").json()["files"]
        assert [f["name"] for f in listed] == [name]
        assert api.request("GET", f"/api/v1/backup/files/{name}").body == archive_bytes

        wrong = api.api("POST", f"/api/v1/backup/files/{name}/inspect", {"passphrase": "not it at all"})
        assert wrong.status == 400 and wrong.json()["field"] == "passphrase"
        assert wrong.json()["reason"] == "wrong_passphrase"
        info = api.api("POST", f"/api/v1/backup/files/{name}/inspect", {"passphrase": PASSPHRASE})
        assert info.status == 200 and info.json()["verified"] is True and info.json()["parts"][-1] == "history"

        # the configuration changes after the backup; the restore needs a confirmation
        users_service.delete_user("401")
        unconfirmed = api.api("POST", f"/api/v1/backup/files/{name}/restore", {"passphrase": PASSPHRASE})
        assert unconfirmed.status == 400 and unconfirmed.json()["field"] == "confirm"
        assert users_service.list_users() and not any(u.extension == "401" for u in users_service.list_users())

        bundle_response = api.request("GET", "/api/v1/backup/support-bundle")
        assert bundle_response.status == 200 and bundle_response.body[:2] == b"\x1f\x8b"
        assert f"{SIP_PASSWORD}-web".encode() not in gzip.decompress(bundle_response.body)

        done = api.api("POST", f"/api/v1/backup/files/{name}/restore", {"passphrase": PASSPHRASE, "confirm": True})
        assert done.status == 200, done.text
        body = done.json()
        assert body["restarting"] is False and set(body["restart"]) == {"kamailio", "callcore", "web"}
        user = users_service.get_user("401")
        assert users_service.reveal_sip_password(user) == f"{SIP_PASSWORD}-web"
        # sessions are not restored: everybody logs in again, with the archive's passwords
        assert api.api("GET", "/api/v1/backup/files").status == 401
        again = web.client()
        assert again.api_login("admin", STRONG).status == 200
        assert again.api("DELETE", f"/api/v1/backup/files/{name}").status == 204
        assert again.api("GET", "/api/v1/backup/files").json()["files"] == []
    finally:
        sessions.clear_failures("127.0.0.1")
        web.stop()


def test_keep_configuration_copies_the_current_one_aside(box):
    from appliance.backup.restore import keep_configuration

    settings, found = box
    kept = keep_configuration(settings, "recover")
    assert kept is not None and kept.name.endswith("-recover")
    conn = sqlite3.connect(str(kept / "appliance.sqlite"))
    assert conn.execute("SELECT COUNT(*) FROM user").fetchone()[0] == 3
    conn.close()
    assert (kept / "secret.key").read_bytes() == settings.secret_key_path.read_bytes()
    assert (kept / "sounds" / found["sound_file"]).read_bytes() == (settings.sounds_dir / found["sound_file"]).read_bytes()


# -- scheduled backups ------------------------------------------------------------------------------------------

def _row(**values):
    from appliance.backup.schedule import BackupSchedule

    base = {"frequency": "daily", "hour": 3, "weekday": 0, "month_day": 1, "last_run_at": None}
    base.update(values)
    return BackupSchedule(**base)


@pytest.mark.parametrize("values, now, slot", [
    ({"frequency": "daily"}, dt.datetime(2026, 11, 22, 10, 0), dt.datetime(2026, 11, 22, 2, 0)),
    ({"frequency": "daily"}, dt.datetime(2026, 11, 22, 1, 59), dt.datetime(2026, 11, 21, 2, 0)),
    ({"frequency": "weekly", "weekday": 0}, dt.datetime(2026, 11, 22, 10, 0), dt.datetime(2026, 11, 16, 2, 0)),
    ({"frequency": "weekly", "weekday": 6}, dt.datetime(2026, 11, 22, 10, 0), dt.datetime(2026, 11, 22, 2, 0)),
    ({"frequency": "monthly", "month_day": 1}, dt.datetime(2026, 11, 22, 10, 0), dt.datetime(2026, 11, 1, 2, 0)),
    ({"frequency": "monthly", "month_day": 28}, dt.datetime(2026, 11, 22, 10, 0), dt.datetime(2026, 10, 28, 2, 0)),
    ({"frequency": "monthly", "month_day": 1}, dt.datetime(2026, 7, 10, 12, 0), dt.datetime(2026, 7, 1, 1, 0)),
    ({"frequency": "monthly", "month_day": 5}, dt.datetime(2026, 1, 2, 12, 0), dt.datetime(2025, 12, 5, 2, 0)),
    ({"frequency": "off"}, dt.datetime(2026, 11, 22, 10, 0), None),
])
def test_the_latest_slot_is_at_the_hour_in_the_appliance_time_zone(values, now, slot):
    import zoneinfo

    from appliance.backup import schedule

    zone = zoneinfo.ZoneInfo("Europe/Paris")
    assert schedule.latest_slot(_row(**values), now, zone) == slot
    if slot is not None:
        assert schedule.due(_row(**values, last_run_at=slot - dt.timedelta(minutes=1)), now, zone)
        assert not schedule.due(_row(**values, last_run_at=slot), now, zone)


def test_schedule_validation_and_turning_on_waits_for_the_next_slot(box):
    from appliance.backup import schedule
    from appliance.errors import Conflict, ValidationError

    schedule.update_schedule({"frequency": "off"})
    row = schedule.get_schedule()
    row.passphrase_enc = None
    row.save()
    for data, field in [({"frequency": "hourly"}, "frequency"), ({"hour": 24}, "hour"), ({"weekday": 7}, "weekday"),
                        ({"month_day": 29}, "month_day"), ({"keep": 0}, "keep"), ({"parts": ["all"]}, "parts.0"),
                        ({"frequency": "daily"}, "passphrase"), ({"passphrase": "short"}, "passphrase"),
                        ({"colour": "red"}, "colour"), ({"secrets": "yes"}, "secrets")]:
        with pytest.raises(ValidationError) as bad:
            schedule.update_schedule(data)
        assert bad.value.field == field, data
    with pytest.raises(Conflict):
        schedule.update_schedule({"revision": 999, "hour": 4})
    now = dt.datetime(2026, 11, 22, 10, 0)
    row = schedule.update_schedule({"frequency": "daily", "hour": 3, "passphrase": PASSPHRASE}, now=now)
    public = schedule.to_public(row)
    assert public["passphrase_set"] is True and "passphrase" not in public and public["last_status"] is None
    assert not schedule.due(row, now + dt.timedelta(hours=10))  # 03:00 today came before it was turned on
    assert schedule.due(row, dt.datetime(2026, 11, 23, 2, 1))   # 03:00 Paris tomorrow


def test_scheduled_backups_are_made_when_due_and_only_the_last_n_kept(box):
    from appliance.backup import schedule, service

    settings, _ = box
    start = dt.datetime(2026, 11, 22, 10, 0)
    schedule.update_schedule({"frequency": "daily", "hour": 3, "keep": 2, "parts": ["history"],
                              "passphrase": PASSPHRASE}, now=start)
    assert schedule.run_due(settings, start + dt.timedelta(hours=1)) is None
    made = []
    for day in range(1, 4):
        outcome = schedule.run_due(settings, dt.datetime(2026, 11, 22 + day, 2, 30))
        assert outcome["status"] == "ok", outcome
        made.append(outcome["file"])
        assert schedule.run_due(settings, dt.datetime(2026, 11, 22 + day, 2, 45)) is None  # done for that slot
    names = sorted(f["name"] for f in service.list_files(settings))
    assert names == made[1:]
    with open(service.folder(settings) / made[-1], "rb") as f:
        info = archive.inspect_archive(f, PASSPHRASE)
    assert info["parts"] == ["config", "sounds", "history"] and info["secrets"] is True
    row = schedule.get_schedule()
    assert row.last_status == "ok" and row.last_file == made[-1]


def test_the_supervisor_starts_the_scheduled_backup_when_due(box):
    from appliance.backup import schedule, service
    from appliance.supervisor import Supervisor

    settings, _ = box
    settings.log_dir.mkdir(parents=True, exist_ok=True)
    schedule.update_schedule({"frequency": "daily", "hour": 3, "keep": 2, "parts": [], "passphrase": PASSPHRASE})
    supervisor = Supervisor(settings)
    supervisor._scheduled_backup(1000.0)
    assert supervisor._backup_job is None  # turned on just now: the first slot is still to come
    schedule.BackupSchedule.update(last_run_at=dt.datetime(2000, 1, 1)).execute()
    supervisor._scheduled_backup(1010.0)
    assert supervisor._backup_job is None  # looked at once a minute only
    supervisor._scheduled_backup(1100.0)
    assert supervisor._backup_job is not None
    assert supervisor._backup_job.wait(120) == 0, (settings.log_dir / "backup.log").read_text()
    files = service.list_files(settings)
    assert len(files) == 1 and files[0]["name"].startswith(schedule.PREFIX) and files[0]["encrypted"]
    assert "scheduled backup ok" in (settings.log_dir / "backup.log").read_text()
    assert schedule.get_schedule().last_status == "ok"


def test_where_data_is_placed_belongs_to_the_box_not_the_archive(box, tmp_path):
    from appliance.store import database

    settings, _ = box
    database.execute_sql("INSERT INTO storage_volume (uuid, label) VALUES ('uuid-archive', 'OLDSTICK')")
    database.execute_sql("UPDATE storage_placement SET volume_uuid = 'uuid-archive' WHERE kind = 'recordings'")
    data = make_backup(settings, parts=())
    database.execute_sql("DELETE FROM storage_volume")
    database.execute_sql("INSERT INTO storage_volume (uuid, label) VALUES ('uuid-live', 'NEWSTICK')")
    database.execute_sql("UPDATE storage_placement SET volume_uuid = 'uuid-live' WHERE kind = 'recordings'")
    restore_backup(settings, io.BytesIO(data), PASSPHRASE)
    rows = database.execute_sql("SELECT kind, volume_uuid FROM storage_placement ORDER BY kind").fetchall()
    assert ("recordings", "uuid-live") in rows
    assert database.execute_sql("SELECT uuid FROM storage_volume").fetchall() == [("uuid-live",)]
    shut()
    fresh = Settings(data_dir=tmp_path / "fresh")
    restore_backup(fresh, io.BytesIO(data), PASSPHRASE)
    conn = sqlite3.connect(str(fresh.db_path))
    assert {r[1] for r in conn.execute("SELECT kind, volume_uuid FROM storage_placement")} == {""}
    assert conn.execute("SELECT COUNT(*) FROM storage_volume").fetchone()[0] == 0
    conn.close()
    open_box(settings)
