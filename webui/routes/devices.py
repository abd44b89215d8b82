"""Devices: the page (phones found or added, assign to a user, re-provision, reboot, reset the
provisioning password, delete, auto-add window) and the API /api/v1/devices, /api/v1/provisioning,
/api/v1/phonebook.

Reading needs `devices.read`; everything else `devices.manage` (admins and technicians: installers
assign phones). What opens a device's configuration, and so its user's SIP password, is shown or set only
for holders of `users.reveal_sip` (administrators): the provisioning link, the provisioning password (at
creation and reset), resetting them, and the trusted ranges (an address inside them fetches the config).
"""

from __future__ import annotations

import re

import bottle

from appliance.provisioning import actions, firmware, service
from appliance.provisioning.vendors import VENDORS
from appliance.users.models import User
from webui import edge, web
from webui.openapi import error_responses as _errors
from webui.openapi import json_body as _body
from webui.openapi import json_response as _ok
from webui.openapi import ref as _ref
from webui.permissions import allowed
from webui.routes.provisioning import provisioning_url
from webui.web import _

PREFIX = "/api/v1/devices"
FIRMWARE = "/api/v1/firmware"
# The config a device fetches holds its user's SIP password: whatever opens it needs this permission.
SECRETS_PERM = "users.reveal_sip"


def register(app: bottle.Bottle) -> None:
    r = app.route
    r("/devices", "GET", page, perm="devices.read")
    r(PREFIX, "GET", api_list, perm="devices.read")
    r(PREFIX, "POST", api_create, perm="devices.manage")
    r(f"{PREFIX}/<mac>", "GET", api_get, perm="devices.read")
    r(f"{PREFIX}/<mac>", "PUT", api_update, perm="devices.manage")
    r(f"{PREFIX}/<mac>", "DELETE", api_delete, perm="devices.manage")
    r(f"{PREFIX}/<mac>/password", "POST", api_reset_password, perm=SECRETS_PERM)
    r(f"{PREFIX}/<mac>/link", "POST", api_reset_link, perm=SECRETS_PERM)
    r(f"{PREFIX}/<mac>/actions", "POST", api_action, perm="devices.manage")
    r("/api/v1/provisioning", "GET", api_settings, perm="devices.read")
    r("/api/v1/provisioning", "PUT", api_settings_update, perm="devices.manage")
    r("/api/v1/phonebook/contacts", "GET", api_contacts, perm="devices.read")
    r("/api/v1/phonebook/contacts", "POST", api_contact_create, perm="devices.manage")
    r("/api/v1/phonebook/contacts/<cid:int>", "DELETE", api_contact_delete, perm="devices.manage")
    r(FIRMWARE, "GET", api_firmware, perm="devices.read")
    r(FIRMWARE, "POST", api_firmware_upload, perm="devices.manage")
    r(f"{FIRMWARE}/<fid:int>", "DELETE", api_firmware_delete, perm="devices.manage")
    web.BODY_ALLOWANCES[("POST", re.escape(FIRMWARE))] = firmware.MAX_BYTES + 64 * 1024


# -- helpers -------------------------------------------------------------------------------

def _registered_map() -> dict[str, set[str]] | None:
    """extension -> source addresses of its registrations; None when Kamailio cannot be asked."""
    regs = edge.registrations(web.settings())
    if regs is None:
        return None
    found: dict[str, set[str]] = {}
    for reg in regs:
        found.setdefault(str(reg.get("extension", "")).split("@")[0], set()).add(reg.get("source_ip", ""))
    return found


def _registered(device, regs: dict[str, set[str]] | None) -> bool | None:
    if regs is None:
        return None
    user = device.user
    if user is None or not user.extension:
        return False
    sources = regs.get(user.extension)
    if not sources:
        return False
    return not device.ip or device.ip in sources or "" in sources


def _may_see_secrets() -> bool:
    ident = web.identity()
    return ident is not None and allowed(ident.user.role, SECRETS_PERM)


def _refuse_ranges_without_secrets(data: dict) -> None:
    if "trusted_ranges" in data and not _may_see_secrets():
        raise web.ApiError(403, "forbidden", "trusted_ranges",
                           "trusted_ranges: only an administrator may set them (an address inside them fetches "
                           "the phone's configuration with its user's SIP password)")


def _public(device, regs=None, detail: bool = False) -> dict:
    data = service.to_public(device, _registered(device, regs))
    if detail and _may_see_secrets():
        host, port = _host()
        data["provisioning_link"] = f"{provisioning_url(host, port)}t/{service.link_token(device)}/"
    return data


