"""Home, the user portal stub, static files, and the areas still to come (said plainly)."""

from __future__ import annotations

from pathlib import Path

import bottle

from webui import web
from webui.permissions import home_for
from webui.web import _

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"

# Menu entries not built yet: what each will hold, shown on its page.
COMING: dict[str, tuple[str, str]] = {}


def register(app: bottle.Bottle) -> None:
    app.route("/", "GET", home, perm="portal.view")
    app.route("/portal", "GET", portal, perm="portal.view")
    app.route("/static/<path:path>", "GET", static, public=True)
    for area in COMING:
        app.route(f"/{area}", "GET", _coming(area), perm="status.view")


def home():
    return bottle.redirect(home_for(web.current_user().role), 303)


def portal():
    return web.render("portal.tpl", title=_("My phone"), active="portal")


def static(path: str):
    return bottle.static_file(path, root=str(STATIC_DIR))


def _coming(area: str):
    title, text = COMING[area]

    def page():
        return web.render("coming.tpl", title=_(title), text=_(text), active=area)

    page.__name__ = f"coming_{area}"
    return page
