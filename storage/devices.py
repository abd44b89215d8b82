"""Block devices: which ones count as removable storage (an injectable policy), and what they hold.

`scan(settings)` lists the devices the policy accepts with their partitions, file systems, mounts and
usage. The policy decides everything destructive: initialize and mount refuse a device it does not
accept, checked again on a fresh scan right before acting.

- On the image (`Settings.lab` false): `UsbPolicy`, whole disks on the USB bus (lsblk TRAN=usb, udev's
  ID_BUS=usb) or marked removable, never a disk holding a mounted system file system.
- In lab mode and tests: `LabPolicy`, ONLY loop devices whose backing file lies in
  `lab_usb_dir(settings)` (<data>/lab-usb/): a test (or a developer) makes an image file there and
  attaches it with `losetup -f -P --show`. The host's real disks, and loop devices anyone else made
  (snaps, other tests), are never listed, mounted or formatted.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

from appliance.settings import Settings
from storage.commands import CommandFailed, run

LOOP_RE = re.compile(r"^loop[0-9]+$")
SYSTEM_MOUNTS = ("/", "/boot", "/boot/efi", "/usr", "/var", "/home")


@dataclass
class Partition:
    name: str
    path: str
    size_bytes: int
    fstype: str = ""
    label: str = ""
    uuid: str = ""
    mountpoint: str = ""
    total_bytes: int | None = None
    used_bytes: int | None = None
    free_bytes: int | None = None


@dataclass
class Device:
    name: str
    path: str
    size_bytes: int
    type: str                      # disk | loop
    transport: str = ""            # usb, sata, nvme... ("" for loop)
    removable: bool = False
    model: str = ""
    backing_file: str = ""         # loop devices
    detaching: bool = False        # a loop device told to detach once its last user lets go (autoclear)
    partitions: list[Partition] = field(default_factory=list)
    # A stick formatted without a partition table carries its file system on the whole device.
    whole: Partition | None = None

    def to_public(self) -> dict:
        data = asdict(self)
        data["volumes"] = [asdict(p) for p in self.volumes()]
        return data

    def volumes(self) -> list[Partition]:
        return [p for p in ([self.whole] if self.whole else []) + self.partitions if p.fstype]

    def mountpoints(self) -> list[str]:
        return [p.mountpoint for p in ([self.whole] if self.whole else []) + self.partitions if p.mountpoint]


class LabPolicy:
    """Loop devices backed by a file in `backing_dir` only (lab mode, tests)."""

    name = "lab"

    def __init__(self, backing_dir: Path):
        self.backing_dir = Path(os.path.realpath(backing_dir))

    def accepts(self, device: Device) -> bool:
        if device.type != "loop" or not LOOP_RE.match(device.name) or not device.backing_file or device.detaching:
            return False
        backing = Path(os.path.realpath(device.backing_file.removesuffix(" (deleted)")))
        return self.backing_dir in backing.parents

    def describe(self) -> str:
        return f"lab mode: loop devices backed by a file in {self.backing_dir}"


class UsbPolicy:
    """Disks on the USB bus or marked removable, never one holding a system file system (the image)."""

    name = "usb"

    def accepts(self, device: Device) -> bool:
        if device.type != "disk":
            return False
        if not (device.transport == "usb" or device.removable):
            return False
        return not any(mp in SYSTEM_MOUNTS for mp in device.mountpoints())

    def describe(self) -> str:
        return "USB and removable disks"


_override = None


def set_policy(policy) -> None:
    """Tests may inject their own policy (None: back to the one the settings choose)."""
    global _override
    _override = policy


def lab_usb_dir(settings: Settings) -> Path:
    return settings.data_dir / "lab-usb"


def policy_for(settings: Settings):
    if _override is not None:
        return _override
    return LabPolicy(lab_usb_dir(settings)) if settings.lab else UsbPolicy()


# -- scanning -----------------------------------------------------------------------------------------------

LSBLK_COLUMNS = "NAME,PATH,SIZE,TYPE,RM,HOTPLUG,TRAN,MODEL"


def parse_lsblk(text: str) -> list[Device]:
    """Devices and their partitions from `lsblk -J -b -o LSBLK_COLUMNS` (file systems not probed yet)."""
    devices = []
    for raw in json.loads(text).get("blockdevices", []):
        if raw.get("type") not in ("disk", "loop"):
            continue
        dev = Device(name=raw["name"], path=raw.get("path") or f"/dev/{raw['name']}",
                     size_bytes=int(raw.get("size") or 0),
                     type=raw["type"], transport=raw.get("tran") or "",
                     removable=bool(raw.get("rm")) or bool(raw.get("hotplug")), model=(raw.get("model") or "").strip())
        for child in raw.get("children") or []:
            if child.get("type") == "part":
                dev.partitions.append(Partition(name=child["name"], path=child.get("path") or f"/dev/{child['name']}",
                                                size_bytes=int(child.get("size") or 0)))
        devices.append(dev)
    return devices


def _backing_file(name: str) -> str:
    try:
        return Path(f"/sys/block/{name}/loop/backing_file").read_text().strip()
    except OSError:
        return ""


def _sys_flag(path: str) -> bool:
    try:
        return Path(path).read_text().strip() == "1"
    except OSError:
        return False


def mounts() -> dict[str, str]:
    """Device path -> mount point, from the kernel's mount table (first mount wins)."""
    found: dict[str, str] = {}
    try:
        lines = Path("/proc/self/mounts").read_text().splitlines()
    except OSError:
        return found
    for line in lines:
        parts = line.split()
        if len(parts) >= 2 and parts[0].startswith("/dev/"):
            found.setdefault(parts[0], parts[1].replace("\\040", " "))
    return found


