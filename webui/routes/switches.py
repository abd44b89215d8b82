"""Dialplan switches: the page (state and toggle per switch, add/edit/delete) and the API.

Flipping a switch needs `switches.toggle` (a technician may, like a
receptionist by phone); configuring one needs `dialplan.manage`. The page's
forms (static/switches.js) go through the API.
"""

from __future__ import annotations

import bottle

from appliance.dialplan import switches
from appliance.users.models import User
from webui import web
from webui.openapi import error_responses as _errors
from webui.openapi import json_body as _body
from webui.openapi import json_response as _ok
from webui.openapi import ref as _ref
from webui.web import _

PREFIX = "/api/v1/dialplan"


def register(app: bottle.Bottle) -> None:
    r = app.route
    r("/dialplan/switches", "GET", page, perm="dialplan.read")
    r(f"{PREFIX}/switches", "GET", api_list, perm="dialplan.read")
    r(f"{PREFIX}/switches", "POST", api_create, perm="dialplan.manage")
    r(f"{PREFIX}/switches/<name>", "GET", api_get, perm="dialplan.read")
    r(f"{PREFIX}/switches/<name>", "PUT", api_update, perm="dialplan.manage")
    r(f"{PREFIX}/switches/<name>", "DELETE", api_delete, perm="dialplan.manage")
    r(f"{PREFIX}/switches/<name>/state", "PUT", api_state, perm="switches.toggle")


def changed_by() -> str:
    """Who changes a switch from the web: "<login> (web)" or "<login> (API)"."""
    ident = web.identity()
    return f"{ident.user.login} ({'web' if ident.via == 'cookie' else 'API'})"


# -- API ---------------------------------------------------------------------------------------

def api_list():
    return web.json_body([switches.to_public(row) for row in switches.list_switches()])


def api_create():
    row = switches.create_switch(web.read_json_object(), by=changed_by())
    bottle.response.set_header("Location", f"{PREFIX}/switches/{row.name}")
    return web.json_body(switches.to_public(row), 201)


def api_get(name: str):
    return web.json_body(switches.to_public(switches.get_switch(name)))


def api_update(name: str):
    return web.json_body(switches.to_public(switches.update_switch(name, web.read_json_object(), by=changed_by())))


def api_delete(name: str):
    switches.delete_switch(name)
    bottle.response.status = 204
    return ""


def api_state(name: str):
    data = web.read_json_object(("state",))
    if "state" not in data:
        raise web.ApiError(400, "invalid", "state", "state: is required (0 off, 1 on, 2 extra)")
    switches.get_switch(name)  # 404 before 400 for an unknown switch
    return web.json_body(switches.to_public(switches.set_state(name, data["state"], by=changed_by())))


# -- page ----------------------------------------------------------------------------------------

def page():
    names = {u.extension: u.display_name for u in User.select().where(User.extension.is_null(False))}
    return web.render("switches.tpl", title=_("Switches"), active="dialplan", rows=switches.list_switches(),
                      names=names, labels={"off": _("off"), "on": _("on"), "extra": _("extra")},
                      scripts=("api.js", "switches.js"))


# -- OpenAPI ---------------------------------------------------------------------------------------





_NAME = [{"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}]

OPENAPI_PATHS = {
    f"{PREFIX}/switches": {
        "get": {"summary": "Every switch with its current state (by code)",
                "responses": {"200": _ok({"type": "array", "items": _ref("Switch")}, "Switches"),
                              **_errors("401", "403")}},
        "post": {"summary": "Create a switch", "requestBody": _body(_ref("SwitchWrite")),
                 "responses": {"201": _ok(_ref("Switch"), "Created"), **_errors("400", "401", "403", "413", "415")}},
    },
    f"{PREFIX}/switches/{{name}}": {
        "parameters": _NAME,
        "get": {"summary": "One switch", "responses": {"200": _ok(_ref("Switch"), "Switch"),
                                                       **_errors("401", "403", "404")}},
        "put": {"summary": "Change a switch (send the revision you read)", "requestBody": _body(_ref("SwitchWrite")),
                "responses": {"200": _ok(_ref("Switch"), "Changed"),
                              **_errors("400", "401", "403", "404", "409", "413", "415")}},
        "delete": {"summary": "Delete a switch (refused with 409 while a procedure checks it)",
                   "responses": {"204": {"description": "Deleted"}, **_errors("401", "403", "404", "409")}},
    },
    f"{PREFIX}/switches/{{name}}/state": {
        "parameters": _NAME,
        "put": {"summary": "Flip a switch: the next call follows the new state (role admin or technician)",
                "requestBody": _body({"type": "object", "required": ["state"], "additionalProperties": False,
                                      "properties": {"state": {"type": "integer", "enum": [0, 1, 2],
                                                               "description": "0 off, 1 on, 2 extra (3 states)"}}}),
                "responses": {"200": _ok(_ref("Switch"), "Changed"),
                              **_errors("400", "401", "403", "404", "413", "415")}},
    },
}

_FIELDS = {
    "description": {"type": "string", "maxLength": switches.DESCRIPTION_MAX},
    "code": {"type": "integer", "minimum": switches.CODE_RANGE[0], "maximum": switches.CODE_RANGE[1],
             "description": "dialled after the feature code 93, unique"},
    "states": {"type": "integer", "enum": [2, 3], "description": "2: off/on; 3: off/on/extra"},
    "state": {"type": "integer", "enum": [0, 1, 2], "description": "0 off, 1 on, 2 extra"},
    "allowed": {"type": "array", "items": {"type": "string"}, "maxItems": switches.ALLOWED_MAX,
                "description": "extensions allowed to flip it by phone (code 93); [] = nobody by phone"},
}

OPENAPI_SCHEMAS = {
    "Switch": {"type": "object", "properties": {
        "name": {"type": "string"}, **_FIELDS,
        "state_label": {"type": "string", "enum": list(switches.STATE_LABELS)},
        "changed_by": {"type": "string", "description": "who set the state last (\"phone 201\", \"admin (web)\")"},
        "revision": {"type": "integer"}, "updated_at": {"type": "string", "format": "date-time"}}},
    "SwitchWrite": {"type": "object", "additionalProperties": False, "properties": {
        "name": {"type": "string", "pattern": "^[a-z0-9][a-z0-9_-]{0,63}$", "description": "POST only"},
        **_FIELDS, "revision": {"type": "integer", "description": "PUT only: the revision you read"}}},
}
