"""Restoring an archive: verify everything into a staging folder, migrate, then swap.

1. The archive is read in full into `<data>/.restore-staging/` (same file system as the data, so the
   swap is a rename): container header, passphrase, every frame, the manifest (ours, not newer than
   this software), every member's SHA-256 and size against the manifest, the end mark. Any refusal
   removes the staging folder: the configuration is left byte for byte as it was.
2. The staged store is checked (SQLite integrity check, schema version as announced) and migrated to
   this software's schema (appliance.store.migrations) if the archive is older; with secrets, the
   staged key must decrypt the staged passwords. What the archive does not hold is carried over from
   the current appliance: call history, recordings, voicemail messages (rows and files) of parts left
   out; and, for an archive without secrets, the current key and passwords (matched by login, name
   or number); the generated system prompts.
3. The current configuration is kept in `<data>/restore-previous/<time>/` (a consistent copy of the
   store, the key; the replaced folders are moved there), then the folders are swapped by rename and
   the store is replaced in one SQLite transaction (online backup API into the live file: processes
   that have it open see the old or the new configuration, never a mix; renaming a live WAL database
   under them would not be safe). A failure during the swap puts the renamed folders back.
4. The caller learns what must restart (every service: they hold the old key and configuration).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import logging
import os
import shutil
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import peewee
from cryptography.fernet import Fernet, InvalidToken

from appliance.backup import archive
from appliance.backup.archive import KEY_MEMBER, STORE_MEMBER, TLS_PREFIX
from appliance.backup.errors import BackupRefused
from appliance.settings import Settings
from appliance.store import migrations

log = logging.getLogger(__name__)

STAGING = ".restore-staging"
PREVIOUS = "restore-previous"
KEEP_PREVIOUS = 2
RESTART = ("kamailio", "callcore", "web")
# How rows of the store are matched between the archive and the current appliance (secrets carried
# into an archive made without them).
# Rows that describe this box's hardware, not its configuration: where each kind of data is placed
# (storage.placement) and the volumes known. Kept from the box restored onto (the restored files are
# written where it places them); on a fresh box, everything internal (where they were written).
HARDWARE_TABLES = ("storage_placement", "storage_volume")
NATURAL_KEYS = {"user": "login", "trunk": "name", "mail_profile": "name", "voicemail_box": "number",
                "conference_room": "name", "device": "mac", "backup_schedule": "id"}


@dataclass
class RestoreResult:
    manifest: dict
    summary: dict
    migrated_from: int | None
    previous: str | None
    restart: list[str]
    carried: dict = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def to_public(self) -> dict:
        return {"created_at": self.manifest.get("created_at"), "app_version": self.manifest.get("app_version"),
                "parts": self.manifest.get("parts"), "summary": self.summary, "migrated_from": self.migrated_from,
                "previous": self.previous, "restart": self.restart, "carried": self.carried,
                "warnings": self.warnings}


def staging_dir(settings: Settings) -> Path:
    return settings.data_dir / STAGING


def _sync(paths: list[Path]) -> None:
    """Flush the file systems holding `paths` (syncfs: only those, not every disk of the machine)."""
    import ctypes

    seen = set()
    for path in paths:
        while not path.exists() and path != path.parent:
            path = path.parent
        device = path.stat().st_dev
        if device in seen:
            continue
        seen.add(device)
        fd = os.open(path, os.O_RDONLY)
        try:
            if ctypes.CDLL("libc.so.6", use_errno=True).syncfs(fd) != 0:
                os.sync()
        except (OSError, AttributeError):
            os.sync()
        finally:
            os.close(fd)


def _device(path: Path) -> int:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path.stat().st_dev


@dataclass
class Layout:
    """Where each part is staged: beside its live folder, on the same file system (the swap is a rename).

    Voicemail and recordings may live on a USB volume (storage.placement): they are then staged there."""

    staging: Path
    roots: dict[str, Path]
    stages: dict[str, Path]

    @classmethod
    def of(cls, settings: Settings) -> Layout:
        staging = staging_dir(settings)
        roots = {"sounds": settings.sounds_dir, "voicemail": archive.voicemail_root(settings),
                 "recordings": archive.recordings_root(settings), "config/tls": archive.tls_root(settings)}
        stages = {}
        for key, live in roots.items():
            if _device(live.parent) != _device(settings.data_dir):
                stages[key] = live.parent / f".{live.name}{STAGING}"
            else:
                stages[key] = staging / key
        return cls(staging, roots, stages)

    def path(self, member: str) -> Path:
        for key, stage in self.stages.items():
            if member.startswith(key + "/"):
                return stage / member[len(key) + 1:]
        return self.staging / member

    def cleanup(self) -> None:
        shutil.rmtree(self.staging, ignore_errors=True)
        for stage in self.stages.values():
            shutil.rmtree(stage, ignore_errors=True)


def previous_root(settings: Settings) -> Path:
    return settings.data_dir / PREVIOUS


@contextlib.contextmanager
def exclusive(settings: Settings):
    """One restore at a time per data folder (a lock file in run/)."""
    settings.run_dir.mkdir(parents=True, exist_ok=True)
    with open(settings.run_dir / "backup.lock", "a+") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BackupRefused("busy", "another restore is running on this appliance") from None
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def restore_backup(settings: Settings, source: BinaryIO, passphrase: str | None = None) -> RestoreResult:
    """Restore the archive read from `source` onto the data folder of `settings` (see the module docstring)."""
    with exclusive(settings):
        lay = Layout.of(settings)
        lay.cleanup()  # left by a restore that was interrupted
        try:
            lay.staging.mkdir(parents=True)
            read = archive.read_archive(source, passphrase, sink=_sink_into(lay))
            result = _prepare(settings, lay, read.manifest)
            kept = _swap(settings, lay, read.manifest)
            result.previous = str(kept) if kept else None
            return result
        finally:
            lay.cleanup()


def _sink_into(lay: Layout):
    def sink(name: str, part: str, chunks) -> None:
        target = lay.path(name)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600 if part == "config" else 0o640)
        with os.fdopen(fd, "wb") as f:
            for block in chunks:
                f.write(block)
    return sink


# -- checking and preparing the staged configuration ---------------------------------------------------

def _prepare(settings: Settings, lay: Layout, manifest: dict) -> RestoreResult:
    staging = lay.staging
    staged_db = staging / STORE_MEMBER
    conn = sqlite3.connect(str(staged_db))
    try:
        check = conn.execute("PRAGMA integrity_check").fetchone()[0]
        if check != "ok":
            raise BackupRefused("corrupted", f"the archive's store is damaged ({check})")
        if archive.schema_version_of(conn) != manifest["schema_version"]:
            raise BackupRefused("corrupted", "the archive's store does not have the schema its manifest says")
    except sqlite3.DatabaseError as exc:
        raise BackupRefused("corrupted", f"the archive's store cannot be read ({exc})") from None
    finally:
        conn.close()
    migrated_from = None
    if manifest["schema_version"] < archive.software_schema_version():
        migrated_from = manifest["schema_version"]
        db = peewee.SqliteDatabase(str(staged_db), pragmas={"foreign_keys": 0})
        try:
            db.connect()
            migrations.migrate(db)
        except Exception as exc:
            raise BackupRefused("invalid", f"the archive's store cannot be migrated: {exc}") from None
        finally:
            db.close()
    result = RestoreResult(manifest, {}, migrated_from, None, list(RESTART))
    live_db = settings.db_path if settings.db_path.exists() else None
    staged_key = staging / KEY_MEMBER
    conn = sqlite3.connect(str(staged_db))
    try:
        if manifest["secrets"]:
            _check_key(conn, staged_key)
        else:
            _carry_secrets(settings, conn, staged_key, live_db, result)
        if live_db is not None:
            _carry_parts(settings, conn, lay, live_db, manifest, result)
        else:
            tables = archive.table_names(conn)
            if "storage_placement" in tables:
                conn.execute("UPDATE storage_placement SET volume_uuid = ''")
            if "storage_volume" in tables:
                conn.execute("DELETE FROM storage_volume")
        conn.commit()
        conn.execute("PRAGMA journal_mode = DELETE")
    except sqlite3.DatabaseError as exc:
        raise BackupRefused("invalid", f"the archive's store cannot be prepared ({exc})") from None
    finally:
        conn.close()
    _carry_generated(settings, lay)
    result.summary = archive.summarize_store(staged_db)
    return result


def _check_key(conn: sqlite3.Connection, key_path: Path) -> None:
    try:
        fernet = Fernet(key_path.read_bytes().strip())
    except (OSError, ValueError):
        raise BackupRefused("corrupted", "the archive's secret key is missing or damaged") from None
    tables = archive.table_names(conn)
    for table, column in (("user", "sip_password_enc"), ("trunk", "password_enc"), ("mail_profile", "password_enc")):
        if table not in tables:
            continue
        row = conn.execute(f'SELECT "{column}" FROM "{table}" WHERE "{column}" IS NOT NULL '
                           f'AND "{column}" != \'\' LIMIT 1').fetchone()
        if row:
            try:
                fernet.decrypt(row[0].encode())
            except InvalidToken:
                raise BackupRefused("corrupted", "the archive's secret key does not open its passwords") from None
            return


def _carry_secrets(settings: Settings, conn: sqlite3.Connection, staged_key: Path, live_db: Path | None,
                   result: RestoreResult) -> None:
    """An archive without secrets: keep this appliance's key, and its passwords for the same users/trunks."""
    if not settings.secret_key_path.exists() or live_db is None:
        result.warnings.append("the archive holds no secrets and this appliance has none to keep: set the "
                               "passwords (web, SIP, trunks, mail) and voicemail PINs again")
        return
    staged_key.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(settings.secret_key_path, staged_key)
    os.chmod(staged_key, 0o600)
    conn.execute("ATTACH DATABASE ? AS live", (f"file:{live_db}?mode=ro",))
    try:
        tables, live_tables = archive.table_names(conn), archive.table_names(conn, "live")
        kept = 0
        for table, column in archive.secret_columns(conn):
            key = NATURAL_KEYS.get(table)
            if key is None or table not in tables or table not in live_tables:
                continue
            if column not in archive.column_names(conn, table, "live"):
                continue
            cur = conn.execute(
                f'UPDATE main."{table}" SET "{column}" = (SELECT l."{column}" FROM live."{table}" l '
                f'WHERE l."{key}" = main."{table}"."{key}") '
                f'WHERE EXISTS (SELECT 1 FROM live."{table}" l WHERE l."{key}" = main."{table}"."{key}")')
            kept += max(cur.rowcount, 0)
        result.carried["secrets"] = kept
        conn.commit()
    finally:
        conn.execute("DETACH DATABASE live")
    result.warnings.append("the archive holds no secrets: this appliance's passwords were kept for the users, "
                           "trunks and profiles it already had; others must be set again")


