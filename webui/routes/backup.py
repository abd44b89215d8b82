"""Settings > Backup: generate and download, generate onto the appliance, upload, inspect, restore, support bundle,
and the schedule (frequency, destination: backup folder, share, SFTP or e-mail; test the destination, run now).

Everything here needs backup.manage (administrators only: an archive holds every secret of the appliance).
Archives are streamed out while they are made (no copy in a temporary folder) and uploads are streamed
into the backup folder. A restore checks the whole archive before it changes anything, then every
service restarts (when `appliance run` supervises them) and everybody logs in again.
"""

from __future__ import annotations

import datetime as dt
import json
import re

import bottle

from appliance.backup import archive, bundle, destinations, schedule, service
from appliance.backup.errors import BackupRefused
from appliance.backup.restore import restore_backup
from appliance.errors import Conflict, ValidationError
from webui import web
from webui.i18n import N_
from webui.openapi import error_responses as _errors
from webui.openapi import json_body as _body
from webui.openapi import json_response as _json
from webui.openapi import ref as _ref
from webui.web import _

PAGE = "/settings/backup"
PREFIX = "/api/v1/backup"
NAME = "<name:re:[A-Za-z0-9][A-Za-z0-9._-]{0,99}\\.pbxbak>"
PART_LABELS = {"voicemail": N_("Voicemail messages"), "recordings": N_("Call recordings"),
               "history": N_("Call history and events")}
REFUSED_FIELDS = {"passphrase_required": "passphrase", "wrong_passphrase": "passphrase",
                  "passphrase_too_short": "passphrase"}


def register(app: bottle.Bottle) -> None:
    web.BODY_ALLOWANCES[("POST", re.escape(f"{PREFIX}/uploads"))] = service.MAX_UPLOAD
    r = app.route
    r(PAGE, "GET", backup_page, perm="backup.manage")
    r(f"{PAGE}/download", "POST", download_page, perm="backup.manage")
    r(f"{PAGE}/store", "POST", store_page, perm="backup.manage")
    r(f"{PAGE}/files/{NAME}", "GET", file_download, perm="backup.manage")
    r(f"{PAGE}/files/{NAME}/delete", "POST", delete_page, perm="backup.manage")
    r(f"{PAGE}/support-bundle", "GET", support_bundle_download, perm="backup.manage")
    r(f"{PAGE}/schedule", "POST", schedule_page, perm="backup.manage")

    r(f"{PREFIX}/archive", "POST", api_archive, perm="backup.manage")
    r(f"{PREFIX}/files", "GET", api_files, perm="backup.manage")
    r(f"{PREFIX}/files", "POST", api_create_file, perm="backup.manage")
    r(f"{PREFIX}/uploads", "POST", api_upload, perm="backup.manage")
    r(f"{PREFIX}/files/{NAME}", "GET", file_download, perm="backup.manage")
    r(f"{PREFIX}/files/{NAME}", "DELETE", api_delete, perm="backup.manage")
    r(f"{PREFIX}/files/{NAME}/inspect", "POST", api_inspect, perm="backup.manage")
    r(f"{PREFIX}/files/{NAME}/restore", "POST", api_restore, perm="backup.manage")
    r(f"{PREFIX}/support-bundle", "GET", support_bundle_download, perm="backup.manage")
    r(f"{PREFIX}/schedule", "GET", api_schedule, perm="backup.manage")
    r(f"{PREFIX}/schedule", "PUT", api_update_schedule, perm="backup.manage")
    r(f"{PREFIX}/schedule/test", "POST", api_test_destination, perm="backup.manage")
    r(f"{PREFIX}/schedule/run", "POST", api_run_now, perm="backup.manage")


# -- helpers ------------------------------------------------------------------------------------------

def _refused(exc: BackupRefused) -> str:
    """A refusal as an API answer: 400 naming the field (passphrase or file) and the reason."""
    bottle.response.status = 400
    bottle.response.content_type = "application/json"
    return json.dumps({"error": "refused", "field": REFUSED_FIELDS.get(exc.reason, "file"),
                           "reason": exc.reason, "message": exc.message})


