"""Sounds: the page /dialplan/sounds and the API under /api/v1/sounds and /api/v1/moh-classes.

The page is thin (static/sounds.js): it uploads, speaks, records and deletes
through the same API as any client, so an error reads the same in both and
names its field. Uploads are multipart/form-data, the one body larger than
web.MAX_BODY the app accepts (web.BODY_ALLOWANCES, added at register()).
"""

from __future__ import annotations

import re

import bottle

from appliance.callcore import originate, prompts
from appliance.errors import CallCoreError, NotFound
from appliance.sounds import service
from appliance.sounds.models import MohClass
from webui import web
from webui.openapi import error_responses as _errors
from webui.openapi import json_body as _body
from webui.openapi import json_response as _json
from webui.openapi import ref as _ref
from webui.web import _

PREFIX = "/api/v1/sounds"
MOH_PREFIX = "/api/v1/moh-classes"
# The largest upload body: the file (service.UPLOAD_MAX_BYTES) plus the form's other fields and
# multipart framing; a larger file inside it is refused by the service, naming the field "file".
UPLOAD_BODY_MAX = service.UPLOAD_MAX_BYTES + 64 * 1024
LANGUAGE_NAMES = {"fr": "Français", "en": "English", "de": "Deutsch", "it": "Italiano"}


def register(app: bottle.Bottle) -> None:
    web.BODY_ALLOWANCES[("POST", re.escape(PREFIX))] = UPLOAD_BODY_MAX
    r = app.route
    r("/dialplan/sounds", "GET", sounds_page, perm="dialplan.read")
    r(PREFIX, "GET", api_list, perm="dialplan.read")
    r(PREFIX, "POST", api_upload, perm="dialplan.manage")
    r(f"{PREFIX}/tts", "POST", api_tts, perm="dialplan.manage")
    r(f"{PREFIX}/record", "POST", api_record, perm="dialplan.manage")
    r(f"{PREFIX}/record/<job>", "GET", api_record_status, perm="dialplan.manage")
    r(f"{PREFIX}/<name>", "GET", api_get, perm="dialplan.read")
    r(f"{PREFIX}/<name>", "PUT", api_update, perm="dialplan.manage")
    r(f"{PREFIX}/<name>", "DELETE", api_delete, perm="dialplan.manage")
    r(f"{PREFIX}/<name>/audio", "GET", api_audio, perm="dialplan.read")
    r(MOH_PREFIX, "GET", api_classes, perm="dialplan.read")
    r(MOH_PREFIX, "POST", api_class_create, perm="dialplan.manage")
    r(f"{MOH_PREFIX}/<name>", "DELETE", api_class_delete, perm="dialplan.manage")


# -- API ------------------------------------------------------------------------------------

def api_list():
    return web.json_body([service.sound_dict(s) for s in service.list_sounds()])


def api_upload():
    ctype = (bottle.request.content_type or "").split(";")[0].strip().lower()
    if ctype != "multipart/form-data":
        raise web.ApiError(415, "unsupported_media_type", None,
                           "send the sound as multipart/form-data with a 'file' part and the fields")
    form = web.form()
    data = {key: form.get(key) for key in service.UPLOAD_FIELDS if form.get(key) not in (None, "")}
    for key in form:
        if key not in service.UPLOAD_FIELDS and key != web.CSRF_FIELD:
            raise web.ApiError(400, "invalid", key[:64], f"{key[:64]}: is not a known field")
    upload = bottle.request.files.get("file")
    filename = upload.raw_filename if upload is not None else ""
    sound = service.upload_sound(web.settings(), data, filename, upload.file if upload is not None else None)
    bottle.response.set_header("Location", f"{PREFIX}/{sound.name}")
    return web.json_body(service.sound_dict(sound), 201)


def api_tts():
    sound = service.create_tts(web.settings(), web.read_json_object(service.TTS_FIELDS))
    bottle.response.set_header("Location", f"{PREFIX}/{sound.name}")
    return web.json_body(service.sound_dict(sound), 201)


def api_record():
    data = web.read_json_object(service.RECORD_FIELDS)
    try:
        job = service.start_recording(web.settings(), data)
    except CallCoreError as exc:
        raise web.ApiError(503, "call_core_unavailable", None, str(exc)) from None
    bottle.response.set_header("Location", f"{PREFIX}/record/{job}")
    return web.json_body(_job_public(originate.job_status(web.settings(), job)), 202)


def api_record_status(job: str):
    status = originate.job_status(web.settings(), job)
    if status.get("kind") != "record_sound":
        raise NotFound("recording job", job)
    return web.json_body(_job_public(status))


def _job_public(status: dict) -> dict:
    params = status.get("params") or {}
    result = status.get("result") or {}
    return {"job": status.get("id"), "state": status.get("state"), "extension": status.get("target"),
            "name": params.get("name"), "sound": result.get("sound"), "outcome": status.get("outcome"),
            "error": status.get("error"), "created": status.get("created"), "updated": status.get("updated")}


def api_get(name: str):
    return web.json_body(service.sound_dict(service.get_sound(name)))


