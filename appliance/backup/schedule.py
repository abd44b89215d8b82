"""Scheduled backups: daily, weekly or monthly at an hour (the appliance's time zone), to a destination
(appliance.backup.destinations: the backup folder, a share, an SFTP server or e-mail), keeping the last N
scheduled archives there.

One row (backup_schedule, schema V19 + V20). The passphrase of an archive with secrets and the SFTP password
are kept Fernet-encrypted with the appliance key, never shown again. `due()` says whether the latest slot at
or before now has not run yet; turning a schedule on counts as a run at that moment (the first archive comes
at the next slot). `run_due()` makes the archive (`appliance backup run-scheduled`; in lab mode the
supervisor starts it when due, on the image a systemd timer does; "run now" in the web UI starts it in a
thread): always into the local backup folder first, then sent to the destination; the local copy goes
only once the destination holds it (a failed upload leaves it there; the local folder also keeps at most
`keep` scheduled archives). Every run writes an event: backup.scheduled, or backup.schedule_failed with
the classified reason (destinations.REASONS). One run at a time per data folder (a lock file).
"""

from __future__ import annotations

import datetime as dt
import fcntl
import logging
import os
import threading
import time
import zoneinfo
from pathlib import Path

import peewee

from appliance.backup import archive, destinations, service
from appliance.backup.container import MIN_PASSPHRASE
from appliance.dialplan.models import JSONField
from appliance.errors import Conflict, ValidationError
from appliance.settings import Settings
from appliance.store import BaseModel, database, secrets

log = logging.getLogger(__name__)

FREQUENCIES = ("off", "daily", "weekly", "monthly")
PREFIX = "scheduled-"
FIELDS = ("frequency", "hour", "weekday", "month_day", "parts", "secrets", "passphrase", "keep", "revision",
          "destination", "share", "sftp", "email")
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
    destination = peewee.CharField(max_length=8, default="folder")  # a key of destinations.KINDS
    target = JSONField(default=dict)  # {"share": {...}, "sftp": {...}, "email": {...}}: no secret
    target_secret_enc = peewee.TextField(null=True)  # the SFTP password (Fernet)
    host_key = peewee.TextField(default="")  # the SFTP server's pinned key "<type> <base64>"

    class Meta:
        table_name = "backup_schedule"


def get_schedule() -> BackupSchedule:
    row = BackupSchedule.get_or_none(BackupSchedule.id == 1)
    return row if row is not None else BackupSchedule.create(id=1)


def _targets(row: BackupSchedule) -> dict:
    """Every kind's settings with their defaults (what the page and the API show)."""
    stored = row.target if isinstance(row.target, dict) else {}
    _, out, _ = destinations.clean("folder", {}, {k: v for k, v in stored.items() if isinstance(v, dict)}, False)
    return out


