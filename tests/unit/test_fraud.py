"""Toll-fraud guards: every rule with an injected clock and CDR rows, unlock, settings, the API and pages by role."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from appliance.cdr.models import Cdr
from appliance.errors import Conflict, ValidationError
from appliance.events import log as event_log
from appliance.events.models import Event
from appliance.fraud import guards, service
from appliance.fraud.models import FraudAttempt, FraudSettings, FraudUnlock
from appliance.system.models import SystemSettings
from appliance.system.validation import COUNTRIES
from appliance.trunks import countries
from appliance.users import create_user
from tests.support.browser import STRONG, running_web

NOW = dt.datetime(2026, 11, 24, 10, 0, 0, tzinfo=dt.UTC)  # a Tuesday, 10:00 UTC
ZURICH = "+41441234567"
PARIS = "+33142685300"
NEW_YORK = "+12125551234"
JAMAICA = "+18765551234"


@pytest.fixture(scope="module")
def web(tmp_path_factory):
    """One in-process web server and its store for the module; a technician (380) and a user (381)."""
    running = running_web(tmp_path_factory.mktemp("fraud") / "data")
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
    """The module's store with default fraud settings, no CDRs, events, attempts or unlocks; appliance in CH.
    Events are not pruned on write (the tests' fixed dates may be months old)."""
    monkeypatch.setattr(event_log, "PRUNE_EVERY", 10**9)
    monkeypatch.setattr(event_log, "_writes", 1)
    SystemSettings.update(country="CH").execute()
    for model in (Cdr, Event, FraudAttempt, FraudUnlock):
        model.delete().execute()
    FraudSettings.delete().execute()
    FraudSettings.create(id=1)
    yield web.settings


def set_fraud(**values) -> None:
    FraudSettings.update(**values).where(FraudSettings.id == 1).execute()


def outbound_cdr(caller: str, start: dt.datetime, cost: float | None = None, open_: bool = False,
                 direction: str = "outbound") -> Cdr:
    start = start.astimezone(dt.UTC).replace(tzinfo=None)
    return Cdr.create(call_id=uuid.uuid4().hex, caller=caller, callee="0041441234567", start=start,
                      end=None if open_ else start + dt.timedelta(minutes=5),
                      disposition="in_progress" if open_ else "answered", direction=direction,
                      call_class="national", dialled=ZURICH, cost=cost)


def events(kind: str) -> list[Event]:
    return list(Event.select().where(Event.kind == kind).order_by(Event.id))


def check(user="201", number=ZURICH, call_class="national", now=NOW, **kw) -> guards.Verdict:
    return guards.check_outbound(user, number, call_class, now, **kw)


def client_as(web, login: str):
    client = web.client()
    assert client.api_login(login, STRONG).status == 200
    return client


# -- countries -------------------------------------------------------------------------------------

def test_country_table_uses_iso_codes_and_splits_shared_calling_codes():
    assert set(countries.PREFIXES) <= set(COUNTRIES)
    assert set(countries.DEFAULT_WHITELIST) <= set(COUNTRIES) and len(countries.DEFAULT_WHITELIST) == 32
    assert {"CH", "GB", "NO", "IS", "LI", "DE", "FR"} <= set(countries.DEFAULT_WHITELIST)
    assert countries.country_of(NEW_YORK) == "US"
    assert countries.country_of(JAMAICA) == "JM"
    assert countries.country_of("+14165551234") == "CA"
    assert countries.country_of("+77012345678") == "KZ" and countries.country_of("+74951234567") == "RU"
    assert countries.country_of("+441481123456") == "GG" and countries.country_of("+442071234567") == "GB"
    assert countries.country_of("+881612345678") == ""  # satellite network: no country
    assert countries.country_of("0441234567") == ""


# -- whitelist -------------------------------------------------------------------------------------

def test_call_to_a_country_off_the_whitelist_is_refused_with_an_event(store):
    assert check(number=ZURICH).allowed
    assert check(number=PARIS).allowed
    verdict = check(number=NEW_YORK, call_class="international")
    assert (verdict.allowed, verdict.code, verdict.rule, verdict.announcement) == (
        False, 403, "country", "call_not_allowed")
    assert verdict.reason == "Destination country not allowed"
    [event] = events("fraud.blocked")
    assert event.subject == "201" and event.at == NOW.replace(tzinfo=None)
    assert event.details["destination"] == NEW_YORK and event.details["country"] == "US"
    assert event.details["rule"] == "country" and "whitelist" in event.message


def test_whitelisting_a_country_lets_it_through_but_not_the_islands_sharing_its_code(store):
    set_fraud(allowed_countries=["DE", "US"])
    assert check(number=NEW_YORK, call_class="international").allowed
    assert not check(number=JAMAICA, call_class="international").allowed
    assert not check(number=PARIS, call_class="international").allowed
    # The appliance's own country is always allowed, even when not listed.
    assert check(number=ZURICH).allowed
    assert not check(number="+881612345678", call_class="international").allowed


def test_guards_switched_off_let_any_country_through(store):
    set_fraud(enabled=False)
    verdict = check(number=JAMAICA, call_class="international")
    assert verdict.allowed and verdict.max_seconds is None
    assert events("fraud.blocked") == []


# -- daily budget and unlock ----------------------------------------------------------------------

def test_budget_exceeded_blocks_outbound_until_midnight_utc(store):
    yesterday = NOW - dt.timedelta(days=1)
    outbound_cdr("202", yesterday, cost=500.0)                          # yesterday: not counted
    outbound_cdr("202", NOW - dt.timedelta(hours=2), cost=30.0)
    outbound_cdr("203", NOW - dt.timedelta(hours=1), cost=15.0)
    outbound_cdr("204", NOW - dt.timedelta(hours=1), cost=90.0, direction="inbound")  # not outbound
    assert check().allowed                                              # 45 of 50 spent
    outbound_cdr("203", NOW - dt.timedelta(minutes=30), cost=6.0)      # 51 of 50
    verdict = check(now=NOW + dt.timedelta(minutes=1))
    assert (verdict.allowed, verdict.rule, verdict.code, verdict.announcement) == (
        False, "budget", 403, "outbound_blocked")
    settings = service.get_settings()
    assert settings.blocked_until == dt.datetime(2026, 11, 25, 0, 0)
    [exceeded] = events("fraud.budget_exceeded")
    assert exceeded.severity == "alert" and exceeded.details["spent"] == 51.0 and exceeded.details["budget"] == 50.0

    # Every outbound call is refused until midnight UTC, whoever calls, wherever to.
    late = dt.datetime(2026, 11, 24, 23, 59, 59, tzinfo=dt.UTC)
    verdict = check(user="205", number=PARIS, now=late)
    assert (verdict.allowed, verdict.rule, verdict.announcement) == (False, "blocked", "outbound_blocked")
    assert len(events("fraud.budget_exceeded")) == 1
    assert [e.details["rule"] for e in events("fraud.blocked")] == ["budget", "blocked"]
    assert service.status(now=late)["blocked"] is True
    # A new UTC day: a new budget.
    assert check(now=dt.datetime(2026, 11, 25, 0, 0, 1, tzinfo=dt.UTC)).allowed


def test_raising_the_budget_above_todays_spend_lifts_the_block_but_not_a_raise_below_it(store):
    outbound_cdr("202", NOW - dt.timedelta(minutes=30), cost=60.0)     # 60 of 50
    assert check(now=NOW).rule == "budget"
    service.update_settings({"daily_budget": 55}, by="admin (web)", now=NOW)     # still under today's 60
    assert check(now=NOW + dt.timedelta(minutes=1)).rule == "blocked"
    assert not events("fraud.unlocked")
    service.update_settings({"daily_budget": 100}, by="admin (web)", now=NOW + dt.timedelta(minutes=2))
    assert service.status(now=NOW + dt.timedelta(minutes=2))["blocked"] is False
    assert check(now=NOW + dt.timedelta(minutes=3)).allowed
    [lifted] = events("fraud.unlocked")
    assert lifted.subject == "admin (web)" and "daily budget now 100.00, 60.00 spent today" in lifted.message
    # Not an unlock: both unlocks of the day are still there.
    assert service.status(now=NOW + dt.timedelta(minutes=3))["unlocks_remaining"] == 2
    # The new budget is enforced in turn, and "no limit" (0) lifts its block too.
    outbound_cdr("203", NOW + dt.timedelta(minutes=4), cost=45.0)
    assert check(now=NOW + dt.timedelta(minutes=5)).rule == "budget"
    service.update_settings({"daily_budget": 0}, by="admin (web)", now=NOW + dt.timedelta(minutes=6))
    assert check(now=NOW + dt.timedelta(minutes=7)).allowed


def test_unlock_works_twice_in_24_hours_not_a_third_time(store):
    with pytest.raises(Conflict) as caught:
        service.unlock(by="admin (web)", now=NOW)
    assert caught.value.field == "unlock" and "not blocked" in caught.value.message

    moment = NOW
    for attempt in (1, 2):
        outbound_cdr("202", moment, cost=60.0)
        moment += dt.timedelta(minutes=5)
        assert check(now=moment).rule == "budget"
        moment += dt.timedelta(minutes=5)
        state = service.unlock(by="admin (web)", now=moment)
        assert state["blocked"] is False and state["unlocks_remaining"] == 2 - attempt
        # Unlocked: outbound works again, with a fresh budget counted from the unlock.
        moment += dt.timedelta(minutes=1)
        assert check(now=moment).allowed
    outbound_cdr("202", moment, cost=60.0)
    moment += dt.timedelta(minutes=5)
    assert check(now=moment).rule == "budget"
    with pytest.raises(Conflict) as caught:
        service.unlock(by="admin (web)", now=moment)
    assert "already unlocked 2 times in the last 24 hours" in caught.value.message
    assert check(now=moment).rule == "blocked"
    assert [e.subject for e in events("fraud.unlocked")] == ["admin (web)", "admin (web)"]
    assert FraudUnlock.select().count() == 2
    state = service.status(now=moment)
    assert state["unlocks_remaining"] == 0 and state["next_unlock_at"] == "2026-11-25T10:10:00Z"


def test_an_unlock_older_than_24_hours_no_longer_counts(store):
    FraudUnlock.create(at=(NOW - dt.timedelta(hours=25)).replace(tzinfo=None), by="admin")
    FraudUnlock.create(at=(NOW - dt.timedelta(hours=3)).replace(tzinfo=None), by="admin")
    set_fraud(blocked_until=dt.datetime(2026, 11, 25))
    assert service.unlock(by="admin", now=NOW)["unlocks_remaining"] == 0


# -- rate limits, simultaneous calls --------------------------------------------------------------

def test_per_user_rate_limit_counts_the_last_minute_of_that_user(store):
    set_fraud(calls_per_minute_per_user=3, calls_per_minute=100)
    for second in (0, 10, 20):
        assert check(now=NOW + dt.timedelta(seconds=second)).allowed
    verdict = check(now=NOW + dt.timedelta(seconds=30))
    assert (verdict.allowed, verdict.rule, verdict.announcement) == (False, "rate_user", "too_many_calls")
    assert check(user="202", now=NOW + dt.timedelta(seconds=30)).allowed
    # A refused call does not count: a minute after the first call, one more goes through.
    assert check(now=NOW + dt.timedelta(seconds=61)).allowed
    assert [e.details["rule"] for e in events("fraud.blocked")] == ["rate_user"]


def test_appliance_rate_limit_counts_every_user(store):
    set_fraud(calls_per_minute=5, calls_per_minute_per_user=0)
    for n in range(5):
        assert check(user=f"20{n}", now=NOW + dt.timedelta(seconds=n)).allowed
    verdict = check(user="209", now=NOW + dt.timedelta(seconds=6))
    assert (verdict.allowed, verdict.rule) == (False, "rate_appliance")
    assert check(user="209", now=NOW + dt.timedelta(seconds=61)).allowed


def test_rate_limit_holds_across_processes(store):
    """Another worker process's calls count too: the limit lives in the store, not in memory."""
    set_fraud(calls_per_minute_per_user=3)
    script = (
        "import datetime as dt, sys\n"
        "from pathlib import Path\n"
        "from appliance.settings import Settings\n"
        "from appliance.store import open_store\n"
        "from appliance.fraud import guards\n"
        "open_store(Settings(data_dir=Path(sys.argv[1])))\n"
        "now = dt.datetime.fromisoformat(sys.argv[2])\n"
        "print(sum(guards.check_outbound('201', '+41441234567', 'national', now).allowed for _ in range(2)))\n")
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-c", script, str(store.data_dir), NOW.isoformat()], cwd=root,
                          capture_output=True, text=True, timeout=60, env={**os.environ, "PYTHONPATH": str(root)})
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "2"
    assert check(now=NOW + dt.timedelta(seconds=1)).allowed
    assert check(now=NOW + dt.timedelta(seconds=2)).rule == "rate_user"


