"""Call groups: strategy order, validation, ringing with a scripted channel, the API and the pages.

Everything here shares one in-process web server and its store (module
scoped): each test uses group names of its own.
"""

from __future__ import annotations

import datetime as dt
import itertools
import random
import re
import urllib.parse

import pytest

from appliance.callcore.channel import Channel, DialOutcome, DialResult
from appliance.dialplan import callgroups
from appliance.dialplan.call import DialplanCall, Goto, Stop
from appliance.dialplan.callgroups import MemberState, ring_order
from appliance.dialplan.models import CallGroupPointer, CallGroupState, Procedure, current_revision
from appliance.dialplan.trace import Trace
from appliance.errors import Conflict, NotFound, ValidationError
from appliance.store import database
from appliance.users import create_user
from tests.support.browser import STRONG, first_login, running_web
from tests.support.fake_channel import FakeChannel

PEOPLE = ("201", "202", "203", "204", "205", "206")


@pytest.fixture(scope="module")
def web(tmp_path_factory):
    running = running_web(tmp_path_factory.mktemp("callgroups"))
    for ext in PEOPLE:
        create_user({"extension": ext, "first_name": "Agent", "last_name": ext})
    yield running
    running.stop()


@pytest.fixture(scope="module")
def browser(web):
    """The admin in a browser (cookie session), after the forced first password change."""
    return first_login(web)


@pytest.fixture(scope="module")
def admin(web, browser):
    """The admin on the API (bearer token)."""
    api = web.client()
    assert api.api_login("admin", STRONG).status == 200
    return api


_names = itertools.count(1)


def _group(web, strategy="sequential", members=("201", "202", "203"), **extra) -> str:
    name = f"g{next(_names)}"
    callgroups.create_group({"name": name, "strategy": strategy, "members": list(members), **extra})
    return name


# -- strategy order (pure) --------------------------------------------------------------------

MEMBERS = ["101", "102", "103", "104"]


def test_sequential_and_ring_all_keep_the_list_order():
    assert ring_order("sequential", MEMBERS) == MEMBERS
    assert ring_order("ring_all", MEMBERS) == MEMBERS


def test_random_rings_everyone_once_in_an_order_that_changes_between_calls():
    orders = {tuple(ring_order("random", MEMBERS, rng=random.Random(seed))) for seed in range(20)}
    assert all(sorted(order) == MEMBERS for order in orders)
    assert len(orders) > 5


def test_round_robin_starts_at_the_pointer_and_wraps_around():
    assert ring_order("round_robin", MEMBERS, start=0) == MEMBERS
    assert ring_order("round_robin", MEMBERS, start=2) == ["103", "104", "101", "102"]
    assert ring_order("round_robin", MEMBERS, start=5) == ["102", "103", "104", "101"]


def test_least_recent_puts_never_called_first_then_the_oldest_offer():
    t = dt.datetime(2026, 3, 1, 9, 0)
    states = {"101": MemberState(t + dt.timedelta(minutes=5)), "102": MemberState(t),
              "104": MemberState(t + dt.timedelta(minutes=1))}
    assert ring_order("least_recent", MEMBERS, states=states) == ["103", "102", "104", "101"]


def test_least_recent_ties_keep_the_list_order():
    assert ring_order("least_recent", MEMBERS, states={}) == MEMBERS


def test_fewest_calls_puts_the_fewest_answered_first_ties_in_list_order():
    states = {"101": MemberState(None, 4), "102": MemberState(None, 1), "103": MemberState(None, 1)}
    assert ring_order("fewest_calls", MEMBERS, states=states) == ["104", "102", "103", "101"]


def test_unknown_strategy_is_an_error():
    with pytest.raises(ValueError):
        ring_order("loudest", MEMBERS)


# -- validation and CRUD ------------------------------------------------------------------------

def _field_of(data: dict) -> str:
    with pytest.raises(ValidationError) as err:
        callgroups.create_group(data)
    return err.value.field


