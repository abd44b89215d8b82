"""Trunks, inbound numbers (DIDs) and trunk groups: pages and /api/v1/trunks, /api/v1/dids, /api/v1/trunk-groups.

Every page works without JavaScript (the preset chooser has an "Apply"
button, "Test connection" posts a form, trunk group members move with
buttons); trunks.js does the same in place and refreshes the live state.
A trunk's password is write-only: no page and no API answer ever holds it.

The live registration state and "test connection" come from the SIP edge
(appliance.trunks.edge); while it is not there the state shows as "unknown"
and the test answers 503 saying so.
"""

from __future__ import annotations

import json
import logging
import urllib.parse

import bottle

from appliance.dialplan.models import CallGroup, Ivr, Procedure, TimeRange
from appliance.errors import Conflict, ValidationError
from appliance.trunks import dids as did_service
from appliance.trunks import groups as group_service
from appliance.trunks import presets, service
from appliance.trunks.models import CALLED_HEADERS, DYNAMIC, TRANSPORTS
from appliance.users.models import User
from webui import web
from webui.i18n import N_
from webui.openapi import error_responses as _errors
from webui.openapi import json_body as _body
from webui.openapi import json_response as _json
from webui.openapi import ref as _ref
from webui.web import _

log = logging.getLogger(__name__)

PREFIX = "/api/v1/trunks"
DID_PREFIX = "/api/v1/dids"
GROUP_PREFIX = "/api/v1/trunk-groups"
PAGE = "/trunks"
DID_PAGE = "/trunks/dids"
GROUP_PAGE = "/trunks/groups"

TRUNK_TEXT_FIELDS = ("name", "title", "preset", "auth_user", "from_user", "provider_domain", "host", "transport",
                     "max_calls", "country_code", "inbound_procedure", "outbound_caller_id", "called_header",
                     "price_list")
TRUNK_BOOL_FIELDS = ("register", "keepalive", "tls_verify", "enabled")
CODEC_SLOTS = 3
STATE_LABELS = {
    "registered": N_("Registered"),
    "registering": N_("Registering"),
    "failed": N_("Failed"),
    "unregistered": N_("Not registered"),
    "unknown": N_("Unknown"),
}
# Why a registration or a test failed (the SIP edge's classification).
REASON_LABELS = {
    "credentials": N_("credentials"),
    "dns": N_("DNS"),
    "network": N_("network"),
    "rejected": N_("the provider refuses this address"),
}
HEADER_LABELS = service.CALLED_HEADER_LABELS
DID_INPUTS = {  # destination kind -> the form input holding its destination
    "user": "dest_user", "voicemail": "dest_user", "call_group": "dest_call_group", "ivr": "dest_ivr",
    "time_range": "dest_time_range", "external": "dest_external", "procedure": "dest_number",
}


def register(app: bottle.Bottle) -> None:
    r = app.route
    r(PAGE, "GET", trunks_page, perm="trunks.read")
    r(f"{PAGE}/new", "GET", new_trunk_form, perm="trunks.manage")
    r(f"{PAGE}/new", "POST", create_trunk, perm="trunks.manage")
    r(f"{PAGE}/<name>/edit", "GET", edit_trunk_form, perm="trunks.manage")
    r(f"{PAGE}/<name>/edit", "POST", edit_trunk, perm="trunks.manage")
    r(f"{PAGE}/<name>/delete", "GET", delete_trunk_confirm, perm="trunks.manage")
    r(f"{PAGE}/<name>/delete", "POST", delete_trunk, perm="trunks.manage")
    r(f"{PAGE}/<name>/test", "POST", test_trunk_page, perm="trunks.read")
    r(DID_PAGE, "GET", dids_page, perm="trunks.read")
    r(f"{DID_PAGE}/new", "GET", new_did_form, perm="trunks.manage")
    r(f"{DID_PAGE}/new", "POST", create_did, perm="trunks.manage")
    r(f"{DID_PAGE}/<number>/edit", "GET", edit_did_form, perm="trunks.manage")
    r(f"{DID_PAGE}/<number>/edit", "POST", edit_did, perm="trunks.manage")
    r(f"{DID_PAGE}/<number>/delete", "GET", delete_did_confirm, perm="trunks.manage")
    r(f"{DID_PAGE}/<number>/delete", "POST", delete_did, perm="trunks.manage")
    r(GROUP_PAGE, "GET", groups_page, perm="trunks.read")
    r(f"{GROUP_PAGE}/new", "GET", new_group_form, perm="trunks.manage")
    r(f"{GROUP_PAGE}/new", "POST", create_group, perm="trunks.manage")
    r(f"{GROUP_PAGE}/<name>/edit", "GET", edit_group_form, perm="trunks.manage")
    r(f"{GROUP_PAGE}/<name>/edit", "POST", edit_group, perm="trunks.manage")
    r(f"{GROUP_PAGE}/<name>/delete", "GET", delete_group_confirm, perm="trunks.manage")
    r(f"{GROUP_PAGE}/<name>/delete", "POST", delete_group, perm="trunks.manage")

    r(PREFIX, "GET", api_list, perm="trunks.read")
    r(PREFIX, "POST", api_create, perm="trunks.manage")
    r(f"{PREFIX}/presets", "GET", api_presets, perm="trunks.read")
    r(f"{PREFIX}/<name>", "GET", api_get, perm="trunks.read")
    r(f"{PREFIX}/<name>", "PUT", api_update, perm="trunks.manage")
    r(f"{PREFIX}/<name>", "DELETE", api_delete, perm="trunks.manage")
    r(f"{PREFIX}/<name>/test", "POST", api_test, perm="trunks.read")
    r(DID_PREFIX, "GET", api_did_list, perm="trunks.read")
    r(DID_PREFIX, "POST", api_did_create, perm="trunks.manage")
    r(f"{DID_PREFIX}/<number>", "GET", api_did_get, perm="trunks.read")
    r(f"{DID_PREFIX}/<number>", "PUT", api_did_update, perm="trunks.manage")
    r(f"{DID_PREFIX}/<number>", "DELETE", api_did_delete, perm="trunks.manage")
    r(GROUP_PREFIX, "GET", api_group_list, perm="trunks.read")
    r(GROUP_PREFIX, "POST", api_group_create, perm="trunks.manage")
    r(f"{GROUP_PREFIX}/<name>", "GET", api_group_get, perm="trunks.read")
    r(f"{GROUP_PREFIX}/<name>", "PUT", api_group_update, perm="trunks.manage")
    r(f"{GROUP_PREFIX}/<name>", "DELETE", api_group_delete, perm="trunks.manage")


