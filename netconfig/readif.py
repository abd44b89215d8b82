"""Read the interfaces of the current network namespace with netifaces (+ /sys for state); JSON on stdout.

`python -m netconfig.readif` is how a namespace's interfaces are read from outside it (`ip netns exec NS ...`).
"""

from __future__ import annotations

import ipaddress
import json
import os
import sys


def _sys(name: str, attr: str) -> str:
    try:
        with open(f"/sys/class/net/{name}/{attr}") as fh:
            return fh.read().strip()
    except OSError:
        return ""


def read() -> dict:
    import netifaces

    out = {}
    for name in netifaces.interfaces():
        info = netifaces.ifaddresses(name)
        addresses = []
        for entry in info.get(netifaces.AF_INET, []):
            try:
                net = ipaddress.IPv4Network(f"0.0.0.0/{entry.get('netmask', '255.255.255.255')}")
                addresses.append(f"{entry['addr']}/{net.prefixlen}")
            except (KeyError, ValueError):
                continue
        link = info.get(netifaces.AF_LINK, [{}])[0]
        master = os.path.basename(os.path.realpath(f"/sys/class/net/{name}/master")) \
            if os.path.exists(f"/sys/class/net/{name}/master") else ""
        mtu, flags = _sys(name, "mtu"), _sys(name, "flags")
        out[name] = {"addresses": addresses, "mac": link.get("addr", ""),
                     "up": bool(int(flags, 16) & 1) if flags else False,  # IFF_UP: set administratively up
                     "mtu": int(mtu) if mtu.isdecimal() else 0, "master": master}
    return out


def gateways() -> list[dict]:
    import netifaces

    return [{"gateway": gw, "interface": ifname} for gw, ifname, *_ in netifaces.gateways().get(netifaces.AF_INET, [])]


if __name__ == "__main__":
    json.dump(read(), sys.stdout)