def _attachment(filename: str, content_type: str) -> None:
    bottle.response.content_type = content_type
    bottle.response.set_header("Content-Disposition", f'attachment; filename="{filename}"')


def _stream_archive(opts: dict):
    settings = web.settings()
    _attachment(service.default_name(settings), "application/octet-stream")
    return service.stream(lambda out: archive.create_backup(settings, out, opts["parts"], opts["passphrase"],
                                                            opts["secrets"]))


def _form_options() -> dict:
    form = web.form()
    return {"parts": [p for p in archive.OPTIONAL_PARTS if form.get(f"part_{p}")],
            "secrets": bool(form.get("secrets")), "passphrase": web.form_text("passphrase"),
            "passphrase_confirm": web.form_text("passphrase_confirm")}


# -- pages --------------------------------------------------------------------------------------------

def backup_page(errors: dict | None = None, status: int = 200, values: dict | None = None, notice: str = "",
                schedule_values: dict | None = None):
    query = bottle.request.query
    if not notice:
        if query.get("scheduled"):
            notice = _("Backup schedule saved.")
        elif query.get("stored"):
            notice = _("Backup {name} saved on the appliance.").format(name=query.getunicode("stored", ""))
        elif query.get("deleted"):
            notice = _("Backup {name} deleted.").format(name=query.getunicode("deleted", ""))
    values = values or {"secrets": True, "parts": []}
    return web.render("backup.tpl", status=status, title=_("Backup"), active="settings", notice=notice,
                      errors=errors or {}, values=values, files=service.list_files(web.settings()),
                      part_labels={k: _(v) for k, v in PART_LABELS.items()}, optional_parts=archive.OPTIONAL_PARTS,
                      schedule=schedule_values or schedule.to_public(schedule.get_schedule(), web.settings()),
                      destination_labels={"folder": _("The appliance's backup folder"), "share": _("A share"),
                                          "sftp": _("An SFTP server"), "email": _("E-mail")},
                      shares=_share_names(), mail_profiles=_mail_profiles(),
                      frequencies={"off": _("Off"), "daily": _("Every day"), "weekly": _("Every week"),
                                   "monthly": _("Every month")},
                      weekdays=[_("Monday"), _("Tuesday"), _("Wednesday"), _("Thursday"), _("Friday"),
                                _("Saturday"), _("Sunday")],
                      scripts=("api.js", "backup.js"))


def _share_names() -> list[str]:
    try:
        from storage import shares

        return [s["name"] for s in shares.list_shares()]
    except Exception:  # noqa: BLE001 -- the page still opens without the list
        return []


def _mail_profiles() -> list[str]:
    from appliance.mail import profiles

    return [p.name for p in profiles.list_profiles()]


def _page_error(exc: ValidationError | BackupRefused, values: dict):
    field = exc.field if isinstance(exc, ValidationError) else REFUSED_FIELDS.get(exc.reason, "_form")
    message = web.message_for(exc) if isinstance(exc, ValidationError) else exc.message
    values = {"parts": values.get("parts", []), "secrets": values.get("secrets", True)}
    return backup_page(errors={field.split(".")[0]: message}, status=400, values=values)


def download_page():
    raw = _form_options()
    try:
        opts = service.options(raw)
    except ValidationError as exc:
        return _page_error(exc, raw)
    return _stream_archive(opts)


def store_page():
    raw = _form_options()
    try:
        info = service.create_stored(web.settings(), service.options(raw))
    except (ValidationError, BackupRefused) as exc:
        return _page_error(exc, raw)
    return bottle.redirect(f"{PAGE}?" + bottle.urlencode({"stored": info["name"]}), 303)


