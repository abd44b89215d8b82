"""Scheduled backups: daily, weekly or monthly at an hour (the appliance's time zone), into the backup
folder (storage.placement "backups": internal or a USB volume), keeping the last N scheduled archives.

One row (backup_schedule, schema V19). The passphrase of an archive with secrets is kept Fernet-encrypted
with the appliance key, never shown again. `due()` says whether the latest slot at or before now has not
run yet; turning a schedule on counts as a run at that moment (the first archive comes at the next slot).
`run_due()` makes the archive (`appliance backup run-scheduled`; in lab mode the supervisor starts it
when due, on the image a systemd timer does).
"""

from __future__ import annotations

import datetime as dt
import logging
import zoneinfo

import peewee

from appliance.backup import archive, service
from appliance.backup.container import MIN_PASSPHRASE
from appliance.backup.errors import BackupRefused
from appliance.dialplan.models import JSONField
from appliance.errors import Conflict, ValidationError
from appliance.settings import Settings
from appliance.store import BaseModel, database, secrets

log = logging.getLogger(__name__)

FREQUENCIES = ("off", "daily", "weekly", "monthly")
PREFIX = "scheduled-"
FIELDS = ("frequency", "hour", "weekday", "month_day", "parts", "secrets", "passphrase", "keep", "revision")
RANGES = {"hour": (0, 23), "weekday": (0, 6), "month_day": (1, 28), "keep": (1, 100)}


class BackupSchedule(BaseModel):
    frequency = peewee.CharField(max_length=8, default="off")
    hour = peewee.IntegerField(default=3)
    weekday = peewee.IntegerField(default=0)  # 0 = Monday
    month_day = peewee.IntegerField(default=1)
    parts = JSONField(default=list)
    secrets = peewee.BooleanField(default=True)
    passphrase_enc = peewee.TextField(null=True)
    keep = peewee.IntegerField(default=7)
    last_run_at = peewee.DateTimeField(null=True)  # UTC
    last_status = peewee.CharField(max_length=8, default="")  # "", "ok", "failed"
    last_message = peewee.CharField(max_length=512, default="")
    last_file = peewee.CharField(max_length=128, default="")
    revision = peewee.IntegerField(default=1)

    class Meta:
        table_name = "backup_schedule"


def get_schedule() -> BackupSchedule:
    row = BackupSchedule.get_or_none(BackupSchedule.id == 1)
    return row if row is not None else BackupSchedule.create(id=1)


def to_public(row: BackupSchedule) -> dict:
    return {"frequency": row.frequency, "hour": row.hour, "weekday": row.weekday, "month_day": row.month_day,
            "parts": list(row.parts or []), "secrets": bool(row.secrets), "passphrase_set": bool(row.passphrase_enc),
            "keep": row.keep, "revision": row.revision,
            "last_run_at": row.last_run_at.isoformat(timespec="seconds") + "Z" if row.last_run_at else None,
            "last_status": row.last_status or None, "last_message": row.last_message, "last_file": row.last_file}


def _int(field: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, str) and value.strip().isdecimal():
            value = int(value.strip())
        else:
            raise ValidationError(field, "must be an integer")
    low, high = RANGES[field]
    if not low <= value <= high:
        raise ValidationError(field, f"must be from {low} to {high}")
    return value


def update_schedule(data: object, now: dt.datetime | None = None) -> BackupSchedule:
    if not isinstance(data, dict):
        raise ValidationError("body", "must be a JSON object")
    for key in data:
        if key not in FIELDS:
            raise ValidationError(str(key)[:64], "is not a field of the backup schedule")
    now = now or dt.datetime.utcnow()
    with database.atomic():
        row = get_schedule()
        if "revision" in data and data["revision"] != row.revision:
            raise Conflict("revision", "the schedule changed since you read it: reload and try again")
        was_off = row.frequency == "off"
        if "frequency" in data:
            if data["frequency"] not in FREQUENCIES:
                raise ValidationError("frequency", f"must be one of {', '.join(FREQUENCIES)}")
            row.frequency = data["frequency"]
        for field in ("hour", "weekday", "month_day", "keep"):
            if field in data:
                setattr(row, field, _int(field, data[field]))
        if "parts" in data:
            row.parts = service.options({"parts": data["parts"], "secrets": False})["parts"]
        if "secrets" in data:
            if not isinstance(data["secrets"], bool):
                raise ValidationError("secrets", "must be true or false")
            row.secrets = data["secrets"]
        if data.get("passphrase"):
            if not isinstance(data["passphrase"], str) or len(data["passphrase"]) < MIN_PASSPHRASE:
                raise ValidationError("passphrase", f"must have at least {MIN_PASSPHRASE} characters")
            row.passphrase_enc = secrets.encrypt(data["passphrase"])
        if row.frequency != "off" and row.secrets and not row.passphrase_enc:
            raise ValidationError("passphrase", "is required: scheduled archives with the secrets are encrypted")
        if was_off and row.frequency != "off":
            row.last_run_at, row.last_status, row.last_message = now, "", ""
        row.revision += 1
        row.save()
    return row


