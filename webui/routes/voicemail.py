"""Voicemail: the admin's view of boxes and usage, a box's settings, the user portal's messages, the API.

Who sees what:
    voicemail.read    (admin, technician) every box: settings, counts, usage (not the messages)
    voicemail.manage  (admin) change any box, shared boxes, delete a box (with its files), messages
    portal.view       (everyone) their OWN box and the shared boxes they subscribe to: messages (play,
                      download, mark, delete); on their own box: enabled, PIN, announce, email, greetings
A box a user may not read answers 404, as if it did not exist.
"""

from __future__ import annotations

import bottle

from appliance.errors import NotFound, ValidationError
from appliance.voicemail import email as vm_email
from appliance.voicemail import service
from appliance.voicemail.models import EMAIL_MODES, GREETING_KINDS, Box
from webui import web
from webui.openapi import error_responses as _errors
from webui.openapi import json_body as _body
from webui.openapi import json_response as _json
from webui.openapi import ref as _ref
from webui.permissions import allowed
from webui.web import _

PREFIX = "/api/v1/voicemail"
# What a user may change on their own box (the rest is the administrator's).
OWNER_FIELDS = ("enabled", "pin", "announce", "email_mode", "email_address", "language", "revision")
GREETING_BODY_MAX = service.GREETING_UPLOAD_MAX_BYTES + 64 * 1024


def register(app: bottle.Bottle) -> None:
    web.BODY_ALLOWANCES[("PUT", r"/api/v1/voicemail/boxes/[0-9]{2,8}/greetings/[a-z]+")] = GREETING_BODY_MAX
    vm_email.configure(app.config[web.SETTINGS_KEY])
    r = app.route
    r("/voicemail", "GET", page_boxes, perm="voicemail.read")
    r("/voicemail/<number>", "GET", page_box, perm="voicemail.read")
    r("/portal/voicemail", "GET", page_portal, perm="portal.view")
    r(f"{PREFIX}/boxes", "GET", api_list, perm="voicemail.read")
    r(f"{PREFIX}/boxes", "POST", api_create, perm="voicemail.manage")
    r(f"{PREFIX}/mine", "GET", api_mine, perm="portal.view")
    r(f"{PREFIX}/boxes/<number>", "GET", api_get, perm="portal.view")
    r(f"{PREFIX}/boxes/<number>", "PUT", api_update, perm="portal.view")
    r(f"{PREFIX}/boxes/<number>", "DELETE", api_delete, perm="voicemail.manage")
    r(f"{PREFIX}/boxes/<number>/greetings/<kind>", "PUT", api_greeting_set, perm="portal.view")
    r(f"{PREFIX}/boxes/<number>/greetings/<kind>", "DELETE", api_greeting_delete, perm="portal.view")
    r(f"{PREFIX}/boxes/<number>/greetings/<kind>/audio", "GET", api_greeting_audio, perm="portal.view")
    r(f"{PREFIX}/boxes/<number>/messages", "GET", api_messages, perm="portal.view")
    r(f"{PREFIX}/boxes/<number>/messages/<message_id>", "GET", api_message, perm="portal.view")
    r(f"{PREFIX}/boxes/<number>/messages/<message_id>", "PUT", api_message_update, perm="portal.view")
    r(f"{PREFIX}/boxes/<number>/messages/<message_id>", "DELETE", api_message_delete, perm="portal.view")
    r(f"{PREFIX}/boxes/<number>/messages/<message_id>/audio", "GET", api_message_audio, perm="portal.view")


# -- access ------------------------------------------------------------------------------------

def _can(permission: str) -> bool:
    user = web.current_user()
    return user is not None and allowed(user.role, permission)


def _readable(number: str) -> Box:
    """A box whose settings the caller may see: any with voicemail.read, else their own or subscribed ones."""
    box = service.get_box(number)
    if _can("voicemail.read") or service.user_may_read(web.current_user(), box):
        return box
    raise NotFound("voicemail box", number)


