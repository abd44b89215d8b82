"""The Bottle app factory: one routes module per area, the guard plugin, error pages."""

from __future__ import annotations

import logging

import bottle
from bottle import request

from appliance.settings import Settings
from webui import web
from webui.routes import (
    api,
    auth,
    callgroups,
    calls,
    dialplan,
    ivr,
    pages,
    security,
    sounds,
    switches,
    timeranges,
    users,
)
from webui.routes import backup as backup_area
from webui.routes import conferences as conferences_area
from webui.routes import devices as devices_area
from webui.routes import events as events_area
from webui.routes import fraud as fraud_area
from webui.routes import health as health_area
from webui.routes import mail as mail_area
from webui.routes import network as network_area
from webui.routes import prices as prices_area
from webui.routes import provisioning as provisioning_area
from webui.routes import recordings as recordings_area
from webui.routes import settings as settings_area
from webui.routes import storage as storage_area
from webui.routes import trunks as trunks_area
from webui.routes import voicemail as voicemail_area

log = logging.getLogger(__name__)

# Each area registers its routes on the app; adding an area is one line here.
AREAS = (auth, pages, users, calls, security, settings_area, api, dialplan, timeranges, switches, callgroups, ivr,
         sounds, prices_area, fraud_area, events_area)
AREAS += (trunks_area,)
AREAS += (recordings_area,)
AREAS += (voicemail_area,)
AREAS += (mail_area,)
AREAS += (conferences_area,)
AREAS += (backup_area,)
AREAS += (devices_area, provisioning_area)
AREAS += (storage_area, health_area)
AREAS += (network_area,)


def create_app(settings: Settings) -> bottle.Bottle:
    """A ready WSGI app; the caller has opened the store and loaded the secret key."""
    app = bottle.Bottle(catchall=True)
    app.config["json.enable"] = False  # JSON answers are explicit (webui.web.json_body)
    app.config[web.SETTINGS_KEY] = settings
    app.install(web.GuardPlugin())
    app.add_hook("before_request", web.limit_body)
    app.add_hook("after_request", web.add_security_headers)
    for area in AREAS:
        area.register(app)
    for status in (400, 403, 404, 405, 413, 500):
        app.error(status)(_error_handler)
    return app


def _error_handler(error: bottle.HTTPError) -> str:
    """Errors Bottle raises itself (no route, wrong method, unreadable request) and real bugs."""
    status = error.status_code
    if status >= 500:
        log.error("internal error on %s %s: %s\n%s", request.method, request.path, error.exception,
                  error.traceback or "")
    web.add_security_headers()
    if web.is_api_request():
        codes = {400: "bad_request", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
                 413: "payload_too_large", 500: "internal_error"}
        return web.json_error(status, codes.get(status, "error"))
    try:
        messages = {
            400: web._("The request could not be read."),
            403: web._("You are not allowed to see this page."),
            404: web._("This page or item does not exist (any more)."),
            405: web._("This page cannot be used that way."),
            413: web._("What you sent is too large."),
        }
        return web.error_page(status, messages.get(status, web._("Something went wrong on the appliance. "
                                                                  "The error has been logged.")))
    except Exception:
        log.exception("error page for %s failed", status)
        bottle.response.content_type = "text/plain; charset=utf-8"
        return f"Error {status}"
