"""Time ranges: weekly intervals, month ranges, holidays (fixed, yearly, Easter, per country), DST, validation."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from appliance.dialplan import holidays, timeranges
from appliance.dialplan.models import Procedure, TimeRange, current_revision
from appliance.errors import Conflict, NotFound, ValidationError
from appliance.system.models import SystemSettings
from appliance.users import create_user
from tests.support.browser import STRONG, running_web

PARIS = ZoneInfo("Europe/Paris")
WEEKDAYS = [0, 1, 2, 3, 4]
OFFICE = [{"days": WEEKDAYS, "start": "08:00", "end": "12:00"}, {"days": WEEKDAYS, "start": "14:00", "end": "18:00"}]


@pytest.fixture(scope="module")
def web(tmp_path_factory):
    """One in-process web server (and its store) for this module's store, API and page tests."""
    data = tmp_path_factory.mktemp("timeranges")
    running = running_web(data / "data", clock_file=str(data / "clock"))
    client = running.client()
    assert client.api("POST", "/api/v1/session/password", {
        "username": "admin", "current_password": running.admin_password, "new_password": STRONG}).status == 200
    for extension, role in (("380", "technician"), ("381", "user")):
        create_user({"extension": extension, "first_name": "P" + extension, "last_name": "Test", "role": role,
                     "web_password": STRONG})
    yield running
    running.stop()


@pytest.fixture
def store(web):
    """This module's store (the web server's), emptied of time ranges and new procedures after each test."""
    procedures = [p.name for p in Procedure.select(Procedure.name)]
    yield web.settings
    Procedure.delete().where(Procedure.name.not_in(procedures)).execute()
    TimeRange.delete().execute()
    SystemSettings.update(country="FR", timezone="Europe/Paris").where(SystemSettings.id == 1).execute()
    Path(web.settings.clock_file).unlink(missing_ok=True)


def client_as(web, login: str):
    client = web.client()
    assert client.api_login(login, STRONG).status == 200
    return client


def at(text: str) -> dt.datetime:
    """A Paris wall-clock moment, e.g. "2026-06-01 09:00" (a Monday)."""
    return dt.datetime.fromisoformat(text).replace(tzinfo=PARIS)


def inside(intervals, when, holidays_=(), country_holidays=False, mode="outside", country="FR") -> bool:
    return timeranges.matches(timeranges.validate_intervals(list(intervals)),
                              timeranges.validate_holidays(list(holidays_)), country_holidays, mode, when, country)


# -- weekly intervals --------------------------------------------------------------------------

@pytest.mark.parametrize("when, expected", [
    ("2026-06-01 07:59", False),   # Monday, before opening
    ("2026-06-01 08:00", True),    # start is inside
    ("2026-06-01 11:59", True),
    ("2026-06-01 12:00", False),   # end is outside
    ("2026-06-01 13:30", False),   # lunch
    ("2026-06-05 17:59", True),    # Friday afternoon
    ("2026-06-06 10:00", False),   # Saturday
    ("2026-06-07 10:00", False),   # Sunday
])
def test_when_office_hours_then_weekdays_inside_and_weekend_and_lunch_outside(when, expected):
    assert inside(OFFICE, at(when)) is expected


def test_when_end_is_24_00_then_inside_until_midnight_and_not_after():
    late = [{"days": [4], "start": "22:00", "end": "24:00"}, {"days": [5], "start": "00:00", "end": "06:00"}]
    assert inside(late, at("2026-06-05 23:59"))      # Friday night
    assert inside(late, at("2026-06-06 00:00"))      # Saturday just after midnight (second interval)
    assert inside(late, at("2026-06-06 05:59"))
    assert not inside(late, at("2026-06-06 06:00"))
    assert not inside(late, at("2026-06-06 23:00"))  # Saturday night is not Friday night


def test_when_no_interval_then_never_inside_except_holidays_in_inside_mode():
    assert not inside([], at("2026-06-01 10:00"))
    assert inside([], at("2026-12-25 10:00"), country_holidays=True, mode="inside")
    assert not inside([], at("2026-12-24 10:00"), country_holidays=True, mode="inside")


# -- month days and months ---------------------------------------------------------------------

def test_when_month_days_then_only_those_days_of_the_month():
    first_week = [{"days": list(range(7)), "start": "00:00", "end": "24:00", "month_days": [1, 7]}]
    assert inside(first_week, at("2026-06-01 10:00"))
    assert inside(first_week, at("2026-06-07 23:00"))
    assert not inside(first_week, at("2026-06-08 10:00"))