def _messages_box(number: str) -> Box:
    """A box whose messages the caller may read: their own or subscribed ones (or voicemail.manage)."""
    box = service.get_box(number)
    if _can("voicemail.manage") or service.user_may_read(web.current_user(), box):
        return box
    raise NotFound("voicemail box", number)


def _writable(number: str) -> tuple[Box, bool]:
    """A box whose settings the caller may change, and whether they may change every field."""
    box = service.get_box(number)
    if _can("voicemail.manage"):
        return box, True
    if box.user_id is not None and box.user_id == web.current_user().id:
        return box, False
    if service.user_may_read(web.current_user(), box):
        raise web.ApiError(403, "forbidden", None, "only the box's owner or the administrator changes its settings")
    raise NotFound("voicemail box", number)


# -- API ---------------------------------------------------------------------------------------

def api_list():
    settings = web.settings()
    return web.json_body([service.box_dict(settings, b) for b in service.list_boxes()])


def api_create():
    box = service.create_shared_box(web.read_json_object())
    bottle.response.set_header("Location", f"{PREFIX}/boxes/{box.number}")
    return web.json_body(service.box_dict(web.settings(), box), 201)


def api_mine():
    settings = web.settings()
    boxes = service.boxes_of(web.current_user())
    out = []
    for box in boxes:
        vm_email.settle(settings, box)
        service.purge_box(settings, box)
        data = service.box_dict(settings, box, with_subscribers=False)
        data["messages"] = [service.message_dict(m) for m in service.list_messages(box)]
        out.append(data)
    return web.json_body(out)


def api_get(number: str):
    return web.json_body(service.box_dict(web.settings(), _readable(number)))


def api_update(number: str):
    box, full = _writable(number)
    data = web.read_json_object()
    if not full:
        for key in data:
            if key not in OWNER_FIELDS:
                raise web.ApiError(403, "forbidden", str(key)[:64], f"{str(key)[:64]}: only the administrator "
                                                                    "changes this")
    box = service.update_box(box.number, data)
    return web.json_body(service.box_dict(web.settings(), box))


def api_delete(number: str):
    confirm = bottle.request.query.get("confirm", "") in ("1", "true", "yes")
    service.delete_box(web.settings(), number, confirm=confirm)
    bottle.response.status = 204
    return ""


def api_greeting_set(number: str, kind: str):
    box, _full = _writable(number)
    settings = web.settings()
    if kind not in GREETING_KINDS:
        raise NotFound("greeting kind", kind)
    ctype = (bottle.request.content_type or "").split(";")[0].strip().lower()
    if ctype == "multipart/form-data":
        upload = bottle.request.files.get("file")
        service.upload_greeting(settings, box, kind, upload.raw_filename if upload is not None else "",
                                upload.file if upload is not None else None)
    else:
        data = web.read_json_object(("text", "language"))
        service.tts_greeting(settings, box, kind, data.get("text"), data.get("language") or "")
    return web.json_body(service.box_dict(settings, Box.get_by_id(box.id)))


def api_greeting_delete(number: str, kind: str):
    box, _full = _writable(number)
    if kind not in GREETING_KINDS:
        raise NotFound("greeting kind", kind)
    service.delete_greeting(web.settings(), box, kind)
    bottle.response.status = 204
    return ""


def api_greeting_audio(number: str, kind: str):
    box = _readable(number)
    path = service.greeting_file(web.settings(), box, kind) if kind in GREETING_KINDS else None
    if path is None:
        raise NotFound("greeting", kind)
    return bottle.static_file(path.name, root=str(path.parent), mimetype="audio/wav")


def api_messages(number: str):
    box = _messages_box(number)
    folder = bottle.request.query.get("folder") or None
    if folder is not None and folder not in ("new", "saved"):
        raise ValidationError("folder", "must be new or saved")
    vm_email.settle(web.settings(), box)
    return web.json_body([service.message_dict(m) for m in service.list_messages(box, folder)])


def api_message(number: str, message_id: str):
    box = _messages_box(number)
    return web.json_body(service.message_dict(service.get_message(box, message_id)))


