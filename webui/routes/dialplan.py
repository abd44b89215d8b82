"""Dialplan: procedures (list, editor with drag-to-reorder), the applications catalogue, and the debug trace.

Pages are thin: the procedure editor (static/dialplan.js) reads and saves
through the same /api/v1/dialplan/ resources as any API client, so a
validation error reads the same in both and names the field.
"""

from __future__ import annotations

import bottle

from appliance.cdr import queries
from appliance.cdr.models import Cdr
from appliance.dialplan import apps, procedures, trace
from appliance.errors import NotFound
from webui import web
from webui.openapi import error_responses as _errors
from webui.openapi import json_body as _body
from webui.openapi import json_response as _ok
from webui.openapi import ref as _ref
from webui.web import _

PREFIX = "/api/v1/dialplan"
DEBUG_RECENT = 100


def register(app: bottle.Bottle) -> None:
    r = app.route
    r("/dialplan", "GET", procedures_page, perm="dialplan.read")
    r("/dialplan/procedures/<name>", "GET", procedure_page, perm="dialplan.read")
    r("/dialplan/debug", "GET", debug_page, perm="dialplan.read")
    r("/dialplan/debug/<call_id:path>", "GET", debug_call_page, perm="dialplan.read")
    r(f"{PREFIX}/procedures", "GET", api_list, perm="dialplan.read")
    r(f"{PREFIX}/procedures", "POST", api_create, perm="dialplan.manage")
    r(f"{PREFIX}/procedures/<name>", "GET", api_get, perm="dialplan.read")
    r(f"{PREFIX}/procedures/<name>", "PUT", api_update, perm="dialplan.manage")
    r(f"{PREFIX}/procedures/<name>", "DELETE", api_delete, perm="dialplan.manage")
    r(f"{PREFIX}/applications", "GET", api_applications, perm="dialplan.read")
    r(f"{PREFIX}/choices", "GET", api_choices, perm="dialplan.read")
    r(f"{PREFIX}/traces", "GET", api_traces, perm="dialplan.read")
    r(f"{PREFIX}/traces/<call_id:path>", "GET", api_trace, perm="dialplan.read")


# -- API --------------------------------------------------------------------------------
def api_list():
    return web.json_body([procedures.to_public(p) for p in procedures.list_procedures()])


def api_create():
    proc = procedures.create_procedure(web.read_json_object())
    bottle.response.set_header("Location", f"{PREFIX}/procedures/{proc.name}")
    return web.json_body(procedures.to_public(proc), 201)


def api_get(name: str):
    return web.json_body(procedures.to_public(procedures.get_procedure(name)))


def api_update(name: str):
    return web.json_body(procedures.to_public(procedures.update_procedure(name, web.read_json_object())))


def api_delete(name: str):
    procedures.delete_procedure(name)
    bottle.response.status = 204
    return ""


def api_applications():
    """The catalogue, its labels and help in the reader's language."""
    described = apps.describe()
    for spec in described:
        spec["label"], spec["help"] = _(spec["label"]), _(spec["help"]) if spec["help"] else ""
        for option in spec["options"]:
            option["label"], option["help"] = _(option["label"]), _(option["help"]) if option["help"] else ""
    return web.json_body(described)


def choices() -> dict:
    """Names of every object an application option may point at (the editor's drop-down lists)."""
    from appliance.dialplan.models import CallGroup, Ivr, Procedure, Switch, TimeRange
    from appliance.sounds.models import MohClass, Sound
    from appliance.users.models import User

    def names(model):
        return [row.name for row in model.select(model.name).order_by(model.name)]

    return {
        "procedure": names(Procedure), "sound": [s.name for s in Sound.select().where(Sound.kind == "prompt")
                                                  .order_by(Sound.name)],
        "moh_class": names(MohClass), "call_group": names(CallGroup), "ivr": names(Ivr),
        "switch": names(Switch), "time_range": names(TimeRange),
        "extension": [{"extension": u.extension, "name": u.display_name}
                      for u in User.select().where(User.extension.is_null(False)).order_by(User.extension)],
    }


def api_choices():
    return web.json_body(choices())


def recent_calls(limit: int = DEBUG_RECENT) -> list[dict]:
    """Calls in progress first, then the latest finished ones, each saying whether a trace exists."""
    live = queries.in_progress()
    done = list(Cdr.select().where(Cdr.end.is_null(False)).order_by(Cdr.start.desc()).limit(limit))
    return [{**queries.to_public(c), "live": c.end is None} for c in live + done]


def api_traces():
    return web.json_body(recent_calls())


def api_trace(call_id: str):
    steps = trace.read(web.settings(), call_id)
    if steps is None:
        raise NotFound("trace of call", call_id)
    cdr = Cdr.get_or_none(Cdr.call_id == call_id)
    return web.json_body({"call_id": call_id, "live": cdr is not None and cdr.end is None, "steps": steps})


# -- pages ------------------------------------------------------------------------------
def procedures_page():
    return web.render("dialplan.tpl", title=_("Dialplan"), active="dialplan",
                      procedures=procedures.list_procedures(), scripts=("api.js", "dialplan.js"))


