"""Issue 2's acceptance, on the stack exactly as `appliance run` starts it.

Users are created through the JSON API, phones are pjsua2 test phones, and
what is asserted is what people notice: they register, they ring, they hear
each other, the call history says what happened.
"""

import subprocess
import time

import pytest

from tests.support import audio
from tests.support.kamailio import write_users_csv
from tests.support.phone import TestPhone
from tests.support.ports import free_port_block
from tests.support.stack import Stack

PASSWORD = "Phone-Secret-2024"


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    s = Stack(tmp_path_factory.mktemp("acceptance") / "data").start()
    s.api = s.admin_api()
    yield s
    s.stop()


@pytest.fixture
def phones():
    opened = []

    def open_phone(name):
        phone = TestPhone(name)
        opened.append(phone)
        return phone

    yield open_phone
    for phone in opened:
        phone.close()


def _registered(stack, phone, extension, first, last):
    stack.api.create_user(extension, first, last, PASSWORD)
    assert phone.register(extension, PASSWORD, "127.0.0.1", stack.settings.sip_port) == 200
    return phone


def _cdr_for(stack, caller, callee, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status, rows = stack.api.request("GET", "/api/v1/cdr")
        assert status == 200
        done = [r for r in rows if r["caller"] == caller and r["callee"] == callee and r["end"]]
        if done:
            return done[0]
        time.sleep(0.2)
    raise AssertionError(f"no finished CDR {caller} -> {callee}: {rows}")


def test_two_phones_call_hear_each_other_and_history_says_answered(stack, phones, tmp_path):
    alice = _registered(stack, phones("alice"), "100", "Alice", "Martin")
    bob = _registered(stack, phones("bob"), "101", "Bob", "Durand")

    alice.call(f"sip:101@127.0.0.1:{stack.settings.sip_port}")
    incoming = bob.wait_for("incoming", 10)
    assert incoming["remote_number"] == "100"
    assert incoming["remote_name"] == "Alice Martin"
    bob.answer(180)
    assert alice.wait_for("ringing", 5)["code"] == 180
    alice.play_tone(700)
    alice.record(tmp_path / "alice_hears.wav")
    bob.play_tone(1100)
    bob.record(tmp_path / "bob_hears.wav", call=incoming["call"])
    bob.answer(200)
    alice.wait_for("confirmed", 10)
    time.sleep(3)
    alice.stop_recording()
    bob.stop_recording()
    bob.hangup()
    alice.wait_for("disconnected", 10)

    assert audio.has_tone(tmp_path / "alice_hears.wav", 1100), "Alice did not hear Bob's tone"
    assert audio.has_tone(tmp_path / "bob_hears.wav", 700), "Bob did not hear Alice's tone"
    cdr = _cdr_for(stack, "100", "101")
    assert cdr["disposition"] == "answered"
    assert 2 <= cdr["billsec"] <= 6


def test_echo_test_76_returns_the_callers_own_tone(stack, phones, tmp_path):
    carol = _registered(stack, phones("carol"), "102", "Carol", "Petit")
    carol.call(f"sip:76@127.0.0.1:{stack.settings.sip_port}")
    carol.play_tone(700)
    carol.record(tmp_path / "echo.wav")
    carol.wait_for("confirmed", 10)
    time.sleep(2.5)
    carol.stop_recording()
    carol.hangup()
    carol.wait_for("disconnected", 10)
    assert audio.has_tone(tmp_path / "echo.wav", 700)


def test_unknown_extension_hears_an_announcement_then_404(stack, phones, tmp_path):
    dave = _registered(stack, phones("dave"), "103", "Dave", "Roux")
    dave.call(f"sip:989@127.0.0.1:{stack.settings.sip_port}")
    dave.record(tmp_path / "announcement.wav")
    ended = dave.wait_for("disconnected", 20)
    assert ended["code"] == 404
    dave.stop_recording()
    assert not audio.is_silent(tmp_path / "announcement.wav", skip_seconds=0.2)


def test_registrations_api_lists_the_phone_with_agent_and_source(stack, phones):
    _registered(stack, phones("erin"), "104", "Erin", "Blanc")
    status, rows = stack.api.request("GET", "/api/v1/registrations")
    assert status == 200
    mine = [r for r in rows if r["extension"] == "104"]
    assert mine and mine[0]["source_ip"] == "127.0.0.1" and mine[0]["expires"] > 0
    assert mine[0]["user_agent"]


def test_sipp_registers_with_digest_against_the_stack(stack, tmp_path):
    stack.api.create_user("105", "Sipp", "Tester", PASSWORD)
    users = tmp_path / "users.csv"
    write_users_csv(users, [("105", PASSWORD)])
    port = free_port_block(1)
    result = subprocess.run(
        ["sipp", f"127.0.0.1:{stack.settings.sip_port}", "-sf", "tests/sipp/register_auth.xml",
         "-inf", str(users), "-m", "1", "-i", "127.0.0.1", "-p", str(port), "-nostdin", "-timeout", "20s"],
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stdout[-2000:]
    status, rows = stack.api.request("GET", "/api/v1/registrations")
    assert any(r["extension"] == "105" for r in rows)


def test_user_deleted_while_registered_is_dropped_and_refused(stack, phones):
    frank = _registered(stack, phones("frank"), "106", "Frank", "Noir")
    status, _ = stack.api.request("DELETE", "/api/v1/users/106")
    assert status in (200, 204)
    status, rows = stack.api.request("GET", "/api/v1/registrations")
    assert not any(r["extension"] == "106" for r in rows)
    assert frank.register("106", PASSWORD, "127.0.0.1", stack.settings.sip_port, account="again") in (401, 403)
