"""Mail: SMTP client profiles, the admin alert address and the outgoing mail queue (Settings > Mail).

Pages under /settings/mail, API under /api/v1/mail. mail.read (admin, technician) sees everything but
passwords; mail.manage (admin) changes profiles and the alert address, sends test emails, retries mail.
"""

from __future__ import annotations

import bottle

from appliance.errors import Conflict, NotFound, ValidationError
from appliance.mail import outbox, profiles
from appliance.mail.models import SECURITY_MODES
from webui import web
from webui.i18n import N_
from webui.openapi import error_responses as _errors
from webui.openapi import json_body as _body
from webui.openapi import json_response as _json
from webui.openapi import ref as _ref
from webui.web import _

PAGE = "/settings/mail"
PREFIX = "/api/v1/mail"
FORM_FIELDS = ("name", "description", "sender", "sender_name", "server", "port", "security", "username",
               "password", "helo")
REASON_LABELS = {
    "network": N_("network"), "dns": N_("DNS"), "tls": N_("TLS"), "auth": N_("authentication failed"),
    "sender": N_("sender refused"), "recipient": N_("recipient refused"), "rejected": N_("message refused"),
    "protocol": N_("SMTP protocol"), "config": N_("configuration"), "error": N_("error"),
}
STATE_LABELS = {"queued": N_("queued"), "sending": N_("sending"), "sent": N_("sent"), "failed": N_("given up")}


def register(app: bottle.Bottle) -> None:
    r = app.route
    r(PAGE, "GET", mail_page, perm="mail.read")
    r(f"{PAGE}/settings", "POST", save_settings, perm="mail.manage")
    r(f"{PAGE}/profiles/new", "GET", new_profile_form, perm="mail.manage")
    r(f"{PAGE}/profiles/new", "POST", create_profile, perm="mail.manage")
    r(f"{PAGE}/profiles/<name>/edit", "GET", edit_profile_form, perm="mail.manage")
    r(f"{PAGE}/profiles/<name>/edit", "POST", edit_profile, perm="mail.manage")
    r(f"{PAGE}/profiles/<name>/delete", "GET", delete_profile_confirm, perm="mail.manage")
    r(f"{PAGE}/profiles/<name>/delete", "POST", delete_profile, perm="mail.manage")
    r(f"{PAGE}/profiles/<name>/test", "POST", test_profile_page, perm="mail.manage")
    r(f"{PAGE}/queue/<queue_id:int>/retry", "POST", retry_page, perm="mail.manage")

    r(f"{PREFIX}/profiles", "GET", api_list, perm="mail.read")
    r(f"{PREFIX}/profiles", "POST", api_create, perm="mail.manage")
    r(f"{PREFIX}/profiles/<name>", "GET", api_get, perm="mail.read")
    r(f"{PREFIX}/profiles/<name>", "PUT", api_update, perm="mail.manage")
    r(f"{PREFIX}/profiles/<name>", "DELETE", api_delete, perm="mail.manage")
    r(f"{PREFIX}/profiles/<name>/test", "POST", api_test, perm="mail.manage")
    r(f"{PREFIX}/settings", "GET", api_settings, perm="mail.read")
    r(f"{PREFIX}/settings", "PUT", api_update_settings, perm="mail.manage")
    r(f"{PREFIX}/queue", "GET", api_queue, perm="mail.read")
    r(f"{PREFIX}/queue/<queue_id:int>", "GET", api_queue_item, perm="mail.read")
    r(f"{PREFIX}/queue/<queue_id:int>/retry", "POST", api_retry, perm="mail.manage")


# -- pages -----------------------------------------------------------------------------------------

def _notice() -> str:
    query = bottle.request.query
    for key, text in (("created", _("Mail profile {name} created.")), ("saved", _("Mail profile {name} saved.")),
                      ("deleted", _("Mail profile {name} deleted.")), ("settings", _("Alert settings saved.")),
                      ("retried", _("Mail {name} will be sent again now."))):
        if query.get(key):
            return text.format(name=query.getunicode(key, ""))
    return ""


def mail_page(test_result: dict | None = None, status: int = 200, settings_values: dict | None = None,
              errors: dict | None = None):
    return web.render("mail.tpl", status=status, title=_("Mail"), active="settings", notice=_notice(),
                      profiles=[profiles.to_public(p) for p in profiles.list_profiles()],
                      settings_values=settings_values or profiles.get_settings(), errors=errors or {},
                      queue=outbox.listing(), test_result=test_result,
                      reason_labels={k: _(v) for k, v in REASON_LABELS.items()},
                      state_labels={k: _(v) for k, v in STATE_LABELS.items()}, scripts=("api.js", "mail.js"))


