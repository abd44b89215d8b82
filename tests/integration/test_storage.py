"""USB storage on the real stack, with loop devices standing in for a stick (one stack for the module).

A 96 MiB image file in <data>/lab-usb/ attached with `losetup -f -P` is what lab mode accepts as a USB
stick (no other device is ever listed, formatted or mounted). In order: the storage daemon sees the
stick appear; the admin initializes it from the Storage page in Chromium (the panel names it and its
size, the name is typed to confirm, a progress bar follows) and it is ext4, labelled,
mounted at <data>/media/PBXUSB; voicemail (a real message Bob left Alice) moves onto it with every file
identical; the stick is pulled out while a file on it is open and a call is up (`umount -l` +
`losetup -d`): the call goes on, the API and the event log say the storage is missing, a new message is
kept internally and the CDR is written; the stick comes back: it is mounted again, `storage.back` is
logged, the message left meanwhile is moved onto it and new messages are recorded onto it. Every loop
device and mount is removed in the fixture's teardown, whatever happened.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import time
from pathlib import Path

import pytest

from tests.support.stack_lab import StackLab, running_lab

PASSWORD = "Phone-Secret-Kq7w"
PEOPLE = [("201", "Alice", "Martin"), ("202", "Bob", "Durand")]
LABEL = "PBXUSB"
SIZE = 96 << 20
TONE = 800


class Lab(StackLab):
    def wait(self, what, check, timeout: float = 30, every: float = 0.3):
        deadline = time.monotonic() + timeout
        while True:
            value = check()
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}")
            time.sleep(every)

    def job(self, job: dict, timeout: float = 120) -> dict:
        seen = []

        def finished():
            current = self.request("GET", f"/api/v1/storage/jobs/{job['id']}")
            seen.append(current["progress"])
            return current if current["state"] != "running" else None

        done = self.wait(f"job {job['id']}", finished, timeout, every=0.1)
        done["seen"] = seen
        return done

    def events(self, kind: str) -> list[dict]:
        return self.request("GET", f"/api/v1/events?kind={kind}")

    def messages(self, box: str) -> list[dict]:
        return self.request("GET", f"/api/v1/voicemail/boxes/{box}/messages")

    def recording(self, caller: str, callee: str) -> bool:
        """The latest live call from `caller` to `callee` reached voicemail's "record" step (debug trace)."""
        calls = [c for c in self.request("GET", "/api/v1/dialplan/traces")
                 if c["caller"] == caller and c["callee"] == callee and c["live"]]
        if not calls:
            return False
        trace = self.request("GET", "/api/v1/dialplan/traces/" + calls[0]["call_id"])
        return any(s["event"] == "voicemail" and s.get("action") == "record" for s in trace["steps"])

    def leave_message(self, caller: str, box: str, count: int) -> list[dict]:
        """`caller` calls `box`, who does not answer; voicemail takes the call; `caller` plays a tone and hangs up."""
        phone = self.phones[caller]
        _, call = self.call(caller, box)
        phone.wait_for("confirmed", 30, call=call)
        phone.play_tone(TONE, call=call)
        self.wait("voicemail recording", lambda: self.recording(caller, box), 40)
        time.sleep(3)
        phone.hangup(call=call)
        phone.wait_for("disconnected", 10, call=call)
        def arrived():
            found = self.messages(box)
            return found if len(found) == count else None

        return self.wait(f"{count} message(s) in {box}", arrived, 30)