def test_create_stores_members_in_order_with_their_ring_times_and_moves_the_revision(web):
    before = current_revision()
    group = callgroups.create_group({
        "name": "sales", "strategy": "sequential", "ring_seconds": 40, "member_ring_seconds": 10,
        "members": [{"extension": "203", "ring_seconds": 5}, {"extension": "201", "ring_seconds": None}, "202"],
        "no_answer_procedure": "users", "no_answer_number": "204"})
    assert group.members == [{"extension": "203", "ring_seconds": 5}, {"extension": "201", "ring_seconds": None},
                             {"extension": "202", "ring_seconds": None}]
    assert current_revision() == before + 1
    public = callgroups.to_public(callgroups.get_group("sales"))
    assert public["strategy"] == "sequential" and public["revision"] == 1
    assert public["no_answer_procedure"] == "users" and public["no_answer_number"] == "204"
    assert [s["calls_answered"] for s in public["stats"]] == [0, 0, 0]


@pytest.mark.parametrize("data, field", [
    ({"name": "Bad Name", "members": ["201"]}, "name"),
    ({"name": "v1", "members": []}, "members"),
    ({"name": "v1", "members": "201"}, "members"),
    ({"name": "v1", "members": ["201", "999"]}, "members.1.extension"),
    ({"name": "v1", "members": ["201", "202", "201"]}, "members.2.extension"),
    ({"name": "v1", "members": [{"extension": "201", "ring_seconds": 0}]}, "members.0.ring_seconds"),
    ({"name": "v1", "members": [{"extension": "201", "colour": "red"}]}, "members.0.colour"),
    ({"name": "v1", "members": [{"ring_seconds": 5}]}, "members.0.extension"),
    ({"name": "v1", "members": ["201"], "strategy": "loudest"}, "strategy"),
    ({"name": "v1", "members": ["201"], "ring_seconds": 0}, "ring_seconds"),
    ({"name": "v1", "members": ["201"], "ring_seconds": "ten"}, "ring_seconds"),
    ({"name": "v1", "members": ["201"], "member_ring_seconds": 601}, "member_ring_seconds"),
    ({"name": "v1", "members": ["201"], "no_answer_procedure": "nowhere"}, "no_answer_procedure"),
    ({"name": "v1", "members": ["201"], "no_answer_number": "204"}, "no_answer_procedure"),
    ({"name": "v1", "members": ["201"], "no_answer_procedure": "users", "no_answer_number": "12ab"},
     "no_answer_number"),
    ({"name": "v1", "members": ["201"], "stats": []}, "stats"),
    ({"name": "v1", "members": ["201"], "colour": "red"}, "colour"),
    ({"name": "v1"}, "members"),
    ({"members": ["201"]}, "name"),
])
def test_bad_input_names_the_field(web, data, field):
    assert _field_of(data) == field
    with pytest.raises(NotFound):
        callgroups.get_group("v1")


def test_no_duplicate_message_says_where_the_first_one_is(web):
    with pytest.raises(ValidationError) as err:
        callgroups.create_group({"name": "v2", "members": ["201", "202", "201"]})
    assert "position 1" in err.value.message


def test_at_most_50_members(web):
    for ext in range(300, 351):
        create_user({"extension": str(ext), "first_name": "Many", "last_name": str(ext)})
    ok = callgroups.create_group({"name": "big", "members": [str(e) for e in range(300, 350)]})
    assert len(ok.members) == 50
    assert _field_of({"name": "toobig", "members": [str(e) for e in range(300, 351)]}) == "members"


def test_a_second_group_with_the_same_name_is_refused(web):
    name = _group(web)
    assert _field_of({"name": name, "members": ["201"]}) == "name"


def test_update_checks_the_revision_and_never_renames(web):
    name = _group(web)
    group = callgroups.update_group(name, {"revision": 1, "strategy": "fewest_calls", "name": name})
    assert group.strategy == "fewest_calls" and group.revision == 2
    with pytest.raises(Conflict) as err:
        callgroups.update_group(name, {"revision": 1, "strategy": "random"})
    assert err.value.field == "revision"
    with pytest.raises(ValidationError) as err:
        callgroups.update_group(name, {"name": "other"})
    assert err.value.field == "name"
    assert callgroups.get_group(name).strategy == "fewest_calls"


def test_update_keeps_what_it_does_not_mention_and_checks_the_pair_procedure_number(web):
    name = _group(web, ring_seconds=33)
    callgroups.update_group(name, {"description": "Helpdesk"})
    group = callgroups.get_group(name)
    assert (group.description, group.ring_seconds, group.strategy) == ("Helpdesk", 33, "sequential")
    with pytest.raises(ValidationError) as err:
        callgroups.update_group(name, {"no_answer_number": "204"})
    assert err.value.field == "no_answer_procedure"


