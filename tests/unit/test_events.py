"""The event log: recording (never raising), stable kinds and severities, retention, filters, the API and page."""

from __future__ import annotations

import datetime as dt

import peewee
import pytest

from appliance.errors import ValidationError
from appliance.events import log, service
from appliance.events.models import Event
from appliance.users import create_user
from tests.support.browser import STRONG, running_web

NOW = dt.datetime(2026, 11, 24, 10, 0, 0)


@pytest.fixture(scope="module")
def web(tmp_path_factory):
    running = running_web(tmp_path_factory.mktemp("events") / "data")
    client = running.client()
    assert client.api("POST", "/api/v1/session/password", {
        "username": "admin", "current_password": running.admin_password, "new_password": STRONG}).status == 200
    for extension, role in (("380", "technician"), ("381", "user")):
        create_user({"extension": extension, "first_name": "P" + extension, "last_name": "Test", "role": role,
                     "web_password": STRONG})
    yield running
    running.stop()


@pytest.fixture
def store(web, monkeypatch):
    """No events; no pruning on write unless a test asks (the tests' fixed dates may be months old)."""
    Event.delete().execute()
    monkeypatch.setattr(log, "PRUNE_EVERY", 10**9)
    monkeypatch.setattr(log, "_writes", 1)
    yield web.settings


def client_as(web, login: str):
    client = web.client()
    assert client.api_login(login, STRONG).status == 200
    return client


def test_record_uses_the_kind_severity_and_keeps_the_details(store):
    event = log.record("trunk.registration_failed", subject="sip2sip", message="401 Unauthorized",
                       at=dt.datetime(2026, 11, 24, 11, 0, tzinfo=dt.timezone(dt.timedelta(hours=1))),
                       code=401, until=NOW, trunk="sip2sip")
    stored = Event.get_by_id(event.id)
    assert (stored.kind, stored.severity, stored.subject, stored.message) == (
        "trunk.registration_failed", "warning", "sip2sip", "401 Unauthorized")
    assert stored.at == NOW  # aware times are stored in UTC
    assert stored.details == {"code": 401, "until": "2026-11-24T10:00:00Z", "trunk": "sip2sip"}
    assert log.record("trunk.registered", "sip2sip").severity == "info"
    assert log.record("call.emergency", "201").severity == "alert"
    assert log.record("trunk.registered", "x", severity="alert").severity == "alert"
    assert log.record("trunk.registered", "x", severity="bogus").severity == "info"
    assert log.record("trunk.registered", "x" * 500, "m" * 2000).message == "m" * log.MESSAGE_MAX


def test_every_kind_has_a_known_severity_and_a_stable_dotted_name():
    for kind, severity in log.KINDS.items():
        assert severity in log.SEVERITIES
        assert kind.count(".") == 1 and kind == kind.lower() and len(kind) <= 48
    assert {"trunk.registered", "trunk.registration_failed", "trunk.unregistered", "trunk.dns_failed",
            "sip.ip_banned", "call.emergency", "fraud.blocked", "fraud.unlocked", "fraud.budget_exceeded"} <= set(
        log.KINDS)


def test_recording_never_raises_when_the_store_fails(store, monkeypatch):
    def broken(*args, **kwargs):
        raise peewee.OperationalError("database is locked")

    monkeypatch.setattr(Event, "create", broken)
    assert log.record("fraud.blocked", "201", "refused") is None


def test_alert_hook_sends_nothing_without_smtp(store):
    event = log.record("fraud.budget_exceeded", "outbound", "budget reached")
    assert log.notify_admin(event) is False
    assert Event.get_by_id(event.id).emailed is False


def test_retention_prunes_by_age_and_by_count(store, monkeypatch):
    old = log.record("trunk.registered", "old", at=NOW - dt.timedelta(days=log.RETENTION_DAYS + 1))
    kept = log.record("trunk.registered", "recent", at=NOW - dt.timedelta(days=log.RETENTION_DAYS - 1))
    assert log.prune(NOW) == 1
    assert Event.get_or_none(Event.id == old.id) is None and Event.get_or_none(Event.id == kept.id) is not None

    monkeypatch.setattr(log, "MAX_ROWS", 3)
    ids = [log.record("trunk.registered", str(n), at=NOW).id for n in range(5)]
    log.prune(NOW)
    assert [e.id for e in Event.select().order_by(Event.id)] == ids[-3:]