def _host() -> tuple[str, int]:
    from webui.routes.provisioning import _host_and_port

    return _host_and_port()


# -- API ---------------------------------------------------------------------------------------

def api_list():
    regs = _registered_map()
    return web.json_body([_public(d, regs) for d in service.list_devices()])


def api_get(mac: str):
    return web.json_body(_public(service.get_device(mac), _registered_map(), detail=True))


def api_create():
    data = web.read_json_object()
    _refuse_ranges_without_secrets(data)
    device, password = service.create_device(data)
    bottle.response.set_header("Location", f"{PREFIX}/{device.mac}")
    data = _public(device, _registered_map(), detail=True)
    if _may_see_secrets():
        data["provisioning_password"] = password
    return web.json_body(data, 201)


def api_update(mac: str):
    data = web.read_json_object(service.UPDATE_FIELDS)
    _refuse_ranges_without_secrets(data)
    device = service.update_device(mac, data)
    return web.json_body(_public(device, _registered_map()))


def api_delete(mac: str):
    service.delete_device(mac)
    bottle.response.status = 204
    return ""


def api_reset_password(mac: str):
    device, password = service.reset_password(mac)
    data = _public(device, _registered_map())
    data["provisioning_password"] = password
    return web.json_body(data)


def api_reset_link(mac: str):
    device, _token = service.reset_link(mac)
    return web.json_body(_public(device, _registered_map(), detail=True))


def api_action(mac: str):
    data = web.read_json_object(("action",))
    action = data.get("action")
    if action not in actions.ACTIONS:
        raise web.ApiError(400, "invalid", "action", f"action: must be one of {', '.join(actions.ACTIONS)}")
    return web.json_body(actions.perform(web.settings(), mac, action))


def api_settings():
    data = service.settings_public()
    host, port = _host()
    data["provisioning_url"] = provisioning_url(host, port)
    return web.json_body(data)


def api_settings_update():
    data = web.read_json_object(("auto_add", "codecs"))
    if "auto_add" in data:
        if not isinstance(data["auto_add"], bool):
            raise web.ApiError(400, "invalid", "auto_add", "auto_add: must be true or false")
        service.set_auto_add(data["auto_add"])
    if "codecs" in data:
        service.set_codecs(data["codecs"])
    return api_settings()


def api_contacts():
    return web.json_body([service.contact_public(c) for c in service.list_contacts()])


def api_contact_create():
    row = service.create_contact(web.read_json_object(service.CONTACT_FIELDS))
    return web.json_body(service.contact_public(row), 201)


def api_contact_delete(cid: int):
    service.delete_contact(cid)
    bottle.response.status = 204
    return ""


def api_firmware():
    return web.json_body([firmware.public(row) for row in firmware.list_firmware()])


def api_firmware_upload():
    ctype = (bottle.request.content_type or "").split(";")[0].strip().lower()
    if ctype != "multipart/form-data":
        raise web.ApiError(415, "unsupported_media_type", None,
                           "send the firmware as multipart/form-data: a 'file' part, vendor, model, version")
    form = web.form()
    for key in form:
        if key not in firmware.UPLOAD_FIELDS and key != web.CSRF_FIELD:
            raise web.ApiError(400, "invalid", key[:64], f"{key[:64]}: is not a known field")
    data = {key: form.get(key) for key in firmware.UPLOAD_FIELDS if form.get(key) not in (None, "")}
    upload = bottle.request.files.get("file")
    row = firmware.upload(web.settings(), data, upload.raw_filename if upload is not None else "",
                          upload.file if upload is not None else None)
    return web.json_body(firmware.public(row), 201)


def api_firmware_delete(fid: int):
    firmware.delete(web.settings(), fid)
    bottle.response.status = 204
    return ""


# -- page ----------------------------------------------------------------------------------------

def page():
    regs = _registered_map()
    devices = [_public(d, regs) for d in service.list_devices()]
    users = list(User.select().where(User.extension.is_null(False)).order_by(User.extension))
    host, port = _host()
    return web.render("devices.tpl", title=_("Devices"), active="devices", devices=devices, users=users,
                      prov=service.settings_public(), prov_url=provisioning_url(host, port),
                      vendors=VENDORS, contacts=service.list_contacts(), edge_down=regs is None,
                      firmware=firmware.list_firmware(), see_secrets=_may_see_secrets(),
                      scripts=("api.js", "devices.js"))


