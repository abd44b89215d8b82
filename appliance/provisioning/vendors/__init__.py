"""The vendor table: every supported phone vendor, once. Adding a vendor is a module + one line here.

The same file name can be several vendors' (`<mac>.cfg`: Yealink, Fanvil, Poly's master file), so a
request is told apart by its User-Agent first, then by the vendor already known for that MAC, then by
the MAC's OUI.
"""

from __future__ import annotations

from appliance.provisioning.vendors.base import Context, FileMatch, Identity, PhonebookEntry, Vendor
from appliance.provisioning.vendors.fanvil import Fanvil
from appliance.provisioning.vendors.gigaset import Gigaset
from appliance.provisioning.vendors.grandstream import Grandstream
from appliance.provisioning.vendors.polycom import Polycom
from appliance.provisioning.vendors.snom import Snom
from appliance.provisioning.vendors.yealink import Yealink

VENDORS: tuple[Vendor, ...] = (Yealink(), Snom(), Grandstream(), Polycom(), Fanvil(), Gigaset())
BY_KEY: dict[str, Vendor] = {v.key: v for v in VENDORS}

__all__ = ["VENDORS", "BY_KEY", "Context", "FileMatch", "Identity", "PhonebookEntry", "Vendor", "identify",
           "match_file", "by_oui"]


def identify(user_agent: str) -> Identity | None:
    """Vendor, model, firmware and MAC from a User-Agent, or None if no vendor recognises it."""
    for vendor in VENDORS:
        found = vendor.identify(user_agent or "")
        if found:
            return found
    return None


def by_oui(mac: str) -> Vendor | None:
    for vendor in VENDORS:
        if mac[:6].lower() in vendor.ouis:
            return vendor
    return None


def match_file(filename: str, ua_vendor: str = "", known_vendor=None) -> FileMatch | None:
    """Which vendor's file this is. `ua_vendor`: the vendor the User-Agent named; `known_vendor`: a
    function mac -> the stored vendor of that device (or "")."""
    if ua_vendor in BY_KEY:
        found = BY_KEY[ua_vendor].match(filename)
        if found:
            return found
    matches = [m for m in (v.match(filename) for v in VENDORS) if m]
    if len(matches) <= 1:
        return matches[0] if matches else None
    mac = next((m.mac for m in matches if m.mac), "")
    if mac and known_vendor is not None:
        stored = known_vendor(mac)
        for m in matches:
            if m.vendor.key == stored:
                return m
    if mac:
        oui_vendor = by_oui(mac)
        for m in matches:
            if oui_vendor is not None and m.vendor is oui_vendor:
                return m
    return matches[0]
