"""Make a namespace's interfaces match a configuration: reset what we own, then build (plan.py), live.

We own: the four ports' addresses, MTU, up/down and master; VLAN links `ethN.V`; the bridge wbr0; eth0's
qdiscs; our udhcpc clients (pid files in the run dir); default routes through our ports. Reset then build is
idempotent, so the rollback is simply applying the previous configuration again.
"""

from __future__ import annotations

import logging
import os
import re
import signal
import subprocess
import tempfile
from pathlib import Path

from netconfig import BRIDGE, PORTS, plan
from netconfig.netns import CommandError, Target

log = logging.getLogger(__name__)

_OURS = re.compile(r"^(eth[0-3]\.\d{1,4}|wbr0)$")
UDHCPC_SCRIPT = Path(__file__).with_name("udhcpc.sh")


def _client_pidfiles(target: Target) -> list[Path]:
    return sorted(target.run_dir.glob("udhcpc-*.pid"))


_clients: list[subprocess.Popen] = []  # our udhcpc processes, reaped when stopped


def stop_dhcp_clients(target: Target) -> None:
    for pidfile in _client_pidfiles(target):
        try:
            pid = int(pidfile.read_text().strip())
            if b"udhcpc" in Path(f"/proc/{pid}/cmdline").read_bytes():
                os.kill(pid, signal.SIGTERM)
        except (OSError, ValueError):
            pass
        pidfile.unlink(missing_ok=True)
    for proc in list(_clients):
        if proc.poll() is None:
            try:
                proc.wait(2)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        _clients.remove(proc)


def reset(target: Target, present: dict) -> None:
    stop_dhcp_clients(target)
    for name in present:
        if _OURS.match(name) and name != BRIDGE:
            target.ip("link", "del", name, check=False)
    if BRIDGE in present:
        target.ip("link", "del", BRIDGE, check=False)
    for port in PORTS:
        if port not in present:
            continue
        target.tc("qdisc", "del", "dev", port, "root", check=False)
        target.tc("qdisc", "del", "dev", port, "ingress", check=False)
        target.ip("-4", "addr", "flush", "dev", port, check=False)
        target.ip("link", "set", port, "nomaster", check=False)
    for port in PORTS:
        if port in present:
            target.ip("-4", "route", "flush", "dev", port, check=False)


def build(target: Target, cfg: dict, voice: plan.VoicePorts) -> dict:
    """Apply `cfg` on reset ports. Returns {"missing": [ports absent here], "degraded": [reasons]}."""
    present = set(target.interfaces())
    missing = [p for p in PORTS if p not in present]
    for args in plan.ip_commands(cfg, present):
        target.ip(*args)
    degraded: list[str] = []
    if "eth0" in present:
        for step in plan.tc_plan(cfg, voice):
            proc = target.tc(*step.line.split(), check=not step.degraded)
            if proc.returncode != 0:
                if step.degraded not in degraded:
                    degraded.append(step.degraded)
                if step.fallback:
                    target.tc(*step.fallback.split())
    target.run_dir.mkdir(parents=True, exist_ok=True)
    for dev in plan.dhcp_client_devices(cfg, present | {BRIDGE}):
        pidfile = target.run_dir / f"udhcpc-{dev}.pid"
        env = dict(os.environ, NETCONFIG_DNS_FILE=str(target.run_dir / f"dns-{dev}"))
        _clients.append(subprocess.Popen(target.exec_argv(["udhcpc", "-f", "-i", dev, "-s", str(UDHCPC_SCRIPT), "-p", str(pidfile),
                                           "-t", "0", "-T", "3", "-A", "10", "-x", "hostname:pbx"]),
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         start_new_session=True, env=env))
    return {"missing": missing, "degraded": degraded}


def apply(target: Target, cfg: dict, voice: plan.VoicePorts) -> dict:
    """Reset then build; on a failing command, the error (CommandError) propagates after a best-effort reset."""
    present = target.interfaces()
    reset(target, present)
    try:
        return build(target, cfg, voice)
    except CommandError:
        log.exception("network configuration failed half-way")
        raise


def write_persistent(root: Path, cfg: dict, voice: plan.VoicePorts) -> list[Path]:
    """The image's configuration under `root` (on the image "/"; in lab mode and tests, a data-dir folder).

    Crash-safe: each file is written to a temporary name in its folder, synced, renamed over its name, and
    the folder synced; only then are the networkd files of the previous configuration that the new one does
    not use removed. A power cut at any point leaves every file either complete (old or new) or still there:
    never an image without its network configuration."""
    netdir = root / plan.NETWORKD_DIR
    files = {netdir / name: text for name, text in plan.networkd_files(cfg).items()}
    files[root / plan.SHAPER_FILE] = "".join(line + "\n" for line in plan.tc_batch(cfg, voice))
    files[root / plan.CHRONY_FILE] = plan.chrony_conf(cfg)
    folders: set[Path] = set()
    for path, text in files.items():
        _write_atomic(path, text)
        folders.add(path.parent)
    for folder in folders:
        _fsync_dir(folder)
    removed = False
    for old in netdir.glob(f"*-{plan.FILE_TAG}-*"):  # also temporary files a crash left behind
        if old not in files:
            old.unlink()
            removed = True
    if removed:
        _fsync_dir(netdir)
    return list(files)


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # systemd-networkd reads it as its own user
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# On the image systemd-networkd takes the WAN's DHCP lease and systemd-resolved lists its DNS servers here.
RESOLVED_UPSTREAM = Path("/run/systemd/resolve/resolv.conf")


def upstream_dns(target: Target, cfg: dict) -> list[str]:
    """DNS servers dnsmasq forwards to: the WAN's static ones, else what its DHCP lease gave (lab: our udhcpc
    script's file; image: systemd-resolved's list)."""
    servers = list(cfg["interfaces"]["eth0"]["dns"])
    wan = plan.wan_device(cfg)
    lease_file = target.run_dir / f"dns-{wan}"
    for source in (lease_file, RESOLVED_UPSTREAM):
        if servers:
            break
        if source.exists():
            servers = [line.split()[1] for line in source.read_text().splitlines() if line.startswith("nameserver ")]
    return servers
