"""The dialplan engine with a scripted channel: lookup order, applications, goto, loops, trace."""

from __future__ import annotations

import pytest

from appliance.callcore.channel import DialOutcome, DialResult
from appliance.dialplan import engine, procedures, trace
from appliance.dialplan.engine import Snapshot
from appliance.errors import Conflict, ValidationError
from appliance.users import create_user
from tests.support.fake_channel import FakeChannel, make_call


def plan_of(*rows) -> Snapshot:
    return Snapshot.from_rows(1, [(name, includes, [{"number": n, "apps": [{"app": "hangup", "cause": tag}]}
                                                    for n, tag in numbers]) for name, includes, numbers in rows])


def tag_of(match) -> str | None:
    return None if match is None else match.apps[0]["cause"]


def test_own_numbers_then_includes_in_order_then_default():
    plan = plan_of(
        ("users", ["a", "b"], [("1XX", "own"), ("default", "default")]),
        ("a", [], [("2XX", "a"), ("default", "a-default")]),
        ("b", [], [("2[0-4]X", "b"), ("3XX", "b")]),
    )
    assert tag_of(plan.lookup("users", "123")) == "own"
    # 'a' is searched before 'b' even though b's pattern is narrower: includes go in order.
    assert tag_of(plan.lookup("users", "201")) == "a"
    assert tag_of(plan.lookup("users", "301")) == "b"
    # Nothing matches: this procedure's default (an included procedure's default is ignored).
    assert tag_of(plan.lookup("users", "999")) == "default"
    assert plan.lookup("b", "999") is None


def test_include_cycles_do_not_hang_the_lookup():
    plan = plan_of(("a", ["b"], [("1", "a")]), ("b", ["a"], [("2", "b")]))
    assert tag_of(plan.lookup("a", "2")) == "b"
    assert plan.lookup("a", "3") is None


def test_internal_holds_extensions_and_feature_codes():
    plan = plan_of(("users", ["internal"], []), ("internal", [], []))
    match = plan.lookup("users", "201", extension_exists=lambda n: n == "201")
    assert match.procedure == "internal" and match.apps == [{"app": "dial_users", "extensions": ["201"]}]
    assert plan.lookup("users", "202", extension_exists=lambda n: n == "201") is None
    assert plan.lookup("users", "76").apps == [{"app": "echo"}]
    assert plan.lookup("users", "93").apps == [{"app": "switch_code"}]


# -- running calls through the store's dialplan --------------------------------------------

@pytest.fixture
def users(store):
    for ext, first in (("100", "Alice"), ("201", "Bob"), ("202", "Carol")):
        create_user({"extension": ext, "first_name": first, "last_name": "Test"})
    return store


def run(settings, callee: str, **kwargs) -> FakeChannel:
    channel = FakeChannel(callee=callee, **{k: v for k, v in kwargs.items() if k in ("digits", "dial_outcome")})
    call = make_call(settings, channel, procedure=kwargs.get("procedure", "users"))
    engine.run(call, Snapshot.load())
    call.trace.close()
    return channel


def test_extension_rings_that_user_and_busy_ends_with_486(users):
    channel = run(users, "201", dial_outcome=lambda t, timeout: DialResult(DialOutcome.BUSY, 486, "Busy Here"))
    assert channel.events("dial") == [("dial", ("201",), 30, "100")]
    assert channel.hangup_code == 486


def test_unknown_number_is_announced_then_404(users):
    channel = run(users, "555")
    assert ("play", "no_such_number") in channel.log
    assert channel.hangup_code == 404


def test_applications_run_in_order_and_change_the_called_number(users):
    procedures.update_procedure("users", {"numbers": [
        {"number": "0041.", "apps": [
            {"app": "set_called", "strip": 4, "prefix": "0"},
            {"app": "goto", "procedure": "main"}]}]})
    procedures.update_procedure("main", {"numbers": [
        {"number": "0201", "apps": [{"app": "set_called", "number": "202"}, {"app": "goto", "procedure": "users"}]}]})
    channel = run(users, "0041201")
    # 0041201 -> strip 4 -> 201 -> prefix 0 -> 0201 in main -> custom 202 in users (internal) -> Carol rings.
    assert channel.events("dial")[0][1] == ("202",)


def test_dial_without_answer_continues_with_the_next_application(users):
    procedures.update_procedure("users", {"numbers": [
        {"number": "600", "apps": [
            {"app": "dial_users", "extensions": ["201"], "ring_seconds": 5},
            {"app": "dial_users", "extensions": ["202", "201"], "ring_seconds": 7}]}]})
    channel = run(users, "600")
    assert [d[1:3] for d in channel.events("dial")] == [(("201",), 5), (("202", "201"), 7)]
    assert channel.hangup_code == 480  # the last dial's "no answer"


