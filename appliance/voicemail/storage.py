"""Where voicemail files live: the one home for their paths.

Under the voicemail folder (`root`: <data>/voicemail, or the storage volume an administrator placed
voicemail on, see storage.placement):

    <box id>/msg-<uuid>.wav         a message (Message.file holds "<box id>/msg-<uuid>.wav")
    <box id>/greeting-<kind>.wav    a greeting (unavailable, busy, name), 16 kHz mono 16-bit
    <box id>/.tmp/                  recordings in progress (moved into place once complete)
    tts/<lang>/<key>.wav            spoken caller numbers and dates (cached)

A message file is complete before its row exists (written in .tmp, then renamed): a
crash or a full quota never leaves half a message listed.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from pathlib import Path

from appliance.settings import Settings


def root(settings: Settings) -> Path:
    """<data>/voicemail, or the USB volume the admin placed voicemail on (storage.placement)."""
    from storage.placement import folder

    return folder(settings, "voicemail")


def box_dir(settings: Settings, box_id: int) -> Path:
    return root(settings) / str(int(box_id))


def new_message_file(box_id: int) -> str:
    """A fresh relative file name for a message of `box_id`."""
    return f"{int(box_id)}/msg-{uuid.uuid4().hex}.wav"


def message_path(settings: Settings, relative: str) -> Path:
    path = (root(settings) / relative).resolve()
    if root(settings).resolve() not in path.parents:
        raise ValueError(f"voicemail file {relative!r} is outside the voicemail folder")
    return path


def greeting_path(settings: Settings, box_id: int, kind: str) -> Path:
    return box_dir(settings, box_id) / f"greeting-{kind}.wav"


def scratch(settings: Settings, box_id: int) -> Path:
    """A fresh temporary directory in the box's folder (same file system: files move into place)."""
    base = box_dir(settings, box_id) / ".tmp"
    base.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(dir=base))


def remove_scratch(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


def place(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.replace(source, target)
    except OSError:  # the voicemail folder moved to another file system while recording (a USB volume)
        shutil.move(str(source), str(target))


def remove_box_files(settings: Settings, box_id: int) -> None:
    shutil.rmtree(box_dir(settings, box_id), ignore_errors=True)


def used_bytes(settings: Settings, box_id: int) -> int:
    """Bytes of the box's messages and greetings on disk."""
    folder = box_dir(settings, box_id)
    if not folder.is_dir():
        return 0
    return sum(p.stat().st_size for p in folder.glob("*.wav") if p.is_file())


def tts_cache(settings: Settings, language: str, key: str) -> Path:
    return root(settings) / "tts" / language / f"{key}.wav"