def schedule_page():
    form = web.form()
    data = {"frequency": web.form_text("frequency"), "hour": web.form_text("hour"),
            "weekday": web.form_text("weekday"), "month_day": web.form_text("month_day"),
            "keep": web.form_text("keep"), "secrets": bool(form.get("sched_secrets")),
            "parts": [p for p in archive.OPTIONAL_PARTS if form.get(f"sched_part_{p}")]}
    if web.form_text("passphrase"):
        data["passphrase"] = web.form_text("passphrase")
    kind = web.form_text("destination") or "folder"
    data["destination"] = kind
    if kind == "share":
        data["share"] = {"name": web.form_text("share_name")}
    elif kind == "sftp":
        data["sftp"] = {"host": web.form_text("sftp_host"), "port": web.form_text("sftp_port"),
                        "user": web.form_text("sftp_user"), "folder": web.form_text("sftp_folder")}
        if web.form_text("sftp_password"):
            data["sftp"]["password"] = web.form_text("sftp_password")
    elif kind == "email":
        data["email"] = {"to": web.form_text("email_to"), "profile": web.form_text("email_profile"),
                         "max_mb": web.form_text("email_max_mb")}
    try:
        schedule.update_schedule(data)
    except ValidationError as exc:
        shown = dict(schedule.to_public(schedule.get_schedule()))
        for key, value in data.items():
            if key in ("share", "sftp", "email"):
                shown[key] = {**shown[key], **{k: v for k, v in value.items() if k != "password"}}
                if key == "email" and isinstance(value.get("to"), str):
                    shown[key]["to"] = [t for t in re.split(r"[,;\s]+", value["to"]) if t]
            elif key != "passphrase":
                shown[key] = value
        parts = exc.field.split(".")
        key = "_".join(parts[:2]) if parts[0] in ("share", "sftp", "email") else parts[0]
        return backup_page(errors={"sched_" + key: web.message_for(exc)}, status=400, schedule_values=shown)
    return bottle.redirect(f"{PAGE}?scheduled=1", 303)


def file_download(name: str):
    path = service.path_of(web.settings(), name)
    return bottle.static_file(path.name, root=str(path.parent), mimetype="application/octet-stream",
                              download=path.name)


def delete_page(name: str):
    service.delete_file(web.settings(), name)
    return bottle.redirect(f"{PAGE}?" + bottle.urlencode({"deleted": name}), 303)


def support_bundle_download():
    settings = web.settings()
    _attachment(f"support-{dt.datetime.now(dt.UTC):%Y%m%d-%H%M%S}.tar.gz", "application/gzip")
    return service.stream(lambda out: bundle.support_bundle(settings, out))


# -- API ---------------------------------------------------------------------------------------------------

def api_archive():
    opts = service.options(web.read_json_object(("parts", "secrets", "passphrase")))
    return _stream_archive(opts)


def api_files():
    return web.json_body({"files": service.list_files(web.settings())})


def api_create_file():
    opts = service.options(web.read_json_object(("parts", "secrets", "passphrase")))
    try:
        info = service.create_stored(web.settings(), opts)
    except BackupRefused as exc:
        return _refused(exc)
    return web.json_body(info, 201)


def api_schedule():
    return web.json_body(schedule.to_public(schedule.get_schedule(), web.settings()))


def api_update_schedule():
    row = schedule.update_schedule(web.read_json_object(schedule.FIELDS))
    return web.json_body(schedule.to_public(row, web.settings()))


def api_test_destination():
    data = web.read_json_object(("trust_fingerprint",)) if bottle.request.content_length > 0 else {}
    trust = data.get("trust_fingerprint") or ""
    if not isinstance(trust, str) or len(trust) > 100:
        raise ValidationError("trust_fingerprint", "must be a fingerprint as shown (SHA256:...)")
    return web.json_body(schedule.test_destination(web.settings(), trust))


def api_run_now():
    if bottle.request.content_length > 0:
        web.read_json_object(())
    if not schedule.start_now(web.settings()):
        raise Conflict("schedule", "a scheduled backup is running: wait for it to finish")
    return web.json_body({"started": True, "destination": schedule.get_schedule().destination}, 202)


