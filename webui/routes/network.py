"""Network settings (scenario, ports, apply + confirm), DHCP server settings and leases (Settings > Network, DHCP).

Pages /settings/network and /settings/dhcp (forms sent through the API by network.js, with the confirmation
countdown); API under /api/v1/network and /api/v1/dhcp. network.read (admin, technician) sees everything;
network.manage (admin) applies and confirms.

Where changes go (`netconfig.service.configure`, once per web process): on the image, the interfaces of the
namespace the web server runs in; in lab mode with `--lab-lan`, the LAN namespace the supervisor made (named in
`<run>/lab-lan.json`); in plain lab mode, nowhere: settings are stored and the persistent files rendered, the
host's network is never touched.
"""

from __future__ import annotations

import json
import logging

import bottle

from netconfig import PORTS, SCENARIOS, plan, service
from netconfig import validation as nv
from netconfig.netns import Target
from webui import web
from webui.openapi import error_responses as _errors
from webui.openapi import json_body as _body
from webui.openapi import json_response as _json
from webui.openapi import ref as _ref
from webui.web import _

log = logging.getLogger(__name__)

NET_PAGE, DHCP_PAGE = "/settings/network", "/settings/dhcp"
NET_API, DHCP_API = "/api/v1/network", "/api/v1/dhcp"
LAB_LAN_FILE = "lab-lan.json"


def register(app: bottle.Bottle) -> None:
    _configure(app.config[web.SETTINGS_KEY])
    r = app.route
    r(NET_PAGE, "GET", network_page, perm="network.read")
    r(DHCP_PAGE, "GET", dhcp_page, perm="network.read")
    r(NET_API, "GET", api_network, perm="network.read")
    r(NET_API, "PUT", api_apply, perm="network.manage")
    r(f"{NET_API}/status", "GET", api_status, perm="network.read")
    r(f"{NET_API}/confirm", "POST", api_confirm, perm="network.manage")
    r(DHCP_API, "GET", api_dhcp, perm="network.read")
    r(DHCP_API, "PUT", api_update_dhcp, perm="network.manage")
    r(f"{DHCP_API}/leases", "GET", api_leases, perm="network.read")


def _configure(settings) -> None:
    """Pick this process's live target (see the module docstring); roll back a change a crash left pending."""
    if getattr(service, "_configured_for", None) == str(settings.data_dir):
        return
    target = None
    marker = settings.run_dir / LAB_LAN_FILE
    if not settings.lab:
        from pathlib import Path

        target = Target(None, settings.run_dir / "net", Path("/"))
    elif marker.exists():
        try:
            target = Target(json.loads(marker.read_text())["namespace"], settings.run_dir / "net",
                            settings.data_dir / "image")
        except (OSError, ValueError, KeyError) as exc:
            log.error("lab LAN marker %s unreadable: %s", marker, exc)
    service.configure(target, plan.VoicePorts.from_settings(settings), http_port=settings.http_port)
    service._configured_for = str(settings.data_dir)
    if target is not None:
        try:
            service.start()
            service.start_watcher()
        except Exception:
            log.exception("network recovery / DHCP server start failed")


# -- pages ---------------------------------------------------------------------------------------------------

def network_page():
    return web.render("network.tpl", title=_("Network"), active="settings", cfg=service.get_network(),
                      net_status=service.status(), live=service.live_interfaces(), ports=PORTS, scenarios=SCENARIOS,
                      modes=nv.MODES, scripts=("api.js", "network.js"))


def dhcp_page():
    return web.render("dhcp.tpl", title=_("DHCP server"), active="settings", cfg=service.get_dhcp(),
                      info=service.dhcp_info(), leases=service.leases(), ports=PORTS,
                      scripts=("api.js", "network.js"))


# -- API -----------------------------------------------------------------------------------------------------

def api_network():
    return web.json_body({"settings": service.get_network(), "status": service.status(),
                          "interfaces": service.live_interfaces()})


def api_apply():
    return web.json_body(service.apply_network(web.read_json_object()))


def api_status():
    return web.json_body(service.status())


def api_confirm():
    host = (bottle.request.get_header("Host") or "").rsplit(":", 1)[0].strip("[]")
    return web.json_body(service.confirm(host or None))


def api_dhcp():
    return web.json_body({**service.get_dhcp(), **service.dhcp_info()})


def api_update_dhcp():
    service.update_dhcp(web.read_json_object())
    return web.json_body({**service.get_dhcp(), **service.dhcp_info()})


def api_leases():
    return web.json_body(service.leases())


# -- OpenAPI -------------------------------------------------------------------------------------------------

_NTAG, _DTAG = ["network"], ["dhcp"]
_ADDR = {"type": "string", "description": "IPv4 address"}