def test_writes_prune_now_and_then(store, monkeypatch):
    monkeypatch.setattr(log, "PRUNE_EVERY", 2)
    monkeypatch.setattr(log, "_writes", 0)
    log.record("trunk.registered", "ancient", at=dt.datetime.utcnow() - dt.timedelta(days=400))  # write 0: prunes
    assert Event.select().where(Event.subject == "ancient").count() == 0
    log.record("trunk.registered", "ancient", at=dt.datetime.utcnow() - dt.timedelta(days=400))  # write 1: not yet
    assert Event.select().where(Event.subject == "ancient").count() == 1


def test_list_filters_by_kind_family_severity_subject_and_time(store):
    log.record("trunk.registered", "a", at=NOW - dt.timedelta(days=2))
    log.record("fraud.blocked", "201", at=NOW - dt.timedelta(hours=1))
    log.record("fraud.unlocked", "admin", at=NOW)
    log.record("call.emergency", "202", at=NOW)

    def kinds(**params):
        return [e.kind for e in service.list_events(service.parse_filter(params))]

    assert kinds() == ["call.emergency", "fraud.unlocked", "fraud.blocked", "trunk.registered"]
    assert kinds(kind="fraud.*") == ["fraud.unlocked", "fraud.blocked"]
    assert kinds(kind="fraud.") == ["fraud.unlocked", "fraud.blocked"]
    assert kinds(kind="fraud.blocked") == ["fraud.blocked"]
    assert kinds(severity="alert") == ["call.emergency"]
    assert kinds(subject="201") == ["fraud.blocked"]
    assert kinds(since="2026-11-24") == ["call.emergency", "fraud.unlocked", "fraud.blocked"]
    assert kinds(until="2026-11-23") == ["trunk.registered"]
    assert kinds(since="2026-11-24T09:30:00Z") == ["call.emergency", "fraud.unlocked"]
    assert kinds(limit="1", offset="1") == ["fraud.unlocked"]


@pytest.mark.parametrize("params, field", [
    ({"kind": "fraud.nothing"}, "kind"), ({"kind": "nope.*"}, "kind"), ({"severity": "fatal"}, "severity"),
    ({"since": "yesterday"}, "since"), ({"since": "2026-11-25", "until": "2026-11-24"}, "until"),
    ({"limit": "0"}, "limit"), ({"limit": "1001"}, "limit"), ({"offset": "-1"}, "offset"),
])
def test_bad_filters_name_the_parameter(params, field):
    with pytest.raises(ValidationError) as caught:
        service.parse_filter(params)
    assert caught.value.field == field


def test_api_lists_events_for_admin_and_technician_only(web, store):
    log.record("sip.ip_banned", "192.0.2.7", "7 failed authentications", failures=7)
    log.record("trunk.dns_failed", "provider", "no such domain")
    admin, tech, user = (client_as(web, login) for login in ("admin", "380", "381"))
    listed = admin.api("GET", "/api/v1/events")
    assert listed.status == 200
    assert [(e["kind"], e["subject"]) for e in listed.json()] == [("trunk.dns_failed", "provider"),
                                                                  ("sip.ip_banned", "192.0.2.7")]
    banned = tech.api("GET", "/api/v1/events?kind=sip.ip_banned").json()
    assert banned[0]["details"] == {"failures": 7} and banned[0]["severity"] == "warning"
    assert banned[0]["at"].endswith("Z") and isinstance(banned[0]["id"], int)
    assert user.api("GET", "/api/v1/events").status == 403
    bad = admin.api("GET", "/api/v1/events?severity=fatal")
    assert bad.status == 400 and bad.json()["field"] == "severity"
    unknown = admin.api("GET", "/api/v1/events?colour=red")
    assert unknown.status == 400 and unknown.json()["field"] == "colour"


def test_event_log_page(web, store):
    log.record("sip.ip_banned", "192.0.2.9", "banned after 5 failures")
    admin = web.client()
    admin.login("admin", STRONG)
    page = admin.get("/security/events")
    assert page.status == 200 and "192.0.2.9" in page.text and "banned after 5 failures" in page.text
    assert "192.0.2.9" not in admin.get("/security/events?kind=fraud.*").text
    bad = admin.get("/security/events?since=soon")
    assert bad.status == 400 and 'role="alert"' in bad.text
    user = web.client()
    user.login("381", STRONG)
    assert user.get("/security/events").status == 403


# -- banned IPs (appliance.sipedge.bans) --------------------------------------------------------------

