"""Security → toll fraud: the settings form, "unlock outbound", the last 50 fraud events; and the API.

Reading needs `fraud.read` (admin, technician); changing the limits or unlocking
outbound needs `fraud.manage` (admin). The page works with plain forms.
"""

from __future__ import annotations

import bottle

from appliance.errors import Conflict, ValidationError
from appliance.events import service as event_service
from appliance.fraud import guards, service
from appliance.system.models import get_system_settings
from appliance.trunks import countries
from webui import web
from webui.openapi import error_responses as _errors
from webui.openapi import json_body as _body
from webui.openapi import json_response as _ok
from webui.openapi import ref as _ref
from webui.web import ApiError, _

PREFIX = "/api/v1/fraud"
PAGE = "/security/fraud"
EVENTS_LIMIT_MAX = 1000


def register(app: bottle.Bottle) -> None:
    r = app.route
    r(PAGE, "GET", page, perm="fraud.read")
    r(PAGE, "POST", save, perm="fraud.manage")
    r(f"{PAGE}/unlock", "POST", unlock_form, perm="fraud.manage")
    r(f"{PREFIX}/settings", "GET", api_get, perm="fraud.read")
    r(f"{PREFIX}/settings", "PUT", api_put, perm="fraud.manage")
    r(f"{PREFIX}/unlock", "POST", api_unlock, perm="fraud.manage")
    r(f"{PREFIX}/events", "GET", api_events, perm="fraud.read")


def changed_by() -> str:
    """"<login> (web)" or "<login> (API)"."""
    ident = web.identity()
    return f"{ident.user.login} ({'web' if ident.via == 'cookie' else 'API'})"


# -- API ---------------------------------------------------------------------------------------

def api_get():
    return web.json_body(service.to_public(service.get_settings()))


def api_put():
    data = web.read_json_object(service.EDITABLE_FIELDS + ("revision",))
    return web.json_body(service.to_public(service.update_settings(data, by=changed_by())))


def api_unlock():
    if bottle.request.content_length:
        web.read_json_object(())  # an empty object at most: nothing to send
    return web.json_body(service.unlock(by=changed_by()))


def api_events():
    query = bottle.request.query
    for key in query.keys():
        if key not in ("limit", "offset"):
            raise ApiError(400, "invalid", key[:64], f"{key[:64]}: is not a known filter")
    limit = _int(query.getunicode("limit", "") or "", "limit", 50, 1, EVENTS_LIMIT_MAX)
    offset = _int(query.getunicode("offset", "") or "", "offset", 0, 0, 10**9)
    return web.json_body([event_service.to_public(e) for e in service.recent_events(limit, offset)])


def _int(text: str, field: str, default: int, low: int, high: int) -> int:
    text = text.strip()
    if not text:
        return default
    if not text.isdecimal() or not low <= int(text) <= high:
        raise ValidationError(field, f"must be a whole number from {low} to {high}")
    return int(text)


# -- page ----------------------------------------------------------------------------------------

NUMBER_FIELDS = tuple(service.RANGES)


def _page(values: dict | None = None, status: int = 200, errors: dict | None = None, notice: str = ""):
    settings = service.get_settings()
    public = service.to_public(settings)
    if values is None:
        values = {key: public[key] for key in service.EDITABLE_FIELDS}
        values["allowed_countries"] = " ".join(public["allowed_countries"])
        values["revision"] = str(settings.revision)
    try:
        home = get_system_settings().country
    except Exception:  # the system settings row is missing: the page still shows
        home = ""
    return web.render("fraud.tpl", status=status, title=_("Toll fraud"), active="security", values=values,
                      state=public, errors=errors or {}, notice=notice, home_country=home,
                      ranges=service.RANGES, default_whitelist=" ".join(sorted(countries.DEFAULT_WHITELIST)),
                      fraud_events=service.recent_events(), announcements=guards.ANNOUNCEMENTS)


def page():
    query = bottle.request.query
    notice = _("Settings saved.") if query.get("saved") else (
        _("Outbound calls unlocked until midnight UTC.") if query.get("unlocked") else "")
    return _page(notice=notice)


def save():
    values = {key: web.form_text(key) for key in ("allowed_countries", "revision", *NUMBER_FIELDS)}
    values["enabled"] = bool(web.form_text("enabled"))
    values["premium_allowed"] = bool(web.form_text("premium_allowed"))
    data = {"enabled": values["enabled"], "premium_allowed": values["premium_allowed"]}
    errors = {}
    # Every field checked, so the form shows every mistake at once.
    for key in ("allowed_countries", *NUMBER_FIELDS):
        try:
            value = values[key] if key == "allowed_countries" else _number(key, values[key])
            data[key] = service.clean_value(key, value)
        except ValidationError as exc:
            errors[key] = web.message_for(exc)
    if errors:
        return _page(values, 400, errors)
    try:
        if values["revision"]:
            if not values["revision"].isdecimal():
                raise ValidationError("revision", "must be an integer")
            data["revision"] = int(values["revision"])
        service.update_settings(data, by=changed_by())
    except Conflict as exc:
        return _page(values, 409, {"_form": web.message_for(exc)})
    except ValidationError as exc:
        field = exc.field.split(".")[0]
        field = field if field in service.EDITABLE_FIELDS else "_form"
        return _page(values, 400, {field: web.message_for(exc)})
    return bottle.redirect(PAGE + "?saved=1", 303)


