"""Conference rooms: the page (rooms, who is in them, add/edit/delete) and the API (rooms and live state).

Reading needs `dialplan.read`; configuring a room and acting on the live
state (lock, mute all, mute or remove one participant) needs `dialplan.manage`.
"""

from __future__ import annotations

import bottle

from appliance.callcore.prompts import LANGUAGES
from appliance.conference import live, service
from webui import web
from webui.openapi import error_responses as _errors
from webui.openapi import json_body as _body
from webui.openapi import json_response as _ok
from webui.openapi import ref as _ref
from webui.web import _

PREFIX = "/api/v1/conferences"


def register(app: bottle.Bottle) -> None:
    r = app.route
    r("/dialplan/conferences", "GET", page, perm="dialplan.read")
    r(PREFIX, "GET", api_list, perm="dialplan.read")
    r(PREFIX, "POST", api_create, perm="dialplan.manage")
    r(f"{PREFIX}/<name>", "GET", api_get, perm="dialplan.read")
    r(f"{PREFIX}/<name>", "PUT", api_update, perm="dialplan.manage")
    r(f"{PREFIX}/<name>", "DELETE", api_delete, perm="dialplan.manage")
    r(f"{PREFIX}/<name>/live", "GET", api_live, perm="dialplan.read")
    r(f"{PREFIX}/<name>/live", "PUT", api_live_update, perm="dialplan.manage")
    r(f"{PREFIX}/<name>/participants/<pid:int>", "PUT", api_participant, perm="dialplan.manage")
    r(f"{PREFIX}/<name>/participants/<pid:int>", "DELETE", api_participant_remove, perm="dialplan.manage")


def _settings():
    return web.settings()


# -- API ---------------------------------------------------------------------------------------

def api_list():
    return web.json_body([service.to_public(row) for row in service.list_rooms()])


def api_create():
    row = service.create_room(web.read_json_object())
    bottle.response.set_header("Location", f"{PREFIX}/{row.name}")
    return web.json_body(service.to_public(row), 201)


def api_get(name: str):
    return web.json_body(service.to_public(service.get_room(name)))


def api_update(name: str):
    return web.json_body(service.to_public(service.update_room(name, web.read_json_object())))


def api_delete(name: str):
    service.delete_room(name)
    bottle.response.status = 204
    return ""


def api_live(name: str):
    return web.json_body(service.live_state(service.get_room(name)))


def api_live_update(name: str):
    room = service.apply_live(name, web.read_json_object(("locked", "muted")), _settings())
    return web.json_body(service.live_state(room))


def api_participant(name: str, pid: int):
    data = web.read_json_object(("muted",))
    if "muted" not in data:
        raise web.ApiError(400, "invalid", "muted", "muted: is required (true or false)")
    room = service.get_room(name)
    muted = service._bool(data["muted"], "muted")
    live.notify(_settings(), service.set_participant_muted(room, pid, muted), room.id)
    return web.json_body(service.live_state(room))


def api_participant_remove(name: str, pid: int):
    room = service.get_room(name)
    live.notify(_settings(), service.remove_participant(room, pid), room.id)
    bottle.response.status = 204
    return ""


# -- page ----------------------------------------------------------------------------------------

def page():
    rooms = service.list_rooms()
    return web.render("conferences.tpl", title=_("Conference rooms"), active="dialplan", rows=rooms,
                      live={row.name: service.live_state(row) for row in rooms}, languages=LANGUAGES,
                      keys=service.MODERATOR_KEYS, scripts=("api.js", "conferences.js"))


# -- OpenAPI ---------------------------------------------------------------------------------------

