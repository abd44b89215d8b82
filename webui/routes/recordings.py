"""Call recordings: the page under Calls (listen, download, delete, usage, settings) and /api/v1/recordings."""

from __future__ import annotations

import bottle

from appliance.errors import Conflict, ValidationError
from appliance.recordings import service
from webui import web
from webui.openapi import error_responses as _errors
from webui.openapi import json_body as _body
from webui.openapi import json_response as _ok
from webui.openapi import ref as _ref
from webui.web import ApiError, _

PAGE = "/calls/recordings"
PREFIX = "/api/v1/recordings"
PAGE_SIZE = 100
LIMIT_MAX = 1000


def register(app: bottle.Bottle) -> None:
    r = app.route
    r(PAGE, "GET", page, perm="recordings.read")
    r(PAGE + "/settings", "POST", save_settings, perm="recordings.manage")
    r(PAGE + "/<recording_id:int>/delete", "POST", delete_form, perm="recordings.manage")
    r(PREFIX, "GET", api_list, perm="recordings.read")
    r(PREFIX + "/settings", "GET", api_settings, perm="recordings.read")
    r(PREFIX + "/settings", "PUT", api_update_settings, perm="recordings.manage")
    r(PREFIX + "/usage", "GET", api_usage, perm="recordings.read")
    r(PREFIX + "/<recording_id:int>", "GET", api_get, perm="recordings.read")
    r(PREFIX + "/<recording_id:int>", "DELETE", api_delete, perm="recordings.manage")
    r(PREFIX + "/<recording_id:int>/audio", "GET", api_audio, perm="recordings.read")


# -- API ----------------------------------------------------------------------------------------------

def _int_query(name: str, default: int, low: int, high: int) -> int:
    text = bottle.request.query.getunicode(name, "") or ""
    if not text:
        return default
    if not text.isdecimal() or not low <= int(text) <= high:
        raise ValidationError(name, f"must be a whole number from {low} to {high}")
    return int(text)


def api_list():
    query = bottle.request.query
    for key in query.keys():
        if key not in ("owner", "call_id", "limit", "offset"):
            raise ApiError(400, "invalid", key[:64], f"{key[:64]}: is not a known filter")
    rows = service.list_recordings(owner=(query.getunicode("owner", "") or "")[:64],
                                   call_id=(query.getunicode("call_id", "") or "")[:64],
                                   limit=_int_query("limit", PAGE_SIZE, 1, LIMIT_MAX),
                                   offset=_int_query("offset", 0, 0, 10**9))
    return web.json_body([service.to_public(r) for r in rows])


def api_get(recording_id: int):
    return web.json_body(service.to_public(service.get_recording(recording_id)))


def api_audio(recording_id: int):
    recording = service.get_recording(recording_id)
    path = service.audio_path(web.settings(), recording)
    # static_file answers Range requests: the browser's <audio> can seek.
    return bottle.static_file(str(path.relative_to(service.folder(web.settings()))),
                              root=str(service.folder(web.settings())), mimetype="audio/wav",
                              download=f"recording-{recording.id}.wav" if bottle.request.query.get("download")
                              else False)


def api_delete(recording_id: int):
    service.delete_recording(web.settings(), recording_id)
    bottle.response.status = 204
    return ""


def api_settings():
    return web.json_body(service.settings_to_public(service.get_settings()))


def api_update_settings():
    data = web.read_json_object((*service.EDITABLE_FIELDS, "revision"))
    return web.json_body(service.settings_to_public(service.update_settings(data)))


def api_usage():
    return web.json_body(service.usage())


# -- page ---------------------------------------------------------------------------------------------

def _page(values: dict | None = None, status: int = 200, errors: dict | None = None, notice: str = "") -> str:
    query = bottle.request.query
    owner = (query.getunicode("owner", "") or "").strip()[:64]
    call_id = (query.getunicode("call_id", "") or "").strip()[:64]
    current = service.get_settings()
    if values is None:
        values = {key: str(value) if not isinstance(value, bool) else value
                  for key, value in service.settings_to_public(current).items()}
    return web.render("recordings.tpl", status=status, title=_("Call recordings"), active="recordings",
                      rows=service.list_recordings(owner=owner, call_id=call_id, limit=PAGE_SIZE),
                      owner=owner, call_id=call_id, usage=service.usage(), values=values, errors=errors or {},
                      notice=notice)


def page():
    query = bottle.request.query
    notice = _("Settings saved.") if query.get("saved") else (
        _("Recording deleted.") if query.get("deleted") else "")
    return _page(notice=notice)


