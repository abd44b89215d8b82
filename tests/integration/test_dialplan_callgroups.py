"""Call groups through the real stack: who rings, in which order, busy members, nobody answering.

Groups and the numbers that reach them are configured through the API, as an
installer would: numbers 601-607 of the "users" procedure (what phones' calls
run) each run one group. Members are registered test phones; a phone "rings"
when it gets an INVITE ("incoming" event) and stops when it is cancelled.
Orders are read from the order of those events, never from their timing.
"""

from __future__ import annotations

import time

import pytest

from tests.support import audio
from tests.support.stack_lab import StackLab, running_lab

PASSWORD = "Phone-Secret-2024"
PEOPLE = {"100": "Carl", "101": "Anna", "102": "Bruno", "103": "Chloe", "104": "Dora", "105": "Eve"}
MEMBERS = ("101", "102", "103")
# Short ring times: each member rings 2 s, the group 7 s (three members, one round).
HUNT = {"member_ring_seconds": 2, "ring_seconds": 7, "members": list(MEMBERS)}
GROUPS = {
    # Four members: more than a worker's legs, so the SIP edge forks one leg to all of them.
    "all": ("601", {"strategy": "ring_all", "ring_seconds": 20, "members": [*MEMBERS, "104"]}),
    "seq": ("602", {"strategy": "sequential", **HUNT, "no_answer_procedure": "overflow",
                    "no_answer_number": "699"}),
    "rand": ("603", {"strategy": "random", **HUNT}),
    "rr": ("604", {"strategy": "round_robin", **HUNT}),
    "lr": ("605", {"strategy": "least_recent", **HUNT}),
    "fc": ("606", {"strategy": "fewest_calls", **HUNT}),
    # 105 never registers; 101 would ring 30 s if it were not busy.
    "busy": ("607", {"strategy": "sequential", "ring_seconds": 60, "member_ring_seconds": 20,
                     "members": ["105", {"extension": "101", "ring_seconds": 30}, "102"]}),
    # Rung with music on hold for the caller (number 608 gives the application moh_class "default").
    "music": ("608", {"strategy": "sequential", "ring_seconds": 30, "member_ring_seconds": 15,
                      "members": ["103"]}),
}


class Lab(StackLab):
    def call(self, number: str) -> tuple[float, int]:
        """Carl (100) calls `number`; returns when it was placed and the caller's call id."""
        return super().call("100", number)

    def rings(self, since: float, extensions=MEMBERS) -> list[tuple[float, str, dict]]:
        """(time, extension, event) of every INVITE the members got after `since`, in order."""
        found = [(e["t"], ext, e) for ext in extensions for e in self.phones[ext].saw("incoming") if e["t"] > since]
        return sorted(found, key=lambda item: item[0])

    def ended(self, extension: str, call: int, timeout: float = 15) -> dict:
        return self.phones[extension].wait_for("disconnected", timeout, call=call)

    def answer(self, extension: str, event: dict) -> None:
        self.phones[extension].answer(200, call=event["call"])

    def talk_then_hang_up(self, caller_call: int, extension: str, event: dict) -> None:
        """The member answers, the caller is connected, then hangs up."""
        self.answer(extension, event)
        self.phones["100"].wait_for("confirmed", 10, call=caller_call)
        self.phones["100"].hangup(call=caller_call)
        self.phones["100"].wait_for("disconnected", 10, call=caller_call)
        self.ended(extension, event["call"])


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    def configure(lab: Lab) -> None:
        lab.api.create_user("105", PEOPLE["105"], "Test", PASSWORD)  # a user whose phone never registers
        lab.request("POST", "/api/v1/dialplan/procedures", {
            "name": "overflow", "description": "Nobody in a group answered",
            "numbers": [{"number": "699", "apps": [{"app": "dial_users", "extensions": ["104"]}]}]})
        for name, (_, group) in GROUPS.items():
            lab.request("POST", "/api/v1/dialplan/call-groups", {"name": name, **group})
        lab.request("PUT", "/api/v1/dialplan/procedures/users", {"numbers": [
            {"number": number, "comment": f"group {name}", "apps": [
                {"app": "call_group", "call_group": name, **({"moh_class": "default"} if name == "music" else {})}]}
            for name, (number, _) in GROUPS.items()]})

    people = [(ext, first, "Test") for ext, first in PEOPLE.items() if ext != "105"]
    with running_lab(Lab, tmp_path_factory.mktemp("callgroups") / "data", people, PASSWORD, configure) as lab:
        yield lab


# Each phone stamps its events in its own process: the 487 one phone sends and
# the INVITE the next phone receives right after can be stamped a fraction of a
# millisecond out of order. Ringing in parallel would overlap by whole seconds.
STAMP_SKEW_S = 0.1


def _one_at_a_time(lab: Lab, rings: list[tuple[float, str, dict]]) -> None:
    """Each member's ringing ended before the next member's began."""
    for (_, ext, event), (t_next, _, _) in zip(rings, rings[1:], strict=False):
        ended = [e for e in lab.phones[ext].saw("disconnected", call=event["call"]) if e["t"] > event["t"]]
        assert ended and ended[0]["t"] <= t_next + STAMP_SKEW_S, f"{ext} was still ringing when the next member rang"


def test_ring_all_rings_every_member_at_once_and_the_first_to_answer_gets_the_call(lab):
    since, call = lab.call("601")
    everyone = (*MEMBERS, "104")
    events = {ext: lab.wait_ring(ext, since) for ext in everyone}
    # All four ring together: nobody stopped ringing before the last one started.
    for ext in everyone:
        assert not [e for e in lab.phones[ext].saw("disconnected", call=events[ext]["call"]) if e["t"] > since]
    assert events["102"]["remote_number"] == "100"
    lab.answer("102", events["102"])
    lab.phones["100"].wait_for("confirmed", 10, call=call)
    assert lab.ended("101", events["101"]["call"])["code"] == 487
    assert lab.ended("103", events["103"]["call"])["code"] == 487
    assert lab.ended("104", events["104"]["call"])["code"] == 487
    lab.phones["100"].hangup(call=call)
    lab.ended("102", events["102"]["call"])


