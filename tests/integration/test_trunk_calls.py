"""Calls to and from the public network through a trunk: the real stack, a fake provider, test phones.

The provider (tests/support/provider.py, a second Kamailio) holds one account
for the appliance; a test phone of its own plays "the public network": calls
the appliance sends out are forwarded to it, and it calls the appliance's
public numbers through the provider, which delivers them to the appliance's
registration as providers do. Everything is configured through the API.
"""

from __future__ import annotations

import time

import pytest

from tests.support import audio
from tests.support.phone import TestPhone
from tests.support.provider import FakeProvider
from tests.support.stack_lab import StackLab, running_lab

PASSWORD = "Phone-Secret-Xy9q"
TRUNK_PASSWORD = "Trunk-Secret-Kq7w"
ACCOUNT = "acme-customer"
REALM = "provider.test"
PEOPLE = [("201", "Alice", "Martin"), ("202", "Bruno", "Durand")]
# French land lines: 0.02 a minute in 60 s blocks plus 0.10 to connect; a call of a few seconds costs 0.12.
PRICES = "dialprefix,destination,rate,min_duration,billing_block,connect_charge\n33,France,0.02,0,60,0.10\n"


class Lab(StackLab):
    provider: FakeProvider
    pstn: TestPhone

    def trunk_state(self) -> str:
        return self.request("GET", "/api/v1/trunks/acme")["live"]["state"]

    def wait_registered(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while self.trunk_state() != "registered":
            assert time.monotonic() < deadline, f"the trunk did not register: {self.trunk_state()}"
            time.sleep(0.3)

    def priced_call(self, caller: str, timeout: float = 10) -> dict:
        """The newest CDR of `caller` once the call core has closed it and written its cost."""
        deadline = time.monotonic() + timeout
        while True:
            cdr = [c for c in self.stack.cdrs() if c["caller"] == caller][-1]
            if cdr["cost"] is not None or time.monotonic() > deadline:
                return cdr
            time.sleep(0.2)

    def pstn_call(self, public_number: str) -> tuple[float, int]:
        since = time.monotonic()
        return since, self.pstn.call(f"sip:{public_number}@127.0.0.1:{self.provider.port}")


# Inbound numbers, one per destination kind, written the ways providers' numbers are: exact E.164,
# trailing digits, a range in national form. Bruno (202) is reached through each kind but "user" (tested
# above) and "external"; a number without an entry goes to the trunk's procedure, `main`, which rings Alice.
DID_DESTINATIONS = {
    "call_group": ("+33176747984", "+33176747984", "202"),
    "ivr": ("7985", "+33176747985", "202"),             # trailing digits; the menu times out to Bruno
    "time_range": ("017674790*", "+33176747901", "202"),  # a range; inside the range: the DID's procedure
    "procedure": ("+33176747988", "+33176747988", "202"),
    "no entry": (None, "+33176747999", "201"),
}


def configure_did_destinations(lab: StackLab) -> None:
    lab.request("POST", "/api/v1/dialplan/procedures", {"name": "to-bruno", "numbers": [
        {"number": "default", "apps": [{"app": "dial_users", "extensions": ["202"]}]}]})
    lab.request("PUT", "/api/v1/dialplan/procedures/main", {"numbers": [
        {"number": "default", "apps": [{"app": "dial_users", "extensions": ["201"]}]}]})
    lab.request("POST", "/api/v1/dialplan/call-groups", {"name": "sales", "strategy": "ring_all",
                                                         "ring_seconds": 30, "members": ["202"]})
    lab.request("POST", "/api/v1/sounds/tts", {"name": "did-menu", "language": "en", "text": "Welcome."})
    lab.request("POST", "/api/v1/dialplan/ivrs", {"name": "did-menu", "tree": {
        "type": "menu", "sound": "did-menu", "repeats": 1, "timeout_s": 1,
        "on_timeout": {"procedure": "to-bruno", "number": ""}}})
    lab.request("POST", "/api/v1/dialplan/time-ranges", {"name": "always", "intervals": [
        {"days": [0, 1, 2, 3, 4, 5, 6], "start": "00:00", "end": "24:00"}]})
    lab.request("PUT", "/api/v1/voicemail/boxes/202", {"enabled": True, "pin": "8642"})
    for kind, (number, _, _) in DID_DESTINATIONS.items():
        if number is None:
            continue
        destination = {"call_group": "sales", "ivr": "did-menu", "time_range": "always"}.get(kind, "")
        lab.request("POST", "/api/v1/dids", {"number": number, "destination_kind": kind, "destination": destination,
                                             "procedure": "to-bruno" if kind in ("time_range", "procedure") else ""})
    lab.request("POST", "/api/v1/dids", {"number": "+33176747986", "destination_kind": "voicemail",
                                         "destination": "202"})
    lab.request("POST", "/api/v1/dids", {"number": "+33176747987", "destination_kind": "external",
                                         "destination": "0145678955"})


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    root = tmp_path_factory.mktemp("trunk-calls")
    pstn = TestPhone("pstn")
    holder: dict = {}

    def configure(lab: Lab) -> None:
        provider = FakeProvider(root / "provider", user=ACCOUNT, password=TRUNK_PASSWORD, realm=REALM,
                                customer_port=lab.stack.settings.sip_port).start()
        holder["provider"] = provider
        provider.forward_to(f"sip:pstn@127.0.0.1:{pstn.sip_port}")
        lab.request("PUT", "/api/v1/settings", {"country": "FR", "timezone": "Europe/Paris"})
        lab.request("POST", "/api/v1/price-lists", {"name": "acme-prices", "currency": "EUR"})
        status, body = lab.api.send("POST", "/api/v1/price-lists/acme-prices/rates", PRICES.encode(), "text/csv")
        assert status == 200, body
        lab.request("POST", "/api/v1/trunks", {
            "name": "acme", "title": "ACME telecom", "auth_user": ACCOUNT, "provider_domain": REALM,
            "host": provider.host, "password": TRUNK_PASSWORD, "register": True, "country_code": "33",
            "outbound_caller_id": "+33176747980", "price_list": "acme-prices"})
        # A second line whose credentials the provider refuses: the edge answers 503, the group fails over.
        lab.request("POST", "/api/v1/trunks", {
            "name": "acme-old", "auth_user": ACCOUNT, "provider_domain": REALM, "host": provider.host,
            "password": "Not-The-Password-1", "register": False, "country_code": "33"})
        lab.request("POST", "/api/v1/trunk-groups", {"name": "lines", "members": [
            {"trunk": "acme-old"}, {"trunk": "acme", "strip": 4, "prepend": "+33"}]})
        lab.request("POST", "/api/v1/dids", {"number": "+33176747983", "destination_kind": "user",
                                             "destination": "202"})
        configure_did_destinations(lab)
        lab.request("PUT", "/api/v1/dialplan/procedures/users", {"numbers": [
            {"number": "0X.", "apps": [{"app": "dial_trunk", "trunk": "acme"}]},
            {"number": "0033X.", "apps": [{"app": "trunk_group", "trunk_group": "lines"}]}]})

    try:
        with running_lab(Lab, root / "data", PEOPLE, PASSWORD, configure) as lab:
            lab.provider, lab.pstn = holder["provider"], pstn
            lab.stack.set_flood_limit(2000)
            lab.wait_registered()
            yield lab
    finally:
        if "provider" in holder:
            holder["provider"].stop()
        pstn.close()


def talk(a: TestPhone, a_call: int, b: TestPhone, b_call: int, tmp_path) -> None:
    """Both sides play a tone and record: each must hear the other's."""
    a.play_tone(700, call=a_call)
    b.play_tone(1100, call=b_call)
    a.record(tmp_path / "a.wav", call=a_call)
    b.record(tmp_path / "b.wav", call=b_call)
    time.sleep(2.0)
    a.stop_recording(call=a_call)
    b.stop_recording(call=b_call)
    assert audio.has_tone(tmp_path / "a.wav", 1100), "the caller did not hear the other side"
    assert audio.has_tone(tmp_path / "b.wav", 700), "the other side did not hear the caller"


def test_a_user_calls_out_through_the_trunk_and_both_hear_each_other(lab, tmp_path):
    alice = lab.phones["201"]
    since, call = lab.call("201", "0145678901")
    ring = lab.pstn.wait_for("incoming", 20)
    # The provider got the number in E.164 and the appliance's number as the caller.
    assert "+33145678901" in (lab.provider.seen("ruri") or "")
    assert "+33176747980" in ring["headers"].get("from", "")
    lab.pstn.answer(200, call=ring["call"])
    alice.wait_for("confirmed", 10, call=call)
    talk(alice, call, lab.pstn, ring["call"], tmp_path)
    alice.hangup(call=call)
    lab.pstn.wait_for("disconnected", 10, call=ring["call"])
    cdr = lab.priced_call("201")
    assert (cdr["direction"], cdr["trunk"], cdr["dialled"], cdr["call_class"]) == (
        "outbound", "acme", "+33145678901", "national")
    assert cdr["billsec"] > 0 and cdr["cost"] == pytest.approx(0.12)


def test_a_trunk_group_fails_over_to_the_next_trunk_with_its_strip_and_prepend(lab):
    alice = lab.phones["201"]
    since, call = lab.call("201", "0033145678902")
    ring = lab.pstn.wait_for("incoming", 30)
    assert ring["t"] > since
    # acme-old was refused (503 from the edge), acme got "+33" + the number without its "0033".
    assert "+33145678902" in (lab.provider.seen("ruri") or "")
    lab.pstn.answer(200, call=ring["call"])
    alice.wait_for("confirmed", 10, call=call)
    alice.hangup(call=call)
    lab.pstn.wait_for("disconnected", 10, call=ring["call"])
    steps = lab.request("GET", "/api/v1/dialplan/traces/" + lab.priced_call("201", timeout=0)["call_id"])["steps"]
    tried = [(s["trunk"], s.get("code")) for s in steps if s["event"] == "result" and "sent" in s]
    assert tried == [("acme-old", 503), ("acme", 200)]


def test_a_call_from_the_public_network_to_a_did_rings_its_user(lab, tmp_path):
    since, call = lab.pstn_call("+33176747983")
    ring = lab.wait_ring("202", since, timeout=20)
    lab.phones["202"].answer(200, call=ring["call"])
    lab.pstn.wait_for("confirmed", 10, call=call)
    talk(lab.pstn, call, lab.phones["202"], ring["call"], tmp_path)
    lab.pstn.hangup(call=call)
    lab.phones["202"].wait_for("disconnected", 10, call=ring["call"])
    cdr = [c for c in lab.stack.cdrs() if c["direction"] == "inbound"][-1]
    # The test phone withholds its number: the call history says so rather than showing nothing.
    assert (cdr["trunk"], cdr["callee"], cdr["caller"]) == ("acme", "+33176747983", "anonymous")


def test_a_destination_outside_the_whitelist_is_refused_with_403_and_an_event(lab, tmp_path):
    alice = lab.phones["201"]
    before = len(lab.request("GET", "/api/v1/events?kind=fraud.blocked"))
    since, call = lab.call("201", "00881234567")
    # Before the 403 the caller hears why (early media).
    alice.wait_for("media", 10, call=call, active=True)
    alice.record(tmp_path / "refused.wav", call=call)
    time.sleep(0.8)
    alice.stop_recording(call=call)
    assert not audio.is_silent(tmp_path / "refused.wav", skip_seconds=0.2)
    ended = alice.wait_for("disconnected", 20, call=call)
    assert ended["code"] == 403
    assert not [e for e in lab.pstn.saw("incoming") if e["t"] > since]
    assert len(lab.request("GET", "/api/v1/events?kind=fraud.blocked")) == before + 1


@pytest.mark.parametrize("kind", list(DID_DESTINATIONS))
def test_an_inbound_number_reaches_its_destination(lab, kind):
    _, called, target = DID_DESTINATIONS[kind]
    since, call = lab.pstn_call(called)
    ring = lab.wait_ring(target, since, timeout=20)
    lab.pstn.hangup(call=call)
    lab.phones[target].wait_for("disconnected", 10, call=ring["call"])


def test_an_inbound_number_sent_to_voicemail_takes_a_message(lab, tmp_path):
    before = len(lab.request("GET", "/api/v1/voicemail/boxes/202/messages"))
    since, call = lab.pstn_call("+33176747986")
    lab.pstn.wait_for("confirmed", 15, call=call)
    time.sleep(1.0)
    lab.pstn.send_dtmf("#", call=call)  # skips the greeting
    time.sleep(1.5)  # the tone
    lab.pstn.play_tone(900, call=call)
    time.sleep(2.0)
    lab.pstn.hangup(call=call)
    deadline = time.monotonic() + 15
    while len(lab.request("GET", "/api/v1/voicemail/boxes/202/messages")) == before:
        assert time.monotonic() < deadline, "no message was left in Bruno's box"
        time.sleep(0.3)


def test_an_inbound_number_forwarded_to_an_external_number_goes_back_out(lab):
    since, call = lab.pstn_call("+33176747987")
    deadline = time.monotonic() + 20
    while not [e for e in lab.pstn.saw("incoming") if e["t"] > since]:
        assert time.monotonic() < deadline, "the forwarded call never reached the public network"
        time.sleep(0.1)
    assert "+33145678955" in (lab.provider.seen("ruri") or "")
    lab.pstn.hangup(call=call)