def api_message_update(number: str, message_id: str):
    box = _messages_box(number)
    message = service.get_message(box, message_id)
    message = service.update_message(web.settings(), box, message, web.read_json_object(("read", "folder",
                                                                                          "urgent")))
    return web.json_body(service.message_dict(message))


def api_message_delete(number: str, message_id: str):
    box = _messages_box(number)
    service.delete_message(web.settings(), box, service.get_message(box, message_id))
    bottle.response.status = 204
    return ""


def api_message_audio(number: str, message_id: str):
    box = _messages_box(number)
    message = service.get_message(box, message_id)
    path = service.message_file(web.settings(), message)
    stamp = message.received_at.strftime("%Y%m%d-%H%M%S")
    download = f"voicemail-{box.number}-{stamp}.wav" if bottle.request.query.get("download") else False
    return bottle.static_file(path.name, root=str(path.parent), mimetype="audio/wav", download=download)


# -- pages -------------------------------------------------------------------------------------

def page_boxes():
    settings = web.settings()
    service.purge(settings)
    boxes = [service.box_dict(settings, b) for b in service.list_boxes()]
    return web.render("voicemail.tpl", title=_("Voicemail"), active="voicemail", boxes=boxes,
                      can_manage=_can("voicemail.manage"), scripts=("api.js", "voicemail.js"))


def page_box(number: str):
    box = service.box_dict(web.settings(), _readable(number))
    return web.render("voicemail_box.tpl", title=_("Voicemail box") + f" {box['number']}", active="voicemail",
                      box=box, full=_can("voicemail.manage"), email_modes=EMAIL_MODES, kinds=GREETING_KINDS,
                      upload_max_mb=service.GREETING_UPLOAD_MAX_BYTES // (1024 * 1024),
                      scripts=("api.js", "voicemail.js"))


def _with_local_time(message: dict, zone) -> dict:
    import datetime as dt

    when = dt.datetime.fromisoformat(message["received_at"]).astimezone(zone)
    return {**message, "received_local": when.strftime("%Y-%m-%d %H:%M")}


def page_portal():
    from zoneinfo import ZoneInfo

    from appliance.system.models import get_system_settings

    settings = web.settings()
    zone = ZoneInfo(get_system_settings().timezone)
    boxes = []
    for box in service.boxes_of(web.current_user()):
        vm_email.settle(settings, box)
        service.purge_box(settings, box)
        data = service.box_dict(settings, box, with_subscribers=False)
        data["own"] = box.user_id == web.current_user().id
        data["messages"] = [_with_local_time(service.message_dict(m), zone) for m in service.list_messages(box)]
        boxes.append(data)
    return web.render("voicemail_portal.tpl", title=_("My voicemail"), active="portal", boxes=boxes,
                      email_modes=EMAIL_MODES, kinds=GREETING_KINDS,
                      upload_max_mb=service.GREETING_UPLOAD_MAX_BYTES // (1024 * 1024),
                      scripts=("api.js", "voicemail.js"))


# -- OpenAPI -----------------------------------------------------------------------------------

_NUMBER = {"name": "number", "in": "path", "required": True, "schema": {"type": "string", "pattern": "^[0-9]{2,8}$"}}
_KIND = {"name": "kind", "in": "path", "required": True, "schema": {"type": "string", "enum": list(GREETING_KINDS)}}
_ID = {"name": "message_id", "in": "path", "required": True, "schema": {"type": "integer"}}
_BOX = f"{PREFIX}/boxes/{{number}}"
_MSG = f"{_BOX}/messages/{{message_id}}"

