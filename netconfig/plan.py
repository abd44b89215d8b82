"""What a configuration means on the wire: iproute2 commands, the traffic shaper's tc plan, networkd files.

Pure functions of the (validated) configuration: the live apply (`netconfig.apply`) runs them in the target
namespace, the unit tests read them, and the image's persistent configuration is rendered from the same data.

Scenarios:
- shared: eth0 only (DHCP client or static); eth1-eth3 down.
- separate: eth0 WAN + eth1 LAN (the DHCP server's port); eth2/eth3 as configured.
- shaper: bridge wbr0 of eth0 and eth2 carries eth0's IP settings; eth1 is the separate voice LAN. The limits
  are enforced on eth0, the WAN port itself (bridged LAN2 traffic leaves through eth0 too, never through wbr0):
  upload = HTB on eth0's egress, voice class first; download = policing on eth0's ingress, voice exempt.
  Voice = SIP (the appliance's SIP ports, UDP/TCP), RTP (the call core's port range) and anything already
  marked DSCP EF. The appliance marks its own packets where it sends them (the call core's RTP EF, Kamailio's
  SIP CS3: appliance/callcore/runtime.py, the kamailio.cfg template), in every scenario; tc only classifies.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from netconfig import BRIDGE

EF_TOS = "0xb8"  # DSCP 46 (EF) in the IPv4 TOS byte
DSCP_MASK = "0xfc"
VOICE_SHARE = 0.6  # of the upload limit guaranteed to voice; data may borrow it when voice is idle


@dataclass(frozen=True)
class VoicePorts:
    sip: tuple[int, ...] = (5060, 5061)
    rtp_first: int = 20000
    rtp_last: int = 22559

    @classmethod
    def from_settings(cls, settings) -> VoicePorts:
        sip = tuple(p for p in (settings.sip_port, settings.sip_tls_port) if p)
        last = settings.rtp_port_base + settings.worker_count_max * settings.rtp_ports_per_worker - 1
        return cls(sip=sip, rtp_first=settings.rtp_port_base, rtp_last=last)


def wan_device(cfg: dict) -> str:
    """The device carrying the WAN's IP settings: wbr0 with the shaper, else eth0 (or its VLAN)."""
    if cfg["scenario"] == "shaper":
        return BRIDGE
    return device_for("eth0", cfg["interfaces"]["eth0"])


def device_for(port: str, iface: dict) -> str:
    return f"{port}.{iface['vlan']}" if iface.get("vlan") else port


def layer3(cfg: dict) -> list[tuple[str, str, dict]]:
    """[(port, device, settings)] of every interface that takes an address (mode dhcp or static)."""
    out = []
    for port, iface in cfg["interfaces"].items():
        if iface["mode"] == "off":
            continue
        if cfg["scenario"] == "shaper" and port == "eth0":
            out.append((port, BRIDGE, iface))
        elif cfg["scenario"] == "shaper" and port == "eth2":
            continue
        else:
            out.append((port, device_for(port, iface), iface))
    return out


def ip_commands(cfg: dict, present: set[str]) -> list[list[str]]:
    """`ip` arguments that build `cfg` on ports already reset (see `netconfig.apply.reset`). Ports not in
    `present` are skipped (a lab namespace may have only some of them)."""
    cmds: list[list[str]] = []
    ifs = cfg["interfaces"]
    bridged = cfg["scenario"] == "shaper"
    if bridged:
        mtu = str(ifs["eth0"]["mtu"])
        cmds.append(["link", "add", BRIDGE, "type", "bridge", "stp_state", "0", "forward_delay", "0"])
        for port in ("eth0", "eth2"):
            if port in present:
                cmds.append(["link", "set", port, "mtu", mtu, "master", BRIDGE, "up"])
        cmds.append(["link", "set", BRIDGE, "mtu", mtu, "up"])
    for port, iface in ifs.items():
        if port not in present or (bridged and port in ("eth0", "eth2")):
            continue
        if iface["mode"] == "off":
            cmds.append(["link", "set", port, "down"])
            continue
        cmds.append(["link", "set", port, "mtu", str(iface["mtu"]), "up"])
        if iface["vlan"]:
            dev = device_for(port, iface)
            cmds.append(["link", "add", "link", port, "name", dev, "type", "vlan", "id", str(iface["vlan"])])
            cmds.append(["link", "set", dev, "mtu", str(iface["mtu"]), "up"])
    metric = 100
    for port, dev, iface in layer3(cfg):
        if port not in present:
            continue
        if iface["mode"] == "static":
            cmds.append(["addr", "add", iface["address"], "dev", dev])
            if iface["gateway"]:
                cmds.append(["route", "replace", "default", "via", iface["gateway"], "dev", dev, "metric", str(metric)])
                metric += 100
    return cmds


