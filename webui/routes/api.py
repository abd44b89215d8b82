"""The JSON API under /api/v1/ (contract in webui/openapi.py, served at /api/v1/openapi.json)."""

from __future__ import annotations

import ipaddress

import bottle

from appliance.auth import sessions
from appliance.auth.account import authenticate, change_password
from appliance.cdr import queries
from appliance.errors import SipEdgeError
from appliance.system import get_system_settings
from appliance.system.service import update_system_settings
from appliance.users import create_user, delete_user, get_user, list_users, reveal_sip_password, update_user
from appliance.users.service import EDITABLE_FIELDS
from webui import edge, openapi, web
from webui.web import ApiError

PREFIX = "/api/v1"
USER_FIELDS = EDITABLE_FIELDS
REGISTRATION_FIELDS = ("extension", "contact", "user_agent", "source_ip", "expires")
BAN_FIELDS = ("ip", "expires", "failures")


def register(app: bottle.Bottle) -> None:
    r = app.route
    r(f"{PREFIX}/openapi.json", "GET", spec, public=True)
    r(f"{PREFIX}/session", "POST", session_open, public=True)
    r(f"{PREFIX}/session", "DELETE", session_close, perm="account.self", pending_ok=True)
    r(f"{PREFIX}/session/password", "POST", session_password, public=True)
    r(f"{PREFIX}/status", "GET", status, perm="status.view")
    r(f"{PREFIX}/users", "GET", users_list, perm="users.read")
    r(f"{PREFIX}/users", "POST", users_create, perm="users.manage")
    r(f"{PREFIX}/users/<extension>", "GET", users_get, perm="users.read")
    r(f"{PREFIX}/users/<extension>", "PUT", users_update, perm="users.manage")
    r(f"{PREFIX}/users/<extension>", "DELETE", users_delete, perm="users.manage")
    r(f"{PREFIX}/users/<extension>/sip_password", "GET", users_sip_password, perm="users.reveal_sip")
    r(f"{PREFIX}/registrations", "GET", registrations, perm="users.read")
    r(f"{PREFIX}/calls", "GET", calls, perm="calls.read")
    r(f"{PREFIX}/cdr", "GET", cdr, perm="calls.read")
    r(f"{PREFIX}/bans", "GET", bans_list, perm="bans.read")
    r(f"{PREFIX}/bans/<ip>", "DELETE", bans_delete, perm="bans.manage")
    r(f"{PREFIX}/settings", "GET", settings_get, perm="settings.read")
    r(f"{PREFIX}/settings", "PUT", settings_update, perm="settings.manage")


def spec():
    return web.json_body(openapi.document())


# -- session ----------------------------------------------------------------------

def _text_field(data: dict, name: str) -> str:
    value = data.get(name)
    if not isinstance(value, str) or not value:
        raise ApiError(400, "invalid", name, f"{name}: is required (text)")
    return value


def session_open():
    data = web.read_json_object(("username", "password"))
    username, password = _text_field(data, "username"), _text_field(data, "password")
    user = authenticate(username, password, web.client_ip())
    if user.must_change_password:
        raise ApiError(403, "password_change_required", None,
                       "set a new password first: POST /api/v1/session/password")
    token, row = sessions.start_session(user, "api")
    return web.json_body({"token": token, "expires": row.expires_at.isoformat(timespec="seconds") + "Z",
                          "role": user.role})


def session_close():
    ident = web.identity()
    if ident.via == "bearer":
        sessions.end_session(web.bearer_token())
    else:
        sessions.end_session(bottle.request.get_cookie(web.session_cookie()))
    return web.json_body({"ok": True})


def session_password():
    data = web.read_json_object(("username", "current_password", "new_password"))
    username = _text_field(data, "username")
    current = _text_field(data, "current_password")
    if "new_password" not in data:
        raise ApiError(400, "invalid", "new_password", "new_password: is required")
    change_password(username, current, data["new_password"], web.client_ip())
    return web.json_body({"ok": True})


def status():
    return web.json_body(web.status_strip())


# -- users ---------------------------------------------------------------------------

def _public(user) -> dict:
    return user.to_public()


def users_list():
    search = bottle.request.query.getunicode("search", "") or ""
    if len(search) > 64:
        raise ApiError(400, "invalid", "search", "search: must be at most 64 characters long")
    return web.json_body([_public(u) for u in list_users(search.strip())])


def users_create():
    data = web.read_json_object()
    user, generated = create_user(data)
    body = _public(user)
    if generated:
        body["sip_password"] = generated  # shown once, here only
    bottle.response.set_header("Location", f"{PREFIX}/users/{user.extension}")
    return web.json_body(body, 201)


def users_get(extension: str):
    return web.json_body(_public(get_user(extension)))


def users_update(extension: str):
    data = web.read_json_object()
    return web.json_body(_public(update_user(extension, data)))


def users_delete(extension: str):
    user = get_user(extension)
    if user.id == web.current_user().id:
        raise ApiError(409, "conflict", "extension", "you cannot delete your own account")
    delete_user(extension)
    bottle.response.status = 204
    return ""


def users_sip_password(extension: str):
    user = get_user(extension)
    return web.json_body({"extension": user.extension, "sip_password": reveal_sip_password(user)})


# -- SIP edge and calls ----------------------------------------------------------------

def registrations():
    regs = edge.registrations(web.settings(), fresh=True)
    if regs is None:
        raise SipEdgeError("SIP edge unreachable")
    return web.json_body([{k: r.get(k) for k in REGISTRATION_FIELDS} for r in regs])


def calls():
    return web.json_body([queries.to_public(c) for c in queries.in_progress()])


def cdr():
    params = {k: bottle.request.query.getunicode(k, "") for k in ("from", "to", "caller", "callee",
                                                                  "disposition", "limit", "offset")}
    known = set(params)
    for key in bottle.request.query.keys():
        if key not in known:
            raise ApiError(400, "invalid", key[:64], f"{key[:64]}: is not a known filter")
    return web.json_body([queries.to_public(c) for c in queries.history(queries.parse_filter(params))])


def bans_list():
    found = edge.bans(web.settings())
    if found is None:
        raise SipEdgeError("SIP edge unreachable")
    return web.json_body([{k: b.get(k) for k in BAN_FIELDS} for b in found])


def bans_delete(ip: str):
    try:
        address = str(ipaddress.ip_address(ip))
    except ValueError:
        raise ApiError(400, "invalid", "ip", "ip: is not an IP address") from None
    from appliance.sipedge import bans

    bans.unban(web.settings(), address, by=web.identity().user.login)
    edge.forget_cache()
    bottle.response.status = 204
    return ""


# -- system settings ---------------------------------------------------------------------

def settings_get():
    return web.json_body(get_system_settings().to_public())


def settings_update():
    return web.json_body(update_system_settings(web.read_json_object()).to_public())