def save_settings():
    values = {"admin_address": web.form_text("admin_address"), "alert_severity": web.form_text("alert_severity")}
    data = dict(values)
    try:
        web.apply_revision(data, web.form_text("revision"))
        profiles.update_settings(data)
    except (ValidationError, Conflict) as exc:
        field = exc.field if exc.field in values else "_settings"
        return mail_page(status=409 if isinstance(exc, Conflict) else 400,
                         settings_values={**profiles.get_settings(), **values},
                         errors={field: web.message_for(exc)})
    return bottle.redirect(f"{PAGE}?settings=1", 303)


def test_profile_page(name: str):
    to = web.form_text("to")
    try:
        result = {"profile": name, **profiles.send_test(name, {"to": to} if to else {})}
    except ValidationError as exc:
        result = {"profile": name, "ok": False, "reason": "", "message": f"{exc.field}: {web.message_for(exc)}",
                  "to": to}
    except NotFound:
        raise bottle.HTTPError(404, _("No such mail profile.")) from None
    return mail_page(test_result=result)


def retry_page(queue_id: int):
    try:
        outbox.retry(queue_id)
    except NotFound:
        raise bottle.HTTPError(404, _("No such mail.")) from None
    except Conflict as exc:
        return mail_page(status=409, errors={"_queue": web.message_for(exc)})
    return bottle.redirect(f"{PAGE}?retried={queue_id}", 303)


def _form(status: int, mode: str, values: dict, errors: dict | None = None, name: str = "",
          has_password: bool = False) -> str:
    title = _("Add a mail profile") if mode == "new" else _("Mail profile {name}").format(name=name)
    return web.render("mail_form.tpl", status=status, title=title, active="settings", mode=mode, values=values,
                      errors=errors or {}, profile_name=name, has_password=has_password,
                      security_modes=SECURITY_MODES, default_ports=profiles.DEFAULT_PORTS,
                      scripts=("api.js", "mail.js"))


def _submitted() -> dict:
    values = {field: web.form_text(field) for field in FORM_FIELDS}
    values["revision"] = web.form_text("revision")
    values["verify_tls"] = bool(web.form_text("verify_tls"))
    values["is_default"] = bool(web.form_text("is_default"))
    values["remove_password"] = bool(web.form_text("remove_password"))
    return values


def _data(values: dict, with_name: bool) -> dict:
    data = {field: values[field] for field in FORM_FIELDS if field != "name" or with_name}
    data["port"] = values["port"].strip() or None
    if data["port"] is None:
        del data["port"]
    data["verify_tls"] = values["verify_tls"]
    if with_name or values["is_default"]:
        data["is_default"] = values["is_default"]
    if values["remove_password"]:
        data["password"] = None
    return data


def _errors_of(exc: ValidationError | Conflict) -> dict:
    field = exc.field if exc.field in FORM_FIELDS + ("verify_tls", "is_default") else "_form"
    return {field: web.message_for(exc) if field != "_form" or exc.field in ("revision", "body")
            else f"{exc.field}: {web.message_for(exc)}"}


def new_profile_form():
    return _form(200, "new", {"security": "starttls", "port": "587", "verify_tls": True})


def create_profile():
    values = _submitted()
    try:
        profile = profiles.create_profile(_data(values, with_name=True))
    except (ValidationError, Conflict) as exc:
        values["password"] = ""
        return _form(409 if isinstance(exc, Conflict) else 400, "new", values, _errors_of(exc))
    return bottle.redirect(f"{PAGE}?created={profile.name}", 303)


def edit_profile_form(name: str):
    profile = _get(name)
    values = {**profiles.to_public(profile), "port": str(profile.port), "password": "",
              "revision": str(profile.revision)}
    return _form(200, "edit", values, name=name, has_password=bool(profile.password_enc))


def edit_profile(name: str):
    profile = _get(name)
    values = _submitted()
    data = _data(values, with_name=False)
    try:
        web.apply_revision(data, values["revision"])
        profiles.update_profile(name, data)
    except (ValidationError, Conflict) as exc:
        values["password"] = ""
        return _form(409 if isinstance(exc, Conflict) else 400, "edit", values, _errors_of(exc), name=name,
                     has_password=bool(profile.password_enc))
    return bottle.redirect(f"{PAGE}?saved={name}", 303)