def test_when_months_wrap_around_the_year_then_november_to_february():
    winter = [{"days": list(range(7)), "start": "09:00", "end": "17:00", "months": [11, 2]}]
    assert inside(winter, at("2026-11-03 10:00"))
    assert inside(winter, at("2027-01-15 10:00"))
    assert inside(winter, at("2027-02-28 10:00"))
    assert not inside(winter, at("2027-03-01 10:00"))
    assert not inside(winter, at("2026-10-31 10:00"))


def test_when_month_days_wrap_then_end_and_start_of_month():
    closing = [{"days": list(range(7)), "start": "00:00", "end": "24:00", "month_days": [28, 2]}]
    assert inside(closing, at("2026-06-30 10:00"))
    assert inside(closing, at("2026-07-02 10:00"))
    assert not inside(closing, at("2026-07-03 10:00"))


def test_when_summer_hours_then_month_and_weekday_both_count():
    summer = [{"days": WEEKDAYS, "start": "08:00", "end": "13:00", "months": [7, 8]}]
    assert inside(summer, at("2026-07-15 12:00"))       # Wednesday in July
    assert not inside(summer, at("2026-07-18 12:00"))   # Saturday in July
    assert not inside(summer, at("2026-06-17 12:00"))   # Wednesday in June


# -- holidays ------------------------------------------------------------------------------------

def test_easter_dates_known_years():
    assert holidays.easter(2026) == dt.date(2026, 4, 5)
    assert holidays.easter(2027) == dt.date(2027, 3, 28)
    assert holidays.easter(2024) == dt.date(2024, 3, 31)
    assert holidays.easter(2019) == dt.date(2019, 4, 21)
    assert holidays.easter(2038) == dt.date(2038, 4, 25)   # the latest possible
    assert holidays.easter(2285) == dt.date(2285, 3, 22)   # the earliest possible


@pytest.mark.parametrize("country, year, day, name", [
    ("FR", 2026, "2026-04-06", "Easter Monday"),
    ("FR", 2026, "2026-05-14", "Ascension Day"),
    ("FR", 2026, "2026-05-25", "Whit Monday"),
    ("FR", 2026, "2026-07-14", "Bastille Day"),
    ("FR", 2027, "2027-03-29", "Easter Monday"),
    ("FR", 2027, "2027-05-06", "Ascension Day"),
    ("FR", 2027, "2027-05-17", "Whit Monday"),
    ("CH", 2026, "2026-04-03", "Good Friday"),
    ("CH", 2026, "2026-08-01", "Swiss National Day"),
    ("CH", 2027, "2027-01-02", "Berchtold's Day"),
    ("DE", 2026, "2026-10-03", "German Unity Day"),
    ("DE", 2027, "2027-03-26", "Good Friday"),
    ("AT", 2026, "2026-06-04", "Corpus Christi"),
    ("AT", 2026, "2026-10-26", "National Day"),
    ("IT", 2026, "2026-06-02", "Republic Day"),
    ("BE", 2026, "2026-07-21", "Belgian National Day"),
    ("ES", 2026, "2026-10-12", "National Day of Spain"),
    ("GB", 2026, "2026-05-04", "Early May Bank Holiday"),
    ("GB", 2026, "2026-08-31", "Summer Bank Holiday"),
    ("GB", 2026, "2026-12-28", "Boxing Day (substitute day)"),       # 26 December 2026 is a Saturday
    ("GB", 2027, "2027-12-27", "Christmas Day (substitute day)"),    # 25 December 2027 is a Saturday
    ("GB", 2027, "2027-12-28", "Boxing Day (substitute day)"),
    ("US", 2026, "2026-11-26", "Thanksgiving Day"),
    ("US", 2026, "2026-07-03", "Independence Day (observed)"),       # 4 July 2026 is a Saturday
    ("US", 2026, "2026-01-19", "Martin Luther King Jr. Day"),
    ("US", 2027, "2027-05-31", "Memorial Day"),
    ("US", 2027, "2027-12-31", "New Year's Day (observed)"),         # 1 January 2028 is a Saturday
])
def test_country_holidays_of_2026_and_2027(country, year, day, name):
    assert (dt.date.fromisoformat(day), name) in holidays.country_holidays(country, year)


