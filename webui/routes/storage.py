"""Settings > Storage: USB devices, initialize, where each kind of data lives (moves), SMB/NFS shares.

storage.read (admin, technician) sees everything; storage.manage (admin) initializes a device, ejects a
volume, moves a kind of data, and edits and tests shares. Initialize and move are jobs: the API answers
202 with the job, GET /api/v1/storage/jobs/{id} follows its progress.
"""

from __future__ import annotations

import bottle

from appliance.errors import Conflict, NotFound
from storage import devices, initialize, jobs, mounts, placement, shares, watcher
from storage.commands import CommandFailed
from webui import web
from webui.openapi import error_responses as _errors
from webui.openapi import json_body as _body
from webui.openapi import json_response as _json
from webui.openapi import ref as _ref
from webui.web import _

PAGE = "/settings/storage"
PREFIX = "/api/v1/storage"
DEVICE = "<name:re:[a-z][a-z0-9]{1,31}>"
KIND = "<kind:re:[a-z_]{1,32}>"
SHARE = "<name:re:[a-z0-9][a-z0-9_-]{0,63}>"
LABEL = "<label:re:[A-Za-z0-9][A-Za-z0-9_-]{0,15}>"


def register(app: bottle.Bottle) -> None:
    r = app.route
    r(PAGE, "GET", storage_page, perm="storage.read")
    r(PREFIX, "GET", api_overview, perm="storage.read")
    r(f"{PREFIX}/devices", "GET", api_devices, perm="storage.read")
    r(f"{PREFIX}/devices/{DEVICE}/initialize", "POST", api_initialize, perm="storage.manage")
    r(f"{PREFIX}/volumes", "GET", api_volumes, perm="storage.read")
    r(f"{PREFIX}/volumes/{LABEL}/eject", "POST", api_eject, perm="storage.manage")
    r(f"{PREFIX}/placements", "GET", api_placements, perm="storage.read")
    r(f"{PREFIX}/placements/{KIND}", "PUT", api_move, perm="storage.manage")
    r(f"{PREFIX}/jobs/<job_id:int>", "GET", api_job, perm="storage.read")
    r(f"{PREFIX}/shares", "GET", api_shares, perm="storage.read")
    r(f"{PREFIX}/shares", "POST", api_share_create, perm="storage.manage")
    r(f"{PREFIX}/shares/{SHARE}", "GET", api_share, perm="storage.read")
    r(f"{PREFIX}/shares/{SHARE}", "PUT", api_share_update, perm="storage.manage")
    r(f"{PREFIX}/shares/{SHARE}", "DELETE", api_share_delete, perm="storage.manage")
    r(f"{PREFIX}/shares/{SHARE}/test", "POST", api_share_test, perm="storage.manage")


# -- what the page and the API show -----------------------------------------------------------------------------

def volumes() -> list[dict]:
    from storage.models import Placement, Volume

    settings = web.settings()
    rows = []
    for volume in Volume.select().order_by(Volume.label):
        present = mounts.is_present(settings, volume.label, volume.uuid)
        usage = None
        if present:
            import shutil

            total, used, free = shutil.disk_usage(mounts.mount_point(settings, volume.label))
            usage = {"total_bytes": total, "used_bytes": used, "free_bytes": free}
        kinds = [p.kind for p in Placement.select().where(Placement.volume_uuid == volume.uuid)]
        rows.append({"uuid": volume.uuid, "label": volume.label, "size_bytes": volume.size_bytes,
                     "present": present, "mountpoint": str(mounts.mount_point(settings, volume.label)),
                     "usage": usage, "kinds": kinds,
                     "initialized_at": volume.initialized_at.isoformat(timespec="seconds") + "Z"
                     if volume.initialized_at else None})
    return rows


def internal() -> dict:
    import shutil

    settings = web.settings()
    total, used, free = shutil.disk_usage(settings.data_dir)
    return {"folder": str(settings.data_dir), "total_bytes": total, "used_bytes": used, "free_bytes": free}


def overview() -> dict:
    settings = web.settings()
    daemon = watcher.current()
    policy = devices.policy_for(settings)
    return {"devices": [d.to_public() for d in devices.scan(settings)], "internal": internal(),
            "volumes": volumes(), "placements": placement.states(settings),
            "missing": sorted(placement.missing_volumes(settings)),
            "watcher": daemon.snapshot() if daemon else {"running": False},
            "policy": policy.describe(), "media_root": str(mounts.media_root(settings)), "jobs": jobs.running()}


# -- page ---------------------------------------------------------------------------------------------------------

def storage_page():
    data = overview()
    return web.render("storage.tpl", title=_("Storage"), active="settings", data=data, human=devices.human,
                      kinds=placement.KINDS, share_list=shares.list_shares(), can_manage=_can_manage(),
                      scripts=("api.js", "storage.js"))


def _can_manage() -> bool:
    from webui.permissions import allowed

    ident = web.identity()
    return ident is not None and allowed(ident.user.role, "storage.manage")


# -- API ------------------------------------------------------------------------------------------------------------

