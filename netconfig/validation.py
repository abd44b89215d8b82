"""Pure checks: a network configuration and DHCP server settings, normalised or a ValidationError naming the field.

The network configuration is a dict::

    {"scenario": "separate", "shaper": {"upload_kbit": 0, "download_kbit": 0},
     "interfaces": {"eth0": {"mode": "dhcp", "address": "", "gateway": "", "dns": [], "mtu": 1500, "vlan": None},
                    "eth1": {"mode": "static", "address": "10.135.0.1/24", ...}, "eth2": ..., "eth3": ...}}

Field names in errors are the JSON paths: "interfaces.eth1.address", "shaper.upload_kbit", "range_start",
"static_leases.2.mac"...
"""

from __future__ import annotations

import ipaddress
import re

from appliance.errors import ValidationError
from netconfig import PORTS, SCENARIOS

MODES = ("off", "dhcp", "static")
MTU_MIN, MTU_MAX = 576, 9000
SHAPER_MAX_KBIT = 10_000_000
LEASE_MINUTES_MIN, LEASE_MINUTES_MAX = 2, 525_600
MAX_LEASES_MAX = 10_000
_HOSTNAME = re.compile(r"^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}"
                       r"[A-Za-z0-9])?)*$")
_LABEL = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")

INTERFACE_DEFAULTS = {"mode": "off", "address": "", "gateway": "", "dns": [], "mtu": 1500, "vlan": None}


def default_network() -> dict:
    interfaces = {name: dict(INTERFACE_DEFAULTS, dns=[]) for name in PORTS}
    interfaces["eth0"]["mode"] = "dhcp"
    interfaces["eth1"].update(mode="static", address="10.135.0.1/24")
    return {"scenario": "separate", "shaper": {"upload_kbit": 0, "download_kbit": 0}, "interfaces": interfaces}


# -- small checks ------------------------------------------------------------------------------------------

def ipv4(value: object, field: str, allow_empty: bool = False) -> str:
    if value in (None, "") and allow_empty:
        return ""
    if not isinstance(value, str):
        raise ValidationError(field, "must be an IPv4 address such as 10.135.0.1")
    try:
        address = ipaddress.IPv4Address(value.strip())
    except ValueError:
        raise ValidationError(field, "must be an IPv4 address such as 10.135.0.1") from None
    if address.is_multicast or address.is_unspecified or str(address) == "255.255.255.255":
        raise ValidationError(field, "is not a host address")
    return str(address)


def interface_address(value: object, field: str) -> ipaddress.IPv4Interface:
    """"10.135.0.1/24" (or "10.135.0.1/255.255.255.0") -> an interface on a usable subnet."""
    if not isinstance(value, str) or "/" not in value:
        raise ValidationError(field, "must be an address with its prefix, such as 10.135.0.1/24")
    text, prefix = value.strip().split("/", 1)
    if prefix.isdecimal() and not 8 <= int(prefix) <= 30:
        raise ValidationError(field, "the prefix must be between /8 and /30")
    try:
        iface = ipaddress.IPv4Interface(f"{text}/{prefix}")
    except ValueError:
        raise ValidationError(field, "must be an address with its prefix, such as 10.135.0.1/24") from None
    if not 8 <= iface.network.prefixlen <= 30:
        raise ValidationError(field, "the prefix must be between /8 and /30")
    ipv4(str(iface.ip), field)
    if iface.ip in (iface.network.network_address, iface.network.broadcast_address):
        raise ValidationError(field, "is the subnet's network or broadcast address, not a host address")
    if iface.ip.is_loopback:
        raise ValidationError(field, "a loopback address cannot be given to a port")
    return iface


