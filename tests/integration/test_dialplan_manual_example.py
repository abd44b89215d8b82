"""The start guide's example "main" and "users" procedures, configured through the API, routing real calls.

The manual's company has three public numbers. +33 176747980 (reception):
mobility lookup, closed-office time range -> "bureau_ferme", voicemail
switch -> "messagerie_vocale", then the IVR "svi" (1: technical support
group, 2: sales). +33 176747983 (support): closed-office check, switch
check, the group "assistance_tech", and when nobody answers in time
"messagerie_vocale". Voicemail is issue 4: until then its procedure plays
a spoken sound, as the issue says.

Trunks are issue 5: the calls "from the provider" are placed by test phone
300, whose own procedure "provider" sets the caller number the provider
would present and the public number it would deliver, then goes to "main".
Which branch a call took is read from what a user notices (which phone
rings, what the caller hears) and from the call's debug trace (API).
"""

from __future__ import annotations

import time

import pytest

from tests.support import audio
from tests.support.stack_lab import StackLab, running_lab

PASSWORD = "Phone-Secret-Xy9q"
PEOPLE = {"201": ("Alice", "Support"), "202": ("Bruno", "Support"), "203": ("Carla", "Sales"),
          "204": ("Dario", "Mobile"), "205": ("Ella", "Callback"), "300": ("Provider", "Line"),
          # Ella's mobile: with no trunk yet (issue 5), a phone the SIP edge can reach stands in for it.
          "7912345": ("Ella's", "Mobile")}
DARIO_MOBILE = "+41791234567"
ELLA_MOBILE = "7912345"
OPEN = "2026-11-24T10:00:00+01:00"         # a Tuesday morning in Paris
CLOSED = "2026-11-24T20:30:00+01:00"       # the same Tuesday evening
CHRISTMAS = "2026-12-25T10:00:00+01:00"    # a Friday morning, but a public holiday in France
PARIS = {"country": "FR", "timezone": "Europe/Paris"}


def provider_numbers() -> list[dict]:
    """What phone 300 dials -> what the provider would deliver to "main"."""
    def deliver(dialled: str, public: str, caller: str) -> dict:
        return {"number": dialled, "apps": [{"app": "set_caller", "number": caller},
                                            {"app": "set_called", "number": public},
                                            {"app": "goto", "procedure": "main"}]}
    return [deliver("980", "+33176747980", "+41441234567"),
            deliver("983", "+33176747983", "+41441234567"),
            deliver("990", "+33176747980", DARIO_MOBILE),
            deliver("991", "+33176747999", ELLA_MOBILE),
            {"number": "986", "apps": [{"app": "music_on_hold", "seconds": 3}, {"app": "hangup"}]}]


