"""Toll-fraud guards and channel limits end to end: the real stack, a fake provider, test phones.

The provider (tests/support/provider.py) forwards every call the appliance sends out to one
test phone, "the public network" (pstn). Every outbound call is priced (0.12 a call of a few
seconds). A refused call is heard: the caller gets an announcement as early media, then SIP 403
with the reason; the event log (GET /api/v1/events) says why; the provider's phone never rings.

The rate-limit tests set the dialplan's clock to an instant of their own (Stack.set_clock):
the guard counts the calls of the minute before "now", so other tests' calls do not count.
The budget tests run last: they leave outbound blocked, with no unlock left.
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
PEOPLE = [("201", "Alice", "Martin"), ("202", "Bruno", "Durand"), ("203", "Chloe", "Petit"),
          ("204", "David", "Roux")]
# French numbers: 0.02 a minute in 60 s blocks plus 0.10 to connect; a call of a few seconds costs 0.12.
PRICES = "dialprefix,destination,rate,min_duration,billing_block,connect_charge\n33,France,0.02,0,60,0.10\n"
CALL_COST = 0.12

NUMBER = "0145678901"            # dial_trunk acme
VIA_PAIR = "0033145678902"       # trunk_group pair: solo (max 1 call, the edge's limit), then spare
VIA_SOLO = "0033245678903"       # dial_trunk solo alone
VIA_CAPPED = "0033345678904"     # trunk_group capped: acme (1 call for this group), then spare
EMERGENCY = "112"


class Lab(StackLab):
    provider: FakeProvider
    pstn: TestPhone

    def wait_registered(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while self.request("GET", "/api/v1/trunks/acme")["live"]["state"] != "registered":
            assert time.monotonic() < deadline, "the trunk did not register"
            time.sleep(0.3)

    def fraud(self, **changes) -> dict:
        if changes:
            return self.request("PUT", "/api/v1/fraud/settings", changes)
        return self.request("GET", "/api/v1/fraud/settings")

    def last_event_id(self) -> int:
        events = self.request("GET", "/api/v1/events?limit=1000")
        return max((e["id"] for e in events), default=0)

    def events_after(self, after: int, kind: str) -> list[dict]:
        """Events of `kind` written after event id `after`, oldest first."""
        events = self.request("GET", f"/api/v1/events?kind={kind}&limit=1000")
        return sorted((e for e in events if e["id"] > after), key=lambda e: e["id"])

    def newest_cdr(self, caller: str, priced: bool = True, timeout: float = 10) -> dict:
        """The newest CDR of `caller`, once closed (and priced, when `priced`)."""
        deadline = time.monotonic() + timeout
        while True:
            cdr = [c for c in self.stack.cdrs() if c["caller"] == caller][-1]
            done = cdr["end"] is not None and (cdr["cost"] is not None or not priced)
            if done or time.monotonic() > deadline:
                return cdr
            time.sleep(0.2)

    def ring_out(self, caller: str, number: str) -> tuple[float, int, dict]:
        """`caller` calls `number`; the provider's phone rings. Returns (since, caller's call, pstn's ring)."""
        since, call = self.call(caller, number)
        ring = self.pstn.wait_for("incoming", 20)
        assert ring["t"] > since, "the provider's phone rang for an older call"
        return since, call, ring

    def answered_call(self, caller: str, number: str = NUMBER) -> dict:
        """A call out through the provider, answered, then hung up by the caller; returns its CDR."""
        phone = self.phones[caller]
        _, call, ring = self.ring_out(caller, number)
        self.pstn.answer(200, call=ring["call"])
        phone.wait_for("confirmed", 10, call=call)
        talk_a_moment()
        phone.hangup(call=call)
        self.pstn.wait_for("disconnected", 10, call=ring["call"])
        phone.wait_for("disconnected", 10, call=call)
        return self.newest_cdr(caller)

    def busy_call(self, caller: str, number: str = NUMBER) -> None:
        """A call the guard lets through; the provider's phone rings and refuses it (busy)."""
        _, call, ring = self.ring_out(caller, number)
        self.pstn.reject(486, call=ring["call"])
        assert self.phones[caller].wait_for("disconnected", 10, call=call)["code"] == 486

    def refused_call(self, caller: str, number: str, tmp_path) -> dict:
        """A call the guard refuses: the caller hears the announcement (early media), then the SIP
        refusal; the provider's phone does not ring. Returns the caller's "disconnected" event."""
        phone = self.phones[caller]
        since, call = self.call(caller, number)
        phone.wait_for("media", 15, call=call, active=True)
        heard = tmp_path / f"refused-{caller}-{call}.wav"
        phone.record(heard, call=call)
        time.sleep(0.8)
        phone.stop_recording(call=call)
        ended = phone.wait_for("disconnected", 20, call=call)
        assert not audio.is_silent(heard, skip_seconds=0.2), "the refused caller heard nothing"
        assert not [e for e in self.pstn.saw("incoming") if e["t"] > since], "the provider's phone rang"
        return ended

    def trace_of(self, cdr: dict) -> list[dict]:
        return self.request("GET", f"/api/v1/dialplan/traces/{cdr['call_id']}")["steps"]