class FakeBanTable:
    """Kamailio's ipban htable as rpc.call shows it; `unban` goes through htable.delete."""

    def __init__(self):
        self.rows: dict[str, str] = {}

    def call(self, settings, method, *params):
        if method == "htable.dump":
            return [{"slot": [{"name": ip, "value": value}]} for ip, value in self.rows.items()]
        if method == "htable.delete":
            if params[0] == "ipban":
                self.rows.pop(params[1], None)
            return None
        raise AssertionError(method)


@pytest.fixture
def bans(store, monkeypatch):
    from appliance.sipedge import rpc

    table = FakeBanTable()
    monkeypatch.setattr(rpc, "call", table.call)
    yield table


def ban_events() -> list[tuple[str, str, str]]:
    return [(e.kind, e.subject, e.details.get("reason", "")) for e in
            Event.select().where(Event.kind.startswith("sip.ip_")).order_by(Event.id)]


def test_a_new_ban_and_its_end_are_recorded_once_each(bans, store):
    from appliance.sipedge.bans import record_ban_changes

    now = 1_900_000_000
    bans.rows["192.0.2.7"] = f"{now + 900}:10"
    known = record_ban_changes(store, {}, now)
    known = record_ban_changes(store, known, now + 1)
    [event] = Event.select().where(Event.kind == "sip.ip_banned")
    assert (event.subject, event.severity, event.details["failures"]) == ("192.0.2.7", "warning", 10)
    assert event.details["until"] == "2030-03-17T18:01:40Z" and "10 authentication failures" in event.message
    # Still in the table after its end (Kamailio forgets it at the next request): ended all the same.
    known = record_ban_changes(store, known, now + 901)
    assert known == {}
    record_ban_changes(store, known, now + 902)
    assert ban_events() == [("sip.ip_banned", "192.0.2.7", ""), ("sip.ip_unbanned", "192.0.2.7", "expired")]


def test_a_renewed_ban_is_a_new_ban_and_a_lifted_one_says_so(bans, store):
    from appliance.sipedge.bans import record_ban_changes

    now = 1_900_000_000
    bans.rows["192.0.2.8"] = f"{now + 60}:3"
    known = record_ban_changes(store, {}, now)
    bans.rows["192.0.2.8"] = f"{now + 200}:3"
    known = record_ban_changes(store, known, now + 100)
    del bans.rows["192.0.2.8"]  # the API's DELETE /api/v1/bans/<ip>
    record_ban_changes(store, known, now + 110)
    assert ban_events() == [("sip.ip_banned", "192.0.2.8", ""), ("sip.ip_banned", "192.0.2.8", ""),
                            ("sip.ip_unbanned", "192.0.2.8", "lifted")]


def test_unbanning_from_the_ui_records_who_and_the_watcher_does_not_repeat_it(bans, store):
    import time

    from appliance.sipedge.bans import record_ban_changes, unban

    bans.rows["192.0.2.9"] = f"{int(time.time()) + 600}:5"
    known = record_ban_changes(store, {})
    unban(store, "192.0.2.9", by="admin")
    assert bans.rows == {}
    record_ban_changes(store, known)
    assert ban_events() == [("sip.ip_banned", "192.0.2.9", ""), ("sip.ip_unbanned", "192.0.2.9", "lifted")]
    assert Event.select().where(Event.kind == "sip.ip_unbanned").get().details["by"] == "admin"
    unban(store, "192.0.2.9", by="admin")  # not banned: nothing more to record
    assert len(ban_events()) == 2


def test_a_restarted_watcher_does_not_record_bans_already_recorded(bans, store):
    import time

    from appliance.sipedge.bans import _already_recorded, current_bans, record_ban_changes

    bans.rows["192.0.2.10"] = f"{int(time.time()) + 600}:5"
    record_ban_changes(store, {})
    bans.rows["192.0.2.11"] = f"{int(time.time()) + 600}:7"
    known = _already_recorded(current_bans(store))
    assert set(known) == {"192.0.2.10"}
    record_ban_changes(store, known)
    assert ban_events() == [("sip.ip_banned", "192.0.2.10", ""), ("sip.ip_banned", "192.0.2.11", "")]


def test_unbanning_from_the_bans_page_is_logged_with_who_did_it(bans, web):
    import time

    bans.rows["192.0.2.12"] = f"{int(time.time()) + 600}:4"
    admin = web.client()
    assert admin.login("admin", STRONG).status == 303
    response = admin.post_form("/security/bans/192.0.2.12/unban", {})
    assert response.status == 303 and bans.rows == {}
    [event] = Event.select().where(Event.kind == "sip.ip_unbanned")
    assert (event.subject, event.details["by"], event.details["reason"]) == ("192.0.2.12", "admin", "lifted")
