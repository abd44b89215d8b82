"""Recording settings, the recordings folder, quota per owner, retention, listing and deleting recordings.

The files are WAV under `folder(settings)` (<data>/recordings/YYYY/MM/), one home for that path; a
row per recording (appliance.recordings.models.Recording) links it to its call's CDR by call_id.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import wave
from pathlib import Path

from appliance.errors import Conflict, NotFound, ValidationError
from appliance.recordings.models import Recording, RecordingSettings
from appliance.settings import Settings
from appliance.store import database

log = logging.getLogger(__name__)

FEATURE_CODE_RE = re.compile(r"^[*#]?[0-9]{1,6}[*#]?$")
RANGES = {"quota_mb": (1, 100_000), "retention_days": (1, 3650)}
EDITABLE_FIELDS = ("announcement", "feature_code", "quota_mb", "retention_days")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


def folder(settings: Settings) -> Path:
    """<data>/recordings, or the USB volume the admin placed recordings on (storage.placement)."""
    from storage.placement import folder as placed

    return placed(settings, "recordings")


def get_settings() -> RecordingSettings:
    row = RecordingSettings.get_or_none(RecordingSettings.id == 1)
    if row is None:  # the migration inserts it; recreate it if someone deleted it
        row = RecordingSettings.create(id=1)
    return row


def settings_to_public(row: RecordingSettings) -> dict:
    return {"announcement": bool(row.announcement), "feature_code": row.feature_code, "quota_mb": row.quota_mb,
            "retention_days": row.retention_days, "revision": row.revision}


def update_settings(data: dict) -> RecordingSettings:
    """Change some settings; `revision` (optional) refuses a concurrent edit."""
    if not isinstance(data, dict):
        raise ValidationError("body", "must be a JSON object")
    data = dict(data)
    expected = data.pop("revision", None)
    values = {}
    for key, value in data.items():
        if key not in EDITABLE_FIELDS:
            raise ValidationError(str(key)[:64], "is not a recording setting")
        values[key] = _clean(key, value)
    with database.atomic():
        row = get_settings()
        if expected is not None:
            if isinstance(expected, bool) or not isinstance(expected, int):
                raise ValidationError("revision", "must be an integer")
            if expected != row.revision:
                raise Conflict("revision", "the settings were changed by someone else; reload and try again")
        if any(getattr(row, key) != value for key, value in values.items()):
            for key, value in values.items():
                setattr(row, key, value)
            row.revision += 1
            row.save()
    return row


def _clean(key: str, value: object):
    if key == "announcement":
        if not isinstance(value, bool):
            raise ValidationError(key, "must be true or false")
        return value
    if key == "feature_code":
        if not isinstance(value, str) or not FEATURE_CODE_RE.match(value):
            raise ValidationError(key, "must be 1 to 6 digits, optionally starting or ending with * or # (e.g. *1)")
        return value
    low, high = RANGES[key]
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(key, f"must be a whole number from {low} to {high}")
    if not low <= value <= high:
        raise ValidationError(key, f"must be from {low} to {high}")
    return value


# -- files ------------------------------------------------------------------------------------------

def used_bytes(owner: str) -> int:
    """What `owner`'s recordings take (a running recording counts once it ends)."""
    from peewee import fn

    return int(Recording.select(fn.COALESCE(fn.SUM(Recording.size_bytes), 0))
               .where(Recording.owner == owner).scalar() or 0)


def has_room(owner: str, row: RecordingSettings | None = None) -> bool:
    row = row or get_settings()
    return used_bytes(owner) < row.quota_mb * 1024 * 1024


def new_recording(settings: Settings, call_id: str, owner: str, reason: str,
                  now: dt.datetime | None = None) -> tuple[Recording, Path]:
    """A row for a recording about to start, and the WAV path to record into."""
    now = now or dt.datetime.utcnow()
    base = f"{now:%Y/%m}/{_UNSAFE.sub('_', call_id)[:80]}"
    relative = f"{base}.wav"
    n = 1
    while Recording.select().where(Recording.file == relative).exists():
        n += 1
        relative = f"{base}-{n}.wav"
    path = folder(settings) / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    return Recording.create(call_id=call_id, owner=owner, reason=reason, started_at=now, file=relative), path