def test_removed_members_lose_their_counters(web):
    name = _group(web, members=("201", "202"))
    callgroups.record_answer(name, "201")
    callgroups.record_answer(name, "202")
    callgroups.update_group(name, {"members": ["202", "203"]})
    assert set(callgroups.member_stats(name)) == {"202"}


def test_delete_is_refused_while_a_procedure_uses_the_group_and_names_it(web):
    name = _group(web)
    with database.atomic():
        Procedure.create(name=f"uses-{name}", numbers=[
            {"number": "600", "apps": [{"app": "call_group", "call_group": name}]}])
    with pytest.raises(Conflict) as err:
        callgroups.delete_group(name)
    assert f"procedure uses-{name}, number 600, application 1" in err.value.message
    assert callgroups.get_group(name)


def test_delete_removes_the_group_and_its_live_state(web):
    name = _group(web, strategy="round_robin")
    callgroups.take_round_robin_start(name, 3)
    callgroups.record_offer(name, ["201"])
    before = current_revision()
    callgroups.delete_group(name)
    assert current_revision() == before + 1
    with pytest.raises(NotFound):
        callgroups.get_group(name)
    assert CallGroupState.select().where(CallGroupState.group_name == name).count() == 0
    assert CallGroupPointer.get_or_none(CallGroupPointer.group_name == name) is None


def test_a_member_extension_cannot_be_deleted_while_in_a_group(web):
    from appliance.users import delete_user

    create_user({"extension": "290", "first_name": "Kept", "last_name": "Member"})
    name = _group(web, members=("290",))
    with pytest.raises(Conflict) as err:
        delete_user("290")
    assert f"call group {name} (member)" in err.value.message


# -- ringing with a scripted channel --------------------------------------------------------------

class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class ScriptedChannel(FakeChannel):
    """The caller's leg; `dial()` answers from `script` (extension -> outcome, or a list used in turn)."""

    def __init__(self, script: dict, clock: FakeClock | None = None):
        super().__init__(caller="100", callee="600")
        self.caller_name, self.call_id = "Caller", "c1"
        self.script = {ext: list(v) if isinstance(v, list) else v for ext, v in script.items()}
        self.clock = clock
        self.dials: list[tuple[list[str], float]] = []
        self.played: list[tuple[str, bool]] = []

    def _outcome(self, ext: str) -> str:
        value = self.script.get(ext, "no_answer")
        if isinstance(value, list):
            return value.pop(0) if len(value) > 1 else value[0]
        return value

    def dial(self, target_uri, timeout, caller_name="", caller_number="", wait_end=True, headers=None):
        targets = [target_uri] if isinstance(target_uri, str) else list(target_uri)
        exts = [re.match(r"sip:([^@]+)@", t).group(1) for t in targets]
        self.dials.append((exts, timeout))
        outcomes = {ext: self._outcome(ext) for ext in exts}
        if any(o == "hangup" for o in outcomes.values()):
            self._up = False
            return DialResult(DialOutcome.CANCELLED, 487, "Request Terminated")
        winner = next((ext for ext in exts if outcomes[ext] == "answer"), None)
        if winner is not None:
            self._answered = True
            peer = ScriptedChannel({})
            peer.callee = winner
            return DialResult(DialOutcome.ANSWERED, 200, "OK", peer=peer, ended_by="peer", talk_seconds=3)
        if self.clock is not None and "no_answer" in outcomes.values():
            self.clock.now += timeout
        if all(o == "busy" for o in outcomes.values()):
            return DialResult(DialOutcome.BUSY, 486, "Busy Here")
        if all(o == "unavailable" for o in outcomes.values()):
            return DialResult(DialOutcome.UNAVAILABLE, 480, "Temporarily Unavailable")
        return DialResult(DialOutcome.NO_ANSWER, 408, "No Answer")

    def dialled(self) -> list[str]:
        return [",".join(exts) for exts, _ in self.dials]

    def play(self, path, loop=False, wait=True, stop_on_digit=False):
        self.played.append((path, loop))


@pytest.fixture
def clock(monkeypatch):
    fake = FakeClock()
    monkeypatch.setattr(callgroups, "monotonic", fake)
    return fake


