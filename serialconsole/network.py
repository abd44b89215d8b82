"""LAN addresses asked for on the console, and what the console can say about the network.

The console never touches the host's interfaces. "Set LAN1 address" stores a
request (`network_change`, schema V15): netconfig (issue 6) applies the
oldest pending request with the web UI's rollback safety (the new address is
kept only if someone confirms it from the new address within 60 s, else the
previous one comes back) and sets its state to applied / rolled_back.
Until netconfig exists the request waits as `pending`.
"""

from __future__ import annotations

import datetime as dt
import ipaddress

import peewee

from appliance.store import BaseModel

DEFAULT_LAN1 = "10.135.0.1/24"
INTERFACES = ("lan1",)
ROLLBACK_S = 60


class NetworkChange(BaseModel):
    interface = peewee.CharField(max_length=8)
    address = peewee.CharField(max_length=64)
    requested_by = peewee.CharField(max_length=64, default="")
    via = peewee.CharField(max_length=16, default="")
    requested_at = peewee.DateTimeField(default=dt.datetime.utcnow)
    state = peewee.CharField(max_length=12, default="pending")  # pending | applied | rolled_back | superseded
    detail = peewee.CharField(max_length=255, default="")
    updated_at = peewee.DateTimeField(null=True)

    class Meta:
        table_name = "network_change"


def parse_lan_address(text: str) -> str:
    """An IPv4 address with its prefix (10.135.0.1/24) for a LAN port; ValueError says what is wrong."""
    text = text.strip()
    if "/" not in text:
        raise ValueError("give the address with its prefix length, e.g. 10.135.0.1/24")
    try:
        iface = ipaddress.ip_interface(text)
    except ValueError:
        raise ValueError(f"{text!r} is not an address such as 10.135.0.1/24") from None
    if iface.version != 4:
        raise ValueError("LAN1 takes an IPv4 address")
    if not 8 <= iface.network.prefixlen <= 30:
        raise ValueError("the prefix length must be between 8 and 30")
    ip = iface.ip
    if ip.is_loopback or ip.is_multicast or ip.is_unspecified or ip.is_link_local or ip.is_reserved:
        raise ValueError(f"{ip} cannot be a LAN address")
    if ip in (iface.network.network_address, iface.network.broadcast_address):
        raise ValueError(f"{ip} is the network or broadcast address of {iface.network}")
    return str(iface)


def request_change(interface: str, address: str, by: str, via: str) -> NetworkChange:
    """Store a pending change (an older pending one for the same port is superseded)."""
    from appliance.store import database

    now = dt.datetime.utcnow()
    with database.atomic():
        NetworkChange.update(state="superseded", updated_at=now).where(
            (NetworkChange.interface == interface) & (NetworkChange.state == "pending")).execute()
        return NetworkChange.create(interface=interface, address=address, requested_by=by, via=via,
                                    requested_at=now)


def configured_address(interface: str = "lan1") -> str:
    """The last address applied to the port (netconfig's), else the factory default."""
    row = (NetworkChange.select().where((NetworkChange.interface == interface) & (NetworkChange.state == "applied"))
           .order_by(NetworkChange.id.desc()).first())
    return row.address if row else DEFAULT_LAN1


def pending_change(interface: str = "lan1") -> NetworkChange | None:
    return (NetworkChange.select().where((NetworkChange.interface == interface) & (NetworkChange.state == "pending"))
            .order_by(NetworkChange.id.desc()).first())


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