def _copy_rows(conn: sqlite3.Connection, table: str, where: str = "") -> int:
    if table not in archive.table_names(conn) or table not in archive.table_names(conn, "live"):
        return 0
    live_columns = set(archive.column_names(conn, table, "live"))
    columns = [c for c in archive.column_names(conn, table) if c in live_columns]
    names = ", ".join(f'"{c}"' for c in columns)
    conn.execute(f'DELETE FROM main."{table}"')
    cur = conn.execute(f'INSERT INTO main."{table}" ({names}) SELECT {names} FROM live."{table}" {where}')
    return max(cur.rowcount, 0)


def _carry_parts(settings: Settings, conn: sqlite3.Connection, lay: Layout, live_db: Path, manifest: dict,
                 result: RestoreResult) -> None:
    """Parts the archive does not hold stay as they are on this appliance (rows, and files where needed)."""
    parts = set(manifest["parts"])
    conn.execute("ATTACH DATABASE ? AS live", (f"file:{live_db}?mode=ro",))
    try:
        for table in HARDWARE_TABLES:
            _copy_rows(conn, table)
        if "history" not in parts:
            result.carried["history"] = sum(_copy_rows(conn, t) for t in archive.PART_TABLES["history"])
        if "recordings" not in parts:
            result.carried["recordings"] = _copy_rows(conn, "recording")
        if "voicemail" not in parts and "voicemail_message" in archive.table_names(conn, "live"):
            # Only messages of a box that is the same box (id and number) in the restored configuration.
            where = ("WHERE box_id IN (SELECT b.id FROM main.voicemail_box b JOIN live.voicemail_box l "
                     "ON l.id = b.id AND l.number = b.number)")
            result.carried["voicemail"] = _copy_rows(conn, "voicemail_message", where)
            files = [r[0] for r in conn.execute("SELECT file FROM main.voicemail_message")]
            conn.commit()
        else:
            files = []
        conn.commit()
    finally:
        conn.execute("DETACH DATABASE live")
    for rel in files:
        if archive.safe_relative(rel):
            _link_or_copy(lay.roots["voicemail"] / rel, lay.stages["voicemail"] / rel)