def api_upload():
    request = bottle.request
    length = request.content_length
    if length < 0 or "chunked" in request.environ.get("HTTP_TRANSFER_ENCODING", "").lower():
        raise ValidationError("file", "send the archive as the request body with a Content-Length")
    info = service.save_upload(web.settings(), request.environ["wsgi.input"], length)
    return web.json_body(info, 201)


def api_delete(name: str):
    service.delete_file(web.settings(), name)
    bottle.response.status = 204
    return ""


def _passphrase(data: dict) -> str | None:
    value = data.get("passphrase")
    if value is not None and not isinstance(value, str):
        raise ValidationError("passphrase", "must be a string")
    return value or None


def api_inspect(name: str):
    data = web.read_json_object(("passphrase",)) if bottle.request.content_length > 0 else {}
    path = service.path_of(web.settings(), name)
    try:
        with archive.opened(path) as f:
            info = archive.inspect_archive(f, _passphrase(data), verify=True)
    except BackupRefused as exc:
        return _refused(exc)
    info["name"] = name
    return web.json_body(info)


def api_restore(name: str):
    data = web.read_json_object(("passphrase", "confirm"))
    if data.get("confirm") is not True:
        raise ValidationError("confirm", "must be true: the current configuration is replaced by the archive's")
    settings = web.settings()
    path = service.path_of(settings, name)
    try:
        with archive.opened(path) as f:
            result = restore_backup(settings, f, _passphrase(data))
    except BackupRefused as exc:
        return _refused(exc)
    body = result.to_public()
    body["restarting"] = service.restart_later(settings)
    return web.json_body(body)


# -- OpenAPI -------------------------------------------------------------------------------------------------