def talk_a_moment() -> None:
    """A call is billed by the second: one answered and hung up at once lasts 0 s and costs nothing."""
    time.sleep(1.5)


def tried(steps: list[dict]) -> list[tuple]:
    """(trunk, final code) of each trunk a trace shows the call was sent to, in order."""
    return [(s["trunk"], s.get("code")) for s in steps if s["event"] == "result" and "sent" in s]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    root = tmp_path_factory.mktemp("trunk-fraud")
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
        line = {"auth_user": ACCOUNT, "provider_domain": REALM, "host": provider.host, "password": TRUNK_PASSWORD,
                "country_code": "33", "outbound_caller_id": "+33176747980", "price_list": "acme-prices"}
        lab.request("POST", "/api/v1/trunks", {"name": "acme", "register": True, **line})
        # Two more lines to the same provider, authenticated per call: one takes a single call at a time.
        lab.request("POST", "/api/v1/trunks", {"name": "solo", "register": False, "max_calls": 1, **line})
        lab.request("POST", "/api/v1/trunks", {"name": "spare", "register": False, **line})
        lab.request("POST", "/api/v1/trunk-groups", {"name": "pair", "members": ["solo", "spare"]})
        lab.request("POST", "/api/v1/trunk-groups", {"name": "capped", "members": [
            {"trunk": "acme", "max_calls": 1}, {"trunk": "spare"}]})
        lab.request("PUT", "/api/v1/dialplan/procedures/users", {"numbers": [
            {"number": "0X.", "apps": [{"app": "dial_trunk", "trunk": "acme"}]},
            {"number": "00331X.", "apps": [{"app": "trunk_group", "trunk_group": "pair"}]},
            {"number": "00332X.", "apps": [{"app": "dial_trunk", "trunk": "solo"}]},
            {"number": "00333X.", "apps": [{"app": "trunk_group", "trunk_group": "capped"}]},
            {"number": EMERGENCY, "apps": [{"app": "dial_trunk", "trunk": "acme"}]}]})
        # No per-minute limits but in the tests about them: the other tests place calls quickly.
        lab.fraud(calls_per_minute=0, calls_per_minute_per_user=0)

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


@pytest.fixture
def clock(lab):
    """Set the dialplan's clock for one test; real time again afterwards."""
    yield lab.stack.set_clock
    lab.stack.set_clock(None)


# -- per-minute rate limits ---------------------------------------------------------------------------