def test_simultaneous_outbound_calls_per_user_are_capped(store):
    set_fraud(max_calls_per_user=2)
    outbound_cdr("201", NOW - dt.timedelta(minutes=3), open_=True)
    outbound_cdr("201", NOW - dt.timedelta(minutes=2), open_=False)                      # ended
    outbound_cdr("201", NOW - dt.timedelta(minutes=2), open_=True, direction="internal")  # not outbound
    assert check().allowed
    outbound_cdr("201", NOW - dt.timedelta(minutes=1), open_=True)
    verdict = check()
    assert (verdict.allowed, verdict.rule, verdict.reason) == (False, "concurrent",
                                                               "Too many simultaneous outbound calls")
    assert check(user="202").allowed


def test_a_call_let_through_counts_at_once_against_the_simultaneous_call_cap(store):
    # Two calls of one user at the same instant: the first is marked outbound by the guard itself,
    # before any trunk is tried, so the second cannot slip through the cap.
    set_fraud(max_calls_per_user=1)
    first = outbound_cdr("201", NOW, open_=True, direction="internal")
    second = outbound_cdr("201", NOW, open_=True, direction="internal")
    assert check(call_id=first.call_id).allowed
    assert Cdr.get_by_id(first.id).direction == "outbound"
    verdict = check(call_id=second.call_id)
    assert (verdict.allowed, verdict.rule) == (False, "concurrent")
    assert Cdr.get_by_id(second.id).direction == "internal"


