"""Calls out through trunks with a scripted channel: the number sent, failover, caller ID, fraud refusals."""

from __future__ import annotations

import pytest

from appliance.callcore.channel import DialOutcome, DialResult
from appliance.dialplan import engine, procedures
from appliance.dialplan.engine import Snapshot
from appliance.system.models import SystemSettings
from appliance.trunks.models import Trunk, TrunkGroup
from appliance.users import create_user, update_user
from tests.support.fake_channel import FakeChannel, make_call


@pytest.fixture
def office(store):
    SystemSettings.update(country="FR", timezone="Europe/Paris").execute()
    create_user({"extension": "100", "first_name": "Alice", "last_name": "Martin"})
    Trunk.create(name="fibre", host="sip.fibre.example", outbound_caller_id="+33176747980")
    Trunk.create(name="backup", host="sip.backup.example", outbound_caller_id="+33176747989")
    TrunkGroup.create(name="lines", members=[{"trunk": "fibre"}, {"trunk": "backup", "strip": 1, "prepend": "0033"}])
    procedures.update_procedure("users", {"numbers": [
        {"number": "0X.", "apps": [{"app": "trunk_group", "trunk_group": "lines"}]},
        {"number": "00X.", "apps": [{"app": "dial_trunk", "trunk": "fibre"}]}]})
    return store


def outcomes(*results: DialResult):
    queue = list(results)
    return lambda targets, timeout: queue.pop(0)


def call_out(settings, number: str, *results: DialResult) -> FakeChannel:
    channel = FakeChannel(caller="100", callee=number, dial_outcome=outcomes(*results))
    call = make_call(settings, channel, procedure="users", user="100")
    engine.run(call, Snapshot.load())
    call.trace.close()
    return channel


ANSWERED = DialResult(DialOutcome.ANSWERED, 200, "OK")


def test_the_provider_gets_e164_and_the_trunk_is_named_for_the_edge(office):
    channel = call_out(office, "0145678901", ANSWERED)
    [(_, targets, _, presented)] = channel.events("dial")
    assert targets == ("+33145678901",)
    assert channel.dial_headers == [{"X-AP-Trunk": "fibre"}]
    assert presented == "+33176747980"  # the appliance's number on that trunk


def test_congestion_fails_over_to_the_next_trunk_with_its_strip_and_prepend(office):
    channel = call_out(office, "0145678901", DialResult(DialOutcome.FAILED, 503, "Service Unavailable"), ANSWERED)
    assert [d[1] for d in channel.events("dial")] == [("+33145678901",), ("0033145678901",)]
    assert [h["X-AP-Trunk"] for h in channel.dial_headers] == ["fibre", "backup"]


@pytest.mark.parametrize("first", [DialResult(DialOutcome.BUSY, 486, "Busy Here"),
                                   DialResult(DialOutcome.NO_ANSWER, 408, "No Answer")])
def test_busy_and_no_answer_fail_over_too(office, first):
    assert len(call_out(office, "0145678901", first, ANSWERED).events("dial")) == 2


def test_a_number_the_provider_refuses_is_not_tried_elsewhere(office):
    channel = call_out(office, "0145678901", DialResult(DialOutcome.UNAVAILABLE, 404, "Not Found"))
    assert len(channel.events("dial")) == 1


def test_caller_id_modes(office):
    update_user("100", {"caller_id_mode": "custom", "caller_id_number": "+33612345678"})
    assert call_out(office, "0145678901", ANSWERED).events("dial")[0][3] == "+33612345678"
    update_user("100", {"caller_id_mode": "anonymous"})
    channel = call_out(office, "0145678901", ANSWERED)
    assert channel.dial_headers == [{"X-AP-Trunk": "fibre", "X-AP-Privacy": "id"}]