def test_country_holiday_lists_have_the_expected_counts_and_no_workday_surprises():
    counts = {"FR": 11, "CH": 9, "DE": 9, "IT": 11, "AT": 13, "BE": 10, "ES": 10}
    for country, count in counts.items():
        assert len(holidays.country_holidays(country, 2026)) == count, country
    assert dt.date(2026, 5, 8) not in {d for d, _ in holidays.country_holidays("DE", 2026)}
    assert holidays.country_holidays("XX", 2026) == []


def test_when_holiday_mode_outside_then_a_holiday_is_closed_all_day():
    assert not inside(OFFICE, at("2026-05-14 10:00"), country_holidays=True)             # Ascension, Thursday
    assert inside(OFFICE, at("2026-05-14 10:00"), country_holidays=False)                # not asked for
    assert inside(OFFICE, at("2026-05-14 10:00"), country_holidays=True, country="GB")   # not a GB holiday
    assert inside(OFFICE, at("2026-05-14 10:00"), country_holidays=True, mode="ignore")


def test_when_holiday_mode_inside_then_the_whole_day_is_inside():
    closed = [{"days": WEEKDAYS, "start": "18:00", "end": "24:00"}]
    assert inside(closed, at("2026-12-25 10:00"), country_holidays=True, mode="inside")
    assert not inside(closed, at("2026-12-23 10:00"), country_holidays=True, mode="inside")


def test_own_holidays_fixed_yearly_and_easter_relative():
    own = [{"kind": "fixed", "date": "2026-06-12", "name": "Company day"},
           {"kind": "yearly", "date": "12-24", "name": "Christmas Eve"},
           {"kind": "easter", "offset": -3, "name": "Holy Thursday"}]
    assert not inside(OFFICE, at("2026-06-12 10:00"), own)
    assert inside(OFFICE, at("2027-06-11 10:00"), own)           # the fixed date is one year only
    assert not inside(OFFICE, at("2026-12-24 10:00"), own)
    assert not inside(OFFICE, at("2027-12-24 10:00"), own)
    assert not inside(OFFICE, at("2026-04-02 10:00"), own)       # Easter 2026 - 3
    assert not inside(OFFICE, at("2027-03-25 10:00"), own)       # Easter 2027 - 3
    assert inside(OFFICE, at("2027-04-01 10:00"), own)
    assert timeranges.holiday_on(dt.date(2027, 3, 25), own, False, "FR") == "Holy Thursday"


# -- DST (Europe/Paris: 29 March 2026 and 25 October 2026, both Sundays) -------------------------------------

def _paris_from_utc(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).astimezone(PARIS)


def test_when_clocks_go_forward_then_intervals_follow_the_wall_clock():
    sunday = [{"days": [6], "start": "08:00", "end": "12:00"}, {"days": [6], "start": "02:00", "end": "02:30"}]
    # 06:30 UTC is 08:30 in summer time (it would be 07:30 in winter time).
    assert inside(sunday, _paris_from_utc("2026-03-29T06:30:00+00:00"))
    assert not inside(sunday, _paris_from_utc("2026-03-29T05:30:00+00:00"))   # 07:30 CEST
    # 00:59 UTC is 01:59 CET, 01:00 UTC is already 03:00 CEST: 02:00-02:30 does not happen that night.
    assert not inside(sunday, _paris_from_utc("2026-03-29T00:59:00+00:00"))
    assert not inside(sunday, _paris_from_utc("2026-03-29T01:00:00+00:00"))
    assert inside(sunday, _paris_from_utc("2026-03-22T01:15:00+00:00"))       # a week earlier, 02:15 CET


def test_when_clocks_go_back_then_the_repeated_hour_is_inside_twice():
    sunday = [{"days": [6], "start": "02:00", "end": "03:00"}, {"days": [6], "start": "08:00", "end": "12:00"}]
    assert inside(sunday, _paris_from_utc("2026-10-25T00:30:00+00:00"))   # 02:30 CEST
    assert inside(sunday, _paris_from_utc("2026-10-25T01:30:00+00:00"))   # 02:30 CET, again
    assert not inside(sunday, _paris_from_utc("2026-10-25T02:30:00+00:00"))  # 03:30 CET
    # 07:30 UTC is 08:30 in winter time (09:30 the day before in summer time).
    assert inside(sunday, _paris_from_utc("2026-10-25T07:30:00+00:00"))
    assert not inside(sunday, _paris_from_utc("2026-10-25T06:30:00+00:00"))  # 07:30 CET


# -- validation --------------------------------------------------------------------------------------