def api_update(name: str):
    return web.json_body(service.sound_dict(service.update_sound(name, web.read_json_object(("description",)))))


def api_delete(name: str):
    service.delete_sound(web.settings(), name)
    bottle.response.status = 204
    return ""


def api_audio(name: str):
    sound = service.get_sound(name)
    root = web.settings().sounds_dir
    if not (root / sound.file).is_file():
        raise NotFound("sound file", name)
    # static_file answers Range requests: the browser's <audio> can seek.
    return bottle.static_file(sound.file, root=str(root), mimetype="audio/wav",
                              download=f"{sound.name}.wav" if bottle.request.query.get("download") else False)


def api_classes():
    return web.json_body(service.list_moh_classes())


def api_class_create():
    row = service.create_moh_class(web.read_json_object(("name", "description")))
    bottle.response.set_header("Location", f"{MOH_PREFIX}/{row.name}")
    return web.json_body({"name": row.name, "description": row.description, "tracks": 0}, 201)


def api_class_delete(name: str):
    service.delete_moh_class(web.settings(), name)
    bottle.response.status = 204
    return ""


# -- page -------------------------------------------------------------------------------------------

def sounds_page():
    from appliance.system.models import get_system_settings
    from appliance.users.models import User

    query = bottle.request.query
    notice = ""
    for key, text in (("saved", _("Sound {name} saved.")), ("deleted", _("Sound {name} deleted.")),
                      ("class_saved", _("Music class {name} created.")),
                      ("class_deleted", _("Music class {name} deleted."))):
        if query.get(key):
            notice = text.format(name=query.getunicode(key, "")[:64])
    users = [{"extension": u.extension, "name": u.display_name}
             for u in User.select().where(User.extension.is_null(False)).order_by(User.extension)]
    return web.render("sounds.tpl", title=_("Sounds"), active="dialplan", sounds=service.list_sounds(),
                      classes=service.list_moh_classes(), class_names=[c.name for c in MohClass.select()
                                                                       .order_by(MohClass.name)],
                      languages=[(code, LANGUAGE_NAMES.get(code, code)) for code in prompts.LANGUAGES],
                      default_language=get_system_settings().language, users=users, notice=notice,
                      upload_max_mb=service.UPLOAD_MAX_BYTES // (1024 * 1024), tts_max=service.TTS_TEXT_MAX,
                      record_max_s=service.RECORD_MAX_S, scripts=("api.js", "sounds.js"),
                      origin_labels={"upload": _("Uploaded"), "tts": _("Text to speech"),
                                     "recording": _("Recorded by phone")})


# -- OpenAPI -----------------------------------------------------------------------------------------





_NAME = [{"name": "name", "in": "path", "required": True, "schema": {"type": "string", "pattern": "^[a-z0-9][a-z0-9_-]{0,63}$"}}]
_UNAVAILABLE = _json(_ref("Error"), 'The call core is not running or has no free worker: '
                                    '{"error": "call_core_unavailable"}')

