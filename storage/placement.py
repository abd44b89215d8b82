"""Where each kind of data lives, and moving a kind from one place to another.

KINDS is the one table of "data kinds" -> folder name. `folder(settings, kind)` is the one answer to
"where do I read and write this kind now", asked by each kind's own home function
(appliance.voicemail.storage.root, appliance.recordings.service.folder, appliance.backup.service.folder,
storage.history.folder):
- placed internally (the default): <data>/<folder name>;
- placed on a volume that is present: <media>/<label>/appliance/<folder name>;
- placed on a volume that is MISSING (stick pulled out): the internal folder again, so the appliance
  keeps working: new voicemail, recordings, backups and call-history lines are written internally
  meanwhile and moved onto the volume by the storage daemon once it is back (`sweep`). What was
  already on the missing volume cannot be read until it returns.

A move copies every file, verifies each copy (SHA-256), switches the placement, copies what arrived
at the old place meanwhile, and only then removes the old copies (a file whose copy does not verify
stays where it was, and the move reports it).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path

from appliance.errors import Conflict, NotFound, ValidationError
from appliance.settings import Settings
from storage import mounts

log = logging.getLogger(__name__)

# kind -> (folder name, what it holds)
KINDS: dict[str, tuple[str, str]] = {
    "voicemail": ("voicemail", "Voicemail messages and greetings"),
    "recordings": ("recordings", "Call recordings"),
    "call_history": ("call-history", "Call history (one CSV file per month)"),
    "backups": ("backups", "Backups"),
}
# Files still being written are left alone by a sweep until they have not changed for this long.
SETTLE_S = 5.0
# Folders of work in progress (voicemail recordings being made) are never moved.
SKIP_DIRS = {".tmp"}
FREE_MARGIN = 1.05
# After the switch, how long a move waits for files still being written at the old place.
FINAL_WAIT_S = 60.0


def check_kind(kind: object) -> str:
    if kind not in KINDS:
        raise NotFound("data kind", str(kind)[:40])
    return kind  # type: ignore[return-value]


def internal_folder(settings: Settings, kind: str) -> Path:
    return settings.data_dir / KINDS[kind][0]


def volume_folder(settings: Settings, label: str, kind: str) -> Path:
    return mounts.data_root(settings, label) / KINDS[kind][0]


def _placement(kind: str):
    """(Placement row, Volume row or None); (None, None) when the store is not open in this process."""
    from storage.models import Placement, Volume

    try:
        row = Placement.get_or_none(Placement.kind == kind)
        if row is None or not row.volume_uuid:
            return row, None
        return row, Volume.get_or_none(Volume.uuid == row.volume_uuid)
    except Exception:  # noqa: BLE001 -- no store in this process (a tool, a unit test): internal
        return None, None


def folder(settings: Settings, kind: str) -> Path:
    """Where `kind` is read and written right now (see the module docstring)."""
    _row, volume = _placement(kind)
    if volume is not None and mounts.is_present(settings, volume.label, volume.uuid):
        return volume_folder(settings, volume.label, kind)
    return internal_folder(settings, kind)


def state(settings: Settings, kind: str) -> dict:
    row, volume = _placement(kind)
    present = volume is not None and mounts.is_present(settings, volume.label, volume.uuid)
    current = folder(settings, kind)
    files, size = _count(current)
    return {"kind": kind, "description": KINDS[kind][1], "volume_uuid": volume.uuid if volume else "",
            "location": volume.label if volume else "internal",
            "state": "ok" if volume is None or present else "missing",
            "folder": str(current), "files": files, "bytes": size, "revision": row.revision if row else 1}


def states(settings: Settings) -> list[dict]:
    return [state(settings, kind) for kind in KINDS]


def missing_volumes(settings: Settings) -> dict[str, list[str]]:
    """Label of each placed volume that is not present -> the kinds placed on it."""
    missing: dict[str, list[str]] = {}
    for kind in KINDS:
        _row, volume = _placement(kind)
        if volume is not None and not mounts.is_present(settings, volume.label, volume.uuid):
            missing.setdefault(volume.label, []).append(kind)
    return missing


# -- files ----------------------------------------------------------------------------------------------------

def _files(root: Path) -> list[Path]:
    """Regular files under root (relative), work in progress left out."""
    found = []
    if not root.is_dir():
        return found
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d not in SKIP_DIRS]
        for name in filenames:
            path = Path(dirpath) / name
            if path.is_file() and not path.is_symlink():
                found.append(path.relative_to(root))
    return sorted(found)


def _count(root: Path) -> tuple[int, int]:
    files = _files(root)
    total = 0
    for rel in files:
        try:
            total += (root / rel).stat().st_size
        except OSError:
            pass
    return len(files), total


def sha256(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def _copy_verified(src: Path, dst: Path) -> bool:
    """Copy src to dst (through a temporary name, then renamed) and compare hashes."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name(f".{dst.name}.copying")
    shutil.copy2(src, tmp)
    with open(tmp, "rb") as f:
        os.fsync(f.fileno())
    os.replace(tmp, dst)
    return sha256(src) == sha256(dst)