# -- the SIP edge (live state, test connection), when it is there ----------------------------------

def _trunk_edge():
    try:
        from appliance.trunks import edge as trunk_edge
    except ImportError:
        return None
    return trunk_edge


def _unknown(detail: str = "") -> dict:
    return {"state": "unknown", "reason": None, "detail": detail, "channels": None}


def live_states() -> dict[str, dict]:
    """trunk name -> {"state", "reason", "detail", "channels", ...} from the SIP edge ({} when it cannot tell).

    state: registered | registering | failed | unregistered; reason (when failed): credentials | dns |
    network | rejected; detail: the edge's sentence saying why; channels: calls up on the trunk.
    """
    trunk_edge = _trunk_edge()
    if trunk_edge is None or not callable(getattr(trunk_edge, "registration_states", None)):
        return {}
    settings = web.settings()
    try:
        found = trunk_edge.registration_states(settings)
    except Exception as exc:  # the state is a courtesy: never break the page over it
        log.warning("cannot read the trunks' live state: %s", exc)
        return {}
    counter = getattr(trunk_edge, "calls_in_use", None)
    states: dict[str, dict] = {}
    for name, value in (found or {}).items():
        if not isinstance(value, dict):
            continue
        state = {key: item for key, item in value.items() if key != "trunk" and "password" not in key
                 and isinstance(item, (str, int, float, bool, type(None)))}
        state.setdefault("state", "unknown")
        state.setdefault("reason", None)
        state.setdefault("detail", "")
        try:
            state["channels"] = counter(settings, name) if callable(counter) else None
        except Exception:
            log.warning("channels in use of trunk %s could not be read from the edge", name, exc_info=True)
            state["channels"] = None  # shown as unknown
        states[str(name)] = state
    return states


def test_connection(name: str) -> dict:
    """The edge's real REGISTER/OPTIONS test; web.ApiError 503 while the edge cannot test.

    {"trunk", "ok", "result": ok | credentials | dns | network | rejected, "detail", "code", "target", "method"}
    """
    trunk = service.get_trunk(name)
    trunk_edge = _trunk_edge()
    function = getattr(trunk_edge, "test_connection", None) if trunk_edge is not None else None
    if not callable(function):
        raise web.ApiError(503, "not_available", None,
                           "testing a trunk needs the SIP edge's trunk support, which is not installed yet")
    result = function(web.settings(), trunk)
    if not isinstance(result, dict):
        result = {"ok": False, "detail": str(result)}
    return {"trunk": trunk.name, **{k: v for k, v in result.items() if "password" not in str(k).lower()}}


# -- trunk pages -----------------------------------------------------------------------------------

def _notice(kinds: tuple[tuple[str, str], ...]) -> str:
    query = bottle.request.query
    for key, text in kinds:
        if query.get(key):
            return text.format(name=query.getunicode(key, ""))
    return ""


def trunks_page(test_result: dict | None = None, status: int = 200):
    notice = _notice((("created", _("Trunk {name} created.")), ("saved", _("Trunk {name} saved.")),
                      ("deleted", _("Trunk {name} deleted."))))
    trunks = service.list_trunks()
    states = live_states()
    return web.render("trunks.tpl", status=status, title=_("Trunks"), active="trunks", trunks=trunks,
                      states={t.name: states.get(t.name) or _unknown() for t in trunks},
                      state_labels={k: _(v) for k, v in STATE_LABELS.items()},
                      reason_labels={k: _(v) for k, v in REASON_LABELS.items()}, edge_known=bool(states),
                      presets=presets.BY_KEY, notice=notice, test_result=test_result, dynamic=DYNAMIC,
                      scripts=("api.js", "trunks.js"))


def test_trunk_page(name: str):
    try:
        result = test_connection(name)
    except web.ApiError as exc:
        result = {"trunk": name, "ok": False, "unavailable": True, "detail": _(exc.message or exc.error)}
    except Exception as exc:
        log.exception("test of trunk %s failed", name)
        result = {"trunk": name, "ok": False, "detail": str(exc)}
    return trunks_page(test_result=result)


def _procedures() -> list[str]:
    return [p.name for p in Procedure.select(Procedure.name).order_by(Procedure.name)]


def _price_lists() -> list[str]:
    from appliance.prices.models import PriceList

    return [p.name for p in PriceList.select(PriceList.name).order_by(PriceList.name)]


def _presets_json() -> str:
    return json.dumps({key: {**presets.defaults(key), "notes": p.notes, "asks": list(p.asks)}
                       for key, p in presets.BY_KEY.items()})