def test_sequential_rings_in_list_order_then_the_no_answer_procedure(lab):
    since, call = lab.call("602")
    overflow = lab.wait_ring("104", since, timeout=30)
    rings = lab.rings(since)
    assert [ext for _, ext, _ in rings] == ["101", "102", "103"]
    _one_at_a_time(lab, rings)
    assert rings[-1][0] < overflow["t"]
    # The no-answer procedure "overflow" dialled 104 for the same caller.
    assert overflow["remote_number"] == "100"
    lab.talk_then_hang_up(call, "104", overflow)


def test_random_rings_each_member_once_one_at_a_time_then_the_caller_is_told_no_answer(lab):
    since, call = lab.call("603")
    ended = lab.phones["100"].wait_for("disconnected", 30, call=call)
    rings = lab.rings(since)
    assert sorted(ext for _, ext, _ in rings) == sorted(MEMBERS)
    _one_at_a_time(lab, rings)
    # Nothing after the group in number 603: the call ends the way the last offer ended.
    assert ended["code"] == 480


def test_round_robin_starts_one_member_further_at_the_next_call(lab):
    since, call = lab.call("604")
    first = lab.wait_ring("101", since)
    assert [ext for _, ext, _ in lab.rings(since)] == ["101"]
    lab.talk_then_hang_up(call, "101", first)

    since, call = lab.call("604")
    lab.phones["100"].wait_for("disconnected", 30, call=call)
    rings = lab.rings(since)
    assert [ext for _, ext, _ in rings] == ["102", "103", "101"]
    _one_at_a_time(lab, rings)


def test_least_recent_offers_the_call_to_whoever_waited_longest(lab):
    since, call = lab.call("605")
    lab.wait_ring("101", since)
    answering = lab.wait_ring("102", since)  # 101 rang out first
    lab.talk_then_hang_up(call, "102", answering)

    since, call = lab.call("605")
    first = lab.wait_ring("103", since)  # never offered a call
    assert [ext for _, ext, _ in lab.rings(since)] == ["103"]
    lab.talk_then_hang_up(call, "103", first)

    since, call = lab.call("605")
    first = lab.wait_ring("101", since)  # offered longest ago
    assert [ext for _, ext, _ in lab.rings(since)] == ["101"]
    lab.talk_then_hang_up(call, "101", first)


def test_fewest_calls_offers_the_call_to_whoever_answered_fewest(lab):
    since, call = lab.call("606")
    first = lab.wait_ring("101", since)
    assert [ext for _, ext, _ in lab.rings(since)] == ["101"]
    lab.talk_then_hang_up(call, "101", first)

    since, call = lab.call("606")
    busy = lab.wait_ring("102", since)  # 102 and 103 have answered none; 102 is first in the list
    lab.phones["102"].reject(486, call=busy["call"])
    answering = lab.wait_ring("103", since)
    lab.talk_then_hang_up(call, "103", answering)

    since, call = lab.call("606")
    first = lab.wait_ring("102", since)  # the only one who has answered none
    assert [ext for _, ext, _ in lab.rings(since)] == ["102"]
    lab.talk_then_hang_up(call, "102", first)

    status, group = lab.api.request("GET", "/api/v1/dialplan/call-groups/fc")
    assert status == 200
    assert {s["extension"]: s["calls_answered"] for s in group["stats"]} == {"101": 1, "102": 1, "103": 1}


def test_busy_and_unregistered_members_are_passed_over_at_once(lab):
    since, call = lab.call("607")
    # 105 is not registered: 101 rings next, well before 105's 20 s would be over.
    busy = lab.wait_ring("101", since, timeout=10)
    lab.phones["101"].reject(486, call=busy["call"])
    # 101 is busy: 102 rings next, well before 101's 30 s would be over.
    answering = lab.wait_ring("102", since, timeout=10)
    lab.talk_then_hang_up(call, "102", answering)
    status, group = lab.api.request("GET", "/api/v1/dialplan/call-groups/busy")
    assert status == 200
    stats = {s["extension"]: s for s in group["stats"]}
    assert stats["105"]["last_called_at"] is not None  # offered, and skipped
    assert (stats["101"]["calls_answered"], stats["102"]["calls_answered"]) == (0, 1)


def test_with_music_on_hold_the_caller_is_answered_hears_music_then_the_member(lab, tmp_path):
    since, call = lab.call("608")
    caller = lab.phones["100"]
    caller.wait_for("confirmed", 10, call=call)  # answered by the group, for the music
    ringing = lab.wait_ring("103", since)
    caller.record(tmp_path / "waiting.wav", call=call)
    time.sleep(2.5)
    caller.stop_recording(call=call)
    assert not audio.is_silent(tmp_path / "waiting.wav", skip_seconds=0.3)
    lab.phones["103"].play_tone(1100, call=ringing["call"])
    lab.answer("103", ringing)
    lab.phones["103"].wait_for("confirmed", 10, call=ringing["call"])
    time.sleep(0.5)
    caller.record(tmp_path / "talking.wav", call=call)
    time.sleep(2.5)
    caller.stop_recording(call=call)
    # The member's voice alone: the music stopped at the answer (mixed in, it takes over 10 % of the sound).
    assert audio.has_tone(tmp_path / "talking.wav", 1100, min_share=0.95)
    caller.hangup(call=call)
    lab.ended("103", ringing["call"])
