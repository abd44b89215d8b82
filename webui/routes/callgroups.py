"""Call groups: the list, the add/edit form with ordered members, delete; and /api/v1/dialplan/call-groups.

The form works without JavaScript: moving a member up or down, removing or
adding one submits the form and comes back with the change (nothing is saved
until "Save"). callgroups.js moves rows in place instead and adds drag and drop.
"""

from __future__ import annotations

import bottle

from appliance.dialplan import callgroups
from appliance.dialplan.models import Procedure
from appliance.errors import Conflict, ValidationError
from appliance.users.models import User
from webui import web
from webui.openapi import error_responses as _errors
from webui.openapi import json_body as _body
from webui.openapi import json_response as _json
from webui.openapi import ref as _ref
from webui.web import _

PREFIX = "/api/v1/dialplan/call-groups"
PAGE = "/dialplan/groups"
FORM_FIELDS = ("name", "description", "strategy", "ring_seconds", "member_ring_seconds", "no_answer_procedure",
               "no_answer_number")


def register(app: bottle.Bottle) -> None:
    r = app.route
    r(PAGE, "GET", groups_page, perm="dialplan.read")
    r(f"{PAGE}/new", "GET", new_form, perm="dialplan.manage")
    r(f"{PAGE}/new", "POST", create, perm="dialplan.manage")
    r(f"{PAGE}/<name>/edit", "GET", edit_form, perm="dialplan.manage")
    r(f"{PAGE}/<name>/edit", "POST", edit, perm="dialplan.manage")
    r(f"{PAGE}/<name>/delete", "GET", delete_confirm, perm="dialplan.manage")
    r(f"{PAGE}/<name>/delete", "POST", delete, perm="dialplan.manage")
    r(PREFIX, "GET", api_list, perm="dialplan.read")
    r(PREFIX, "POST", api_create, perm="dialplan.manage")
    r(f"{PREFIX}/<name>", "GET", api_get, perm="dialplan.read")
    r(f"{PREFIX}/<name>", "PUT", api_update, perm="dialplan.manage")
    r(f"{PREFIX}/<name>", "DELETE", api_delete, perm="dialplan.manage")


# -- pages ---------------------------------------------------------------------------------------

def _people() -> dict[str, str]:
    """extension -> display name, in extension order."""
    return {u.extension: u.display_name
            for u in User.select().where(User.extension.is_null(False)).order_by(User.extension)}


def _strategy_labels() -> dict[str, str]:
    return {key: _(label) for key, label in callgroups.STRATEGY_LABELS.items()}


def groups_page():
    query = bottle.request.query
    notice = ""
    for key, text in (("created", _("Call group {name} created.")), ("saved", _("Call group {name} saved.")),
                      ("deleted", _("Call group {name} deleted."))):
        if query.get(key):
            notice = text.format(name=query.getunicode(key, ""))
    return web.render("callgroups.tpl", title=_("Call groups"), active="dialplan", groups=callgroups.list_groups(),
                      people=_people(), strategies=_strategy_labels(), notice=notice)


def _form_page(status: int, mode: str, values: dict, errors: dict | None = None, name: str = "",
               revision: str = "") -> str:
    title = _("New call group") if mode == "new" else _("Edit call group {name}").format(name=name)
    procedures = [p.name for p in Procedure.select(Procedure.name).order_by(Procedure.name)]
    return web.render("callgroups_form.tpl", status=status, title=title, active="dialplan", mode=mode,
                      values=values, errors=errors or {}, group_name=name, revision=revision, people=_people(),
                      strategies=_strategy_labels(), procedures=procedures, scripts=("orderedlist.js", "callgroups.js"),
                      limits={"group": (callgroups.GROUP_RING_MIN, callgroups.GROUP_RING_MAX),
                              "member": (callgroups.MEMBER_RING_MIN, callgroups.MEMBER_RING_MAX),
                              "members": callgroups.MEMBERS_MAX})


def _values_of(group) -> dict:
    return {"name": group.name, "description": group.description, "strategy": group.strategy,
            "ring_seconds": str(group.ring_seconds), "member_ring_seconds": str(group.member_ring_seconds),
            "no_answer_procedure": group.no_answer_procedure, "no_answer_number": group.no_answer_number,
            "record": bool(group.record),
            "members": [{"extension": m["extension"],
                         "ring_seconds": "" if m.get("ring_seconds") is None else str(m["ring_seconds"])}
                        for m in group.members]}


