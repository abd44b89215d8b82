"""Call recording with the real stack: the recording holds both voices, on demand starts with the feature code.

Alice (201) is recorded always, Carol (203) on demand (*1), Bruno (202) never.
Each phone plays its own tone; the recording, fetched through the API as the
admin downloads it, must contain both.
"""

from __future__ import annotations

import time
import urllib.request

import pytest

from tests.support import audio
from tests.support.stack_lab import StackLab, running_lab

PASSWORD = "Phone-Secret-Rc7q"
PEOPLE = [("201", "Alice", "Martin"), ("202", "Bruno", "Durand"), ("203", "Carol", "Petit")]
MODES = {"201": "always", "202": "never", "203": "on_demand"}


class Lab(StackLab):
    def recordings_of(self, call_id: str, timeout: float = 10) -> list[dict]:
        """The finished recordings of a call (their length is written when the call ends)."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.request("GET", f"/api/v1/recordings?call_id={call_id}")
            if (found and all(r["size_bytes"] is not None for r in found)) or time.monotonic() > deadline:
                return found
            time.sleep(0.2)

    def download(self, url: str, path) -> None:
        req = urllib.request.Request(self.stack.web_url + url + "?download=1")
        req.add_header("Authorization", f"Bearer {self.api.token}")
        with urllib.request.urlopen(req, timeout=10) as resp:
            assert resp.headers["Content-Type"].startswith("audio/wav")
            path.write_bytes(resp.read())

    def talk(self, caller: str, callee: str, seconds: float = 2.0, during=None) -> str:
        """`caller` calls `callee`, who answers; each plays a tone; returns the call's CDR call_id."""
        before = self.stack.last_cdr_id()
        since, call = self.call(caller, callee)
        ring = self.wait_ring(callee, since)
        self.phones[callee].answer(200, call=ring["call"])
        self.phones[caller].wait_for("confirmed", 10, call=call)
        if during is not None:
            during(call)
        self.phones[caller].play_tone(700, call=call)
        self.phones[callee].play_tone(1100, call=ring["call"])
        time.sleep(seconds)
        self.phones[caller].hangup(call=call)
        self.phones[callee].wait_for("disconnected", 10, call=ring["call"])
        return self.stack.closed_cdrs_after(before)[-1]["call_id"]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    def configure(lab: Lab) -> None:
        for extension, mode in MODES.items():
            lab.request("PUT", f"/api/v1/users/{extension}", {"recording_mode": mode})

    with running_lab(Lab, tmp_path_factory.mktemp("recordings") / "data", PEOPLE, PASSWORD, configure) as lab:
        yield lab


def test_a_call_of_a_user_recorded_always_holds_both_voices(lab, tmp_path):
    call_id = lab.talk("201", "202")
    recordings = lab.recordings_of(call_id)
    assert [(r["owner"], r["reason"]) for r in recordings] == [("201", "always")]
    assert recordings[0]["duration_s"] > 1.0
    lab.download(recordings[0]["url"], tmp_path / "call.wav")
    assert audio.has_tone(tmp_path / "call.wav", 700), "the caller's voice is missing from the recording"
    assert audio.has_tone(tmp_path / "call.wav", 1100), "the callee's voice is missing from the recording"


def test_nobody_recorded_means_no_recording(lab):
    call_id = lab.talk("202", "203", seconds=0.5)
    assert lab.recordings_of(call_id, timeout=1) == []


def test_on_demand_the_feature_code_starts_recording_mid_call(lab, tmp_path):
    call_id = lab.talk("203", "202", during=lambda call: lab.phones["203"].send_dtmf("*1", call=call))
    recordings = lab.recordings_of(call_id)
    assert [(r["owner"], r["reason"]) for r in recordings] == [("203", "on_demand")]
    lab.download(recordings[0]["url"], tmp_path / "demand.wav")
    assert audio.has_tone(tmp_path / "demand.wav", 700)
    assert audio.has_tone(tmp_path / "demand.wav", 1100)
