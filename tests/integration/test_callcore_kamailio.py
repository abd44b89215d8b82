"""Phones calling each other through the whole appliance: Kamailio edge + call-core pool.

`appliance run` (tests.support.stack.Stack) on free loopback ports; two
pjsua2 test phones register with digest auth and call each other. Every
call crosses Kamailio → worker (B2BUA, media anchored) → Kamailio → phone.
"""

from __future__ import annotations

import sqlite3
import time

import pytest

from appliance.numbering import ECHO_TEST
from tests.support.audio import dominant_frequency, has_tone, is_silent
from tests.support.phone import TestPhone
from tests.support.stack import Stack

USERS = {
    "100": ("Alice", "Martin", "Alice-Secret-Passw0rd"),
    "101": ("Bob", "Durand", "Bob-Secret-Passw0rd"),
    "102": ("Carol", "Petit", "Carol-Secret-Passw0rd"),  # never registers
}
DOMAIN = "pbx.local"


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    stack = Stack(tmp_path_factory.mktemp("stack") / "data").start()
    api = stack.admin_api()
    for extension, (first, last, password) in USERS.items():
        api.create_user(extension, first, last, password)
    stack.wait_workers_dispatched(stack.settings.spare_workers)
    yield stack
    stack.stop()


@pytest.fixture
def phones(stack):
    made: list[TestPhone] = []

    def registered(extension: str) -> TestPhone:
        made.append(stack.registered_phone(extension, USERS[extension][2], domain=DOMAIN))
        return made[-1]

    yield registered
    for phone in made:
        phone.close()


@pytest.fixture
def ring_timeout(stack):
    def set_timeout(seconds: int) -> None:
        _execute(stack, "UPDATE system_settings SET ring_timeout_s = ? WHERE id = 1", seconds)

    yield set_timeout
    set_timeout(30)


def _execute(stack, sql: str, *args) -> None:
    db = sqlite3.connect(str(stack.settings.db_path), timeout=10)
    try:
        with db:
            db.execute(sql, args)
    finally:
        db.close()


def last_cdr(stack, after: int, timeout: float = 10) -> dict:
    """The one CDR row with id > after, once it is closed.

    One call, one row: even when Kamailio gives up on a worker slow to say
    100 Trying and hands the call to another one (see test_callcore_burst).
    """
    rows = stack.closed_cdrs_after(after, timeout)
    assert len(rows) == 1, f"one call, {len(rows)} CDR rows: {rows}"
    return rows[0]


def uri(extension: str) -> str:
    return f"sip:{extension}@{DOMAIN}"


def test_a_calls_b_both_hear_each_other_and_cdr_is_answered(stack, phones, tmp_path):
    before = stack.last_cdr_id()
    alice, bob = phones("100"), phones("101")
    alice.call(uri("101"))
    alice.play_tone(700)
    alice.record(tmp_path / "alice.wav")
    incoming = bob.wait_for("incoming", 10)
    assert (incoming["remote_name"], incoming["remote_number"]) == ("Alice Martin", "100")
    bob.answer(180)
    assert alice.wait_for("ringing", 10)["code"] == 180
    bob.play_tone(1100)
    bob.record(tmp_path / "bob.wav")
    bob.answer(200)
    alice.wait_for("confirmed", 10)
    time.sleep(3)
    alice.hangup()
    bob.wait_for("disconnected", 10)
    alice.stop_recording()
    bob.stop_recording()
    assert abs(dominant_frequency(tmp_path / "alice.wav", skip_seconds=1) - 1100) < 20
    assert abs(dominant_frequency(tmp_path / "bob.wav", skip_seconds=1) - 700) < 20
    cdr = last_cdr(stack, before)
    assert (cdr["caller"], cdr["callee"], cdr["disposition"]) == ("100", "101", "answered")
    assert 2 <= cdr["billsec"] <= 6 and cdr["answer"] and cdr["worker"].startswith("w")


def test_echo_test_through_the_edge(stack, phones, tmp_path):
    alice = phones("100")
    alice.call(uri(ECHO_TEST))
    alice.play_tone(700)
    alice.record(tmp_path / "echo.wav")
    alice.wait_for("confirmed", 10)
    time.sleep(3)
    alice.hangup()
    alice.stop_recording()
    assert abs(dominant_frequency(tmp_path / "echo.wav", skip_seconds=1) - 700) < 20


def test_busy_callee_486_reaches_caller(stack, phones):
    before = stack.last_cdr_id()
    alice, bob = phones("100"), phones("101")
    alice.call(uri("101"))
    bob.wait_for("incoming", 10)
    bob.reject(486)
    assert alice.wait_for("disconnected", 10)["code"] == 486
    assert last_cdr(stack, before)["disposition"] == "busy"


def test_no_answer_ends_after_ring_timeout(stack, phones, ring_timeout):
    ring_timeout(3)
    before = stack.last_cdr_id()
    alice, bob = phones("100"), phones("101")
    alice.call(uri("101"))
    bob.wait_for("incoming", 10)
    bob.answer(180)
    assert alice.wait_for("disconnected", 20)["code"] in (480, 408)
    assert bob.wait_for("disconnected", 10)["code"] == 487
    assert last_cdr(stack, before)["disposition"] == "no_answer"


