"""Dialplan time ranges: the list and editor pages, the API, and the computed public holidays.

The pages are thin: the editor (static/timeranges.js) reads and saves
through /api/v1/dialplan/time-ranges like any API client, so a validation
error names the same field in both ("intervals.0.end").
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import bottle

from appliance.dialplan import engine, holidays, timeranges
from appliance.errors import ValidationError
from appliance.system.models import get_system_settings
from webui import web
from webui.openapi import error_responses as _errors
from webui.openapi import json_body as _body
from webui.openapi import json_response as _ok
from webui.openapi import ref as _ref
from webui.web import _

PREFIX = "/api/v1/dialplan"
YEARS = (1900, 2200)


def register(app: bottle.Bottle) -> None:
    r = app.route
    r("/dialplan/timeranges", "GET", list_page, perm="dialplan.read")
    r("/dialplan/timeranges/<name>", "GET", edit_page, perm="dialplan.read")
    r(f"{PREFIX}/time-ranges", "GET", api_list, perm="dialplan.read")
    r(f"{PREFIX}/time-ranges", "POST", api_create, perm="dialplan.manage")
    r(f"{PREFIX}/time-ranges/<name>", "GET", api_get, perm="dialplan.read")
    r(f"{PREFIX}/time-ranges/<name>", "PUT", api_update, perm="dialplan.manage")
    r(f"{PREFIX}/time-ranges/<name>", "DELETE", api_delete, perm="dialplan.manage")
    r(f"{PREFIX}/holidays", "GET", api_holidays, perm="dialplan.read")


def local_now() -> dt.datetime:
    """The dialplan's "now" (the same clock the calls use, injectable in tests), in the appliance's zone."""
    return engine.clock(web.settings())().astimezone(ZoneInfo(get_system_settings().timezone))


def _public(row, now: dt.datetime, country: str) -> dict:
    return {**timeranges.to_public(row), "inside_now": timeranges.row_matches(row, now, country)}


# -- API --------------------------------------------------------------------------------------

def api_list():
    now, country = local_now(), get_system_settings().country
    return web.json_body([_public(row, now, country) for row in timeranges.list_time_ranges()])


def api_create():
    row = timeranges.create_time_range(web.read_json_object())
    bottle.response.set_header("Location", f"{PREFIX}/time-ranges/{row.name}")
    return web.json_body(_public(row, local_now(), get_system_settings().country), 201)


def api_get(name: str):
    return web.json_body(_public(timeranges.get_time_range(name), local_now(), get_system_settings().country))


def api_update(name: str):
    row = timeranges.update_time_range(name, web.read_json_object())
    return web.json_body(_public(row, local_now(), get_system_settings().country))


def api_delete(name: str):
    timeranges.delete_time_range(name)
    bottle.response.status = 204
    return ""


def _query_year() -> int:
    text = (bottle.request.query.getunicode("year", "") or "").strip()
    if not text:
        return local_now().year
    if not text.isdecimal() or not YEARS[0] <= int(text) <= YEARS[1]:
        raise ValidationError("year", f"must be a year from {YEARS[0]} to {YEARS[1]}")
    return int(text)


def api_holidays():
    for key in bottle.request.query.keys():
        if key not in ("country", "year"):
            raise ValidationError(key[:64], "is not a known parameter (country, year)")
    country = (bottle.request.query.getunicode("country", "") or "").strip().upper() or get_system_settings().country
    if country not in holidays.COUNTRY_RULES:
        raise ValidationError("country", f"no public holidays are known for {country[:8]!r}; known: "
                                         + ", ".join(holidays.supported_countries()))
    year = _query_year()
    return web.json_body({"country": country, "year": year, "holidays": holidays.country_holiday_entries(country, year),
                          "countries": list(holidays.supported_countries())})


# -- pages -----------------------------------------------------------------------------------

def list_page():
    now, system = local_now(), get_system_settings()
    rows = [(row, timeranges.describe(row), timeranges.row_matches(row, now, system.country))
            for row in timeranges.list_time_ranges()]
    return web.render("timeranges.tpl", title=_("Time ranges"), active="dialplan", rows=rows, now=now,
                      country=system.country, scripts=("api.js", "timeranges.js"))


def edit_page(name: str):
    row = timeranges.get_time_range(name)
    system = get_system_settings()
    return web.render("timeranges_edit.tpl", title=_("Time range") + " " + row.name, active="dialplan", row=row,
                      country=system.country, known_country=system.country in holidays.COUNTRY_RULES,
                      year=local_now().year, timezone=system.timezone, scripts=("api.js", "timeranges.js"))


# -- OpenAPI ---------------------------------------------------------------------------------





_NAME = [{"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}]
_TIME = {"type": "string", "pattern": "^[0-9]{1,2}:[0-9]{2}$"}
_PAIR = {"type": "array", "items": {"type": "integer"}, "minItems": 2, "maxItems": 2, "nullable": True}

OPENAPI_PATHS = {
    f"{PREFIX}/time-ranges": {
        "get": {"summary": "Every time range, with whether it is inside right now",
                "responses": {"200": _ok({"type": "array", "items": _ref("TimeRange")}, "Time ranges"),
                              **_errors("401", "403")}},
        "post": {"summary": "Create a time range", "requestBody": _body(_ref("TimeRangeWrite")),
                 "responses": {"201": _ok(_ref("TimeRange"), "Created"),
                               **_errors("400", "401", "403", "413", "415")}},
    },
    f"{PREFIX}/time-ranges/{{name}}": {
        "parameters": _NAME,
        "get": {"summary": "One time range", "responses": {"200": _ok(_ref("TimeRange"), "Time range"),
                                                           **_errors("401", "403", "404")}},
        "put": {"summary": "Change a time range (fields given are replaced whole; send the revision you read)",
                "requestBody": _body(_ref("TimeRangeWrite")),
                "responses": {"200": _ok(_ref("TimeRange"), "Changed"),
                              **_errors("400", "401", "403", "404", "409", "413", "415")}},
        "delete": {"summary": "Delete a time range (refused with 409 while a procedure checks it)",
                   "responses": {"204": {"description": "Deleted"}, **_errors("401", "403", "404", "409")}},
    },
    f"{PREFIX}/holidays": {"get": {
        "summary": "The public holidays of a country in a year, as time ranges compute them",
        "parameters": [
            {"name": "country", "in": "query", "schema": {"type": "string", "example": "FR"},
             "description": "ISO 3166 code (default: the system's country)"},
            {"name": "year", "in": "query", "schema": {"type": "integer", "minimum": YEARS[0], "maximum": YEARS[1]},
             "description": "default: this year"}],
        "responses": {"200": _ok(_ref("Holidays"), "Holidays"), **_errors("400", "401", "403")}}},
}

_INTERVAL = {"type": "object", "required": ["days", "start", "end"], "additionalProperties": False, "properties": {
    "days": {"type": "array", "items": {"type": "integer", "minimum": 0, "maximum": 6}, "minItems": 1,
             "description": "0 = Monday ... 6 = Sunday"},
    "start": {**_TIME, "description": "00:00 to 23:59, inside"},
    "end": {**_TIME, "description": "after start, up to 24:00 (midnight at the end of the day), outside; "
                                    "an interval never crosses midnight: split it in two"},
    "month_days": {**_PAIR, "description": "[first, last] day of the month, 1-31, may wrap (e.g. [25, 5])"},
    "months": {**_PAIR, "description": "[first, last] month, 1-12, may wrap (e.g. [11, 2])"}}}
_HOLIDAY = {"type": "object", "required": ["kind"], "additionalProperties": False, "properties": {
    "kind": {"type": "string", "enum": list(timeranges.HOLIDAY_KINDS)},
    "date": {"type": "string", "description": "fixed: YYYY-MM-DD; yearly: MM-DD"},
    "offset": {"type": "integer", "minimum": timeranges.EASTER_OFFSET[0], "maximum": timeranges.EASTER_OFFSET[1],
               "description": "easter: days after Easter Sunday (-2 Good Friday, 1 Easter Monday, 39 Ascension, "
                              "50 Whit Monday)"},
    "name": {"type": "string", "maxLength": timeranges.HOLIDAY_NAME_MAX}}}
_FIELDS = {
    "description": {"type": "string", "maxLength": timeranges.DESCRIPTION_MAX},
    "intervals": {"type": "array", "items": _INTERVAL, "maxItems": timeranges.MAX_INTERVALS},
    "holidays": {"type": "array", "items": _HOLIDAY, "maxItems": timeranges.MAX_HOLIDAYS},
    "country_holidays": {"type": "boolean", "description": "also the public holidays of the system's country"},
    "holiday_mode": {"type": "string", "enum": list(timeranges.HOLIDAY_MODES),
                     "description": "outside: a holiday is never inside (opening hours); inside: a holiday is "
                                    "inside all day (closed hours); ignore"},
}

OPENAPI_SCHEMAS = {
    "TimeRange": {"type": "object", "properties": {
        "name": {"type": "string"}, **_FIELDS, "revision": {"type": "integer"},
        "updated_at": {"type": "string", "format": "date-time"},
        "inside_now": {"type": "boolean", "description": "inside at the dialplan's current time"}}},
    "TimeRangeWrite": {"type": "object", "additionalProperties": False, "properties": {
        "name": {"type": "string", "pattern": "^[a-z0-9][a-z0-9_-]{0,63}$", "description": "POST only"},
        **_FIELDS, "revision": {"type": "integer", "description": "PUT only: the revision you read"}}},
    "Holidays": {"type": "object", "properties": {
        "country": {"type": "string"}, "year": {"type": "integer"},
        "holidays": {"type": "array", "items": {"type": "object", "properties": {
            "date": {"type": "string", "format": "date"}, "weekday": {"type": "integer"},
            "name": {"type": "string"},
            "holiday": {**_HOLIDAY, "description": "the time-range holiday standing for it (to copy into a "
                                                   "range's own list)"}}}},
        "countries": {"type": "array", "items": {"type": "string"}, "description": "countries with a table"}}},
}
