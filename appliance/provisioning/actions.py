"""Re-provision and reboot a phone: a SIP NOTIFY with its vendor's event, sent by Kamailio
(RPC `tm.t_uac_start`) to the contact the phone registered (RPC `ul.lookup`), as MWI does.

Only the contact registered from the device's own address is notified: a user's other phones are left
alone. A phone that is not registered cannot be reached (Conflict: reboot it by hand).
"""

from __future__ import annotations

import logging
import re
import secrets

from appliance.errors import Conflict, SipEdgeError
from appliance.provisioning import service
from appliance.provisioning.vendors import BY_KEY
from appliance.settings import Settings
from appliance.system.models import get_system_settings

log = logging.getLogger(__name__)
ACTIONS = ("resync", "reboot")


def _host(uri: str) -> str:
    m = re.search(r"@?\[?([0-9A-Fa-f.:]+?)\]?(?::\d+)?(?:;|$)", uri.split(":", 1)[-1])
    return m.group(1) if m else ""


def device_contacts(settings: Settings, device) -> list[dict]:
    from appliance.voicemail.mwi import contacts

    if device.user is None or not device.user.extension:
        return []
    found = contacts(settings, device.user.extension)
    if device.ip:
        return [c for c in found if _host(c["next_hop"] or c["uri"]) == device.ip]
    return found


def event_for(device, action: str) -> str:
    vendor = BY_KEY.get(device.vendor)
    if action == "reboot":
        return vendor.reboot_event if vendor else "check-sync;reboot=true"
    return vendor.sync_event if vendor else "check-sync"


def perform(settings: Settings, mac: str, action: str) -> dict:
    """Send the NOTIFY; returns {"action", "event", "sent"}. Conflict if the phone is not registered."""
    from appliance.sipedge import rpc

    device = service.get_device(mac)
    if action not in ACTIONS:
        raise Conflict("action", f"must be one of {', '.join(ACTIONS)}")
    targets = device_contacts(settings, device)
    if not targets:
        raise Conflict("device", "the phone is not registered: it cannot be reached (restart it by hand)")
    domain = get_system_settings().sip_domain
    event = event_for(device, action)
    extension = device.user.extension
    sent = 0
    for contact in targets:
        headers = (f"From: <sip:provisioning@{domain}>;tag={secrets.token_hex(8)}\r\n"
                   f"To: <sip:{extension}@{domain}>\r\n"
                   f"Call-ID: prov-{secrets.token_hex(12)}@{domain}\r\n"
                   f"Contact: <sip:provisioning@{domain}>\r\n"
                   f"Event: {event}\r\n"
                   "Subscription-State: terminated\r\n")
        try:
            rpc.call(settings, "tm.t_uac_start", "NOTIFY", contact["uri"], contact["next_hop"] or ".",
                     contact["socket"] or ".", headers, "")
            sent += 1
        except SipEdgeError as exc:
            log.warning("%s NOTIFY to %s (%s) failed: %s", event, device.mac, contact["uri"], exc)
    log.info("%s of %s: NOTIFY %s sent to %d contact(s)", action, device.mac, event, sent)
    return {"action": action, "event": event, "sent": sent}
