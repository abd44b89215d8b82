"""Network namespaces for tests: created with unique names, every one removed at teardown (even on failure).

    with Namespaces() as ns:
        ns.add("ap")                       # -> the real name, e.g. "t1234-ap"
        ns.veth("ap", "eth1", "phone", "eth0")
        ns.addr("ap", "eth1", "10.135.0.1/24")
        ns.exec("phone", ["udhcpc", ...])

Only namespaces and veths this object made are touched; the host's own interfaces never are.
"""

from __future__ import annotations

import os
import subprocess

from netconfig.netns import delete_namespace, private_resolv_conf


def run(argv: list[str], check: bool = True, timeout: float = 30) -> subprocess.CompletedProcess:
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)}: {proc.stderr.strip()}")
    return proc


class Namespaces:
    def __init__(self, prefix: str | None = None):
        self.prefix = prefix or f"t{os.getpid() % 100000}"
        self.names: dict[str, str] = {}

    def __enter__(self) -> Namespaces:
        return self

    def __exit__(self, *exc) -> None:
        self.cleanup()

    def name(self, short: str) -> str:
        return self.names[short]

    def add(self, short: str) -> str:
        real = f"{self.prefix}-{short}"
        delete_namespace(real)  # left over from a crashed run
        private_resolv_conf(real)  # a DHCP client's script run there never rewrites the host's resolv.conf
        self.names[short] = real
        run(["ip", "netns", "add", real])
        run(["ip", "-n", real, "link", "set", "lo", "up"])
        return real

    def veth(self, ns_a: str, if_a: str, ns_b: str, if_b: str, up: bool = True) -> None:
        a, b = self.names[ns_a], self.names[ns_b]
        run(["ip", "-n", a, "link", "add", if_a, "type", "veth", "peer", "name", if_b, "netns", b])
        if up:
            run(["ip", "-n", a, "link", "set", if_a, "up"])
            run(["ip", "-n", b, "link", "set", if_b, "up"])

    def ip(self, short: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return run(["ip", "-n", self.names[short], *args], check=check)

    def tc(self, short: str, *args: str) -> str:
        return run(["tc", "-n", self.names[short], *args]).stdout

    def exec(self, short: str, argv: list[str], check: bool = True, timeout: float = 30) -> subprocess.CompletedProcess:
        return run(["ip", "netns", "exec", self.names[short], *argv], check=check, timeout=timeout)

    def addresses(self, short: str, dev: str) -> list[str]:
        out = self.ip(short, "-4", "-o", "addr", "show", "dev", dev, check=False).stdout
        return [line.split()[3] for line in out.splitlines() if " inet " in line]

    def cleanup(self) -> None:
        for real in list(self.names.values()):
            delete_namespace(real)
        self.names.clear()