def _trunk_form(status: int, mode: str, values: dict, errors: dict | None = None, name: str = "",
                revision: str = "", has_password: bool = False) -> str:
    title = _("New trunk") if mode == "new" else _("Edit trunk {name}").format(name=name)
    return web.render("trunks_form.tpl", status=status, title=title, active="trunks", mode=mode, values=values,
                      errors=errors or {}, trunk_name=name, revision=revision, has_password=has_password,
                      presets=presets.PRESETS, presets_json=_presets_json(), procedures=_procedures(),
                      price_lists=_price_lists(), transports=TRANSPORTS, headers=HEADER_LABELS,
                      codecs=service.CODECS, slots=CODEC_SLOTS, scripts=("api.js", "trunks.js"))


def _trunk_values(trunk) -> dict:
    values = {field: "" if getattr(trunk, field) is None else str(getattr(trunk, field))
              for field in TRUNK_TEXT_FIELDS}
    values.update({field: bool(getattr(trunk, field)) for field in TRUNK_BOOL_FIELDS})
    values["codecs"] = list(trunk.codecs or [])
    values["ip_auth"] = "\n".join(trunk.ip_auth or [])
    return values


def _preset_values(key: str, values: dict) -> dict:
    """The form's values with a preset's fields filled in (what "Apply" and a new form show)."""
    filled = dict(values)
    defaults = presets.defaults(key)
    filled["preset"] = key
    filled["host"] = defaults.get("host", "")
    for field in ("transport", "called_header", "country_code"):
        filled[field] = defaults[field]
    filled["register"], filled["keepalive"] = defaults["register"], defaults["keepalive"]
    filled["codecs"] = list(defaults["codecs"])
    return filled


def _submitted_trunk() -> dict:
    form = web.form()
    values = {field: web.form_text(field).strip() for field in TRUNK_TEXT_FIELDS}
    values.update({field: bool(form.get(field)) for field in TRUNK_BOOL_FIELDS})
    values["codecs"] = [c for c in (web.form_text(f"codec_{i}").strip() for i in range(1, CODEC_SLOTS + 1)) if c]
    values["ip_auth"] = web.form_text("ip_auth")
    values["password"] = web.form_text("password")
    return values


def _trunk_data(values: dict, with_name: bool) -> dict:
    data = {field: values[field] for field in TRUNK_TEXT_FIELDS if field != "name"}
    if with_name:
        data["name"] = values["name"]
    data.update({field: values[field] for field in TRUNK_BOOL_FIELDS})
    data["codecs"] = values["codecs"]
    data["ip_auth"] = [item for item in values["ip_auth"].replace(",", " ").split() if item]
    data["price_list"] = values["price_list"] or None
    if values.get("password"):
        data["password"] = values["password"]
    return data


def _trunk_errors(exc: ValidationError | Conflict, values: dict) -> dict:
    field = exc.field
    message = web.message_for(exc)
    base, _dot, index = field.partition(".")
    if base == "ip_auth" and index.isdecimal():
        items = [item for item in values["ip_auth"].replace(",", " ").split() if item]
        shown = items[int(index)] if int(index) < len(items) else ""
        return {"ip_auth": f"{shown}: {message}" if shown else message}
    if base == "codecs":
        return {"codecs": message}
    known = field in TRUNK_TEXT_FIELDS or field in TRUNK_BOOL_FIELDS or field == "password"
    return {field if known else "_form": message}


def new_trunk_form():
    key = bottle.request.query.getunicode("preset", presets.DEFAULT) or presets.DEFAULT
    if presets.get(key) is None:
        key = presets.DEFAULT
    values = {field: "" for field in TRUNK_TEXT_FIELDS}
    values.update({"enabled": True, "tls_verify": True, "inbound_procedure": "main", "max_calls": "0",
                   "ip_auth": "", "password": ""})
    return _trunk_form(200, "new", _preset_values(key, values))


def create_trunk():
    values = _submitted_trunk()
    if web.form_text("action") == "preset":
        key = values["preset"] if presets.get(values["preset"]) else presets.DEFAULT
        return _trunk_form(200, "new", _preset_values(key, values))
    try:
        trunk = service.create_trunk(_trunk_data(values, with_name=True))
    except ValidationError as exc:
        return _trunk_form(400, "new", values, _trunk_errors(exc, values))
    return bottle.redirect(f"{PAGE}?" + bottle.urlencode({"created": trunk.name}), 303)


def edit_trunk_form(name: str):
    trunk = service.get_trunk(name)
    return _trunk_form(200, "edit", _trunk_values(trunk), name=trunk.name, revision=str(trunk.revision),
                       has_password=bool(trunk.password_enc))


def edit_trunk(name: str):
    trunk = service.get_trunk(name)
    values = _submitted_trunk()
    values["name"] = trunk.name
    revision = web.form_text("revision")
    if web.form_text("action") == "preset":
        key = values["preset"] if presets.get(values["preset"]) else presets.DEFAULT
        return _trunk_form(200, "edit", _preset_values(key, values), name=trunk.name, revision=revision,
                           has_password=bool(trunk.password_enc))
    data = _trunk_data(values, with_name=False)
    try:
        web.apply_revision(data, revision)
        service.update_trunk(trunk.name, data)
    except (Conflict, ValidationError) as exc:
        status = 409 if isinstance(exc, Conflict) else 400
        return _trunk_form(status, "edit", values, _trunk_errors(exc, values), name=trunk.name, revision=revision,
                           has_password=bool(trunk.password_enc))
    return bottle.redirect(f"{PAGE}?" + bottle.urlencode({"saved": trunk.name}), 303)