def procedure_page(name: str):
    proc = procedures.get_procedure(name)
    return web.render("procedure.tpl", title=_("Procedure") + " " + proc.name, active="dialplan", proc=proc,
                      scripts=("api.js", "dialplan.js"))


def debug_page():
    return web.render("debug.tpl", title=_("Debug"), active="dialplan", calls=recent_calls(), refresh=5)


def debug_call_page(call_id: str):
    steps = trace.read(web.settings(), call_id)
    if steps is None:
        raise NotFound("trace of call", call_id)
    cdr = Cdr.get_or_none(Cdr.call_id == call_id)
    live = cdr is not None and cdr.end is None
    return web.render("debug_call.tpl", title=_("Debug") + " " + call_id, active="dialplan", call_id=call_id,
                      cdr=cdr, steps=steps, live=live, refresh=2 if live else 0)


# -- OpenAPI ----------------------------------------------------------------------------




_NAME = [{"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}]
_CALL = [{"name": "call_id", "in": "path", "required": True, "schema": {"type": "string"}}]

OPENAPI_PATHS = {
    f"{PREFIX}/procedures": {
        "get": {"summary": "Every procedure", "responses": {
            "200": _ok({"type": "array", "items": _ref("Procedure")}, "Procedures"), **_errors("401", "403")}},
        "post": {"summary": "Create a procedure", "requestBody": _body(_ref("ProcedureWrite")), "responses": {
            "201": _ok(_ref("Procedure"), "Created"), **_errors("400", "401", "403", "413", "415")}},
    },
    f"{PREFIX}/procedures/{{name}}": {
        "parameters": _NAME,
        "get": {"summary": "One procedure", "responses": {"200": _ok(_ref("Procedure"), "Procedure"),
                                                          **_errors("401", "403", "404")}},
        "put": {"summary": "Change a procedure (fields given are replaced whole; send the revision you read)",
                "requestBody": _body(_ref("ProcedureWrite")),
                "responses": {"200": _ok(_ref("Procedure"), "Changed"),
                              **_errors("400", "401", "403", "404", "409", "413", "415")}},
        "delete": {"summary": "Delete a procedure (refused while used or a default one)",
                   "responses": {"204": {"description": "Deleted"}, **_errors("401", "403", "404", "409")}},
    },
    f"{PREFIX}/applications": {"get": {
        "summary": "The dialplan applications and their options (type, range, choices)",
        "responses": {"200": _ok({"type": "array", "items": {"type": "object"}}, "Applications"),
                      **_errors("401", "403")}}},
    f"{PREFIX}/choices": {"get": {
        "summary": "Names of the objects options may name (procedures, sounds, groups, IVRs, switches...)",
        "responses": {"200": _ok({"type": "object"}, "Names by option type"), **_errors("401", "403")}}},
    f"{PREFIX}/traces": {"get": {
        "summary": "Calls in progress and the latest calls, whose dialplan trace can be read",
        "responses": {"200": _ok({"type": "array", "items": _ref("Cdr")}, "Calls"), **_errors("401", "403")}}},
    f"{PREFIX}/traces/{{call_id}}": {"parameters": _CALL, "get": {
        "summary": "The dialplan trace of one call (live while it lasts)",
        "responses": {"200": _ok(_ref("Trace"), "Steps"), **_errors("401", "403", "404")}}},
}

_APP = {"type": "object", "required": ["app"], "properties": {"app": {"type": "string"}},
        "additionalProperties": True, "description": "An application and its options "
                                                     "(GET /api/v1/dialplan/applications lists them)"}
_NUMBER = {"type": "object", "required": ["number"], "additionalProperties": False, "properties": {
    "number": {"type": "string", "description": "exact number, pattern (X Z N [..] . !) or 'default'"},
    "comment": {"type": "string", "maxLength": 255},
    "apps": {"type": "array", "items": _APP, "maxItems": 50}}}

OPENAPI_SCHEMAS = {
    "Procedure": {"type": "object", "properties": {
        "name": {"type": "string"}, "description": {"type": "string"},
        "includes": {"type": "array", "items": {"type": "string"}},
        "numbers": {"type": "array", "items": _NUMBER},
        "generated": {"type": "boolean", "description": "internal: made from users and feature codes, read-only"},
        "revision": {"type": "integer"}}},
    "ProcedureWrite": {"type": "object", "additionalProperties": False, "properties": {
        "name": {"type": "string", "pattern": "^[a-z0-9][a-z0-9_-]{0,63}$", "description": "POST only"},
        "description": {"type": "string", "maxLength": 255},
        "includes": {"type": "array", "items": {"type": "string"}, "maxItems": 20},
        "numbers": {"type": "array", "items": _NUMBER, "maxItems": 500},
        "revision": {"type": "integer", "description": "PUT only: the revision you read"}}},
    "Trace": {"type": "object", "properties": {
        "call_id": {"type": "string"}, "live": {"type": "boolean"},
        "steps": {"type": "array", "items": {"type": "object", "properties": {
            "ms": {"type": "integer", "description": "since the call reached the dialplan"},
            "at": {"type": "string", "format": "date-time"},
            "event": {"type": "string", "enum": ["start", "match", "no_match", "app", "result", "ivr", "goto",
                                                 "loop", "error", "end"]}},
            "additionalProperties": True}}}},
}