def test_over_the_per_user_rate_limit_the_next_call_is_refused_and_logged(lab, clock, tmp_path):
    clock("2031-03-04T10:00:00+00:00")
    lab.fraud(calls_per_minute_per_user=2, calls_per_minute=0)
    try:
        lab.busy_call("203")
        lab.busy_call("203")
        before = lab.last_event_id()
        ended = lab.refused_call("203", NUMBER, tmp_path)
        assert (ended["code"], ended["reason"]) == (403, "Too many outbound calls per minute (user)")
        [event] = lab.events_after(before, "fraud.blocked")
        assert (event["subject"], event["details"]["rule"]) == ("203", "rate_user")
        assert event["details"]["destination"] == "+33145678901"
        # The limit is per user: another user's call still goes out.
        lab.busy_call("204")
    finally:
        lab.fraud(calls_per_minute_per_user=0)


def test_over_the_appliance_rate_limit_the_next_call_is_refused_and_logged(lab, clock, tmp_path):
    clock("2031-03-04T11:00:00+00:00")
    lab.fraud(calls_per_minute=2, calls_per_minute_per_user=0)
    try:
        lab.busy_call("201")
        lab.busy_call("202")
        before = lab.last_event_id()
        ended = lab.refused_call("203", NUMBER, tmp_path)
        assert (ended["code"], ended["reason"]) == (403, "Too many outbound calls per minute")
        [event] = lab.events_after(before, "fraud.blocked")
        assert (event["subject"], event["details"]["rule"]) == ("203", "rate_appliance")
        # A minute later the appliance may call again.
        clock("2031-03-04T11:01:30+00:00")
        lab.busy_call("203")
    finally:
        lab.fraud(calls_per_minute=0)


# -- simultaneous calls per user, longest call -------------------------------------------------------

def test_a_user_at_the_simultaneous_call_cap_is_refused_another_call(lab, tmp_path):
    lab.fraud(max_calls_per_user=1)
    chloe = lab.phones["203"]
    try:
        _, first, ring = lab.ring_out("203", NUMBER)
        before = lab.last_event_id()
        ended = lab.refused_call("203", NUMBER, tmp_path)
        assert (ended["code"], ended["reason"]) == (403, "Too many simultaneous outbound calls")
        [event] = lab.events_after(before, "fraud.blocked")
        assert (event["subject"], event["details"]["rule"]) == ("203", "concurrent")
        # The first call was not disturbed: it is answered and both talk.
        lab.pstn.answer(200, call=ring["call"])
        chloe.wait_for("confirmed", 10, call=first)
        chloe.hangup(call=first)
        lab.pstn.wait_for("disconnected", 10, call=ring["call"])
        # Once it ended, the next call goes out.
        lab.busy_call("203")
    finally:
        lab.fraud(max_calls_per_user=2)


def test_of_two_calls_a_user_places_at_once_at_the_cap_only_one_goes_out(lab):
    lab.fraud(max_calls_per_user=1)
    chloe = lab.phones["203"]
    try:
        since = time.monotonic()
        calls = [chloe.call(lab.uri(NUMBER)), chloe.call(lab.uri(NUMBER))]
        ring = lab.pstn.wait_for("incoming", 20)
        deadline = time.monotonic() + 20
        while not (refused := [e for e in chloe.saw("disconnected") if e["call"] in calls]):
            assert time.monotonic() < deadline, "neither call was refused"
            time.sleep(0.1)
        assert [(e["code"], e["reason"]) for e in refused] == [(403, "Too many simultaneous outbound calls")]
        [going] = [c for c in calls if c != refused[0]["call"]]
        lab.pstn.answer(200, call=ring["call"])
        chloe.wait_for("confirmed", 10, call=going)
        chloe.hangup(call=going)
        lab.pstn.wait_for("disconnected", 10, call=ring["call"])
        assert len([e for e in lab.pstn.saw("incoming") if e["t"] > since]) == 1
    finally:
        lab.fraud(max_calls_per_user=2)