def _confirm(status: int, tab: str, title: str, question: str, action: str, back: str, errors=None) -> str:
    return web.render("trunks_delete.tpl", status=status, title=title, active="trunks", tab=tab, question=question,
                      action=action, back=back, errors=errors or {})


def delete_trunk_confirm(name: str):
    trunk = service.get_trunk(name)
    return _confirm(200, "trunks", _("Delete trunk {name}").format(name=trunk.name),
                    _("Delete the trunk {name}? Calls can no longer go out or come in through it. This cannot be "
                      "undone.").format(name=trunk.name), f"{PAGE}/{trunk.name}/delete", PAGE)


def delete_trunk(name: str):
    trunk = service.get_trunk(name)
    try:
        service.delete_trunk(trunk.name)
    except Conflict as exc:
        return _confirm(409, "trunks", _("Delete trunk {name}").format(name=trunk.name), "",
                        f"{PAGE}/{trunk.name}/delete", PAGE, {"_form": web.message_for(exc)})
    return bottle.redirect(f"{PAGE}?" + bottle.urlencode({"deleted": trunk.name}), 303)


# -- DID pages -------------------------------------------------------------------------------------

def _did_url(number: str) -> str:
    return f"{DID_PAGE}/{urllib.parse.quote(number, safe='')}"


def _did_choices() -> dict:
    users = [(u.extension, u.display_name)
             for u in User.select().where(User.extension.is_null(False)).order_by(User.extension)]
    return {
        "users": users,
        "call_groups": [g.name for g in CallGroup.select(CallGroup.name).order_by(CallGroup.name)],
        "ivrs": [i.name for i in Ivr.select(Ivr.name).order_by(Ivr.name)],
        "time_ranges": [t.name for t in TimeRange.select(TimeRange.name).order_by(TimeRange.name)],
        "procedures": _procedures(),
        "trunks": [t.name for t in service.list_trunks()],
    }


def _kind_labels() -> dict[str, str]:
    return {key: _(label) for key, label in did_service.KIND_LABELS.items()}


def dids_page():
    notice = _notice((("created", _("Inbound number {name} added.")), ("saved", _("Inbound number {name} saved.")),
                      ("deleted", _("Inbound number {name} deleted."))))
    trunks = {t.name: t for t in service.list_trunks()}
    return web.render("dids.tpl", title=_("Inbound numbers"), active="trunks", dids=did_service.list_dids(),
                      kinds=_kind_labels(), trunks=trunks, notice=notice, did_url=_did_url)


def _did_form(status: int, mode: str, values: dict, errors: dict | None = None, number: str = "",
              revision: str = "") -> str:
    title = _("New inbound number") if mode == "new" else _("Edit inbound number {number}").format(number=number)
    return web.render("dids_form.tpl", status=status, title=title, active="trunks", mode=mode, values=values,
                      errors=errors or {}, did_number=number, revision=revision, kinds=_kind_labels(),
                      choices=_did_choices(), inputs=DID_INPUTS, did_url=_did_url, scripts=("api.js", "trunks.js"))


def _did_values(did) -> dict:
    values = {"number": did.number, "trunk": did.trunk or "", "description": did.description,
              "destination_kind": did.destination_kind, "procedure": did.procedure}
    values.update({name: "" for name in set(DID_INPUTS.values())})
    values[DID_INPUTS.get(did.destination_kind, "dest_user")] = did.destination
    return values


def _submitted_did() -> dict:
    fields = ("number", "trunk", "description", "destination_kind", "procedure", *set(DID_INPUTS.values()))
    return {field: web.form_text(field).strip() for field in fields}


def _did_data(values: dict, with_number: bool) -> dict:
    kind = values["destination_kind"]
    data = {"trunk": values["trunk"] or None, "description": values["description"], "destination_kind": kind,
            "destination": values.get(DID_INPUTS.get(kind, ""), ""),
            "procedure": values["procedure"] if kind in ("time_range", "procedure") else ""}
    if with_number:
        data["number"] = values["number"]
    return data


def _did_errors(exc: ValidationError | Conflict, values: dict) -> dict:
    field = exc.field
    if field == "destination":
        field = DID_INPUTS.get(values.get("destination_kind", ""), "_form")
    known = field in ("number", "trunk", "description", "destination_kind", "procedure", *DID_INPUTS.values())
    return {field if known else "_form": web.message_for(exc)}


def new_did_form():
    values = {field: "" for field in ("number", "trunk", "description", "procedure", *DID_INPUTS.values())}
    values["destination_kind"] = "user"
    return _did_form(200, "new", values)


def create_did():
    values = _submitted_did()
    try:
        did = did_service.create_did(_did_data(values, with_number=True))
    except ValidationError as exc:
        return _did_form(400, "new", values, _did_errors(exc, values))
    return bottle.redirect(f"{DID_PAGE}?" + bottle.urlencode({"created": did.number}), 303)


def edit_did_form(number: str):
    did = did_service.get_did(number)
    return _did_form(200, "edit", _did_values(did), number=did.number, revision=str(did.revision))


def edit_did(number: str):
    did = did_service.get_did(number)
    values = _submitted_did()
    values["number"] = did.number
    revision = web.form_text("revision")
    data = _did_data(values, with_number=False)
    try:
        web.apply_revision(data, revision)
        did_service.update_did(did.number, data)
    except (Conflict, ValidationError) as exc:
        status = 409 if isinstance(exc, Conflict) else 400
        return _did_form(status, "edit", values, _did_errors(exc, values), number=did.number, revision=revision)
    return bottle.redirect(f"{DID_PAGE}?" + bottle.urlencode({"saved": did.number}), 303)