class Sticks:
    """Image files in <data>/lab-usb attached as loop devices; teardown detaches and unmounts everything."""

    def __init__(self, data_dir: Path):
        self.data_dir = data_dir
        self.folder = data_dir / "lab-usb"
        self.folder.mkdir(parents=True, exist_ok=True)
        self.image = self.folder / "stick.img"
        with open(self.image, "wb") as f:
            f.truncate(SIZE)

    def attach(self) -> str:
        out = subprocess.run(["losetup", "-f", "-P", "--show", str(self.image)], check=True, capture_output=True,
                             text=True).stdout.strip()
        assert out.startswith("/dev/loop"), out
        return os.path.basename(out)

    def loops(self) -> list[str]:
        out = subprocess.run(["losetup", "-j", str(self.image)], capture_output=True, text=True).stdout
        return [line.split(":")[0] for line in out.splitlines() if line.startswith("/dev/loop")]

    def mounts(self) -> list[str]:
        media = str(self.data_dir / "media") + "/"
        points = []
        for line in Path("/proc/self/mounts").read_text().splitlines():
            point = line.split()[1]
            if point.startswith(media):
                points.append(point)
        return points

    def pull_out(self) -> None:
        """What yanking the stick does to a lab machine: the mount goes (lazily), the device goes."""
        for point in self.mounts():
            subprocess.run(["umount", "-l", point], check=True)
        for loop in self.loops():
            subprocess.run(["losetup", "-d", loop], check=True)

    def cleanup(self, timeout: float = 20) -> None:
        """Unmount and detach everything; a lazily unmounted file system lets its loop device go a moment later."""
        for point in reversed(self.mounts()):
            subprocess.run(["umount", "-l", point], capture_output=True)
        deadline = time.monotonic() + timeout
        while self.loops() and time.monotonic() < deadline:
            for loop in self.loops():
                subprocess.run(["losetup", "-d", loop], capture_output=True)
            time.sleep(0.5)


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    def configure(lab: Lab) -> None:
        lab.request("PUT", "/api/v1/voicemail/boxes/201", {"enabled": True, "pin": "2468", "ring_seconds": 1})

    data_dir = tmp_path_factory.mktemp("storage") / "data"
    sticks = Sticks(data_dir)
    try:
        with running_lab(Lab, data_dir, PEOPLE, PASSWORD, configure) as lab:
            lab.sticks = sticks
            lab.state = {}
            yield lab
    finally:
        sticks.cleanup()
    assert sticks.loops() == [] and sticks.mounts() == []


def _hashes(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and ".tmp" not in p.parts}


def _blkid(device: str) -> dict:
    out = subprocess.run(["blkid", "-p", "-o", "export", device], capture_output=True, text=True).stdout
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


def test_a_stick_plugged_in_is_seen_by_the_storage_daemon(lab):
    before = lab.request("GET", "/api/v1/storage")["watcher"]
    assert before["running"] is True
    name = lab.sticks.attach()
    lab.state["name"] = name
    watched = lab.wait("the daemon to see the stick", lambda: [
        d for d in lab.request("GET", "/api/v1/storage")["watcher"]["devices"] if d["name"] == name])
    assert watched[0]["size_bytes"] == SIZE
    [device] = lab.request("GET", "/api/v1/storage/devices")["devices"]   # only the lab's own loop device
    assert (device["name"], device["size_bytes"], device["type"]) == (name, SIZE, "loop")