def _zone() -> zoneinfo.ZoneInfo:
    from appliance.system import get_system_settings

    try:
        return zoneinfo.ZoneInfo(get_system_settings().timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, peewee.DoesNotExist):
        return zoneinfo.ZoneInfo("UTC")


def latest_slot(row: BackupSchedule, now_utc: dt.datetime, zone: dt.tzinfo) -> dt.datetime | None:
    """The latest scheduled moment at or before `now_utc` (naive UTC in, naive UTC out)."""
    if row.frequency not in ("daily", "weekly", "monthly"):
        return None
    local = now_utc.replace(tzinfo=dt.UTC).astimezone(zone)
    slot = local.replace(hour=row.hour, minute=0, second=0, microsecond=0)
    if row.frequency == "daily":
        if slot > local:
            slot -= dt.timedelta(days=1)
    elif row.frequency == "weekly":
        slot -= dt.timedelta(days=(slot.weekday() - row.weekday) % 7)
        if slot > local:
            slot -= dt.timedelta(days=7)
    else:
        slot = slot.replace(day=row.month_day)
        if slot > local:
            month = slot.month - 1 or 12
            slot = slot.replace(year=slot.year - (1 if month == 12 else 0), month=month)
    slot = slot.replace(tzinfo=None).replace(tzinfo=zone)  # the wall-clock hour in that day's offset
    return slot.astimezone(dt.UTC).replace(tzinfo=None)


def due(row: BackupSchedule, now_utc: dt.datetime | None = None, zone: dt.tzinfo | None = None) -> bool:
    now_utc = now_utc or dt.datetime.utcnow()
    slot = latest_slot(row, now_utc, zone or _zone())
    return slot is not None and (row.last_run_at is None or row.last_run_at < slot)


def prune(settings: Settings, keep: int) -> list[str]:
    """Delete the scheduled archives beyond the newest `keep`; the names deleted."""
    root = service.folder(settings)
    if not root.is_dir():
        return []
    mine = sorted(p for p in root.iterdir() if p.is_file() and p.name.startswith(PREFIX)
                  and service.NAME_RE.match(p.name))
    gone = mine[:-keep] if keep > 0 else mine
    for path in gone:
        path.unlink(missing_ok=True)
    return [p.name for p in gone]


def run_due(settings: Settings, now_utc: dt.datetime | None = None, force: bool = False) -> dict | None:
    """Make the scheduled archive if it is due (or `force`); None when nothing was due."""
    now_utc = now_utc or dt.datetime.utcnow()
    row = get_schedule()
    if not force and not due(row, now_utc):
        return None
    name = f"{PREFIX}{now_utc:%Y%m%d-%H%M%S}{service.SUFFIX}"
    try:
        passphrase = secrets.decrypt(row.passphrase_enc) if row.passphrase_enc else None
        service._write_into_folder(settings, name, lambda out: archive.create_backup(
            settings, out, list(row.parts or []), passphrase, bool(row.secrets)))
        removed = prune(settings, row.keep)
        status, message = "ok", f"{name} made" + (f"; {len(removed)} older removed" if removed else "")
    except (BackupRefused, OSError, Exception) as exc:  # noqa: BLE001 -- recorded, shown on the page
        log.exception("scheduled backup failed")
        status, message, name = "failed", str(exc)[:500] or type(exc).__name__, ""
    BackupSchedule.update(last_run_at=now_utc, last_status=status, last_message=message,
                          last_file=name).where(BackupSchedule.id == 1).execute()
    return {"status": status, "message": message, "file": name}