def api_overview():
    return web.json_body(overview())


def api_devices():
    return web.json_body({"devices": [d.to_public() for d in devices.scan(web.settings())]})


def api_initialize(name: str):
    data = web.read_json_object(("label", "confirm", "size_bytes"))
    settings = web.settings()
    plan = initialize.check(settings, name, data)

    def work(progress):
        result = initialize.initialize(settings, plan, progress)
        daemon = watcher.current()
        if daemon:
            daemon.wake()
        return result

    return web.json_body(jobs.start("initialize", name, work), 202)


def api_volumes():
    return web.json_body({"volumes": volumes()})


def api_eject(label: str):
    from storage.models import Placement, Volume

    settings = web.settings()
    volume = Volume.get_or_none(Volume.label == label)
    if volume is None:
        raise NotFound("volume", label)
    kinds = [p.kind for p in Placement.select().where(Placement.volume_uuid == volume.uuid)]
    if kinds:
        raise Conflict("label", f"{label} holds {', '.join(kinds)}: move them elsewhere before removing it")
    try:
        done = mounts.unmount(settings, label)
    except CommandFailed as exc:
        raise Conflict("label", f"{label} could not be unmounted: {exc.message}") from None
    return web.json_body({"label": label, "unmounted": done})


def api_placements():
    return web.json_body({"placements": placement.states(web.settings())})


def api_move(kind: str):
    placement.check_kind(kind)
    data = web.read_json_object(("volume_uuid", "revision"))
    settings = web.settings()
    plan = placement.check_move(settings, kind, data.get("volume_uuid"))
    revision = data.get("revision")
    if revision is not None and revision != plan["revision"]:
        raise Conflict("revision", f"the place of {kind} was changed by someone else; reload and try again")
    return web.json_body(jobs.start("move", kind, lambda progress: placement.move(settings, plan, progress)), 202)


def api_job(job_id: int):
    return web.json_body(jobs.get(job_id))


def api_shares():
    return web.json_body({"shares": shares.list_shares()})


def api_share_create():
    return web.json_body(shares.create(web.read_json_object(shares.FIELDS)), 201)


def api_share(name: str):
    return web.json_body(shares.get(name))


def api_share_update(name: str):
    return web.json_body(shares.update(name, web.read_json_object(shares.FIELDS)))


def api_share_delete(name: str):
    shares.delete(name)
    bottle.response.status = 204
    return ""


def api_share_test(name: str):
    return web.json_body(shares.test(web.settings(), name))


# -- OpenAPI -------------------------------------------------------------------------------------------------------

def _param(name: str, pattern: str) -> list[dict]:
    return [{"name": name, "in": "path", "required": True, "schema": {"type": "string", "pattern": pattern}}]


_DEV = _param("name", "^[a-z][a-z0-9]{1,31}$")
_KIND = _param("kind", "^(voicemail|recordings|call_history|backups)$")
_SHARE = _param("name", "^[a-z0-9][a-z0-9_-]{0,63}$")
_LABEL = _param("label", "^[A-Za-z0-9][A-Za-z0-9_-]{0,15}$")
_JOB = [{"name": "job_id", "in": "path", "required": True, "schema": {"type": "integer"}}]
_SHARE_IN = {"type": "object", "properties": {
    "name": {"type": "string"}, "protocol": {"type": "string", "enum": ["smb", "nfs"]},
    "server": {"type": "string", "description": "host name or IP address, with :port if not the usual one"},
    "share": {"type": "string", "description": "SMB share name, or NFS export path (/srv/backups)"},
    "folder": {"type": "string", "description": "folder inside the share (optional)"},
    "username": {"type": "string"}, "password": {"type": "string", "description": "write-only; encrypted at rest"},
    "domain": {"type": "string"}, "version": {"type": "string"}, "revision": {"type": "integer"}}}

OPENAPI_SCHEMAS = {
    "StorageDevice": {"type": "object", "properties": {
        "name": {"type": "string"}, "path": {"type": "string"}, "size_bytes": {"type": "integer"},
        "type": {"type": "string"}, "transport": {"type": "string"}, "model": {"type": "string"},
        "partitions": {"type": "array", "items": {"type": "object"}},
        "volumes": {"type": "array", "items": {"type": "object"},
                    "description": "file systems: fstype, label, uuid, mountpoint, total/used/free bytes"}}},
    "StoragePlacement": {"type": "object", "properties": {
        "kind": {"type": "string"}, "location": {"type": "string", "description": "internal or a volume label"},
        "volume_uuid": {"type": "string"}, "state": {"type": "string", "enum": ["ok", "missing"]},
        "folder": {"type": "string", "description": "where it is written now"}, "files": {"type": "integer"},
        "bytes": {"type": "integer"}, "revision": {"type": "integer"}}},
    "StorageJob": {"type": "object", "properties": {
        "id": {"type": "integer"}, "kind": {"type": "string", "enum": ["initialize", "move"]},
        "subject": {"type": "string"}, "state": {"type": "string", "enum": ["running", "done", "failed"]},
        "progress": {"type": "integer"}, "step": {"type": "string"}, "error": {"type": ["string", "null"]},
        "field": {"type": ["string", "null"]}, "result": {"type": ["object", "null"]}}},
    "StorageShare": {"type": "object", "properties": {
        **{k: v for k, v in _SHARE_IN["properties"].items() if k != "password"},
        "has_password": {"type": "boolean"},
        "location": {"type": "string", "description": "//server/share/folder or the nfs:// URL"},
        "last_test": {"type": ["object", "null"]}}},
}
_JOB_202 = {"202": _json(_ref("StorageJob"), "started; follow it at /api/v1/storage/jobs/{id}")}

