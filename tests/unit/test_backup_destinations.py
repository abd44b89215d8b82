"""Scheduled-backup destinations: validation through the API and the page (each bad value named by its field),
secrets never shown, run now / test destination, and the share destination through storage.shares' contract
(upload, list_files, remove_file, ShareError) with a stand-in for the share itself.

The real SFTP server and the real SMTP server are in tests/integration/test_backup_destinations.py.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import shutil
import tarfile
from pathlib import Path

import pytest

from appliance.auth import sessions
from tests.support.browser import admin_web

SFTP_PASSWORD = "Sftp-Secret-9917-golf"


@pytest.fixture(scope="module")
def web(tmp_path_factory):
    with admin_web(tmp_path_factory.mktemp("backupdest") / "data") as running:
        yield running


@pytest.fixture(autouse=True)
def fresh_schedule(web):
    """Each test starts from the folder destination, no SFTP password, no pinned key, an empty backup folder."""
    from appliance.backup import schedule, service
    from appliance.events.models import Event

    running = web[0]
    schedule.wait_now(60)
    schedule.BackupSchedule.update(frequency="off", destination="folder", target={}, target_secret_enc=None,
                                   host_key="", secrets=False, passphrase_enc=None, keep=7, parts=[]).execute()
    shutil.rmtree(service.folder(running.settings), ignore_errors=True)
    Event.delete().where(Event.kind.startswith("backup.")).execute()
    yield
    schedule.wait_now(60)
    sessions.clear_failures("127.0.0.1")


def _put(api, body):
    return api.api("PUT", "/api/v1/backup/schedule", body)


SFTP_OK = {"host": "sftp.example.net", "port": 2222, "user": "backup", "password": SFTP_PASSWORD,
           "folder": "pbx/backups"}


@pytest.mark.parametrize("body, field", [
    ({"destination": "ftp"}, "destination"),
    ({"destination": "sftp", "sftp": {**SFTP_OK, "host": "bad host!"}}, "sftp.host"),
    ({"destination": "sftp", "sftp": {**SFTP_OK, "host": ""}}, "sftp.host"),
    ({"destination": "sftp", "sftp": {**SFTP_OK, "port": 70000}}, "sftp.port"),
    ({"destination": "sftp", "sftp": {**SFTP_OK, "port": 0}}, "sftp.port"),
    ({"destination": "sftp", "sftp": {**SFTP_OK, "port": "ssh"}}, "sftp.port"),
    ({"destination": "sftp", "sftp": {**SFTP_OK, "user": ""}}, "sftp.user"),
    ({"destination": "sftp", "sftp": {**SFTP_OK, "user": "a b"}}, "sftp.user"),
    ({"destination": "sftp", "sftp": {k: v for k, v in SFTP_OK.items() if k != "password"}}, "sftp.password"),
    ({"destination": "sftp", "sftp": {**SFTP_OK, "folder": "../etc"}}, "sftp.folder"),
    ({"destination": "sftp", "sftp": {**SFTP_OK, "colour": "red"}}, "sftp.colour"),
    ({"destination": "sftp"}, "sftp.host"),
    ({"destination": "email", "email": {"to": ["ops@example.com"]}}, "email.profile"),
    ({"destination": "email", "email": {"to": []}}, "email.to"),
    ({"destination": "email", "email": {"to": ["ops@example.com", "not an address"]}}, "email.to.1"),
    ({"email": {"max_mb": 26}}, "email.max_mb"),
    ({"email": {"max_mb": 0}}, "email.max_mb"),
    ({"destination": "share", "share": {"name": "nas"}}, "share.name"),
    ({"destination": "share"}, "share.name"),
    ({"keep": 0}, "keep"),
    ({"keep": 101}, "keep"),
    ({"destination": ["sftp"]}, "destination"),
    ({"destination": {"kind": "sftp"}}, "destination"),
    ({"frequency": ["daily"]}, "frequency"),
    ({"frequency": {"daily": 1}}, "frequency"),
    ({"passphrase": ["Long-Enough-Phrase-1"]}, "passphrase"),
    ({"secrets": ["yes"]}, "secrets"),
    ({"hour": [3]}, "hour"),
    ({"share": ["nas"]}, "share"),
    ({"sftp": "host"}, "sftp"),
    ({"email": {"profile": ["office"]}}, "email.profile"),
])
def test_a_bad_destination_is_refused_naming_its_field_and_nothing_changes(web, body, field):
    _, _, api = web
    before = api.api("GET", "/api/v1/backup/schedule").json()
    answer = _put(api, body)
    assert answer.status == 400, answer.text
    assert answer.json()["field"] == field, answer.json()
    after = api.api("GET", "/api/v1/backup/schedule").json()
    assert after == before


def test_email_needs_a_mail_profile_then_is_accepted(web):
    from appliance.mail import profiles

    _, _, api = web
    answer = _put(api, {"destination": "email", "email": {"to": "ops@example.com, boss@example.com"}})
    assert answer.status == 400 and answer.json()["field"] == "email.profile"
    assert "mail profile" in answer.json()["message"]
    profiles.create_profile({"name": "office", "sender": "pbx@example.com", "server": "127.0.0.1", "port": 2525,
                             "security": "none"})
    try:
        answer = _put(api, {"destination": "email", "email": {"to": "ops@example.com, boss@example.com"}})
        assert answer.status == 200, answer.text
        body = answer.json()
        assert body["destination"] == "email"
        assert body["email"] == {"to": ["ops@example.com", "boss@example.com"], "profile": "", "max_mb": 10}
        named = _put(api, {"email": {"profile": "other"}})
        assert named.status == 400 and named.json()["field"] == "email.profile"
        assert _put(api, {"email": {"profile": "office", "max_mb": 3}}).json()["email"]["max_mb"] == 3
    finally:
        _put(api, {"destination": "folder"})
        profiles.delete_profile("office")


def test_the_sftp_password_is_kept_encrypted_and_never_shown(web):
    from appliance.backup import schedule

    _, admin, api = web
    answer = _put(api, {"destination": "sftp", "sftp": SFTP_OK})
    assert answer.status == 200, answer.text
    body = answer.json()
    assert body["sftp"] == {"host": "sftp.example.net", "port": 2222, "user": "backup", "folder": "pbx/backups",
                            "password_set": True, "host_key_type": None, "host_key_fingerprint": None}
    for text in (answer.text, api.api("GET", "/api/v1/backup/schedule").text, admin.get("/settings/backup").text):
        assert SFTP_PASSWORD not in text
    row = schedule.get_schedule()
    assert SFTP_PASSWORD not in json.dumps(row.target) and SFTP_PASSWORD not in (row.target_secret_enc or "")
    assert schedule.target_of(row).secret == SFTP_PASSWORD
    # the support bundle holds neither the password nor its token
    from appliance.backup import bundle

    out = io.BytesIO()
    bundle.support_bundle(web[0].settings, out)
    with tarfile.open(fileobj=io.BytesIO(out.getvalue()), mode="r:gz") as tar:
        blob = b"".join(tar.extractfile(m).read() for m in tar.getmembers() if m.isfile())
    assert SFTP_PASSWORD.encode() not in blob and row.target_secret_enc.encode() not in blob
    assert b"sftp.example.net" in blob  # the bundle does hold the (non-secret) destination
    # a partial change keeps the password and the pinned key; another host or port forgets the key
    schedule.BackupSchedule.update(host_key="ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeKeyForTheTestOnly00000000000000"
                                   ).execute()
    kept = _put(api, {"sftp": {"folder": ""}}).json()
    assert kept["sftp"]["password_set"] and kept["sftp"]["host_key_fingerprint"].startswith("SHA256:")
    assert kept["sftp"]["folder"] == ""
    # another host, port or user: the stored password is not sent there unless typed again
    for change in ({"host": "other.example.net"}, {"port": 2200}, {"user": "backup2"}):
        refused = _put(api, {"sftp": change})
        assert refused.status == 400 and refused.json()["field"] == "sftp.password", refused.text
        assert "again" in refused.json()["message"]
    assert schedule.target_of(schedule.get_schedule()).secret == SFTP_PASSWORD  # nothing changed
    kept = _put(api, {"sftp": {"user": "backup2", "password": "Another-Secret-1"}}).json()
    assert kept["sftp"]["password_set"] and kept["sftp"]["host_key_fingerprint"].startswith("SHA256:")
    assert kept["sftp"]["user"] == "backup2"
    assert schedule.target_of(schedule.get_schedule()).secret == "Another-Secret-1"
    moved = _put(api, {"sftp": {"port": 2200, "password": SFTP_PASSWORD}}).json()
    assert moved["sftp"]["host_key_fingerprint"] is None and moved["sftp"]["password_set"]
    # with another destination chosen, a new server silently forgets the password (asked when SFTP is chosen)
    assert _put(api, {"destination": "folder", "sftp": {"host": "third.example.net"}}).json()["sftp"][
        "password_set"] is False
    back = _put(api, {"destination": "sftp"})
    assert back.status == 400 and back.json()["field"] == "sftp.password"
    _put(api, {"destination": "sftp", "sftp": {"host": "sftp.example.net", "password": SFTP_PASSWORD}})
    # switching to another kind and back keeps the SFTP settings
    assert _put(api, {"destination": "folder"}).json()["sftp"]["host"] == "sftp.example.net"
    assert _put(api, {"destination": "sftp"}).status == 200


def test_the_page_form_sets_the_destination_and_names_the_bad_field(web):
    _, admin, api = web
    fields = {"frequency": "daily", "hour": "4", "keep": "3", "weekday": "0", "month_day": "1",
              "destination": "sftp", "sftp_host": "sftp.example.net", "sftp_port": "99999", "sftp_user": "backup",
              "sftp_password": SFTP_PASSWORD, "sftp_folder": "pbx"}
    bad = admin.post_form("/settings/backup/schedule", fields)
    assert bad.status == 400 and 'data-field="sched_sftp_port"' in bad.text
    assert 'value="sftp.example.net"' in bad.text and SFTP_PASSWORD not in bad.text
    saved = admin.post_form("/settings/backup/schedule", {**fields, "sftp_port": "2222"})
    assert saved.status == 303, saved.text[:2000]
    page = admin.get("/settings/backup")
    assert 'value="sftp.example.net"' in page.text and 'value="2222"' in page.text and SFTP_PASSWORD not in page.text
    assert re.search(r'<option value="sftp" selected', page.text)
    assert 'id="test-destination"' in page.text and 'id="run-schedule-now"' in page.text
    got = api.api("GET", "/api/v1/backup/schedule").json()
    assert got["destination"] == "sftp" and got["sftp"]["port"] == 2222 and got["sftp"]["password_set"]
    # the same form without a password keeps the stored one
    again = admin.post_form("/settings/backup/schedule", {**fields, "sftp_port": "2222", "sftp_password": ""})
    assert again.status == 303
    # ...but not for another server: the password is asked again, next to its field
    moved = admin.post_form("/settings/backup/schedule", {**fields, "sftp_port": "2222", "sftp_password": "",
                                                          "sftp_host": "other.example.net"})
    assert moved.status == 400 and 'data-field="sched_sftp_password"' in moved.text
    assert "enter the password again" in moved.text and 'value="other.example.net"' in moved.text
    no_profile = admin.post_form("/settings/backup/schedule", {**fields, "destination": "email",
                                                               "email_to": "ops@example.com", "email_max_mb": "10"})
    assert no_profile.status == 400 and 'data-field="sched_email_profile"' in no_profile.text
    back = admin.post_form("/settings/backup/schedule", {**fields, "destination": "folder"})
    assert back.status == 303


def test_run_now_and_test_destination_for_the_backup_folder(web):
    from appliance.backup import schedule, service
    from appliance.events.models import Event

    running, _, api = web
    assert _put(api, {"destination": "folder", "keep": 2}).status == 200
    tested = api.api("POST", "/api/v1/backup/schedule/test", {})
    assert tested.status == 200 and tested.json()["ok"] is True, tested.text
    bad = api.api("POST", "/api/v1/backup/schedule/test", {"trust_fingerprint": 5})
    assert bad.status == 400 and bad.json()["field"] == "trust_fingerprint"
    for _ in range(3):
        started = api.api("POST", "/api/v1/backup/schedule/run", {})
        assert started.status == 202, started.text
        schedule.wait_now(120)
    got = api.api("GET", "/api/v1/backup/schedule").json()
    assert got["last_status"] == "ok" and got["running"] is False, got
    names = [f["name"] for f in service.list_files(running.settings)]
    assert len(names) == 2 and got["last_file"] in names and all(n.startswith("scheduled-") for n in names)
    events = list(Event.select().where(Event.kind == "backup.scheduled"))
    assert len(events) == 3 and events[-1].details["destination"] == "folder"
    # one run at a time: while one holds the lock, "run now" is refused
    with schedule._RunLock(running.settings):
        assert api.api("GET", "/api/v1/backup/schedule").json()["running"] is True
        busy = api.api("POST", "/api/v1/backup/schedule/run", {})
        assert busy.status == 409 and busy.json()["field"] == "schedule"


def test_a_run_that_gets_the_lock_after_another_finished_makes_no_second_archive(web, monkeypatch):
    from appliance.backup import schedule, service

    running, _, _ = web
    now = dt.datetime(2026, 11, 22, 10, 0)
    schedule.BackupSchedule.update(frequency="daily", hour=3, last_run_at=dt.datetime(2026, 11, 1)).execute()
    assert schedule.due(schedule.get_schedule(), now)
    inner: list[dict | None] = []
    OriginalLock = schedule._RunLock

    class LateLock(OriginalLock):
        """The timer's run checked due(), then the supervisor's whole run happened before it took the lock."""

        def __enter__(self):
            if not inner:
                monkeypatch.setattr(schedule, "_RunLock", OriginalLock)
                inner.append(schedule.run_due(running.settings, now))
                monkeypatch.setattr(schedule, "_RunLock", LateLock)
            return super().__enter__()

    monkeypatch.setattr(schedule, "_RunLock", LateLock)
    assert schedule.run_due(running.settings, now) is None
    assert inner[0]["status"] == "ok", inner
    assert [f["name"] for f in service.list_files(running.settings)] == [inner[0]["file"]]
    # a run meeting one that holds the lock does nothing and says so
    monkeypatch.undo()
    schedule.BackupSchedule.update(last_run_at=dt.datetime(2026, 11, 1)).execute()
    with schedule._RunLock(running.settings):
        busy = schedule.run_due(running.settings, now)
    assert busy["status"] == "busy" and busy["message"] == "busy: another run is in progress"
    assert schedule.get_schedule().last_run_at == dt.datetime(2026, 11, 1)


def test_scheduled_archives_name_this_appliance_and_prune_only_its_own(web, tmp_path):
    import dataclasses
    import os
    import time

    from appliance.backup import destinations, schedule, service
    from appliance.system.models import SystemSettings

    running, _, api = web
    settings = running.settings
    name_before = SystemSettings.get().appliance_name
    SystemSettings.update(appliance_name="Front Desk PBX").execute()
    box = destinations.box_id(settings)
    assert re.fullmatch(r"[0-9a-f]{8}", box) and destinations.box_id(settings) == box
    other = tmp_path / "other"
    other.mkdir()
    (other / "secret.key").write_bytes(os.urandom(32))
    assert destinations.box_id(dataclasses.replace(settings, data_dir=other)) != box  # another appliance
    root = service.folder(settings)
    root.mkdir(parents=True, exist_ok=True)
    theirs = "scheduled-front-desk-pbx-0badf00d-20261122-110000.pbxbak"  # another box, same name, same folder
    before = "scheduled-20261101-030000.pbxbak"  # made before archives named their appliance
    for name in (theirs, before):
        (root / name).write_bytes(b"x")
    # leftovers of a run killed mid-way: this box's (stale: the new run holds the lock), an old one, a fresh
    # one of another box (its run may be going on)
    mine_left = root / f".scheduled-front-desk-pbx-{box}-20261122-090000.pbxbak.k2j4.partial"
    old_left = root / ".scheduled-20261101-030000.pbxbak.a1b2.partial"
    their_left = root / ".scheduled-front-desk-pbx-0badf00d-20261122-100000.pbxbak.z9y8.partial"
    for path in (mine_left, old_left, their_left):
        path.write_bytes(b"half")
    os.utime(old_left, (time.time() - 7200, time.time() - 7200))
    assert _put(api, {"destination": "folder", "keep": 2}).status == 200
    made = [schedule.run_due(settings, dt.datetime(2026, 11, 22, 10, 0), force=True)["file"] for _ in range(3)]
    stem = f"scheduled-front-desk-pbx-{box}-20261122-100000"
    assert made == [f"{stem}.pbxbak", f"{stem}-2.pbxbak", f"{stem}-3.pbxbak"]
    listed = [f["name"] for f in service.list_files(settings)]
    # the newest two of this box's (the -2 one is newer than the plain one), the other box's and the old one
    assert sorted(listed) == sorted([made[1], made[2], theirs, before]), listed
    assert not mine_left.exists() and not old_left.exists() and their_left.exists()
    (root / before).write_bytes((root / made[2]).read_bytes())
    inspected = api.api("POST", f"/api/v1/backup/files/{before}/inspect", {})  # still usable here
    assert inspected.status == 200, inspected.text
    SystemSettings.update(appliance_name=name_before).execute()


def test_a_failed_archive_is_a_recorded_failure(web):
    from appliance.backup import schedule
    from appliance.events.models import Event

    running, _, _ = web
    # secrets wanted but no passphrase stored: the archive cannot be made
    schedule.BackupSchedule.update(secrets=True, passphrase_enc=None).execute()
    outcome = schedule.run_due(running.settings, force=True)
    assert outcome["status"] == "failed" and outcome["reason"] == "archive", outcome
    event = Event.select().where(Event.kind == "backup.schedule_failed").get()
    assert event.details["reason"] == "archive" and event.severity == "alert"


class FakeShares:
    """storage.shares' contract (upload, list_files, remove_file, ShareError) over a plain folder."""

    class ShareError(Exception):
        def __init__(self, message: str, code: str = ""):
            super().__init__(message)
            self.message = message
            self.code = code

    def __init__(self, root: Path):
        self.root = root
        self.failure: str | None = None
        self.code = ""
        self.calls: list[tuple] = []

    def _folder(self, name: str) -> Path:
        from storage import shares

        shares.get(name)  # a share deleted under Storage: NotFound, as the real functions raise
        if self.failure:
            raise self.ShareError(self.failure, self.code)
        folder = self.root / name
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def upload(self, settings, name, src: Path, remote_name: str) -> None:
        self.calls.append(("upload", name, remote_name))
        shutil.copyfile(src, self._folder(name) / remote_name)

    def list_files(self, settings, name) -> list[str]:
        return sorted(p.name for p in self._folder(name).iterdir())

    def remove_file(self, settings, name, remote_name) -> None:
        self.calls.append(("remove", name, remote_name))
        (self._folder(name) / remote_name).unlink()