def _call(web, channel: Channel) -> DialplanCall:
    return DialplanCall(channel=channel, settings=web.settings, trace=Trace(web.settings, channel.call_id),
                        caller="100", caller_name="Caller", called="600", user="100", procedure="users",
                        language="en", now=lambda: dt.datetime.now(dt.UTC))


def _ring(web, name: str, script: dict, clock=None, moh=None):
    channel = ScriptedChannel(script, clock)
    call = _call(web, channel)
    outcome = callgroups.run(call, name, moh)
    call.trace.close()
    return outcome, channel, call


def _trace_results(call) -> list[dict]:
    import json

    return [json.loads(line) for line in call.trace.path.read_text().splitlines()
            if json.loads(line)["event"] == "result"]


def test_sequential_skips_a_busy_member_at_once_and_the_next_answers(web, clock):
    name = _group(web, "sequential", members=("201", "202", "203"), member_ring_seconds=7)
    outcome, channel, call = _ring(web, name, {"201": "busy", "202": "unavailable", "203": "answer"}, clock)
    assert isinstance(outcome, Stop)
    assert channel.dialled() == ["201", "202", "203"]
    assert [t for _, t in channel.dials] == [7, 7, 7]
    assert clock.now == 1000.0  # nobody rang out: the busy and the unreachable member cost no time
    assert call.last_dial.answered
    assert [(r["member"], r["outcome"]) for r in _trace_results(call)] == [
        ("201", "busy"), ("202", "unavailable"), ("203", "answered")]
    stats = callgroups.member_stats(name)
    assert stats["203"].calls_answered == 1 and "201" in stats and stats["201"].calls_answered == 0


def test_the_answering_leg_is_hung_up_after_the_conversation(web, clock):
    name = _group(web, "sequential", members=("201",))
    outcome, channel, call = _ring(web, name, {"201": "answer"}, clock)
    assert isinstance(outcome, Stop)
    assert not call.last_dial.peer.is_up


def test_each_member_rings_its_own_time_but_never_past_the_group_time(web, clock):
    name = _group(web, "sequential", members=(
        {"extension": "201", "ring_seconds": 4}, {"extension": "202", "ring_seconds": None}, "203"),
        member_ring_seconds=10, ring_seconds=20)
    outcome, channel, _ = _ring(web, name, {}, clock)
    assert outcome is None
    assert channel.dials == [(["201"], 4), (["202"], 10), (["203"], 6)]


def test_when_time_is_left_after_everyone_the_order_starts_again(web, clock):
    name = _group(web, "sequential", members=("201", "202"), member_ring_seconds=15, ring_seconds=50)
    _, channel, _ = _ring(web, name, {}, clock)
    assert channel.dials == [(["201"], 15), (["202"], 15), (["201"], 15), (["202"], 5)]


def test_when_everyone_is_busy_there_is_no_second_round(web, clock):
    name = _group(web, "sequential", members=("201", "202"), ring_seconds=60)
    outcome, channel, call = _ring(web, name, {"201": "busy", "202": "busy"}, clock)
    assert outcome is None
    assert channel.dialled() == ["201", "202"]
    assert call.last_dial.outcome is DialOutcome.BUSY


def test_nobody_answers_goes_to_the_no_answer_destination(web, clock):
    name = _group(web, "sequential", members=("201", "202"), ring_seconds=10, member_ring_seconds=5,
                  no_answer_procedure="users", no_answer_number="204")
    outcome, channel, _ = _ring(web, name, {}, clock)
    assert outcome == Goto("users", "204")
    assert channel.dialled() == ["201", "202"]


def test_nobody_answers_without_destination_continues_with_the_next_application(web, clock):
    name = _group(web, "ring_all", ring_seconds=12)
    outcome, channel, call = _ring(web, name, {}, clock)
    assert outcome is None
    assert call.last_dial.outcome is DialOutcome.NO_ANSWER


def test_ring_all_rings_everyone_at_once_for_the_group_time(web, clock):
    name = _group(web, "ring_all", members=("201", "202", "203"), ring_seconds=25)
    outcome, channel, call = _ring(web, name, {"201": "busy", "203": "answer"}, clock)
    assert isinstance(outcome, Stop)
    assert channel.dials == [(["201", "202", "203"], 25)]
    assert set(callgroups.member_stats(name)) == {"201", "202", "203"}