_NAME_PARAM = [{"name": "name", "in": "path", "required": True,
                "schema": {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9._-]{0,99}\\.pbxbak$"}}]
_OPTIONS = {"type": "object", "properties": {
    "parts": {"type": "array", "items": {"type": "string", "enum": list(archive.OPTIONAL_PARTS)},
              "description": "optional parts besides the configuration and sounds"},
    "secrets": {"type": "boolean", "default": True,
                "description": "include the secret key and passwords (the archive is then encrypted)"},
    "passphrase": {"type": "string", "minLength": 8, "description": "required with secrets"}}}
_REFUSED = {"description": "refused: `reason` (foreign, truncated, corrupted, wrong_passphrase, passphrase_required, "
                           "newer_version, invalid, busy, storage) and `field` (passphrase or file); nothing changed",
            "content": {"application/json": {"schema": _ref("BackupRefused")}}}
_BINARY = {"content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}}

OPENAPI_SCHEMAS = {
    "BackupFile": {"type": "object", "properties": {
        "name": {"type": "string"}, "size": {"type": "integer"}, "modified_at": {"type": "string"},
        "encrypted": {"type": "boolean"}, "readable": {"type": "boolean"}}},
    "BackupInfo": {"type": "object", "properties": {
        "created_at": {"type": "string"}, "app_version": {"type": "string"}, "schema_version": {"type": "integer"},
        "software_schema_version": {"type": "integer"}, "migrates": {"type": "boolean"},
        "parts": {"type": "array", "items": {"type": "string"}}, "secrets": {"type": "boolean"},
        "encrypted": {"type": "boolean"}, "verified": {"type": "boolean"},
        "summary": {"type": "object", "description": "counts: users, trunks, sounds, voicemail_messages..."},
        "files": {"type": "object", "description": "per part: files and bytes"}}},
    "BackupRestored": {"type": "object", "properties": {
        "created_at": {"type": "string"}, "parts": {"type": "array", "items": {"type": "string"}},
        "summary": {"type": "object"}, "migrated_from": {"type": ["integer", "null"]},
        "previous": {"type": ["string", "null"], "description": "where the replaced configuration is kept"},
        "restart": {"type": "array", "items": {"type": "string"}},
        "restarting": {"type": "boolean", "description": "the supervisor restarts the services now"},
        "carried": {"type": "object"}, "warnings": {"type": "array", "items": {"type": "string"}}}},
    "BackupRefused": {"type": "object", "properties": {
        "error": {"type": "string", "enum": ["refused"]}, "field": {"type": "string"},
        "reason": {"type": "string"}, "message": {"type": "string"}}},
}

_SCHEDULE_FIELDS = {
    "frequency": {"type": "string", "enum": list(schedule.FREQUENCIES)},
    "hour": {"type": "integer", "minimum": 0, "maximum": 23, "description": "in the appliance's time zone"},
    "weekday": {"type": "integer", "minimum": 0, "maximum": 6, "description": "weekly: 0 = Monday"},
    "month_day": {"type": "integer", "minimum": 1, "maximum": 28, "description": "monthly"},
    "parts": {"type": "array", "items": {"type": "string", "enum": list(archive.OPTIONAL_PARTS)}},
    "secrets": {"type": "boolean"},
    "keep": {"type": "integer", "minimum": 1, "maximum": 100,
             "description": "scheduled archives kept at the destination (and at most that many left locally)"},
    "revision": {"type": "integer"},
    "destination": {"type": "string", "enum": list(destinations.KINDS),
                    "description": "folder: the backup folder; share: a share of Storage; sftp; email"},
    "share": {"type": "object", "properties": {"name": {"type": "string", "description": "a share of Storage"}}},
    "email": {"type": "object", "properties": {
        "to": {"type": "array", "items": {"type": "string", "format": "email"}, "maxItems": destinations.MAX_RECIPIENTS},
        "profile": {"type": "string", "description": "a mail profile; empty: the default one"},
        "max_mb": {"type": "integer", "minimum": 1, "maximum": destinations.EMAIL_MAX_MB,
                   "default": destinations.EMAIL_DEFAULT_MB, "description": "bigger archives are not mailed"}}},
}
_SFTP = {"host": {"type": "string"}, "port": {"type": "integer", "minimum": 1, "maximum": 65535, "default": 22},
         "user": {"type": "string"},
         "folder": {"type": "string", "description": "remote folder (relative to the user's home, or absolute)"}}
OPENAPI_SCHEMAS["BackupSchedule"] = {"type": "object", "properties": {
    **_SCHEDULE_FIELDS, "passphrase_set": {"type": "boolean"},
    "sftp": {"type": "object", "properties": {
        **_SFTP, "password_set": {"type": "boolean"}, "host_key_type": {"type": ["string", "null"]},
        "host_key_fingerprint": {"type": ["string", "null"], "description": "the pinned key (SHA256:...)"}}},
    "running": {"type": "boolean", "description": "a scheduled backup runs now"},
    "last_run_at": {"type": ["string", "null"]}, "last_status": {"type": ["string", "null"], "enum": ["ok", "failed", None]},
    "last_message": {"type": "string"}, "last_file": {"type": "string"}}}

OPENAPI_PATHS = {
    f"{PREFIX}/schedule": {
        "get": {"summary": "The backup schedule (the passphrase is never shown)",
                "responses": {"200": _json(_ref("BackupSchedule"), "the schedule"), **_errors("401", "403")}},
        "put": {"summary": "Change the backup schedule (archives go to the backup folder; the last `keep` are kept)",
                "requestBody": _body({"type": "object", "properties": {
                    **_SCHEDULE_FIELDS, "passphrase": {"type": "string", "minLength": 8, "writeOnly": True},
                    "sftp": {"type": "object", "properties": {
                        **_SFTP, "password": {"type": "string", "writeOnly": True,
                                              "description": "kept encrypted; omit or empty: unchanged"}}}}}),
                "responses": {"200": _json(_ref("BackupSchedule"), "saved"), **_errors("400", "401", "403", "409")}}},
    f"{PREFIX}/schedule/test": {"post": {
        "summary": "Test the schedule's destination: reach it, check the folder is writable (nothing kept); SFTP: "
                   "the host key is pinned on first use, a changed one is refused unless trust_fingerprint names it",
        "requestBody": {"required": False, "content": {"application/json": {"schema": {
            "type": "object", "properties": {"trust_fingerprint": {"type": "string",
                                                                   "description": "accept this new host key"}}}}}},
        "responses": {"200": _json({"type": "object", "properties": {
            "ok": {"type": "boolean"}, "destination": {"type": "string"}, "message": {"type": "string"},
            "reason": {"type": "string", "enum": list(destinations.REASONS)},
            "fingerprint": {"type": "string"}, "pinned_now": {"type": "boolean"},
            "pinned": {"type": "string"}, "presented": {"type": "string"}}}, "the result"),
            **_errors("400", "401", "403")}}},
    f"{PREFIX}/schedule/run": {"post": {
        "summary": "Run the scheduled backup now (in the background: GET the schedule for `running` and the result)",
        "responses": {"202": _json({"type": "object", "properties": {
            "started": {"type": "boolean"}, "destination": {"type": "string"}}}, "started"),
            **_errors("401", "403", "409")}}},
    f"{PREFIX}/archive": {"post": {
        "summary": "Generate a backup archive and download it (streamed while it is made)",
        "requestBody": _body(_OPTIONS),
        "responses": {"200": {"description": "the archive", **_BINARY}, **_errors("400", "401", "403")}}},
    f"{PREFIX}/files": {
        "get": {"summary": "Archives kept on the appliance",
                "responses": {"200": _json({"type": "object", "properties": {
                    "files": {"type": "array", "items": _ref("BackupFile")}}}, "the archives"),
                    **_errors("401", "403")}},
        "post": {"summary": "Generate a backup archive onto the appliance's backup folder",
                 "requestBody": _body(_OPTIONS),
                 "responses": {"201": _json(_ref("BackupFile"), "made"), **_errors("400", "401", "403")}}},
    f"{PREFIX}/uploads": {"post": {
        "summary": "Upload an archive (the raw request body, with Content-Length) into the backup folder",
        "requestBody": {"required": True, **_BINARY},
        "responses": {"201": _json(_ref("BackupFile"), "stored"), **_errors("400", "401", "403", "413")}}},
    f"{PREFIX}/files/{{name}}": {
        "parameters": _NAME_PARAM,
        "get": {"summary": "Download an archive kept on the appliance",
                "responses": {"200": {"description": "the archive", **_BINARY}, **_errors("401", "403", "404")}},
        "delete": {"summary": "Delete an archive kept on the appliance",
                   "responses": {"204": {"description": "deleted"}, **_errors("401", "403", "404")}}},
    f"{PREFIX}/files/{{name}}/inspect": {"parameters": _NAME_PARAM, "post": {
        "summary": "Read and verify an archive: what it holds, nothing restored",
        "requestBody": {"required": False, "content": {"application/json": {"schema": {
            "type": "object", "properties": {"passphrase": {"type": "string"}}}}}},
        "responses": {"200": _json(_ref("BackupInfo"), "what the archive holds"), "400": _REFUSED,
                      **_errors("401", "403", "404")}}},
    f"{PREFIX}/files/{{name}}/restore": {"parameters": _NAME_PARAM, "post": {
        "summary": "Restore an archive: verified first, then the configuration is swapped and the services restart",
        "requestBody": _body({"type": "object", "required": ["confirm"], "properties": {
            "passphrase": {"type": "string"}, "confirm": {"type": "boolean", "enum": [True]}}}),
        "responses": {"200": _json(_ref("BackupRestored"), "restored"), "400": _REFUSED,
                      **_errors("401", "403", "404")}}},
    f"{PREFIX}/support-bundle": {"get": {
        "summary": "Support bundle: configuration and logs with every secret removed (tar.gz, streamed)",
        "responses": {"200": {"description": "the bundle", "content": {"application/gzip": {
            "schema": {"type": "string", "format": "binary"}}}}, **_errors("401", "403")}}},
}
