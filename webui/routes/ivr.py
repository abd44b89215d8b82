"""IVR trees: the list, the tree editor (static/ivr.js) and /api/v1/dialplan/ivrs.

The editor reads and saves through the same API as any client, so a
validation error names the same dotted field ("tree.children.1.procedure")
and the editor shows it at that node.
"""

from __future__ import annotations

import json

import bottle

from appliance.dialplan import ivr
from webui import web
from webui.openapi import error_responses as _errors
from webui.openapi import json_body as _body
from webui.openapi import json_response as _ok
from webui.openapi import ref as _ref
from webui.permissions import allowed
from webui.web import _

PREFIX = "/api/v1/dialplan/ivrs"


def register(app: bottle.Bottle) -> None:
    r = app.route
    r("/dialplan/ivr", "GET", list_page, perm="dialplan.read")
    r("/dialplan/ivr/<name>", "GET", edit_page, perm="dialplan.read")
    r(PREFIX, "GET", api_list, perm="dialplan.read")
    r(PREFIX, "POST", api_create, perm="dialplan.manage")
    r(f"{PREFIX}/<name>", "GET", api_get, perm="dialplan.read")
    r(f"{PREFIX}/<name>", "PUT", api_update, perm="dialplan.manage")
    r(f"{PREFIX}/<name>", "DELETE", api_delete, perm="dialplan.manage")


# -- API --------------------------------------------------------------------------------
def api_list():
    return web.json_body([ivr.to_public(row) for row in ivr.list_ivrs()])


def api_create():
    row = ivr.create_ivr(web.read_json_object(ivr.FIELDS))
    bottle.response.set_header("Location", f"{PREFIX}/{row.name}")
    return web.json_body(ivr.to_public(row), 201)


def api_get(name: str):
    return web.json_body(ivr.to_public(ivr.get_ivr(name)))


def api_update(name: str):
    return web.json_body(ivr.to_public(ivr.update_ivr(name, web.read_json_object(ivr.FIELDS))))


def api_delete(name: str):
    ivr.delete_ivr(name)
    bottle.response.status = 204
    return ""


# -- pages ------------------------------------------------------------------------------
def list_page():
    rows = [ivr.to_public(row) for row in ivr.list_ivrs()]
    for row in rows:
        row["nodes"] = sum(1 for _ in ivr.walk(row["tree"]))
    return web.render("ivr_list.tpl", title=_("IVR"), active="dialplan", ivrs=rows, scripts=("api.js", "ivr.js"))


def _choices() -> dict:
    from appliance.dialplan.models import Procedure
    from appliance.sounds.models import Sound

    return {"sounds": [s.name for s in Sound.select(Sound.name).where(Sound.kind == "prompt").order_by(Sound.name)],
            "procedures": [p.name for p in Procedure.select(Procedure.name).order_by(Procedure.name)]}


def editor_texts() -> dict:
    """The editor's words, translated here (the script has no catalog)."""
    words = {
        "menu": _("Sub-menu"), "action": _("Action"), "dial_by_name": _("Dial by name"), "root": _("Root"),
        "type": _("Node type"), "label": _("Label"), "sound": _("Prompt (sound)"), "none": _("(none)"),
        "system_prompt": _("(system prompt)"), "repeats": _("Repetitions"), "timeout_s": _("Timeout (s)"),
        "name_timeout_s": _("Seconds between keys"), "return_key": _("Return key"),
        "direct_dial": _("Callers may dial an extension while the prompt plays"),
        "direct_dial_procedure": _("Procedure for dialled extensions"),
        "internal_default": _("(internal: ring the user)"),
        "on_timeout": _("After the timeout"), "on_timeout_none": _("(say goodbye and hang up)"),
        "on_timeout_name": _("After the attempts"), "on_timeout_name_none": _("(back to the parent menu)"),
        "on_invalid": _("On an invalid key"), "on_invalid_none": _("(say 'invalid choice' and repeat)"),
        "procedure": _("Procedure"), "number": _("Called number"), "number_hint": _("Empty: keep the called number"),
        "attempts": _("Attempts"), "first_names": _("Also match first names"),
        "name_procedure": _("Procedure for the chosen user's extension"),
        "add_child": _("Add a sub-node"), "key": _("Key"), "add": _("Add"), "delete_node": _("Delete this node"),
        "confirm_delete_node": _("Delete this node and everything under it?"),
        "confirm_type": _("Changing the type removes the sub-nodes of this node. Go on?"),
        "no_free_key": _("Every key is used."), "saved": _("Saved."), "unsaved": _("Unsaved changes"),
        "select_procedure": _("(choose a procedure)"), "node_has_error": _("This node has an error"),
        "description": _("Description"),
    }
    return words


def edit_page(name: str):
    row = ivr.get_ivr(name)
    user = web.current_user()
    data = {"ivr": ivr.to_public(row), "keys": ivr.KEYS, "name_return_keys": list(ivr.NAME_RETURN_KEYS),
            "defaults": ivr.DEFAULTS, "limits": {"repeats": ivr.REPEATS, "timeout_s": ivr.MENU_TIMEOUT,
                                                 "name_timeout_s": ivr.NAME_TIMEOUT, "attempts": ivr.ATTEMPTS},
            "editable": user is not None and allowed(user.role, "dialplan.manage"),
            "texts": editor_texts(), **_choices()}
    # Inside <script type="application/json">: nothing may close the element early.
    payload = json.dumps(data, ensure_ascii=False).replace("<", "\\u003c").replace(">", "\\u003e")
    return web.render("ivr_edit.tpl", title=_("IVR") + " " + row.name, active="dialplan", ivr_row=row,
                      payload=payload, scripts=("api.js", "ivr.js"))


