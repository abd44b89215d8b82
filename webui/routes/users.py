"""Users: list and search with registration status, add, edit, delete, SIP password."""

from __future__ import annotations

import bottle

from appliance.auth.passwords import generate_password
from appliance.dialplan.models import DEFAULT_USER_PROCEDURE, INTERNAL
from appliance.dialplan.procedures import list_procedures
from appliance.errors import Conflict, ValidationError
from appliance.system.models import LANGUAGES
from appliance.users import ROLES, create_user, delete_user, get_user, list_users, reveal_sip_password, update_user
from appliance.users.service import CALLER_ID_MODES
from webui import edge, web
from webui.web import _

FORM_FIELDS = ("extension", "first_name", "last_name", "email", "role", "language", "dialplan", "mobile",
               "caller_id_mode", "caller_id_number", "recording_mode", "sip_password", "web_password")
SEARCH_MAX = 64


def register(app: bottle.Bottle) -> None:
    app.route("/users", "GET", users_page, perm="users.read")
    app.route("/users/new", "GET", new_form, perm="users.manage")
    app.route("/users/new", "POST", create, perm="users.manage")
    app.route("/users/<extension>/edit", "GET", edit_form, perm="users.manage")
    app.route("/users/<extension>/edit", "POST", edit, perm="users.manage")
    app.route("/users/<extension>/delete", "GET", delete_confirm, perm="users.manage")
    app.route("/users/<extension>/delete", "POST", delete, perm="users.manage")
    app.route("/users/<extension>/sip-password", "POST", reveal, perm="users.reveal_sip")


def users_page():
    search = (bottle.request.query.getunicode("q", "") or "").strip()[:SEARCH_MAX]
    query = bottle.request.query
    notice = ""
    if query.get("created"):
        notice = _("User {extension} created.").format(extension=query.getunicode("created", ""))
    elif query.get("saved"):
        notice = _("User {extension} saved.").format(extension=query.getunicode("saved", ""))
    elif query.get("deleted"):
        notice = _("User {extension} deleted.").format(extension=query.getunicode("deleted", ""))
    elif query.get("changed"):
        notice = _("Your password has been changed.")
    return web.render("users.tpl", title=_("Users"), active="users", users=list_users(search), search=search,
                      registrations=edge.registrations_by_extension(web.settings(), fresh=True), notice=notice)


def _form_data(editing: bool) -> dict:
    """The submitted user fields; on edit, empty password fields mean "keep the current one"."""
    data = {name: web.form_text(name) for name in FORM_FIELDS}
    if not data["web_password"]:
        del data["web_password"]
    for kept in ("dialplan", "caller_id_mode", "recording_mode"):
        if not data[kept]:
            del data[kept]  # a form without the field keeps the user's value
    if editing and not data["sip_password"]:
        del data["sip_password"]
    return data


def _user_form(status: int, mode: str, values: dict, errors: dict | None = None, extension: str = "",
               revision: str = "", notice: str = "") -> str:
    title = _("New user") if mode == "new" else _("Edit user {extension}").format(extension=extension)
    return web.render("user_form.tpl", status=status, title=title, active="users", mode=mode, values=values,
                      errors=errors or {}, extension=extension, revision=revision, roles=ROLES,
                      languages=LANGUAGES, notice=notice,
                      procedures=[p.name for p in list_procedures() if p.name != INTERNAL],
                      caller_id_modes=CALLER_ID_MODES)


def _errors_for(exc: ValidationError | Conflict) -> dict:
    field = exc.field if exc.field in FORM_FIELDS else "_form"
    return {field: web.message_for(exc)}


def new_form():
    values = {"role": "user", "language": web.language(), "dialplan": DEFAULT_USER_PROCEDURE,
              "caller_id_mode": "appliance", "recording_mode": "never",
              "sip_password": generate_password(16)}
    return _user_form(200, "new", values)


def create():
    values = {name: web.form_text(name) for name in FORM_FIELDS if name != "web_password"}
    if web.form().get("action") == "generate":
        values["sip_password"] = generate_password(16)
        return _user_form(200, "new", values, notice=_("A new SIP password was generated; save to keep it."))
    try:
        user, generated = create_user(_form_data(editing=False))
    except ValidationError as exc:
        return _user_form(400, "new", values, _errors_for(exc))
    if generated:
        return web.render("secret.tpl", title=_("User {extension} created").format(extension=user.extension),
                          active="users", user_row=user, secret=generated)
    return bottle.redirect("/users?" + bottle.urlencode({"created": user.extension}), 303)


def _values_of(user) -> dict:
    return {"extension": user.extension or "", "first_name": user.first_name, "last_name": user.last_name,
            "email": user.email or "", "role": user.role, "language": user.language, "dialplan": user.dialplan,
            "mobile": user.mobile, "caller_id_mode": user.caller_id_mode, "caller_id_number": user.caller_id_number,
            "recording_mode": user.recording_mode, "sip_password": ""}


def edit_form(extension: str):
    user = get_user(extension)
    return _user_form(200, "edit", _values_of(user), extension=user.extension, revision=str(user.revision))


def edit(extension: str):
    user = get_user(extension)
    values = {name: web.form_text(name) for name in FORM_FIELDS if name != "web_password"}
    revision = web.form_text("revision")
    if web.form().get("action") == "generate":
        values["sip_password"] = generate_password(16)
        return _user_form(200, "edit", values, extension=user.extension, revision=revision,
                          notice=_("A new SIP password was generated; save to keep it."))
    data = _form_data(editing=True)
    try:
        web.apply_revision(data, revision)
        user = update_user(extension, data)
    except Conflict as exc:
        return _user_form(409, "edit", values, _errors_for(exc), extension=extension, revision=revision)
    except ValidationError as exc:
        return _user_form(400, "edit", values, _errors_for(exc), extension=extension, revision=revision)
    return bottle.redirect("/users?" + bottle.urlencode({"saved": user.extension}), 303)


def delete_confirm(extension: str):
    user = get_user(extension)
    return web.render("user_delete.tpl", title=_("Delete user {extension}").format(extension=user.extension),
                      active="users", user_row=user)


def delete(extension: str):
    user = get_user(extension)
    if user.id == web.current_user().id:
        return web.error_page(400, _("You cannot delete your own account."))
    delete_user(extension)
    return bottle.redirect("/users?" + bottle.urlencode({"deleted": extension}), 303)


def reveal(extension: str):
    user = get_user(extension)
    return web.render("secret.tpl", title=_("SIP password of {extension}").format(extension=user.extension),
                      active="users", user_row=user, secret=reveal_sip_password(user) or "")