@pytest.mark.parametrize("intervals, field", [
    ([{"days": [0], "start": "10:00", "end": "09:00"}], "intervals.0.end"),
    ([{"days": [0], "start": "10:00", "end": "10:00"}], "intervals.0.end"),
    (OFFICE + [{"days": [0], "start": "22:00", "end": "06:00"}], "intervals.2.end"),
    ([{"days": [0], "start": "9h", "end": "10:00"}], "intervals.0.start"),
    ([{"days": [0], "start": "09:60", "end": "10:00"}], "intervals.0.start"),
    ([{"days": [0], "start": "24:00", "end": "24:00"}], "intervals.0.start"),
    ([{"days": [0], "start": "09:00", "end": "24:01"}], "intervals.0.end"),
    ([{"days": [0], "start": "09:00", "end": "25:00"}], "intervals.0.end"),
    ([{"days": [], "start": "09:00", "end": "10:00"}], "intervals.0.days"),
    ([{"days": [7], "start": "09:00", "end": "10:00"}], "intervals.0.days"),
    ([{"days": [1, 1], "start": "09:00", "end": "10:00"}], "intervals.0.days"),
    ([{"days": ["mon"], "start": "09:00", "end": "10:00"}], "intervals.0.days"),
    ([{"start": "09:00", "end": "10:00"}], "intervals.0.days"),
    ([{"days": [0], "start": "09:00", "end": "10:00", "month_days": [0, 5]}], "intervals.0.month_days.0"),
    ([{"days": [0], "start": "09:00", "end": "10:00", "month_days": [1, 32]}], "intervals.0.month_days.1"),
    ([{"days": [0], "start": "09:00", "end": "10:00", "months": [1, 13]}], "intervals.0.months.1"),
    ([{"days": [0], "start": "09:00", "end": "10:00", "months": [3]}], "intervals.0.months"),
    ([{"days": [0], "start": "09:00", "end": "10:00", "weeks": [1, 2]}], "intervals.0.weeks"),
    ([{"days": [0], "start": "09:00", "end": "10:00"}, {"days": [0], "start": "09:00", "end": "10:00"}],
     "intervals.1"),
    ([{"days": [0], "start": "09:00", "end": "10:00"}] * 101, "intervals"),
    ("mondays", "intervals"),
])
def test_when_interval_is_bad_then_validation_names_the_field(intervals, field):
    with pytest.raises(ValidationError) as caught:
        timeranges.validate_intervals(intervals)
    assert caught.value.field == field


@pytest.mark.parametrize("items, field", [
    ([{"kind": "fixed", "date": "2026-02-30"}], "holidays.0.date"),
    ([{"kind": "fixed", "date": "26-12-2026"}], "holidays.0.date"),
    ([{"kind": "yearly", "date": "13-01"}], "holidays.0.date"),
    ([{"kind": "yearly", "date": "02-30"}], "holidays.0.date"),
    ([{"kind": "yearly"}], "holidays.0.date"),
    ([{"kind": "easter", "offset": "one"}], "holidays.0.offset"),
    ([{"kind": "easter", "offset": 400}], "holidays.0.offset"),
    ([{"kind": "easter"}], "holidays.0.offset"),
    ([{"kind": "monthly", "date": "01"}], "holidays.0.kind"),
    ([{"kind": "yearly", "date": "12-25"}, {"kind": "yearly", "date": "12-25"}], "holidays.1.date"),
    ([{"kind": "easter", "offset": 1, "date": "01-01"}], "holidays.0.date"),
    ([{"kind": "yearly", "date": "12-25", "name": "x" * 65}], "holidays.0.name"),
    ([{"kind": "fixed", "date": "2026-01-01"}] * 401, "holidays"),
])
def test_when_holiday_is_bad_then_validation_names_the_field(items, field):
    with pytest.raises(ValidationError) as caught:
        timeranges.validate_holidays(items)
    assert caught.value.field == field


def test_yearly_29_february_is_allowed_and_matches_leap_years_only():
    assert timeranges.validate_holidays([{"kind": "yearly", "date": "02-29"}])[0]["date"] == "02-29"
    assert not inside(OFFICE, at("2028-02-29 10:00"), [{"kind": "yearly", "date": "02-29"}])


# -- the service (store) ---------------------------------------------------------------------------