def dhcp_client_devices(cfg: dict, present: set[str]) -> list[str]:
    return [dev for port, dev, iface in layer3(cfg) if iface["mode"] == "dhcp" and port in present]


def _rate(kbit: int) -> str:
    return f"{max(int(kbit), 8)}kbit"


def port_masks(first: int, last: int) -> list[tuple[int, int]]:
    """Cover the port range first..last exactly with (value, mask) blocks, as u32 matches them."""
    out = []
    port = first
    while port <= last:
        size = 1
        while port % (size * 2) == 0 and port + size * 2 - 1 <= last and size < 0x10000:
            size *= 2
        out.append((port, 0xFFFF & ~(size - 1)))
        port += size
    return out


@dataclass(frozen=True)
class TcStep:
    """One `tc` command. A kernel without the module a step needs (a lab VM's kernel may lack fq_codel, pedit,
    police) runs `fallback` instead (or nothing), and the apply reports `degraded` with the reason."""

    line: str
    fallback: str | None = None
    degraded: str = ""  # what is lost when the line is refused; "" = required


def tc_plan(cfg: dict, voice: VoicePorts) -> list[TcStep]:
    """The traffic shaper on eth0 (empty unless the shaper scenario has a limit)."""
    if cfg["scenario"] != "shaper":
        return []
    up, down = cfg["shaper"]["upload_kbit"], cfg["shaper"]["download_kbit"]
    dev = "eth0"
    steps: list[TcStep] = []
    voice_matches = []  # u32 match expressions, "sport"/"dport" filled in
    for port in voice.sip:
        voice_matches.append(("{dir}", port, 0xFFFF, "any"))
    rtp = [("{dir}", value, mask, "udp") for value, mask in port_masks(voice.rtp_first, voice.rtp_last)]

    def u32(direction: str, port: int, mask: int, proto: str) -> str:
        proto_match = " match ip protocol 17 0xff" if proto == "udp" else ""
        return f"u32{proto_match} match ip {direction} {port} 0x{mask:04x}"

    if up:
        voice_rate = int(up * VOICE_SHARE)
        steps += [
            TcStep(f"qdisc replace dev {dev} root handle 1: htb default 20 r2q 1"),
            TcStep(f"class add dev {dev} parent 1: classid 1:1 htb rate {_rate(up)} ceil {_rate(up)}"),
            TcStep(f"class add dev {dev} parent 1:1 classid 1:10 htb rate {_rate(voice_rate)} ceil {_rate(up)} "
                   "prio 0"),
            TcStep(f"class add dev {dev} parent 1:1 classid 1:20 htb rate {_rate(up - voice_rate)} ceil {_rate(up)} "
                   "prio 1"),
        ]
        for handle in (10, 20):
            steps.append(TcStep(f"qdisc add dev {dev} parent 1:{handle} handle {handle}: fq_codel",
                                fallback=f"qdisc add dev {dev} parent 1:{handle} handle {handle}: pfifo limit 1000",
                                degraded="fq_codel (sch_fq_codel) missing in this kernel: pfifo queues"))
        prio = 1
        for _, port, mask, proto in voice_matches + rtp:
            steps.append(TcStep(f"filter add dev {dev} parent 1: protocol ip prio {prio} "
                                f"{u32('sport', port, mask, proto)} flowid 1:10"))
        steps.append(TcStep(f"filter add dev {dev} parent 1: protocol ip prio {prio + 1} u32 match ip tos "
                            f"{EF_TOS} {DSCP_MASK} flowid 1:10"))
    if down:
        burst = max(down * 1000 // 8 // 10, 16 * 1024)  # 100 ms of traffic, at least 16 KiB
        lost = "download limit (act_gact, act_police) missing in this kernel: downloads are not limited"
        steps.append(TcStep(f"qdisc add dev {dev} handle ffff: ingress"))
        for _, port, mask, proto in voice_matches + rtp:
            steps.append(TcStep(f"filter add dev {dev} parent ffff: protocol ip prio 1 "
                                f"{u32('dport', port, mask, proto)} action pass", fallback="", degraded=lost))
        steps.append(TcStep(f"filter add dev {dev} parent ffff: protocol ip prio 2 u32 match ip tos {EF_TOS} "
                            f"{DSCP_MASK} action pass", fallback="", degraded=lost))
        steps.append(TcStep(f"filter add dev {dev} parent ffff: protocol ip prio 9 u32 match u32 0 0 police rate "
                            f"{_rate(down)} burst {burst} drop", fallback="", degraded=lost))
    return steps


def tc_batch(cfg: dict, voice: VoicePorts) -> list[str]:
    """The full plan as `tc -batch` lines (the image's kernel has every module)."""
    return [step.line for step in tc_plan(cfg, voice)]


# -- the image's persistent configuration: systemd-networkd ------------------------------------------------

NETWORKD_DIR = "etc/systemd/network"
SHAPER_FILE = "etc/appliance/traffic-shaper.tc"  # `tc -batch` file, run at boot after the network is up
FILE_TAG = "appliance"  # every file we write has it in its name; others are left alone


def networkd_files(cfg: dict) -> dict[str, str]:
    """{file name: text} for /etc/systemd/network."""
    files: dict[str, str] = {}
    ifs = cfg["interfaces"]
    bridged = cfg["scenario"] == "shaper"
    header = "# Written by the appliance (Settings > Network); changes here are overwritten.\n"
    if bridged:
        files[f"05-{FILE_TAG}-{BRIDGE}.netdev"] = header + f"[NetDev]\nName={BRIDGE}\nKind=bridge\n"
    for port, iface in ifs.items():
        lines = [header, "[Match]", f"Name={port}", "", "[Link]", f"MTUBytes={iface['mtu']}"]
        if bridged and port in ("eth0", "eth2"):
            lines += ["", "[Network]", f"Bridge={BRIDGE}"]
        elif iface["mode"] == "off":
            lines += ["ActivationPolicy=down", "", "[Network]", "LinkLocalAddressing=no"]
        elif iface["vlan"]:
            dev = device_for(port, iface)
            lines += ["", "[Network]", "LinkLocalAddressing=no", f"VLAN={dev}"]
            files[f"15-{FILE_TAG}-{dev}.netdev"] = header + (f"[NetDev]\nName={dev}\nKind=vlan\nMTUBytes="
                                                             f"{iface['mtu']}\n\n[VLAN]\nId={iface['vlan']}\n")
            files[f"20-{FILE_TAG}-{dev}.network"] = _l3_network(header, dev, iface)
        else:
            files[f"10-{FILE_TAG}-{port}.network"] = _l3_network(header, port, iface, mtu=iface["mtu"])
            continue
        files[f"10-{FILE_TAG}-{port}.network"] = "\n".join(lines) + "\n"
    if bridged:
        files[f"20-{FILE_TAG}-{BRIDGE}.network"] = _l3_network(header, BRIDGE, ifs["eth0"], mtu=ifs["eth0"]["mtu"])
    return files


def _l3_network(header: str, name: str, iface: dict, mtu: int | None = None) -> str:
    lines = [header.rstrip("\n"), "[Match]", f"Name={name}", ""]
    if mtu:
        lines += ["[Link]", f"MTUBytes={mtu}", ""]
    lines.append("[Network]")
    if iface["mode"] == "dhcp":
        lines.append("DHCP=ipv4")
    else:
        lines.append(f"Address={iface['address']}")
        if iface["gateway"]:
            lines.append(f"Gateway={iface['gateway']}")
    lines += [f"DNS={d}" for d in iface["dns"]]
    lines.append("LinkLocalAddressing=no")
    return "\n".join(lines) + "\n"


CHRONY_FILE = "etc/chrony/conf.d/appliance-lan.conf"


def chrony_conf(cfg: dict) -> str:
    """chrony on the image serves time to the LAN subnets (DHCP gives the appliance as NTP server), and keeps
    serving its own clock (stratum 10) when the WAN's servers cannot be reached."""
    lines = ["# Written by the appliance (Settings > Network); changes here are overwritten.", "local stratum 10"]
    for port, _dev, iface in layer3(cfg):
        if port != "eth0" and iface["mode"] == "static":
            lines.append(f"allow {ipaddress.IPv4Interface(iface['address']).network}")
    return "\n".join(lines) + "\n"


def chrony_lab_conf(cfg: dict, folder, lan: str) -> str:
    """chronyd of `appliance run --lab-lan` (netconfig.lablan): the image's LAN time service (`chrony_conf`, plus
    LAN1's lab subnet `lan`, "address/prefix") as a whole configuration of its own. No upstream server (no traffic
    leaves the machine): it serves its own clock at the local stratum. Its pid, drift and command socket files
    are in `folder` (never the host chronyd's /run/chrony), no UDP command port; it runs with -x (never sets the
    host's clock)."""
    lines = chrony_conf(cfg).splitlines()
    allow = f"allow {ipaddress.IPv4Interface(lan).network}"
    if allow not in lines:
        lines.append(allow)
    lines += [f"pidfile {folder}/chronyd.pid", f"driftfile {folder}/chronyd.drift",
              f"bindcmdaddress {folder}/chronyd.sock", "cmdport 0"]
    return "\n".join(lines) + "\n"


def lan_address(cfg: dict, port: str = "eth1") -> str:
    """The appliance's address on a static port ("" if it has none)."""
    iface = cfg["interfaces"].get(port) or {}
    if iface.get("mode") != "static":
        return ""
    return str(ipaddress.IPv4Interface(iface["address"]).ip)