def test_answered_dial_ends_the_dialplan(users):
    procedures.update_procedure("users", {"numbers": [
        {"number": "600", "apps": [{"app": "dial_users", "extensions": ["201"]}, {"app": "hangup", "cause": "busy"}]}]})
    channel = run(users, "600", dial_outcome=lambda t, timeout: DialResult(DialOutcome.ANSWERED, 200))
    assert len(channel.events("dial")) == 1
    assert channel.hangup_code is None  # BYE after the conversation, not the busy of the next application


def test_hangup_cause_reaches_the_caller(users):
    procedures.update_procedure("users", {"numbers": [{"number": "600", "apps": [{"app": "hangup",
                                                                                   "cause": "congestion"}]}]})
    assert run(users, "600").hangup_code == 503


def test_runtime_goto_loop_is_cut_with_482_and_traced(users):
    # A loop the save check cannot see (it goes through a time-of-day branch both ways).
    procedures.create_procedure({"name": "ping"})
    procedures.create_procedure({"name": "pong", "numbers": [{"number": "X.", "apps": [
        {"app": "goto", "procedure": "ping"}]}]})
    from appliance.dialplan.timeranges import create_time_range

    create_time_range({"name": "always", "intervals": [{"days": [0, 1, 2, 3, 4, 5, 6], "start": "00:00",
                                                        "end": "24:00"}]})
    procedures.update_procedure("ping", {"numbers": [{"number": "X.", "apps": [
        {"app": "check_time", "time_range": "always", "procedure": "pong"}]}]})
    procedures.update_procedure("users", {"numbers": [{"number": "700", "apps": [
        {"app": "goto", "procedure": "ping"}]}]})
    channel = run(users, "700")
    assert channel.hangup_code == 482
    steps = trace.read(users, channel.call_id)
    assert steps[-1]["event"] == "loop"


def test_trace_names_procedure_number_and_applications(users):
    procedures.update_procedure("users", {"numbers": [
        {"number": "6XX", "apps": [{"app": "answer"}, {"app": "hangup"}]}]})
    channel = run(users, "612")
    events = [(s["event"], s.get("procedure"), s.get("entry"), s.get("app")) for s in trace.read(users,
                                                                                                channel.call_id)]
    assert events[:4] == [("start", "users", None, None), ("match", "users", "6XX", None),
                          ("app", None, None, "answer"), ("app", None, None, "hangup")]
    assert events[-1][0] == "end"


# -- saving procedures ----------------------------------------------------------------------

def test_unconditional_goto_cycle_is_refused_naming_the_path(users):
    procedures.create_procedure({"name": "night", "numbers": [{"number": "100", "apps": [
        {"app": "goto", "procedure": "main"}]}]})
    with pytest.raises(ValidationError) as err:
        procedures.update_procedure("main", {"numbers": [{"number": "1XX", "apps": [
            {"app": "answer"}, {"app": "goto", "procedure": "night", "number": "100"}]}]})
    assert err.value.field == "numbers.0.apps"
    assert "goto loop" in err.value.message and "night 100" in err.value.message
    # A goto to itself through a changed number that lands elsewhere is fine.
    procedures.update_procedure("main", {"numbers": [{"number": "1XX", "apps": [
        {"app": "set_called", "number": "201"}, {"app": "goto", "procedure": "users"}]}]})


@pytest.mark.parametrize("numbers, field, message", [
    ([{"number": "1[2", "apps": []}], "numbers.0.number", "closing"),
    ([{"number": "100"}, {"number": "100"}], "numbers.1.number", "already number 1"),
    ([{"number": "1XX"}, {"number": "1xx"}], "numbers.1.number", "already number 1"),
    ([{"number": "100", "apps": [{"app": "fly"}]}], "numbers.0.apps.0.app", "unknown application"),
    ([{"number": "100", "apps": [{"app": "goto"}]}], "numbers.0.apps.0.procedure", "is required"),
    ([{"number": "100", "apps": [{"app": "goto", "procedure": "nowhere"}]}], "numbers.0.apps.0.procedure",
     "no procedure named"),
    ([{"number": "100", "apps": [{"app": "wait", "seconds": "ten"}]}], "numbers.0.apps.0.seconds", "whole number"),
    ([{"number": "100", "apps": [{"app": "wait", "seconds": 0}]}], "numbers.0.apps.0.seconds", "at least 1"),
    ([{"number": "100", "apps": [{"app": "dial_users", "extensions": ["999"]}]}],
     "numbers.0.apps.0.extensions", "no user has the extension"),
    ([{"number": "100", "apps": [{"app": "hangup", "cause": "boom"}]}], "numbers.0.apps.0.cause", "one of"),
    ([{"number": "100", "apps": [{"app": "answer", "colour": "red"}]}], "numbers.0.apps.0.colour", "not an option"),
    ([{"number": "100", "extra": 1}], "numbers.0.extra", "not a field"),
    ("all", "numbers", "must be a list"),
    ([{"number": str(i)} for i in range(501)], "numbers", "at most 500"),
])
def test_bad_procedures_are_refused_with_the_field(users, numbers, field, message):
    with pytest.raises(ValidationError) as err:
        procedures.update_procedure("users", {"numbers": numbers})
    assert (err.value.field, message in err.value.message) == (field, True), err.value