def test_create_update_delete_with_revisions(store):
    before = current_revision()
    row = timeranges.create_time_range({"name": "office", "description": "Opening hours", "intervals": OFFICE,
                                        "country_holidays": True})
    assert current_revision() == before + 1
    assert timeranges.to_public(row)["intervals"][0] == {"days": WEEKDAYS, "start": "08:00", "end": "12:00",
                                                         "month_days": None, "months": None}
    assert timeranges.get_time_range("office").holiday_mode == "outside"
    with pytest.raises(ValidationError) as caught:
        timeranges.create_time_range({"name": "office"})
    assert caught.value.field == "name"

    changed = timeranges.update_time_range("office", {"holiday_mode": "ignore", "revision": 1})
    assert changed.revision == 2 and current_revision() == before + 2
    with pytest.raises(Conflict) as conflict:
        timeranges.update_time_range("office", {"description": "stale", "revision": 1})
    assert conflict.value.field == "revision"
    assert timeranges.get_time_range("office").description == "Opening hours"
    with pytest.raises(ValidationError) as bad:
        timeranges.update_time_range("office", {"intervals": [{"days": [0], "start": "12:00", "end": "11:00"}]})
    assert bad.value.field == "intervals.0.end"
    with pytest.raises(ValidationError):
        timeranges.update_time_range("office", {"name": "renamed"})

    timeranges.delete_time_range("office")
    with pytest.raises(NotFound):
        timeranges.get_time_range("office")
    with pytest.raises(NotFound):
        timeranges.delete_time_range("office")


@pytest.mark.parametrize("data, field", [
    ({}, "name"),
    ({"name": "Office Hours"}, "name"),
    ({"name": "office", "colour": "red"}, "colour"),
    ({"name": "office", "holiday_mode": "sometimes"}, "holiday_mode"),
    ({"name": "office", "country_holidays": "yes"}, "country_holidays"),
    ({"name": "office", "description": "x" * 256}, "description"),
])
def test_create_refuses_bad_fields(store, data, field):
    with pytest.raises(ValidationError) as caught:
        timeranges.create_time_range(data)
    assert caught.value.field == field


def test_delete_refused_while_a_procedure_checks_the_range(store):
    timeranges.create_time_range({"name": "office", "intervals": OFFICE})
    Procedure.create(name="reception", numbers=[{"number": "100", "apps": [
        {"app": "check_time", "time_range": "office", "when": "outside", "procedure": "main"}]}])
    with pytest.raises(Conflict) as caught:
        timeranges.delete_time_range("office")
    assert "procedure reception, number 100" in caught.value.message
    assert timeranges.get_time_range("office")


def test_is_inside_uses_the_system_country(store):
    timeranges.create_time_range({"name": "office", "intervals": OFFICE, "country_holidays": True})
    swiss_national_day = at("2025-08-01 10:00")   # a Friday
    assert timeranges.is_inside("office", swiss_national_day)      # FR by default: a working day
    SystemSettings.update(country="CH").where(SystemSettings.id == 1).execute()
    assert not timeranges.is_inside("office", swiss_national_day)
    assert not timeranges.is_inside("missing", swiss_national_day)


# -- API and pages ------------------------------------------------------------------------------------------

def test_api_create_then_read_change_and_delete(web, store):
    admin = client_as(web, "admin")
    bad = admin.api("POST", "/api/v1/dialplan/time-ranges", {
        "name": "office", "intervals": [{"days": [0], "start": "18:00", "end": "08:00"}]})
    assert bad.status == 400 and bad.json()["field"] == "intervals.0.end"
    assert admin.api("GET", "/api/v1/dialplan/time-ranges/office").status == 404

    created = admin.api("POST", "/api/v1/dialplan/time-ranges", {
        "name": "office", "description": "Opening hours", "intervals": OFFICE, "country_holidays": True})
    assert created.status == 201, created.text
    assert created.header("Location") == "/api/v1/dialplan/time-ranges/office"
    body = created.json()
    assert body["revision"] == 1 and body["holiday_mode"] == "outside" and body["intervals"][1]["start"] == "14:00"

    stale = admin.api("PUT", "/api/v1/dialplan/time-ranges/office", {"holiday_mode": "ignore", "revision": 1})
    assert stale.status == 200 and stale.json()["revision"] == 2
    conflict = admin.api("PUT", "/api/v1/dialplan/time-ranges/office", {"description": "x", "revision": 1})
    assert conflict.status == 409 and conflict.json()["field"] == "revision"
    unknown = admin.api("PUT", "/api/v1/dialplan/time-ranges/office", {"colour": "red"})
    assert unknown.status == 400 and unknown.json()["field"] == "colour"
    assert [r["name"] for r in admin.api("GET", "/api/v1/dialplan/time-ranges").json()] == ["office"]

    Procedure.create(name="reception", numbers=[{"number": "100", "apps": [
        {"app": "check_time", "time_range": "office", "when": "outside", "procedure": "main"}]}])
    used = admin.api("DELETE", "/api/v1/dialplan/time-ranges/office")
    assert used.status == 409 and "procedure reception" in used.json()["message"]
    Procedure.delete().where(Procedure.name == "reception").execute()
    assert admin.api("DELETE", "/api/v1/dialplan/time-ranges/office").status == 204
    assert admin.api("GET", "/api/v1/dialplan/time-ranges/office").status == 404


