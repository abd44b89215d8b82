"""Where live changes go: a named network namespace, or (on the image only) the current one.

Commands are argument lists (never a shell string). In a namespace, `ip`/`tc` take `-n NAME`; other programs
(dnsmasq, udhcpc, the interface reader) run under `ip netns exec NAME`. Interfaces are read with netifaces in
the target namespace: in-process for the current one, else through `python -m netconfig.readif` run there.
"""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

NETNS_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,30}$")
CLONE_NEWNET = 0x40000000


class CommandError(RuntimeError):
    def __init__(self, argv: list[str], code: int, stderr: str):
        super().__init__(f"{' '.join(argv)}: exit {code}: {stderr.strip()[:300]}")
        self.argv, self.code, self.stderr = argv, code, stderr


@dataclass(frozen=True)
class Target:
    """netns: a namespace name, or None for the namespace this process runs in (the image, or the lab LAN's
    web process which the supervisor starts inside the LAN namespace)."""

    netns: str | None
    run_dir: Path  # dnsmasq/udhcpc pid files, lease file, rendered configs
    persist_root: Path  # the image's persistent network configuration goes under it (etc/systemd/network)

    def __post_init__(self) -> None:
        if self.netns is not None and not NETNS_RE.match(self.netns):
            raise ValueError(f"bad namespace name {self.netns!r}")

    # -- commands ------------------------------------------------------------------------------------------
    def ip_argv(self, *args: str) -> list[str]:
        return ["ip", *(["-n", self.netns] if self.netns else []), *args]

    def tc_argv(self, *args: str) -> list[str]:
        return ["tc", *(["-n", self.netns] if self.netns else []), *args]

    def exec_argv(self, argv: list[str]) -> list[str]:
        return (["ip", "netns", "exec", self.netns] if self.netns else []) + list(argv)

    def run(self, argv: list[str], check: bool = True) -> subprocess.CompletedProcess:
        """Run one command (already prefixed for the namespace); raise CommandError when check and it fails."""
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=30)
        if check and proc.returncode != 0:
            raise CommandError(argv, proc.returncode, proc.stderr)
        return proc

    def ip(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return self.run(self.ip_argv(*args), check=check)

    def tc(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return self.run(self.tc_argv(*args), check=check)

    # -- reading -------------------------------------------------------------------------------------------
    def interfaces(self) -> dict:
        """{name: {"addresses": ["10.135.0.1/24", ...], "mac": "...", "up": bool, "mtu": int, "master": str}}."""
        if self.netns is None:
            from netconfig.readif import read

            return read()
        proc = self.run(self.exec_argv([sys.executable, "-m", "netconfig.readif"]))
        return json.loads(proc.stdout)

    def exists(self) -> bool:
        return self.netns is None or Path("/run/netns", self.netns).exists()


def enter(netns: str) -> None:
    """Move the calling thread (or a child before exec) into the named namespace (setns(2))."""
    import ctypes

    fd = os.open(f"/run/netns/{netns}", os.O_RDONLY)
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        if libc.setns(fd, CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"setns({netns}): {os.strerror(err)}")
    finally:
        os.close(fd)


def list_namespaces() -> list[str]:
    proc = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, timeout=10)
    return [line.split()[0] for line in proc.stdout.splitlines() if line.strip()]


def private_resolv_conf(name: str, nameserver: str | None = None) -> None:
    """Give the namespace its own resolv.conf (`ip netns exec` bind-mounts /etc/netns/NAME/resolv.conf over
    /etc/resolv.conf), so a DHCP client's script run there can never rewrite the host's."""
    if not NETNS_RE.match(name):
        raise ValueError(f"bad namespace name {name!r}")
    folder = Path("/etc/netns") / name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "resolv.conf").write_text(f"nameserver {nameserver}\n" if nameserver else "")


def delete_namespace(name: str) -> None:
    """Kill every process left in the namespace, then delete it (its veths go with it)."""
    if not NETNS_RE.match(name):
        raise ValueError(f"bad namespace name {name!r}")
    if name not in list_namespaces():
        _remove_etc_netns(name)
        return
    proc = subprocess.run(["ip", "netns", "pids", name], capture_output=True, text=True, timeout=10)
    for pid in proc.stdout.split():
        try:
            os.kill(int(pid), 9)
        except (ProcessLookupError, ValueError):
            pass
    subprocess.run(["ip", "netns", "delete", name], capture_output=True, text=True, timeout=10)
    _remove_etc_netns(name)


def _remove_etc_netns(name: str) -> None:
    folder = Path("/etc/netns") / name
    if folder.is_dir():
        for child in folder.iterdir():
            child.unlink()
        folder.rmdir()
