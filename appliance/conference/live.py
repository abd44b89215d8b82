"""How the processes of the appliance reach the call-core workers holding a room's participants.

Every worker that holds a participant binds one Unix datagram socket in the
abstract namespace (no file to clean up after a crash), named after the
data directory's run_dir and the worker's index. The same socket carries
the audio between workers (appliance.callcore.conference) and "room changed"
notices: after a write of the live state (a participant joined or left,
mute all, lock) the writer tells every worker of the room, which re-reads
the room's participants from the store (its peers, who is muted).
Workers also re-read their rooms every second, so a lost notice only delays.
"""

from __future__ import annotations

import hashlib
import logging
import socket
import struct
from collections.abc import Iterable

from appliance.settings import Settings

log = logging.getLogger(__name__)

AUDIO = b"A"
CONTROL = b"C"
AUDIO_HEADER = struct.Struct("<cIH")   # kind, room id, sender worker index; then 20 ms of PCM
CONTROL_MESSAGE = struct.Struct("<cI")  # kind, room id


def worker_index(name: str) -> int | None:
    """"w3" -> 3."""
    if name.startswith("w") and name[1:].isdigit():
        return int(name[1:])
    return None


def address(settings: Settings, index: int) -> bytes:
    """The abstract socket name of worker `index` of this appliance (data directory)."""
    tag = hashlib.sha1(str(settings.run_dir.resolve()).encode()).hexdigest()[:12]
    return f"\0appliance-conf-{tag}-w{index}".encode()


def notify(settings: Settings, workers: Iterable[str], room_id: int, skip: str = "") -> None:
    """Tell each worker (by name) that room `room_id` changed; best effort, never raises."""
    message = CONTROL_MESSAGE.pack(CONTROL, room_id)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        sock.setblocking(False)
        for name in set(workers):
            index = worker_index(name)
            if index is None or name == skip:
                continue
            try:
                sock.sendto(message, address(settings, index))
            except OSError:
                log.debug("worker %s does not listen for room %d", name, room_id)
    finally:
        sock.close()
