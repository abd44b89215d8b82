"""The call-core pool driven by real pjsua2 test phones, straight to the workers (no Kamailio).

Kamailio would put `X-AP-Caller` on the INVITEs it dispatches; the phones
add it themselves here. Where the worker calls on (B-legs), a test phone
stands on the SIP edge's port and plays the callee.
"""

from __future__ import annotations

import os
import signal
import socket
import time

import pytest

from appliance.numbering import ECHO_TEST
from tests.support.audio import dominant_frequency, has_tone, is_silent, similarity
from tests.support.phone import TestPhone
from tests.support.phone_lab import CallCoreLab

CALLER = {"X-AP-Caller": "100"}


@pytest.fixture
def lab(tmp_path):
    lab = CallCoreLab(tmp_path / "data", spare_workers=2, workers_max=6)
    lab.open_store()
    lab.add_user("100", "Alice", "Martin", language="en")
    lab.add_user("101", "Bob", "Durand", language="fr")
    yield lab
    assert lab.stop() in (0, None)  # None: the test stopped it its own way


@pytest.fixture
def phones():
    made: list[TestPhone] = []

    def make(name: str) -> TestPhone:
        phone = TestPhone(name)
        made.append(phone)
        return phone

    yield make
    for phone in made:
        phone.close()


def test_worker_answers_options_with_200(lab):
    lab.start()
    port = lab.settings.worker_sip_port(0)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.settimeout(5)
        me = sock.getsockname()[1]
        sock.sendto((
            f"OPTIONS sip:127.0.0.1:{port} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{me};branch=z9hG4bKopt1;rport\r\n"
            f"From: <sip:edge@pbx.local>;tag=1\r\nTo: <sip:127.0.0.1:{port}>\r\nCall-ID: options-1\r\n"
            "CSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n").encode(), ("127.0.0.1", port))
        assert sock.recv(4096).decode().startswith("SIP/2.0 200")


def test_echo_test_returns_callers_own_tone(lab, phones, tmp_path):
    lab.start()
    alice = phones("alice")
    alice.call(lab.worker_uri(ECHO_TEST), headers=CALLER)
    alice.play_tone(700)
    alice.record(tmp_path / "echo.wav")
    alice.wait_for("confirmed", 10)
    time.sleep(3)
    alice.hangup()
    alice.wait_for("disconnected", 10)
    alice.stop_recording()
    assert abs(dominant_frequency(tmp_path / "echo.wav", skip_seconds=1) - 700) < 20
    cdr = lab.wait_cdr(lambda r: r["end"] is not None, what="closed CDR")
    assert (cdr["caller"], cdr["caller_name"], cdr["callee"]) == ("100", "Alice Martin", ECHO_TEST)
    assert cdr["disposition"] == "answered" and cdr["billsec"] >= 2 and cdr["worker"] == "w0"


def test_unknown_extension_hears_announcement_then_404(lab, phones, tmp_path):
    lab.start()
    alice = phones("alice")
    alice.call(lab.worker_uri("555"), headers=CALLER)
    alice.record(tmp_path / "announcement.wav")
    assert alice.wait_for("ringing", 10)["code"] == 183
    assert alice.wait_for("disconnected", 20)["code"] == 404
    alice.stop_recording()
    assert not is_silent(tmp_path / "announcement.wav")
    assert alice.saw("confirmed") == []
    cdr = lab.wait_cdr(lambda r: r["end"] is not None)
    assert cdr["disposition"] == "failed" and cdr["hangup_cause"].startswith("404")


def test_calls_in_progress_are_open_cdrs(lab, phones):
    lab.start()
    alice = phones("alice")
    alice.call(lab.worker_uri(ECHO_TEST), headers=CALLER)
    alice.wait_for("confirmed", 10)
    open_row = lab.wait_cdr(lambda r: r["end"] is None and r["answer"] is not None, what="open answered CDR")
    assert open_row["disposition"] == "in_progress"
    alice.hangup()
    lab.wait_cdr(lambda r: r["end"] is not None and r["id"] == open_row["id"], what="closed CDR")