def delete_profile_confirm(name: str):
    profile = _get(name)
    question = _("Delete the mail profile {name}?").format(name=name)
    if profile.is_default and len(profiles.list_profiles()) > 1:
        question += " " + _("It is the default profile: the oldest other profile becomes the default.")
    elif profile.is_default:
        question += " " + _("It is the only profile: no more mail will be sent (voicemail, alerts).")
    return web.render("mail_delete.tpl", title=_("Delete {name}").format(name=name), active="settings",
                      question=question, action=f"{PAGE}/profiles/{name}/delete", back=PAGE, errors={})


def delete_profile(name: str):
    _get(name)
    profiles.delete_profile(name)
    return bottle.redirect(f"{PAGE}?deleted={name}", 303)


def _get(name: str):
    try:
        return profiles.get_profile(name)
    except NotFound:
        raise bottle.HTTPError(404, _("No such mail profile.")) from None


# -- API -------------------------------------------------------------------------------------------

def api_list():
    return web.json_body([profiles.to_public(p) for p in profiles.list_profiles()])


def api_create():
    profile = profiles.create_profile(web.read_json_object())
    bottle.response.set_header("Location", f"{PREFIX}/profiles/{profile.name}")
    return web.json_body(profiles.to_public(profile), 201)


def api_get(name: str):
    return web.json_body(profiles.to_public(profiles.get_profile(name)))


def api_update(name: str):
    return web.json_body(profiles.to_public(profiles.update_profile(name, web.read_json_object())))


def api_delete(name: str):
    profiles.delete_profile(name)
    bottle.response.status = 204
    return ""


def api_test(name: str):
    data = web.read_json_object() if (bottle.request.content_length or 0) > 0 else {}
    return web.json_body({"profile": name, **profiles.send_test(name, data)})


def api_settings():
    return web.json_body(profiles.get_settings())


def api_update_settings():
    return web.json_body(profiles.update_settings(web.read_json_object()))


def api_queue():
    return web.json_body(outbox.listing())


def api_queue_item(queue_id: int):
    status = outbox.status(queue_id)
    if status is None:
        raise NotFound("mail", str(queue_id))
    return web.json_body(status)


def api_retry(queue_id: int):
    return web.json_body(outbox.retry(queue_id))


# -- OpenAPI -----------------------------------------------------------------------------------------

_TAG = ["mail"]
_NAME_PARAM = [{"name": "name", "in": "path", "required": True,
                "schema": {"type": "string", "pattern": "^[a-z0-9][a-z0-9_-]{0,63}$"}}]
_ID_PARAM = [{"name": "queue_id", "in": "path", "required": True, "schema": {"type": "integer"}}]

OPENAPI_PATHS = {
    f"{PREFIX}/profiles": {
        "get": {"summary": "SMTP client profiles (never the password: has_password only)", "tags": _TAG,
                "responses": {"200": _json({"type": "array", "items": _ref("MailProfile")}, "Profiles"),
                              **_errors("401", "403")}},
        "post": {"summary": "Add an SMTP profile (the first one becomes the default)", "tags": _TAG,
                 "requestBody": _body(_ref("MailProfileInput")),
                 "responses": {"201": _json(_ref("MailProfile"), "Created"),
                               **_errors("400", "401", "403", "409", "415")}},
    },
    f"{PREFIX}/profiles/{{name}}": {
        "parameters": _NAME_PARAM,
        "get": {"summary": "One SMTP profile", "tags": _TAG,
                "responses": {"200": _json(_ref("MailProfile"), "Profile"), **_errors("401", "403", "404")}},
        "put": {"summary": "Change some fields (password: omitted or \"\" keeps it, null removes it; a stale "
                           "revision is a 409)", "tags": _TAG,
                "requestBody": _body(_ref("MailProfileInput")),
                "responses": {"200": _json(_ref("MailProfile"), "Saved"),
                              **_errors("400", "401", "403", "404", "409", "415")}},
        "delete": {"summary": "Delete (its unsent mail goes out with the default profile)", "tags": _TAG,
                   "responses": {"204": {"description": "Deleted"}, **_errors("401", "403", "404")}},
    },
    f"{PREFIX}/profiles/{{name}}/test": {
        "parameters": _NAME_PARAM,
        "post": {"summary": "Send a test email now and report the server's answer (200 whether it worked or not: "
                            "see ok and reason)", "tags": _TAG,
                 "requestBody": {"required": False, "content": {"application/json": {"schema": {
                     "type": "object", "properties": {"to": {"type": "string", "format": "email",
                                                             "description": "default: the admin alert address, "
                                                                            "else the sender"}}}}}},
                 "responses": {"200": _json(_ref("MailTestResult"), "The server's answer"),
                               **_errors("400", "401", "403", "404", "415")}},
    },
    f"{PREFIX}/settings": {
        "get": {"summary": "Mail settings: the admin alert address (events are mailed there)", "tags": _TAG,
                "responses": {"200": _json(_ref("MailSettings"), "Settings"), **_errors("401", "403")}},
        "put": {"summary": "Change the mail settings", "tags": _TAG, "requestBody": _body(_ref("MailSettings")),
                "responses": {"200": _json(_ref("MailSettings"), "Saved"),
                              **_errors("400", "401", "403", "409", "415")}},
    },
    f"{PREFIX}/queue": {
        "get": {"summary": "The outgoing mail queue: unsent mail first, then the recently sent or given up",
                "tags": _TAG,
                "responses": {"200": _json({"type": "array", "items": _ref("QueuedMail")}, "Queue"),
                              **_errors("401", "403")}},
    },
    f"{PREFIX}/queue/{{queue_id}}": {
        "parameters": _ID_PARAM,
        "get": {"summary": "One queued mail's state", "tags": _TAG,
                "responses": {"200": _json(_ref("QueuedMail"), "State"), **_errors("401", "403", "404")}},
    },
    f"{PREFIX}/queue/{{queue_id}}/retry": {
        "parameters": _ID_PARAM,
        "post": {"summary": "Retry now a queued or given-up mail (409 once sent)", "tags": _TAG,
                 "responses": {"200": _json(_ref("QueuedMail"), "Queued again"),
                               **_errors("401", "403", "404", "409")}},
    },
}