def unlock_form():
    try:
        service.unlock(by=changed_by())
    except Conflict as exc:
        return _page(status=409, errors={"unlock": web.message_for(exc)})
    return bottle.redirect(PAGE + "?unlocked=1", 303)


def _number(field: str, text: str) -> float:
    try:
        value = float(text.strip().replace(",", "."))
    except ValueError:
        low, high = service.RANGES[field]
        raise ValidationError(field, f"must be a number from {low:g} to {high:g} (0: no limit)") from None
    return int(value) if value == int(value) else value


# -- OpenAPI ---------------------------------------------------------------------------------------

_SETTINGS_FIELDS = {
    "enabled": {"type": "boolean", "description": "false switches every guard off (emergency calls are logged)"},
    "allowed_countries": {"type": "array", "items": {"type": "string", "pattern": "^[A-Z]{2}$"}, "minItems": 1,
                          "description": "ISO-2 codes outbound calls may reach (default: the EEA, CH, GB); "
                                         "the appliance's own country is always allowed"},
    "daily_budget": {"type": "number", "minimum": 0, "maximum": service.RANGES["daily_budget"][1],
                     "description": "cost of today's (UTC) outbound calls that blocks outbound until midnight UTC; "
                                    "0: no budget"},
    **{key: {"type": "integer", "minimum": 0, "maximum": int(service.RANGES[key][1]), "description": text}
       for key, text in (
           ("calls_per_minute", "new outbound calls per minute, whole appliance; 0: no limit"),
           ("calls_per_minute_per_user", "new outbound calls per minute and user; 0: no limit"),
           ("max_calls_per_user", "simultaneous outbound calls per user; 0: no limit"))},
    "max_call_minutes": {"type": "number", "minimum": 0, "maximum": service.RANGES["max_call_minutes"][1],
                         "description": "longest outbound call in minutes (fractions allowed, at least "
                                        f"{service.MIN_CALL_MINUTES:g}), then the appliance cuts it; 0: no limit"},
    "premium_allowed": {"type": "boolean", "description": "allow premium-rate numbers"},
}

OPENAPI_PATHS = {
    f"{PREFIX}/settings": {
        "get": {"summary": "Toll-fraud settings, whether outbound is blocked, today's spend, unlocks left",
                "responses": {"200": _ok(_ref("FraudSettings"), "Settings"), **_errors("401", "403")}},
        "put": {"summary": "Change toll-fraud settings (send the revision you read; role admin)",
                "requestBody": _body(_ref("FraudSettingsWrite")),
                "responses": {"200": _ok(_ref("FraudSettings"), "Changed"),
                              **_errors("400", "401", "403", "409", "413", "415")}},
    },
    f"{PREFIX}/unlock": {
        "post": {"summary": "Unlock outbound calls blocked by the daily budget, until midnight UTC with a fresh "
                            "budget; at most twice per 24 hours (409 otherwise, or when not blocked; role admin)",
                 "responses": {"200": _ok(_ref("FraudStatus"), "Unlocked"),
                               **_errors("400", "401", "403", "409", "415")}},
    },
    f"{PREFIX}/events": {
        "get": {"summary": "Fraud events (blocked calls, budget exceeded, unlocks, emergency calls), newest first",
                "parameters": [
                    {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1,
                                                                "maximum": EVENTS_LIMIT_MAX, "default": 50}},
                    {"name": "offset", "in": "query", "schema": {"type": "integer", "minimum": 0, "default": 0}}],
                "responses": {"200": _ok({"type": "array", "items": _ref("Event")}, "Events"),
                              **_errors("400", "401", "403")}},
    },
}

_STATUS = {
    "blocked": {"type": "boolean"},
    "blocked_until": {"type": "string", "format": "date-time", "nullable": True},
    "spent_today": {"type": "number", "description": "cost of today's outbound calls (since the last unlock)"},
    "unlocks_used_24h": {"type": "integer"},
    "unlocks_remaining": {"type": "integer", "minimum": 0, "maximum": service.UNLOCKS_PER_DAY},
    "next_unlock_at": {"type": "string", "format": "date-time", "nullable": True},
}

OPENAPI_SCHEMAS = {
    "FraudStatus": {"type": "object", "properties": _STATUS},
    "FraudSettings": {"type": "object", "properties": {**_SETTINGS_FIELDS, "revision": {"type": "integer"},
                                                       **_STATUS}},
    "FraudSettingsWrite": {"type": "object", "additionalProperties": False,
                           "properties": {**_SETTINGS_FIELDS, "revision": {"type": "integer"}}},
}
