"""The DHCP server on LAN: dnsmasq rendered from the settings, (re)started in the target namespace, leases read.

Options sent (dnsmasq sends an option only to a client that asks for it, as phones do):
- 1/3/6/15/42/44: mask, router (default the appliance), DNS (default the appliance: dnsmasq answers on LAN and
  forwards to the WAN's servers), domain suffix, NTP (default the appliance), WINS.
- 66 (TFTP server name, read as a URL by Yealink, Snom, Fanvil, Grandstream, Gigaset): the provisioning URL.
- 160 (Poly/Polycom reads it before 66): the same URL.
- 43 is not sent: Grandstream and Fanvil fall back to 66, and its vendor-encapsulated sub-options differ per vendor.
- A DNS name for provisioning (`provisioning_name`, default provisioning.pbx.lan) resolves to the appliance on LAN.

dnsmasq itself is started here (daemonised, pid file in the run dir); a change of settings restarts it (its main
configuration is read only at start; SIGHUP rereads only hosts files). Leases: dnsmasq's lease file
("<expiry epoch> <mac> <ip> <hostname> <client-id>" per line).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import logging
import os
import signal
import subprocess
import time
from pathlib import Path

from netconfig.netns import Target

log = logging.getLogger(__name__)

CONF_NAME = "dnsmasq.conf"
LEASES_NAME = "dnsmasq.leases"
PID_NAME = "dnsmasq.pid"
UPSTREAM_NAME = "resolv.upstream"


def provisioning_url(address: str, http_port: int = 80) -> str:
    """Option 66: `http://<appliance on LAN>[:port]/prov/` (the prefix's one home is appliance.provisioning)."""
    from appliance.provisioning import PREFIX

    port = "" if http_port == 80 else f":{http_port}"
    return f"http://{address}{port}{PREFIX}"


def render(dhcp: dict, net: dict, run_dir: Path, http_port: int = 80) -> str:
    """dnsmasq's configuration for the DHCP settings `dhcp` on the network `net` (both validated)."""
    from appliance.provisioning.macs import colon

    port_name = dhcp["interface"]
    iface = ipaddress.IPv4Interface(net["interfaces"][port_name]["address"])
    from netconfig.plan import device_for

    device = device_for(port_name, net["interfaces"][port_name])
    me = str(iface.ip)
    url = provisioning_url(me, http_port)
    lease_s = dhcp["lease_minutes"] * 60
    lines = [
        "# Written by the appliance from its DHCP server settings; changes here are overwritten.",
        f"interface={device}",
        "bind-interfaces",
        "except-interface=lo",
        "no-hosts",
        f"pid-file={run_dir / PID_NAME}",
        f"dhcp-leasefile={run_dir / LEASES_NAME}",
        "dhcp-authoritative",
        "user=root",
        "log-dhcp",
        f"dhcp-range=set:lan,{dhcp['range_start']},{dhcp['range_end']},{iface.netmask},{lease_s}",
        f"dhcp-lease-max={dhcp['max_leases']}",
        f"dhcp-option=tag:lan,option:router,{dhcp['gateway'] or me}",
        f"dhcp-option=tag:lan,option:dns-server,{','.join(x for x in (dhcp['dns1'] or me, dhcp['dns2']) if x)}",
        f"dhcp-option=tag:lan,option:ntp-server,{','.join(x for x in (dhcp['ntp1'] or me, dhcp['ntp2']) if x)}",
        f'dhcp-option=tag:lan,66,"{url}"',
        f'dhcp-option=tag:lan,160,"{url}"',
    ]
    upstream = run_dir / UPSTREAM_NAME
    lines.append(f"resolv-file={upstream}")
    if dhcp["domain"]:
        lines += [f"dhcp-option=tag:lan,option:domain-name,{dhcp['domain']}", f"domain={dhcp['domain']}"]
    wins = [x for x in (dhcp["wins1"], dhcp["wins2"]) if x]
    if wins:
        lines.append(f"dhcp-option=tag:lan,option:netbios-ns,{','.join(wins)}")
    if dhcp["provisioning_name"]:
        lines.append(f"address=/{dhcp['provisioning_name']}/{me}")
    for lease in dhcp["static_leases"]:
        host = f",{lease['hostname']}" if lease["hostname"] else ""
        lines.append(f"dhcp-host={colon(lease['mac'])},{lease['address']}{host}")
    if dhcp["refuse_unknown"]:
        lines.append("dhcp-ignore=tag:!known")
    return "\n".join(lines) + "\n"


def _pid(run_dir: Path) -> int | None:
    try:
        pid = int((run_dir / PID_NAME).read_text().strip())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return None
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    return pid if b"dnsmasq" in cmdline else None


def running(target: Target) -> bool:
    return _pid(target.run_dir) is not None


def stop(target: Target) -> None:
    pid = _pid(target.run_dir)
    if pid is None:
        return
    os.kill(pid, signal.SIGTERM)
    for _ in range(50):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    else:
        os.kill(pid, signal.SIGKILL)
    (target.run_dir / PID_NAME).unlink(missing_ok=True)


def start(target: Target, conf_text: str, upstream_dns: list[str] | None = None) -> None:
    """Write the configuration and (re)start dnsmasq in the target namespace; raise if it refuses to start."""
    target.run_dir.mkdir(parents=True, exist_ok=True)
    conf = target.run_dir / CONF_NAME
    tmp = conf.with_suffix(".tmp")
    tmp.write_text(conf_text)
    os.replace(tmp, conf)
    (target.run_dir / UPSTREAM_NAME).write_text("".join(f"nameserver {d}\n" for d in upstream_dns or []))
    stop(target)
    argv = target.exec_argv(["dnsmasq", f"--conf-file={conf}"])
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=15)
    if proc.returncode != 0:
        raise RuntimeError(f"dnsmasq did not start: {proc.stderr.strip()[:300]}")


def read_leases(path: Path, now: float | None = None) -> list[dict]:
    """[{mac, vendor, ip, hostname, expires}] from dnsmasq's lease file (expired ones left out)."""
    from appliance.provisioning import vendors

    now = time.time() if now is None else now
    out = []
    try:
        text = path.read_text()
    except OSError:
        return []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) < 4 or not parts[0].isdecimal():
            continue
        expiry = int(parts[0])
        if expiry and expiry < now:
            continue
        mac = parts[1].lower()
        vendor = vendors.by_oui(mac.replace(":", ""))
        out.append({
            "mac": mac, "vendor": vendor.name if vendor else "", "ip": parts[2],
            "hostname": "" if parts[3] == "*" else parts[3],
            "expires": dt.datetime.fromtimestamp(expiry, dt.UTC).isoformat() if expiry else None,
        })
    out.sort(key=lambda lease: ipaddress.IPv4Address(lease["ip"]))
    return out