# -- premium, characters, emergency, duration -------------------------------------------------------

def test_premium_numbers_are_refused_unless_allowed(store):
    verdict = check(number="+41900123456", call_class="premium")
    assert (verdict.allowed, verdict.rule, verdict.announcement) == (False, "premium", "call_not_allowed")
    assert events("fraud.blocked")[0].details["call_class"] == "premium"
    set_fraud(premium_allowed=True)
    assert check(number="+41900123456", call_class="premium").allowed


@pytest.mark.parametrize("number, dialled", [
    ("+41 44 123 45 67", None), ("+4144;transport=tcp", None), ("+41+441234567", None), ("", None),
    ("+41441234567", "0044a1234567"), ("+41441234567", "0441234567@evil"),
])
def test_dialled_strings_are_restricted_to_digits_star_hash_and_a_leading_plus(store, number, dialled):
    verdict = check(number=number, dialled=dialled)
    assert (verdict.allowed, verdict.rule, verdict.code) == (False, "characters", 403)
    [event] = events("fraud.blocked")
    assert event.details["rule"] == "characters"


def test_star_and_hash_service_codes_pass_the_character_rule(store):
    assert check(number="*31#0441234567", dialled="*31#0441234567").allowed


def test_emergency_numbers_always_go_through_and_are_logged(store):
    set_fraud(blocked_until=dt.datetime(2026, 11, 25), calls_per_minute=1, calls_per_minute_per_user=1,
              max_calls_per_user=1, allowed_countries=["DE"])
    outbound_cdr("201", NOW - dt.timedelta(minutes=1), open_=True)
    for second in range(3):
        verdict = check(number="112", call_class="emergency", now=NOW + dt.timedelta(seconds=second))
        assert verdict.allowed and verdict.max_seconds is None
    emergency = events("call.emergency")
    assert len(emergency) == 3 and emergency[0].severity == "alert"
    assert emergency[0].details == {"user": "201", "destination": "112", "dialled": "112"}
    assert events("fraud.blocked") == [] and FraudAttempt.select().count() == 0