def configuration() -> list[tuple[str, str, dict]]:
    """The manual's example, in the order an installer creates it (method, path, body)."""
    p = "/api/v1/dialplan"
    return [
        ("PUT", "/api/v1/settings", PARIS),
        ("POST", "/api/v1/sounds/tts", {"name": "closed", "language": "en",
                                        "text": "Our offices are closed. Your call is transferred to voicemail."}),
        ("POST", "/api/v1/sounds/tts", {"name": "voicemail-soon", "language": "en",
                                        "text": "Please leave a message after the tone."}),
        ("POST", "/api/v1/sounds/tts", {"name": "menu", "language": "en",
                                        "text": "For technical support press 1. For sales press 2."}),
        ("POST", f"{p}/time-ranges", {
            "name": "bureau_ferme", "description": "Office closed",
            "intervals": [{"days": [0, 1, 2, 3, 4], "start": "00:00", "end": "08:00"},
                          {"days": [0, 1, 2, 3, 4], "start": "18:00", "end": "24:00"},
                          {"days": [5, 6], "start": "00:00", "end": "24:00"}],
            "country_holidays": True, "holiday_mode": "inside"}),
        ("POST", f"{p}/switches", {"name": "messagerie", "code": 12, "states": 2}),
        ("POST", f"{p}/procedures", {"name": "messagerie_vocale", "numbers": [{"number": "default", "apps": [
            {"app": "play", "sound": "voicemail-soon"}, {"app": "hangup"}]}]}),
        ("POST", f"{p}/procedures", {"name": "bureau_ferme", "numbers": [{"number": "default", "apps": [
            {"app": "play", "sound": "closed"}, {"app": "goto", "procedure": "messagerie_vocale"}]}]}),
        ("POST", f"{p}/call-groups", {"name": "assistance_tech", "strategy": "ring_all", "ring_seconds": 5,
                                      "members": ["201", "202"], "no_answer_procedure": "messagerie_vocale"}),
        ("POST", f"{p}/procedures", {"name": "ivr", "numbers": [
            {"number": "111", "apps": [{"app": "call_group", "call_group": "assistance_tech"}]},
            {"number": "222", "apps": [{"app": "dial_users", "extensions": ["203"], "ring_seconds": 20},
                                       {"app": "goto", "procedure": "messagerie_vocale"}]}]}),
        ("POST", f"{p}/ivrs", {"name": "svi", "tree": {
            "type": "menu", "sound": "menu", "repeats": 2, "timeout_s": 4,
            "children": {"1": {"type": "action", "procedure": "ivr", "number": "111"},
                         "2": {"type": "action", "procedure": "ivr", "number": "222"}}}}),
        ("PUT", f"{p}/procedures/main", {"numbers": [
            {"number": "+33176747980", "comment": "reception", "apps": [
                {"app": "mobility", "number": "203"},
                {"app": "check_time", "time_range": "bureau_ferme", "procedure": "bureau_ferme"},
                {"app": "check_switch", "switch": "messagerie", "on_procedure": "messagerie_vocale"},
                {"app": "ivr", "ivr": "svi"}]},
            {"number": "+33176747983", "comment": "technical support", "apps": [
                {"app": "check_time", "time_range": "bureau_ferme", "procedure": "bureau_ferme"},
                {"app": "check_switch", "switch": "messagerie", "on_procedure": "messagerie_vocale"},
                {"app": "call_group", "call_group": "assistance_tech"}]},
            {"number": "+33176747999", "comment": "mobility callback line", "apps": [
                {"app": "mobility", "callback": True}, {"app": "hangup", "cause": "rejected"}]}]}),
        # The manual's "users" example, with the trunk applications of issue 5 stood in for by
        # procedures named after the line each pattern would take.
        ("POST", f"{p}/procedures", {"name": "line-mobile", "numbers": [{"number": "default", "apps": [
            {"app": "hangup", "cause": "congestion"}]}]}),
        ("POST", f"{p}/procedures", {"name": "line-fixed", "numbers": [{"number": "default", "apps": [
            {"app": "hangup", "cause": "congestion"}]}]}),
        ("PUT", f"{p}/procedures/users", {"numbers": [
            {"number": "0X.", "apps": [{"app": "set_called", "strip": 1}, {"app": "goto", "procedure": "line-fixed"}]},
            {"number": "0[67].", "apps": [{"app": "set_called", "strip": 1},
                                          {"app": "goto", "procedure": "line-mobile"}]}]}),
        ("POST", f"{p}/procedures", {"name": "provider", "numbers": provider_numbers()}),
        ("PUT", "/api/v1/users/300", {"dialplan": "provider"}),
        ("PUT", "/api/v1/users/204", {"mobile": DARIO_MOBILE}),
        ("PUT", "/api/v1/users/205", {"mobile": ELLA_MOBILE}),
    ]


