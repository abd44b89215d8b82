"""The event log: a page under Security and GET /api/v1/events (role admin or technician)."""

from __future__ import annotations

import bottle

from appliance.errors import ValidationError
from appliance.events import service
from appliance.events.log import KINDS, SEVERITIES
from webui import web
from webui.openapi import error_responses as _errors
from webui.openapi import json_response as _ok
from webui.openapi import ref as _ref
from webui.web import ApiError, _

PAGE_SIZE = 100


def register(app: bottle.Bottle) -> None:
    app.route("/security/events", "GET", page, perm="events.read")
    app.route("/api/v1/events", "GET", api_list, perm="events.read")


def api_list():
    query = bottle.request.query
    for key in query.keys():
        if key not in service.FILTERS:
            raise ApiError(400, "invalid", key[:64], f"{key[:64]}: is not a known filter")
    wanted = service.parse_filter({key: query.getunicode(key, "") for key in service.FILTERS})
    return web.json_body([service.to_public(e) for e in service.list_events(wanted)])


def page():
    query = bottle.request.query
    params = {key: (query.getunicode(key, "") or "") for key in ("kind", "severity", "since", "until", "offset")}
    error = ""
    status = 200
    try:
        wanted = service.parse_filter({**params, "limit": str(PAGE_SIZE + 1)})
        rows = service.list_events(wanted)
    except ValidationError as exc:
        error = f"{exc.field}: {web.message_for(exc)}"
        status = 400
        wanted = service.EventFilter(limit=PAGE_SIZE + 1)
        rows = []
    more = len(rows) > PAGE_SIZE
    kept = {k: v for k, v in params.items() if v and k != "offset"}

    def link(offset: int) -> str:
        return "/security/events?" + bottle.urlencode({**kept, "offset": str(offset)})

    return web.render("events.tpl", status=status, title=_("Event log"), active="security", rows=rows[:PAGE_SIZE],
                      params=params, error=error, kinds=sorted(KINDS), severities=SEVERITIES,
                      newer=link(max(0, wanted.offset - PAGE_SIZE)) if wanted.offset else "",
                      older=link(wanted.offset + PAGE_SIZE) if more else "")


OPENAPI_PATHS = {
    "/api/v1/events": {
        "get": {
            "summary": "The event log, newest first: trunk registration and DNS failures, banned IPs, emergency "
                       "calls, fraud blocks...",
            "parameters": [
                {"name": "kind", "in": "query", "schema": {"type": "string"},
                 "description": "an event kind (" + ", ".join(sorted(KINDS)) + ") or a family such as fraud.*"},
                {"name": "severity", "in": "query", "schema": {"type": "string", "enum": list(SEVERITIES)}},
                {"name": "subject", "in": "query", "schema": {"type": "string"},
                 "description": "what it is about: a trunk, a user's extension, an IP address"},
                {"name": "since", "in": "query", "schema": {"type": "string"},
                 "description": "YYYY-MM-DD or ISO date-time (UTC)"},
                {"name": "until", "in": "query", "schema": {"type": "string"},
                 "description": "YYYY-MM-DD (inclusive) or ISO date-time"},
                {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1,
                                                            "maximum": service.LIMIT_MAX,
                                                            "default": service.LIMIT_DEFAULT}},
                {"name": "offset", "in": "query", "schema": {"type": "integer", "minimum": 0, "default": 0}},
            ],
            "responses": {"200": _ok({"type": "array", "items": _ref("Event")}, "Events"),
                          **_errors("400", "401", "403")}},
    },
}

OPENAPI_SCHEMAS = {
    "Event": {"type": "object", "properties": {
        "id": {"type": "integer", "description": "stable, increasing"},
        "at": {"type": "string", "format": "date-time"},
        "kind": {"type": "string", "enum": sorted(KINDS)},
        "severity": {"type": "string", "enum": list(SEVERITIES)},
        "subject": {"type": "string"},
        "message": {"type": "string"},
        "details": {"type": "object", "description": "per kind: user, destination, rule, reason, trunk..."},
        "emailed": {"type": "boolean"}}},
}