def test_maximum_call_duration_is_in_the_verdict(store):
    assert check().max_seconds == 120 * 60
    set_fraud(max_call_minutes=90)
    assert check().max_seconds == 90 * 60
    set_fraud(max_call_minutes=0)
    assert check().max_seconds is None


def test_maximum_call_duration_may_be_a_fraction_of_a_minute(store):
    settings = service.update_settings({"max_call_minutes": 0.5})
    assert service.to_public(settings)["max_call_minutes"] == 0.5
    assert check().max_seconds == 30
    assert service.to_public(service.update_settings({"max_call_minutes": 2.0}))["max_call_minutes"] == 2
    assert check().max_seconds == 120


# -- settings --------------------------------------------------------------------------------------

@pytest.mark.parametrize("data, field", [
    ({"allowed_countries": ["CH", "XX"]}, "allowed_countries.1"),
    ({"allowed_countries": []}, "allowed_countries"),
    ({"allowed_countries": 41}, "allowed_countries"),
    ({"daily_budget": -1}, "daily_budget"),
    ({"daily_budget": "50"}, "daily_budget"),
    ({"daily_budget": 1_000_001}, "daily_budget"),
    ({"calls_per_minute": 2.5}, "calls_per_minute"),
    ({"calls_per_minute_per_user": 1001}, "calls_per_minute_per_user"),
    ({"max_calls_per_user": True}, "max_calls_per_user"),
    ({"max_call_minutes": 1441}, "max_call_minutes"),
    ({"max_call_minutes": 0.05}, "max_call_minutes"),
    ({"enabled": "yes"}, "enabled"),
    ({"premium_allowed": 1}, "premium_allowed"),
    ({"blocked_until": None}, "blocked_until"),
    ({"revision": "1"}, "revision"),
])
def test_settings_validation_names_the_field(store, data, field):
    with pytest.raises(ValidationError) as caught:
        service.update_settings(data)
    assert caught.value.field == field