OPENAPI_PATHS = {
    f"{PREFIX}/boxes": {
        "get": {"summary": "Every voicemail box (each phone user's and the shared ones), with counts and usage",
                "responses": {"200": _json({"type": "array", "items": _ref("VoicemailBox")}, "Boxes"),
                              **_errors("401", "403")}},
        "post": {"summary": "Create a shared box (users subscribe to it: their phones show its messages waiting)",
                 "requestBody": _body(_ref("VoicemailBoxInput")),
                 "responses": {"201": _json(_ref("VoicemailBox"), "Created"), **_errors("400", "401", "403", "415")}},
    },
    f"{PREFIX}/mine": {
        "get": {"summary": "The boxes the caller reads (their own, then the shared ones they subscribe to), "
                           "with their messages",
                "responses": {"200": _json({"type": "array", "items": _ref("VoicemailBox")}, "Boxes"),
                              **_errors("401")}},
    },
    _BOX: {
        "parameters": [_NUMBER],
        "get": {"summary": "A box (voicemail.read, or the owner/a subscriber)",
                "responses": {"200": _json(_ref("VoicemailBox"), "The box"), **_errors("401", "404")}},
        "put": {"summary": "Change a box. The owner may change enabled, pin, announce, email_mode, email_address "
                           "and language of their own box; the rest (and any box) needs voicemail.manage. "
                           "A stale `revision` is refused (409)",
                "requestBody": _body(_ref("VoicemailBoxInput")),
                "responses": {"200": _json(_ref("VoicemailBox"), "Changed"),
                              **_errors("400", "401", "403", "404", "409", "415")}},
        "delete": {"summary": "Delete a box with its messages and greetings (files too). A box holding messages "
                              "needs ?confirm=true (409 field `confirm` otherwise). A user's box comes back "
                              "empty, with default settings, at its next use",
                   "parameters": [{"name": "confirm", "in": "query", "schema": {"type": "boolean"}}],
                   "responses": {"204": {"description": "Deleted"}, **_errors("401", "403", "404", "409")}},
    },
    f"{_BOX}/greetings/{{kind}}": {
        "parameters": [_NUMBER, _KIND],
        "put": {"summary": "Set a greeting: multipart/form-data with a `file` (.wav, .mp3, .al; at most "
                           f"{service.GREETING_UPLOAD_MAX_BYTES // 1048576} MB, {service.GREETING_MAX_S} s), "
                           "or JSON {text, language} spoken by text-to-speech",
                "requestBody": {"required": True, "content": {
                    "multipart/form-data": {"schema": {"type": "object", "required": ["file"], "properties": {
                        "file": {"type": "string", "format": "binary"}}}},
                    "application/json": {"schema": {"type": "object", "required": ["text"], "properties": {
                        "text": {"type": "string", "maxLength": service.TTS_TEXT_MAX},
                        "language": {"type": "string", "enum": ["fr", "en", "de", "it"]}}}}}},
                "responses": {"200": _json(_ref("VoicemailBox"), "The box"),
                              **_errors("400", "401", "403", "404", "413", "415")}},
        "delete": {"summary": "Remove a greeting (the system's default greeting plays again)",
                   "responses": {"204": {"description": "Removed"}, **_errors("401", "403", "404")}},
    },
    f"{_BOX}/greetings/{{kind}}/audio": {
        "parameters": [_NUMBER, _KIND],
        "get": {"summary": "The greeting's WAV",
                "responses": {"200": {"description": "WAV", "content": {"audio/wav": {}}}, **_errors("401", "404")}},
    },
    f"{_BOX}/messages": {
        "parameters": [_NUMBER, {"name": "folder", "in": "query", "schema": {"type": "string",
                                                                             "enum": ["new", "saved"]}}],
        "get": {"summary": "A box's messages (the owner, a subscriber, or voicemail.manage), urgent first then "
                           "oldest first",
                "responses": {"200": _json({"type": "array", "items": _ref("VoicemailMessage")}, "Messages"),
                              **_errors("400", "401", "404")}},
    },
    _MSG: {
        "parameters": [_NUMBER, _ID],
        "get": {"summary": "One message",
                "responses": {"200": _json(_ref("VoicemailMessage"), "The message"), **_errors("401", "404")}},
        "put": {"summary": "Mark read/unread, move to the new or saved folder, flag urgent (the phones' message "
                           "waiting light follows)",
                "requestBody": _body({"type": "object", "properties": {
                    "read": {"type": "boolean"}, "folder": {"type": "string", "enum": ["new", "saved"]},
                    "urgent": {"type": "boolean"}}}),
                "responses": {"200": _json(_ref("VoicemailMessage"), "Changed"),
                              **_errors("400", "401", "404", "415")}},
        "delete": {"summary": "Delete a message and its file",
                   "responses": {"204": {"description": "Deleted"}, **_errors("401", "404")}},
    },
    f"{_MSG}/audio": {
        "parameters": [_NUMBER, _ID, {"name": "download", "in": "query", "schema": {"type": "boolean"}}],
        "get": {"summary": "The message's WAV (for an <audio> player; ?download=1 as an attachment)",
                "responses": {"200": {"description": "WAV", "content": {"audio/wav": {}}}, **_errors("401", "404")}},
    },
}

