"""Extension to extension through a worker, with a test phone standing where Kamailio would be.

Alice's phone sends the INVITE a worker would get from Kamailio (with
X-AP-Caller); the worker originates the B-leg to the SIP edge's port, where
Bob's phone listens and plays the callee (or answers 480 as Kamailio does
for an extension that is not registered).
"""

from __future__ import annotations

import time

import pytest

from tests.support.audio import has_tone, is_silent
from tests.support.phone import TestPhone
from tests.support.phone_lab import CallCoreLab

ALICE = {"X-AP-Caller": "100"}


@pytest.fixture
def bob():
    phone = TestPhone("bob")
    yield phone
    phone.close()


@pytest.fixture
def alice():
    phone = TestPhone("alice")
    yield phone
    phone.close()


@pytest.fixture
def lab(tmp_path, bob):
    lab = CallCoreLab(tmp_path / "data", spare_workers=1, workers_max=4, sip_port=bob.sip_port)
    lab.open_store()
    lab.add_user("100", "Alice", "Martin", language="en")
    lab.add_user("101", "Bob", "Durand", language="fr")
    lab.set_system(sip_domain="pbx.test")
    yield lab
    assert lab.stop() == 0


def call_bob(lab, alice, bob) -> dict:
    lab.start()
    alice.call(lab.worker_uri("101"), headers=ALICE)
    return bob.wait_for("incoming", 10)


def test_callee_sees_caller_name_and_number(lab, alice, bob):
    incoming = call_bob(lab, alice, bob)
    headers = incoming["headers"]
    assert headers["x-ap-caller-number"] == "100"
    assert headers["x-ap-caller-name"] == "Alice Martin"
    bob.reject(486)


def test_answered_call_has_two_way_audio_dtmf_and_an_answered_cdr(lab, alice, bob, tmp_path):
    call_bob(lab, alice, bob)
    bob.answer(180)
    assert alice.wait_for("ringing", 10)["code"] == 180
    alice.play_tone(700)
    alice.record(tmp_path / "alice.wav")
    bob.play_tone(1100)
    bob.record(tmp_path / "bob.wav")
    bob.answer(200)
    alice.wait_for("confirmed", 10)
    time.sleep(1)
    alice.send_dtmf("12#")
    bob.send_dtmf("9*")
    time.sleep(2)
    bob.hangup()
    assert alice.wait_for("disconnected", 10)["code"] == 200
    alice.stop_recording()
    bob.stop_recording()
    assert has_tone(tmp_path / "alice.wav", 1100) and not has_tone(tmp_path / "alice.wav", 700, min_share=0.5)
    assert has_tone(tmp_path / "bob.wav", 700) and not has_tone(tmp_path / "bob.wav", 1100, min_share=0.5)
    assert bob.received_dtmf() == "12#"
    assert alice.received_dtmf() == "9*"
    cdr = lab.wait_cdr(lambda r: r["end"] is not None)
    assert cdr["disposition"] == "answered" and cdr["billsec"] >= 2
    assert (cdr["caller"], cdr["callee"]) == ("100", "101")
    assert "callee hung up" in cdr["hangup_cause"]


def test_caller_hangup_ends_the_callee_leg(lab, alice, bob):
    call_bob(lab, alice, bob)
    bob.answer(200)
    alice.wait_for("confirmed", 10)
    alice.hangup()
    bob.wait_for("disconnected", 10)
    cdr = lab.wait_cdr(lambda r: r["end"] is not None)
    assert cdr["disposition"] == "answered" and "caller hung up" in cdr["hangup_cause"]


def test_busy_callee_gives_486_to_caller(lab, alice, bob):
    call_bob(lab, alice, bob)
    bob.reject(486)
    assert alice.wait_for("disconnected", 10)["code"] == 486
    assert lab.wait_cdr(lambda r: r["end"] is not None)["disposition"] == "busy"


def test_no_answer_ends_after_the_ring_timeout(lab, alice, bob):
    lab.set_system(ring_timeout_s=2)
    call_bob(lab, alice, bob)
    bob.answer(180)
    assert alice.wait_for("ringing", 10)["code"] == 180
    assert alice.wait_for("disconnected", 15)["code"] in (480, 408)
    assert bob.wait_for("disconnected", 10)["code"] == 487
    assert lab.wait_cdr(lambda r: r["end"] is not None)["disposition"] == "no_answer"


def test_cancel_before_answer_stops_the_callee_ringing(lab, alice, bob):
    call_bob(lab, alice, bob)
    bob.answer(180)
    alice.wait_for("ringing", 10)
    alice.hangup()
    assert bob.wait_for("disconnected", 10)["code"] == 487
    assert lab.wait_cdr(lambda r: r["end"] is not None)["disposition"] == "cancelled"


def test_callees_early_media_reaches_the_caller(lab, alice, bob, tmp_path):
    call_bob(lab, alice, bob)
    bob.play_tone(1100)
    bob.answer(183)
    assert alice.wait_for("ringing", 10)["code"] == 183
    alice.record(tmp_path / "early.wav")
    time.sleep(2)
    alice.stop_recording()
    assert alice.saw("confirmed") == []
    assert has_tone(tmp_path / "early.wav", 1100)
    bob.reject(486)
    assert alice.wait_for("disconnected", 10)["code"] == 486


def test_unregistered_callee_gives_announcement_then_480(lab, alice, bob, tmp_path):
    call_bob(lab, alice, bob)
    alice.record(tmp_path / "announcement.wav")
    bob.reject(480)  # what Kamailio answers for an extension with no registration
    assert alice.wait_for("ringing", 10)["code"] == 183
    assert alice.wait_for("disconnected", 20)["code"] == 480
    alice.stop_recording()
    assert not is_silent(tmp_path / "announcement.wav")
    assert lab.wait_cdr(lambda r: r["end"] is not None)["disposition"] == "failed"
