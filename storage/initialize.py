"""Initialize a device: one GPT partition, ext4 with a label, mounted at <media>/<label>, remembered.

Every tool runs with an argument list. The device must be accepted by the storage policy (loop devices
of the lab folder in lab mode, USB disks on the image), checked on a fresh scan; the caller confirms by
naming the device and its size in bytes, so a different stick plugged in meanwhile is refused.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from pathlib import Path

from appliance.errors import Conflict, NotFound, ValidationError
from appliance.settings import Settings
from storage import devices, mounts
from storage.commands import CommandFailed, run

PARTITION_WAIT_S = 10.0


def check(settings: Settings, name: str, data: dict) -> dict:
    """The request checked against a fresh scan: {device, label}."""
    device = devices.find(settings, name)
    if device is None:
        raise NotFound("storage device", name)
    label = mounts.check_label(data.get("label"))
    confirm = data.get("confirm")
    if confirm != device.name:
        raise ValidationError("confirm", f"type the device name ({device.name}) to confirm: everything on it "
                                         "is erased")
    size = data.get("size_bytes")
    if isinstance(size, bool) or not isinstance(size, int) or size != device.size_bytes:
        raise ValidationError("size_bytes", f"must be the device's size as shown ({device.size_bytes}): "
                                            "was another device plugged in?")
    if settings.lab and not devices.LOOP_RE.match(device.name):
        raise ValidationError("name", "lab mode initializes only loop devices")
    foreign = [mp for mp in device.mountpoints() if Path(mp).parent != mounts.media_root(settings)]
    if foreign:
        raise Conflict("name", f"{device.name} is mounted at {', '.join(foreign)} by something else")
    from storage.models import Placement, Volume

    existing = Volume.get_or_none(Volume.label == label)
    if existing is not None:
        used = [p.kind for p in Placement.select().where(Placement.volume_uuid == existing.uuid)]
        if used and not any(v.uuid == existing.uuid for v in device.volumes()):
            raise ValidationError("label", f"{label} is the name of another volume holding {', '.join(used)}")
    held = [p.kind for v in device.volumes()
            for p in Placement.select().where(Placement.volume_uuid == v.uuid)] if device.volumes() else []
    if held:
        raise Conflict("name", f"{device.name} holds {', '.join(held)}: move them elsewhere first")
    return {"device": device, "label": label}


def initialize(settings: Settings, plan: dict, progress: Callable[[int, str], None] = lambda p, s: None) -> dict:
    from appliance.events.log import record
    from appliance.store import database
    from storage.models import Volume

    device: devices.Device = plan["device"]
    label: str = plan["label"]
    # Last look right before erasing: the same device, still accepted by the policy.
    again = devices.find(settings, device.name)
    if again is None or again.size_bytes != device.size_bytes or again.path != device.path:
        raise Conflict("name", f"{device.name} changed or went away; nothing was erased")
    progress(5, "unmounting")
    for mp in again.mountpoints():
        run(["umount", mp], timeout=60)
    progress(15, "partitioning")
    run(["wipefs", "-a", device.path], timeout=60)
    run(["sfdisk", "--quiet", "--wipe", "always", "--wipe-partitions", "always", device.path],
        input_text="label: gpt\ntype=linux\n", timeout=60)
    part = _wait_partition(device)
    progress(35, "formatting (ext4)")
    run(["mkfs.ext4", "-q", "-F", "-L", label, "-m", "0", part], timeout=1800)
    progress(85, "mounting")
    uuid = devices.probe(part).get("UUID", "")
    if not uuid:
        raise CommandFailed(["blkid"], f"no file system found on {part} after formatting")
    mounts.unmount(settings, label, lazy=True)  # a stale mount of an older volume of that name
    point = mounts.mount(settings, part, label, uuid, write_marker=True)
    with database.atomic():
        Volume.delete().where(Volume.label == label).execute()
        Volume.delete().where(Volume.uuid == uuid).execute()
        Volume.create(uuid=uuid, label=label, size_bytes=device.size_bytes, initialized_at=dt.datetime.utcnow())
    record("storage.initialized", label, f"{device.name} ({devices.human(device.size_bytes)}) initialized as "
                                          f"{label} (ext4), mounted at {point}", device=device.name, uuid=uuid)
    progress(100, "done")
    return {"label": label, "uuid": uuid, "partition": part, "mountpoint": str(point)}


def _wait_partition(device: devices.Device) -> str:
    """The new partition's device node, once the kernel and /dev show it."""
    try:
        run(["partx", "-u", device.path], timeout=30)
    except CommandFailed:
        pass  # sfdisk re-read it itself
    deadline = time.monotonic() + PARTITION_WAIT_S
    while time.monotonic() < deadline:
        names = devices.partition_nodes(device.name)
        if names and Path(f"/dev/{names[0]}").exists():
            return f"/dev/{names[0]}"
        time.sleep(0.1)
    raise CommandFailed(["sfdisk"], f"the new partition of {device.name} did not appear")
