"""`appliance backup create|inspect|restore|support-bundle` as scripts run them: the real CLI in a subprocess.

A data folder populated through the services is backed up, restored onto a fresh one (a factory reset)
and compared; damaged, foreign, newer archives and a wrong passphrase end with status 1, the reason on
stderr and the data folder unchanged. Then the same CLI restores onto a running appliance, whose
supervisor restarts every service: the restored user is back, in the API and for a phone registering.
"""

from __future__ import annotations

import io
import json
import os
import sqlite3
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import pytest

from appliance.backup import bundle
from appliance.settings import Settings
from appliance.store import migrations
from tests.support.stack import NEW_ADMIN_PASSWORD, Stack, StackApi
from tests.unit.test_backup import (
    PASSPHRASE,
    SIP_PASSWORD,
    SMTP_PASSWORD,
    TRUNK_PASSWORD,
    data_hashes,
    media_hashes,
    open_box,
    populate,
    shut,
)

ROOT = Path(__file__).resolve().parents[2]
ENV_NAME = "APPLIANCE_BACKUP_PASSPHRASE"


def cli(*args: str, passphrase_env: str | None = None, stdin: str | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != ENV_NAME}
    if passphrase_env is not None:
        env[ENV_NAME] = passphrase_env
    return subprocess.run([sys.executable, "-m", "appliance.cli", "backup", *args], cwd=ROOT, env=env,
                          input=stdin if stdin is not None else "", capture_output=True, text=True, timeout=180)


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    """A populated data folder (store closed, as on a stopped appliance) and a passphrase file."""
    base = tmp_path_factory.mktemp("backupcli")
    settings = Settings(data_dir=base / "source")
    open_box(settings)
    found = populate(settings)
    every_secret = bundle.collect_secrets(settings)
    shut()
    phrase = base / "passphrase"
    phrase.write_text(PASSPHRASE + "\n")
    phrase.chmod(0o600)
    return settings, found, phrase, every_secret


@pytest.fixture(scope="module")
def full_archive(source):
    settings, _, phrase, _ = source
    out = settings.data_dir.parent / "full.pbxbak"
    done = cli("create", "--data-dir", str(settings.data_dir), "--output", str(out), "--all",
               "--passphrase-file", str(phrase))
    assert done.returncode == 0, done.stderr
    assert "backup written" in done.stderr
    return out


def test_create_refuses_secrets_without_a_passphrase(source, tmp_path):
    settings, _, _, _ = source
    out = tmp_path / "x.pbxbak"
    done = cli("create", "--data-dir", str(settings.data_dir), "--output", str(out))
    assert done.returncode == 1
    assert "refused (passphrase_required)" in done.stderr
    assert not out.exists() and not list(tmp_path.glob(".*partial"))
    short = cli("create", "--data-dir", str(settings.data_dir), "--output", str(out), passphrase_env="short")
    assert short.returncode == 1 and "passphrase_too_short" in short.stderr
    nothing = cli("create", "--data-dir", str(tmp_path / "empty"), "--output", str(out), passphrase_env=PASSPHRASE)
    assert nothing.returncode == 1 and "no appliance data" in nothing.stderr


def test_inspect_says_what_the_archive_holds(full_archive, source):
    _, found, phrase, _ = source
    text = cli("inspect", str(full_archive), "--passphrase-file", str(phrase))
    assert text.returncode == 0, text.stderr
    assert "every checksum matches" in text.stdout and "3 users" in text.stdout and "1 trunks" in text.stdout
    assert "config, sounds, voicemail, recordings, history" in text.stdout
    data = cli("inspect", str(full_archive), "--json", passphrase_env=PASSPHRASE)
    info = json.loads(data.stdout)
    assert info["verified"] and info["summary"]["voicemail_messages"] == 1 and info["summary"]["calls"] == 1
    assert info["schema_version"] == len(migrations.MIGRATIONS)
    piped = cli("inspect", str(full_archive), "--quick", "--passphrase-file", "-", stdin=PASSPHRASE + "\n")
    assert piped.returncode == 0 and "manifest only" in piped.stdout
    wrong = cli("inspect", str(full_archive), passphrase_env="a wrong passphrase")
    assert wrong.returncode == 1 and "refused (wrong_passphrase)" in wrong.stderr


def test_factory_reset_then_restore_gives_everything_back(full_archive, source, tmp_path):
    from appliance.trunks import service as trunks
    from appliance.users import service as users_service

    settings, found, phrase, _ = source
    fresh = Settings(data_dir=tmp_path / "fresh")
    done = cli("restore", str(full_archive), "--data-dir", str(fresh.data_dir), "--passphrase-file", str(phrase))
    assert done.returncode == 0, done.stderr
    assert "restored the backup of" in done.stdout
    assert "must restart: kamailio, callcore, web" in done.stdout  # nothing runs: the next start uses it
    assert media_hashes(fresh) == media_hashes(settings)
    open_box(fresh)
    try:
        for n, ext in enumerate(found["users"]):
            assert users_service.reveal_sip_password(users_service.get_user(ext)) == f"{SIP_PASSWORD}-{n}"
        assert trunks.password_of(trunks.get_trunk("provider")) == TRUNK_PASSWORD
    finally:
        shut()


def _flip(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 0x40]) + data[at + 1:]