class Lab(StackLab):
    def call(self, number: str, from_ext: str = "300") -> tuple[float, int]:
        return super().call(from_ext, number)

    def trace_of_last_call(self, caller: str = "300", timeout: float = 20) -> list[dict]:
        """The debug trace (API) of the newest call placed by `caller`, once it has ended."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            mine = [c for c in self.request("GET", "/api/v1/dialplan/traces") if c["caller"] == caller]
            if mine and not mine[0]["live"]:
                return self.request("GET", f"/api/v1/dialplan/traces/{mine[0]['call_id']}")["steps"]
            time.sleep(0.2)
        raise AssertionError("no finished call traced")

    def hang_up(self, extension: str, call: int) -> None:
        self.phones[extension].hangup(call=call)
        self.phones[extension].wait_for("disconnected", 10, call=call)


def caller_number(incoming: dict) -> str:
    """The number in the From header the ringing phone shows."""
    return incoming["headers"]["from"].split("<sip:", 1)[1].split("@", 1)[0]


def gotos(steps: list[dict]) -> list[str]:
    return [s["procedure"] for s in steps if s["event"] == "goto"]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    def configure(lab: Lab) -> None:
        for method, path, body in configuration():
            lab.request(method, path, body)

    people = [(ext, first, last) for ext, (first, last) in PEOPLE.items()]
    with running_lab(Lab, tmp_path_factory.mktemp("manual") / "data", people, PASSWORD, configure) as lab:
        yield lab


@pytest.fixture(autouse=True)
def office_open(lab):
    lab.stack.set_clock(OPEN)
    yield
    lab.api.request("PUT", "/api/v1/dialplan/switches/messagerie/state", {"state": 0})


def test_reception_in_office_hours_reaches_the_ivr_and_sales(lab, tmp_path):
    since, call = lab.call("980")
    phone = lab.phones["300"]
    phone.wait_for("confirmed", 10, call=call)
    phone.record(tmp_path / "menu.wav", call=call)
    time.sleep(2)
    phone.stop_recording(call=call)
    assert not audio.is_silent(tmp_path / "menu.wav")  # the IVR menu is spoken
    phone.send_dtmf("2", call=call)
    ring = lab.wait_ring("203", since)
    # The provider's caller number is presented to Carla.
    assert caller_number(ring) == "+41441234567"
    lab.hang_up("300", call)
    steps = lab.trace_of_last_call()
    assert gotos(steps) == ["main", "ivr"]
    assert not lab.rang("201", since)


def test_reception_when_closed_plays_the_closed_message_then_voicemail(lab, tmp_path):
    lab.stack.set_clock(CLOSED)
    since, call = lab.call("980")
    phone = lab.phones["300"]
    phone.wait_for("confirmed", 10, call=call)
    phone.record(tmp_path / "closed.wav", call=call)
    time.sleep(2)
    phone.stop_recording(call=call)
    phone.wait_for("disconnected", 30, call=call)
    assert not audio.is_silent(tmp_path / "closed.wav")
    assert gotos(lab.trace_of_last_call()) == ["main", "bureau_ferme", "messagerie_vocale"]
    assert not lab.rang("201", since) and not lab.rang("203", since)


def test_a_public_holiday_counts_as_closed(lab):
    lab.stack.set_clock(CHRISTMAS)
    since, call = lab.call("983")
    lab.phones["300"].wait_for("disconnected", 30, call=call)
    steps = lab.trace_of_last_call()
    assert gotos(steps) == ["main", "bureau_ferme", "messagerie_vocale"]
    assert [s["inside"] for s in steps if s["event"] == "result" and "inside" in s] == [True]
    assert not lab.rang("201", since)


def test_voicemail_switch_sends_support_calls_to_voicemail(lab):
    status, body = lab.api.request("PUT", "/api/v1/dialplan/switches/messagerie/state", {"state": 1})
    assert status == 200, body
    since, call = lab.call("983")
    lab.phones["300"].wait_for("disconnected", 30, call=call)
    assert gotos(lab.trace_of_last_call()) == ["main", "messagerie_vocale"]
    assert not lab.rang("201", since)


def test_support_rings_the_group_then_voicemail_when_nobody_answers(lab):
    since, call = lab.call("983")
    lab.wait_ring("201", since)
    lab.wait_ring("202", since)
    # Nobody answers within the group's 5 s: the caller is taken to voicemail.
    lab.phones["300"].wait_for("disconnected", 40, call=call)
    steps = lab.trace_of_last_call()
    assert gotos(steps) == ["main", "messagerie_vocale"]


def test_support_call_answered_by_a_group_member(lab):
    since, call = lab.call("983")
    ring = lab.wait_ring("202", since)
    lab.phones["202"].answer(200, call=ring["call"])
    lab.phones["300"].wait_for("confirmed", 10, call=call)
    lab.hang_up("300", call)
    assert gotos(lab.trace_of_last_call()) == ["main"]


def test_mobility_a_call_from_dario_s_mobile_continues_as_dario(lab):
    since, call = lab.call("990")
    ring = lab.wait_ring("203", since)
    # Carla sees Dario's extension, not his mobile number: the call continues as him, in his procedure.
    assert caller_number(ring) == "204"
    lab.phones["300"].hangup(call=call)
    steps = lab.trace_of_last_call()
    assert gotos(steps) == ["main", "users"]


def test_mobility_callback_hangs_up_calls_the_mobile_back_and_it_dials_as_the_user(lab):
    since, call = lab.call("991")
    # Never answered: the call from the mobile costs its owner nothing.
    ended = lab.phones["300"].wait_for("disconnected", 15, call=call)
    assert not lab.phones["300"].saw("confirmed", call=call), ended
    mobile = lab.phones[ELLA_MOBILE]
    back = lab.wait_ring(ELLA_MOBILE, since)
    mobile.answer(200, call=back["call"])
    mobile.wait_for("confirmed", 10, call=back["call"])
    time.sleep(1.0)  # "dial the number you want to call" starts; digits typed during it count
    mobile.send_dtmf("203#", call=back["call"])
    ring = lab.wait_ring("203", since)
    assert caller_number(ring) == "205"  # Carla sees Ella's extension: she called as herself
    mobile.hangup(call=back["call"])


def test_music_on_hold_plays_then_the_next_application_runs(lab, tmp_path):
    since, call = lab.call("986")
    phone = lab.phones["300"]
    phone.wait_for("confirmed", 10, call=call)
    phone.record(tmp_path / "moh.wav", call=call)
    time.sleep(1.5)
    phone.stop_recording(call=call)
    assert not audio.is_silent(tmp_path / "moh.wav", skip_seconds=0.3)
    # After its 3 s the music stops and "hang up" ends the call.
    phone.wait_for("disconnected", 10, call=call)


@pytest.mark.parametrize("dialled, procedure, entry", [
    ("0612345678", "line-mobile", "0[67]."),
    ("0145678901", "line-fixed", "0X."),
])
def test_users_procedure_sends_mobiles_and_landlines_to_their_lines(lab, dialled, procedure, entry):
    since, call = lab.call(dialled, from_ext="201")
    lab.phones["201"].wait_for("disconnected", 15, call=call)
    steps = lab.trace_of_last_call(caller="201")
    assert [s["entry"] for s in steps if s["event"] == "match"][0] == entry
    assert gotos(steps) == [procedure]