@pytest.fixture
def nas(tmp_path, monkeypatch):
    """A share "nas" whose transfers go to the stand-in (storage.shares' contract); the schedule back to the
    backup folder afterwards."""
    from appliance.backup import schedule
    from storage import shares
    from storage.models import Share

    fake = FakeShares(tmp_path / "server")
    for attr in ("upload", "list_files", "remove_file", "ShareError"):
        monkeypatch.setattr(shares, attr, getattr(fake, attr), raising=False)
    Share.create(name="nas", protocol="smb", server="127.0.0.1", share="backups")
    yield fake
    Share.delete().execute()
    schedule.BackupSchedule.update(destination="folder").execute()


def test_the_share_destination_uploads_prunes_and_classifies_failures(web, nas: FakeShares):
    from appliance.backup import schedule, service
    from appliance.events.models import Event

    running, _, api = web
    fake = nas
    answer = _put(api, {"destination": "share", "share": {"name": "nas"}, "keep": 2})
    assert answer.status == 200 and answer.json()["share"] == {"name": "nas"}, answer.text
    assert api.api("POST", "/api/v1/backup/schedule/test", {}).json()["ok"] is True
    made = []
    for minute in range(3):
        outcome = schedule.run_due(running.settings, dt.datetime(2026, 11, 22, 10, minute), force=True)
        assert outcome["status"] == "ok", outcome
        made.append(outcome["file"])
    assert fake.list_files(None, "nas") == made[1:]
    assert (fake.root / "nas" / made[-1]).stat().st_size > 0
    assert service.list_files(running.settings) == []  # sent: no local copy left
    # the share refuses the login: the failure is classified, the archive stays in the backup folder
    fake.failure = "the server refused the user name or password (NT_STATUS_LOGON_FAILURE)"
    outcome = schedule.run_due(running.settings, dt.datetime(2026, 11, 22, 11, 0), force=True)
    assert outcome["status"] == "failed" and outcome["reason"] == "auth", outcome
    assert [f["name"] for f in service.list_files(running.settings)] == [outcome["file"]]
    event = Event.select().where(Event.kind == "backup.schedule_failed").get()
    assert event.details["reason"] == "auth" and event.details["file"] == outcome["file"]
    assert "kept in the backup folder" in event.message
    tested = api.api("POST", "/api/v1/backup/schedule/test", {}).json()
    assert tested["ok"] is False and tested["reason"] == "auth"
    fake.failure = "the share or export does not exist on the server"
    assert schedule.run_due(running.settings, force=True)["reason"] == "remote_folder_missing"
    fake.failure, fake.code = "smbclient said no", "NT_STATUS_ACCESS_DENIED"  # the code decides
    assert schedule.run_due(running.settings, force=True)["reason"] == "permission"


def test_a_deleted_share_is_a_not_configured_failure_and_cannot_be_chosen(web, nas):
    from appliance.backup import schedule
    from storage.models import Share

    running, _, api = web
    assert _put(api, {"destination": "share", "share": {"name": "nas"}}).status == 200
    Share.delete().where(Share.name == "nas").execute()
    outcome = schedule.run_due(running.settings, force=True)
    assert outcome["status"] == "failed" and outcome["reason"] == "not_configured", outcome
    assert "the share nas no longer exists" in outcome["message"]
    tested = api.api("POST", "/api/v1/backup/schedule/test", {})
    assert tested.status == 200 and tested.json()["reason"] == "not_configured", tested.text
    target = schedule.target_of(schedule.get_schedule())
    with pytest.raises(schedule.destinations.DestinationFailed) as failed:
        schedule.destinations.KINDS["share"].prune(running.settings, target, 1)
    assert failed.value.reason == "not_configured"
    for body in ({"destination": "share"}, {"destination": "share", "share": {"name": "gone"}}):
        refused = _put(api, body)
        assert refused.status == 400 and refused.json()["field"] == "share.name", refused.text
        assert "no longer exists" in refused.json()["message"] or "no share named" in refused.json()["message"]

