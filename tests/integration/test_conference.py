"""Conference rooms on the real stack: test phones in rooms, their tones mixed across call-core workers.

Each phone plays its own tone frequency and records what it hears: it must
hear the others' frequencies and never its own (tolerant in level, strict
in frequency). One stack for the module, with room for enough workers.
"""

from __future__ import annotations

import time

import pytest

from tests.support import audio
from tests.support.stack import Stack

PASSWORD = "Phone-Secret-2024"
# Away from the entry/exit tones (880 / 1320 Hz) and from each other.
TRIO = {"a": 500, "b": 750, "c": 1150}
TEN = [410 + 115 * i for i in range(10)]   # 410 ... 1445 Hz, 115 Hz apart
EXTENSIONS = [str(301 + i) for i in range(14)]


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    s = Stack(tmp_path_factory.mktemp("conference") / "data", spare_workers=6, workers_max=16).start()
    s.api = s.admin_api()
    for extension in EXTENSIONS:
        s.api.create_user(extension, "Conf", extension, PASSWORD)
    yield s
    s.stop()


@pytest.fixture
def phones(stack):
    opened = []

    def open_phone(extension):
        phone = stack.registered_phone(extension, PASSWORD, f"conf-{extension}")
        opened.append(phone)
        return phone

    yield open_phone
    for phone in opened:
        phone.close()


def room(stack, name, number, **fields):
    status, body = stack.api.request("POST", "/api/v1/conferences", {"name": name, "number": number, **fields})
    assert status == 201, body
    return body


def live(stack, name):
    status, body = stack.api.request("GET", f"/api/v1/conferences/{name}/live")
    assert status == 200, body
    return body


def wait_live(stack, name, check, timeout=20.0):
    deadline = time.monotonic() + timeout
    state = live(stack, name)
    while not check(state):
        if time.monotonic() > deadline:
            raise AssertionError(f"room {name} never reached the expected state: {state}")
        time.sleep(0.2)
        state = live(stack, name)
    return state


def join(stack, phone, number, freq, digits="", record_to=None):
    phone.call(f"sip:{number}@127.0.0.1:{stack.settings.sip_port}")
    phone.play_tone(freq)
    if record_to is not None:
        phone.record(record_to)
    phone.wait_for("confirmed", 15)
    if digits:
        time.sleep(0.5)
        phone.send_dtmf(digits)


def record_all(phones_by_name, directory, seconds, tag):
    paths = {name: directory / f"{tag}-{name}.wav" for name in phones_by_name}
    for name, phone in phones_by_name.items():
        phone.record(paths[name])
    time.sleep(seconds)
    for phone in phones_by_name.values():
        phone.stop_recording()
    return paths


def hears(path, freq, share=0.03):
    return audio.has_tone(path, freq, tolerance=20, skip_seconds=0.3, min_share=share)


def test_three_phones_hear_each_other_and_the_moderator_mutes_all(stack, phones, tmp_path):
    room(stack, "trio", "850", moderator_pin="999", announce_count=False)
    trio = {"a": phones("301"), "b": phones("302"), "c": phones("303")}
    join(stack, trio["a"], "850", TRIO["a"], "999#")
    join(stack, trio["b"], "850", TRIO["b"], "#")
    join(stack, trio["c"], "850", TRIO["c"], "#")
    state = wait_live(stack, "trio", lambda s: s["count"] == 3)
    # Who entered first depends on how fast each PIN was read: compare by caller, not by order.
    assert {p["caller"]: p["moderator"] for p in state["participants"]} == {"301": True, "302": False, "303": False}
    time.sleep(0.8)  # past the entry tones
    paths = record_all(trio, tmp_path, 3.0, "all")
    for name, path in paths.items():
        for other, freq in TRIO.items():
            if other == name:
                assert not hears(path, freq, share=0.02), f"{name} hears its own tone"
            else:
                assert hears(path, freq, share=0.1), f"{name} does not hear {other}"

    trio["a"].send_dtmf("1")  # the moderator mutes all
    wait_live(stack, "trio", lambda s: {p["caller"]: p["muted"] for p in s["participants"]} == {
        "301": False, "302": True, "303": True})
    time.sleep(2.5)  # the moderator's confirmation prompt is over
    paths = record_all(trio, tmp_path, 2.5, "muted")
    assert hears(paths["b"], TRIO["a"], share=0.1) and hears(paths["c"], TRIO["a"], share=0.1)
    assert not hears(paths["b"], TRIO["c"], share=0.02), "a muted phone is still heard"
    assert not hears(paths["c"], TRIO["b"], share=0.02), "a muted phone is still heard"
    assert not hears(paths["a"], TRIO["b"], share=0.02) and not hears(paths["a"], TRIO["c"], share=0.02)
    for phone in trio.values():
        phone.hangup()
        phone.wait_for("disconnected", 10)
    wait_live(stack, "trio", lambda s: s["count"] == 0)