def test_settings_are_saved_with_a_revision_and_logged(store):
    settings = service.update_settings({"allowed_countries": "ch, de US de", "daily_budget": 20.5,
                                        "calls_per_minute": 0, "revision": 1}, by="admin (API)")
    public = service.to_public(settings, NOW)
    assert public["allowed_countries"] == ["CH", "DE", "US"] and public["daily_budget"] == 20.5
    assert public["calls_per_minute"] == 0 and public["revision"] == 2
    with pytest.raises(Conflict) as caught:
        service.update_settings({"daily_budget": 10, "revision": 1})
    assert caught.value.field == "revision"
    [event] = events("fraud.settings_changed")
    assert event.subject == "admin (API)" and event.details["changed"] == [
        "allowed_countries", "calls_per_minute", "daily_budget"]
    # The default whitelist reads as the list it is.
    FraudSettings.update(allowed_countries=[]).execute()
    assert service.to_public(service.get_settings())["allowed_countries"] == sorted(countries.DEFAULT_WHITELIST)


# -- API and pages by role -------------------------------------------------------------------------

def test_api_settings_by_role(web, store):
    admin, tech, user = (client_as(web, login) for login in ("admin", "380", "381"))
    body = admin.api("GET", "/api/v1/fraud/settings").json()
    assert body["enabled"] is True and body["unlocks_remaining"] == 2 and body["blocked"] is False
    assert tech.api("GET", "/api/v1/fraud/settings").status == 200
    assert user.api("GET", "/api/v1/fraud/settings").status == 403
    assert tech.api("PUT", "/api/v1/fraud/settings", {"daily_budget": 10}).status == 403
    assert user.api("GET", "/api/v1/fraud/events").status == 403

    changed = admin.api("PUT", "/api/v1/fraud/settings", {"daily_budget": 10, "revision": body["revision"]})
    assert changed.status == 200 and changed.json()["daily_budget"] == 10.0
    stale = admin.api("PUT", "/api/v1/fraud/settings", {"daily_budget": 11, "revision": body["revision"]})
    assert stale.status == 409 and stale.json()["field"] == "revision"
    bad = admin.api("PUT", "/api/v1/fraud/settings", {"allowed_countries": ["CH", "ZZ"]})
    assert bad.status == 400 and bad.json()["field"] == "allowed_countries.1"
    unknown = admin.api("PUT", "/api/v1/fraud/settings", {"blocked_until": None})
    assert unknown.status == 400 and unknown.json()["field"] == "blocked_until"