def to_public(row: BackupSchedule, settings: Settings | None = None) -> dict:
    targets = _targets(row)
    return {"frequency": row.frequency, "hour": row.hour, "weekday": row.weekday, "month_day": row.month_day,
            "parts": list(row.parts or []), "secrets": bool(row.secrets), "passphrase_set": bool(row.passphrase_enc),
            "keep": row.keep, "revision": row.revision, "destination": row.destination or "folder",
            "share": targets["share"], "email": targets["email"],
            "sftp": {**targets["sftp"], "password_set": bool(row.target_secret_enc),
                     "host_key_type": row.host_key.split()[0] if row.host_key else None,
                     "host_key_fingerprint": destinations.fingerprint(row.host_key) or None},
            "running": running(settings) if settings is not None else False,
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
        if any(key in data for key in ("destination", "share", "sftp", "email")):
            _update_destination(row, data)
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


def _update_destination(row: BackupSchedule, data: dict) -> None:
    before = _targets(row)
    kind, targets, password = destinations.clean(data.get("destination", row.destination or "folder"), data,
                                                 before, bool(row.target_secret_enc))
    if (targets["sftp"]["host"], targets["sftp"]["port"]) != (before["sftp"]["host"], before["sftp"]["port"]):
        row.host_key = ""  # another server: its key is pinned again on first use
    if password is None and row.target_secret_enc and any(targets["sftp"][key] != before["sftp"][key]
                                                          for key in ("host", "port", "user")):
        # the stored password never goes to another server or account unless typed again for it
        if kind == "sftp":
            raise ValidationError("sftp.password", "enter the password again for the new server")
        row.target_secret_enc = None
    row.destination, row.target = kind, targets
    if password is not None:
        row.target_secret_enc = secrets.encrypt(password)


def target_of(row: BackupSchedule, trust_pin: bool = True) -> destinations.Target:
    """The configured destination, its password decrypted; a key seen on first use is pinned in the row."""
    kind = row.destination if row.destination in destinations.KINDS else "folder"

    def pin(key: str) -> None:
        BackupSchedule.update(host_key=key).where(BackupSchedule.id == row.id).execute()
        row.host_key = key
        from appliance.events.log import record

        record("backup.host_key_pinned", f"sftp:{targets['sftp']['host']}",
               f"SFTP host key of {targets['sftp']['host']} pinned: {destinations.fingerprint(key)}",
               fingerprint=destinations.fingerprint(key), key_type=key.split()[0])

    targets = _targets(row)
    return destinations.Target(kind=kind, config=targets.get(kind, {}),
                               secret=secrets.decrypt(row.target_secret_enc) if row.target_secret_enc else None,
                               host_key=row.host_key or "", pin=pin)


def test_destination(settings: Settings, trust: str = "") -> dict:
    """Reach the configured destination and check it takes an archive (nothing kept there).

    {"ok", "destination", "message", "reason"?, "fingerprint"?, "pinned_now"?, "pinned"?, "presented"?}.
    SFTP: a key seen for the first time is pinned; a changed key is refused unless `trust` is its fingerprint."""
    row = get_schedule()
    target = target_of(row)
    kind = destinations.KINDS[target.kind]
    result = {"ok": True, "destination": target.kind}
    try:
        if target.kind == "sftp":
            if not target.config.get("host") or not target.secret:
                raise destinations.DestinationFailed("not_configured", "the SFTP server is not configured yet")
            result.update(destinations.sftp_test(settings, target, trust))
        else:
            result.update(kind.test(settings, target))
    except destinations.DestinationFailed as exc:
        result.update({"ok": False, "reason": exc.reason, "message": exc.message, **exc.details})
    return result


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
    """Delete the local scheduled archives beyond the newest `keep`; the names deleted."""
    return destinations.KINDS["folder"].prune(settings, destinations.Target("folder", {}), keep)


def _lock_path(settings: Settings) -> Path:
    return settings.run_dir / "backup-schedule.lock"


class _Busy(Exception):
    pass


class _RunLock:
    """One scheduled run at a time per data folder (the supervisor's job and "run now" may meet)."""

    def __init__(self, settings: Settings):
        self.path = _lock_path(settings)

    def __enter__(self) -> _RunLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self.fd)
            raise _Busy() from None
        return self

    def __exit__(self, *exc) -> None:
        fcntl.flock(self.fd, fcntl.LOCK_UN)
        os.close(self.fd)


def running(settings: Settings) -> bool:
    """Whether a scheduled run holds the lock now (in any process)."""
    try:
        with _RunLock(settings):
            return False
    except _Busy:
        return True
    except OSError:
        return False


def run_due(settings: Settings, now_utc: dt.datetime | None = None, force: bool = False) -> dict | None:
    """Make the scheduled archive if it is due (or `force`) and send it; None when nothing was due.

    {"status": "ok" | "failed" | "busy" (another run holds the lock: nothing done), "message", "file",
    "destination", "reason" (failed: destinations.REASONS or "archive"; "busy"), "kept_locally" (the archive
    stayed in the backup folder), "removed"}. Whether it is due is decided again under the lock."""
    now_utc = now_utc or dt.datetime.utcnow()
    if not force and not due(get_schedule(), now_utc):
        return None
    try:
        with _RunLock(settings):
            row = get_schedule()  # read again under the lock: a run that just finished has made this slot's archive
            if not force and not due(row, now_utc):
                return None
            outcome = _run(settings, row, now_utc)
            BackupSchedule.update(last_run_at=now_utc, last_status=outcome["status"],
                                  last_message=outcome["message"][:500],
                                  last_file=outcome["file"]).where(BackupSchedule.id == 1).execute()
    except _Busy:
        return {"status": "busy", "reason": "busy", "message": "busy: another run is in progress",
                "file": "", "destination": get_schedule().destination, "kept_locally": False, "removed": []}
    return outcome