def save_settings():
    values = {key: web.form_text(key).strip() for key in ("feature_code", "quota_mb", "retention_days", "revision")}
    values["announcement"] = web.form_text("announcement") == "on"
    data: dict = {"announcement": values["announcement"], "feature_code": values["feature_code"]}
    errors = {}
    for key in ("quota_mb", "retention_days"):
        if values[key].isdecimal():
            data[key] = int(values[key])
        else:
            errors[key] = _("must be a whole number")
    if errors:
        return _page(values, 400, errors)
    try:
        web.apply_revision(data, values["revision"])
        service.update_settings(data)
    except Conflict as exc:
        return _page(values, 409, {"_form": web.message_for(exc)})
    except ValidationError as exc:
        field = exc.field if exc.field in service.EDITABLE_FIELDS else "_form"
        return _page(values, 400, {field: web.message_for(exc)})
    return bottle.redirect(PAGE + "?saved=1", 303)


def delete_form(recording_id: int):
    service.delete_recording(web.settings(), recording_id)
    return bottle.redirect(PAGE + "?deleted=1", 303)


OPENAPI_PATHS = {
    PREFIX: {"get": {
        "summary": "Call recordings, newest first (admin only)",
        "parameters": [
            {"name": "owner", "in": "query", "schema": {"type": "string"},
             "description": "the extension whose recordings (its quota)"},
            {"name": "call_id", "in": "query", "schema": {"type": "string"}, "description": "the CDR's call_id"},
            {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": LIMIT_MAX,
                                                        "default": PAGE_SIZE}},
            {"name": "offset", "in": "query", "schema": {"type": "integer", "minimum": 0, "default": 0}}],
        "responses": {"200": _ok({"type": "array", "items": _ref("Recording")}, "Recordings"),
                      **_errors("400", "401", "403")}}},
    PREFIX + "/settings": {
        "get": {"summary": "Recording settings", "responses": {
            "200": _ok(_ref("RecordingSettings"), "Settings"), **_errors("401", "403")}},
        "put": {"summary": "Change recording settings (send `revision` to refuse a concurrent edit)",
                "requestBody": _body(_ref("RecordingSettings")),
                "responses": {"200": _ok(_ref("RecordingSettings"), "Saved"),
                              **_errors("400", "401", "403", "409")}}},
    PREFIX + "/usage": {"get": {
        "summary": "Space used by each owner's recordings, with the quota",
        "responses": {"200": _ok({"type": "array", "items": {"type": "object", "properties": {
            "owner": {"type": "string"}, "count": {"type": "integer"}, "bytes": {"type": "integer"},
            "quota_bytes": {"type": "integer"}}}}, "Usage"), **_errors("401", "403")}}},
    PREFIX + "/{recording_id}": {
        "parameters": [{"name": "recording_id", "in": "path", "required": True, "schema": {"type": "integer"}}],
        "get": {"summary": "One recording", "responses": {
            "200": _ok(_ref("Recording"), "The recording"), **_errors("401", "403", "404")}},
        "delete": {"summary": "Delete a recording and its file", "responses": {
            "204": {"description": "Deleted"}, **_errors("401", "403", "404")}}},
    PREFIX + "/{recording_id}/audio": {
        "parameters": [{"name": "recording_id", "in": "path", "required": True, "schema": {"type": "integer"}},
                       {"name": "download", "in": "query", "schema": {"type": "string"},
                        "description": "any value: as an attachment"}],
        "get": {"summary": "The recording's WAV (Range requests supported)", "responses": {
            "200": {"description": "audio/wav"}, **_errors("401", "403", "404")}}},
}

OPENAPI_SCHEMAS = {
    "Recording": {"type": "object", "properties": {
        "id": {"type": "integer"},
        "call_id": {"type": "string", "description": "the call's CDR (call history)"},
        "owner": {"type": "string", "description": "extension whose quota it counts against"},
        "reason": {"type": "string", "enum": ["always", "on_demand", "call_group"]},
        "started_at": {"type": "string", "format": "date-time"},
        "duration_s": {"type": ["number", "null"], "description": "null while recording"},
        "size_bytes": {"type": ["integer", "null"]},
        "url": {"type": "string", "description": "the WAV"}}},
    "RecordingSettings": {"type": "object", "properties": {
        "announcement": {"type": "boolean", "description": "both parties hear a legal notice when recording starts"},
        "feature_code": {"type": "string", "description": "keyed during a call to start/stop (on-demand users)"},
        "quota_mb": {"type": "integer", "minimum": 1, "maximum": 100000, "description": "per owner"},
        "retention_days": {"type": "integer", "minimum": 1, "maximum": 3650},
        "revision": {"type": "integer"}}},
}