def _link_or_copy(source: Path, target: Path) -> None:
    if not source.is_file():
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(source, target)
    except OSError:  # another file system (storage moved to a USB stick)
        shutil.copy2(source, target)


def _carry_tree(source: Path, target: Path) -> None:
    if not source.is_dir():
        return
    for path in source.rglob("*"):
        if path.is_file() and not path.is_symlink():
            _link_or_copy(path, target / path.relative_to(source))


def _carry_generated(settings: Settings, lay: Layout) -> None:
    """Generated sounds are not archived: keep this appliance's (the same software makes the same)."""
    for name in archive.SOUNDS_SKIPPED:
        if name != "tmp":
            _carry_tree(lay.roots["sounds"] / name, lay.stages["sounds"] / name)
    _carry_tree(lay.roots["voicemail"] / "tts", lay.stages["voicemail"] / "tts")


# -- the swap ---------------------------------------------------------------------------------------------

def _swap(settings: Settings, lay: Layout, manifest: dict) -> Path | None:
    staging = lay.staging
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
    previous = previous_root(settings) / stamp
    previous.mkdir(parents=True)
    # The current configuration, kept: a consistent copy of the store and the key.
    if settings.db_path.exists():
        archive.snapshot_store(settings.db_path, previous / "appliance.sqlite")
    if settings.secret_key_path.exists():
        shutil.copy2(settings.secret_key_path, previous / "secret.key")
    folders = ["sounds", "voicemail"]
    if "recordings" in manifest["parts"]:
        folders.append("recordings")
    if any(name.startswith(TLS_PREFIX) for name in manifest["config_files"]):
        folders.append("config/tls")
    done: list[tuple[Path, Path, Path | None]] = []
    key_replaced = False
    _sync([settings.data_dir, *lay.stages.values()])  # staged files on disk before they are live
    try:
        for name in folders:
            live, staged = lay.roots[name], lay.stages[name]
            staged.mkdir(parents=True, exist_ok=True)
            kept = None
            if live.exists():
                kept = previous / live.name
                if _device(live) != _device(previous):  # on a USB volume: kept beside it
                    kept = live.parent / f".{live.name}.previous"
                    shutil.rmtree(kept, ignore_errors=True)
                os.rename(live, kept)
            done.append((live, staged, kept))
            os.rename(staged, live)
        staged_key = staging / KEY_MEMBER
        if staged_key.exists():
            os.replace(staged_key, settings.secret_key_path)
            os.chmod(settings.secret_key_path, 0o600)
            key_replaced = True
        _replace_store(settings, staging / STORE_MEMBER)
    except Exception as exc:
        log.exception("restore: swap failed, putting the current configuration back")
        for live, staged, kept in reversed(done):
            if live.exists():
                os.rename(live, staged)
            if kept is not None:
                os.rename(kept, live)
        if key_replaced and (previous / "secret.key").exists():
            shutil.copy2(previous / "secret.key", settings.secret_key_path)
        shutil.rmtree(previous, ignore_errors=True)
        raise BackupRefused("storage", f"the restore could not be applied, nothing changed: {exc}") from None
    _sync([settings.data_dir, *lay.roots.values()])
    if not any(previous.iterdir()):  # nothing was there before (a fresh data folder)
        previous.rmdir()
        _prune_previous(settings)
        return None
    _prune_previous(settings)
    return previous