def test_initialize_asks_for_the_device_then_partitions_formats_and_mounts_it_by_label(lab):
    name = lab.state["name"]
    status, body = lab.api.request("POST", f"/api/v1/storage/devices/{name}/initialize",
                                   {"label": LABEL, "confirm": "yes", "size_bytes": SIZE})
    assert status == 400 and body["field"] == "confirm" and name in body["message"]
    # The admin initializes it from the Storage page: the panel names the device and its size, the name is
    # typed to confirm, a progress bar follows the job, the page then shows the volume.
    from playwright.sync_api import expect, sync_playwright

    from tests.support.browser import ARTIFACTS, browser_login, launch_chromium
    from tests.support.stack import NEW_ADMIN_PASSWORD

    errors: list[str] = []
    with sync_playwright() as p:
        browser = launch_chromium(p)
        try:
            page = browser.new_context(locale="en-US").new_page()
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            browser_login(page, lab.stack.web_url, NEW_ADMIN_PASSWORD)
            page.goto(lab.stack.web_url + "/settings/storage")
            page.click(f"tr[data-device={name}] .initialize-device")
            expect(page.locator("#initialize-warning")).to_contain_text(f"{name} (100.7 MB)")
            page.fill("#init-label", LABEL)
            page.fill("#init-confirm", name)
            page.click("#initialize-now")
            expect(page.locator("#job-panel")).to_be_visible()
            expect(page.locator(f"#volume-list tr[data-label={LABEL}]")).to_contain_text("present", timeout=120000)
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "storage-initialized.png"), full_page=True)
        finally:
            browser.close()
    assert errors == []
    done = lab.request("GET", "/api/v1/storage/jobs/1")      # the page's job: the first of this web process
    assert done["kind"] == "initialize" and done["subject"] == name
    assert done["state"] == "done" and done["progress"] == 100, done
    result = done["result"]
    assert _blkid(result["partition"])["TYPE"] == "ext4" and _blkid(result["partition"])["LABEL"] == LABEL
    point = str(lab.stack.settings.data_dir / "media" / LABEL)
    assert result["mountpoint"] == point and lab.sticks.mounts() == [point]
    [volume] = lab.request("GET", "/api/v1/storage/volumes")["volumes"]
    assert volume["label"] == LABEL and volume["present"] is True and volume["usage"]["free_bytes"] > 50 << 20
    lab.state["uuid"] = volume["uuid"]
    [device] = lab.request("GET", "/api/v1/storage/devices")["devices"]
    assert [(v["fstype"], v["label"], v["mountpoint"]) for v in device["volumes"]] == [("ext4", LABEL, point)]
    assert lab.events("storage.initialized")[0]["subject"] == LABEL


def test_voicemail_moves_onto_the_stick_with_every_file_identical(lab):
    [message] = lab.leave_message("202", "201", 1)
    internal = lab.stack.settings.data_dir / "voicemail"
    before = _hashes(internal)
    assert any(k.endswith(".wav") and "msg-" in k for k in before), before
    placements = {p["kind"]: p for p in lab.request("GET", "/api/v1/storage/placements")["placements"]}
    job = lab.request("PUT", "/api/v1/storage/placements/voicemail",
                      {"volume_uuid": lab.state["uuid"], "revision": placements["voicemail"]["revision"]}, 202)
    done = lab.job(job)
    assert done["state"] == "done", done
    on_stick = lab.stack.settings.data_dir / "media" / LABEL / "appliance" / "voicemail"
    assert _hashes(on_stick) == before
    assert not [p for p in internal.rglob("*.wav")]
    moved = {p["kind"]: p for p in lab.request("GET", "/api/v1/storage/placements")["placements"]}["voicemail"]
    assert (moved["location"], moved["state"], moved["folder"]) == (LABEL, "ok", str(on_stick))
    # The box still lists the message and plays the very same file.
    [listed] = lab.messages("201")
    assert listed["id"] == message["id"]
    status, _ = lab.api.request("GET", f"/api/v1/voicemail/boxes/201/messages/{message['id']}")
    assert status == 200
    lab.state["before"] = before


