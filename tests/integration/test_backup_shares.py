"""Scheduled backups onto a REAL SMB share: Samba's smbd on a free loopback port (its own smb.conf, passdb
and folders under the test's tmp folder; stopped after), reached through storage.shares' smbclient client.

Shown: the share is added and tested through the API; three scheduled runs with keep=2 leave exactly the
last two archives in the share's folder, byte for byte what each run made (SHA-256 in its event), and
`appliance backup inspect` accepts the copy; a wrong password is an "auth" failure that keeps the archive
in the local backup folder and changes nothing on the share.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.browser import admin_web
from tests.support.fileservers import SMB_PASSWORD, SMB_USER, SambaServer

ROOT = Path(__file__).resolve().parents[2]
PASSPHRASE = "Share-Sched-Phrase-5531"


@pytest.fixture(scope="module")
def samba(tmp_path_factory):
    with SambaServer(tmp_path_factory.mktemp("smbd")) as server:
        yield server


@pytest.fixture(scope="module")
def web(tmp_path_factory):
    with admin_web(tmp_path_factory.mktemp("backupshares") / "data") as (running, _, api):
        yield running, api


def _events(kind: str) -> list:
    from appliance.events.models import Event

    return list(Event.select().where(Event.kind == kind).order_by(Event.id))


def _local(settings) -> list[str]:
    from appliance.backup import service

    return sorted(f["name"] for f in service.list_files(settings))


def test_scheduled_backups_land_on_a_real_smb_share_and_keep_the_last_two(web, samba, tmp_path):
    from appliance.backup import schedule

    running, api = web
    settings = running.settings
    added = api.api("POST", "/api/v1/storage/shares", {
        "name": "office", "protocol": "smb", "server": samba.server, "share": "backups", "folder": "pbx/nightly",
        "username": SMB_USER, "password": SMB_PASSWORD})
    assert added.status == 201, added.text
    tested = api.api("POST", "/api/v1/storage/shares/office/test").json()
    assert tested["ok"] is True, tested
    put = api.api("PUT", "/api/v1/backup/schedule", {
        "frequency": "daily", "hour": 3, "keep": 2, "parts": ["history"], "secrets": True, "passphrase": PASSPHRASE,
        "destination": "share", "share": {"name": "office"}})
    assert put.status == 200, put.text
    assert api.api("POST", "/api/v1/backup/schedule/test", {}).json()["ok"] is True

    folder = samba.backups / "pbx" / "nightly"
    made = []
    for day in range(3):
        outcome = schedule.run_due(settings, dt.datetime(2026, 11, 2 + day, 2, 30), force=True)
        assert outcome["status"] == "ok", outcome
        made.append(outcome["file"])
        digest = hashlib.sha256((folder / outcome["file"]).read_bytes()).hexdigest()
        assert digest == outcome["sha256"] == _events("backup.scheduled")[-1].details["sha256"]
    assert sorted(p.name for p in folder.iterdir()) == sorted(made[1:])    # keep=2: the last two, nothing else
    assert _local(settings) == []
    phrase = tmp_path / "phrase"
    phrase.write_text(PASSPHRASE + "\n")
    inspected = subprocess.run([sys.executable, "-m", "appliance.cli", "backup", "inspect", str(folder / made[-1]),
                                "--passphrase-file", str(phrase), "--json"], cwd=ROOT, capture_output=True, text=True,
                               timeout=180)
    assert inspected.returncode == 0, inspected.stderr
    assert '"verified": true' in inspected.stdout

    # the share's password changed on the server side: an "auth" failure, the archive kept locally
    assert api.api("PUT", "/api/v1/storage/shares/office", {"password": "Not-The-Password"}).status == 200
    outcome = schedule.run_due(settings, dt.datetime(2026, 11, 5, 2, 30), force=True)
    assert outcome["status"] == "failed" and outcome["reason"] == "auth", outcome
    assert "refused the user name or password" in outcome["message"]
    assert _local(settings) == [outcome["file"]]
    assert sorted(p.name for p in folder.iterdir()) == sorted(made[1:])
    assert not list(settings.run_dir.glob("*.auth"))                         # no authentication file left