def test_an_outbound_call_is_cut_by_the_appliance_at_the_longest_call_duration(lab):
    lab.fraud(max_call_minutes=0.1)  # 6 seconds
    david = lab.phones["204"]
    try:
        _, call, ring = lab.ring_out("204", NUMBER)
        lab.pstn.answer(200, call=ring["call"])
        david.wait_for("confirmed", 10, call=call)
        # Nobody hangs up: the appliance ends the call on both sides.
        david.wait_for("disconnected", 40, call=call)
        lab.pstn.wait_for("disconnected", 10, call=ring["call"])
    finally:
        lab.fraud(max_call_minutes=120)
    cdr = lab.newest_cdr("204")
    assert cdr["disposition"] == "answered" and cdr["billsec"] > 0
    cut = [s for s in lab.trace_of(cdr) if s.get("cut")]
    assert cut and cut[0]["cut"] == "maximum call duration" and cut[0]["seconds"] == 6


# -- channel limits ----------------------------------------------------------------------------------

def test_a_trunk_at_its_channel_limit_sends_the_next_call_to_the_next_trunk_of_the_group(lab):
    first_since, first, first_ring = lab.ring_out("201", VIA_PAIR)
    _, second, second_ring = lab.ring_out("202", VIA_PAIR)
    for caller, call, ring in (("201", first, first_ring), ("202", second, second_ring)):
        lab.pstn.answer(200, call=ring["call"])
        lab.phones[caller].wait_for("confirmed", 10, call=call)
    talk_a_moment()
    for caller, call, ring in (("201", first, first_ring), ("202", second, second_ring)):
        lab.phones[caller].hangup(call=call)
        lab.pstn.wait_for("disconnected", 10, call=ring["call"])
    alice, bruno = lab.newest_cdr("201"), lab.newest_cdr("202")
    assert (alice["trunk"], alice["direction"], alice["cost"]) == ("solo", "outbound", pytest.approx(CALL_COST))
    assert (bruno["trunk"], bruno["direction"], bruno["cost"]) == ("spare", "outbound", pytest.approx(CALL_COST))
    # The second call was refused by the SIP edge on solo (503 Trunk Busy), then went out on spare.
    assert tried(lab.trace_of(alice)) == [("solo", 200)]
    assert tried(lab.trace_of(bruno)) == [("solo", 503), ("spare", 200)]


def test_a_trunk_at_its_channel_limit_without_another_trunk_refuses_the_call_busy(lab):
    _, first, ring = lab.ring_out("201", VIA_SOLO)
    since, second = lab.call("202", VIA_SOLO)
    ended = lab.phones["202"].wait_for("disconnected", 20, call=second)
    assert (ended["code"], ended["reason"]) == (503, "Trunk Busy")
    assert not [e for e in lab.pstn.saw("incoming") if e["t"] > since]
    lab.phones["201"].hangup(call=first)
    lab.pstn.wait_for("disconnected", 10, call=ring["call"])
    bruno = lab.newest_cdr("202", priced=False)
    assert (bruno["trunk"], bruno["answer"], bruno["billsec"]) == ("solo", None, 0)
    assert tried(lab.trace_of(bruno)) == [("solo", 503)]


def test_a_group_members_channel_limit_sends_the_next_call_to_the_next_trunk(lab):
    _, first, first_ring = lab.ring_out("201", VIA_CAPPED)
    _, second, second_ring = lab.ring_out("202", VIA_CAPPED)
    for caller, call, ring in (("201", first, first_ring), ("202", second, second_ring)):
        lab.phones[caller].hangup(call=call)
        lab.pstn.wait_for("disconnected", 10, call=ring["call"])
    alice, bruno = lab.newest_cdr("201", priced=False), lab.newest_cdr("202", priced=False)
    assert (alice["trunk"], bruno["trunk"]) == ("acme", "spare")
    # acme was not even tried for the second call: the group allows it one call at a time.
    steps = lab.trace_of(bruno)
    assert [s["trunk"] for s in steps if s.get("skipped")] == ["acme"]
    assert [t for t, _ in tried(steps)] == ["spare"]


# -- daily budget, emergency numbers, unlock -----------------------------------------------------------