def _run(settings: Settings, row: BackupSchedule, now_utc: dt.datetime) -> dict:
    from appliance.events.log import record

    target = target_of(row)
    kind = destinations.KINDS[target.kind]
    name = destinations.archive_name(settings, now_utc)
    try:
        destinations.sweep_local_leftovers(settings, time.time(), own_stale=True)  # this run holds the lock
    except OSError:
        log.exception("leftover partial archives not swept")
    outcome = {"status": "failed", "file": "", "destination": target.kind, "kept_locally": False, "removed": []}
    try:
        passphrase = secrets.decrypt(row.passphrase_enc) if row.passphrase_enc else None
        path = service._write_into_folder(settings, name, lambda out: archive.create_backup(
            settings, out, list(row.parts or []), passphrase, bool(row.secrets)))
    except Exception as exc:  # noqa: BLE001 -- recorded, shown on the page
        log.exception("scheduled backup failed")
        message = str(getattr(exc, "message", "") or exc)[:400] or type(exc).__name__
        outcome.update(reason="archive", message=f"the archive could not be made: {message}")
        record("backup.schedule_failed", f"backup:{target.kind}", outcome["message"], reason="archive",
               destination=target.kind)
        return outcome
    name = path.name
    size, digest = _size_and_digest(path)
    outcome.update(file=name, kept_locally=True, size=size, sha256=digest)
    notes = []
    if kind.send is not None:
        try:
            where = kind.send(settings, target, path)
        except destinations.DestinationFailed as exc:
            log.warning("scheduled backup not sent: %s", exc.message)
            outcome.update(reason=exc.reason, message=f"{exc.message}; the archive {name} is kept in the "
                                                       f"backup folder")
            record("backup.schedule_failed", f"backup:{target.kind}", outcome["message"],
                   **{**exc.details, "reason": exc.reason, "destination": target.kind, "file": name, "size": size,
                      "sha256": digest})
            _prune_local(settings, row.keep, notes)
            return outcome
        except Exception as exc:  # noqa: BLE001 -- an unexpected failure is still a recorded one
            log.exception("scheduled backup not sent")
            outcome.update(reason="network", message=f"sending failed ({exc or type(exc).__name__}); the archive "
                                                     f"{name} is kept in the backup folder")
            record("backup.schedule_failed", f"backup:{target.kind}", outcome["message"], reason="network",
                   destination=target.kind, file=name, size=size)
            _prune_local(settings, row.keep, notes)
            return outcome
        if not kind.keep_local_until_sent:
            path.unlink(missing_ok=True)
            outcome["kept_locally"] = False
        message = f"{name} ({size:,} bytes) sent to {where}"
    else:
        message = f"{name} ({size:,} bytes) made in the backup folder"
    if kind.prune is not None:
        try:
            outcome["removed"] = kind.prune(settings, target, row.keep)
        except destinations.DestinationFailed as exc:
            notes.append(f"older archives not removed: {exc.message}")
    if target.kind != "folder":
        if target.kind == "email":
            try:
                destinations.sweep_mailed(settings)
            except Exception:  # noqa: BLE001 -- a sweep is housekeeping
                log.exception("mailed archives not swept")
        _prune_local(settings, row.keep, notes)
    if outcome["removed"]:
        notes.insert(0, f"{len(outcome['removed'])} older removed")
    outcome.update(status="ok", message="; ".join([message, *notes]))
    record("backup.scheduled", f"backup:{target.kind}", outcome["message"], destination=target.kind, file=name,
           size=size, sha256=digest, removed=outcome["removed"])
    return outcome


def _size_and_digest(path: Path) -> tuple[int, str]:
    """The archive's size and SHA-256 (in the events: the copy at the destination can be checked against it)."""
    import hashlib

    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
            size += len(block)
    return size, digest.hexdigest()


def _prune_local(settings: Settings, keep: int, notes: list[str]) -> None:
    try:
        prune(settings, keep)
    except OSError as exc:
        notes.append(f"local archives not pruned: {exc.strerror or exc}")


# -- "run now" in the web server's process ---------------------------------------------------------------------

_thread: threading.Thread | None = None
_thread_lock = threading.Lock()


def start_now(settings: Settings) -> bool:
    """Run the schedule now in a thread (the answer does not wait for the archive); False if one runs."""
    global _thread
    with _thread_lock:
        if (_thread is not None and _thread.is_alive()) or running(settings):
            return False

        def work() -> None:
            try:
                run_due(settings, force=True)
            except Exception:  # noqa: BLE001 -- logged; the row keeps the previous state
                log.exception("backup run now failed")

        _thread = threading.Thread(target=work, name="backup-run-now", daemon=True)
        _thread.start()
        return True


def wait_now(timeout: float | None = None) -> None:
    """Wait for the "run now" thread (tests, shutdown)."""
    thread = _thread
    if thread is not None:
        thread.join(timeout)