def delete_did_confirm(number: str):
    did = did_service.get_did(number)
    return _confirm(200, "dids", _("Delete inbound number {number}").format(number=did.number),
                    _("Delete the inbound number {number}? Its calls will go to the trunk's procedure.").format(
                        number=did.number), f"{_did_url(did.number)}/delete", DID_PAGE)


def delete_did(number: str):
    did = did_service.get_did(number)
    did_service.delete_did(did.number)
    return bottle.redirect(f"{DID_PAGE}?" + bottle.urlencode({"deleted": did.number}), 303)


# -- trunk group pages -----------------------------------------------------------------------------

def groups_page():
    notice = _notice((("created", _("Trunk group {name} created.")), ("saved", _("Trunk group {name} saved.")),
                      ("deleted", _("Trunk group {name} deleted."))))
    return web.render("trunkgroups.tpl", title=_("Trunk groups"), active="trunks",
                      groups=group_service.list_groups(), notice=notice)


def _group_form(status: int, mode: str, values: dict, errors: dict | None = None, name: str = "",
                revision: str = "") -> str:
    title = _("New trunk group") if mode == "new" else _("Edit trunk group {name}").format(name=name)
    return web.render("trunkgroups_form.tpl", status=status, title=title, active="trunks", mode=mode,
                      values=values, errors=errors or {}, group_name=name, revision=revision,
                      trunks=[t.name for t in service.list_trunks()], limits={
                          "members": group_service.MEMBERS_MAX, "failover": group_service.FAILOVER_MAX,
                          "strip": group_service.STRIP_MAX}, scripts=("api.js", "orderedlist.js", "trunks.js"))


def _group_values(group) -> dict:
    return {"name": group.name, "description": group.description,
            "failover_delay_s": str(group.failover_delay_s),
            "members": [{"trunk": m["trunk"], "strip": str(m.get("strip", 0)), "prepend": m.get("prepend", ""),
                         "max_calls": str(m.get("max_calls", 0))} for m in group.members]}


def _submitted_group() -> dict:
    form = web.form()
    values = {field: web.form_text(field).strip() for field in ("name", "description", "failover_delay_s")}
    columns = [[v.strip() for v in form.getall(f"member_{c}") if isinstance(v, str)]
               for c in ("trunk", "strip", "prepend", "max_calls")]
    count = len(columns[0])
    for column in columns[1:]:
        column += [""] * (count - len(column))
    values["members"] = [{"trunk": t, "strip": s, "prepend": p, "max_calls": m}
                         for t, s, p, m in zip(*columns, strict=False)]
    return values


def _group_action(values: dict, action: str) -> bool:
    """Edit the members for an up/down/remove/add button; False when the action is "save"."""
    new = {"trunk": web.form_text("add_member").strip(), "strip": "0", "prepend": "", "max_calls": "0"}
    return web.move_row(values["members"], action, "trunk", new)


def _group_data(values: dict, with_name: bool) -> dict:
    data = {"description": values["description"], "failover_delay_s": values["failover_delay_s"],
            "members": [{"trunk": m["trunk"], "strip": m["strip"] or 0, "prepend": m["prepend"],
                         "max_calls": m["max_calls"] or 0} for m in values["members"]]}
    if with_name:
        data["name"] = values["name"]
    return data


def _group_errors(exc: ValidationError | Conflict) -> dict:
    field = exc.field
    known = field in ("name", "description", "failover_delay_s", "members") or field.startswith("members.")
    return {field if known else "_form": web.message_for(exc)}


def new_group_form():
    return _group_form(200, "new", {"name": "", "description": "", "failover_delay_s": "0", "members": []})


def create_group():
    values = _submitted_group()
    if _group_action(values, web.form_text("action")):
        return _group_form(200, "new", values)
    try:
        group = group_service.create_group(_group_data(values, with_name=True))
    except ValidationError as exc:
        return _group_form(400, "new", values, _group_errors(exc))
    return bottle.redirect(f"{GROUP_PAGE}?" + bottle.urlencode({"created": group.name}), 303)


def edit_group_form(name: str):
    group = group_service.get_group(name)
    return _group_form(200, "edit", _group_values(group), name=group.name, revision=str(group.revision))


def edit_group(name: str):
    group = group_service.get_group(name)
    values = _submitted_group()
    values["name"] = group.name
    revision = web.form_text("revision")
    if _group_action(values, web.form_text("action")):
        return _group_form(200, "edit", values, name=group.name, revision=revision)
    data = _group_data(values, with_name=False)
    try:
        web.apply_revision(data, revision)
        group_service.update_group(group.name, data)
    except (Conflict, ValidationError) as exc:
        status = 409 if isinstance(exc, Conflict) else 400
        return _group_form(status, "edit", values, _group_errors(exc), name=group.name, revision=revision)
    return bottle.redirect(f"{GROUP_PAGE}?" + bottle.urlencode({"saved": group.name}), 303)


def delete_group_confirm(name: str):
    group = group_service.get_group(name)
    return _confirm(200, "groups", _("Delete trunk group {name}").format(name=group.name),
                    _("Delete the trunk group {name}? This cannot be undone.").format(name=group.name),
                    f"{GROUP_PAGE}/{group.name}/delete", GROUP_PAGE)