def test_caller_hanging_up_while_ringing_stops_the_call_and_rings_nobody_else(web, clock):
    name = _group(web, "sequential", members=("201", "202", "203"), no_answer_procedure="users")
    outcome, channel, _ = _ring(web, name, {"201": "no_answer", "202": "hangup"}, clock)
    assert isinstance(outcome, Stop)
    assert channel.dialled() == ["201", "202"]


def test_round_robin_starts_one_further_at_each_call_and_remembers_it(web, clock):
    name = _group(web, "round_robin", members=("201", "202", "203"), member_ring_seconds=5, ring_seconds=15)
    firsts = []
    for _ in range(4):
        _, channel, _ = _ring(web, name, {}, clock)
        firsts.append(channel.dialled())
    assert firsts == [["201", "202", "203"], ["202", "203", "201"], ["203", "201", "202"], ["201", "202", "203"]]
    # The pointer lives in the store: a restarted worker goes on where the last call left it.
    assert CallGroupPointer.get(CallGroupPointer.group_name == name).next_index == 1


def test_least_recent_offers_the_call_to_whoever_waited_longest(web, clock):
    name = _group(web, "least_recent", members=("201", "202", "203"))
    _, first, _ = _ring(web, name, {"201": "no_answer", "202": "answer"}, clock)
    _, second, _ = _ring(web, name, {"203": "answer"}, clock)
    _, third, _ = _ring(web, name, {"201": "answer"}, clock)
    assert first.dialled() == ["201", "202"]
    assert second.dialled() == ["203"]          # never offered a call yet
    assert third.dialled() == ["201"]           # offered longest ago (201 before 202)


def test_fewest_calls_offers_the_call_to_whoever_answered_fewest(web, clock):
    name = _group(web, "fewest_calls", members=("201", "202", "203"))
    _, first, _ = _ring(web, name, {"201": "answer"}, clock)
    _, second, _ = _ring(web, name, {"202": "busy", "203": "answer"}, clock)
    _, third, _ = _ring(web, name, {"202": "answer"}, clock)
    _, fourth, _ = _ring(web, name, {"201": "answer"}, clock)
    assert first.dialled() == ["201"]
    assert second.dialled() == ["202", "203"]
    assert third.dialled() == ["202"]
    assert fourth.dialled() == ["201"]          # all answered one: list order again
    assert {e: s.calls_answered for e, s in callgroups.member_stats(name).items()} == {
        "201": 2, "202": 1, "203": 1}


def test_random_rings_each_member_once_per_round(web, clock):
    name = _group(web, "random", members=("201", "202", "203", "204"), member_ring_seconds=5, ring_seconds=20)
    orders = set()
    for _ in range(8):
        _, channel, _ = _ring(web, name, {}, clock)
        assert sorted(channel.dialled()) == ["201", "202", "203", "204"]
        orders.add(tuple(channel.dialled()))
    assert len(orders) > 1


def test_unknown_group_continues_with_the_next_application(web):
    outcome, channel, call = _ring(web, "no-such-group", {})
    assert outcome is None and channel.dials == []
    assert "no-such-group" in call.trace.path.read_text()


def test_music_on_hold_answers_plays_while_ringing_and_stops_at_the_answer(web, clock, monkeypatch, tmp_path):
    from appliance.sounds import library

    track = tmp_path / "moh.wav"
    track.write_bytes(b"RIFF")
    monkeypatch.setattr(library, "moh_tracks", lambda settings, name: [track], raising=False)
    name = _group(web, "sequential", members=("201", "202"))
    outcome, channel, _ = _ring(web, name, {"202": "answer"}, clock, moh="default")
    assert isinstance(outcome, Stop)
    assert channel.answered and channel.played == [(str(track), True)]
    assert channel.stopped >= 1
    assert channel.dialled() == ["201", "202"]


def test_music_on_hold_unavailable_falls_back_to_ringing(web, clock, monkeypatch):
    from appliance.sounds import library

    def missing(settings, name):
        raise LookupError(f"no music class {name}")

    monkeypatch.setattr(library, "moh_tracks", missing, raising=False)
    name = _group(web, "sequential", members=("201",))
    outcome, channel, call = _ring(web, name, {}, clock, moh="default")
    assert outcome is None
    assert not channel.answered and channel.played == []
    assert "ringing instead" in call.trace.path.read_text()


