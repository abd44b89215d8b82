"""Calls routed by a time range and by a switch, through the real stack.

Configured through the API as an installer would: number 700 of the "users"
procedure (what phones' calls run) checks the switch "night" (on -> the
"night" procedure, where 203 rings), then the time range "office" (inside ->
"open", where 201 rings; otherwise "closed", where 202 rings). The clock is
injected (Stack.set_clock), never waited for. A branch is observed by which
phone rings. The switch is flipped by a registered phone dialling 93, its
code and 1; each step is waited for on the call's dialplan trace
(GET /api/v1/dialplan/traces/<call id>), never for a fixed time.
"""

from __future__ import annotations

import time

import pytest

from tests.support.stack_lab import StackLab, running_lab

PASSWORD = "Phone-Secret-Kiwi9"
PEOPLE = {"200": "Carl", "201": "Anna", "202": "Bruno", "203": "Chloe"}
TARGETS = ("201", "202", "203")
SWITCH_CODE = 7
OFFICE = {
    "name": "office", "description": "Opening hours",
    "intervals": [{"days": [0, 1, 2, 3, 4], "start": "08:00", "end": "12:00"},
                  {"days": [0, 1, 2, 3, 4], "start": "14:00", "end": "18:00"}],
    "holidays": [{"kind": "yearly", "date": "12-24", "name": "Christmas Eve"}],
    "country_holidays": True, "holiday_mode": "outside",
}


class Lab(StackLab):
    def who_rings(self, number: str) -> str:
        """Carl (200) calls `number`; returns the one target that rang, after hanging up."""
        caller = self.phones["200"]
        since = time.monotonic()
        call = caller.call(self.uri(number))
        deadline = time.monotonic() + 10
        rang: list[str] = []
        while not rang and time.monotonic() < deadline:
            ended = caller.saw("disconnected", call=call)
            if ended:
                raise AssertionError(f"the call to {number} ended before anyone rang: {ended[0]}; "
                                     f"CDRs: {self.stack.cdrs()[-3:]}")
            rang = [ext for ext in TARGETS
                    if any(e["t"] > since for e in self.phones[ext].saw("incoming"))]
            time.sleep(0.05)
        caller.hangup(call=call)
        caller.wait_for("disconnected", 10, call=call)
        for ext in rang:
            event = [e for e in self.phones[ext].saw("incoming") if e["t"] > since][0]
            self.phones[ext].wait_for("disconnected", 10, call=event["call"])
        assert len(rang) == 1, f"expected one phone to ring, rang: {rang}"
        return rang[0]

    def switch_state(self) -> int:
        status, body = self.api.request("GET", "/api/v1/dialplan/switches/night")
        assert status == 200, body
        return body["state"]

    def live_trace(self, caller: str, called: str, timeout: float = 10) -> str:
        """The call id of the call in progress from `caller` to `called` (its dialplan trace exists)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status, calls = self.api.request("GET", "/api/v1/dialplan/traces")
            assert status == 200, calls
            live = [c for c in calls if c["live"] and c["caller"] == caller and c["callee"] == called]
            if live:
                return live[0]["call_id"]
            time.sleep(0.1)
        raise AssertionError(f"no call in progress from {caller} to {called}")

    def steps(self, call_id: str) -> list[dict]:
        status, body = self.api.request("GET", f"/api/v1/dialplan/traces/{call_id}")
        return [s for s in body["steps"] if s["event"] == "result"] if status == 200 else []

    def press(self, extension: str, call: int, call_id: str, keys: str, timeout: float = 20, **expected) -> dict:
        """Press `keys` and wait for the trace's "result" step with the `expected` fields.

        The feature asks again after an invalid entry (the trace says valid: false); the keys are
        then pressed again, as a person would when told "invalid choice".
        """
        phone = self.phones[extension]
        steps: list[dict] = []
        for _ in range(3):
            invalid_before = sum(1 for s in self.steps(call_id) if s.get("valid") is False)
            phone.send_dtmf(keys, call=call)
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                steps = self.steps(call_id)
                found = [s for s in steps if all(s.get(k) == v for k, v in expected.items())]
                if found:
                    return found[0]
                if sum(1 for s in steps if s.get("valid") is False) > invalid_before:
                    break
                time.sleep(0.1)
            else:
                break
        raise AssertionError(f"no step {expected} in the trace: {steps}")

    def dial_switch(self, extension: str) -> tuple[int, str]:
        """`extension` dials 93 and waits for the answer; returns its call and the call's trace id."""
        phone = self.phones[extension]
        call = phone.call(self.uri("93"))
        phone.wait_for("confirmed", 10, call=call)
        return call, self.live_trace(extension, "93")


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    def configure(lab: Lab) -> None:
        status, body = lab.api.request("POST", "/api/v1/dialplan/time-ranges", OFFICE)
        assert status == 201, body
        status, body = lab.api.request("POST", "/api/v1/dialplan/switches", {
            "name": "night", "description": "Night mode", "code": SWITCH_CODE, "allowed": ["200"]})
        assert status == 201, body
        for name, target in (("open", "201"), ("closed", "202"), ("night", "203")):
            status, body = lab.api.request("POST", "/api/v1/dialplan/procedures", {
                "name": name, "numbers": [{"number": "700", "apps": [
                    {"app": "dial_users", "extensions": [target]}]}]})
            assert status == 201, body
        status, body = lab.api.request("PUT", "/api/v1/dialplan/procedures/users", {"numbers": [
            {"number": "700", "comment": "reception", "apps": [
                {"app": "check_switch", "switch": "night", "on_procedure": "night"},
                {"app": "check_time", "time_range": "office", "when": "inside", "procedure": "open"},
                {"app": "goto", "procedure": "closed"}]}]})
        assert status == 200, body

    people = [(ext, first, "Test") for ext, first in PEOPLE.items()]
    with running_lab(Lab, tmp_path_factory.mktemp("timeswitch") / "data", people, PASSWORD, configure) as lab:
        yield lab


