"""Free loopback ports for daemons started by tests, so parallel runs never collide."""

from __future__ import annotations

import os
import random
import socket


def _free(port: int, host: str = "127.0.0.1") -> bool:
    for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
        with socket.socket(socket.AF_INET, kind) as s:
            try:
                s.bind((host, port))
            except OSError:
                return False
    return True


# Appliances under test take their ports below PHONE_PORTS_LOW, test phones above it: a
# daemon's RTP range is reserved long before it binds it, and must not meet a phone's.
PHONE_PORTS_LOW = 45000
PHONE_PORTS_HIGH = 60000


def _ephemeral_low(default: int = 32768) -> int:
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return default


# ... and below the kernel's ephemeral range when it leaves room: a client connection anywhere on the machine
# may take a port there between the moment a block is chosen and the moment its daemon binds it.
APPLIANCE_PORTS_LOW = 10000
APPLIANCE_PORTS_HIGH = _ephemeral_low() if _ephemeral_low() - APPLIANCE_PORTS_LOW >= 8000 else PHONE_PORTS_LOW


def _share(low: int, high: int) -> tuple[int, int]:
    """This test process's own slice of [low, high) when pytest-xdist runs several (gw0, gw1...):
    a range reserved by one process is only bound later, so another must never pick it meanwhile."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    count = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1") or 1)
    if not worker.startswith("gw") or count <= 1:
        return low, high
    index = int(worker[2:]) % count
    width = (high - low) // count
    return low + index * width, low + (index + 1) * width


def free_phone_port_block(size: int) -> int:
    """Ports for a test phone (SIP and RTP), apart from every appliance's ranges."""
    return free_port_block(size, low=PHONE_PORTS_LOW, high=PHONE_PORTS_HIGH)


def free_port_block(size: int, low: int = APPLIANCE_PORTS_LOW, high: int = APPLIANCE_PORTS_HIGH) -> int:
    """First port of `size` consecutive ports free on TCP and UDP."""
    low, high = _share(low, high)
    # First fit from a random place, wrapping once: blocks taken at random would fragment the range until no
    # gap of a stack's size is left, while free ports abound.
    start = random.Random().randrange(low, high - size)
    base, wrapped = start, False
    while True:
        if base + size > high:
            if wrapped:
                break
            base, wrapped = low, True
        if wrapped and base >= start:
            break
        taken = next((p for p in range(base, base + size) if not _free(p)), None)
        if taken is None:
            return base
        base = taken + 1
    raise RuntimeError(f"no block of {size} free ports found in {low}-{high - 1}")


def free_port() -> int:
    return free_port_block(1)
