"""Banned IP addresses (from the SIP edge) and unbanning (written to the event log: sip.ip_unbanned)."""

from __future__ import annotations

import ipaddress

import bottle

from appliance.errors import SipEdgeError
from webui import edge, web
from webui.web import _


def register(app: bottle.Bottle) -> None:
    app.route("/security/bans", "GET", bans_page, perm="bans.read")
    app.route("/security/bans/<ip>/unban", "POST", unban, perm="bans.manage")


def bans_page(error: str = "", status: int = 200):
    unbanned = bottle.request.query.getunicode("unbanned", "") or ""
    notice = _("{ip} is no longer banned.").format(ip=unbanned) if unbanned and status == 200 else ""
    return web.render("bans.tpl", status=status, title=_("Banned IP addresses"), active="bans",
                      bans=edge.bans(web.settings()), notice=notice, error=error)


def unban(ip: str):
    try:
        address = str(ipaddress.ip_address(ip))
    except ValueError:
        return bans_page(error=_("This is not an IP address."), status=400)
    from appliance.sipedge import bans

    try:
        bans.unban(web.settings(), address, by=web.identity().user.login)
        edge.forget_cache()
    except SipEdgeError:
        return bans_page(error=_("SIP edge unreachable: the address could not be unbanned."), status=503)
    return bottle.redirect("/security/bans?" + bottle.urlencode({"unbanned": address}), 303)