def probe(path: str) -> dict[str, str]:
    """TYPE, LABEL, UUID of the file system on `path` (read-only probe; {} when none)."""
    try:
        out = run(["blkid", "-p", "-o", "export", path], timeout=20)
    except CommandFailed:
        return {}
    values = {}
    for line in out.splitlines():
        key, _, value = line.partition("=")
        values[key] = value
    return values


def _fill(part: Partition, mounted: dict[str, str]) -> None:
    info = probe(part.path)
    if info.get("USAGE", "filesystem") == "filesystem":
        part.fstype = info.get("TYPE", "")
        part.label = info.get("LABEL", "")
        part.uuid = info.get("UUID", "")
    part.mountpoint = mounted.get(part.path, "")
    if part.mountpoint:
        try:
            st = os.statvfs(part.mountpoint)
            part.total_bytes = st.f_blocks * st.f_frsize
            part.free_bytes = st.f_bavail * st.f_frsize
            part.used_bytes = (st.f_blocks - st.f_bfree) * st.f_frsize
        except OSError:
            pass


def scan(settings: Settings, policy=None) -> list[Device]:
    """The removable storage devices the policy accepts, with partitions, file systems and usage."""
    policy = policy or policy_for(settings)
    try:
        devices = parse_lsblk(run(["lsblk", "-J", "-b", "-o", LSBLK_COLUMNS], timeout=20))
    except (CommandFailed, ValueError):
        return []
    mounted = mounts()
    accepted = []
    for dev in devices:
        if dev.type == "loop":
            dev.backing_file = _backing_file(dev.name)
            if not dev.backing_file:
                continue  # a free loop device
            # `losetup -d` on a loop device still in use only marks it: it is going away, like a pulled stick.
            dev.detaching = _sys_flag(f"/sys/block/{dev.name}/loop/autoclear")
        if not policy.accepts(dev):
            continue
        for part in dev.partitions:
            _fill(part, mounted)
        if not dev.partitions:
            whole = Partition(name=dev.name, path=dev.path, size_bytes=dev.size_bytes)
            _fill(whole, mounted)
            dev.whole = whole if whole.fstype else None
            if not whole.fstype and probe(dev.path).get("PTTYPE"):
                _register_partitions(dev, mounted)
        accepted.append(dev)
    return accepted


def _register_partitions(dev: Device, mounted: dict[str, str]) -> None:
    """A partition table the kernel did not read (a kernel without partition support, a late udev): tell it."""
    try:
        run(["partx", "-u", dev.path], timeout=20)
    except CommandFailed:
        return
    for name in partition_nodes(dev.name):
        try:
            sectors = int(Path(f"/sys/class/block/{name}/size").read_text())
        except (OSError, ValueError):
            continue
        part = Partition(name=name, path=f"/dev/{name}", size_bytes=sectors * 512)
        _fill(part, mounted)
        dev.partitions.append(part)


def find(settings: Settings, name: str) -> Device | None:
    return next((d for d in scan(settings) if d.name == name), None)


def partition_nodes(name: str) -> list[str]:
    """Partition names the kernel knows for disk `name` (sysfs), in order."""
    base = Path(f"/sys/class/block/{name}")
    try:
        children = sorted(p.name for p in base.iterdir() if (p / "partition").exists())
    except OSError:
        return []
    return children


def human(size: int | None) -> str:
    if size is None:
        return "-"
    value = float(size)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if value < 1000 or unit == "TB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{size} B"
