"""Price lists: the price of a call (prefix, time of week, minimum duration, billing blocks, connection
charge), the CSV import (every bad line reported, nothing imported), call costs in the CDR and the API."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from appliance.cdr.models import Cdr
from appliance.errors import Conflict, NotFound, ValidationError
from appliance.prices import csvimport, service
from appliance.prices.models import PriceRate
from appliance.prices.pricing import RateRow, cost, e164_prefix, rate_for
from appliance.system.models import get_system_settings
from appliance.trunks.models import Trunk
from tests.support.browser import STRONG, running_web

MONDAY_10H = dt.datetime(2026, 11, 23, 10, 0)  # a Monday
SATURDAY_10H = dt.datetime(2026, 11, 28, 10, 0)
SUNDAY_10H = dt.datetime(2026, 11, 29, 10, 0)
WEDNESDAY_10H = dt.datetime(2026, 11, 25, 10, 0)

HEADER = "dialprefix;destination;rate;min_duration;billing_block;connect_charge;start_day;stop_day;start_time;stop_time"


# -- cost of a call -------------------------------------------------------------------------------

def test_a_call_is_billed_per_started_block_at_the_rate_per_minute():
    per_minute = RateRow("41", "0.12", billing_block=60)
    assert cost(per_minute, 1) == Decimal("0.1200")    # a started minute counts in full
    assert cost(per_minute, 60) == Decimal("0.1200")
    assert cost(per_minute, 61) == Decimal("0.2400")
    per_second = RateRow("41", "0.12", billing_block=1)
    assert cost(per_second, 61) == Decimal("0.1220")
    per_30s = RateRow("41", "0.12", billing_block=30)
    assert cost(per_30s, 31) == Decimal("0.1200")      # two half-minutes
    assert cost(per_30s, 91) == Decimal("0.2400")      # four half-minutes


def test_a_call_no_longer_than_the_minimum_duration_is_free_a_longer_one_is_billed_from_its_first_second():
    rate = RateRow("41", "0.60", min_duration=5, billing_block=1, connect_charge="0.10")
    assert cost(rate, 3) == Decimal("0")
    assert cost(rate, 5) == Decimal("0")               # at most min_duration: nothing, no connection charge
    assert cost(rate, 6) == Decimal("0.1600")          # 0.10 + 6 s at 0.01/s


def test_the_connection_charge_is_added_once_even_to_a_call_of_no_second():
    rate = RateRow("33", "0.06", billing_block=60, connect_charge="0.15")
    assert cost(rate, 0) == Decimal("0.1500")
    assert cost(rate, 120) == Decimal("0.2700")


def test_costs_are_exact_decimals_rounded_half_up_to_four_places():
    rate = RateRow("44", "0.0001", billing_block=1)
    assert cost(rate, 30) == Decimal("0.0001")         # 0.00005 rounds up
    assert cost(RateRow("44", 0.1, billing_block=1), 3) == Decimal("0.0050")  # no binary float noise


# -- which rate --------------------------------------------------------------------------------------

def test_the_longest_matching_prefix_wins_whatever_the_order():
    rates = [RateRow("41", "0.05"), RateRow("4179", "0.30"), RateRow("417", "0.20")]
    assert rate_for(rates, "41791234567", MONDAY_10H).rate == "0.30"
    assert rate_for(rates, "41781234567", MONDAY_10H).rate == "0.20"
    assert rate_for(rates, "41441234567", MONDAY_10H).rate == "0.05"
    assert rate_for(rates, "+41441234567", MONDAY_10H).rate == "0.05"
    assert rate_for(rates, "33123456789", MONDAY_10H) is None


def test_time_of_week_bands_pick_the_weekday_or_the_weekend_rate():
    rates = [RateRow("33", "0.10", start_day=1, stop_day=5), RateRow("33", "0.02", start_day=6, stop_day=7)]
    assert rate_for(rates, "33123456789", WEDNESDAY_10H).rate == "0.10"
    assert rate_for(rates, "33123456789", SATURDAY_10H).rate == "0.02"
    assert rate_for(rates, "33123456789", SUNDAY_10H).rate == "0.02"


def test_day_ranges_and_time_ranges_may_wrap():
    weekend_and_monday = RateRow("49", "0.01", start_day=6, stop_day=1)
    night = RateRow("49", "0.03", start_time=20 * 3600, stop_time=7 * 3600)
    assert rate_for([weekend_and_monday], "491", MONDAY_10H) is not None
    assert rate_for([weekend_and_monday], "491", SUNDAY_10H) is not None
    assert rate_for([weekend_and_monday], "491", WEDNESDAY_10H) is None
    assert rate_for([night], "491", MONDAY_10H.replace(hour=23)) is not None
    assert rate_for([night], "491", MONDAY_10H.replace(hour=6, minute=59, second=59)) is not None
    assert rate_for([night], "491", MONDAY_10H.replace(hour=7)) is None          # stop_time excluded
    assert rate_for([night], "491", MONDAY_10H.replace(hour=20)) is not None     # start_time included
    assert rate_for([night], "491", MONDAY_10H) is None


def test_where_bands_of_a_prefix_overlap_the_narrower_band_wins():
    always = RateRow("39", "0.20")
    weekend = RateRow("39", "0.05", start_day=6, stop_day=7)
    sunday_morning = RateRow("39", "0.01", start_day=7, stop_day=7, start_time=0, stop_time=12 * 3600)
    for order in ([always, weekend, sunday_morning], [sunday_morning, weekend, always]):
        assert rate_for(order, "39061234567", WEDNESDAY_10H).rate == "0.20"
        assert rate_for(order, "39061234567", SATURDAY_10H).rate == "0.05"
        assert rate_for(order, "39061234567", SUNDAY_10H).rate == "0.01"
        assert rate_for(order, "39061234567", SUNDAY_10H.replace(hour=13)).rate == "0.05"


def test_a_longer_prefix_without_a_rate_at_that_time_gives_way_to_a_shorter_one():
    rates = [RateRow("41", "0.05"), RateRow("4179", "0.30", start_day=1, stop_day=5)]
    assert rate_for(rates, "41791234567", WEDNESDAY_10H).rate == "0.30"
    assert rate_for(rates, "41791234567", SUNDAY_10H).rate == "0.05"


def test_prefixes_may_be_written_with_plus_international_or_national_prefix():
    assert e164_prefix("+41") == "41"
    assert e164_prefix("0041") == "41"
    assert e164_prefix("079", country_code="41") == "4179"
    assert e164_prefix("41") == "41"
    assert e164_prefix("00") == ""                     # every international number


# -- CSV import -----------------------------------------------------------------------------------

def test_the_manuals_columns_are_read_with_semicolons_and_decimal_commas():
    rows = csvimport.parse((HEADER + "\n0041;Suisse;0,05;0;60;0,10;1;5;25200;64800\n").encode())
    assert len(rows) == 1
    row = rows[0]
    assert row["dialprefix"] == "0041" and row["destination"] == "Suisse"
    assert row["rate"] == Decimal("0.05") and row["connect_charge"] == Decimal("0.10")
    assert (row["start_day"], row["stop_day"], row["start_time"], row["stop_time"]) == (1, 5, 25200, 64800)


def test_commas_a_bom_crlf_and_quoted_decimal_commas_are_accepted():
    text = '\ufeffdialprefix,destination,rate,billing block\r\n+33,"France, fixe","0,02",1\r\n+336,Mobile,0.15,60\r\n'
    rows = csvimport.parse(text.encode("utf-8"))
    assert [(r["dialprefix"], r["destination"], r["rate"], r["billing_block"]) for r in rows] == [
        ("+33", "France, fixe", Decimal("0.02"), 1), ("+336", "Mobile", Decimal("0.15"), 60)]
    assert rows[0]["min_duration"] == 0 and rows[0]["stop_time"] == 86400   # defaults for absent columns


def test_a_file_with_bad_rows_reports_each_bad_line_with_its_column():
    text = "\n".join([
        HEADER,
        "41;Suisse;0.05;0;60;0;1;7;0;86400",
        "4x;Bad prefix;0.05;0;60;0;1;7;0;86400",       # line 3
        "33;France;-1;0;60;0;1;7;0;86400",              # line 4
        "",
        "44;UK;0.05;0;0;0;8;7;0;86400",                 # line 6: two bad columns
        "49;DE;0.05;0;60",                              # line 7: too few fields
        "41;Suisse again;0.07;0;60;0;1;7;0;86400",      # line 8: same prefix and band as line 2
        "39;Italia;0.05;0;60;0;1;7;3600;3600",          # line 9: empty time band
    ])
    with pytest.raises(csvimport.CsvErrors) as caught:
        csvimport.parse(text.encode())
    found = [(e["line"], e["column"]) for e in caught.value.errors]
    assert found == [(3, "dialprefix"), (4, "rate"), (6, "billing_block"), (6, "start_day"), (7, None),
                     (8, "dialprefix"), (9, "stop_time")]
    assert "line 2" in caught.value.errors[5]["message"]
    assert caught.value.field == "rates" and "nothing was imported" in caught.value.message


@pytest.mark.parametrize("text, line, column", [
    ("", 1, None),
    ("prefix;rate\n41;0.1\n", 1, "prefix"),
    ("dialprefix;destination\n41;CH\n", 1, "rate"),
    ("dialprefix;rate;rate\n41;0.1;0.1\n", 1, "rate"),
    ("dialprefix;destination;rate\n41;=HYPERLINK(1);0.1\n", 2, "destination"),
])
def test_a_bad_header_empty_file_or_formula_is_reported(text, line, column):
    with pytest.raises(csvimport.CsvErrors) as caught:
        csvimport.parse(text.encode())
    first = caught.value.errors[0]
    assert (first["line"], first["column"]) == (line, column)


def test_a_file_that_is_not_utf8_is_refused_naming_the_line():
    with pytest.raises(csvimport.CsvErrors) as caught:
        csvimport.parse("dialprefix;destination;rate\n41;Zürich;0.1\n".encode("latin-1"))
    assert caught.value.errors[0]["line"] == 2 and "UTF-8" in caught.value.errors[0]["message"]


def test_size_and_row_limits(monkeypatch):
    with pytest.raises(csvimport.CsvErrors) as caught:
        csvimport.parse(b"x" * (csvimport.MAX_BYTES + 1))
    assert "8 MB" in caught.value.errors[0]["message"]
    monkeypatch.setattr(csvimport, "MAX_ROWS", 3)
    rows = "\n".join(f"4{i};0.1" for i in range(4))
    with pytest.raises(csvimport.CsvErrors) as caught:
        csvimport.parse(("dialprefix;rate\n" + rows).encode())
    assert caught.value.errors[0]["line"] == 5 and "at most 3" in caught.value.errors[0]["message"]


# -- service: lists, import, export, call costs -------------------------------------------------

def _cdr(call_id="c1", trunk="sip1", dialled="+41791234567", billsec=61, start=None, caller="200", **extra):
    start = start or dt.datetime(2026, 11, 23, 9, 0)  # Monday 10:00 in Europe/Paris
    values = {"call_id": call_id, "caller": caller, "caller_name": "Alice", "callee": dialled, "start": start,
              "answer": start, "end": start + dt.timedelta(seconds=billsec), "billsec": billsec,
              "disposition": "answered", "direction": "outbound", "trunk": trunk, "dialled": dialled}
    values.update(extra)
    return Cdr.create(**values)


def test_price_list_names_are_slugs_unique_and_immutable_currency_is_iso(store):
    made = service.create_price_list({"name": "carrier-a", "description": "Carrier A", "currency": "chf"})
    assert made.currency == "CHF"
    for data, field in (({"name": "Carrier A"}, "name"), ({"name": "carrier-a"}, "name"),
                        ({"name": "b", "currency": "EURO"}, "currency"), ({"name": "b", "rates": []}, "rates"),
                        ({}, "name")):
        with pytest.raises(ValidationError) as caught:
            service.create_price_list(data)
        assert caught.value.field == field
    with pytest.raises(ValidationError) as caught:
        service.update_price_list("carrier-a", {"name": "other"})
    assert caught.value.field == "name"
    changed = service.update_price_list("carrier-a", {"description": "New", "revision": made.revision})
    with pytest.raises(Conflict):
        service.update_price_list("carrier-a", {"description": "Stale", "revision": made.revision})
    assert changed.description == "New"
    with pytest.raises(NotFound):
        service.get_price_list("nope")


def test_an_import_replaces_the_rates_and_a_bad_file_leaves_them_untouched(store):
    service.create_price_list({"name": "carrier"})
    assert service.import_rates("carrier", (HEADER + "\n41;CH;0.05;0;60;0;1;7;0;86400\n").encode()) == 1
    assert service.import_rates("carrier", b"dialprefix;rate\n33;0.02\n336;0.15\n") == 2
    assert [r.dialprefix for r in service.list_rates("carrier")] == ["33", "336"]
    with pytest.raises(csvimport.CsvErrors):
        service.import_rates("carrier", b"dialprefix;rate\n49;0.02\n4x;0.15\n")
    assert [r.dialprefix for r in service.list_rates("carrier")] == ["33", "336"]


def test_export_gives_back_a_file_the_import_reads_the_same(store):
    service.create_price_list({"name": "carrier"})
    source = (HEADER + "\n0041;Suisse;0,05;5;30;0,1;1;5;25200;64800\n+336;France mobile;0.15;0;60;0;6;7;0;86400\n")
    service.import_rates("carrier", source.encode())
    exported = service.export_rates("carrier")
    assert exported.splitlines()[0] == HEADER
    assert "0041;Suisse;0.05;5;30;0.1;1;5;25200;64800" in exported.splitlines()
    service.create_price_list({"name": "copy"})
    service.import_rates("copy", exported.encode())
    assert [service.rate_dict(r) for r in service.list_rates("copy")] == [
        service.rate_dict(r) for r in service.list_rates("carrier")]


def test_a_list_a_trunk_uses_cannot_be_deleted(store):
    service.create_price_list({"name": "carrier"})
    service.import_rates("carrier", b"dialprefix;rate\n41;0.05\n")
    Trunk.create(name="sip1", price_list="carrier")
    with pytest.raises(Conflict) as caught:
        service.delete_price_list("carrier")
    assert "trunk sip1" in caught.value.message
    Trunk.update(price_list=None).execute()
    service.delete_price_list("carrier")
    assert PriceRate.select().count() == 0


def test_an_outbound_call_is_priced_with_its_trunks_list_at_local_time(store):
    service.create_price_list({"name": "carrier", "currency": "CHF"})
    service.import_rates("carrier", (
        b"dialprefix;destination;rate;billing_block;connect_charge;start_day;stop_day;start_time;stop_time\n"
        b"0041;Suisse;0.06;60;0;1;7;0;86400\n"
        b"079;Swisscom mobile;0.30;1;0.10;1;7;0;86400\n"          # national form: country code of the trunk
        b"079;Swisscom mobile night;0.03;1;0.10;1;7;0;36000\n"   # until 10:00 local
    ))
    Trunk.create(name="sip1", price_list="carrier", country_code="41")
    # 09:00 UTC = 10:00 in Europe/Paris (the default time zone): day rate.
    day = _cdr("day", billsec=61)
    assert service.on_call_ended(day) == pytest.approx(0.405)
    assert Cdr.get(Cdr.call_id == "day").cost == pytest.approx(0.405)       # 0.10 + 61 s at 0.005/s
    night = _cdr("night", start=dt.datetime(2026, 11, 23, 8, 59), billsec=61)  # 09:59 local
    assert service.on_call_ended(night) == pytest.approx(0.1305)
    fixed = _cdr("fixed", dialled="+41441234567", billsec=61)
    assert service.on_call_ended(fixed) == pytest.approx(0.12)
    settings = get_system_settings()
    settings.timezone = "UTC"
    settings.save()
    assert service.price_call(Cdr.get(Cdr.call_id == "day")) == pytest.approx(0.1305)  # 09:00 UTC: night


@pytest.mark.parametrize("change", [
    {"direction": "inbound"}, {"disposition": "no_answer", "billsec": 0}, {"trunk": ""}, {"trunk": "unknown"},
    {"dialled": "+33123456789"},
])
def test_calls_that_cannot_be_priced_keep_no_cost(store, change):
    service.create_price_list({"name": "carrier"})
    service.import_rates("carrier", b"dialprefix;rate\n41;0.06\n")
    Trunk.create(name="sip1", price_list="carrier")
    cdr = _cdr(**change)
    assert service.on_call_ended(cdr) is None
    assert Cdr.get(Cdr.call_id == "c1").cost is None


def test_a_trunk_without_a_list_prices_nothing_and_a_broken_cdr_does_not_raise(store):
    Trunk.create(name="sip1")
    assert service.on_call_ended(_cdr()) is None
    assert service.on_call_ended(object()) is None


def test_cost_totals_per_user_and_per_trunk(store):
    from appliance.cdr import queries

    service.create_price_list({"name": "a", "currency": "CHF"})
    service.create_price_list({"name": "b", "currency": "EUR"})
    Trunk.create(name="sip1", price_list="a")
    Trunk.create(name="sip2", price_list="b")
    _cdr("1", trunk="sip1", caller="200", cost=1.5)
    _cdr("2", trunk="sip1", caller="201", cost=0.25, caller_name="Bob")
    _cdr("3", trunk="sip2", caller="200", cost=2.0)
    _cdr("4", trunk="sip1", caller="200", cost=9.0, start=dt.datetime(2026, 10, 1, 9, 0))   # out of the period
    _cdr("5", trunk="", caller="200", direction="internal")
    totals = queries.cost_totals(dt.datetime(2026, 11, 1), dt.datetime(2026, 11, 30))
    assert totals["trunks"] == [
        {"trunk": "sip1", "currency": "CHF", "calls": 2, "billsec": 122, "cost": 1.75},
        {"trunk": "sip2", "currency": "EUR", "calls": 1, "billsec": 61, "cost": 2.0}]
    assert [(u["user"], u["currency"], u["calls"], u["cost"]) for u in totals["users"]] == [
        ("200", "CHF", 1, 1.5), ("200", "EUR", 1, 2.0), ("201", "CHF", 1, 0.25)]
    assert [(t["currency"], t["cost"]) for t in totals["total"]] == [("CHF", 1.75), ("EUR", 2.0)]


# -- the API and the pages ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def web(tmp_path_factory):
    running = running_web(tmp_path_factory.mktemp("prices"))
    client = running.client()
    assert client.api("POST", "/api/v1/session/password", {
        "username": "admin", "current_password": running.admin_password, "new_password": STRONG}).status == 200
    yield running
    running.stop()


@pytest.fixture
def admin(web):
    client = web.client()
    assert client.api_login("admin", STRONG).status == 200
    yield client
    for row in service.list_price_lists():
        Trunk.update(price_list=None).where(Trunk.price_list == row.name).execute()
        service.delete_price_list(row.name)
    Cdr.delete().execute()


def _login_as(web, admin, extension: str, role: str):
    if admin.api("GET", f"/api/v1/users/{extension}").status == 404:
        assert admin.api("POST", "/api/v1/users", {"extension": extension, "first_name": role.title(),
                                                   "last_name": "Test", "role": role,
                                                   "web_password": STRONG}).status == 201
    client = web.client()
    assert client.api_login(extension, STRONG).status == 200
    return client


def upload(client, name, text: str | bytes, content_type="text/csv; charset=utf-8", query=""):
    raw = text.encode() if isinstance(text, str) else text
    return client.api("POST", f"/api/v1/price-lists/{name}/rates{query}", raw=raw, content_type=content_type)


def test_api_create_upload_read_export_delete(admin):
    made = admin.api("POST", "/api/v1/price-lists", {"name": "carrier", "description": "Carrier", "currency": "CHF"})
    assert made.status == 201 and made.header("Location") == "/api/v1/price-lists/carrier"
    # 3000 rates: far above the 64 KiB other bodies may have.
    big = HEADER + "\n" + "\n".join(f"41{i:05d};Dest {i};0,0{i % 10};0;60;0;1;7;0;86400" for i in range(3000))
    assert len(big.encode()) > 64 * 1024
    done = upload(admin, "carrier", "\ufeff" + big)
    assert done.status == 200, done.text
    assert done.json()["imported"] == 3000 and done.json()["rates"] == 3000
    listed = admin.api("GET", "/api/v1/price-lists").json()
    assert [(p["name"], p["currency"], p["rates"]) for p in listed] == [("carrier", "CHF", 3000)]
    exported = admin.api("GET", "/api/v1/price-lists/carrier/rates")
    assert exported.status == 200 and exported.header("Content-Type").startswith("text/csv")
    assert exported.text.splitlines()[0] == HEADER and len(exported.text.splitlines()) == 3001
    assert admin.api("PUT", "/api/v1/price-lists/carrier", {"currency": "EUR"}).json()["currency"] == "EUR"
    assert admin.api("DELETE", "/api/v1/price-lists/carrier").status == 204
    assert admin.api("GET", "/api/v1/price-lists/carrier").status == 404


def test_api_upload_with_bad_rows_lists_each_line_and_imports_nothing(admin):
    admin.api("POST", "/api/v1/price-lists", {"name": "carrier"})
    assert upload(admin, "carrier", "dialprefix;rate\n41;0.05\n").status == 200
    bad = upload(admin, "carrier", "dialprefix;rate;start_day\n33;0.02;1\n3x;0.1;1\n44;abc;9\n")
    assert bad.status == 400
    body = bad.json()
    assert body["error"] == "invalid" and body["field"] == "rates" and body["error_count"] == 3
    assert [(e["line"], e["column"]) for e in body["errors"]] == [(3, "dialprefix"), (4, "rate"), (4, "start_day")]
    exported = admin.api("GET", "/api/v1/price-lists/carrier/rates").text.splitlines()
    assert [line.split(";")[0] for line in exported[1:]] == ["41"]


def test_api_errors_name_the_field(admin):
    assert admin.api("POST", "/api/v1/price-lists", {"name": "Bad Name"}).json()["field"] == "name"
    assert admin.api("POST", "/api/v1/price-lists", {"name": "x", "currency": "E"}).json()["field"] == "currency"
    admin.api("POST", "/api/v1/price-lists", {"name": "carrier"})
    assert admin.api("POST", "/api/v1/price-lists", {"name": "carrier"}).status == 400
    assert upload(admin, "carrier", "dialprefix;rate\n41;1\n", content_type="application/json").status == 415
    assert upload(admin, "nope", "dialprefix;rate\n41;1\n").status == 404
    stale = upload(admin, "carrier", "dialprefix;rate\n41;1\n", query="?revision=99")
    assert stale.status == 409 and stale.json()["field"] == "revision"
    raw = b"dialprefix;rate\n" + b"41;0.1\n" * 1_100_000
    raw += b"#" * (csvimport.MAX_BYTES + 10 - len(raw))  # just over the 8 MB a file may have
    too_big = upload(admin, "carrier", raw)
    assert too_big.status == 400 and "8 MB" in too_big.json()["message"]
    Trunk.create(name="sip1", price_list="carrier")
    refused = admin.api("DELETE", "/api/v1/price-lists/carrier")
    assert refused.status == 409 and "trunk sip1" in refused.json()["message"]
    Trunk.delete().execute()


def test_technician_reads_price_lists_but_cannot_change_them_and_users_see_nothing(web, admin):
    admin.api("POST", "/api/v1/price-lists", {"name": "carrier"})
    tech = _login_as(web, admin, "211", "technician")
    assert tech.api("GET", "/api/v1/price-lists").status == 200
    assert tech.api("GET", "/api/v1/price-lists/carrier/rates").status == 200
    assert tech.api("POST", "/api/v1/price-lists", {"name": "mine"}).status == 403
    assert upload(tech, "carrier", "dialprefix;rate\n41;1\n").status == 403
    assert tech.api("DELETE", "/api/v1/price-lists/carrier").status == 403
    assert tech.api("GET", "/api/v1/cdr/totals").status == 200
    user = _login_as(web, admin, "212", "user")
    assert user.api("GET", "/api/v1/price-lists").status == 403
    assert user.api("GET", "/api/v1/cdr/totals").status == 403


def test_api_cdr_shows_the_cost_and_totals_cover_the_period(admin):
    service.create_price_list({"name": "carrier", "currency": "CHF"})
    Trunk.create(name="sip1", price_list="carrier")
    _cdr("1", cost=0.5)
    _cdr("2", cost=0.25, start=dt.datetime(2026, 11, 24, 9, 0))
    rows = admin.api("GET", "/api/v1/cdr").json()
    assert sorted(r["cost"] for r in rows) == [0.25, 0.5] and rows[0]["trunk"] == "sip1"
    totals = admin.api("GET", "/api/v1/cdr/totals?from=2026-11-23&to=2026-11-23").json()
    assert totals["trunks"] == [{"trunk": "sip1", "currency": "CHF", "calls": 1, "billsec": 61, "cost": 0.5}]
    assert totals["users"][0]["user"] == "200" and totals["total"][0]["cost"] == 0.5
    assert admin.api("GET", "/api/v1/cdr/totals?from=2026-13-01").json()["field"] == "from"
    assert admin.api("GET", "/api/v1/cdr/totals?trunk=x").json()["field"] == "trunk"
    Trunk.delete().execute()


def test_pages_list_rates_and_history_shows_costs_and_totals(web, admin):
    page_client = web.client()
    assert page_client.login("admin", STRONG).status == 303
    service.create_price_list({"name": "carrier", "description": "Carrier A", "currency": "CHF"})
    service.import_rates("carrier", b"dialprefix;destination;rate\n41;Suisse;0.05\n")
    listing = page_client.get("/trunks/prices")
    assert listing.status == 200 and "Carrier A" in listing.text and 'href="/trunks/prices/carrier"' in listing.text
    detail = page_client.get("/trunks/prices/carrier")
    assert detail.status == 200 and "Suisse" in detail.text and 'id="rates-form"' in detail.text
    assert page_client.get("/trunks/prices/nope").status == 404
    Trunk.create(name="sip1", price_list="carrier")
    _cdr("1", cost=0.1234)
    history = page_client.get("/calls/history?from=2026-11-23&to=2026-11-23")
    assert history.status == 200
    assert "0.1234" in history.text and 'id="cost-totals-trunks"' in history.text and "CHF" in history.text
    csv_export = page_client.get("/calls/history.csv")
    assert csv_export.text.splitlines()[0].endswith("direction,trunk,cost")
    Trunk.delete().execute()