def test_bad_archives_are_refused_and_change_nothing(full_archive, source, tmp_path):
    settings, _, phrase, _ = source
    target = Settings(data_dir=tmp_path / "target")
    assert cli("restore", str(full_archive), "--data-dir", str(target.data_dir),
               passphrase_env=PASSPHRASE).returncode == 0
    data = full_archive.read_bytes()
    random_tar = io.BytesIO()
    with tarfile.open(fileobj=random_tar, mode="w") as tar:
        info = tarfile.TarInfo("manifest.json")
        payload = b'{"format": "pbx-appliance-backup"}'
        info.size = len(payload)
        tar.addfile(info, io.BytesIO(payload))
    # an archive from a newer version: made from a store one schema ahead
    newer_dir = tmp_path / "newer"
    newer = Settings(data_dir=newer_dir)
    open_box(newer)
    shut()
    conn = sqlite3.connect(str(newer.db_path))
    conn.execute("INSERT INTO schema_version (version) VALUES (?)", (len(migrations.MIGRATIONS) + 1,))
    conn.commit()
    conn.close()
    newer_archive = tmp_path / "newer.pbxbak"
    made = cli("create", "--data-dir", str(newer_dir), "--output", str(newer_archive), passphrase_env=PASSPHRASE)
    assert made.returncode == 0, made.stderr
    cases = {
        "truncated": (data[: len(data) - 1000], PASSPHRASE),
        "corrupted": (_flip(data, len(data) // 2), PASSPHRASE),
        "wrong_passphrase": (data, "this is not the passphrase"),
        "foreign": (random_tar.getvalue(), PASSPHRASE),
        "newer_version": (newer_archive.read_bytes(), PASSPHRASE),
    }
    before = data_hashes(target)
    for reason, (blob, passphrase) in cases.items():
        path = tmp_path / f"{reason}.pbxbak"
        path.write_bytes(blob)
        done = cli("restore", str(path), "--data-dir", str(target.data_dir), passphrase_env=passphrase)
        assert done.returncode == 1, (reason, done.stdout, done.stderr)
        assert f"refused ({reason})" in done.stderr, done.stderr
        assert data_hashes(target) == before, reason
    missing = cli("restore", str(tmp_path / "nope.pbxbak"), "--data-dir", str(target.data_dir))
    assert missing.returncode == 1 and "no such file" in missing.stderr


def test_a_scheduled_run_meeting_another_says_busy_and_is_not_a_failure(source):
    """The image's timer runs `backup run-scheduled`; meeting a "run now" still running is not an error."""
    import fcntl

    from appliance.backup.schedule import _lock_path

    settings = source[0]
    path = _lock_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        done = cli("run-scheduled", "--force", "--data-dir", str(settings.data_dir))
    assert done.returncode == 0, done.stderr
    assert "busy: another run is in progress" in done.stdout


def test_support_bundle_has_no_secret(source, tmp_path):
    settings, _, _, every_secret = source
    out = tmp_path / "support.tar.gz"
    done = cli("support-bundle", "--data-dir", str(settings.data_dir), "--output", str(out))
    assert done.returncode == 0, done.stderr
    with tarfile.open(out, "r:gz") as tar:
        blob = b"".join(tar.extractfile(m).read() for m in tar if m.isfile())
    assert {SMTP_PASSWORD, TRUNK_PASSWORD} <= every_secret
    for secret in every_secret:
        assert secret.encode() not in blob


# -- onto a running appliance ----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    running = Stack(tmp_path_factory.mktemp("backuplive") / "data", spare_workers=1).start()
    yield running
    running.stop()


def _wait_api(stack: Stack, timeout: float = 60) -> StackApi:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        api = StackApi(stack.web_url)
        try:
            api.login("admin", NEW_ADMIN_PASSWORD)
            return api
        except (OSError, RuntimeError) as exc:
            last = exc
            time.sleep(0.5)
    raise AssertionError(f"the web UI did not come back after the restore: {last}")


def test_restore_onto_a_running_appliance_restarts_it_with_the_restored_configuration(stack, tmp_path):
    api = stack.admin_api()
    api.create_user("501", "Restored", "User", "Phone-Secret-Live-9x")
    out = tmp_path / "live.pbxbak"
    made = cli("create", "--data-dir", str(stack.settings.data_dir), "--output", str(out), passphrase_env=PASSPHRASE)
    assert made.returncode == 0, made.stderr  # a consistent copy of the live store
    status, _ = api.request("DELETE", "/api/v1/users/501")
    assert status == 204
    assert api.request("GET", "/api/v1/users/501")[0] == 404
    kamailio_before = stack.kamailio_pid()

    done = cli("restore", str(out), "--data-dir", str(stack.settings.data_dir), passphrase_env=PASSPHRASE)
    assert done.returncode == 0, done.stderr
    assert "restarting: kamailio, callcore, web" in done.stdout

    deadline = time.monotonic() + 30
    while stack.kamailio_pid() in (None, kamailio_before):  # the supervisor restarts every service
        assert time.monotonic() < deadline, "Kamailio was not restarted:\n" + "".join(stack.output[-20:])
        time.sleep(0.2)
    api = _wait_api(stack)
    status, user = api.request("GET", "/api/v1/users/501")
    assert status == 200 and user["first_name"] == "Restored"
    stack.wait_workers_dispatched(1)
    phone = stack.registered_phone("501", "Phone-Secret-Live-9x")  # Kamailio reads the restored credentials
    phone.close()
    assert stack.process.poll() is None