@pytest.mark.parametrize("now, target", [
    ("2026-06-01T10:00:00+02:00", "201"),   # Monday morning: open
    ("2026-06-01T12:30:00+02:00", "202"),   # lunch break: closed
    ("2026-06-01T17:59:00+02:00", "201"),
    ("2026-06-01T18:00:00+02:00", "202"),   # the end is outside
    ("2026-06-06T10:00:00+02:00", "202"),   # Saturday
    ("2026-05-25T10:00:00+02:00", "202"),   # Whit Monday (Easter + 50), a public holiday in France
    ("2027-05-17T10:00:00+02:00", "202"),   # Whit Monday 2027
    ("2026-12-24T10:00:00+01:00", "202"),   # the range's own yearly date
    ("2026-06-01T08:30:00Z", "201"),        # 10:30 in Paris: the clock's zone does not matter
    ("2026-03-30T06:30:00Z", "201"),        # Monday after the spring change: 08:30 CEST
    ("2026-03-27T06:30:00Z", "202"),        # Friday before it: 07:30 CET, not open yet
])
def test_time_range_sends_the_call_to_the_open_or_the_closed_procedure(lab, now, target):
    lab.stack.set_clock(now)
    assert lab.who_rings("700") == target


def test_switch_flipped_by_phone_with_93_sends_calls_to_the_night_procedure(lab):
    lab.stack.set_clock("2026-06-01T10:00:00+02:00")   # open hours: without the switch, 201 rings
    assert lab.switch_state() == 0
    assert lab.who_rings("700") == "201"

    phone = lab.phones["200"]
    call, call_id = lab.dial_switch("200")
    lab.press("200", call, call_id, f"{SWITCH_CODE}#", switch="night", code=str(SWITCH_CODE))
    lab.press("200", call, call_id, "1", switch="night", state="on", by="200")
    ended = phone.wait_for("disconnected", 20, call=call)   # the appliance says goodbye and hangs up
    assert ended["code"] == 200
    assert lab.switch_state() == 1
    status, body = lab.api.request("GET", "/api/v1/dialplan/switches/night")
    assert body["changed_by"] == "phone 200"
    assert lab.who_rings("700") == "203"

    lab.stack.set_clock("2026-06-06T23:00:00+02:00")   # the switch wins over the time range
    assert lab.who_rings("700") == "203"

    status, body = lab.api.request("PUT", "/api/v1/dialplan/switches/night/state", {"state": 0})
    assert status == 200, body
    assert lab.who_rings("700") == "202"


def test_user_not_allowed_is_refused_and_the_switch_stays(lab):
    lab.stack.set_clock("2026-06-01T10:00:00+02:00")
    before = lab.switch_state()
    phone = lab.phones["201"]
    call, call_id = lab.dial_switch("201")
    lab.press("201", call, call_id, f"{SWITCH_CODE}#", switch="night", reason="caller not allowed")
    ended = phone.wait_for("disconnected", 20, call=call)   # told "not allowed", then hung up
    assert ended["code"] == 200
    assert lab.switch_state() == before
    status, body = lab.api.request("GET", "/api/v1/dialplan/switches/night")
    assert body["changed_by"] != "phone 201"