def test_api_inside_now_follows_the_dialplan_clock(web, store):
    admin = client_as(web, "admin")
    admin.api("POST", "/api/v1/dialplan/time-ranges", {"name": "office", "intervals": OFFICE,
                                                       "country_holidays": True})
    clock = Path(web.settings.clock_file)
    clock.write_text("2026-06-01T08:30:00+00:00")   # Monday 10:30 in Paris
    assert admin.api("GET", "/api/v1/dialplan/time-ranges/office").json()["inside_now"] is True
    clock.write_text("2026-05-25T08:30:00+00:00")   # Whit Monday
    assert admin.api("GET", "/api/v1/dialplan/time-ranges").json()[0]["inside_now"] is False
    browser = web.client()
    assert browser.login("admin", STRONG).status == 303
    page = browser.get("/dialplan/timeranges")
    assert page.status == 200 and 'data-inside="no"' in page.text and "2026-05-25 10:30" in page.text


def test_api_holidays_computed_per_country_and_year(web, store):
    technician = client_as(web, "380")
    fr = technician.api("GET", "/api/v1/dialplan/holidays?country=FR&year=2027").json()
    assert fr["country"] == "FR" and fr["year"] == 2027
    assert {"date": "2027-03-29", "weekday": 0, "name": "Easter Monday",
            "holiday": {"kind": "easter", "offset": 1, "name": "Easter Monday"}} in fr["holidays"]
    assert {"FR", "CH", "DE", "IT", "AT", "BE", "GB", "US", "ES"} <= set(fr["countries"])
    SystemSettings.update(country="CH").where(SystemSettings.id == 1).execute()
    default = technician.api("GET", "/api/v1/dialplan/holidays?year=2026").json()
    assert default["country"] == "CH" and any(h["name"] == "Swiss National Day" for h in default["holidays"])
    for query, field in (("country=XX", "country"), ("year=abc", "year"), ("year=99999", "year"),
                         ("month=1", "month")):
        bad = technician.api("GET", "/api/v1/dialplan/holidays?" + query)
        assert bad.status == 400 and bad.json()["field"] == field, query


def test_roles_technician_reads_user_is_refused(web, store):
    technician, user = client_as(web, "380"), client_as(web, "381")
    assert technician.api("GET", "/api/v1/dialplan/time-ranges").status == 200
    assert technician.api("POST", "/api/v1/dialplan/time-ranges", {"name": "office"}).status == 403
    assert user.api("GET", "/api/v1/dialplan/time-ranges").status == 403
    assert user.api("GET", "/api/v1/dialplan/holidays").status == 403


def test_pages_list_and_editor(web, store):
    timeranges.create_time_range({"name": "office", "description": "Opening hours", "intervals": OFFICE})
    admin = web.client()
    assert admin.login("admin", STRONG).status == 303
    listing = admin.get("/dialplan/timeranges")
    assert listing.status == 200
    assert 'href="/dialplan/timeranges/office"' in listing.text and "Mon, Tue, Wed, Thu, Fri 08:00-12:00" in listing.text
    assert 'id="new-timerange"' in listing.text and 'src="/static/timeranges.js"' in listing.text
    editor = admin.get("/dialplan/timeranges/office")
    assert editor.status == 200 and 'data-name="office"' in editor.text and 'data-editable="1"' in editor.text
    assert 'id="country-preview"' in editor.text
    assert admin.get("/dialplan/timeranges/nothing").status == 404
    technician = web.client()
    assert technician.login("380", STRONG).status == 303
    page = technician.get("/dialplan/timeranges")
    assert page.status == 200 and 'id="new-timerange"' not in page.text and "data-delete" not in page.text
    assert 'data-editable=""' in technician.get("/dialplan/timeranges/office").text