def delete_group(name: str):
    group = group_service.get_group(name)
    try:
        group_service.delete_group(group.name)
    except Conflict as exc:
        return _confirm(409, "groups", _("Delete trunk group {name}").format(name=group.name), "",
                        f"{GROUP_PAGE}/{group.name}/delete", GROUP_PAGE, {"_form": web.message_for(exc)})
    return bottle.redirect(f"{GROUP_PAGE}?" + bottle.urlencode({"deleted": group.name}), 303)


# -- API -------------------------------------------------------------------------------------------

def _public_trunk(trunk, states: dict | None = None) -> dict:
    states = live_states() if states is None else states
    return {**service.to_public(trunk), "live": states.get(trunk.name) or _unknown()}


def api_list():
    states = live_states()
    return web.json_body([_public_trunk(t, states) for t in service.list_trunks()])


def api_create():
    trunk = service.create_trunk(web.read_json_object())
    bottle.response.set_header("Location", f"{PREFIX}/{trunk.name}")
    return web.json_body(_public_trunk(trunk), 201)


def api_presets():
    return web.json_body([p.to_public() for p in presets.PRESETS])


def api_get(name: str):
    return web.json_body(_public_trunk(service.get_trunk(name)))


def api_update(name: str):
    return web.json_body(_public_trunk(service.update_trunk(name, web.read_json_object())))


def api_delete(name: str):
    service.delete_trunk(name)
    bottle.response.status = 204
    return ""


def api_test(name: str):
    return web.json_body(test_connection(name))


def api_did_list():
    return web.json_body([did_service.to_public(d) for d in did_service.list_dids()])


def api_did_create():
    did = did_service.create_did(web.read_json_object())
    bottle.response.set_header("Location", f"{DID_PREFIX}/{urllib.parse.quote(did.number, safe='')}")
    return web.json_body(did_service.to_public(did), 201)


def api_did_get(number: str):
    return web.json_body(did_service.to_public(did_service.get_did(number)))


def api_did_update(number: str):
    return web.json_body(did_service.to_public(did_service.update_did(number, web.read_json_object())))


def api_did_delete(number: str):
    did_service.delete_did(number)
    bottle.response.status = 204
    return ""


def api_group_list():
    return web.json_body([group_service.to_public(g) for g in group_service.list_groups()])


def api_group_create():
    group = group_service.create_group(web.read_json_object())
    bottle.response.set_header("Location", f"{GROUP_PREFIX}/{group.name}")
    return web.json_body(group_service.to_public(group), 201)


def api_group_get(name: str):
    return web.json_body(group_service.to_public(group_service.get_group(name)))


def api_group_update(name: str):
    return web.json_body(group_service.to_public(group_service.update_group(name, web.read_json_object())))


def api_group_delete(name: str):
    group_service.delete_group(name)
    bottle.response.status = 204
    return ""


# -- OpenAPI -----------------------------------------------------------------------------------------

_NAME = {"type": "string", "pattern": "^[a-z0-9][a-z0-9_-]{0,63}$"}
_NAME_PARAM = [{"name": "name", "in": "path", "required": True, "schema": _NAME}]
_NUMBER_PARAM = [{"name": "number", "in": "path", "required": True, "schema": {"type": "string"},
                  "description": "the DID as stored (+41441234567, 2304024, 0233456*); URL-encode the +"}]
_TAG = ["trunks"]

OPENAPI_PATHS = {
    PREFIX: {
        "get": {"summary": "List trunks with their live state (\"unknown\" while the SIP edge cannot tell)",
                "tags": _TAG,
                "responses": {"200": _json({"type": "array", "items": _ref("Trunk")}, "Trunks"),
                              **_errors("401", "403")}},
        "post": {"summary": "Create a trunk; a preset fills the fields not given", "tags": _TAG,
                 "requestBody": _body(_ref("TrunkCreate")),
                 "responses": {"201": _json(_ref("Trunk"), "Created (Location: the trunk's URL)"),
                               **_errors("400", "401", "403", "413", "415")}},
    },
    f"{PREFIX}/presets": {
        "get": {"summary": "Provider presets (what each fills in a new trunk)", "tags": _TAG,
                "responses": {"200": _json({"type": "array", "items": _ref("TrunkPreset")}, "Presets"),
                              **_errors("401", "403")}}},
    f"{PREFIX}/{{name}}": {
        "parameters": _NAME_PARAM,
        "get": {"summary": "One trunk (never its password)", "tags": _TAG,
                "responses": {"200": _json(_ref("Trunk"), "The trunk"), **_errors("401", "403", "404")}},
        "put": {"summary": "Change some fields (the name never changes); a stale revision gets 409", "tags": _TAG,
                "requestBody": _body(_ref("TrunkWrite")),
                "responses": {"200": _json(_ref("Trunk"), "Saved"),
                              **_errors("400", "401", "403", "404", "409", "413", "415")}},
        "delete": {"summary": "Delete a trunk; 409 naming where it is still used", "tags": _TAG,
                   "responses": {"204": {"description": "Deleted"}, **_errors("401", "403", "404", "409")}},
    },
    f"{PREFIX}/{{name}}/test": {
        "parameters": _NAME_PARAM,
        "post": {"summary": "Test the connection: a real registration (or OPTIONS) through the SIP edge, saying "
                            "whether a failure is the credentials, DNS, the network or the provider refusing",
                 "tags": _TAG,
                 "responses": {"200": _json(_ref("TrunkTest"), "The test's outcome"),
                               **_errors("401", "403", "404", "503")}}},
    DID_PREFIX: {
        "get": {"summary": "List inbound numbers", "tags": _TAG,
                "responses": {"200": _json({"type": "array", "items": _ref("Did")}, "Inbound numbers"),
                              **_errors("401", "403")}},
        "post": {"summary": "Add an inbound number", "tags": _TAG, "requestBody": _body(_ref("DidCreate")),
                 "responses": {"201": _json(_ref("Did"), "Created"), **_errors("400", "401", "403", "413", "415")}},
    },
    f"{DID_PREFIX}/{{number}}": {
        "parameters": _NUMBER_PARAM,
        "get": {"summary": "One inbound number", "tags": _TAG,
                "responses": {"200": _json(_ref("Did"), "The inbound number"), **_errors("401", "403", "404")}},
        "put": {"summary": "Change its trunk, description or destination (the number never changes)",
                "tags": _TAG, "requestBody": _body(_ref("DidWrite")),
                "responses": {"200": _json(_ref("Did"), "Saved"),
                              **_errors("400", "401", "403", "404", "409", "413", "415")}},
        "delete": {"summary": "Delete an inbound number (its calls go to the trunk's procedure)", "tags": _TAG,
                   "responses": {"204": {"description": "Deleted"}, **_errors("401", "403", "404")}},
    },
    GROUP_PREFIX: {
        "get": {"summary": "List trunk groups", "tags": _TAG,
                "responses": {"200": _json({"type": "array", "items": _ref("TrunkGroup")}, "Trunk groups"),
                              **_errors("401", "403")}},
        "post": {"summary": "Create a trunk group", "tags": _TAG, "requestBody": _body(_ref("TrunkGroupCreate")),
                 "responses": {"201": _json(_ref("TrunkGroup"), "Created"),
                               **_errors("400", "401", "403", "413", "415")}},
    },
    f"{GROUP_PREFIX}/{{name}}": {
        "parameters": _NAME_PARAM,
        "get": {"summary": "One trunk group", "tags": _TAG,
                "responses": {"200": _json(_ref("TrunkGroup"), "The group"), **_errors("401", "403", "404")}},
        "put": {"summary": "Change some fields (the name never changes); a stale revision gets 409", "tags": _TAG,
                "requestBody": _body(_ref("TrunkGroupWrite")),
                "responses": {"200": _json(_ref("TrunkGroup"), "Saved"),
                              **_errors("400", "401", "403", "404", "409", "413", "415")}},
        "delete": {"summary": "Delete a trunk group; 409 naming where it is still used", "tags": _TAG,
                   "responses": {"204": {"description": "Deleted"}, **_errors("401", "403", "404", "409")}},
    },
}