def block_outbound(lab: Lab, tmp_path) -> dict:
    """Spend past the daily budget: a priced call, then the next call is refused. Returns the refusal."""
    spent = lab.fraud(daily_budget=round(lab.fraud()["spent_today"] + 0.05, 2))["spent_today"]
    cdr = lab.answered_call("204")
    assert cdr["cost"] == pytest.approx(CALL_COST)
    assert lab.fraud()["spent_today"] == pytest.approx(spent + CALL_COST)
    return lab.refused_call("204", NUMBER, tmp_path)


def test_over_the_daily_budget_outbound_is_blocked_with_an_announcement_and_events(lab, tmp_path):
    before = lab.last_event_id()
    ended = block_outbound(lab, tmp_path)
    assert (ended["code"], ended["reason"]) == (403, "Daily outbound budget exceeded")
    [exceeded] = lab.events_after(before, "fraud.budget_exceeded")
    assert exceeded["severity"] == "alert" and "blocked until" in exceeded["message"]
    [blocked] = lab.events_after(before, "fraud.blocked")
    assert (blocked["subject"], blocked["details"]["rule"]) == ("204", "budget")
    state = lab.fraud()
    assert state["blocked"] and state["blocked_until"].endswith("T00:00:00Z")
    # Every user is blocked now, until midnight UTC.
    ended = lab.refused_call("201", NUMBER, tmp_path)
    assert (ended["code"], ended["reason"]) == (403, "Outbound calls blocked (daily budget)")
    assert lab.events_after(before, "fraud.blocked")[-1]["details"]["rule"] == "blocked"


def test_an_emergency_number_goes_out_while_outbound_is_blocked_and_is_logged(lab, tmp_path):
    if not lab.fraud()["blocked"]:
        block_outbound(lab, tmp_path)
    before = lab.last_event_id()
    _, call, ring = lab.ring_out("202", EMERGENCY)
    assert (lab.provider.seen("ruri") or "").startswith(f"sip:{EMERGENCY}@")
    lab.pstn.answer(200, call=ring["call"])
    lab.phones["202"].wait_for("confirmed", 10, call=call)
    lab.phones["202"].hangup(call=call)
    lab.pstn.wait_for("disconnected", 10, call=ring["call"])
    [event] = lab.events_after(before, "call.emergency")
    assert (event["subject"], event["details"]["destination"], event["severity"]) == ("202", EMERGENCY, "alert")
    assert lab.events_after(before, "fraud.blocked") == []
    assert lab.newest_cdr("202", priced=False)["call_class"] == "emergency"


def test_unlock_works_twice_in_24_hours_and_the_third_is_refused(lab, tmp_path):
    if not lab.fraud()["blocked"]:
        block_outbound(lab, tmp_path)
    # Less than one call: after an unlock, one call goes out and spends the fresh budget.
    lab.fraud(daily_budget=0.05)
    for left in (1, 0):
        before = lab.last_event_id()
        status = lab.request("POST", "/api/v1/fraud/unlock")
        assert (status["blocked"], status["unlocks_remaining"]) == (False, left)
        [event] = lab.events_after(before, "fraud.unlocked")
        assert event["details"]["unlocks_remaining"] == left
        # Calls go out again, with a fresh budget: the first one spends it, the next is refused.
        assert lab.answered_call("201")["cost"] == pytest.approx(CALL_COST)
        ended = lab.refused_call("201", NUMBER, tmp_path)
        assert (ended["code"], ended["reason"]) == (403, "Daily outbound budget exceeded")
    status, body = lab.api.request("POST", "/api/v1/fraud/unlock", None)
    assert status == 409 and body["field"] == "unlock"
    assert "already unlocked 2 times in the last 24 hours" in body["message"]
    assert lab.fraud()["blocked"]
    ended = lab.refused_call("201", NUMBER, tmp_path)
    assert (ended["code"], ended["reason"]) == (403, "Outbound calls blocked (daily budget)")
