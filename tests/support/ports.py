"""Free loopback ports for daemons started by tests, so parallel runs never collide."""

from __future__ import annotations

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


def free_phone_port_block(size: int) -> int:
    """Ports for a test phone (SIP and RTP), apart from every appliance's ranges."""
    return free_port_block(size, low=PHONE_PORTS_LOW, high=60000)


def free_port_block(size: int, low: int = 21000, high: int = PHONE_PORTS_LOW) -> int:
    """First port of `size` consecutive ports free on TCP and UDP."""
    rng = random.Random()
    for _ in range(500):
        base = rng.randrange(low, high - size)
        if all(_free(p) for p in range(base, base + size)):
            return base
    raise RuntimeError(f"no block of {size} free ports found")


def free_port() -> int:
    return free_port_block(1)