def test_pool_keeps_spare_workers_and_restarts_crashed_one(lab, phones, tmp_path):
    lab.start()
    # A call on w0 takes it out of the spares: a third worker is started.
    alice, bob = phones("alice"), phones("bob")
    alice.call(lab.worker_uri(ECHO_TEST, 0), headers=CALLER)
    alice.wait_for("confirmed", 10)
    st = lab.wait(lambda st: sum(w["ready"] and w["legs"] == 0 for w in st["workers"]) >= 2
                  and any(w["legs"] == 1 for w in st["workers"]), 20, "two spares beside the busy worker")
    assert len(st["workers"]) == 3
    # A call on w1 goes on while w0 dies.
    bob.call(lab.worker_uri(ECHO_TEST, 1), headers={"X-AP-Caller": "101"})
    bob.play_tone(1100)
    bob.wait_for("confirmed", 10)
    lab.wait_cdr(lambda r: r["worker"] == "w0" and r["end"] is None, what="open CDR on w0")
    w0 = next(w for w in lab.status()["workers"] if w["index"] == 0)
    os.kill(w0["pid"], signal.SIGKILL)
    st = lab.wait(lambda st: any(w["index"] == 0 and w["pid"] != w0["pid"] and w["ready"] for w in st["workers"]),
                  20, "a new w0")
    crashed = lab.wait_cdr(lambda r: r["worker"] == "w0" and r["end"] is not None, what="closed CDR of w0")
    assert crashed["disposition"] == "failed" and crashed["hangup_cause"] == "worker crashed"
    # Bob, on w1, still hears himself.
    bob.record(tmp_path / "bob.wav")
    time.sleep(2)
    bob.stop_recording()
    assert has_tone(tmp_path / "bob.wav", 1100)
    assert bob.saw("disconnected") == []
    bob.hangup()
    alice.hangup()
    # The new w0 takes calls.
    alice.call(lab.worker_uri(ECHO_TEST, 0), headers=CALLER)
    alice.wait_for("confirmed", 10)
    alice.hangup()


def test_worker_never_exceeds_four_legs(lab, phones):
    lab.start()
    first, second = phones("first"), phones("second")
    calls = [first.call(lab.worker_uri(ECHO_TEST, 0), headers=CALLER) for _ in range(3)]
    for cid in calls:
        first.wait_for("confirmed", 10, call=cid)
    fourth = second.call(lab.worker_uri(ECHO_TEST, 0), headers=CALLER)
    second.wait_for("confirmed", 10, call=fourth)
    lab.wait(lambda st: any(w["index"] == 0 and w["legs"] == 4 for w in st["workers"]), 10, "w0 with 4 legs")
    fifth = second.call(lab.worker_uri(ECHO_TEST, 0), headers=CALLER)
    refused = second.wait_for("disconnected", 10, call=fifth)
    assert refused["code"] == 486
    assert all(w["legs"] <= 4 for w in lab.status()["workers"])
    # The other workers still take calls.
    sixth = second.call(lab.worker_uri(ECHO_TEST, 1), headers=CALLER)
    second.wait_for("confirmed", 10, call=sixth)
    for cid in calls:
        first.hangup(call=cid)
    second.hangup(call=fourth)
    second.hangup(call=sixth)
    lab.wait(lambda st: all(w["legs"] == 0 for w in st["workers"]), 10, "all legs gone")


def test_stopping_the_pool_hangs_up_calls_and_leaves_no_worker(lab, phones):
    lab.start()
    alice = phones("alice")
    alice.call(lab.worker_uri(ECHO_TEST), headers=CALLER)
    alice.wait_for("confirmed", 10)
    lab.wait_cdr(lambda r: r["answer"] is not None, what="answered CDR")
    pids = lab.worker_pids()
    assert lab.stop() == 0
    assert alice.wait_for("disconnected", 10)
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    [cdr] = lab.cdrs()
    assert cdr["end"] is not None and cdr["disposition"] == "answered"