def test_the_application_runs_the_group(web, clock):
    from appliance.dialplan.apps import REGISTRY, validate_app
    from appliance.dialplan.references import exists

    name = _group(web, "sequential", members=("203",))
    app = validate_app({"app": "call_group", "call_group": name}, "apps.0", exists)
    channel = ScriptedChannel({"203": "answer"}, clock)
    call = _call(web, channel)
    outcome = REGISTRY["call_group"].run(call, {k: v for k, v in app.items() if k != "app"})
    assert isinstance(outcome, Stop) and channel.dialled() == ["203"]
    with pytest.raises(ValidationError) as err:
        validate_app({"app": "call_group", "call_group": "nope"}, "apps.0", exists)
    assert err.value.field == "apps.0.call_group"


# -- the API ------------------------------------------------------------------------------------------

API = "/api/v1/dialplan/call-groups"


def test_api_create_read_list_update_delete(web, admin):
    created = admin.api("POST", API, {"name": "support", "strategy": "round_robin", "ring_seconds": 30,
                                      "members": [{"extension": "202", "ring_seconds": 8}, {"extension": "201"}]})
    assert created.status == 201, created.text
    assert created.header("Location") == f"{API}/support"
    body = created.json()
    assert body["members"] == [{"extension": "202", "ring_seconds": 8}, {"extension": "201", "ring_seconds": None}]
    assert body["revision"] == 1

    listed = admin.api("GET", API)
    assert listed.status == 200 and "support" in [g["name"] for g in listed.json()]
    one = admin.api("GET", f"{API}/support").json()
    assert one["strategy"] == "round_robin" and one["member_ring_seconds"] == 15

    changed = admin.api("PUT", f"{API}/support", {"revision": 1, "members": ["201", "202"],
                                                   "no_answer_procedure": "users"})
    assert changed.status == 200 and changed.json()["revision"] == 2
    assert [m["extension"] for m in changed.json()["members"]] == ["201", "202"]

    stale = admin.api("PUT", f"{API}/support", {"revision": 1, "strategy": "random"})
    assert stale.status == 409 and stale.json()["field"] == "revision"
    rename = admin.api("PUT", f"{API}/support", {"name": "helpdesk"})
    assert rename.status == 400 and rename.json()["field"] == "name"

    assert admin.api("DELETE", f"{API}/support").status == 204
    assert admin.api("GET", f"{API}/support").status == 404
    assert admin.api("DELETE", f"{API}/support").status == 404


def test_api_bad_member_names_the_member_field(web, admin):
    response = admin.api("POST", API, {"name": "bad", "members": ["201", "999"]})
    assert response.status == 400
    assert response.json()["field"] == "members.1.extension"
    assert "999" in response.json()["message"]
    assert admin.api("GET", f"{API}/bad").status == 404


def test_api_delete_of_a_group_in_use_is_409_naming_where(web, admin):
    name = _group(web)
    with database.atomic():
        Procedure.create(name=f"p-{name}", numbers=[
            {"number": "601", "apps": [{"app": "call_group", "call_group": name}]}])
    response = admin.api("DELETE", f"{API}/{name}")
    assert response.status == 409
    assert f"procedure p-{name}, number 601" in response.json()["message"]


def test_api_a_technician_reads_but_does_not_change(web, admin):
    admin.api("POST", "/api/v1/users", {"extension": "280", "first_name": "Tech", "last_name": "Nician",
                                        "role": "technician", "web_password": STRONG})
    tech = web.client()
    assert tech.api_login("280", STRONG).status == 200
    name = _group(web)
    assert tech.api("GET", f"{API}/{name}").status == 200
    assert tech.api("PUT", f"{API}/{name}", {"strategy": "random"}).status == 403
    assert tech.api("DELETE", f"{API}/{name}").status == 403
    assert tech.api("POST", API, {"name": "t1", "members": ["201"]}).status == 403


def test_api_paths_are_in_the_openapi_document(web):
    doc = web.client().api("GET", "/api/v1/openapi.json").json()
    assert set(doc["paths"][API]) == {"get", "post"}
    assert set(doc["paths"][API + "/{name}"]) >= {"get", "put", "delete"}
    assert "CallGroup" in doc["components"]["schemas"]


# -- the pages ------------------------------------------------------------------------------------------

def _post(client, path: str, pairs: list[tuple[str, str]]):
    pairs = [("csrf_token", client.csrf_token())] + pairs
    body = urllib.parse.urlencode(pairs).encode()
    return client.request("POST", path, body, {"Content-Type": "application/x-www-form-urlencoded"})