# -- OpenAPI -------------------------------------------------------------------------------------

_MAC = [{"name": "mac", "in": "path", "required": True, "schema": {"type": "string"},
         "description": "the device's MAC address (any usual notation)"}]
OPENAPI_PATHS = {
    PREFIX: {
        "get": {"summary": "Every device (phone) found by its provisioning requests or added by MAC",
                "responses": {"200": _ok({"type": "array", "items": _ref("Device")}, "Devices"),
                              **_errors("401", "403")}},
        "post": {"summary": "Add a device by its MAC (semi-automatic provisioning); to holders of "
                            "users.reveal_sip (administrators) it answers its provisioning password once and its "
                            "provisioning link; trusted_ranges may be set only by them (else 403 on the field)",
                 "requestBody": _body(_ref("DeviceCreate")),
                 "responses": {"201": _ok(_ref("Device"), "Added"), **_errors("400", "401", "403", "413", "415")}},
    },
    f"{PREFIX}/{{mac}}": {
        "parameters": _MAC,
        "get": {"summary": "One device, with its provisioning link for holders of users.reveal_sip "
                           "(the link serves the config holding the user's SIP password)",
                "responses": {"200": _ok(_ref("Device"), "Device"), **_errors("401", "403", "404")}},
        "put": {"summary": "Assign to a user (user: extension) or unassign (user: null), label, trusted ranges "
                           "(trusted_ranges: holders of users.reveal_sip only, else 403 on the field)",
                "requestBody": _body(_ref("DeviceUpdate")),
                "responses": {"200": _ok(_ref("Device"), "Changed"),
                              **_errors("400", "401", "403", "404", "409", "413", "415")}},
        "delete": {"summary": "Forget a device", "responses": {"204": {"description": "Deleted"},
                                                              **_errors("401", "403", "404")}},
    },
    f"{PREFIX}/{{mac}}/password": {
        "parameters": _MAC,
        "post": {"summary": "New provisioning password (shown once in provisioning_password); needs "
                            "users.reveal_sip",
                 "responses": {"200": _ok(_ref("Device"), "Reset"), **_errors("401", "403", "404")}},
    },
    f"{PREFIX}/{{mac}}/link": {
        "parameters": _MAC,
        "post": {"summary": "New provisioning link (the old one stops working); needs users.reveal_sip",
                 "responses": {"200": _ok(_ref("Device"), "Reset"), **_errors("401", "403", "404")}},
    },
    f"{PREFIX}/{{mac}}/actions": {
        "parameters": _MAC,
        "post": {"summary": "Re-provision (resync) or reboot the phone: a SIP NOTIFY with its vendor's event to "
                            "its registered contact (409 if it is not registered)",
                 "requestBody": _body({"type": "object", "required": ["action"], "properties": {
                     "action": {"type": "string", "enum": ["resync", "reboot"]}}}),
                 "responses": {"200": _ok({"type": "object", "properties": {
                     "action": {"type": "string"}, "event": {"type": "string"}, "sent": {"type": "integer"}}},
                     "Sent"), **_errors("400", "401", "403", "404", "409", "415", "503")}},
    },
    "/api/v1/provisioning": {
        "get": {"summary": "Provisioning settings: the URL for DHCP option 66, the auto-add window, codecs",
                "responses": {"200": _ok(_ref("ProvisioningSettings"), "Settings"), **_errors("401", "403")}},
        "put": {"summary": "Open auto-add for 2 hours (auto_add: true) or close it; codec order",
                "requestBody": _body({"type": "object", "additionalProperties": False, "properties": {
                    "auto_add": {"type": "boolean"},
                    "codecs": {"type": "array", "items": {"type": "string",
                                                          "enum": ["G722", "PCMA", "PCMU", "G729", "OPUS"]}}}}),
                "responses": {"200": _ok(_ref("ProvisioningSettings"), "Settings"),
                              **_errors("400", "401", "403", "413", "415")}},
    },
    "/api/v1/phonebook/contacts": {
        "get": {"summary": "Outside contacts of the company phonebook (users are in it by themselves)",
                "responses": {"200": _ok({"type": "array", "items": _ref("PhonebookContact")}, "Contacts"),
                              **_errors("401", "403")}},
        "post": {"summary": "Add a contact to the company phonebook",
                 "requestBody": _body(_ref("PhonebookContact")),
                 "responses": {"201": _ok(_ref("PhonebookContact"), "Added"),
                               **_errors("400", "401", "403", "413", "415")}},
    },
    "/api/v1/phonebook/contacts/{cid}": {
        "parameters": [{"name": "cid", "in": "path", "required": True, "schema": {"type": "integer"}}],
        "delete": {"summary": "Remove a contact", "responses": {"204": {"description": "Deleted"},
                                                               **_errors("401", "403", "404")}},
    },
}