def integer(value: object, field: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValidationError(field, f"must be a whole number between {low} and {high}")
    try:
        number = int(value)
    except ValueError:
        raise ValidationError(field, f"must be a whole number between {low} and {high}") from None
    if not low <= number <= high:
        raise ValidationError(field, f"must be between {low} and {high}")
    return number


def boolean(value: object, field: str) -> bool:
    if isinstance(value, bool):
        return value
    if value in ("on", "true", "1", 1):
        return True
    if value in ("", "off", "false", "0", 0, None):
        return False
    raise ValidationError(field, "must be true or false")


def hostname(value: object, field: str, allow_empty: bool = True) -> str:
    if value in (None, "") and allow_empty:
        return ""
    if not isinstance(value, str) or not _HOSTNAME.fullmatch(value.strip()):
        raise ValidationError(field, "must be a DNS name such as office.example.com")
    return value.strip().lower()


def in_subnet(address: str, iface: ipaddress.IPv4Interface, field: str, what: str = "") -> None:
    ip = ipaddress.IPv4Address(address)
    net = iface.network
    if ip not in net:
        raise ValidationError(field, f"{address} is outside the subnet {net} of {what or 'the interface'}")
    if ip in (net.network_address, net.broadcast_address):
        raise ValidationError(field, f"{address} is the network or broadcast address of {net}")


# -- network ---------------------------------------------------------------------------------------------

def network(data: object, current: dict | None = None) -> dict:
    """Merge `data` (any part of the configuration) over `current` and check the whole; the full result."""
    if not isinstance(data, dict):
        raise ValidationError("body", "must be a JSON object")
    base = current or default_network()
    for key in data:
        if key not in ("scenario", "shaper", "interfaces", "revision"):
            raise ValidationError(str(key)[:64], "is not a network setting")
    scenario = data.get("scenario", base["scenario"])
    if scenario not in SCENARIOS:
        raise ValidationError("scenario", f"must be one of {', '.join(SCENARIOS)}")
    shaper_in = data.get("shaper", {})
    if not isinstance(shaper_in, dict):
        raise ValidationError("shaper", "must be an object with upload_kbit and download_kbit")
    shaper = {}
    for key in ("upload_kbit", "download_kbit"):
        value = shaper_in.get(key, base["shaper"][key])
        shaper[key] = integer(0 if value in ("", None) else value, f"shaper.{key}", 0, SHAPER_MAX_KBIT)
        if 0 < shaper[key] < 64:
            raise ValidationError(f"shaper.{key}", "must be 0 (no limit) or at least 64 kbit/s")
    for key in shaper_in:
        if key not in shaper:
            raise ValidationError(f"shaper.{str(key)[:32]}", "is not a traffic shaper setting")
    ifs_in = data.get("interfaces", {})
    if not isinstance(ifs_in, dict):
        raise ValidationError("interfaces", "must be an object keyed by port name (eth0..eth3)")
    interfaces = {}
    for name in ifs_in:
        if name not in PORTS:
            raise ValidationError(f"interfaces.{str(name)[:16]}", f"is not a port (ports: {', '.join(PORTS)})")
    for name in PORTS:
        given = ifs_in.get(name) or {}
        if not isinstance(given, dict):
            raise ValidationError(f"interfaces.{name}", "must be an object")
        interfaces[name] = _interface(name, given, base["interfaces"][name])
    cfg = {"scenario": scenario, "shaper": shaper, "interfaces": interfaces}
    _scenario_rules(cfg)
    _no_overlap(cfg)
    return cfg


def _interface(name: str, given: dict, base: dict) -> dict:
    prefix = f"interfaces.{name}"
    for key in given:
        if key not in INTERFACE_DEFAULTS:
            raise ValidationError(f"{prefix}.{str(key)[:32]}", "is not an interface setting")
    mode = given.get("mode", base["mode"])
    if mode not in MODES:
        raise ValidationError(f"{prefix}.mode", "must be off, dhcp or static")
    out = {"mode": mode, "address": "", "gateway": "", "dns": [], "vlan": None}
    mtu = given.get("mtu", base["mtu"])
    out["mtu"] = integer(1500 if mtu in ("", None) else mtu, f"{prefix}.mtu", MTU_MIN, MTU_MAX)
    vlan = given.get("vlan", base["vlan"])
    out["vlan"] = None if vlan in (None, "", 0) else integer(vlan, f"{prefix}.vlan", 1, 4094)
    dns = given.get("dns", base["dns"])
    if isinstance(dns, str):
        dns = dns.replace(",", " ").split()
    if not isinstance(dns, list) or len(dns) > 3:
        raise ValidationError(f"{prefix}.dns", "must be a list of at most 3 IPv4 addresses")
    out["dns"] = [ipv4(d, f"{prefix}.dns.{i}") for i, d in enumerate(dns)]
    if mode == "static":
        address = given.get("address", base["address"])
        iface = interface_address(address, f"{prefix}.address")
        out["address"] = str(iface)
        gateway = ipv4(given.get("gateway", base["gateway"]), f"{prefix}.gateway", allow_empty=True)
        if gateway:
            in_subnet(gateway, iface, f"{prefix}.gateway", name)
            if gateway == str(iface.ip):
                raise ValidationError(f"{prefix}.gateway", "is the interface's own address")
        out["gateway"] = gateway
    return out


def _scenario_rules(cfg: dict) -> None:
    ifs, scenario = cfg["interfaces"], cfg["scenario"]
    if ifs["eth0"]["mode"] == "off":
        raise ValidationError("interfaces.eth0.mode", "the WAN port eth0 is used in every scenario: dhcp or static")
    if scenario == "shared":
        for name in ("eth1", "eth2", "eth3"):
            if ifs[name]["mode"] != "off":
                raise ValidationError(f"interfaces.{name}.mode",
                                      "must be off in the shared voice and data scenario (eth0 only)")
    if scenario in ("separate", "shaper") and ifs["eth1"]["mode"] == "off":
        raise ValidationError("interfaces.eth1.mode", "LAN1 (eth1) is the voice network in this scenario")
    if scenario == "shaper":
        if ifs["eth2"]["mode"] != "off":
            raise ValidationError("interfaces.eth2.mode", "eth2 is a port of the bridge wbr0 in this scenario: "
                                                          "it takes no address of its own (off)")
        for name in ("eth0", "eth2"):
            if ifs[name]["vlan"] is not None:
                raise ValidationError(f"interfaces.{name}.vlan", "the bridge wbr0's ports take no VLAN")
    elif any(cfg["shaper"].values()):
        pass  # limits kept for when the shaper scenario is chosen again; not applied


def _no_overlap(cfg: dict) -> None:
    seen: list[tuple[str, ipaddress.IPv4Network]] = []
    for name, iface in cfg["interfaces"].items():
        if iface["mode"] != "static":
            continue
        net = ipaddress.IPv4Interface(iface["address"]).network
        for other, other_net in seen:
            if net.overlaps(other_net):
                raise ValidationError(f"interfaces.{name}.address", f"its subnet {net} overlaps {other}'s {other_net}")
        seen.append((name, net))


# -- DHCP server -------------------------------------------------------------------------------------------

DHCP_FIELDS = ("enabled", "interface", "range_start", "range_end", "lease_minutes", "max_leases", "domain", "gateway",
               "dns1", "dns2", "ntp1", "ntp2", "wins1", "wins2", "refuse_unknown", "provisioning_name",
               "static_leases")


def dhcp(data: object, current: dict, net: dict) -> dict:
    """Merge `data` over the current DHCP settings and check them against the network configuration `net`."""
    from appliance.provisioning import macs

    if not isinstance(data, dict):
        raise ValidationError("body", "must be a JSON object")
    for key in data:
        if key not in DHCP_FIELDS and key != "revision":
            raise ValidationError(str(key)[:64], "is not a DHCP server setting")
    merged = {key: data.get(key, current.get(key)) for key in DHCP_FIELDS}
    out = {"enabled": boolean(merged["enabled"], "enabled"), "refuse_unknown": boolean(merged["refuse_unknown"],
                                                                                      "refuse_unknown")}
    name = merged["interface"]
    if name not in PORTS:
        raise ValidationError("interface", f"must be one of {', '.join(PORTS)}")
    out["interface"] = name
    port = net["interfaces"][name]
    iface = None
    if port["mode"] == "static":
        iface = ipaddress.IPv4Interface(port["address"])
    elif out["enabled"]:
        raise ValidationError("interface", f"{name} has no static address: the DHCP server needs one")
    if out["enabled"] and net["scenario"] == "shaper" and name in ("eth0", "eth2"):
        raise ValidationError("interface", f"{name} is a port of the bridge wbr0")
    if out["enabled"] and net["scenario"] == "shared":
        raise ValidationError("enabled", "the shared voice and data scenario uses the network's own DHCP server")
    for key in ("range_start", "range_end"):
        out[key] = ipv4(merged[key], key)
        if iface is not None:
            in_subnet(out[key], iface, key, name)
    start, end = ipaddress.IPv4Address(out["range_start"]), ipaddress.IPv4Address(out["range_end"])
    if start > end:
        raise ValidationError("range_end", "must not come before the range start")
    if iface is not None and start <= iface.ip <= end:
        raise ValidationError("range_start", f"the range {start}-{end} contains the appliance's own address {iface.ip}")
    out["lease_minutes"] = integer(merged["lease_minutes"], "lease_minutes", LEASE_MINUTES_MIN, LEASE_MINUTES_MAX)
    out["max_leases"] = integer(merged["max_leases"], "max_leases", 1, MAX_LEASES_MAX)
    out["domain"] = hostname(merged["domain"], "domain")
    out["provisioning_name"] = hostname(merged["provisioning_name"], "provisioning_name")
    out["gateway"] = ipv4(merged["gateway"], "gateway", allow_empty=True)
    if out["gateway"] and iface is not None:
        in_subnet(out["gateway"], iface, "gateway", name)
    for key in ("dns1", "dns2", "ntp1", "ntp2", "wins1", "wins2"):
        out[key] = ipv4(merged[key], key, allow_empty=True)
    leases = merged["static_leases"] or []
    if not isinstance(leases, list):
        raise ValidationError("static_leases", "must be a list of {mac, address, hostname}")
    out["static_leases"] = []
    macs_seen, addresses_seen = set(), set()
    for i, lease in enumerate(leases):
        field = f"static_leases.{i}"
        if not isinstance(lease, dict):
            raise ValidationError(field, "must be an object with mac, address and hostname")
        for key in lease:
            if key not in ("mac", "address", "hostname"):
                raise ValidationError(f"{field}.{str(key)[:32]}", "is not a static lease field")
        mac = macs.normalise(lease.get("mac"), f"{field}.mac")
        address = ipv4(lease.get("address"), f"{field}.address")
        if iface is not None:
            in_subnet(address, iface, f"{field}.address", name)
            if ipaddress.IPv4Address(address) == iface.ip:
                raise ValidationError(f"{field}.address", "is the appliance's own address")
        if start <= ipaddress.IPv4Address(address) <= end:
            raise ValidationError(f"{field}.address", f"{address} is inside the dynamic range {start}-{end}: "
                                                      "a static lease takes an address outside it")
        host = lease.get("hostname") or ""
        if host and (not isinstance(host, str) or not _LABEL.fullmatch(host.strip())):  # `$` lets a "\n" through
            raise ValidationError(f"{field}.hostname", "must be a host name (letters, digits, hyphens)")
        host = host.strip()
        if mac in macs_seen:
            raise ValidationError(f"{field}.mac", "is listed twice")
        if address in addresses_seen:
            raise ValidationError(f"{field}.address", "is given to two devices")
        macs_seen.add(mac)
        addresses_seen.add(address)
        out["static_leases"].append({"mac": mac, "address": address, "hostname": host.lower()})
    return out


def dhcp_still_fits(dhcp_cfg: dict, net: dict) -> None:
    """A network change must not leave the DHCP server's range outside its interface's new subnet."""
    if not dhcp_cfg["enabled"]:
        return
    name = dhcp_cfg["interface"]
    port = net["interfaces"][name]
    field = f"interfaces.{name}.address"
    if net["scenario"] == "shared" or port["mode"] != "static":
        raise ValidationError(f"interfaces.{name}.mode" if net["scenario"] != "shared" else "scenario",
                              f"the DHCP server runs on {name}: turn it off (Settings > DHCP server) first")
    iface = ipaddress.IPv4Interface(port["address"])
    for key in ("range_start", "range_end"):
        if ipaddress.IPv4Address(dhcp_cfg[key]) not in iface.network:
            raise ValidationError(field, f"the DHCP range ({dhcp_cfg['range_start']}-{dhcp_cfg['range_end']}) would "
                                         f"be outside {iface.network}: change the DHCP range first")
    if ipaddress.IPv4Address(dhcp_cfg["range_start"]) <= iface.ip <= ipaddress.IPv4Address(dhcp_cfg["range_end"]):
        raise ValidationError(field, f"{iface.ip} is inside the DHCP range {dhcp_cfg['range_start']}-"
                                     f"{dhcp_cfg['range_end']}")
    for _i, lease in enumerate(dhcp_cfg["static_leases"]):
        if ipaddress.IPv4Address(lease["address"]) == iface.ip:
            raise ValidationError(field, f"{iface.ip} is the static lease of {lease['mac']}")