def _prune_empty(root: Path) -> None:
    for dirpath, _dirnames, _filenames in os.walk(root, topdown=False):
        path = Path(dirpath)
        if path != root and not any(path.iterdir()):
            try:
                path.rmdir()
            except OSError:
                pass


# -- moving -----------------------------------------------------------------------------------------------------

def target_folder(settings: Settings, kind: str, volume_uuid: str) -> tuple[Path, str]:
    """(folder, label) a move of `kind` to `volume_uuid` ('' = internal) would write to; checked."""
    from storage.models import Volume

    if volume_uuid == "":
        return internal_folder(settings, kind), "internal"
    volume = Volume.get_or_none(Volume.uuid == volume_uuid)
    if volume is None:
        raise ValidationError("volume_uuid", "is not a volume initialized on this appliance")
    if not mounts.is_present(settings, volume.label, volume.uuid):
        raise ValidationError("volume_uuid", f"the volume {volume.label} is not plugged in")
    return volume_folder(settings, volume.label, kind), volume.label


def check_move(settings: Settings, kind: str, volume_uuid: object) -> dict:
    """Everything a move needs, checked before it starts (ValidationError / Conflict naming the field)."""
    check_kind(kind)
    if not isinstance(volume_uuid, str):
        raise ValidationError("volume_uuid", "must be a volume's UUID, or \"\" for the internal data folder")
    row, volume = _placement(kind)
    if row is None:
        raise Conflict("kind", "the store is not ready")
    if volume is not None and not mounts.is_present(settings, volume.label, volume.uuid):
        raise Conflict("kind", f"{kind} lives on {volume.label}, which is missing: plug it in first")
    if row.volume_uuid == volume_uuid:
        raise ValidationError("volume_uuid", f"{kind} already lives there")
    source = folder(settings, kind)
    target, label = target_folder(settings, kind, volume_uuid)
    files, size = _count(source)
    free = shutil.disk_usage(_existing_parent(target)).free
    if size * FREE_MARGIN > free:
        raise ValidationError("volume_uuid", f"not enough free space on {label}: {size} bytes to move, {free} free")
    return {"kind": kind, "source": source, "target": target, "label": label, "files": files, "bytes": size,
            "volume_uuid": volume_uuid, "revision": row.revision}


def _existing_parent(path: Path) -> Path:
    while not path.exists():
        path = path.parent
    return path


