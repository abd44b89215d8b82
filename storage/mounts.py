"""Mounts: every storage volume is mounted at `media_root(settings) / <label>` (one home for that path).

On the image the root is /media; in lab mode <data>/media. A volume counts as present only when its
mount point IS a mount (os.path.ismount) AND holds the marker file naming its UUID: a folder left
behind by a pulled stick, or another stick with the same label, is never written to.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from appliance.errors import ValidationError
from appliance.settings import Settings
from storage.commands import run

MARKER = ".appliance-volume"
# The appliance's own folders on a volume live under this folder (voicemail, recordings...).
DATA_FOLDER = "appliance"
LABEL_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,15}$")
MOUNT_OPTIONS = "nosuid,nodev,noexec,noatime"


def media_root(settings: Settings) -> Path:
    return settings.data_dir / "media" if settings.lab else Path("/media")


def mount_point(settings: Settings, label: str) -> Path:
    check_label(label)
    return media_root(settings) / label


def check_label(label: object, field: str = "label") -> str:
    if not isinstance(label, str) or not LABEL_RE.match(label):
        raise ValidationError(field, "must be 1 to 16 letters, digits, - or _, starting with a letter or digit")
    return label


def is_present(settings: Settings, label: str, uuid: str) -> bool:
    """The volume `uuid` is mounted at its mount point right now."""
    point = mount_point(settings, label)
    try:
        return os.path.ismount(point) and (point / MARKER).read_text().strip() == uuid
    except OSError:
        return False


def data_root(settings: Settings, label: str) -> Path:
    return mount_point(settings, label) / DATA_FOLDER


def mount(settings: Settings, device_path: str, label: str, uuid: str, *, write_marker: bool = False) -> Path:
    """Mount the ext4 file system at `device_path` at <media>/<label>; returns the mount point."""
    point = mount_point(settings, label)
    point.mkdir(parents=True, exist_ok=True)
    if not os.path.ismount(point):
        run(["mount", "-t", "ext4", "-o", MOUNT_OPTIONS, device_path, str(point)], timeout=60)
    if write_marker:
        (point / MARKER).write_text(uuid + "\n")
        (point / DATA_FOLDER).mkdir(exist_ok=True)
    return point


def unmount(settings: Settings, label: str, *, lazy: bool = False) -> bool:
    """Unmount <media>/<label> if mounted (lazy: detach now, release when the last file closes)."""
    point = mount_point(settings, label)
    if not os.path.ismount(point):
        return False
    run(["umount", *(["-l"] if lazy else []), str(point)], timeout=60)
    return True


def stale_mounts(settings: Settings) -> list[Path]:
    """Mount points under the media root whose device is gone (a stick pulled out without unmounting)."""
    root = str(media_root(settings))
    stale = []
    try:
        lines = Path("/proc/self/mounts").read_text().splitlines()
    except OSError:
        return stale
    for line in lines:
        parts = line.split()
        if len(parts) < 2:
            continue
        point = parts[1].replace("\\040", " ")
        if os.path.dirname(point) == root and parts[0].startswith("/dev/") and not os.path.exists(parts[0]):
            stale.append(Path(point))
        elif os.path.dirname(point) == root and parts[0].startswith("/dev/loop") and not _loop_attached(parts[0]):
            stale.append(Path(point))
    return stale


def _loop_attached(device: str) -> bool:
    name = os.path.basename(device)
    disk = re.sub(r"p[0-9]+$", "", name)
    return Path(f"/sys/block/{disk}/loop/backing_file").exists()