def keep_configuration(settings: Settings, label: str = "kept") -> Path | None:
    """A copy of the current configuration in restore-previous/ (before a factory reset, say).

    The store (a consistent copy), the key, the TLS files, and the sounds and voicemail greetings
    hard-linked (no extra space). None when there is nothing to keep."""
    if not settings.db_path.exists():
        return None
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
    target = previous_root(settings) / f"{stamp}-{label}"
    target.mkdir(parents=True)
    archive.snapshot_store(settings.db_path, target / "appliance.sqlite")
    if settings.secret_key_path.exists():
        shutil.copy2(settings.secret_key_path, target / "secret.key")
    _carry_tree(archive.tls_root(settings), target / "tls")
    _carry_tree(settings.sounds_dir, target / "sounds")
    vm = archive.voicemail_root(settings)
    if vm.is_dir():
        for path in vm.glob("*/greeting-*.wav"):
            _link_or_copy(path, target / "voicemail" / path.relative_to(vm))
    _prune_previous(settings)
    return target


def _replace_store(settings: Settings, staged_db: Path) -> None:
    live = settings.db_path
    if not live.exists():
        for suffix in ("-wal", "-shm", "-journal"):
            Path(f"{live}{suffix}").unlink(missing_ok=True)
        os.replace(staged_db, live)
        conn = sqlite3.connect(str(live))
        try:
            conn.execute("PRAGMA journal_mode = WAL")
        finally:
            conn.close()
        return
    source = sqlite3.connect(str(staged_db))
    try:
        dest = sqlite3.connect(str(live), timeout=30)
        try:
            source.backup(dest)
        finally:
            dest.close()
    finally:
        source.close()


def _prune_previous(settings: Settings) -> None:
    root = previous_root(settings)
    kept = sorted((p for p in root.iterdir() if p.is_dir()), key=lambda p: p.name)
    for old in kept[:-KEEP_PREVIOUS]:
        shutil.rmtree(old, ignore_errors=True)