def _submitted() -> dict:
    form = web.form()
    values = {field: web.form_text(field).strip() for field in FORM_FIELDS}
    values["record"] = web.form_text("record") == "on"
    extensions = [e.strip() for e in form.getall("member") if isinstance(e, str)]
    rings = [r.strip() for r in form.getall("member_ring") if isinstance(r, str)]
    rings += [""] * (len(extensions) - len(rings))
    values["members"] = [{"extension": e, "ring_seconds": r} for e, r in zip(extensions, rings, strict=False)]
    return values


def _apply_action(values: dict, action: str) -> bool:
    """Edit the members for an up/down/remove/add button; False when the action is "save"."""
    new = {"extension": web.form_text("add_member").strip(), "ring_seconds": ""}
    return web.move_row(values["members"], action, "extension", new)


def _data_of(values: dict, with_name: bool) -> dict:
    data = {field: values[field] for field in FORM_FIELDS if field != "name"}
    data["record"] = bool(values.get("record"))
    if with_name:
        data["name"] = values["name"]
    data["members"] = [{"extension": m["extension"], "ring_seconds": m["ring_seconds"] or None}
                       for m in values["members"]]
    return data


def _errors_for(exc: ValidationError | Conflict) -> dict:
    field = exc.field
    known = field in FORM_FIELDS or field == "members" or field.startswith("members.")
    return {field if known else "_form": web.message_for(exc)}


def new_form():
    values = {"name": "", "description": "", "strategy": "ring_all",
              "ring_seconds": str(callgroups.CallGroup.ring_seconds.default),
              "member_ring_seconds": str(callgroups.CallGroup.member_ring_seconds.default),
              "no_answer_procedure": "", "no_answer_number": "", "record": False, "members": []}
    return _form_page(200, "new", values)


def create():
    values = _submitted()
    if _apply_action(values, web.form_text("action")):
        return _form_page(200, "new", values)
    try:
        group = callgroups.create_group(_data_of(values, with_name=True))
    except ValidationError as exc:
        return _form_page(400, "new", values, _errors_for(exc))
    return bottle.redirect(f"{PAGE}?" + bottle.urlencode({"saved": group.name}), 303)


def edit_form(name: str):
    group = callgroups.get_group(name)
    return _form_page(200, "edit", _values_of(group), name=group.name, revision=str(group.revision))


def edit(name: str):
    group = callgroups.get_group(name)
    values = _submitted()
    values["name"] = group.name
    revision = web.form_text("revision")
    if _apply_action(values, web.form_text("action")):
        return _form_page(200, "edit", values, name=group.name, revision=revision)
    data = _data_of(values, with_name=False)
    try:
        web.apply_revision(data, revision)
        callgroups.update_group(group.name, data)
    except Conflict as exc:
        return _form_page(409, "edit", values, _errors_for(exc), name=group.name, revision=revision)
    except ValidationError as exc:
        return _form_page(400, "edit", values, _errors_for(exc), name=group.name, revision=revision)
    return bottle.redirect(f"{PAGE}?" + bottle.urlencode({"saved": group.name}), 303)


def delete_confirm(name: str):
    group = callgroups.get_group(name)
    return web.render("callgroups_delete.tpl", title=_("Delete call group {name}").format(name=group.name),
                      active="dialplan", group=group)


def delete(name: str):
    group = callgroups.get_group(name)
    try:
        callgroups.delete_group(group.name)
    except Conflict as exc:
        return web.render("callgroups_delete.tpl", status=409,
                          title=_("Delete call group {name}").format(name=group.name), active="dialplan",
                          group=group, errors={"_form": web.message_for(exc)})
    return bottle.redirect(f"{PAGE}?" + bottle.urlencode({"deleted": group.name}), 303)


# -- API -------------------------------------------------------------------------------------------

def api_list():
    return web.json_body([callgroups.to_public(g) for g in callgroups.list_groups()])


def api_create():
    group = callgroups.create_group(web.read_json_object())
    bottle.response.set_header("Location", f"{PREFIX}/{group.name}")
    return web.json_body(callgroups.to_public(group), 201)


def api_get(name: str):
    return web.json_body(callgroups.to_public(callgroups.get_group(name)))


def api_update(name: str):
    group = callgroups.update_group(name, web.read_json_object())
    return web.json_body(callgroups.to_public(group))


def api_delete(name: str):
    callgroups.delete_group(name)
    bottle.response.status = 204
    return ""


# -- OpenAPI -----------------------------------------------------------------------------------------





_NAME_PARAM = [{"name": "name", "in": "path", "required": True,
                "schema": {"type": "string", "pattern": "^[a-z0-9][a-z0-9_-]{0,63}$"}}]