# -- OpenAPI ----------------------------------------------------------------------------




OPENAPI_PATHS = {
    PREFIX: {
        "get": {"summary": "Every IVR tree", "responses": {
            "200": _ok({"type": "array", "items": _ref("Ivr")}, "IVRs"), **_errors("401", "403")}},
        "post": {"summary": "Create an IVR (without a tree: an empty root menu)",
                 "requestBody": _body(_ref("IvrWrite")), "responses": {
                     "201": _ok(_ref("Ivr"), "Created"), **_errors("400", "401", "403", "413", "415")}},
    },
    f"{PREFIX}/{{name}}": {
        "parameters": [{"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}],
        "get": {"summary": "One IVR with its tree", "responses": {
            "200": _ok(_ref("Ivr"), "IVR"), **_errors("401", "403", "404")}},
        "put": {"summary": "Change the description and/or the whole tree (send the revision you read: 409 if "
                           "someone saved in between). A 400 names the node's field, e.g. "
                           "tree.children.1.procedure",
                "requestBody": _body(_ref("IvrWrite")), "responses": {
                    "200": _ok(_ref("Ivr"), "Saved"), **_errors("400", "401", "403", "404", "409", "413", "415")}},
        "delete": {"summary": "Delete an IVR (409 naming the procedures still using it)",
                   "responses": {"204": {"description": "Deleted"}, **_errors("401", "403", "404", "409")}},
    },
}

_TARGET = {"type": "object", "additionalProperties": False, "properties": {
    "procedure": {"type": "string", "description": "a procedure name; empty = the default behaviour"},
    "number": {"type": "string", "pattern": "^[0-9*#+]{0,32}$",
               "description": "new called number in that procedure; empty = keep the called number"}}}
_KEY = {"type": "string", "enum": list(ivr.KEYS)}

OPENAPI_SCHEMAS = {
    "Ivr": {"type": "object", "properties": {
        "name": {"type": "string"}, "description": {"type": "string"}, "tree": _ref("IvrNode"),
        "revision": {"type": "integer"}, "updated_at": {"type": "string", "format": "date-time"},
        "used_by": {"type": "array", "items": {"type": "string"},
                    "description": "procedures whose applications run this IVR"}}},
    "IvrWrite": {"type": "object", "additionalProperties": False, "properties": {
        "name": {"type": "string", "pattern": "^[a-z0-9][a-z0-9_-]{0,63}$", "description": "POST only"},
        "description": {"type": "string", "maxLength": 255},
        "tree": _ref("IvrNode"),
        "revision": {"type": "integer", "description": "PUT only: the revision you read"}}},
    "IvrNode": {
        "type": "object", "required": ["type"],
        "description": (
            "One node of an IVR tree (stored with every field filled in). menu: plays `sound`, waits "
            "`timeout_s` for a key, `repeats` times, then `on_timeout` (default: goodbye); `children` by key; "
            "`return_key` goes back to the parent (not on the root); with `direct_dial` callers may dial an "
            "extension while the prompt plays (to `direct_dial_procedure`, default internal). action: ends the "
            "IVR into `procedure` with an optional called `number`. dial_by_name: the caller types a surname "
            "on the keypad (2=ABC ... 9=WXYZ, at least 3 keys, then #); one match is connected, 2-9 are "
            "offered as a list. Limits: 8 levels, 200 nodes."),
        "properties": {
            "type": {"type": "string", "enum": list(ivr.NODE_TYPES)},
            "label": {"type": "string", "maxLength": ivr.LABEL_MAX},
            "sound": {"type": "string", "description": "menu, dial_by_name: a prompt Sound name"},
            "repeats": {"type": "integer", "minimum": ivr.REPEATS[0], "maximum": ivr.REPEATS[1], "default": 3},
            "timeout_s": {"type": "integer", "minimum": 1, "maximum": ivr.MENU_TIMEOUT[1], "default": 5,
                          "description": f"menu: up to {ivr.MENU_TIMEOUT[1]}; dial_by_name: up to "
                                         f"{ivr.NAME_TIMEOUT[1]}"},
            "return_key": {"type": "string", "enum": ["", *ivr.KEYS]},
            "direct_dial": {"type": "boolean", "default": False},
            "direct_dial_procedure": {"type": "string"},
            "on_timeout": _TARGET, "on_invalid": _TARGET,
            "children": {"type": "object", "propertyNames": _KEY, "additionalProperties": _ref("IvrNode")},
            "procedure": {"type": "string", "description": "action (required), dial_by_name (default internal)"},
            "number": {"type": "string", "pattern": "^[0-9*#+]{0,32}$"},
            "attempts": {"type": "integer", "minimum": ivr.ATTEMPTS[0], "maximum": ivr.ATTEMPTS[1], "default": 3},
            "first_names": {"type": "boolean", "default": False},
        }},
}
