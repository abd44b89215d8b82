"""Scheduled backups to a REAL SFTP server (OpenSSH's sshd on a loopback port, its own configuration, host key
and a test user made by the fixture) and by e-mail through a real SMTP server (aiosmtpd).

Shown: a scheduled run puts the archive on the server byte for byte (`appliance backup inspect` accepts the
copy); keep=2 leaves exactly the last two there; a wrong password is an "auth" failure event and the archive
stays in the local backup folder; a server whose host key changed is refused (and trusted again only by its
new fingerprint); a missing remote folder and a refused connection are classified; e-mail: the archive
arrives attached and intact, a too big one is refused with an event.

The web server runs in this process (tests.support.browser.running_web); the schedule runs through
`schedule.run_due(..., force=True)` and the API's "run now" / "test destination".
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import pwd
import secrets as pysecrets
import shutil
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from appliance.auth import sessions
from tests.support.browser import admin_web
from tests.support.ports import free_port

ROOT = Path(__file__).resolve().parents[2]
SSHD = "/usr/sbin/sshd"
PASSPHRASE = "Sched-Phrase-7720-kilo"


class SftpServer:
    """sshd on 127.0.0.1:<free port>, password login for one user made here, internal-sftp only."""

    def __init__(self, base: Path):
        self.base = base
        self.port = free_port()
        self.user = f"pbxsftp{pysecrets.token_hex(3)}"
        self.password = f"Sftp-{pysecrets.token_hex(6)}"
        self.process: subprocess.Popen | None = None
        self.home: Path | None = None
        self.made_run_sshd = False
        self.user_made = False

    def setup(self) -> SftpServer:
        self.base.mkdir(parents=True, exist_ok=True)
        # a home in /tmp the user can reach (the test's own folders are root-only)
        self.home = Path(tempfile.mkdtemp(prefix="pbx-sftp-home-"))
        subprocess.run(["useradd", "-M", "-d", str(self.home), "-s", "/usr/sbin/nologin", self.user], check=True)
        self.user_made = True
        subprocess.run(["chpasswd"], input=f"{self.user}:{self.password}\n", text=True, check=True)
        entry = pwd.getpwnam(self.user)
        os.chown(self.home, entry.pw_uid, entry.pw_gid)
        os.chmod(self.home, 0o755)
        (self.home / "backups").mkdir()
        os.chown(self.home / "backups", entry.pw_uid, entry.pw_gid)
        (self.home / "readonly").mkdir()  # root's: the user cannot write there
        if not Path("/run/sshd").exists():  # sshd's privilege separation folder
            Path("/run/sshd").mkdir(mode=0o755)
            self.made_run_sshd = True
        self.new_host_key()
        return self

    def new_host_key(self) -> None:
        key = self.base / "host_key"
        key.unlink(missing_ok=True)
        Path(f"{key}.pub").unlink(missing_ok=True)
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
        self.fingerprint = subprocess.run(["ssh-keygen", "-l", "-f", f"{key}.pub"], check=True, capture_output=True,
                                          text=True).stdout.split()[1]

    def start(self) -> None:
        config = self.base / "sshd_config"
        config.write_text(f"""Port {self.port}