_TRUNK_WRITABLE = {
    "title": {"type": "string", "maxLength": service.TITLE_MAX, "description": "default: the name"},
    "preset": {"type": "string", "enum": list(presets.BY_KEY), "default": presets.DEFAULT},
    "auth_user": {"type": "string", "maxLength": service.USER_MAX,
                  "description": "authentication login (required when registering or dynamic)"},
    "from_user": {"type": "string", "maxLength": service.USER_MAX, "description": "user part of From"},
    "provider_domain": {"type": "string", "maxLength": service.DOMAIN_MAX, "description": "domain of From/R-URI"},
    "host": {"type": "string", "description": "host[:port] (DNS name, IPv4, [IPv6]) or \"dynamic\" (the other "
                                              "side registers to this appliance)"},
    "password": {"type": "string", "writeOnly": True, "nullable": True, "maxLength": service.PASSWORD_MAX,
                 "description": "stored encrypted, never returned; PUT: omitted or \"\" keeps it, null removes it"},
    "register": {"type": "boolean", "description": "register to the provider (off for dynamic and IP-auth trunks)"},
    "keepalive": {"type": "boolean", "description": "send OPTIONS keep-alives"},
    "transport": {"type": "string", "enum": list(TRANSPORTS)},
    "tls_verify": {"type": "boolean", "default": True,
                   "description": "TLS: verify the provider's certificate against the system's CAs; false accepts a "
                                  "self-signed one (a PBX, a test provider)"},
    "codecs": {"type": "array", "items": {"type": "string", "enum": list(service.CODECS)}, "minItems": 1,
               "description": "in order of preference, no duplicates"},
    "max_calls": {"type": "integer", "minimum": 0, "maximum": service.MAX_CALLS_MAX, "description": "0: no limit"},
    "country_code": {"type": "string", "pattern": "^([1-9][0-9]{0,2})?$",
                     "description": "normalises the numbers of this trunk to E.164"},
    "inbound_procedure": {"type": "string", "default": "main", "description": "procedure of incoming calls"},
    "outbound_caller_id": {"type": "string", "pattern": "^(\\+?[0-9]{1,31})?$"},
    "called_header": {"type": "string", "enum": list(CALLED_HEADERS),
                      "description": "where the provider puts the called number: " + ", ".join(
                          f"{k} = {v}" for k, v in HEADER_LABELS.items())},
    "ip_auth": {"type": "array", "items": {"type": "string"}, "maxItems": service.IP_AUTH_MAX,
                "description": "provider addresses or networks (CIDR) allowed to send calls without registration"},
    "price_list": {"type": "string", "nullable": True},
    "enabled": {"type": "boolean"},
}
_DID_WRITABLE = {
    "trunk": {"type": "string", "nullable": True, "description": "only calls from this trunk; null: any trunk"},
    "description": {"type": "string", "maxLength": did_service.DESCRIPTION_MAX},
    "destination_kind": {"type": "string", "enum": list(did_service.KINDS)},
    "destination": {"type": "string", "description": "user/voicemail: extension; call_group, ivr, time_range: "
                                                     "its name; external: the number; procedure: the number "
                                                     "dialled there (\"\": the called number)"},
    "procedure": {"type": "string", "description": "time_range: procedure while inside (outside: the trunk's "
                                                   "procedure); procedure: where the call goes"},
}
_GROUP_MEMBER = {"oneOf": [
    {"type": "object", "required": ["trunk"], "additionalProperties": False, "properties": {
        "trunk": _NAME,
        "strip": {"type": "integer", "minimum": 0, "maximum": group_service.STRIP_MAX,
                  "description": "digits removed from the front of the number"},
        "prepend": {"type": "string", "pattern": "^\\+?[0-9*#]{0,16}$", "description": "put in front after strip"},
        "max_calls": {"type": "integer", "minimum": 0, "maximum": group_service.MAX_CALLS_MAX,
                      "description": "0: the trunk's own limit"}}},
    {"type": "string", "description": "shorthand: a trunk name"}]}