OPENAPI_PATHS = {
    PREFIX: {
        "get": {"summary": "List call groups (members in ringing order, with their live counters)",
                "tags": ["dialplan"],
                "responses": {"200": _json({"type": "array", "items": _ref("CallGroup")}, "Call groups"),
                              **_errors("401", "403")}},
        "post": {"summary": "Create a call group",
                 "tags": ["dialplan"],
                 "requestBody": _body(_ref("CallGroupCreate")),
                 "responses": {"201": _json(_ref("CallGroup"), "Created (Location: the group's URL)"),
                               **_errors("400", "401", "403", "413", "415")}},
    },
    f"{PREFIX}/{{name}}": {
        "parameters": _NAME_PARAM,
        "get": {"summary": "One call group", "tags": ["dialplan"],
                "responses": {"200": _json(_ref("CallGroup"), "The group"), **_errors("401", "403", "404")}},
        "put": {"summary": "Change some fields of a call group (the name never changes); a stale revision "
                           "gets 409", "tags": ["dialplan"],
                "requestBody": _body(_ref("CallGroupWrite")),
                "responses": {"200": _json(_ref("CallGroup"), "Saved"),
                              **_errors("400", "401", "403", "404", "409", "413", "415")}},
        "delete": {"summary": "Delete a call group; 409 naming where it is still used", "tags": ["dialplan"],
                   "responses": {"204": {"description": "Deleted"}, **_errors("401", "403", "404", "409")}},
    },
}

_MEMBER = {
    "oneOf": [
        {"type": "object", "required": ["extension"], "additionalProperties": False, "properties": {
            "extension": {"type": "string", "description": "an existing user's extension"},
            "ring_seconds": {"type": "integer", "minimum": callgroups.MEMBER_RING_MIN,
                             "maximum": callgroups.MEMBER_RING_MAX, "nullable": True,
                             "description": "null: the group's member_ring_seconds"}}},
        {"type": "string", "description": "shorthand for {\"extension\": ..., \"ring_seconds\": null}"},
    ]
}
_WRITABLE = {
    "description": {"type": "string", "maxLength": callgroups.DESCRIPTION_MAX},
    "strategy": {"type": "string", "enum": list(callgroups.STRATEGIES), "default": "ring_all",
                 "description": "ring_all: everyone at once for ring_seconds; the others ring one member at a "
                                "time: sequential (list order), random, round_robin (starts after the member "
                                "rung first by the previous call), least_recent (offered a call longest ago "
                                "first), fewest_calls (fewest answered calls first). Busy or unreachable "
                                "members are skipped at once."},
    "ring_seconds": {"type": "integer", "minimum": callgroups.GROUP_RING_MIN,
                     "maximum": callgroups.GROUP_RING_MAX, "default": 60,
                     "description": "ringing time of the whole group"},
    "member_ring_seconds": {"type": "integer", "minimum": callgroups.MEMBER_RING_MIN,
                            "maximum": callgroups.MEMBER_RING_MAX, "default": 15,
                            "description": "default ringing time of a member (one-at-a-time strategies)"},
    "members": {"type": "array", "minItems": 1, "maxItems": callgroups.MEMBERS_MAX, "items": _MEMBER,
                "description": "in ringing order, no extension twice"},
    "no_answer_procedure": {"type": "string",
                            "description": "procedure to continue in when nobody answers; \"\": the next "
                                           "application of the number"},
    "no_answer_number": {"type": "string", "description": "called number there (\"\": keep the called number)"},
    "record": {"type": "boolean", "description": "record the calls its members answer (call recording)"},
}

OPENAPI_SCHEMAS = {
    "CallGroup": {"type": "object", "properties": {
        "name": {"type": "string"},
        **{k: v for k, v in _WRITABLE.items() if k != "members"},
        "members": {"type": "array", "items": {"type": "object", "properties": {
            "extension": {"type": "string"}, "ring_seconds": {"type": "integer", "nullable": True}}}},
        "revision": {"type": "integer"},
        "updated_at": {"type": "string", "format": "date-time"},
        "stats": {"type": "array", "description": "per member, in order (read-only)", "items": {
            "type": "object", "properties": {
                "extension": {"type": "string"},
                "last_called_at": {"type": "string", "format": "date-time", "nullable": True},
                "calls_answered": {"type": "integer"}}}},
    }},
    "CallGroupCreate": {"type": "object", "required": ["name", "members"], "additionalProperties": False,
                        "properties": {"name": {"type": "string", "pattern": "^[a-z0-9][a-z0-9_-]{0,63}$"},
                                       **_WRITABLE}},
    "CallGroupWrite": {"type": "object", "additionalProperties": False, "properties": {
        "revision": {"type": "integer", "description": "the revision read; a different one gets 409"},
        "name": {"type": "string", "description": "accepted only unchanged"},
        **_WRITABLE}},
}
