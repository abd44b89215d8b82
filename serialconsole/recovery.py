"""Boot-menu actions: reset the admin password, recover the system (factory reset of the configuration).

"Recover system" keeps a backup of the configuration before anything is
erased: an `appliance backup` archive (appliance.backup.create_backup: the
store, the secret key and TLS files, sounds; encrypted with a passphrase the
technician types, since it holds the secrets) in the backup folder, where the
web UI's Backup page and `appliance backup restore` find it. A build without
the backup package falls back to a consistent copy of the store (SQLite's
online backup API) and its secret key in a 0700 folder there.
Then the store is replaced by a fresh one IN PLACE (SQLite's backup API again,
from a newly migrated database into the live file), so a process that has the
store open sees the factory configuration rather than a deleted file; the
built-in admin gets a new one-time password. Media (sounds, voicemail,
recordings) and logs are not configuration and stay.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import shutil
import sqlite3
import tempfile
from pathlib import Path

from appliance.settings import Settings

log = logging.getLogger(__name__)


def backups_dir(settings: Settings) -> Path:
    """The backup folder: <data>/backups, or the USB volume the admin placed backups on (storage)."""
    try:
        from appliance.backup.service import folder
    except ImportError:
        return settings.data_dir / "backups"
    try:
        return folder(settings)
    except Exception:  # storage unreadable: the internal folder still takes the backup
        log.exception("backup folder placement unreadable; using the internal folder")
        return settings.data_dir / "backups"


def reset_admin_password(settings: Settings) -> str:
    """A new one-time password for `admin` (to be changed at next login); its web sessions end."""
    from appliance.auth.admin import reset_admin_password as reset

    return reset()


def backup_package_available() -> bool:
    try:
        from appliance.backup import create_backup  # noqa: F401
    except ImportError:
        return False
    return True


def keep_backup(settings: Settings, passphrase: str | None = None) -> tuple[Path, str]:
    """Back the configuration up into <data>/backups/; returns (path, how)."""
    folder = backups_dir(settings)
    folder.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.utcnow().strftime("%Y%m%d-%H%M%S")
    if passphrase and backup_package_available():
        return _backup_archive(settings, folder, passphrase), "encrypted backup archive, restorable as is"
    target = folder / f"before-recovery-{stamp}"
    target.mkdir(mode=0o700)
    copy_store(settings.db_path, target / "appliance.sqlite")
    if settings.secret_key_path.exists():
        shutil.copy2(settings.secret_key_path, target / "secret.key")
        os.chmod(target / "secret.key", 0o600)
    return target, "copy of the store (SQLite backup API) and its secret key"


def _backup_archive(settings: Settings, folder: Path, passphrase: str) -> Path:
    """The backup package's archive of the configuration and sounds, written whole or not at all."""
    from appliance.backup import create_backup
    from appliance.backup.service import default_name

    target = folder / default_name(settings, prefix="before-recovery")
    partial = folder / f".{target.name}.partial"
    try:
        with open(partial, "wb") as out:
            create_backup(settings, out, (), passphrase, True)
            out.flush()
            os.fsync(out.fileno())
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return target


def copy_store(source: Path, target: Path) -> None:
    """A consistent copy of a live SQLite database (other processes may be writing)."""
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=10)
    dst = sqlite3.connect(str(target))
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()
    os.chmod(target, 0o600)


def factory_reset(settings: Settings, passphrase: str | None = None) -> tuple[Path, str, str]:
    """Keep a backup, then give the store the factory configuration; returns (backup, how, admin password).

    Nothing is erased if the backup fails (its exception propagates)."""
    from appliance.auth.admin import ensure_admin
    from appliance.store import database, migrations

    backup, how = keep_backup(settings, passphrase)
    fd, fresh_path = tempfile.mkstemp(prefix="factory-", suffix=".sqlite", dir=settings.data_dir)
    os.close(fd)
    import peewee

    try:
        fresh = peewee.SqliteDatabase(fresh_path, pragmas={"journal_mode": "wal", "foreign_keys": 1})
        fresh.connect()
        migrations.migrate(fresh)
        fresh.close()
        src = sqlite3.connect(fresh_path)
        dst = sqlite3.connect(str(settings.db_path), timeout=30)
        try:
            src.backup(dst)
        finally:
            dst.close()
            src.close()
    finally:
        for suffix in ("", "-wal", "-shm"):
            Path(fresh_path + suffix).unlink(missing_ok=True)
    if database.obj is not None and not database.is_closed():
        database.close()  # this process's connection reopens on the new content
    password = ensure_admin()
    if password is None:  # cannot happen on a fresh store, but never leave admin without a known password
        password = reset_admin_password(settings)
    _restart_edge_if_running(settings)
    return backup, how, password


def _restart_edge_if_running(settings: Settings) -> None:
    from appliance.supervisor import request_edge_restart

    try:
        request_edge_restart(settings)
    except OSError:
        pass