def _form(name="", members=(), action="save", **fields) -> list[tuple[str, str]]:
    pairs = [("name", name), ("description", ""), ("strategy", "sequential"), ("ring_seconds", "60"),
             ("member_ring_seconds", "15"), ("no_answer_procedure", ""), ("no_answer_number", ""),
             ("add_member", "")]
    pairs = [(k, fields.get(k, v)) for k, v in pairs]
    for ext, ring in members:
        pairs += [("member", ext), ("member_ring", ring)]
    return pairs + [("action", action)]


def test_page_lists_groups_with_strategy_and_members(web, browser):
    name = _group(web, "fewest_calls", members=("202", "201"))
    page = browser.get("/dialplan/groups")
    assert page.status == 200
    row = re.search(rf'<tr data-group="{name}">(.*?)</tr>', page.text, re.S).group(1)
    assert "Fewest answered calls first" in row
    assert row.index("202") < row.index("201") and "Agent 202" in row


def test_page_form_adds_reorders_and_saves_members(web, browser):
    assert browser.get("/dialplan/groups/new").status == 200
    # Add two members (the form comes back with them, nothing saved yet).
    page = _post(browser, "/dialplan/groups/new", _form("desk", [("201", "")], action="add", add_member="203"))
    assert page.status == 200
    assert re.findall(r'name="member" value="(\d+)"', page.text) == ["201", "203"]
    # Move 203 up, then save with a ring time for 201.
    page = _post(browser, "/dialplan/groups/new", _form("desk", [("201", ""), ("203", "")], action="up:1"))
    assert re.findall(r'name="member" value="(\d+)"', page.text) == ["203", "201"]
    saved = _post(browser, "/dialplan/groups/new", _form("desk", [("203", ""), ("201", "9")], strategy="random",
                                                          no_answer_procedure="users", no_answer_number="205"))
    assert saved.status == 303 and saved.header("Location").endswith("/dialplan/groups?saved=desk")
    group = callgroups.get_group("desk")
    assert group.members == [{"extension": "203", "ring_seconds": None}, {"extension": "201", "ring_seconds": 9}]
    assert (group.strategy, group.no_answer_procedure, group.no_answer_number) == ("random", "users", "205")

    edit = browser.get("/dialplan/groups/desk/edit")
    assert edit.status == 200 and re.findall(r'name="member" value="(\d+)"', edit.text) == ["203", "201"]
    removed = _post(browser, "/dialplan/groups/desk/edit",
                    _form("desk", [("203", ""), ("201", "9")], action="remove:0") + [("revision", "1")])
    assert re.findall(r'name="member" value="(\d+)"', removed.text) == ["201"]
    assert callgroups.get_group("desk").revision == 1  # not saved until "save"


def test_page_form_shows_the_error_next_to_the_field(web, browser):
    page = _post(browser, "/dialplan/groups/new", _form("Bad Name", [("201", "")]))
    assert page.status == 400
    assert re.search(r'data-field="name"[^>]*>[^<]*lower-case', page.text)
    page = _post(browser, "/dialplan/groups/new", _form("okname", [("201", "0")]))
    assert page.status == 400 and 'data-field="members.0.ring_seconds"' in page.text


def test_page_edit_with_a_stale_revision_says_so(web, browser):
    name = _group(web)
    callgroups.update_group(name, {"description": "changed elsewhere"})
    page = _post(browser, f"/dialplan/groups/{name}/edit", _form(name, [("201", "")]) + [("revision", "1")])
    assert page.status == 409 and "changed by someone else" in page.text


def test_page_delete_in_use_shows_the_409_message_and_keeps_the_group(web, browser):
    name = _group(web)
    with database.atomic():
        Procedure.create(name=f"q-{name}", numbers=[
            {"number": "602", "apps": [{"app": "call_group", "call_group": name}]}])
    assert browser.get(f"/dialplan/groups/{name}/delete").status == 200
    page = _post(browser, f"/dialplan/groups/{name}/delete", [])
    assert page.status == 409 and f"procedure q-{name}, number 602" in page.text
    assert callgroups.get_group(name)

    other = _group(web)
    done = _post(browser, f"/dialplan/groups/{other}/delete", [])
    assert done.status == 303
    with pytest.raises(NotFound):
        callgroups.get_group(other)