_PROFILE_FIELDS = {
    "name": {"type": "string", "pattern": "^[a-z0-9][a-z0-9_-]{0,63}$", "description": "immutable"},
    "description": {"type": "string", "maxLength": 255},
    "sender": {"type": "string", "format": "email", "description": "envelope sender and From address"},
    "sender_name": {"type": "string", "maxLength": 128, "description": "From display name"},
    "server": {"type": "string", "description": "host name or IP address"},
    "port": {"type": "integer", "minimum": 1, "maximum": 65535,
             "description": "default by security: none 25, starttls 587, tls 465"},
    "security": {"type": "string", "enum": list(SECURITY_MODES), "description": "tls = implicit TLS (SMTPS)"},
    "username": {"type": "string", "maxLength": 254},
    "helo": {"type": "string", "description": "name given in EHLO (default: this host's name)"},
    "verify_tls": {"type": "boolean", "description": "false accepts a self-signed certificate"},
    "is_default": {"type": "boolean"},
}

OPENAPI_SCHEMAS = {
    "MailProfile": {"type": "object", "properties": {
        **_PROFILE_FIELDS, "has_password": {"type": "boolean"}, "revision": {"type": "integer"},
        "updated_at": {"type": "string", "format": "date-time"}}},
    "MailProfileInput": {"type": "object", "required": ["name", "sender", "server"], "properties": {
        **_PROFILE_FIELDS, "password": {"type": "string", "nullable": True, "writeOnly": True, "maxLength": 256},
        "revision": {"type": "integer"}}},
    "MailTestResult": {"type": "object", "properties": {
        "profile": {"type": "string"}, "to": {"type": "string"}, "ok": {"type": "boolean"},
        "reason": {"type": "string", "enum": ["", *REASON_LABELS],
                   "description": "why it failed: network, dns, tls, auth, sender, recipient, rejected..."},
        "code": {"type": "integer", "nullable": True, "description": "the server's SMTP reply code"},
        "text": {"type": "string", "description": "the server's reply text"},
        "message": {"type": "string", "description": "one line for a human"}}},
    "MailSettings": {"type": "object", "properties": {
        "admin_address": {"type": "string", "description": "where warning/alert events are mailed; \"\" = nowhere"},
        "alert_severity": {"type": "string", "enum": list(profiles.ALERT_SEVERITIES)},
        "revision": {"type": "integer"}}},
    "QueuedMail": {"type": "object", "properties": {
        "id": {"type": "integer"},
        "state": {"type": "string", "enum": ["queued", "sending", "sent", "failed"],
                  "description": "failed = given up after a day of retries"},
        "attempts": {"type": "integer"}, "last_reason": {"type": "string"}, "last_error": {"type": "string"},
        "next_attempt_at": {"type": "string", "format": "date-time", "nullable": True},
        "sent_at": {"type": "string", "format": "date-time", "nullable": True},
        "server_reply": {"type": "string"}, "purpose": {"type": "string"}, "reference": {"type": "string"},
        "created_at": {"type": "string", "format": "date-time"}, "profile": {"type": "string", "nullable": True},
        "to": {"type": "array", "items": {"type": "string"}}, "subject": {"type": "string"},
        "size": {"type": "integer"}}},
}