def test_api_unlock_and_events_by_role(web, store):
    admin, tech = client_as(web, "admin"), client_as(web, "380")
    not_blocked = admin.api("POST", "/api/v1/fraud/unlock")
    assert not_blocked.status == 409 and not_blocked.json()["field"] == "unlock"
    set_fraud(blocked_until=dt.datetime.utcnow() + dt.timedelta(hours=1))
    assert tech.api("POST", "/api/v1/fraud/unlock").status == 403
    unlocked = admin.api("POST", "/api/v1/fraud/unlock")
    assert unlocked.status == 200 and unlocked.json()["unlocks_remaining"] == 1
    assert unlocked.json()["blocked"] is False

    check(number=NEW_YORK, call_class="international", now=dt.datetime.now(dt.UTC))
    listed = tech.api("GET", "/api/v1/fraud/events?limit=1")
    assert listed.status == 200
    [latest] = listed.json()
    assert latest["kind"] == "fraud.blocked" and latest["details"]["destination"] == NEW_YORK
    kinds = [e["kind"] for e in admin.api("GET", "/api/v1/fraud/events").json()]
    assert kinds == ["fraud.blocked", "fraud.unlocked"]
    assert admin.api("GET", "/api/v1/fraud/events?limit=0").json()["field"] == "limit"
    assert admin.api("GET", "/api/v1/fraud/events?kind=x").status == 400


def test_security_pages_show_the_settings_unlock_and_the_last_fraud_events(web, store):
    check(user="207", number=NEW_YORK, call_class="international", now=dt.datetime.now(dt.UTC))
    admin = web.client()
    admin.login("admin", STRONG)
    page = admin.get("/security/fraud")
    assert page.status == 200 and 'id="fraud-form"' in page.text and "+12125551234 (US)" in page.text
    assert 'id="unlock-form"' not in page.text  # not blocked: nothing to unlock
    bans = admin.get("/security/bans")
    assert bans.status == 200 and 'id="fraud-events"' in bans.text and "+12125551234" in bans.text

    saved = admin.post_form("/security/fraud", {"enabled": "1", "allowed_countries": "CH DE", "daily_budget": "25",
                                                "calls_per_minute": "10", "calls_per_minute_per_user": "3",
                                                "max_calls_per_user": "2", "max_call_minutes": "60",
                                                "revision": str(service.get_settings().revision)})
    assert saved.status == 303
    settings = service.get_settings()
    assert (settings.allowed_countries, settings.daily_budget, settings.premium_allowed) == (["CH", "DE"], 25, False)
    bad = admin.post_form("/security/fraud", {"enabled": "1", "allowed_countries": "CH QQ", "daily_budget": "x",
                                              "calls_per_minute": "10", "calls_per_minute_per_user": "3",
                                              "max_calls_per_user": "2", "max_call_minutes": "60"})
    assert bad.status == 400 and 'data-field="allowed_countries"' in bad.text
    assert 'data-field="daily_budget"' in bad.text and service.get_settings().daily_budget == 25

    set_fraud(blocked_until=dt.datetime.utcnow() + dt.timedelta(hours=1))
    page = admin.get("/security/fraud")
    assert 'id="outbound-blocked"' in page.text and 'id="unlock-form"' in page.text
    assert admin.post_form("/security/fraud/unlock", {}).status == 303
    assert not service.status()["blocked"]

    tech = web.client()
    tech.login("380", STRONG)
    page = tech.get("/security/fraud")
    assert page.status == 200 and 'id="read-only"' in page.text
    assert tech.post_form("/security/fraud/unlock", {}).status == 403
    user = web.client()
    user.login("381", STRONG)
    assert user.get("/security/fraud").status == 403
