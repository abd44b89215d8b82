"""The backup folder (archives kept on the appliance), options as the web UI and API give them, streaming.

Archives kept on the appliance live in `folder(settings)` (<data>/backups/), named `*.pbxbak`: made
there ("generate onto storage") or uploaded for a restore. Options arrive as JSON or form values and
are checked here (ValidationError naming the field).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import queue
import re
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

from appliance.backup import archive
from appliance.backup.container import MIN_PASSPHRASE, read_header
from appliance.backup.errors import BackupRefused
from appliance.errors import NotFound, ValidationError
from appliance.settings import Settings

log = logging.getLogger(__name__)

SUFFIX = ".pbxbak"
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}\.pbxbak$")
MAX_UPLOAD = 64 << 30
_BLOCK = 1 << 20


def folder(settings: Settings) -> Path:
    """<data>/backups, or the USB volume the admin placed backups on (storage.placement)."""
    from storage.placement import folder as placed

    return placed(settings, "backups")


def default_name(settings: Settings, prefix: str = "backup") -> str:
    from appliance.system import get_system_settings

    try:
        label = re.sub(r"[^A-Za-z0-9-]+", "-", get_system_settings().appliance_name).strip("-")[:40] or "pbx"
    except Exception:  # noqa: BLE001 -- a name is a nicety
        label = "pbx"
    return f"{prefix}-{label}-{dt.datetime.now(dt.UTC):%Y%m%d-%H%M%S}{SUFFIX}"


def options(data: dict) -> dict:
    """{"parts", "secrets", "passphrase"} checked: ValidationError names the field at fault."""
    parts = data.get("parts", [])
    if not isinstance(parts, list) or not all(isinstance(p, str) for p in parts):
        raise ValidationError("parts", "must be a list of part names")
    for index, part in enumerate(parts):
        if part not in archive.OPTIONAL_PARTS:
            raise ValidationError(f"parts.{index}", f"must be one of {', '.join(archive.OPTIONAL_PARTS)}")
    secrets = data.get("secrets", True)
    if not isinstance(secrets, bool):
        raise ValidationError("secrets", "must be true or false")
    passphrase = data.get("passphrase") or None
    if passphrase is not None and not isinstance(passphrase, str):
        raise ValidationError("passphrase", "must be a string")
    if secrets and not passphrase:
        raise ValidationError("passphrase", "is required: an archive holding the secrets is encrypted with it "
                                            "(or leave the secrets out)")
    if passphrase is not None and len(passphrase) < MIN_PASSPHRASE:
        raise ValidationError("passphrase", f"must have at least {MIN_PASSPHRASE} characters")
    if "passphrase_confirm" in data and data["passphrase_confirm"] != (passphrase or ""):
        raise ValidationError("passphrase_confirm", "does not match the passphrase")
    return {"parts": parts, "secrets": secrets, "passphrase": passphrase}


def path_of(settings: Settings, name: str) -> Path:
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise NotFound("backup", str(name)[:100])
    path = folder(settings) / name
    if not path.is_file():
        raise NotFound("backup", name)
    return path


def describe_file(path: Path) -> dict:
    st = path.stat()
    info = {"name": path.name, "size": st.st_size,
            "modified_at": dt.datetime.fromtimestamp(st.st_mtime, dt.UTC).isoformat(timespec="seconds")}
    try:
        with open(path, "rb") as f:
            info["encrypted"] = read_header(f)["encrypted"]
        info["readable"] = True
    except BackupRefused as exc:
        info["encrypted"] = False
        info["readable"] = False
        info["problem"] = exc.message
    return info


def list_files(settings: Settings) -> list[dict]:
    root = folder(settings)
    if not root.is_dir():
        return []
    files = [p for p in root.iterdir() if p.is_file() and NAME_RE.match(p.name)]
    return [describe_file(p) for p in sorted(files, key=lambda p: p.stat().st_mtime, reverse=True)]


def _write_into_folder(settings: Settings, name: str, make: Callable[[BinaryIO], object]) -> Path:
    """Write through a temporary file of this request's own, then give it `name` (or `name` with -2, -3...
    when two archives are made in the same second): an existing archive is never overwritten."""
    import tempfile

    root = folder(settings)
    root.mkdir(parents=True, exist_ok=True)
    handle, partial_name = tempfile.mkstemp(dir=root, prefix=f".{name}.", suffix=".partial")
    partial = Path(partial_name)
    try:
        with os.fdopen(handle, "wb") as out:
            make(out)
            out.flush()
            os.fsync(out.fileno())
        stem = name[:-len(SUFFIX)] if name.endswith(SUFFIX) else name
        for n in range(1, 1000):
            target = root / (name if n == 1 else f"{stem}-{n}{SUFFIX}")
            try:
                os.link(partial, target)  # fails if the name is taken: no clobbering
                return target
            except FileExistsError:
                continue
        raise ValidationError("file", "too many archives with this name; try again in a second")
    finally:
        partial.unlink(missing_ok=True)


def create_stored(settings: Settings, opts: dict) -> dict:
    """Generate an archive into the backup folder; its description."""
    name = default_name(settings)
    path = _write_into_folder(settings, name, lambda out: archive.create_backup(
        settings, out, opts["parts"], opts["passphrase"], opts["secrets"]))
    return describe_file(path)


def save_upload(settings: Settings, stream: BinaryIO, length: int) -> dict:
    """An uploaded archive (the request body, `length` bytes) into the backup folder; refused if not ours."""
    if length <= 0:
        raise ValidationError("file", "is empty: choose a backup archive")
    if length > MAX_UPLOAD:
        raise ValidationError("file", "is too large")
    name = default_name(settings, "uploaded")

    def copy(out: BinaryIO) -> None:
        left = length
        while left > 0:
            block = stream.read(min(_BLOCK, left))
            if not block:
                raise ValidationError("file", "the upload was interrupted")
            out.write(block)
            left -= len(block)

    path = _write_into_folder(settings, name, copy)
    info = describe_file(path)
    if not info["readable"]:
        path.unlink(missing_ok=True)
        raise ValidationError("file", info.get("problem", "is not a backup archive of this appliance"))
    return info


def delete_file(settings: Settings, name: str) -> None:
    path_of(settings, name).unlink()


class _Cancelled(Exception):
    pass


def stream(make: Callable[[BinaryIO], object], depth: int = 8) -> Iterator[bytes]:
    """Run `make(writer)` in a thread and yield what it writes: a response body made while it is sent.

    A failure midway ends the body early: the client holds a truncated archive, which every
    restore refuses. A client that goes away stops the writer."""
    chunks: queue.Queue = queue.Queue(maxsize=depth)
    cancelled = threading.Event()

    class Writer:
        def write(self, data) -> int:
            data = bytes(data)
            while True:
                if cancelled.is_set():
                    raise _Cancelled()
                try:
                    chunks.put(data, timeout=0.5)
                    return len(data)
                except queue.Full:
                    continue

        def flush(self) -> None:
            pass

    def finish(item) -> None:
        while not cancelled.is_set():
            try:
                chunks.put(item, timeout=0.5)
                return
            except queue.Full:
                continue

    def run() -> None:
        try:
            make(Writer())
            finish(None)
        except _Cancelled:
            pass
        except BaseException as exc:  # noqa: BLE001 -- reported through the queue
            log.exception("streamed archive failed")
            finish(exc)

    thread = threading.Thread(target=run, name="backup-stream", daemon=True)
    thread.start()
    try:
        while True:
            item = chunks.get()
            if item is None or isinstance(item, BaseException):
                return
            yield item
    finally:
        cancelled.set()


def supervisor_running(settings: Settings) -> bool:
    """Whether `appliance run` supervises this data folder (it restarts the services after a restore)."""
    from appliance.supervisor import pid_path

    try:
        pid = int(pid_path(settings).read_text().strip())
        return "appliance" in open(f"/proc/{pid}/cmdline", "rb").read().decode(errors="replace")
    except (OSError, ValueError):
        return False


def restart_later(settings: Settings, delay_s: float = 1.0) -> bool:
    """Ask the supervisor (on the image: systemd) to restart every service in `delay_s` (the answer gets out
    first)."""
    from appliance.supervisor import request_full_restart

    if settings.lab and not supervisor_running(settings):
        return False
    timer = threading.Timer(delay_s, request_full_restart, args=(settings,))
    timer.daemon = True
    timer.start()
    return True
