"""Storage without real devices: the removable-storage policy, placement and verified moves, the fallback
while a volume is missing and the sweep once it is back, shares (validation, client commands, secrets,
real SMB and NFS servers, a clear failed test), system health (ports, firewall rules), and the Storage/Info pages and APIs by role.
Real loop devices are in tests/integration/test_storage.py.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from pathlib import Path

import pytest

from appliance.errors import Conflict, NotFound, ValidationError
from appliance.users import create_user
from storage import devices, health, history, mounts, placement, shares
from storage.devices import Device, LabPolicy, Partition, UsbPolicy
from tests.support.browser import STRONG, first_login, running_web

UUID = "0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0"


def _loop(tmp_path: Path, backing: Path, name: str = "loop3") -> Device:
    return Device(name=name, path=f"/dev/{name}", size_bytes=1 << 26, type="loop", backing_file=str(backing))


# -- which devices count as removable storage --------------------------------------------------------------

def test_lab_policy_takes_only_loop_devices_backed_by_a_file_of_the_lab_folder(tmp_path):
    lab = tmp_path / "data" / "lab-usb"
    lab.mkdir(parents=True)
    policy = LabPolicy(lab)
    assert policy.accepts(_loop(tmp_path, lab / "stick.img"))
    assert policy.accepts(_loop(tmp_path, lab / "sub" / "stick.img"))
    assert not policy.accepts(_loop(tmp_path, tmp_path / "elsewhere.img"))           # someone else's loop
    assert not policy.accepts(_loop(tmp_path, Path("/var/lib/snapd/snaps/core.snap")))
    assert not policy.accepts(_loop(tmp_path, lab / ".." / "escape.img"))
    assert not policy.accepts(Device(name="loop4", path="/dev/loop4", size_bytes=1, type="loop"))  # free loop
    going = _loop(tmp_path, lab / "stick.img")
    going.detaching = True                                                           # losetup -d while busy
    assert not policy.accepts(going)
    assert not policy.accepts(Device(name="sda", path="/dev/sda", size_bytes=1 << 40, type="disk",
                                     transport="usb", removable=True))                # a real disk, even USB


def test_usb_policy_takes_usb_or_removable_disks_never_one_holding_the_system():
    policy = UsbPolicy()
    stick = Device(name="sdb", path="/dev/sdb", size_bytes=16 << 30, type="disk", transport="usb")
    assert policy.accepts(stick)
    assert policy.accepts(Device(name="mmcblk0", path="/dev/mmcblk0", size_bytes=1, type="disk", removable=True))
    assert not policy.accepts(Device(name="sda", path="/dev/sda", size_bytes=1, type="disk", transport="sata"))
    assert not policy.accepts(Device(name="nvme0n1", path="/dev/nvme0n1", size_bytes=1, type="disk",
                                     transport="nvme"))
    assert not policy.accepts(Device(name="loop0", path="/dev/loop0", size_bytes=1, type="loop"))
    system = Device(name="sdc", path="/dev/sdc", size_bytes=1, type="disk", transport="usb",
                    partitions=[Partition(name="sdc1", path="/dev/sdc1", size_bytes=1, mountpoint="/")])
    assert not policy.accepts(system)


def test_the_settings_choose_the_policy_and_tests_may_inject_one(tmp_path):
    from appliance.settings import Settings

    lab = Settings(data_dir=tmp_path, lab=True)
    assert isinstance(devices.policy_for(lab), LabPolicy)
    assert devices.policy_for(lab).backing_dir == (tmp_path / "lab-usb").resolve()
    assert isinstance(devices.policy_for(Settings(data_dir=tmp_path, lab=False)), UsbPolicy)
    assert mounts.media_root(lab) == tmp_path / "media"
    assert mounts.media_root(Settings(data_dir=tmp_path, lab=False)) == Path("/media")
    fake = UsbPolicy()
    devices.set_policy(fake)
    try:
        assert devices.policy_for(lab) is fake
    finally:
        devices.set_policy(None)


def test_lsblk_output_is_read_into_devices_and_partitions():
    text = json.dumps({"blockdevices": [
        {"name": "sda", "path": "/dev/sda", "size": 500107862016, "type": "disk", "rm": False, "hotplug": False,
         "tran": "sata", "model": "Disk ", "children": [
             {"name": "sda1", "path": "/dev/sda1", "size": 1000, "type": "part"}]},
        {"name": "loop2", "path": "/dev/loop2", "size": 67108864, "type": "loop", "rm": False, "hotplug": False,
         "tran": None, "model": None},
        {"name": "sr0", "path": "/dev/sr0", "size": 1, "type": "rom"},
    ]})
    sda, loop2 = devices.parse_lsblk(text)
    assert (sda.name, sda.transport, sda.model, sda.size_bytes) == ("sda", "sata", "Disk", 500107862016)
    assert [(p.name, p.size_bytes) for p in sda.partitions] == [("sda1", 1000)]
    assert (loop2.type, loop2.partitions, loop2.transport) == ("loop", [], "")


@pytest.mark.parametrize("label", ["", "x" * 17, "-dash", "has space", "slash/", "é"])
def test_a_bad_volume_label_is_refused_naming_the_field(label):
    with pytest.raises(ValidationError) as caught:
        mounts.check_label(label)
    assert caught.value.field == "label"


# -- placement, moves, fallback, sweep ------------------------------------------------------------------------

@pytest.fixture
def volume(store, monkeypatch):
    """A volume "STICK" known to the store, "present" when the test says so (a folder stands in for the mount)."""
    from storage.models import Volume

    Volume.create(uuid=UUID, label="STICK", size_bytes=1 << 30)
    state = {"present": True}
    monkeypatch.setattr(mounts, "is_present", lambda settings, label, uuid: state["present"] and uuid == UUID)
    mounts.data_root(store, "STICK").mkdir(parents=True)
    return state


def _place(kind: str, uuid: str) -> None:
    from storage.models import Placement

    Placement.update(volume_uuid=uuid).where(Placement.kind == kind).execute()


def _tree(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_every_kind_lives_internally_until_placed(store):
    from appliance.backup import service as backup_service
    from appliance.recordings import service as recordings_service
    from appliance.voicemail import storage as voicemail_storage

    assert set(placement.KINDS) == {"voicemail", "recordings", "call_history", "backups"}
    assert voicemail_storage.root(store) == store.data_dir / "voicemail"
    assert recordings_service.folder(store) == store.data_dir / "recordings"
    assert backup_service.folder(store) == store.data_dir / "backups"
    assert history.folder(store) == store.data_dir / "call-history"
    assert all(s["location"] == "internal" and s["state"] == "ok" for s in placement.states(store))


def test_each_kinds_home_follows_its_placement_and_falls_back_while_the_volume_is_missing(store, volume):
    from appliance.recordings import service as recordings_service
    from appliance.voicemail import storage as voicemail_storage

    _place("voicemail", UUID)
    _place("recordings", UUID)
    on_stick = store.data_dir / "media" / "STICK" / "appliance"
    assert voicemail_storage.root(store) == on_stick / "voicemail"
    assert recordings_service.folder(store) == on_stick / "recordings"
    volume["present"] = False
    assert voicemail_storage.root(store) == store.data_dir / "voicemail"
    assert recordings_service.folder(store) == store.data_dir / "recordings"
    assert placement.missing_volumes(store) == {"STICK": ["voicemail", "recordings"]}
    assert placement.state(store, "voicemail")["state"] == "missing"


def test_a_move_copies_verifies_switches_then_removes_the_old_copy(store, volume):
    internal = store.data_dir / "voicemail"
    (internal / "1").mkdir(parents=True)
    (internal / "1" / "msg-a.wav").write_bytes(b"RIFF" + bytes(range(256)) * 40)
    (internal / "1" / "greeting-busy.wav").write_bytes(b"RIFF greeting")
    (internal / "1" / ".tmp" / "x").mkdir(parents=True)        # a recording in progress is not moved
    for path in internal.rglob("*.wav"):
        os.utime(path, (1_700_000_000, 1_700_000_000))        # finished long ago
    before = _tree(internal)
    plan = placement.check_move(store, "voicemail", UUID)
    assert plan["files"] == 2
    steps = []
    result = placement.move(store, plan, lambda p, s: steps.append(p))
    target = store.data_dir / "media" / "STICK" / "appliance" / "voicemail"
    assert _tree(target) == {k: v for k, v in before.items()}
    assert result["files"] == 2 and result["left"] == []
    assert not list(internal.rglob("*.wav"))
    assert steps[-1] == 100 and steps == sorted(steps)
    assert placement.folder(store, "voicemail") == target
    with pytest.raises(ValidationError) as caught:
        placement.check_move(store, "voicemail", UUID)
    assert caught.value.field == "volume_uuid"
    # ... and back again.
    placement.move(store, placement.check_move(store, "voicemail", ""))
    assert _tree(internal) == before
    assert not list(target.rglob("*.wav"))


def test_a_file_still_being_written_is_waited_for_and_never_removed_half_copied(store, volume, monkeypatch):
    internal = store.data_dir / "recordings"
    internal.mkdir()
    (internal / "done.wav").write_bytes(b"finished")
    os.utime(internal / "done.wav", (1_700_000_000, 1_700_000_000))        # finished long ago
    busy = internal / "live.wav"
    busy.write_bytes(b"part one")
    monkeypatch.setattr(placement, "FINAL_WAIT_S", 0.0)
    result = placement.move(store, placement.check_move(store, "recordings", UUID))
    assert result["left"] == ["live.wav: still being written, left where it is"]
    assert busy.read_bytes() == b"part one"                                    # not removed
    assert not (internal / "done.wav").exists()
    assert (store.data_dir / "media" / "STICK" / "appliance" / "recordings" / "done.wav").read_bytes() == b"finished"


def test_a_copy_that_does_not_verify_moves_nothing(store, volume, monkeypatch):
    internal = store.data_dir / "recordings"
    (internal / "2026" / "11").mkdir(parents=True)
    for n in range(3):
        (internal / "2026" / "11" / f"call-{n}.wav").write_bytes(b"x" * (n + 1) * 1000)
    before = _tree(internal)
    real = placement.sha256
    monkeypatch.setattr(placement, "sha256", lambda p: "bad" if p.name == "call-1.wav" and "media" in str(p)
                        else real(p))
    with pytest.raises(Conflict) as caught:
        placement.move(store, placement.check_move(store, "recordings", UUID))
    assert "call-1.wav" in caught.value.message
    assert _tree(internal) == before
    assert placement.state(store, "recordings")["location"] == "internal"
    assert not list((store.data_dir / "media").rglob("*.wav"))


def test_moves_are_refused_clearly(store, volume):
    with pytest.raises(NotFound):
        placement.check_move(store, "photos", "")
    with pytest.raises(ValidationError) as caught:
        placement.check_move(store, "voicemail", "no-such-volume")
    assert caught.value.field == "volume_uuid"
    with pytest.raises(ValidationError):
        placement.check_move(store, "voicemail", 5)
    _place("voicemail", UUID)
    volume["present"] = False
    with pytest.raises(Conflict) as missing:
        placement.check_move(store, "voicemail", "")
    assert "missing" in missing.value.message


def test_files_written_internally_while_missing_are_swept_onto_the_volume_once_back(store, volume):
    _place("voicemail", UUID)
    _place("call_history", UUID)
    on_stick = store.data_dir / "media" / "STICK" / "appliance"
    (on_stick / "voicemail" / "1").mkdir(parents=True)
    (on_stick / "voicemail" / "1" / "msg-old.wav").write_bytes(b"old")
    (on_stick / "call-history").mkdir(parents=True)
    (on_stick / "call-history" / "calls-2026-11.csv").write_text("id,call_id\n1,a\n")
    volume["present"] = False
    fallback = store.data_dir / "voicemail" / "1"
    fallback.mkdir(parents=True)
    (fallback / "msg-new.wav").write_bytes(b"new while missing")
    (store.data_dir / "call-history").mkdir()
    (store.data_dir / "call-history" / "calls-2026-11.csv").write_text("id,call_id\n2,b\n")
    assert placement.sweep(store, "voicemail") == 0                      # still missing: stays
    volume["present"] = True
    import time

    assert placement.sweep(store, "voicemail", now=time.time()) == 0     # just written: waits to settle
    assert placement.sweep(store, "voicemail", now=time.time() + 60) == 1
    assert placement.sweep(store, "call_history", now=time.time() + 60) == 1
    assert (on_stick / "voicemail" / "1" / "msg-new.wav").read_bytes() == b"new while missing"
    assert (on_stick / "voicemail" / "1" / "msg-old.wav").read_bytes() == b"old"
    assert not (fallback / "msg-new.wav").exists()
    assert (on_stick / "call-history" / "calls-2026-11.csv").read_text() == "id,call_id\n1,a\n2,b\n"


def test_the_daemon_logs_a_placed_volume_missing_once_and_back_once(store, volume):
    from appliance.events.models import Event
    from storage.watcher import StorageDaemon

    _place("recordings", UUID)
    daemon = StorageDaemon(store)
    daemon._missing_or_back()
    assert Event.select().where(Event.kind.startswith("storage.")).count() == 0
    volume["present"] = False
    daemon._missing_or_back()
    daemon._missing_or_back()
    [missing] = Event.select().where(Event.kind == "storage.missing")
    assert (missing.subject, missing.severity) == ("STICK", "alert") and "call recordings" in missing.message
    assert daemon.snapshot()["missing"] == ["STICK"]
    volume["present"] = True
    daemon._missing_or_back()
    daemon._missing_or_back()
    [back] = Event.select().where(Event.kind == "storage.back")
    assert back.subject == "STICK" and daemon.snapshot()["missing"] == []


def test_finished_calls_are_appended_to_the_monthly_call_history_file_once(store):
    import datetime as dt

    from appliance.cdr import Cdr

    start = dt.datetime(2026, 11, 3, 9, 0)
    Cdr.create(call_id="c1", caller="201", callee="202", start=start, end=start + dt.timedelta(seconds=30),
               disposition="answered", billsec=30)
    Cdr.create(call_id="c2", caller="201", callee="203", start=start, end=None)        # still up
    Cdr.create(call_id="c3", caller="202", callee="201", start=start, end=start, disposition="busy")
    assert history.export(store) == 1
    assert history.export(store) == 0
    Cdr.update(end=start + dt.timedelta(seconds=5), disposition="answered").where(Cdr.call_id == "c2").execute()
    assert history.export(store) == 2
    lines = (store.data_dir / "call-history" / "calls-2026-11.csv").read_text().splitlines()
    assert lines[0].startswith("id,call_id,start") and [line.split(",")[1] for line in lines[1:]] == ["c1", "c2", "c3"]


# -- shares -------------------------------------------------------------------------------------------------------

SMB = {"name": "nas", "protocol": "smb", "server": "nas.office.lan", "share": "backups", "folder": "pbx",
       "username": "pbx", "password": "S3cret-Share-Pw", "domain": "OFFICE"}


@pytest.fixture(scope="module")
def samba(tmp_path_factory):
    """A real smbd on a free loopback port (its own smb.conf, passdb and folders; stopped after)."""
    from tests.support.fileservers import SambaServer

    with SambaServer(tmp_path_factory.mktemp("smbd")) as server:
        yield server


@pytest.fixture(scope="module")
def ganesha(tmp_path_factory):
    """A real NFS-Ganesha (NFSv4, userspace) on a free loopback port exporting a test folder as /export."""
    from tests.support.fileservers import GaneshaServer

    with GaneshaServer(tmp_path_factory.mktemp("ganesha")) as server:
        yield server


def _smb_share(samba, **change) -> dict:
    from tests.support.fileservers import SMB_PASSWORD, SMB_USER

    return {"name": "office", "protocol": "smb", "server": samba.server, "share": "backups", "folder": "pbx/daily",
            "username": SMB_USER, "password": SMB_PASSWORD, **change}


def test_a_share_password_is_encrypted_at_rest_and_never_shown(store):
    shown = shares.create(SMB)
    assert "password" not in shown and shown["has_password"] is True
    raw = sqlite3.connect(str(store.db_path)).execute("SELECT password_enc FROM storage_share").fetchone()[0]
    assert raw and "S3cret" not in raw
    assert "S3cret" not in json.dumps(shares.list_shares())
    assert shown["location"] == "//nas.office.lan/backups/pbx"
    # smbclient reads it from a 0600 authentication file that lives only for one operation
    from storage.models import Share

    with shares._smb_auth(store, Share.get(Share.name == "nas")) as auth:
        assert os.stat(auth).st_mode & 0o777 == 0o600 and Path(auth).parent == store.run_dir
        assert Path(auth).read_text() == "username=pbx\npassword=S3cret-Share-Pw\ndomain=OFFICE\n"
    assert not Path(auth).exists()


def test_client_commands_are_argument_lists_and_carry_no_user_text_in_the_command_string(store):
    from storage.models import Share

    smb = Share(**{k: v for k, v in SMB.items() if k != "password"}, version="3.1.1")
    assert shares.smb_argv(smb, "/run/a.auth", "ls") == [
        "smbclient", "//nas.office.lan/backups", "-A", "/run/a.auth", "-m", "SMB3_11", "-t", "20", "-D", "pbx",
        "-c", "ls"]
    ported = Share(protocol="smb", server="[fd00::5]:4450", share="Team Files", folder="", username="", version="2.0")
    assert shares.smb_argv(ported, None, "put - .a.part") == [
        "smbclient", "//fd00::5/Team Files", "-N", "-U", "%", "-p", "4450", "-m", "SMB2_02", "-t", "20",
        "-c", "put - .a.part"]
    # what smbclient would split or run is never put in its command string, whoever asks
    for bad in ("rm a;rm b", 'rm a"b', "rm a\nb", "rm ../x", "rm a b"):
        with pytest.raises(shares.ShareError):
            shares.smb_argv(smb, None, bad)
    nfs = Share(protocol="nfs", server="10.1.2.3", share="/srv/pbx", folder="daily", version="4")
    assert shares.nfs_url(nfs, "daily/.x.part") == "nfs://10.1.2.3/srv/pbx/daily/.x.part?version=4"
    assert shares.location(nfs) == "nfs://10.1.2.3/srv/pbx/daily?version=4"
    v3 = Share(protocol="nfs", server="nas.lan:2050", share="/export/", folder="", version="3")
    assert shares.nfs_url(v3) == "nfs://nas.lan/export?version=3&nfsport=2050"


BAD_SHARES = [
    ({"name": "Bad Name"}, "name"), ({"protocol": "ftp"}, "protocol"), ({"server": ""}, "server"),
    ({"server": "nas;reboot"}, "server"), ({"server": "nas:99999"}, "server"), ({"server": "nas:4x5"}, "server"),
    ({"server": "nas:²"}, "server"), ({"server": "[nas]:445"}, "server"),
    ({"server": "fe80::1%x?uid=0&version=3#"}, "server"), ({"server": "[fe80::1%eth0]:2049"}, "server"),
    ({"share": "a/b,uid=0"}, "share"), ({"folder": "../etc"}, "folder"),
    ({"folder": "a;rm -rf b"}, "folder"), ({"folder": 'a"b'}, "folder"), ({"folder": "a\nb"}, "folder"),
    ({"folder": "a b"}, "folder"), ({"username": "pbx,uid=0"}, "username"), ({"username": "pbx%pw"}, "username"),
    ({"version": "1.0"}, "version"), ({"password": 5}, "password"), ({"password": "two\nlines"}, "password"),
    ({"password": " leading"}, "password"),
    ({"protocol": "nfs", "share": "relative", "username": ""}, "share"),
    ({"protocol": "nfs", "share": "/srv", "username": "bob"}, "username"),
    ({"unknown": 1}, "unknown"),
]


@pytest.mark.parametrize("change,field", BAD_SHARES, ids=[f"{f}-{i}" for i, (_, f) in enumerate(BAD_SHARES)])
def test_bad_share_settings_are_refused_naming_the_field(store, change, field):
    with pytest.raises(ValidationError) as caught:
        shares.create({**SMB, **change})
    assert caught.value.field == field
    assert shares.list_shares() == []


def test_a_server_may_name_its_port_and_old_nfs_versions_read_as_what_libnfs_speaks(store):
    assert shares.create({**SMB, "server": "nas.office.lan:4450"})["location"] == \
        "//nas.office.lan/backups/pbx (port 4450)"
    assert shares.create({**SMB, "name": "v6", "server": "[fd00::5]:445"})["server"] == "[fd00::5]:445"
    nfs = shares.create({"name": "nfs", "protocol": "nfs", "server": "10.0.0.9", "share": "/srv", "version": "4.1"})
    assert nfs["version"] == "4" and nfs["location"] == "nfs://10.0.0.9/srv?version=4"
    v6 = shares.create({"name": "nfs6", "protocol": "nfs", "server": "[fd00::9]:2050", "share": "/srv"})
    assert v6["location"] == "nfs://[fd00::9]/srv?version=4&nfsport=2050"


def test_an_nfs_share_test_that_cannot_connect_says_why_and_is_remembered(store):
    from tests.support.ports import free_port

    shares.create({"name": "nfs-down", "protocol": "nfs", "server": f"127.0.0.1:{free_port()}", "share": "/srv"})
    result = shares.test(store, "nfs-down")
    assert result["ok"] is False
    assert result["message"].startswith("could not list the folder: nothing answers for this protocol on the server")
    assert "Connection refused" in result["message"]
    kept = shares.get("nfs-down")["last_test"]
    assert kept["ok"] is False and kept["message"] == result["message"]
    assert not list(store.run_dir.glob("appliance-share-test-*"))    # the local probe file is gone


def test_files_go_to_a_real_smb_share_and_come_back_listed_and_removed(store, samba, tmp_path):
    shares.create(_smb_share(samba))
    import shutil

    folder = samba.backups / "pbx" / "daily"
    shutil.rmtree(samba.backups / "pbx", ignore_errors=True)
    assert shares.list_files(store, "office") == []              # the folder is made by the first upload
    archive = tmp_path / "scheduled-1.pbxbak"
    archive.write_bytes(os.urandom(300_000))
    shares.upload(store, "office", archive, "scheduled-1.pbxbak")
    shares.upload(store, "office", archive, "scheduled-2.pbxbak")
    assert (folder / "scheduled-1.pbxbak").read_bytes() == archive.read_bytes()
    (folder / "notes").mkdir()                                    # folders are not files
    assert shares.list_files(store, "office") == ["scheduled-1.pbxbak", "scheduled-2.pbxbak"]
    shares.update("office", {"version": "2.0"})                    # smbclient -m SMB2_02: still understood
    assert shares.list_files(store, "office") == ["scheduled-1.pbxbak", "scheduled-2.pbxbak"]
    shares.remove_file(store, "office", "scheduled-1.pbxbak")
    assert sorted(p.name for p in folder.iterdir()) == ["notes", "scheduled-2.pbxbak"]
    with pytest.raises(shares.ShareError) as gone:
        shares.remove_file(store, "office", "scheduled-1.pbxbak")
    assert "does not exist" in gone.value.message
    # a name that would chain a second smbclient command is refused; nothing is deleted
    (folder / "victim.txt").write_text("keep me")
    for bad in ("x;rm victim.txt", "x rm", "../victim.txt", "a\nrm victim.txt"):
        with pytest.raises(shares.ShareError):
            shares.remove_file(store, "office", bad)
    assert (folder / "victim.txt").read_text() == "keep me"
    assert not list(store.run_dir.glob("*.auth"))                # the authentication files are gone


def test_smb_failures_say_why_in_words(store, samba, tmp_path):
    archive = tmp_path / "a.bin"
    archive.write_bytes(b"data")
    shares.create(_smb_share(samba, password="Not-The-Password"))
    with pytest.raises(shares.ShareError) as wrong:
        shares.list_files(store, "office")
    assert wrong.value.message.startswith("the server refused the user name or password")
    assert wrong.value.code == "NT_STATUS_LOGON_FAILURE"
    shares.create(_smb_share(samba, name="nosuch", share="nosuch"))
    with pytest.raises(shares.ShareError) as missing:
        shares.upload(store, "nosuch", archive, "a.bin")
    assert missing.value.message.startswith("the share does not exist on the server")
    shares.create(_smb_share(samba, name="ro", share="readonly", folder=""))
    with pytest.raises(shares.ShareError) as denied:
        shares.upload(store, "ro", archive, "a.bin")
    assert denied.value.message.startswith("the server denied access")
    assert list(samba.readonly.iterdir()) == []
    shares.create(_smb_share(samba, name="closed", server=f"127.0.0.1:{samba.port + 1}"))
    result = shares.test(store, "closed")
    assert result["ok"] is False and "nothing answers for SMB" in result["message"]
    assert "NT_STATUS_CONNECTION_REFUSED" in result["message"]


def test_files_go_to_a_real_nfs_export_and_come_back_listed_and_removed(store, ganesha, tmp_path):
    shares.create({"name": "nfs", "protocol": "nfs", "server": ganesha.server, "share": "/export",
                   "folder": "pbx/weekly"})
    archive = tmp_path / "scheduled-1.pbxbak"
    archive.write_bytes(os.urandom(200_000))       # far above libnfs 4.0's ~4 KiB single NFSv4 WRITE limit
    assert shares.list_files(store, "nfs") == []
    shares.upload(store, "nfs", archive, "scheduled-1.pbxbak")
    shares.upload(store, "nfs", archive, "scheduled-2.pbxbak")
    folder = ganesha.export / "pbx" / "weekly"
    assert (folder / "scheduled-2.pbxbak").read_bytes() == archive.read_bytes()
    assert shares.list_files(store, "nfs") == ["scheduled-1.pbxbak", "scheduled-2.pbxbak"]
    shares.remove_file(store, "nfs", "scheduled-1.pbxbak")
    assert sorted(p.name for p in folder.iterdir()) == ["scheduled-2.pbxbak"]
    result = shares.test(store, "nfs")
    assert result["ok"] is True and result["entries"] == 1 and result["free_bytes"] > 0, result
    assert sorted(p.name for p in folder.iterdir()) == ["scheduled-2.pbxbak"]     # the probe is gone
    shares.update("nfs", {"share": "/nothing"})
    result = shares.test(store, "nfs")
    assert result["ok"] is False
    assert result["message"].startswith("could not list the folder: the export /nothing does not exist"), result


# -- system health ----------------------------------------------------------------------------------------------

def test_firewall_rules_naming_a_port_or_range_are_found():
    rules = "\n".join([
        "-A INPUT -p udp -m udp --dport 5060 -j DROP",
        "-A INPUT -p tcp -m tcp --dport 8000:8100 -j REJECT --reject-with icmp-port-unreachable",
        "                udp dport { 20000-20100 } drop",
        "-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT",
    ])
    assert "5060" in health.blocked_by(rules, "udp", 5060)
    assert health.blocked_by(rules, "tcp", 5060) == ""
    assert "8000:8100" in health.blocked_by(rules, "tcp", 8080)
    assert "20000-20100" in health.blocked_by(rules, "udp", 20000)
    assert health.blocked_by(rules, "tcp", 22) == ""


def test_a_port_held_by_another_program_is_reported_in_use(tmp_path):
    import subprocess
    import sys

    from appliance.settings import Settings
    from tests.support.ports import free_port_block

    # A port out of the ephemeral range: its TCP twin must stay free (no client connection takes it meanwhile).
    holder = subprocess.Popen([sys.executable, "-c", "import socket, sys, time\n"
                               "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
                               f"s.bind(('127.0.0.1', {free_port_block(3)}))\n"
                               "print(s.getsockname()[1], flush=True); time.sleep(60)"],
                              stdout=subprocess.PIPE, text=True)
    try:
        port = int(holder.stdout.readline())
        settings = Settings(data_dir=tmp_path, sip_port=port, http_port=1, rtp_port_base=port + 1,
                            worker_count_max=1, rtp_ports_per_worker=2)
        rows = {(r["name"], r["protocol"]): r for r in health.check_ports(settings)}
        sip = rows[("SIP", "udp")]
        assert sip["state"] == "in_use" and f"(pid {holder.pid})" in sip["detail"]
        assert rows[("SIP", "tcp")]["state"] == "free"       # nobody listens and no appliance runs
        assert rows[("RTP (voice)", "udp")]["last_port"] == port + 2
    finally:
        holder.kill()
        holder.wait()


# -- pages and API by role --------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def web(tmp_path_factory):
    running = running_web(tmp_path_factory.mktemp("webstorage"))
    yield running
    running.stop()


@pytest.fixture(scope="module")
def admin(web):
    client = first_login(web)
    assert client.api_login("admin", STRONG).status == 200
    return client


def _as(web, admin, extension: str, role: str):
    create_user({"extension": extension, "first_name": role.title(), "last_name": "Test", "role": role,
                 "web_password": STRONG})
    client = web.client()
    assert client.api_login(extension, STRONG).status == 200
    assert client.login(extension, STRONG).status == 303
    return client


@pytest.fixture(scope="module")
def technician(web, admin):
    return _as(web, admin, "291", "technician")


@pytest.fixture(scope="module")
def user(web, admin):
    return _as(web, admin, "292", "user")


FAKE = Device(name="loop9", path="/nonexistent/loop9", size_bytes=64 << 20, type="loop",
              backing_file="/nonexistent/lab-usb/stick.img")


@pytest.fixture
def fake_device(monkeypatch):
    """The API sees one lab device that exists nowhere: nothing is ever run against it."""
    monkeypatch.setattr(devices, "scan", lambda settings, policy=None: [FAKE])

    def refuse(*args, **kwargs):
        raise AssertionError("a command was about to run")

    import storage.initialize

    monkeypatch.setattr(storage.initialize, "run", refuse)
    return FAKE


def test_admin_sees_the_storage_overview(web, admin, fake_device):
    body = admin.api("GET", "/api/v1/storage").json()
    assert set(body) >= {"devices", "internal", "volumes", "placements", "missing", "watcher", "policy"}
    assert [d["name"] for d in body["devices"]] == ["loop9"]
    assert {p["kind"] for p in body["placements"]} == set(placement.KINDS)
    assert body["internal"]["free_bytes"] > 0 and body["missing"] == []
    page = admin.get("/settings/storage")
    assert page.status == 200 and "loop9" in page.text and 'data-size="67108864"' in page.text
    assert "Initialize" in page.text and "/static/storage.js" in page.text


@pytest.mark.parametrize("body,field", [
    ({"label": "PBX", "confirm": "loop8", "size_bytes": 64 << 20}, "confirm"),
    ({"label": "PBX", "confirm": "loop9", "size_bytes": 1}, "size_bytes"),
    ({"label": "PBX", "confirm": "loop9"}, "size_bytes"),
    ({"label": "bad label", "confirm": "loop9", "size_bytes": 64 << 20}, "label"),
    ({"label": "PBX", "confirm": "loop9", "size_bytes": 64 << 20, "force": True}, "force"),
])
def test_initialize_needs_the_device_name_and_size_confirmed(web, admin, fake_device, body, field):
    response = admin.api("POST", "/api/v1/storage/devices/loop9/initialize", body)
    assert response.status == 400 and response.json()["field"] == field


def test_initialize_of_a_device_the_policy_does_not_list_is_a_404(web, admin, fake_device):
    response = admin.api("POST", "/api/v1/storage/devices/sda/initialize",
                         {"label": "PBX", "confirm": "sda", "size_bytes": 1})
    assert response.status == 404


def test_technician_reads_storage_but_changes_nothing(web, technician, fake_device):
    assert technician.api("GET", "/api/v1/storage").status == 200
    assert technician.get("/settings/storage").status == 200
    assert "initialize-device" not in technician.get("/settings/storage").text
    for method, path, body in [
        ("POST", "/api/v1/storage/devices/loop9/initialize", {"label": "X", "confirm": "loop9", "size_bytes": 1}),
        ("PUT", "/api/v1/storage/placements/voicemail", {"volume_uuid": ""}),
        ("POST", "/api/v1/storage/shares", SMB),
        ("POST", "/api/v1/storage/volumes/X/eject", None),
    ]:
        assert technician.api(method, path, body).status == 403, path


def test_user_gets_403_on_storage_and_health(web, user):
    for path in ("/api/v1/storage", "/api/v1/storage/shares", "/api/v1/system/health"):
        assert user.api("GET", path).status == 403
    assert user.get("/settings/storage").status == 403
    assert user.get("/settings/info").status == 403


def test_shares_through_the_api(web, admin):
    created = admin.api("POST", "/api/v1/storage/shares", {**SMB, "name": "office-nas"})
    assert created.status == 201 and created.json()["has_password"] is True
    bad = admin.api("POST", "/api/v1/storage/shares", {**SMB, "name": "other", "server": "bad host"})
    assert bad.status == 400 and bad.json()["field"] == "server"
    dup = admin.api("POST", "/api/v1/storage/shares", {**SMB, "name": "office-nas"})
    assert dup.status == 409
    stale = admin.api("PUT", "/api/v1/storage/shares/office-nas", {"folder": "x", "revision": 99})
    assert stale.status == 409 and stale.json()["field"] == "revision"
    changed = admin.api("PUT", "/api/v1/storage/shares/office-nas", {"folder": "pbx/daily", "revision": 1})
    assert changed.status == 200 and changed.json()["folder"] == "pbx/daily"
    assert "S3cret" not in admin.api("GET", "/api/v1/storage/shares").text
    assert admin.api("DELETE", "/api/v1/storage/shares/office-nas").status == 204
    assert admin.api("GET", "/api/v1/storage/shares/office-nas").status == 404


def test_the_test_action_writes_lists_and_deletes_a_probe_on_a_real_smb_share(web, admin, samba):
    created = admin.api("POST", "/api/v1/storage/shares", _smb_share(samba, name="api-smb", folder="api"))
    assert created.status == 201, created.text
    tested = admin.api("POST", "/api/v1/storage/shares/api-smb/test").json()
    assert tested["ok"] is True, tested
    assert tested["message"].startswith("wrote, listed and deleted a probe file; 0 files in the folder")
    assert tested["free_bytes"] > 0 and list((samba.backups / "api").iterdir()) == []
    shown = admin.api("GET", "/api/v1/storage/shares/api-smb").json()
    assert shown["last_test"]["ok"] is True and shown["last_test"]["message"] == tested["message"]
    assert admin.api("PUT", "/api/v1/storage/shares/api-smb", {"password": "wrong", "revision": 1}).status == 200
    refused = admin.api("POST", "/api/v1/storage/shares/api-smb/test").json()
    assert refused["ok"] is False
    assert refused["message"].startswith("could not list the folder: the server refused the user name or password")
    assert admin.api("GET", "/api/v1/storage/shares/api-smb").json()["last_test"]["ok"] is False
    assert admin.api("DELETE", "/api/v1/storage/shares/api-smb").status == 204


def test_moving_to_an_unknown_volume_or_kind_is_refused(web, admin):
    response = admin.api("PUT", "/api/v1/storage/placements/voicemail", {"volume_uuid": "nope"})
    assert response.status == 400 and response.json()["field"] == "volume_uuid"
    assert admin.api("PUT", "/api/v1/storage/placements/photos", {"volume_uuid": ""}).status == 404
    response = admin.api("PUT", "/api/v1/storage/placements/voicemail", {"volume_uuid": ""})
    assert response.status == 400 and "already" in response.json()["message"]
    assert admin.api("GET", "/api/v1/storage/jobs/999999").status == 404


HEALTH_FIELDS = {"cpu", "memory", "load", "uptime", "disks", "services", "ports", "storage_missing", "links"}


def test_health_api_gives_every_figure_to_admin_and_technician(web, admin, technician):
    for client in (admin, technician):
        response = client.api("GET", "/api/v1/system/health")
        assert response.status == 200
        body = response.json()
        assert set(body) == HEALTH_FIELDS
        assert 0 <= body["cpu"]["percent"] <= 100 * body["cpu"]["count"] and body["memory"]["total_bytes"] > 0
        assert body["uptime"]["system_s"] > 0 and body["disks"][0]["name"] == "data"
        assert [s["name"] for s in body["services"]] == ["kamailio", "callcore", "web"]
        names = {(p["name"], p["protocol"], p["port"]) for p in body["ports"]}
        settings = web.settings
        assert ("SIP", "udp", settings.sip_port) in names and ("Web UI", "tcp", settings.http_port) in names
        web_port = next(p for p in body["ports"] if p["name"] == "Web UI")
        assert web_port["state"] == "ok" and f"(pid {os.getpid()})" in web_port["detail"]
        rtp = next(p for p in body["ports"] if p["name"] == "RTP (voice)")
        assert rtp["port"] == settings.rtp_port_base and rtp["last_port"] > rtp["port"]
        assert body["links"] == {"banned_ips": "/security/bans", "events": "/security/events",
                                 "storage": "/settings/storage"}
        assert body["storage_missing"] == []


def test_info_page_shows_services_ports_and_links(web, admin, technician):
    page = admin.get("/settings/info")
    assert page.status == 200
    for text in ("kamailio", "callcore", "Ports", "RTP (voice)", 'href="/security/bans"', 'href="/security/events"',
                 "restart-service", "/static/health.js"):
        assert text in page.text, text
    assert technician.get("/settings/info").status == 200


def test_restart_without_a_supervisor_is_a_clear_409_and_unknown_service_404(web, admin, user):
    response = admin.api("POST", "/api/v1/system/services/callcore/restart")
    assert response.status == 409 and "supervisor" in response.json()["message"]
    assert admin.api("POST", "/api/v1/system/services/sshd/restart").status == 404
    assert user.api("POST", "/api/v1/system/services/callcore/restart").status == 403


# -- in a browser ------------------------------------------------------------------------------------------------

def test_in_a_browser_the_admin_adds_tests_and_deletes_a_share_and_must_confirm_an_initialize(web, admin,
                                                                                              fake_device):
    from playwright.sync_api import expect, sync_playwright

    from tests.support.browser import browser_login, launch_chromium
    from tests.support.ports import free_port

    errors: list[str] = []
    with sync_playwright() as p:
        browser = launch_chromium(p)
        try:
            page = browser.new_context(locale="en-US").new_page()
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.on("dialog", lambda dialog: dialog.accept())
            browser_login(page, web.url)
            page.goto(web.url + "/settings/storage")
            # Initialize: the panel names the device and its size; a wrong confirmation is shown at its field.
            page.click("tr[data-device=loop9] .initialize-device")
            expect(page.locator("#initialize-warning")).to_contain_text("loop9 (67.1 MB)")
            page.fill("#init-confirm", "loop8")
            page.click("#initialize-now")
            expect(page.locator('#initialize-panel [data-error-for="confirm"]')).to_contain_text("loop9")
            # A share: an error at the server field first, then added, tested (fails, says why), deleted.
            page.fill("#share-name", "nas2")
            page.fill("#share-server", "bad host")
            page.fill("#share-share", "/srv/pbx")
            page.select_option("#share-protocol", "nfs")
            page.click("#add-share")
            expect(page.locator('#share-form [data-error-for="server"]')).to_be_visible()
            closed = free_port()
            page.fill("#share-server", f"127.0.0.1:{closed}")
            page.click("#add-share")
            row = page.locator("tr[data-share=nas2]")
            expect(row).to_contain_text(f"nfs://127.0.0.1/srv/pbx?version=4&nfsport={closed}")
            row.locator(".test-share").click()
            expect(row.locator(".share-test-result")).to_contain_text("nothing answers", timeout=40000)
            row.locator(".delete-share").click()
            expect(page.locator("tr[data-share=nas2]")).to_have_count(0)
        finally:
            browser.close()
    assert errors == []