OPENAPI_SCHEMAS = {
    "VoicemailBox": {"type": "object", "properties": {
        "number": {"type": "string"}, "shared": {"type": "boolean"},
        "owner": {"type": ["string", "null"], "description": "the owner's extension (null: a shared box)"},
        "display_name": {"type": "string"}, "name": {"type": "string"}, "language": {"type": "string"},
        "enabled": {"type": "boolean"}, "has_pin": {"type": "boolean"},
        "max_message_s": {"type": "integer"}, "quota_mb": {"type": "integer"}, "retention_days": {"type": "integer"},
        "announce": {"type": "boolean", "description": "say the caller's number and the date before each message"},
        "ring_seconds": {"type": "integer", "description": "as a user's no-answer destination: after this ringing"},
        "email_mode": {"type": "string", "enum": list(EMAIL_MODES)}, "email_address": {"type": "string"},
        "greetings": {"type": "object", "description": "kind -> {source: recorded|uploaded|tts, text}"},
        "new": {"type": "integer"}, "old": {"type": "integer"},
        "used_bytes": {"type": "integer"}, "quota_bytes": {"type": "integer"}, "revision": {"type": "integer"},
        "subscribers": {"type": "array", "items": {"type": "string"}},
        "messages": {"type": "array", "items": _ref("VoicemailMessage"), "description": "/mine only"}}},
    "VoicemailBoxInput": {"type": "object", "properties": {
        "number": {"type": "string", "pattern": "^[0-9]{2,8}$", "description": "a shared box's number (POST only)"},
        "name": {"type": "string", "maxLength": 64}, "language": {"type": "string", "enum": ["", "fr", "en", "de",
                                                                                           "it"]},
        "enabled": {"type": "boolean"}, "pin": {"type": "string", "pattern": "^[0-9]{4,8}$",
                                                "description": "write only; stored hashed"},
        "max_message_s": {"type": "integer", "minimum": service.MAX_MESSAGE_S[0],
                          "maximum": service.MAX_MESSAGE_S[1]},
        "quota_mb": {"type": "integer", "minimum": service.QUOTA_MB[0], "maximum": service.QUOTA_MB[1]},
        "retention_days": {"type": "integer", "minimum": 0, "maximum": service.RETENTION_DAYS[1],
                           "description": "0: keep until deleted"},
        "announce": {"type": "boolean"},
        "ring_seconds": {"type": "integer", "minimum": service.RING_SECONDS[0], "maximum": service.RING_SECONDS[1]},
        "email_mode": {"type": "string", "enum": list(EMAIL_MODES)}, "email_address": {"type": "string"},
        "subscribers": {"type": "array", "items": {"type": "string"}, "description": "extensions of the users who also read the box"},
        "revision": {"type": "integer"}}},
    "VoicemailMessage": {"type": "object", "properties": {
        "id": {"type": "integer"}, "folder": {"type": "string", "enum": ["new", "saved"]},
        "read": {"type": "boolean"}, "urgent": {"type": "boolean"}, "caller": {"type": "string"},
        "caller_name": {"type": "string"}, "received_at": {"type": "string", "format": "date-time"},
        "duration": {"type": "number"}, "size_bytes": {"type": "integer"},
        "email_state": {"type": "string", "description": "'' | queued | sent | failed | no_smtp"}}},
}
