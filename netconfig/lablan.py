"""`appliance run --lab-lan`: LAN1 in a network namespace the appliance creates, a client namespace at its far end.

    appliance-lan1 (namespace)                      lan1-client (namespace)
      eth1 10.135.0.1/24  <────── veth ──────>        eth0 (no address: run a DHCP client, or set one)
      Kamailio, call core, web server, dnsmasq, chronyd (NTP for LAN1)

The supervisor starts every child inside `appliance-lan1` (`ip netns exec`), with the web UI on port 80 and SIP
on 5060 bound to LAN1's address, so `ip netns exec lan1-client <browser | dhclient | test phone>` sees exactly
what a device plugged into LAN1 sees. The host's own interfaces are never touched; only these two namespaces
(and the veth between them, which dies with them) are created.

Cleanup: `teardown()` at exit deletes both namespaces (killing anything left in them, e.g. dnsmasq). After a
crash the next `setup()` finds them, checks that the appliance which made them is gone (owner file), and
deletes them before creating fresh ones.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
from pathlib import Path

from netconfig import netns

log = logging.getLogger(__name__)

APPLIANCE_NS = "appliance-lan1"
CLIENT_NS = "lan1-client"
OWNER_FILE = Path("/run/appliance-lab-lan.json")
MARKER_NAME = "lab-lan.json"  # in the run dir: tells the web process where LAN1 is (webui.routes.network)


class LabLanError(RuntimeError):
    pass


def _run(argv: list[str]) -> None:
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    if proc.returncode != 0:
        raise LabLanError(f"{' '.join(argv)}: {proc.stderr.strip()}")


def _owner_alive() -> int | None:
    try:
        owner = json.loads(OWNER_FILE.read_text())
        pid = int(owner["pid"])
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, ValueError, KeyError):
        return None
    return pid if pid != os.getpid() and b"appliance" in cmdline else None


def cleanup() -> bool:
    """Remove what a previous run left behind; False (nothing touched) if another appliance still owns it."""
    if _owner_alive():
        return False
    found = [name for name in (APPLIANCE_NS, CLIENT_NS) if name in netns.list_namespaces()]
    for name in found:
        log.info("removing namespace %s left by a previous run", name)
        netns.delete_namespace(name)
    OWNER_FILE.unlink(missing_ok=True)
    return True


def setup(run_dir: Path, lan_address: str) -> dict:
    """Create both namespaces and the veth; LAN1 gets `lan_address` (e.g. "10.135.0.1/24"). Returns the marker."""
    pid = _owner_alive()
    if pid:
        raise LabLanError(f"another appliance (pid {pid}) runs with --lab-lan: stop it first")
    cleanup()
    OWNER_FILE.write_text(json.dumps({"pid": os.getpid(), "run_dir": str(run_dir)}))
    try:
        import ipaddress

        for name in (APPLIANCE_NS, CLIENT_NS):
            # before anything runs there: a DHCP client's script in lan1-client writes this copy, not the host's
            netns.private_resolv_conf(name, str(ipaddress.IPv4Interface(lan_address).ip))
            _run(["ip", "netns", "add", name])
            _run(["ip", "-n", name, "link", "set", "lo", "up"])
        _run(["ip", "-n", APPLIANCE_NS, "link", "add", "eth1", "type", "veth", "peer", "name", "eth0", "netns",
              CLIENT_NS])
        _run(["ip", "-n", APPLIANCE_NS, "addr", "add", lan_address, "dev", "eth1"])
        _run(["ip", "-n", APPLIANCE_NS, "link", "set", "eth1", "up"])
        _run(["ip", "-n", CLIENT_NS, "link", "set", "eth0", "up"])
    except Exception:
        teardown(run_dir)
        raise
    marker = {"namespace": APPLIANCE_NS, "client": CLIENT_NS, "address": lan_address}
    run_dir.mkdir(parents=True, exist_ok=True)
    # fresh namespaces: nothing of a previous run is live, the stored settings are applied as they are at start
    from netconfig import service

    for name in (service.APPLIED_NAME, service.PENDING_NAME):
        (run_dir / "net" / name).unlink(missing_ok=True)
    (run_dir / MARKER_NAME).write_text(json.dumps(marker))
    return marker


def teardown(run_dir: Path) -> None:
    for name in (CLIENT_NS, APPLIANCE_NS):
        netns.delete_namespace(name)
    (run_dir / MARKER_NAME).unlink(missing_ok=True)
    try:
        owner = json.loads(OWNER_FILE.read_text())
        if int(owner.get("pid", 0)) == os.getpid():
            OWNER_FILE.unlink(missing_ok=True)
    except (OSError, ValueError):
        pass


def exec_prefix() -> list[str]:
    """Prefix of a child's argv to run it inside LAN1's namespace (`ip netns exec` execs: pid, process group
    and parent-death signal stay the supervisor's)."""
    return ["ip", "netns", "exec", APPLIANCE_NS]


def stored_lan_address(settings) -> str:
    """LAN1's address from the store (the factory default if eth1 is not static)."""
    from appliance.store import close_store, open_store
    from netconfig import service

    open_store(settings)
    try:
        eth1 = service.get_network()["interfaces"]["eth1"]
    finally:
        close_store()
    return eth1["address"] if eth1["mode"] == "static" and eth1["address"] else "10.135.0.1/24"


def start(run_dir: Path, lan_address: str | None) -> list[str]:
    """Called by the supervisor at start. Lab LAN: set it up, return the children's argv prefix. Otherwise:
    clear a stale marker (and namespaces a crashed lab-LAN run left), return []."""
    if lan_address:
        setup(run_dir, lan_address)
        return exec_prefix()
    (run_dir / MARKER_NAME).unlink(missing_ok=True)
    cleanup()
    return []


def stop(run_dir: Path, lan_address: str | None) -> None:
    if lan_address:
        teardown(run_dir)


CHRONY_DIR = "chrony"  # in the run dir: chronyd's configuration, pid, drift and command socket


def chrony_command(settings, lan_address: str) -> list[str]:
    """argv of chronyd serving time on LAN1 (DHCP names the appliance as NTP server), its configuration rendered
    now from the stored network (`netconfig.plan.chrony_lab_conf`; the store is open in the supervisor). The
    supervisor runs it in the foreground inside LAN1's namespace like its other children, so it stops with the
    appliance. -x: the host's clock is never set; -u root: no switch to _chrony, which could not reach a data
    folder under a private parent (dnsmasq runs as root here too)."""
    from netconfig import plan, service

    folder = (settings.run_dir / CHRONY_DIR).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(folder, 0o700)  # chronyd refuses a command socket in a folder others may enter
    (folder / "chronyd.pid").unlink(missing_ok=True)  # its previous run was our child, gone now
    conf = folder / "chronyd.conf"
    conf.write_text(plan.chrony_lab_conf(service.get_network(), folder, lan_address))
    return ["chronyd", "-d", "-x", "-u", "root", "-f", str(conf)]


def lab_lan_settings(settings, http_port_given: bool, sip_port_given: bool):
    """The settings of `appliance run --lab-lan`: web UI and SIP on LAN1's stored address, ports 80 and 5060
    unless given. Returns (settings, "address/prefix")."""
    import dataclasses
    import ipaddress

    address = stored_lan_address(settings)
    values = {"bind": str(ipaddress.IPv4Interface(address).ip)}
    if not http_port_given:
        values["http_port"] = 80
    if not sip_port_given:
        values["sip_port"] = 5060
        values["sip_tls_port"] = None if settings.sip_tls_port in (None, 5061) else settings.sip_tls_port
    return dataclasses.replace(settings, **values), address