OPENAPI_PATHS = {
    PREFIX: {
        "get": {"summary": "Every sound: prompts and music-on-hold tracks",
                "responses": {"200": _json({"type": "array", "items": _ref("Sound")}, "Sounds"),
                              **_errors("401", "403")}},
        "post": {"summary": (f"Upload a sound (multipart/form-data, at most {service.UPLOAD_MAX_BYTES // 1048576} MB): "
                             ".wav (PCM, A-law or µ-law), .mp3, .al/.alaw (raw A-law 8 kHz); converted to "
                             "16 kHz mono WAV"),
                 "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
                     "type": "object", "required": ["name", "file"], "properties": {
                         "file": {"type": "string", "format": "binary"},
                         "name": {"type": "string", "pattern": "^[a-z0-9][a-z0-9_-]{0,63}$"},
                         "description": {"type": "string", "maxLength": 255},
                         "kind": {"type": "string", "enum": ["prompt", "moh"], "default": "prompt"},
                         "moh_class": {"type": "string", "description": "kind moh only (default: default)"},
                         "language": {"type": "string", "enum": ["fr", "en", "de", "it"]}}}}}},
                 "responses": {"201": _json(_ref("Sound"), "Created"),
                               "400": _json(_ref("Error"), 'Invalid; `field` names it ("file": too large, empty, '
                                                           'wrong extension, cannot be decoded)'),
                               "415": _json(_ref("Error"), "Not multipart/form-data"),
                               **_errors("401", "403", "413")}},
    },
    f"{PREFIX}/tts": {"post": {
        "summary": "Create a sound spoken by the text-to-speech voice (espeak-ng)",
        "requestBody": _body(_ref("SoundTts")),
        "responses": {"201": _json(_ref("Sound"), "Created"), **_errors("400", "401", "403", "413", "415")}}},
    f"{PREFIX}/record": {"post": {
        "summary": ("Record a prompt by phone: the appliance calls `extension`; when answered it says "
                    "\"record after the tone\", beeps and records until # or hang-up "
                    f"(at most {service.RECORD_MAX_S} s), then saves the sound `name`. Follow the job"),
        "requestBody": _body({"type": "object", "required": ["name", "extension"], "additionalProperties": False,
                              "properties": {"name": {"type": "string"}, "extension": {"type": "string"},
                                             "description": {"type": "string", "maxLength": 255}}}),
        "responses": {"202": _json(_ref("RecordJob"), "Calling"), "503": _UNAVAILABLE,
                      **_errors("400", "401", "403", "413", "415")}}},
    f"{PREFIX}/record/{{job}}": {
        "parameters": [{"name": "job", "in": "path", "required": True, "schema": {"type": "string"}}],
        "get": {"summary": "Where a recording by phone is (poll until state is done or failed)",
                "responses": {"200": _json(_ref("RecordJob"), "The job"), **_errors("401", "403", "404")}}},
    f"{PREFIX}/{{name}}": {
        "parameters": _NAME,
        "get": {"summary": "One sound", "responses": {"200": _json(_ref("Sound"), "Sound"),
                                                      **_errors("401", "403", "404")}},
        "put": {"summary": "Change the description",
                "requestBody": _body({"type": "object", "additionalProperties": False,
                                      "properties": {"description": {"type": "string", "maxLength": 255}}}),
                "responses": {"200": _json(_ref("Sound"), "Saved"), **_errors("400", "401", "403", "404", "413",
                                                                             "415")}},
        "delete": {"summary": "Delete a sound (409 naming where the dialplan still uses it)",
                   "responses": {"204": {"description": "Deleted"}, **_errors("401", "403", "404", "409")}},
    },
    f"{PREFIX}/{{name}}/audio": {
        "parameters": _NAME + [{"name": "download", "in": "query", "schema": {"type": "string"},
                                "description": "any value: as an attachment"}],
        "get": {"summary": "The sound as played by the call core (WAV, 16 kHz mono 16-bit; Range requests work)",
                "responses": {"200": {"description": "WAV", "content": {"audio/wav": {"schema": {
                    "type": "string", "format": "binary"}}}}, **_errors("401", "403", "404")}}},
    MOH_PREFIX: {
        "get": {"summary": "Music-on-hold classes with their track counts",
                "responses": {"200": _json({"type": "array", "items": _ref("MohClass")}, "Classes"),
                              **_errors("401", "403")}},
        "post": {"summary": "Create a music-on-hold class (add tracks by uploading sounds of kind moh)",
                 "requestBody": _body({"type": "object", "required": ["name"], "additionalProperties": False,
                                       "properties": {"name": {"type": "string"},
                                                      "description": {"type": "string", "maxLength": 255}}}),
                 "responses": {"201": _json(_ref("MohClass"), "Created"), **_errors("400", "401", "403", "413",
                                                                                   "415")}},
    },
    f"{MOH_PREFIX}/{{name}}": {
        "parameters": _NAME,
        "delete": {"summary": "Delete an empty class no procedure uses (never \"default\"); 409 otherwise",
                   "responses": {"204": {"description": "Deleted"}, **_errors("401", "403", "404", "409")}}},
}

OPENAPI_SCHEMAS = {
    "Sound": {"type": "object", "properties": {
        "name": {"type": "string"}, "description": {"type": "string"},
        "kind": {"type": "string", "enum": ["prompt", "moh"]},
        "moh_class": {"type": "string", "nullable": True},
        "origin": {"type": "string", "enum": ["upload", "tts", "recording"]},
        "language": {"type": "string", "description": "fr, en, de, it or empty"},
        "tts_text": {"type": "string"}, "duration_s": {"type": "number"}, "size_bytes": {"type": "integer"},
        "created_at": {"type": "string", "format": "date-time"}}},
    "SoundTts": {"type": "object", "required": ["name", "text", "language"], "additionalProperties": False,
                 "properties": {
                     "name": {"type": "string", "pattern": "^[a-z0-9][a-z0-9_-]{0,63}$"},
                     "text": {"type": "string", "maxLength": service.TTS_TEXT_MAX},
                     "language": {"type": "string", "enum": ["fr", "en", "de", "it"]},
                     "description": {"type": "string", "maxLength": 255},
                     "kind": {"type": "string", "enum": ["prompt", "moh"], "default": "prompt"},
                     "moh_class": {"type": "string"}}},
    "RecordJob": {"type": "object", "properties": {
        "job": {"type": "string"},
        "state": {"type": "string", "description": "queued, calling, answered, recording, saving, done, failed"},
        "extension": {"type": "string"}, "name": {"type": "string"},
        "sound": {"type": "string", "nullable": True, "description": "the saved sound once done"},
        "outcome": {"type": "string", "nullable": True,
                    "description": "when not answered: busy, no_answer, unavailable, failed"},
        "error": {"type": "string", "nullable": True},
        "created": {"type": "string"}, "updated": {"type": "string"}}},
    "MohClass": {"type": "object", "properties": {
        "name": {"type": "string"}, "description": {"type": "string"}, "tracks": {"type": "integer"}}},
}