ListenAddress 127.0.0.1
HostKey {self.base / 'host_key'}
PidFile {self.base / 'sshd.pid'}
UsePAM no
PasswordAuthentication yes
KbdInteractiveAuthentication no
PubkeyAuthentication no
AuthorizedKeysFile none
PermitRootLogin no
AllowUsers {self.user}
StrictModes no
MaxAuthTries 3
LoginGraceTime 30
Subsystem sftp internal-sftp
ForceCommand internal-sftp
""")
        subprocess.run([SSHD, "-t", "-f", str(config)], check=True)
        log = open(self.base / "sshd.log", "ab")
        self.process = subprocess.Popen([SSHD, "-D", "-e", "-f", str(config)], stdout=log, stderr=log,
                                        stdin=subprocess.DEVNULL)
        log.close()
        import socket

        for _ in range(200):
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                if self.process.poll() is not None:
                    raise RuntimeError((self.base / "sshd.log").read_text()) from None
                time.sleep(0.05)
        raise RuntimeError("sshd did not listen")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(20)
        self.process = None

    def teardown(self) -> None:
        self.stop()
        if self.user_made:
            subprocess.run(["userdel", "-f", self.user], check=False)
        if self.home is not None:
            shutil.rmtree(self.home, ignore_errors=True)
        if self.made_run_sshd:
            shutil.rmtree("/run/sshd", ignore_errors=True)

    def files(self, folder: str = "backups") -> list[str]:
        return sorted(p.name for p in (self.home / folder).iterdir())


@pytest.fixture(scope="module")
def sftp_server(tmp_path_factory):
    server = SftpServer(tmp_path_factory.mktemp("sshd"))
    try:
        server.setup()
        server.start()
        yield server
    finally:
        server.teardown()
    with pytest.raises(KeyError):
        pwd.getpwnam(server.user)  # the fixture removed the user it made


@pytest.fixture(scope="module")
def web(tmp_path_factory):
    with admin_web(tmp_path_factory.mktemp("backupdest") / "data") as running:
        yield running


@pytest.fixture(autouse=True)
def no_lockout():
    yield
    sessions.clear_failures("127.0.0.1")


def _events(kind: str) -> list:
    from appliance.events.models import Event

    return list(Event.select().where(Event.kind == kind).order_by(Event.id))


def _local(settings) -> list[str]:
    from appliance.backup import service

    return sorted(f["name"] for f in service.list_files(settings))


def _cli_inspect(path: Path, tmp_path: Path) -> subprocess.CompletedProcess:
    phrase = tmp_path / "phrase"
    phrase.write_text(PASSPHRASE + "\n")
    return subprocess.run([sys.executable, "-m", "appliance.cli", "backup", "inspect", str(path), "--passphrase-file",
                           str(phrase), "--json"], cwd=ROOT, capture_output=True, text=True, timeout=180)


def test_scheduled_backups_go_to_the_sftp_server_and_failures_are_classified(web, sftp_server, tmp_path):
    from appliance.backup import schedule

    running, _, api = web
    settings = running.settings
    put = api.api("PUT", "/api/v1/backup/schedule", {
        "frequency": "daily", "hour": 3, "keep": 2, "parts": ["history"], "secrets": True, "passphrase": PASSPHRASE,
        "destination": "sftp", "sftp": {"host": "127.0.0.1", "port": sftp_server.port, "user": sftp_server.user,
                                        "password": sftp_server.password, "folder": "backups"}})
    assert put.status == 200, put.text
    assert put.json()["sftp"]["host_key_fingerprint"] is None

    # test the destination: connects, the folder is writable, the key is pinned on first use and shown
    tested = api.api("POST", "/api/v1/backup/schedule/test", {}).json()
    assert tested["ok"] is True and tested["pinned_now"] is True, tested
    assert tested["fingerprint"] == sftp_server.fingerprint
    shown = api.api("GET", "/api/v1/backup/schedule").json()["sftp"]
    assert shown["host_key_fingerprint"] == sftp_server.fingerprint and shown["host_key_type"] == "ssh-ed25519"
    assert _events("backup.host_key_pinned")[-1].details["fingerprint"] == sftp_server.fingerprint
    assert sftp_server.files() == []  # the test wrote nothing that stays

    # three scheduled runs with keep=2: the last two are on the server, byte for byte, none left locally
    made = []
    for day in range(3):
        outcome = schedule.run_due(settings, dt.datetime(2026, 10, 23 + day, 2, 30), force=True)
        assert outcome["status"] == "ok", outcome
        assert outcome["kept_locally"] is False
        made.append(outcome["file"])
    assert sftp_server.files() == made[1:]
    assert _local(settings) == []
    assert [e.details["file"] for e in _events("backup.scheduled")] == made
    remote = sftp_server.home / "backups" / made[-1]
    # only the backup user can read the archives there (the server's default would be 0644)
    assert all(stat.S_IMODE((sftp_server.home / "backups" / n).stat().st_mode) == 0o600 for n in made[1:])
    inspected = _cli_inspect(remote, tmp_path)
    assert inspected.returncode == 0, inspected.stderr
    assert '"verified": true' in inspected.stdout and '"history"' in inspected.stdout
    # byte for byte what the run made: its SHA-256 (computed on the local archive before the upload) is in the event
    digest = hashlib.sha256(remote.read_bytes()).hexdigest()
    assert digest == _events("backup.scheduled")[-1].details["sha256"] == outcome["sha256"]

    # a wrong password: an "auth" failure, the archive stays in the local backup folder, the server unchanged
    assert api.api("PUT", "/api/v1/backup/schedule", {"sftp": {"password": "wrong-password"}}).status == 200
    outcome = schedule.run_due(settings, dt.datetime(2026, 10, 27, 2, 30), force=True)
    assert outcome["status"] == "failed" and outcome["reason"] == "auth", outcome
    assert _local(settings) == [outcome["file"]] and sftp_server.files() == made[1:]
    failed = _events("backup.schedule_failed")[-1]
    assert failed.details["reason"] == "auth" and failed.severity == "alert"
    assert "kept in the backup folder" in failed.message
    assert api.api("GET", "/api/v1/backup/schedule").json()["last_status"] == "failed"
    assert api.api("PUT", "/api/v1/backup/schedule", {"sftp": {"password": sftp_server.password}}).status == 200

    # a remote folder that does not exist, one the user cannot write
    assert api.api("PUT", "/api/v1/backup/schedule", {"sftp": {"folder": "nowhere"}}).status == 200
    tested = api.api("POST", "/api/v1/backup/schedule/test", {}).json()
    assert tested["ok"] is False and tested["reason"] == "remote_folder_missing", tested
    assert api.api("PUT", "/api/v1/backup/schedule", {"sftp": {"folder": "readonly"}}).status == 200
    outcome = schedule.run_due(settings, dt.datetime(2026, 10, 28, 2, 30), force=True)
    assert outcome["status"] == "failed" and outcome["reason"] == "permission", outcome
    assert api.api("PUT", "/api/v1/backup/schedule", {"sftp": {"folder": "backups"}}).status == 200

    # the server's host key changes: refused before the password is sent, the archive stays local
    sftp_server.stop()
    old_fingerprint = sftp_server.fingerprint
    sftp_server.new_host_key()
    sftp_server.start()
    local_before = _local(settings)
    outcome = schedule.run_due(settings, dt.datetime(2026, 10, 29, 2, 30), force=True)
    assert outcome["status"] == "failed" and outcome["reason"] == "host_key_changed", outcome
    assert old_fingerprint in outcome["message"] and sftp_server.fingerprint in outcome["message"]
    # kept locally; the backup folder holds at most `keep` scheduled archives (the newest)
    assert _local(settings) == sorted([*local_before, outcome["file"]])[-2:] and sftp_server.files() == made[1:]
    failed = _events("backup.schedule_failed")[-1]
    assert failed.details["reason"] == "host_key_changed" and failed.details["presented"] == sftp_server.fingerprint
    assert "Accepted password" not in (sftp_server.base / "sshd.log").read_text().split("Server listening")[-1]
    tested = api.api("POST", "/api/v1/backup/schedule/test", {}).json()
    assert tested["ok"] is False and tested["reason"] == "host_key_changed"
    assert tested["pinned"] == old_fingerprint and tested["presented"] == sftp_server.fingerprint
    wrong = api.api("POST", "/api/v1/backup/schedule/test", {"trust_fingerprint": old_fingerprint}).json()
    assert wrong["ok"] is False and wrong["reason"] == "host_key_changed"
    # the admin checks the new fingerprint and trusts it: the next run goes through
    trusted = api.api("POST", "/api/v1/backup/schedule/test", {"trust_fingerprint": sftp_server.fingerprint}).json()
    assert trusted["ok"] is True, trusted
    assert api.api("GET", "/api/v1/backup/schedule").json()["sftp"]["host_key_fingerprint"] == sftp_server.fingerprint
    started = api.api("POST", "/api/v1/backup/schedule/run", {})
    assert started.status == 202
    schedule.wait_now(180)
    got = api.api("GET", "/api/v1/backup/schedule").json()
    assert got["last_status"] == "ok", got
    assert sftp_server.files() == [made[-1], got["last_file"]]  # the run now is the newest

    # nothing answers on the port: a network failure
    sftp_server.stop()
    try:
        outcome = schedule.run_due(settings, dt.datetime(2026, 10, 30, 2, 30), force=True)
        assert outcome["status"] == "failed" and outcome["reason"] == "network", outcome
    finally:
        sftp_server.start()
    # a name that does not resolve (tests run with a DNS server that answers NXDOMAIN for every name)
    assert api.api("PUT", "/api/v1/backup/schedule", {"sftp": {"host": "backup.invalid",
                                                               "password": sftp_server.password}}).status == 200
    tested = api.api("POST", "/api/v1/backup/schedule/test", {}).json()
    assert tested["ok"] is False and tested["reason"] == "dns", tested


def test_two_appliances_share_an_sftp_folder_and_each_prunes_only_its_own(web, sftp_server):
    from appliance.backup import destinations, schedule

    running, _, api = web
    settings = running.settings
    shared = sftp_server.home / "shared"
    shared.mkdir()
    entry = pwd.getpwnam(sftp_server.user)
    os.chown(shared, entry.pw_uid, entry.pw_gid)
    put = api.api("PUT", "/api/v1/backup/schedule", {
        "keep": 1, "destination": "sftp", "sftp": {"host": "127.0.0.1", "port": sftp_server.port,
                                                   "user": sftp_server.user, "password": sftp_server.password,
                                                   "folder": "shared"}})
    assert put.status == 200, put.text
    me = destinations.identity(settings)
    # another appliance's archive (same second as our first), one of before the names said whose, transfer files of
    # runs killed mid-way: ours (no run of ours holds the lock), an old one, a fresh one of the other appliance
    theirs = "scheduled-pbx-0badf00d-20261101-030000.pbxbak"
    before = "scheduled-20261001-030000.pbxbak"
    mine_left = f".scheduled-{me}-20261101-020000.pbxbak.partial"
    old_left = ".scheduled-pbx-0badf00d-20261001-030000.pbxbak.partial"
    their_left = ".scheduled-pbx-0badf00d-20261102-030000.pbxbak.partial"
    for name in (theirs, before, mine_left, old_left, their_left):
        (shared / name).write_bytes(b"x")
    os.utime(shared / old_left, (time.time() - 7200, time.time() - 7200))
    made = [schedule.run_due(settings, dt.datetime(2026, 11, 1, 3, minute), force=True) for minute in range(2)]
    assert [m["status"] for m in made] == ["ok", "ok"], made
    assert made[0]["file"] == f"scheduled-{me}-20261101-030000.pbxbak" and made[1]["removed"] == [made[0]["file"]]
    assert sftp_server.files("shared") == sorted([made[1]["file"], theirs, before, their_left])
    assert stat.S_IMODE((shared / made[1]["file"]).stat().st_mode) == 0o600
    # as the test before left it (the browser test pins the key itself)
    assert api.api("PUT", "/api/v1/backup/schedule", {"sftp": {"host": "backup.invalid", "folder": "backups",
                                                               "password": sftp_server.password}}).status == 200


def test_scheduled_backups_by_email_arrive_attached_and_too_big_ones_are_refused(web, tmp_path):
    from appliance.backup import schedule
    from appliance.mail import outbox, profiles
    from appliance.mail.sender import Sender
    from tests.support.smtp import SmtpServer

    running, _, api = web
    settings = running.settings
    for name in _local(settings):  # what the SFTP test left behind
        (settings.data_dir / "backups" / name).unlink(missing_ok=True)
    with SmtpServer() as smtp:
        profiles.create_profile({"name": "office", "sender": "pbx@dupont.example", "server": "127.0.0.1",
                                 "port": smtp.port, "security": "none"})
        put = api.api("PUT", "/api/v1/backup/schedule", {
            "keep": 2, "parts": [], "secrets": True, "passphrase": PASSPHRASE, "destination": "email",
            "email": {"to": ["it@dupont.example", "boss@dupont.example"], "profile": "office", "max_mb": 1}})
        assert put.status == 200, put.text
        assert api.api("POST", "/api/v1/backup/schedule/test", {}).json()["ok"] is True

        outcome = schedule.run_due(settings, dt.datetime(2026, 10, 1, 2, 30), force=True)
        assert outcome["status"] == "ok", outcome
        local = settings.data_dir / "backups" / outcome["file"]
        assert outcome["kept_locally"] is True and local.is_file()  # kept until the mail is sent
        [queued] = outbox.find("backup", outcome["file"])
        assert queued["state"] == "queued"
        assert Sender().run_once() == 1
        [message] = smtp.wait_for(1)
        assert sorted(smtp.envelopes[0][1]) == ["boss@dupont.example", "it@dupont.example"]
        assert outcome["file"] in message["Subject"]
        [attachment] = list(message.iter_attachments())
        assert attachment.get_filename() == outcome["file"]
        data = attachment.get_payload(decode=True)
        assert data == local.read_bytes()
        assert hashlib.sha256(data).hexdigest() == outcome["sha256"]
        received = tmp_path / outcome["file"]
        received.write_bytes(data)
        inspected = _cli_inspect(received, tmp_path)
        assert inspected.returncode == 0 and '"verified": true' in inspected.stdout, inspected.stderr
        assert outbox.status(queued["id"])["state"] == "sent"

        # the next run removes the local copy of the archive that was sent
        second = schedule.run_due(settings, dt.datetime(2026, 10, 2, 2, 30), force=True)
        assert second["status"] == "ok", second
        assert _local(settings) == [second["file"]]

        # an archive over the limit: not mailed, an event says why, the archive stays in the backup folder
        big = settings.sounds_dir / "custom" / "noise.raw"
        big.parent.mkdir(parents=True, exist_ok=True)
        big.write_bytes(os.urandom(1_600_000))
        try:
            refused = schedule.run_due(settings, dt.datetime(2026, 10, 3, 2, 30), force=True)
        finally:
            big.unlink()
        assert refused["status"] == "failed" and refused["reason"] == "too_big", refused
        assert "1 MB" in refused["message"]
        assert outbox.find("backup", refused["file"]) == []
        assert refused["file"] in _local(settings)
        failed = _events("backup.schedule_failed")[-1]
        assert failed.details["reason"] == "too_big" and failed.details["limit"] == 1024 * 1024
        assert failed.details["size"] > 1024 * 1024
        assert len(smtp.messages) == 1
        api.api("PUT", "/api/v1/backup/schedule", {"destination": "folder"})
        profiles.delete_profile("office")


def test_in_a_browser_the_admin_sets_an_sftp_destination_tests_it_and_runs_it_now(web, sftp_server):
    from playwright.sync_api import expect, sync_playwright

    from tests.support.browser import browser_login, launch_chromium

    running, _, api = web
    before = set(sftp_server.files())
    errors: list[str] = []
    with sync_playwright() as p:
        browser = launch_chromium(p)
        try:
            page = browser.new_context(locale="en-US").new_page()
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            browser_login(page, running.url)
            page.goto(running.url + "/settings/backup")
            expect(page.locator("#sftp-host")).to_be_hidden()  # only the chosen destination's fields show
            page.select_option("#destination", "sftp")
            expect(page.locator("#sftp-host")).to_be_visible()
            expect(page.locator("#email-to")).to_be_hidden()
            page.fill("#sftp-host", "127.0.0.1")
            page.fill("#sftp-port", "70000")
            page.fill("#sftp-user", sftp_server.user)
            page.fill("#sftp-password", sftp_server.password)
            page.fill("#sftp-folder", "backups")
            page.fill("#sched-passphrase", PASSPHRASE)
            page.click("#save-schedule")
            expect(page.locator('[data-field="sched_sftp_port"]')).to_contain_text("65535")
            page.fill("#sftp-port", str(sftp_server.port))
            page.fill("#sftp-password", sftp_server.password)
            page.fill("#sched-passphrase", PASSPHRASE)
            page.click("#save-schedule")
            expect(page.locator(".notice").first).to_contain_text("Backup schedule saved")
            expect(page.locator("#sftp-host")).to_have_value("127.0.0.1")
            page.click("#test-destination")
            result = page.locator("#schedule-result")
            expect(result).to_contain_text("The destination works", timeout=30000)
            expect(result).to_contain_text(sftp_server.fingerprint)
            expect(result).to_contain_text("pinned now")
            page.click("#run-schedule-now")
            expect(result).to_contain_text("Done:", timeout=120000)
            expect(page.locator("#schedule-last")).to_contain_text("sent to sftp://")
        finally:
            browser.close()
    assert errors == []
    new = set(sftp_server.files()) - before
    assert len(new) == 1 and api.api("GET", "/api/v1/backup/schedule").json()["last_file"] in new
    assert api.api("PUT", "/api/v1/backup/schedule", {"destination": "folder"}).status == 200