def move(settings: Settings, plan: dict, progress: Callable[[int, str], None] = lambda p, s: None) -> dict:
    """Copy, verify, switch, then remove the old copies (plan from check_move)."""
    from appliance.events.log import record
    from appliance.store import database
    from storage.models import Placement

    kind, source, target = plan["kind"], plan["source"], plan["target"]
    files = _files(source)
    total = sum((source / rel).stat().st_size for rel in files) or 1
    done = 0
    failed: list[str] = []
    copied: set[Path] = set()
    for rel in files:
        progress(int(80 * done / total), f"copying {rel}")
        try:
            if _copy_verified(source / rel, target / rel):
                copied.add(rel)
            else:
                failed.append(str(rel))
                (target / rel).unlink(missing_ok=True)
        except OSError as exc:
            failed.append(f"{rel}: {exc.strerror or exc}")
            (target / rel).unlink(missing_ok=True)
        done += (source / rel).stat().st_size if (source / rel).exists() else 0
    if failed:
        for rel in copied:
            (target / rel).unlink(missing_ok=True)
        raise Conflict("kind", f"{len(failed)} file(s) could not be copied and verified, nothing moved: "
                               + "; ".join(failed[:5]))
    progress(85, "switching")
    with database.atomic():
        row = Placement.get(Placement.kind == kind)
        if row.revision != plan["revision"]:
            raise Conflict("revision", f"the place of {kind} was changed meanwhile; nothing switched")
        row.volume_uuid = plan["volume_uuid"]
        row.revision += 1
        row.updated_at = dt.datetime.utcnow()
        row.save()
    # What arrived at the old place while copying (a new message) goes across too, then the old copies go.
    # A file still being written (a recording in progress) is waited for, up to FINAL_WAIT_S, then left.
    progress(90, "removing the old copies")
    left = []
    pending = _files(source)
    deadline = time.monotonic() + FINAL_WAIT_S
    while pending:
        busy = []
        for rel in pending:
            src, dst = source / rel, target / rel
            try:
                if time.time() - src.stat().st_mtime < SETTLE_S and time.monotonic() < deadline:
                    busy.append(rel)
                    continue
                if time.time() - src.stat().st_mtime < SETTLE_S:
                    left.append(f"{rel}: still being written, left where it is")
                    continue
                if rel not in copied or not dst.exists() or sha256(src) != sha256(dst):
                    if not _copy_verified(src, dst):
                        left.append(str(rel))
                        continue
                src.unlink()
            except OSError as exc:
                left.append(f"{rel}: {exc.strerror or exc}")
        pending = busy
        if pending:
            time.sleep(0.5)
    _prune_empty(source)
    message = (f"{KINDS[kind][1]} moved to {plan['label']}: {len(files)} files, {total if files else 0} bytes "
               "copied and verified")
    record("storage.moved", plan["label"], message, data_kind=kind, files=len(files), left=len(left))
    progress(100, "done")
    return {"kind": kind, "location": plan["label"], "files": len(files), "bytes": total if files else 0,
            "left": left, "folder": str(target)}


def sweep(settings: Settings, kind: str, now: float | None = None) -> int:
    """Move what was written internally while `kind`'s volume was missing onto the volume; returns files moved.

    Only when the kind is placed on a volume that is present; files changed in the last SETTLE_S
    seconds (still being written) wait for the next sweep. Call-history files of the same month are
    appended to the volume's (their header line once).
    """
    _row, volume = _placement(kind)
    if volume is None or not mounts.is_present(settings, volume.label, volume.uuid):
        return 0
    source, target = internal_folder(settings, kind), volume_folder(settings, volume.label, kind)
    now = time.time() if now is None else now
    moved = 0
    for rel in _files(source):
        src, dst = source / rel, target / rel
        try:
            if now - src.stat().st_mtime < SETTLE_S:
                continue
            if dst.exists() and kind == "call_history" and rel.suffix == ".csv":
                _append_csv(src, dst)
            elif dst.exists() and sha256(src) == sha256(dst):
                pass
            elif dst.exists():
                dst = dst.with_name(f"{dst.stem}-internal{dst.suffix}")
                if not _copy_verified(src, dst):
                    continue
            elif not _copy_verified(src, dst):
                continue
            src.unlink()
            moved += 1
        except OSError as exc:
            log.warning("sweep of %s: %s stays internal for now: %s", kind, rel, exc)
    if moved:
        _prune_empty(source)
        log.info("%s: %d file(s) written internally while %s was missing moved onto it", kind, moved, volume.label)
    return moved


def _append_csv(src: Path, dst: Path) -> None:
    lines = src.read_text().splitlines(keepends=True)
    with open(dst, "a") as out:
        out.writelines(lines[1:])
        out.flush()
        os.fsync(out.fileno())