def test_workers_die_with_the_pool_parent(lab):
    lab.start()
    pids = lab.worker_pids()
    os.kill(lab.process.pid, signal.SIGKILL)
    lab.process.wait()
    deadline = time.monotonic() + 10
    alive = pids
    while alive and time.monotonic() < deadline:
        alive = [pid for pid in pids if _alive(pid)]
        time.sleep(0.1)
    assert alive == []
    lab.process = None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie waiting for init to reap it is gone for our purpose
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def test_pool_stops_extra_idle_workers_after_a_while(lab, phones):
    lab.start(idle_grace_s=2)
    alice = phones("alice")
    calls = [alice.call(lab.worker_uri(ECHO_TEST, i), headers=CALLER) for i in (0, 1)]
    for cid in calls:
        alice.wait_for("confirmed", 10, call=cid)
    grown = lab.wait(lambda st: sum(w["ready"] and w["legs"] == 0 for w in st["workers"]) >= 2, 20, "new spares")
    assert len(grown["workers"]) == 4
    for cid in calls:
        alice.hangup(call=cid)
    # Four idle workers, two of them beyond the spares: those two go.
    shrunk = lab.wait(lambda st: len(st["workers"]) == 2, 30, "the pool back to its spares")
    assert all(w["legs"] == 0 for w in shrunk["workers"])


@pytest.mark.parametrize("codec", ["PCMA", "PCMU", "G722"])
def test_each_allowed_codec_carries_audio(lab, tmp_path, codec):
    lab.start()
    phone = TestPhone(f"only-{codec}", codecs=codec)
    try:
        phone.call(lab.worker_uri(ECHO_TEST), headers=CALLER)
        phone.play_tone(700)
        phone.record(tmp_path / "echo.wav")
        phone.wait_for("confirmed", 10)
        time.sleep(2)
        phone.hangup()
        phone.stop_recording()
    finally:
        phone.close()
    assert has_tone(tmp_path / "echo.wav", 700)


def test_other_codecs_are_refused(lab):
    lab.start()
    phone = TestPhone("only-gsm", codecs="GSM")
    try:
        phone.call(lab.worker_uri(ECHO_TEST), headers=CALLER)
        assert phone.wait_for("disconnected", 10)["code"] == 488
    finally:
        phone.close()


def test_call_slots_are_reused_without_harming_the_calls_up(lab, phones, tmp_path):
    """pjsua2 reuses call ids: a long call stays up while many short ones come and go."""
    lab.start()
    alice, bob = phones("alice"), phones("bob")
    long_call = alice.call(lab.worker_uri(ECHO_TEST, 0), headers=CALLER)
    alice.wait_for("confirmed", 10, call=long_call)
    alice.play_tone(700, call=long_call)
    for _ in range(10):
        short = bob.call(lab.worker_uri(ECHO_TEST, 0), headers=CALLER)
        bob.wait_for("confirmed", 10, call=short)
        bob.hangup(call=short)
        bob.wait_for("disconnected", 10, call=short)
    alice.record(tmp_path / "long.wav", call=long_call)
    time.sleep(2)
    alice.stop_recording(call=long_call)
    assert alice.saw("disconnected", call=long_call) == []
    assert has_tone(tmp_path / "long.wav", 700)
    alice.hangup(call=long_call)
    closed = lab.wait_cdr(lambda r: r["end"] is not None and r["id"] == 1, what="long call closed")
    assert closed["disposition"] == "answered"
    assert sum(r["disposition"] == "answered" for r in lab.cdrs()) == 11


@pytest.mark.parametrize(("caller", "language"), [("100", "en"), ("101", "fr")])
def test_announcement_is_in_the_callers_language(lab, phones, tmp_path, caller, language):
    from appliance.callcore import prompts

    lab.start()
    phone = phones("caller")
    phone.call(lab.worker_uri("555"), headers={"X-AP-Caller": caller})
    phone.record(tmp_path / "heard.wav")
    phone.wait_for("disconnected", 20)
    phone.stop_recording()
    scores = {lang: similarity(tmp_path / "heard.wav", prompts.prompt_path(lab.settings, "no_such_number", lang))
              for lang in prompts.LANGUAGES}
    assert max(scores, key=scores.get) == language, scores
    assert scores[language] > 0.75, scores


def test_announcement_for_an_unknown_caller_is_in_the_system_language(lab, phones, tmp_path):
    from appliance.callcore import prompts

    lab.set_system(language="de")
    lab.start()
    phone = phones("stranger")
    phone.call(lab.worker_uri("555"), headers={"X-AP-Caller": "999"})
    phone.record(tmp_path / "heard.wav")
    phone.wait_for("disconnected", 20)
    phone.stop_recording()
    scores = {lang: similarity(tmp_path / "heard.wav", prompts.prompt_path(lab.settings, "no_such_number", lang))
              for lang in prompts.LANGUAGES}
    assert max(scores, key=scores.get) == "de", scores