OPENAPI_SCHEMAS = {
    "NetInterface": {"type": "object", "properties": {
        "mode": {"type": "string", "enum": list(nv.MODES)},
        "address": {"type": "string", "description": "static: address/prefix, e.g. 10.135.0.1/24"},
        "gateway": _ADDR, "dns": {"type": "array", "items": _ADDR, "maxItems": 3},
        "mtu": {"type": "integer", "minimum": nv.MTU_MIN, "maximum": nv.MTU_MAX},
        "vlan": {"type": ["integer", "null"], "minimum": 1, "maximum": 4094}}},
    "NetworkSettings": {"type": "object", "properties": {
        "scenario": {"type": "string", "enum": list(SCENARIOS),
                     "description": "shared (eth0 only), separate (eth0 WAN + eth1 LAN), shaper (bridge wbr0 of "
                                    "eth0+eth2 with eth0's settings, limits on the WAN, voice first)"},
        "shaper": {"type": "object", "properties": {"upload_kbit": {"type": "integer"},
                                                    "download_kbit": {"type": "integer"}}},
        "interfaces": {"type": "object", "properties": {p: _ref("NetInterface") for p in PORTS}},
        "revision": {"type": "integer"}}},
    "NetworkStatus": {"type": "object", "properties": {
        "live": {"type": "boolean", "description": "false in plain lab mode: stored, never applied"},
        "pending": {"type": "boolean", "description": "waiting for confirmation; rolled back when the window ends"},
        "seconds_left": {"type": ["integer", "null"]}, "confirm_addresses": {"type": "array", "items": _ADDR},
        "result": {"type": "object", "description": "applied, missing ports, degraded features, rolled_back"},
        "rollback_failed": {"type": ["string", "null"],
                            "description": "why putting the previous settings back failed (retried until it works)"},
        "rollback_attempts": {"type": "integer"}}},
    "DhcpSettings": {"type": "object", "properties": {
        **{k: {"type": "boolean"} for k in ("enabled", "refuse_unknown")},
        "interface": {"type": "string", "enum": list(PORTS)},
        **{k: _ADDR for k in ("range_start", "range_end", "gateway", "dns1", "dns2", "ntp1", "ntp2", "wins1",
                              "wins2")},
        "lease_minutes": {"type": "integer"}, "max_leases": {"type": "integer"},
        "domain": {"type": "string"}, "provisioning_name": {"type": "string"},
        "static_leases": {"type": "array", "items": {"type": "object", "properties": {
            "mac": {"type": "string"}, "address": _ADDR, "hostname": {"type": "string"}}}},
        "revision": {"type": "integer"},
        "provisioning_url": {"type": "string", "readOnly": True, "description": "sent as options 66 and 160"}}},
    "DhcpLease": {"type": "object", "properties": {
        "mac": {"type": "string"}, "vendor": {"type": "string"}, "ip": _ADDR, "hostname": {"type": "string"},
        "expires": {"type": ["string", "null"], "format": "date-time"}}},
}

OPENAPI_PATHS = {
    NET_API: {
        "get": {"summary": "Network settings, the confirmation state and the interfaces as they are", "tags": _NTAG,
                "responses": {"200": _json({"type": "object"}, "Settings"), **_errors("401", "403")}},
        "put": {"summary": "Apply network settings (any part); must be confirmed within 60 s from the new address, "
                           "else the previous ones come back", "tags": _NTAG,
                "requestBody": _body(_ref("NetworkSettings")),
                "responses": {"200": _json(_ref("NetworkStatus"), "Applied, waiting for confirmation"),
                              **_errors("400", "401", "403", "409", "415")}},
    },
    f"{NET_API}/status": {"get": {"summary": "Confirmation countdown and last result", "tags": _NTAG,
                                  "responses": {"200": _json(_ref("NetworkStatus"), "Status"),
                                                **_errors("401", "403")}}},
    f"{NET_API}/confirm": {"post": {"summary": "Keep the applied settings (from one of the new addresses)",
                                    "tags": _NTAG,
                                    "responses": {"200": _json(_ref("NetworkStatus"), "Confirmed"),
                                                  **_errors("401", "403", "409")}}},
    DHCP_API: {
        "get": {"summary": "DHCP server settings and the provisioning URL it sends", "tags": _DTAG,
                "responses": {"200": _json(_ref("DhcpSettings"), "Settings"), **_errors("401", "403")}},
        "put": {"summary": "Change DHCP server settings; dnsmasq restarts with them", "tags": _DTAG,
                "requestBody": _body(_ref("DhcpSettings")),
                "responses": {"200": _json(_ref("DhcpSettings"), "Saved"),
                              **_errors("400", "401", "403", "409", "415")}},
    },
    f"{DHCP_API}/leases": {"get": {"summary": "Current leases (vendor from the MAC's OUI)", "tags": _DTAG,
                                   "responses": {"200": _json({"type": "array", "items": _ref("DhcpLease")},
                                                              "Leases"), **_errors("401", "403")}}},
}