def test_cancel_before_answer_stops_the_ringing(stack, phones):
    before = stack.last_cdr_id()
    alice, bob = phones("100"), phones("101")
    alice.call(uri("101"))
    bob.wait_for("incoming", 10)
    bob.answer(180)
    alice.wait_for("ringing", 10)
    alice.hangup()
    assert bob.wait_for("disconnected", 10)["code"] == 487
    assert last_cdr(stack, before)["disposition"] == "cancelled"


def test_dtmf_is_relayed_both_ways(stack, phones):
    alice, bob = phones("100"), phones("101")
    alice.call(uri("101"))
    bob.wait_for("incoming", 10)
    bob.answer(200)
    alice.wait_for("confirmed", 10)
    time.sleep(1)
    alice.send_dtmf("147#")
    bob.send_dtmf("0*")
    deadline = time.monotonic() + 10
    while (bob.received_dtmf() != "147#" or alice.received_dtmf() != "0*") and time.monotonic() < deadline:
        time.sleep(0.1)
    assert bob.received_dtmf() == "147#"
    assert alice.received_dtmf() == "0*"
    bob.hangup()
    alice.wait_for("disconnected", 10)


def test_unknown_extension_hears_announcement_then_404(stack, phones, tmp_path):
    alice = phones("100")
    alice.call(uri("555"))
    alice.record(tmp_path / "unknown.wav")
    assert alice.wait_for("ringing", 10)["code"] == 183
    assert alice.wait_for("disconnected", 20)["code"] == 404
    alice.stop_recording()
    assert not is_silent(tmp_path / "unknown.wav")


def test_unregistered_extension_hears_announcement_then_480(stack, phones, tmp_path):
    before = stack.last_cdr_id()
    alice = phones("100")
    alice.call(uri("102"))
    alice.record(tmp_path / "unavailable.wav")
    assert alice.wait_for("ringing", 10)["code"] == 183
    assert alice.wait_for("disconnected", 20)["code"] == 480
    alice.stop_recording()
    assert not is_silent(tmp_path / "unavailable.wav")
    assert last_cdr(stack, before)["disposition"] == "failed"


def test_callee_hangup_ends_the_callers_leg(stack, phones, tmp_path):
    alice, bob = phones("100"), phones("101")
    alice.call(uri("101"))
    bob.wait_for("incoming", 10)
    bob.play_tone(1100)
    bob.answer(200)
    alice.wait_for("confirmed", 10)
    alice.record(tmp_path / "a.wav")
    time.sleep(2)
    alice.stop_recording()
    bob.hangup()
    assert alice.wait_for("disconnected", 10)["code"] == 200
    assert has_tone(tmp_path / "a.wav", 1100)


def test_worker_crash_keeps_other_calls_and_new_calls_work(stack, phones, tmp_path):
    import json
    import os
    import signal

    alice, bob = phones("100"), phones("101")
    # An echo call somewhere, and an A→B call somewhere.
    echo = alice.call(uri(ECHO_TEST))
    alice.wait_for("confirmed", 10, call=echo)
    alice.play_tone(700, call=echo)
    before = stack.last_cdr_id()
    talk = alice.call(uri("101"))
    bob.wait_for("incoming", 10)
    bob.play_tone(1100)
    bob.answer(200)
    alice.wait_for("confirmed", 10, call=talk)
    # Kill the worker holding the echo call.
    rows = {r["call_id"]: r for r in stack.cdrs() if r["end"] is None}
    echo_row = next(r for r in rows.values() if r["callee"] == ECHO_TEST)
    talk_row = next(r for r in rows.values() if r["callee"] == "101")
    status = json.loads((stack.settings.run_dir / "callcore.json").read_text())
    victim = next(w for w in status["workers"] if w["name"] == echo_row["worker"])
    # The edge gives a new call to the least-loaded worker: never the echo call's.
    assert echo_row["worker"] != talk_row["worker"]
    os.kill(victim["pid"], signal.SIGKILL)
    # The A→B call on the other worker still carries audio.
    alice.record(tmp_path / "talk.wav", call=talk)
    time.sleep(2)
    alice.stop_recording(call=talk)
    assert has_tone(tmp_path / "talk.wav", 1100)
    assert alice.saw("disconnected", call=talk) == []
    # The crashed worker's call is closed as failed.
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        crashed = next(r for r in stack.cdrs() if r["id"] == echo_row["id"])
        if crashed["end"] is not None:
            break
        time.sleep(0.1)
    assert (crashed["disposition"], crashed["hangup_cause"]) == ("failed", "worker crashed")
    alice.hangup(call=echo)
    alice.hangup(call=talk)
    bob.wait_for("disconnected", 10)
    assert last_cdr(stack, before)["disposition"] == "answered"
    # New calls still get through.
    for _ in range(3):
        alice.call(uri(ECHO_TEST))
        alice.wait_for("confirmed", 10)
        alice.hangup()
        alice.wait_for("disconnected", 10)


def test_phone_on_tcp_reaches_the_echo_test(stack, tmp_path):
    phone = TestPhone("tcp-100")
    try:
        assert phone.register("100", USERS["100"][2], "127.0.0.1", stack.settings.sip_port,
                              transport="tcp", domain=DOMAIN) == 200
        phone.call(uri(ECHO_TEST))
        phone.play_tone(700)
        phone.record(tmp_path / "tcp.wav")
        phone.wait_for("confirmed", 10)
        time.sleep(2)
        phone.hangup()
        phone.stop_recording()
    finally:
        phone.close()
    assert has_tone(tmp_path / "tcp.wav", 700)
