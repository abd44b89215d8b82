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


def free_port_block(size: int, low: int = 21000, high: int = 59000) -> int:
    """First port of `size` consecutive ports free on TCP and UDP."""
    rng = random.Random()
    for _ in range(500):
        base = rng.randrange(low, high - size)
        if all(_free(p) for p in range(base, base + size)):
            return base
    raise RuntimeError(f"no block of {size} free ports found")


def free_port() -> int:
    return free_port_block(1)
