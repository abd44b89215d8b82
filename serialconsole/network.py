"""The network seen from the console: LAN1's address through netconfig, and this machine's interfaces.

netconfig (issue 6) is the one home of the network settings (`net_interface`, LAN1 = eth1) and of applying
them live with the 60 s confirmation window and automatic rollback; the web process owns that window.
"Set LAN1 address" validates and stores the new address through `netconfig.service.apply_network` in the
console's own process, which has no live target: the setting is stored (checked against the DHCP range and
the rest of the configuration, like the web UI's), never applied to an interface from here, and the
console says so. The host's interfaces are only read (psutil).
"""

from __future__ import annotations

import ipaddress

from appliance.errors import ApplianceError, ValidationError

LAN1 = "eth1"
ROLLBACK_S = 60


def parse_lan_address(text: str) -> str:
    """netconfig's own check of an interface address; ValueError says what is wrong."""
    from netconfig.validation import interface_address

    try:
        return str(interface_address(text.strip(), f"interfaces.{LAN1}.address"))
    except ValidationError as exc:
        raise ValueError(f"{text.strip()[:40]!r} {exc.message}") from None


def lan1() -> dict:
    """LAN1 as stored: mode, address, and whether the stored settings were confirmed live."""
    from netconfig import service
    from netconfig.models import NetSettings

    cfg = service.get_network()
    row = NetSettings.get_by_id(1)
    return {**cfg["interfaces"][LAN1], "scenario": cfg["scenario"], "revision": row.revision,
            "applied_revision": row.applied_revision}


def store_lan1(address: str) -> dict:
    """Store LAN1's new static address (ValidationError naming the field if the configuration refuses it)."""
    from netconfig import service

    try:
        return service.apply_network({"interfaces": {LAN1: {"mode": "static", "address": address}}})
    except ApplianceError:
        raise
    except Exception as exc:  # never a traceback on the console
        raise ApplianceError(str(exc)) from exc


def host_interfaces() -> list[tuple[str, str, str, str]]:
    """(name, state, addresses, speed) of this machine's interfaces, read-only (psutil)."""
    import socket

    import psutil

    stats = psutil.net_if_stats()
    rows = []
    for name, addrs in sorted(psutil.net_if_addrs().items()):
        ips = [f"{a.address}/{_prefix(a.netmask)}" for a in addrs
               if a.family in (socket.AF_INET, socket.AF_INET6) and a.address]
        st = stats.get(name)
        state = "up" if st and st.isup else "down"
        speed = f"{st.speed} Mb/s" if st and st.speed else ""
        rows.append((name, state, " ".join(ips) or "-", speed))
    return rows


def _prefix(netmask: str | None) -> str:
    if not netmask:
        return "?"
    try:
        return str(ipaddress.ip_network(f"0.0.0.0/{netmask}").prefixlen)
    except ValueError:
        try:
            return str(bin(int(ipaddress.IPv6Address(netmask))).count("1"))
        except ValueError:
            return "?"