OPENAPI_PATHS = {
    PREFIX: {"get": {"summary": "Storage overview: devices, internal folder, volumes, placements, watcher",
                     "responses": {"200": _json({"type": "object"}, "overview"), **_errors("401", "403")}}},
    f"{PREFIX}/devices": {"get": {"summary": "Removable storage devices with partitions, file systems and usage",
                                  "responses": {"200": _json({"type": "object", "properties": {
                                      "devices": {"type": "array", "items": _ref("StorageDevice")}}}, "devices"),
                                      **_errors("401", "403")}}},
    f"{PREFIX}/devices/{{name}}/initialize": {"post": {
        "summary": "Erase a device: one partition, ext4 labelled, mounted under the media folder",
        "parameters": _DEV,
        "requestBody": _body({"type": "object", "required": ["label", "confirm", "size_bytes"], "properties": {
            "label": {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9_-]{0,15}$"},
            "confirm": {"type": "string", "description": "the device name again"},
            "size_bytes": {"type": "integer", "description": "the device size as shown (another stick is refused)"}}}),
        "responses": {**_JOB_202, **_errors("400", "401", "403", "404", "409")}}},
    f"{PREFIX}/volumes": {"get": {"summary": "Volumes initialized by the appliance, present or not",
                                  "responses": {"200": _json({"type": "object"}, "volumes"), **_errors("401", "403")}}},
    f"{PREFIX}/volumes/{{label}}/eject": {"post": {
        "summary": "Unmount a volume so it can be pulled out (refused while it holds data)", "parameters": _LABEL,
        "responses": {"200": _json({"type": "object"}, "unmounted"), **_errors("401", "403", "404", "409")}}},
    f"{PREFIX}/placements": {"get": {"summary": "Where each kind of data lives",
                                     "responses": {"200": _json({"type": "object", "properties": {
                                         "placements": {"type": "array", "items": _ref("StoragePlacement")}}},
                                         "placements"), **_errors("401", "403")}}},
    f"{PREFIX}/placements/{{kind}}": {"put": {
        "summary": "Move a kind of data: copy, verify (SHA-256), switch, then remove the old copy",
        "parameters": _KIND,
        "requestBody": _body({"type": "object", "required": ["volume_uuid"], "properties": {
            "volume_uuid": {"type": "string", "description": "a volume's UUID, or \"\" for the internal folder"},
            "revision": {"type": "integer"}}}),
        "responses": {**_JOB_202, **_errors("400", "401", "403", "404", "409")}}},
    f"{PREFIX}/jobs/{{job_id}}": {"get": {"summary": "Progress of an initialize or move job", "parameters": _JOB,
                                          "responses": {"200": _json(_ref("StorageJob"), "job"),
                                                        **_errors("401", "403", "404")}}},
    f"{PREFIX}/shares": {
        "get": {"summary": "SMB/NFS shares (backup destinations)",
                "responses": {"200": _json({"type": "object"}, "shares"), **_errors("401", "403")}},
        "post": {"summary": "Add a share", "requestBody": _body(_SHARE_IN),
                 "responses": {"201": _json(_ref("StorageShare"), "added"), **_errors("400", "401", "403", "409")}}},
    f"{PREFIX}/shares/{{name}}": {
        "get": {"summary": "One share (no password)", "parameters": _SHARE,
                "responses": {"200": _json(_ref("StorageShare"), "share"), **_errors("401", "403", "404")}},
        "put": {"summary": "Change a share", "parameters": _SHARE, "requestBody": _body(_SHARE_IN),
                "responses": {"200": _json(_ref("StorageShare"), "changed"),
                              **_errors("400", "401", "403", "404", "409")}},
        "delete": {"summary": "Delete a share", "parameters": _SHARE,
                   "responses": {"204": {"description": "deleted"}, **_errors("401", "403", "404")}}},
    f"{PREFIX}/shares/{{name}}/test": {"post": {
        "summary": "List the folder, write, list and delete a probe file; says clearly what failed",
        "parameters": _SHARE,
        "responses": {"200": _json({"type": "object", "properties": {
            "ok": {"type": "boolean"}, "message": {"type": "string"}, "entries": {"type": ["integer", "null"]},
            "free_bytes": {"type": ["integer", "null"]}, "location": {"type": "string"}}}, "outcome"),
            **_errors("401", "403", "404")}}},
}