def test_pulling_the_stick_out_in_use_keeps_the_appliance_working_and_says_storage_is_missing(lab):
    bob = lab.phones["202"]
    _, call = lab.call("202", "76")               # a call in progress while the stick goes
    bob.wait_for("confirmed", 15, call=call)
    on_stick = lab.stack.settings.data_dir / "media" / LABEL / "appliance" / "voicemail"
    with open(next(on_stick.rglob("*.wav")), "rb"):   # a file on the stick is open (in use)
        lab.sticks.pull_out()
    missing = lab.wait("storage missing in the API",
                       lambda: (o := lab.request("GET", "/api/v1/storage"))["missing"] == [LABEL] and o)
    voicemail = {p["kind"]: p for p in missing["placements"]}["voicemail"]
    assert voicemail["state"] == "missing" and voicemail["folder"] == str(lab.stack.settings.data_dir / "voicemail")
    assert [v["present"] for v in missing["volumes"]] == [False]
    event = lab.wait("a storage.missing event", lambda: lab.events("storage.missing"))[0]
    assert event["subject"] == LABEL and event["severity"] == "alert" and "voicemail" in event["message"]
    time.sleep(1)
    assert not bob.saw("disconnected", call=call), "the call in progress was cut"
    bob.hangup(call=call)
    bob.wait_for("disconnected", 10, call=call)
    # New voicemail is kept in the internal folder meanwhile; the old message's file is out of reach.
    messages = lab.leave_message("202", "201", 2)
    internal = lab.stack.settings.data_dir / "voicemail"
    assert len([p for p in internal.rglob("msg-*.wav")]) == 1
    # The call history goes on being written, and the web UI answers.
    assert lab.wait("the calls' CDRs", lambda: [c for c in lab.stack.cdrs() if c["callee"] == "76" and c["end"]])
    status, health = lab.api.request("GET", "/api/v1/system/health")
    assert status == 200 and health["storage_missing"] == [LABEL]
    assert {s["name"]: s["state"] for s in health["services"]} == {
        "kamailio": "running", "callcore": "running", "web": "running"}
    assert len(messages) == 2


def test_the_stick_plugged_in_again_is_mounted_and_what_was_written_meanwhile_moves_onto_it(lab):
    lab.sticks.attach()
    back = lab.wait("storage back", lambda: (o := lab.request("GET", "/api/v1/storage"))["missing"] == [] and o, 45)
    assert [v["present"] for v in back["volumes"]] == [True]
    event = lab.wait("a storage.back event", lambda: lab.events("storage.back"))[0]
    assert event["subject"] == LABEL
    on_stick = lab.stack.settings.data_dir / "media" / LABEL / "appliance" / "voicemail"
    internal = lab.stack.settings.data_dir / "voicemail"
    # The message left while it was out goes onto the stick (once settled); the first one is intact.
    lab.wait("the message left meanwhile on the stick",
             lambda: not list(internal.rglob("msg-*.wav")) and len(list(on_stick.rglob("msg-*.wav"))) == 2, 45)
    after = _hashes(on_stick)
    assert all(after[k] == v for k, v in lab.state["before"].items())
    status, refused = lab.api.request("POST", f"/api/v1/storage/volumes/{LABEL}/eject")
    assert status == 409 and "voicemail" in refused["message"]          # not ejected while it holds data
    # New messages go straight onto the stick again.
    lab.leave_message("202", "201", 3)
    assert len(list(on_stick.rglob("msg-*.wav"))) == 3 and not list(internal.rglob("msg-*.wav"))
    for message in lab.messages("201"):
        status, _ = lab.api.request("GET", f"/api/v1/voicemail/boxes/201/messages/{message['id']}")
        assert status == 200


def test_system_health_of_the_running_appliance_and_a_service_restart(lab):
    health = lab.request("GET", "/api/v1/system/health")
    settings = lab.stack.settings
    ports = {(p["name"], p["protocol"]): p for p in health["ports"]}
    assert ports[("SIP", "udp")]["state"] == "ok" and ports[("SIP", "udp")]["port"] == settings.sip_port
    assert ports[("Web UI", "tcp")]["state"] == "ok"
    assert ports[("RTP (voice)", "udp")]["state"] == "ok"
    assert health["uptime"]["appliance_s"] is not None
    assert [d["name"] for d in health["disks"]] == ["data", LABEL]
    before = {s["name"]: s["pid"] for s in health["services"]}
    answer = lab.request("POST", "/api/v1/system/services/kamailio/restart")
    assert "restarted" in answer["message"]
    after = {s["name"]: s for s in lab.request("GET", "/api/v1/system/health")["services"]}
    assert after["kamailio"]["state"] == "running" and after["kamailio"]["pid"] != before["kamailio"]
    assert after["web"]["pid"] == before["web"]