def test_a_destination_outside_the_whitelist_is_refused_with_an_announcement_and_403(office):
    from appliance.events.models import Event

    channel = call_out(office, "00881234567")  # an international satellite network
    assert channel.events("dial") == []
    assert ("play", "call_not_allowed") in channel.log and channel.hangup_code == 403
    assert Event.select().where(Event.kind == "fraud.blocked").count() == 1


def test_emergency_numbers_always_go_out(office):
    procedures.update_procedure("users", {"numbers": [
        {"number": "112", "apps": [{"app": "dial_trunk", "trunk": "fibre"}]}]})
    channel = call_out(office, "112", ANSWERED)
    assert [d[1] for d in channel.events("dial")] == [("112",)]


# -- calls in from a trunk -------------------------------------------------------------------------

def call_in(settings, received: str, caller: str = "0612345678", headers: dict | None = None,
            **kwargs) -> FakeChannel:
    channel = FakeChannel(caller=caller, callee=received, **kwargs)
    channel.trunk, channel.headers = "fibre", headers or {}
    engine.route(channel, settings)
    return channel


def test_a_did_sends_the_call_to_its_user_with_the_caller_in_e164(office):
    from appliance.cdr.models import Cdr
    from appliance.trunks.models import Did

    create_user({"extension": "201", "first_name": "Bob", "last_name": "Durand"})
    Did.create(number="0176747983", destination_kind="user", destination="201")
    Cdr.create(call_id="fake-0612345678-0176747983", caller="0612345678", callee="0176747983",
               start="2026-11-24 10:00:00")
    channel = call_in(office, "0176747983", dial_outcome=outcomes(ANSWERED))
    [(_, targets, _, presented)] = channel.events("dial")
    assert targets == ("201",) and presented == "+33612345678"
    row = Cdr.get(Cdr.call_id == "fake-0612345678-0176747983")
    assert (row.direction, row.trunk, row.caller) == ("inbound", "fibre", "+33612345678")


def test_trailing_digits_of_a_did_catch_the_full_number(office):
    from appliance.trunks.models import Did

    create_user({"extension": "202", "first_name": "Carla", "last_name": "Rossi"})
    Did.create(number="6747984", destination_kind="user", destination="202")
    channel = call_in(office, "+33176747984", dial_outcome=outcomes(ANSWERED))
    assert [d[1] for d in channel.events("dial")] == [("202",)]


def test_without_a_did_the_trunk_procedure_routes_the_e164_number(office):
    procedures.update_procedure("main", {"numbers": [
        {"number": "+33176747980", "apps": [{"app": "hangup", "cause": "busy"}]}]})
    assert call_in(office, "0176747980").hangup_code == 486


def test_the_called_number_can_come_from_the_to_header(office):
    Trunk.update(called_header="to").where(Trunk.name == "fibre").execute()
    procedures.update_procedure("main", {"numbers": [
        {"number": "+33176747981", "apps": [{"app": "hangup", "cause": "rejected"}]}]})
    channel = call_in(office, "s", headers={"to": "<sip:+33176747981@pbx.example>;tag=x"})
    assert channel.hangup_code == 603


def test_a_group_members_channel_limit_is_checked_and_taken_at_once(office):
    import datetime as dt
    import uuid

    from appliance.cdr.models import Cdr
    from appliance.trunks.outbound import claim

    calls = [Cdr.create(call_id=uuid.uuid4().hex, caller="100", callee="0145678901", start=dt.datetime.utcnow())
             for _ in range(3)]
    record = {"direction": "outbound", "call_class": "national", "dialled": "+33145678901"}
    assert claim(calls[0].call_id, "fibre", 1, record)
    assert not claim(calls[1].call_id, "fibre", 1, record)
    assert claim(calls[1].call_id, "backup", 1, record)
    assert claim(calls[2].call_id, "fibre", 0, record)  # no limit for this route
    assert [(c.trunk, c.direction) for c in Cdr.select().order_by(Cdr.id)] == [
        ("fibre", "outbound"), ("backup", "outbound"), ("fibre", "outbound")]