@pytest.mark.parametrize("data, field", [
    ({"name": "Main Office"}, "name"), ({"name": ""}, "name"), ({"name": "x" * 65}, "name"),
    ({"name": "main"}, "name"), ({"name": "ok", "includes": ["ok"]}, "includes.0"),
    ({"name": "ok", "includes": ["missing"]}, "includes.0"), ({"name": "ok", "colour": 1}, "colour"),
])
def test_bad_new_procedures_are_refused(users, data, field):
    with pytest.raises(ValidationError) as err:
        procedures.create_procedure(data)
    assert err.value.field == field


def test_include_cycle_is_refused(users):
    procedures.create_procedure({"name": "a"})
    procedures.create_procedure({"name": "b", "includes": ["a"]})
    with pytest.raises(ValidationError) as err:
        procedures.update_procedure("a", {"includes": ["b"]})
    assert err.value.field == "includes.0" and "cycle" in err.value.message


def test_stale_revision_is_a_conflict_and_internal_is_read_only(users):
    proc = procedures.get_procedure("main")
    procedures.update_procedure("main", {"description": "first", "revision": proc.revision})
    with pytest.raises(Conflict):
        procedures.update_procedure("main", {"description": "second", "revision": proc.revision})
    with pytest.raises(ValidationError):
        procedures.update_procedure("internal", {"numbers": []})


def test_procedure_in_use_cannot_be_deleted_and_says_where(users):
    procedures.create_procedure({"name": "closed"})
    procedures.update_procedure("main", {"numbers": [{"number": "100", "apps": [
        {"app": "goto", "procedure": "closed"}]}]})
    with pytest.raises(Conflict) as err:
        procedures.delete_procedure("closed")
    assert "procedure main, number 100, application 1" in err.value.message
    with pytest.raises(Conflict):
        procedures.delete_procedure("users")


def test_user_in_a_dialplan_cannot_be_deleted(users):
    from appliance.users import delete_user

    procedures.update_procedure("main", {"numbers": [{"number": "100", "apps": [
        {"app": "dial_users", "extensions": ["201"]}]}]})
    with pytest.raises(Conflict) as err:
        delete_user("201")
    assert "procedure main" in err.value.message
    delete_user("202")


def test_disa_routes_the_digits_in_this_procedure_and_times_out_to_the_next_application(users):
    procedures.update_procedure("main", {"numbers": [
        {"number": "default", "apps": [{"app": "disa", "timeout_s": 5},
                                       {"app": "dial_users", "extensions": ["202"]}]},
        {"number": "2XX", "apps": [{"app": "dial_users", "extensions": ["201"]}]}]})
    # The caller types 201: the call goes on in "main" with 201, which rings Bob.
    channel = run(users, "0800", procedure="main", digits=["201"])
    assert ("play", "enter_extension") in channel.log and channel.answered
    assert [d[1] for d in channel.events("dial")] == [("201",)]
    # The caller types nothing: the next application (Carol) rings.
    channel = run(users, "0800", procedure="main", digits=[""])
    assert [d[1] for d in channel.events("dial")] == [("202",)]


def test_disa_digits_never_reach_a_procedure_the_caller_should_not(users):
    # DISA's digits are routed in "main" (trunk calls): an external number typed there finds nothing.
    procedures.update_procedure("users", {"numbers": [{"number": "0X.", "apps": [{"app": "hangup",
                                                                                  "cause": "congestion"}]}]})
    procedures.update_procedure("main", {"numbers": [{"number": "default", "apps": [{"app": "disa"}]}]})
    channel = run(users, "0800", procedure="main", digits=["0041791234567"])
    # main has no entry for it but its default: DISA asks again (the caller says nothing) and the call ends.
    assert channel.events("dial") == []
    assert channel.log.count(("play", "enter_extension")) == 2
    assert not channel.is_up