OPENAPI_PATHS[FIRMWARE] = {
    "get": {"summary": "Firmware files uploaded per vendor/model (offered to the matching phones)",
            "responses": {"200": _ok({"type": "array", "items": _ref("Firmware")}, "Firmware"),
                          **_errors("401", "403")}},
    "post": {"summary": "Upload a firmware file for one vendor/model (replaces the previous one)",
             "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
                 "type": "object", "required": ["file", "vendor", "model"], "properties": {
                     "file": {"type": "string", "format": "binary"}, "vendor": {"type": "string"},
                     "model": {"type": "string"}, "version": {"type": "string"}}}}}},
             "responses": {"201": _ok(_ref("Firmware"), "Uploaded"), **_errors("400", "401", "403", "413", "415")}},
}
OPENAPI_PATHS[f"{FIRMWARE}/{{fid}}"] = {
    "parameters": [{"name": "fid", "in": "path", "required": True, "schema": {"type": "integer"}}],
    "delete": {"summary": "Delete a firmware file", "responses": {"204": {"description": "Deleted"},
                                                                  **_errors("401", "403", "404")}},
}

OPENAPI_SCHEMAS = {
    "Firmware": {"type": "object", "properties": {
        "id": {"type": "integer"}, "vendor": {"type": "string"}, "model": {"type": "string"},
        "version": {"type": "string"}, "filename": {"type": "string"}, "size_bytes": {"type": "integer"},
        "sha256": {"type": "string"}, "uploaded_at": {"type": "string", "format": "date-time"}}},
    "Device": {"type": "object", "properties": {
        "mac": {"type": "string", "description": "12 lower-case hex digits"}, "mac_display": {"type": "string"},
        "vendor": {"type": "string"}, "vendor_name": {"type": "string"}, "model": {"type": "string"},
        "firmware": {"type": "string"}, "ip": {"type": "string"},
        "last_seen": {"type": "string", "format": "date-time", "nullable": True},
        "last_file": {"type": "string"},
        "user": {"type": "string", "nullable": True, "description": "the assigned user's extension"},
        "user_name": {"type": "string", "nullable": True}, "label": {"type": "string"},
        "added_by": {"type": "string", "enum": ["auto", "manual"]},
        "trusted_ranges": {"type": "array", "items": {"type": "string"}},
        "provisioning_username": {"type": "string"},
        "provisioning_password": {"type": "string", "description": "only right after it was (re)set, only to "
                                                                   "holders of users.reveal_sip"},
        "provisioning_link": {"type": "string", "description": "one device's link (GET one, POST), only to "
                                                               "holders of users.reveal_sip"},
        "credentials_delivered": {"type": "boolean"},
        "registered": {"type": "boolean", "nullable": True, "description": "null: the SIP edge is unreachable"},
        "created_at": {"type": "string", "format": "date-time"}, "revision": {"type": "integer"}}},
    "DeviceCreate": {"type": "object", "required": ["mac"], "additionalProperties": False, "properties": {
        "mac": {"type": "string"}, "vendor": {"type": "string", "enum": [v.key for v in VENDORS]},
        "model": {"type": "string"}, "user": {"type": "string", "nullable": True}, "label": {"type": "string"},
        "trusted_ranges": {"type": "array", "items": {"type": "string"}}}},
    "DeviceUpdate": {"type": "object", "additionalProperties": False, "properties": {
        "user": {"type": "string", "nullable": True}, "label": {"type": "string"},
        "trusted_ranges": {"type": "array", "items": {"type": "string"}}, "revision": {"type": "integer"}}},
    "ProvisioningSettings": {"type": "object", "properties": {
        "provisioning_url": {"type": "string"}, "auto_add_open": {"type": "boolean"},
        "auto_add_until": {"type": "string", "format": "date-time", "nullable": True},
        "codecs": {"type": "array", "items": {"type": "string"}}, "revision": {"type": "integer"}}},
    "PhonebookContact": {"type": "object", "required": ["name", "number"], "properties": {
        "id": {"type": "integer", "readOnly": True}, "name": {"type": "string"}, "company": {"type": "string"},
        "number": {"type": "string"}, "mobile": {"type": "string"}}},
}