def test_pin_is_enforced_three_wrong_pins_end_the_call(stack, phones, tmp_path):
    room(stack, "secret", "851", pin="4321", announce_count=False)
    caller = phones("304")
    join(stack, caller, "851", 600, "1111#2222#3333#")
    caller.wait_for("disconnected", 30)
    assert live(stack, "secret")["count"] == 0
    right = phones("305")
    join(stack, right, "851", 600, "4321#")
    state = wait_live(stack, "secret", lambda s: s["count"] == 1)
    assert state["participants"][0]["caller"] == "305"
    right.hangup()
    wait_live(stack, "secret", lambda s: s["count"] == 0)


def test_the_caller_over_the_limit_hears_the_conference_is_full(stack, phones, tmp_path):
    room(stack, "tiny", "852", max_participants=2, announce_count=False)
    first, second, third = phones("306"), phones("307"), phones("308")
    join(stack, first, "852", 600)
    join(stack, second, "852", 700)
    wait_live(stack, "tiny", lambda s: s["count"] == 2)
    join(stack, third, "852", 800, record_to=tmp_path / "full.wav")
    third.wait_for("disconnected", 20)
    third.stop_recording()
    assert not audio.is_silent(tmp_path / "full.wav", skip_seconds=0.2), "no announcement before the hang-up"
    assert [p["caller"] for p in live(stack, "tiny")["participants"]] == ["306", "307"]
    for phone in (first, second):
        phone.hangup()
    wait_live(stack, "tiny", lambda s: s["count"] == 0)


def test_ten_phones_over_several_workers_hear_every_other_worker_and_never_themselves(stack, phones, tmp_path):
    room(stack, "big", "853", announce_count=False, entry_tones=False, exit_tones=False)
    ten = {EXTENSIONS[i]: phones(EXTENSIONS[i]) for i in range(10)}
    freq = {ext: TEN[i] for i, ext in enumerate(ten)}
    for ext, phone in ten.items():
        join(stack, phone, "853", freq[ext])
    state = wait_live(stack, "big", lambda s: s["count"] == 10, timeout=40)
    worker_of = {p["caller"]: p["worker"] for p in state["participants"]}
    assert len(set(worker_of.values())) >= 3, f"the calls are on too few workers: {worker_of}"
    time.sleep(1.0)
    paths = record_all(ten, tmp_path, 4.0, "ten")
    for ext, path in paths.items():
        assert not hears(path, freq[ext], share=0.01), f"{ext} hears its own tone"
        for other in ten:  # on other workers (through the links) and on its own worker alike
            if other != ext:
                assert hears(path, freq[other], share=0.02), \
                    f"{ext} ({worker_of[ext]}) does not hear {other} ({worker_of[other]})"
    for phone in ten.values():
        phone.hangup()
    wait_live(stack, "big", lambda s: s["count"] == 0)