_GROUP_WRITABLE = {
    "description": {"type": "string", "maxLength": group_service.DESCRIPTION_MAX},
    "members": {"type": "array", "minItems": 1, "maxItems": group_service.MEMBERS_MAX, "items": _GROUP_MEMBER,
                "description": "tried in this order, no trunk twice"},
    "failover_delay_s": {"type": "integer", "minimum": 0, "maximum": group_service.FAILOVER_MAX,
                         "description": "seconds a trunk may take to answer before the next one is tried "
                                        "(0: its own final answer)"},
}
_REVISION = {"type": "integer", "description": "the revision read; a different one gets 409"}

OPENAPI_SCHEMAS = {
    "Trunk": {"type": "object", "properties": {
        "name": _NAME, **{k: v for k, v in _TRUNK_WRITABLE.items() if k != "password"},
        "dynamic": {"type": "boolean"}, "has_password": {"type": "boolean", "description": "a password is stored"},
        "revision": {"type": "integer"}, "updated_at": {"type": "string", "format": "date-time"},
        "live": {"type": "object", "description": "from the SIP edge (state \"unknown\" when it cannot tell)",
                 "properties": {
                     "state": {"type": "string", "enum": list(STATE_LABELS)},
                     "reason": {"type": "string", "nullable": True, "enum": [*REASON_LABELS, None],
                                "description": "why it failed"},
                     "detail": {"type": "string", "description": "a sentence saying why"},
                     "retry_in": {"type": "integer", "nullable": True,
                                  "description": "seconds before the next try after refused credentials"},
                     "expires_in": {"type": "integer", "nullable": True},
                     "channels": {"type": "integer", "nullable": True, "description": "calls up on the trunk"}}}}},
    "TrunkCreate": {"type": "object", "required": ["name"], "additionalProperties": False,
                    "properties": {"name": _NAME, **_TRUNK_WRITABLE}},
    "TrunkWrite": {"type": "object", "additionalProperties": False, "properties": {
        "revision": _REVISION, "name": {"type": "string", "description": "accepted only unchanged"},
        **_TRUNK_WRITABLE}},
    "TrunkPreset": {"type": "object", "properties": {
        "key": {"type": "string"}, "label": {"type": "string"}, "host": {"type": "string"},
        "transport": {"type": "string"}, "register": {"type": "boolean"}, "keepalive": {"type": "boolean"},
        "auth": {"type": "string", "enum": ["register", "ip"]},
        "codecs": {"type": "array", "items": {"type": "string"}}, "called_header": {"type": "string"},
        "country_code": {"type": "string"}, "notes": {"type": "string"},
        "asks": {"type": "array", "items": {"type": "string"}, "description": "fields the admin must fill"}}},
    "TrunkTest": {"type": "object", "properties": {
        "trunk": {"type": "string"}, "ok": {"type": "boolean"},
        "result": {"type": "string", "enum": ["ok", *REASON_LABELS],
                   "description": "why it failed: credentials, dns, network, or the provider rejecting the address"},
        "detail": {"type": "string", "description": "a sentence saying what happened"},
        "code": {"type": "integer", "nullable": True, "description": "the provider's SIP answer"},
        "target": {"type": "string", "nullable": True, "description": "address:port tried"},
        "method": {"type": "string", "nullable": True, "enum": ["REGISTER", "OPTIONS", None]}}},
    "Did": {"type": "object", "properties": {
        "number": {"type": "string"}, "kind": {"type": "string", "enum": ["exact", "trailing", "range"]},
        **_DID_WRITABLE, "revision": {"type": "integer"}, "updated_at": {"type": "string", "format": "date-time"}}},
    "DidCreate": {"type": "object", "required": ["number", "destination_kind"], "additionalProperties": False,
                  "properties": {"number": {"type": "string", "description": (
                      "+41441234567 (exact E.164), 2304024 (trailing digits) or 0233456* (range)")},
                      **_DID_WRITABLE}},
    "DidWrite": {"type": "object", "additionalProperties": False, "properties": {
        "revision": _REVISION, "number": {"type": "string", "description": "accepted only unchanged"},
        **_DID_WRITABLE}},
    "TrunkGroup": {"type": "object", "properties": {
        "name": _NAME, **_GROUP_WRITABLE, "revision": {"type": "integer"},
        "updated_at": {"type": "string", "format": "date-time"}}},
    "TrunkGroupCreate": {"type": "object", "required": ["name", "members"], "additionalProperties": False,
                         "properties": {"name": _NAME, **_GROUP_WRITABLE}},
    "TrunkGroupWrite": {"type": "object", "additionalProperties": False, "properties": {
        "revision": _REVISION, "name": {"type": "string", "description": "accepted only unchanged"},
        **_GROUP_WRITABLE}},
}