def finish(settings: Settings, recording: Recording) -> None:
    """The recording ended: note its length and size (a file that never came is removed from the list)."""
    from storage.placement import internal_folder

    # Started while the USB volume was missing, the file went to the internal folder (and may have been
    # moved onto the volume since): look in both.
    candidates = [folder(settings) / recording.file, internal_folder(settings, "recordings") / recording.file]
    path = next((c for c in candidates if c.exists()), candidates[0])
    if not path.exists():
        log.warning("recording %s of call %s produced no file", recording.file, recording.call_id)
        Recording.delete().where(Recording.id == recording.id).execute()
        return
    Recording.update(duration_s=round(wav_seconds(path), 2), size_bytes=path.stat().st_size).where(
        Recording.id == recording.id).execute()


def wav_seconds(path: Path) -> float:
    try:
        with wave.open(str(path), "rb") as wav:
            return wav.getnframes() / float(wav.getframerate() or 1)
    except (wave.Error, EOFError, OSError):
        return 0.0


def purge(settings: Settings, now: dt.datetime | None = None, limit: int = 500) -> int:
    """Delete recordings older than the retention (rows and files); returns how many went."""
    now = now or dt.datetime.utcnow()
    cutoff = now - dt.timedelta(days=get_settings().retention_days)
    old = list(Recording.select().where(Recording.started_at < cutoff).order_by(Recording.id).limit(limit))
    for recording in old:
        _remove(settings, recording)
    return len(old)


def _remove(settings: Settings, recording: Recording) -> None:
    (folder(settings) / recording.file).unlink(missing_ok=True)
    Recording.delete().where(Recording.id == recording.id).execute()


# -- reading ----------------------------------------------------------------------------------------

def to_public(recording: Recording) -> dict:
    return {"id": recording.id, "call_id": recording.call_id, "owner": recording.owner, "reason": recording.reason,
            "started_at": recording.started_at.isoformat(timespec="seconds") + "Z",
            "duration_s": recording.duration_s, "size_bytes": recording.size_bytes,
            "url": f"/api/v1/recordings/{recording.id}/audio"}


def list_recordings(owner: str = "", call_id: str = "", limit: int = 100, offset: int = 0) -> list[Recording]:
    query = Recording.select()
    if owner:
        query = query.where(Recording.owner == owner)
    if call_id:
        query = query.where(Recording.call_id == call_id)
    return list(query.order_by(Recording.started_at.desc(), Recording.id.desc()).limit(limit).offset(offset))


def by_call(call_ids: list[str]) -> dict[str, list[Recording]]:
    """The recordings of each of these calls (for the call history's links)."""
    found: dict[str, list[Recording]] = {}
    if call_ids:
        for recording in Recording.select().where(Recording.call_id.in_(call_ids)).order_by(Recording.id):
            found.setdefault(recording.call_id, []).append(recording)
    return found


def get_recording(recording_id: int) -> Recording:
    recording = Recording.get_or_none(Recording.id == recording_id)
    if recording is None:
        raise NotFound("recording", str(recording_id))
    return recording


def audio_path(settings: Settings, recording: Recording) -> Path:
    path = folder(settings) / recording.file
    if recording.size_bytes is None or not path.exists():
        raise NotFound("recording file", str(recording.id))
    return path


def delete_recording(settings: Settings, recording_id: int) -> None:
    _remove(settings, get_recording(recording_id))


def usage() -> list[dict]:
    """Per owner: how many recordings and how much space, against the quota."""
    from peewee import fn

    quota = get_settings().quota_mb * 1024 * 1024
    rows = (Recording.select(Recording.owner, fn.COUNT(Recording.id).alias("count"),
                             fn.COALESCE(fn.SUM(Recording.size_bytes), 0).alias("bytes"))
            .group_by(Recording.owner).order_by(Recording.owner))
    return [{"owner": r.owner, "count": r.count, "bytes": int(r.bytes), "quota_bytes": quota} for r in rows]
