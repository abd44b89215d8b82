"""Boot-menu actions: reset the admin password, recover the system (factory reset of the configuration).

"Recover system" keeps a backup of the configuration before anything is
erased: through the backup package's API when it is there (appliance.backup,
the `appliance backup` archive), else a consistent copy of the store made
with SQLite's online backup API plus the secret key, in <data>/backups/.
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
    return settings.data_dir / "backups"


def reset_admin_password(settings: Settings) -> str:
    """A new one-time password for `admin` (to be changed at next login); its web sessions end."""
    from appliance.auth.admin import reset_admin_password as reset

    return reset()


def keep_backup(settings: Settings) -> tuple[Path, str]:
    """Back the configuration up into <data>/backups/; returns (path, how)."""
    folder = backups_dir(settings)
    folder.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.utcnow().strftime("%Y%m%d-%H%M%S")
    made = _backup_with_backup_package(settings, folder, stamp)
    if made is not None:
        return made, "appliance backup archive"
    target = folder / f"before-recovery-{stamp}"
    target.mkdir(mode=0o700)
    copy_store(settings.db_path, target / "appliance.sqlite")
    if settings.secret_key_path.exists():
        shutil.copy2(settings.secret_key_path, target / "secret.key")
        os.chmod(target / "secret.key", 0o600)
    return target, "copy of the store (SQLite backup API) and its secret key"


def _backup_with_backup_package(settings: Settings, folder: Path, stamp: str) -> Path | None:
    """The backup helper's archive, if its API is in this build (appliance.backup.create_backup)."""
    try:
        from appliance import backup
    except ImportError:
        return None
    create = getattr(backup, "create_backup", None)
    if create is None:
        return None
    output = folder / f"before-recovery-{stamp}.backup"
    try:
        create(settings, output)
    except Exception:
        log.exception("backup archive failed; falling back to a copy of the store")
        output.unlink(missing_ok=True)
        return None
    return output


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


def factory_reset(settings: Settings) -> tuple[Path, str, str]:
    """Keep a backup, then give the store the factory configuration; returns (backup, how, admin password)."""
    from appliance.auth.admin import ensure_admin
    from appliance.store import database, migrations

    backup, how = keep_backup(settings)
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