_NAME = [{"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}]
_PID = [*_NAME, {"name": "pid", "in": "path", "required": True, "schema": {"type": "integer"},
                 "description": "the participant's id (from the live state)"}]

OPENAPI_PATHS = {
    PREFIX: {
        "get": {"summary": "Every conference room, with its live state",
                "responses": {"200": _ok({"type": "array", "items": _ref("ConferenceRoom")}, "Rooms"),
                              **_errors("401", "403")}},
        "post": {"summary": "Create a conference room", "requestBody": _body(_ref("ConferenceRoomWrite")),
                 "responses": {"201": _ok(_ref("ConferenceRoom"), "Created"),
                               **_errors("400", "401", "403", "413", "415")}},
    },
    f"{PREFIX}/{{name}}": {
        "parameters": _NAME,
        "get": {"summary": "One conference room", "responses": {"200": _ok(_ref("ConferenceRoom"), "Room"),
                                                                **_errors("401", "403", "404")}},
        "put": {"summary": "Change a room (send the revision you read)",
                "requestBody": _body(_ref("ConferenceRoomWrite")),
                "responses": {"200": _ok(_ref("ConferenceRoom"), "Changed"),
                              **_errors("400", "401", "403", "404", "409", "413", "415")}},
        "delete": {"summary": "Delete a room (409 while a procedure names it or someone is in it)",
                   "responses": {"204": {"description": "Deleted"}, **_errors("401", "403", "404", "409")}},
    },
    f"{PREFIX}/{{name}}/live": {
        "parameters": _NAME,
        "get": {"summary": "Who is in the room now (worker, muted, moderator) and whether it is locked",
                "responses": {"200": _ok(_ref("ConferenceLive"), "Live state"), **_errors("401", "403", "404")}},
        "put": {"summary": "Lock or unlock the room; mute or unmute everyone but the moderators",
                "requestBody": _body({"type": "object", "additionalProperties": False, "properties": {
                    "locked": {"type": "boolean"}, "muted": {"type": "boolean"}}}),
                "responses": {"200": _ok(_ref("ConferenceLive"), "Live state"),
                              **_errors("400", "401", "403", "404", "413", "415")}},
    },
    f"{PREFIX}/{{name}}/participants/{{pid}}": {
        "parameters": _PID,
        "put": {"summary": "Mute or unmute one participant",
                "requestBody": _body({"type": "object", "required": ["muted"], "additionalProperties": False,
                                      "properties": {"muted": {"type": "boolean"}}}),
                "responses": {"200": _ok(_ref("ConferenceLive"), "Live state"),
                              **_errors("400", "401", "403", "404", "413", "415")}},
        "delete": {"summary": "Remove a participant from the room (its call is hung up)",
                   "responses": {"204": {"description": "Removed"}, **_errors("401", "403", "404")}},
    },
}

_FIELDS = {
    "number": {"type": "string", "pattern": "^[0-9]{2,8}$", "description": "dialled to enter the room"},
    "description": {"type": "string", "maxLength": service.DESCRIPTION_MAX},
    "pin": {"type": "string", "pattern": "^[0-9]{0,16}$", "description": "asked on entry; empty: none"},
    "moderator_pin": {"type": "string", "pattern": "^[0-9]{0,16}$",
                      "description": "gives moderator rights (keys 1 mute all, 2 unmute all, 3 lock, 4 unlock)"},
    "max_participants": {"type": "integer", "minimum": service.MAX_PARTICIPANTS[0],
                         "maximum": service.MAX_PARTICIPANTS[1]},
    "entry_tones": {"type": "boolean"}, "exit_tones": {"type": "boolean"},
    "announce_count": {"type": "boolean", "description": "say how many are already in, on entry"},
    "language": {"type": "string", "enum": ["", *LANGUAGES], "description": "\"\": each caller's own"},
}

OPENAPI_SCHEMAS = {
    "ConferenceLive": {"type": "object", "properties": {
        "locked": {"type": "boolean"}, "count": {"type": "integer"},
        "workers": {"type": "array", "items": {"type": "string"},
                    "description": "the call-core workers holding the participants' calls"},
        "participants": {"type": "array", "items": {"type": "object", "properties": {
            "id": {"type": "integer"}, "caller": {"type": "string"}, "caller_name": {"type": "string"},
            "worker": {"type": "string"}, "moderator": {"type": "boolean"}, "muted": {"type": "boolean"},
            "joined_at": {"type": "string", "format": "date-time"}}}}}},
    "ConferenceRoom": {"type": "object", "properties": {
        "name": {"type": "string"}, **_FIELDS, "revision": {"type": "integer"},
        "live": _ref("ConferenceLive")}},
    "ConferenceRoomWrite": {"type": "object", "additionalProperties": False, "properties": {
        "name": {"type": "string", "pattern": "^[a-z0-9][a-z0-9_-]{0,63}$", "description": "POST only"},
        **_FIELDS, "revision": {"type": "integer", "description": "PUT only: the revision you read"}}},
}
