"""Settings: the appliance's system settings and the SIP edge's security thresholds."""

from __future__ import annotations

import bottle

from appliance.errors import Conflict, ValidationError
from appliance.system import get_system_settings
from appliance.system.models import LANGUAGES
from appliance.system.service import EDITABLE_FIELDS, update_system_settings
from appliance.system.validation import COUNTRIES, RANGES, timezones
from webui import web
from webui.web import _

# Each language by its own name: the admin picks the one they read.
# Fields a submitted form may leave out (kept as stored).
OPTIONAL = ("national_prefix", "international_prefix")
LANGUAGE_NAMES = {"fr": "Français", "en": "English", "de": "Deutsch", "it": "Italiano"}


def register(app: bottle.Bottle) -> None:
    app.route("/settings", "GET", settings_page, perm="settings.read")
    app.route("/settings", "POST", save, perm="settings.manage")


def _page(values: dict, revision: str, status: int = 200, errors: dict | None = None, notice: str = "") -> str:
    return web.render("settings.tpl", status=status, title=_("Settings"), active="settings", values=values,
                      revision=revision, errors=errors or {}, notice=notice, countries=COUNTRIES,
                      timezones=timezones(), languages=[(code, LANGUAGE_NAMES.get(code, code)) for code in LANGUAGES],
                      ranges=RANGES)


def settings_page():
    system = get_system_settings()
    notice = _("Settings saved.") if bottle.request.query.get("saved") else ""
    values = {field: str(getattr(system, field)) for field in EDITABLE_FIELDS}
    return _page(values, str(system.revision), notice=notice)


def save():
    values = {field: web.form_text(field) for field in EDITABLE_FIELDS}
    revision = web.form_text("revision")
    # A form from before the dialling prefixes existed leaves them as they are.
    data = {field: value for field, value in values.items() if field not in OPTIONAL or field in web.form()}
    try:
        web.apply_revision(data, revision)
        update_system_settings(data)
    except Conflict as exc:
        return _page(values, revision, 409, {"_form": web.message_for(exc)})
    except ValidationError as exc:
        field = exc.field if exc.field in EDITABLE_FIELDS else "_form"
        return _page(values, revision, 400, {field: web.message_for(exc)})
    return bottle.redirect("/settings?saved=1", 303)
