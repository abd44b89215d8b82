"""Settings > Info: system health (CPU, memory, disks, load, uptime), the services with state and restart,
the ports the appliance needs, links to the banned IPs and the event log.

health.read (admin, technician) sees it; health.manage (admin, technician) restarts a service through
the supervisor (serialconsole.services.restart, the one home the consoles use too). Restarting the web
service answers first and restarts a moment later (the answer comes from the process being restarted).
"""

from __future__ import annotations

import threading

import bottle

from appliance.errors import Conflict, NotFound
from storage import health
from webui import web
from webui.openapi import error_responses as _errors
from webui.openapi import json_response as _json
from webui.web import _

PAGE = "/settings/info"
API = "/api/v1/system/health"
RESTART = "/api/v1/system/services/<name:re:[a-z]{1,32}>/restart"
WEB_RESTART_DELAY_S = 1.0


def register(app: bottle.Bottle) -> None:
    app.route(PAGE, "GET", info_page, perm="health.read")
    app.route(API, "GET", api_health, perm="health.read")
    app.route(RESTART, "POST", api_restart, perm="health.manage")


def info_page():
    from webui.permissions import allowed

    ident = web.identity()
    return web.render("health.tpl", title=_("Info"), active="settings", data=health.health(web.settings()),
                      can_restart=ident is not None and allowed(ident.user.role, "health.manage"),
                      scripts=("api.js", "health.js"))


def api_health():
    return web.json_body(health.health(web.settings()))


def api_restart(name: str):
    from serialconsole import services

    settings = web.settings()
    if name not in services.SERVICES:
        raise NotFound("service", name)
    if settings.lab and services.supervisor_process(settings) is None:
        raise Conflict("name", "the supervisor is not running: nothing to restart")
    if name == "web":
        def later() -> None:
            import time

            time.sleep(WEB_RESTART_DELAY_S)
            try:
                services.restart(settings, name)
            except services.RestartFailed:
                pass

        threading.Thread(target=later, name="restart-web", daemon=True).start()
        return web.json_body({"name": name, "restarting": True,
                              "message": "the web service restarts in a moment; reload the page"}, 202)
    try:
        message = services.restart(settings, name)
    except services.RestartFailed as exc:
        raise Conflict("name", str(exc)) from None
    return web.json_body({"name": name, "restarting": False, "message": message})


_HEALTH = {"type": "object", "properties": {
    "cpu": {"type": "object", "description": "percent, count"},
    "memory": {"type": "object", "description": "total/available/used bytes, percent, swap"},
    "load": {"type": "object", "description": "1, 5, 15 minute load averages"},
    "uptime": {"type": "object", "description": "system_s, appliance_s (null when not supervised)"},
    "disks": {"type": "array", "items": {"type": "object"}, "description": "data folder and USB volumes"},
    "services": {"type": "array", "items": {"type": "object"},
                 "description": "name, state (running, stopped, unknown), pid, uptime, rss, detail"},
    "ports": {"type": "array", "items": {"type": "object"},
              "description": "name, protocol, port (last_port for a range), state (ok, in_use, not_listening, free, "
                             "blocked), detail"},
    "storage_missing": {"type": "array", "items": {"type": "string"},
                        "description": "labels of USB volumes holding data that are not plugged in"},
    "links": {"type": "object", "description": "banned_ips, events, storage (pages)"}}}

OPENAPI_PATHS = {
    API: {"get": {"summary": "System health: CPU, memory, disks, load, uptime, services, required ports",
                  "responses": {"200": _json(_HEALTH, "health"), **_errors("401", "403")}}},
    "/api/v1/system/services/{name}/restart": {"post": {
        "summary": "Restart a service (kamailio, callcore, web) through the supervisor",
        "parameters": [{"name": "name", "in": "path", "required": True,
                        "schema": {"type": "string", "enum": ["kamailio", "callcore", "web"]}}],
        "responses": {"200": _json({"type": "object"}, "restarted"),
                      "202": _json({"type": "object"}, "web: restarting in a moment"),
                      **_errors("401", "403", "404", "409")}}},
}
