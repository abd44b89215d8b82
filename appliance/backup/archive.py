"""Making and reading backup archives: a tar stream (inside the framed container) with a manifest.

Members, in this order:

    manifest.json               format, versions, created at, parts, summary counts, config checksums
    config/appliance.sqlite     a consistent copy of the store (SQLite online backup API, then trimmed)
    config/secret.key           the secrets key (only in an archive with secrets: always encrypted)
    config/tls/...              the appliance's TLS certificate and key (idem)
    sounds/...                  prompts and music on hold (not the generated system/, cache/, tmp/)
    voicemail/<box>/greeting-*  voicemail greetings (part "sounds" too)
    voicemail/<box>/msg-*.wav   voicemail messages (part "voicemail")
    recordings/...              call recordings (part "recordings")
    manifest-files.json         every member's SHA-256 and size (the end of the manifest)

The media are streamed straight from the data folder into the archive and back: no temporary copy.
Only the store copy is made in a temporary folder (it is small next to the media).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import io
import json
import logging
import re
import shutil
import sqlite3
import tarfile
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from appliance import __version__
from appliance.backup.container import FrameReader, FrameWriter, read_header
from appliance.backup.errors import BackupRefused
from appliance.settings import Settings
from appliance.store.migrations import MIGRATIONS

log = logging.getLogger(__name__)

FORMAT = "pbx-appliance-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
FILES_MANIFEST = "manifest-files.json"
STORE_MEMBER = "config/appliance.sqlite"
KEY_MEMBER = "config/secret.key"
TLS_PREFIX = "config/tls/"
PARTS = ("config", "sounds", "voicemail", "recordings", "history")
OPTIONAL_PARTS = ("voicemail", "recordings", "history")
# Generated or transient folders under sounds/ (made again on the box that restores).
SOUNDS_SKIPPED = ("system", "cache", "tmp")
_GREETING = re.compile(r"^[0-9]+/greeting-[a-z]+\.wav$")
_MESSAGE = re.compile(r"^[0-9]+/msg-[A-Za-z0-9_-]+\.wav$")
_MAX_JSON = 64 << 20
COPY_BLOCK = 1 << 20

# Rows that describe what is happening now, not the configuration: never archived.
RUNTIME_TABLES = ("web_session", "auth_failure", "conference_participant", "fraud_attempt", "mail_queue")
# Rows of each optional part: left out of the store copy when the part is not included.
PART_TABLES = {"history": ("cdr", "event", "fraud_unlock"), "voicemail": ("voicemail_message",),
               "recordings": ("recording",)}
# Secret columns (table, column): emptied from the store copy of an archive without secrets and from
# the support bundle. The support bundle also drops the tables in BUNDLE_DROPPED.
SECRET_COLUMNS = (
    ("user", "web_password_hash"), ("user", "sip_password_enc"), ("user", "ha1"), ("user", "ha1b"),
    ("trunk", "password_enc"), ("trunk", "ha1"), ("mail_profile", "password_enc"),
    ("voicemail_box", "pin_hash"), ("conference_room", "pin"), ("conference_room", "moderator_pin"),
)
# Any column named like a secret is one (catches columns added by later migrations).
SECRET_COLUMN_RE = re.compile(r"password|passwd|passphrase|secret|(^|_)pins?($|_)|ha1|hash|token|private|psk|csrf", re.I)
SUMMARY_QUERIES = {
    "users": "SELECT COUNT(*) FROM user",
    "trunks": "SELECT COUNT(*) FROM trunk",
    "inbound_numbers": "SELECT COUNT(*) FROM did",
    "procedures": "SELECT COUNT(*) FROM dialplan_procedure",
    "call_groups": "SELECT COUNT(*) FROM call_group",
    "ivrs": "SELECT COUNT(*) FROM ivr",
    "sounds": "SELECT COUNT(*) FROM sound",
    "voicemail_boxes": "SELECT COUNT(*) FROM voicemail_box",
    "voicemail_messages": "SELECT COUNT(*) FROM voicemail_message",
    "recordings": "SELECT COUNT(*) FROM recording",
    "calls": "SELECT COUNT(*) FROM cdr",
    "conference_rooms": "SELECT COUNT(*) FROM conference_room",
    "mail_profiles": "SELECT COUNT(*) FROM mail_profile",
}


def software_schema_version() -> int:
    return len(MIGRATIONS)


def voicemail_root(settings: Settings) -> Path:
    """Where voicemail lives now (internal, or the USB volume storage.placement says)."""
    from appliance.voicemail import storage

    return storage.root(settings)


def recordings_root(settings: Settings) -> Path:
    from appliance.recordings import service

    return service.folder(settings)


def tls_root(settings: Settings) -> Path:
    return settings.data_dir / "tls"


# -- the store copy -------------------------------------------------------------------------------

def table_names(conn: sqlite3.Connection, schema: str = "main") -> set[str]:
    return {r[0] for r in conn.execute(f"SELECT name FROM {schema}.sqlite_master WHERE type = 'table'")}


def column_names(conn: sqlite3.Connection, table: str, schema: str = "main") -> list[str]:
    return [r[1] for r in conn.execute(f'PRAGMA {schema}.table_info("{table}")')]


def schema_version_of(conn: sqlite3.Connection) -> int:
    if "schema_version" not in table_names(conn):
        return 0
    return conn.execute("SELECT COALESCE(MAX(version), 0) FROM schema_version").fetchone()[0]


def snapshot_store(db_path: Path, target: Path) -> None:
    """A consistent copy of the live store (WAL and all) in one file, through SQLite's online backup."""
    if not db_path.exists():
        raise BackupRefused("invalid", f"there is no store to back up in {db_path.parent}")
    source = sqlite3.connect(str(db_path), timeout=30)
    try:
        dest = sqlite3.connect(str(target))
        try:
            source.backup(dest)
            dest.execute("PRAGMA journal_mode = DELETE")
        finally:
            dest.close()
    finally:
        source.close()


def trim_store(path: Path, parts: set[str], extra_drop: tuple[str, ...] = ()) -> None:
    """Remove from a store copy what the archive must not hold, then VACUUM (no deleted page remains)."""
    conn = sqlite3.connect(str(path))
    try:
        tables = table_names(conn)
        drop = list(RUNTIME_TABLES) + list(extra_drop)
        for part, part_tables in PART_TABLES.items():
            if part not in parts:
                drop += part_tables
        for table in drop:
            if table in tables:
                conn.execute(f'DELETE FROM "{table}"')
        conn.commit()
        conn.execute("VACUUM")
    finally:
        conn.close()


def secret_columns(conn: sqlite3.Connection) -> list[tuple[str, str]]:
    """(table, column) of every secret in a store: the known ones and any column named like one."""
    found = []
    for table in sorted(table_names(conn)):
        if table.startswith("sqlite_"):
            continue
        for column in column_names(conn, table):
            if (table, column) in SECRET_COLUMNS or SECRET_COLUMN_RE.search(column):
                found.append((table, column))
    return found


def blank_secrets(path: Path) -> None:
    """Empty every secret column of a store copy (NULL, '' where NOT NULL, a placeholder where UNIQUE)."""
    conn = sqlite3.connect(str(path))
    try:
        for table, column in secret_columns(conn):
            info = [r for r in conn.execute(f'PRAGMA table_info("{table}")') if r[1] == column][0]
            if info[5]:  # part of the primary key: the rows go
                conn.execute(f'DELETE FROM "{table}"')
                continue
            empty = "''" if info[3] else "NULL"
            try:
                conn.execute(f'UPDATE "{table}" SET "{column}" = {empty} WHERE "{column}" IS NOT NULL')
            except sqlite3.IntegrityError:  # NOT NULL UNIQUE: a distinct placeholder per row
                conn.execute(f'UPDATE "{table}" SET "{column}" = \'removed-\' || rowid')
        conn.commit()
        conn.execute("VACUUM")
    finally:
        conn.close()


def summarize_store(path: Path) -> dict:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        tables = table_names(conn)
        summary = {"schema_version": schema_version_of(conn)}
        for key, query in SUMMARY_QUERIES.items():
            table = query.rsplit(" ", 1)[1]
            summary[key] = conn.execute(query).fetchone()[0] if table in tables else 0
        if "system_settings" in tables:
            row = conn.execute("SELECT appliance_name, sip_domain FROM system_settings WHERE id = 1").fetchone()
            if row:
                summary["appliance_name"], summary["sip_domain"] = row
        return summary
    finally:
        conn.close()


# -- which files --------------------------------------------------------------------------------------

@dataclass
class Entry:
    name: str
    path: Path
    part: str


def _walk(root: Path) -> Iterator[Path]:
    if not root.is_dir():
        return
    for path in sorted(root.rglob("*")):
        if path.is_file() and not path.is_symlink() and not any(p.startswith(".") for p in
                                                                 path.relative_to(root).parts):
            yield path


def media_entries(settings: Settings, parts: set[str], store_copy: Path) -> list[Entry]:
    entries: list[Entry] = []
    if "sounds" in parts:
        root = settings.sounds_dir
        for path in _walk(root):
            rel = path.relative_to(root)
            if rel.parts[0] not in SOUNDS_SKIPPED:
                entries.append(Entry(f"sounds/{rel.as_posix()}", path, "sounds"))
        vm = voicemail_root(settings)
        for path in _walk(vm):
            rel = path.relative_to(vm).as_posix()
            if _GREETING.match(rel):
                entries.append(Entry(f"voicemail/{rel}", path, "sounds"))
    conn = sqlite3.connect(f"file:{store_copy}?mode=ro", uri=True)
    try:
        tables = table_names(conn)
        if "voicemail" in parts and "voicemail_message" in tables:
            for (rel,) in conn.execute("SELECT file FROM voicemail_message ORDER BY id"):
                if _MESSAGE.match(rel or ""):
                    entries.append(Entry(f"voicemail/{rel}", voicemail_root(settings) / rel, "voicemail"))
        if "recordings" in parts and "recording" in tables:
            for (rel,) in conn.execute("SELECT file FROM recording ORDER BY id"):
                if rel and safe_relative(rel):
                    entries.append(Entry(f"recordings/{rel}", recordings_root(settings) / rel, "recordings"))
    finally:
        conn.close()
    return entries


def safe_relative(name: str) -> bool:
    """A relative path with no '..', no empty or hidden component, no NUL or backslash."""
    if not name or name.startswith("/") or "\x00" in name or "\\" in name or len(name) > 512:
        return False
    return all(part and not part.startswith(".") for part in name.split("/"))


# -- creating -----------------------------------------------------------------------------------------

def _hash_file(path: Path) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    with open(path, "rb") as f:
        while block := f.read(COPY_BLOCK):
            digest.update(block)
            size += len(block)
    return digest.hexdigest(), size


class _HashingReader:
    def __init__(self, f: BinaryIO, size: int):
        self.f, self.left = f, size
        self.digest = hashlib.sha256()

    def read(self, n: int = -1) -> bytes:
        n = self.left if n < 0 else min(n, self.left)
        data = self.f.read(n)
        self.left -= len(data)
        self.digest.update(data)
        return data


def _tarinfo(name: str, size: int, mtime: float, mode: int = 0o640) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode, info.type = size, int(mtime), mode, tarfile.REGTYPE
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes, now: float) -> None:
    tar.addfile(_tarinfo(name, len(data), now), io.BytesIO(data))


def normalize_parts(parts) -> set[str]:
    chosen = {"config", "sounds"} | {p for p in (parts or ()) if p}
    unknown = chosen - set(PARTS)
    if unknown:
        raise BackupRefused("invalid", f"unknown part(s): {', '.join(sorted(unknown))} "
                                       f"(choose among {', '.join(OPTIONAL_PARTS)})")
    return chosen


@dataclass
class BackupResult:
    manifest: dict
    files: int
    bytes: int
    missing: list[str] = field(default_factory=list)


def create_backup(settings: Settings, out: BinaryIO, parts=(), passphrase: str | None = None,
                  secrets: bool = True, progress: Callable[[str], None] | None = None) -> BackupResult:
    """Write a backup archive to `out` (a file or any writable stream), in one pass.

    With `secrets` (the default) the archive holds the secret key and the password hashes: a
    passphrase is then required and the archive is encrypted. Without, secret columns are emptied
    and the archive is encrypted only if a passphrase is given.
    """
    chosen = normalize_parts(parts)
    if secrets and not passphrase:
        raise BackupRefused("passphrase_required", "an archive holding the secrets must be encrypted: "
                                                   "give a passphrase (or leave the secrets out)")
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=".backup-", dir=settings.data_dir))
    try:
        store_copy = scratch / "appliance.sqlite"
        snapshot_store(settings.db_path, store_copy)
        trim_store(store_copy, chosen)
        if not secrets:
            blank_secrets(store_copy)
        summary = summarize_store(store_copy)
        now = dt.datetime.now(dt.UTC)
        config = [Entry(STORE_MEMBER, store_copy, "config")]
        if secrets:
            if settings.secret_key_path.exists():
                config.append(Entry(KEY_MEMBER, settings.secret_key_path, "config"))
            for path in _walk(tls_root(settings)):
                config.append(Entry(TLS_PREFIX + path.relative_to(tls_root(settings)).as_posix(), path, "config"))
        config_files = {}
        for entry in config:
            sha, size = _hash_file(entry.path)
            config_files[entry.name] = {"sha256": sha, "size": size}
        writer = FrameWriter(out, passphrase)
        manifest = {
            "format": FORMAT, "format_version": FORMAT_VERSION, "app_version": __version__,
            "schema_version": summary["schema_version"], "created_at": now.isoformat(timespec="seconds"),
            "parts": [p for p in PARTS if p in chosen], "secrets": bool(secrets), "encrypted": writer.encrypted,
            "summary": summary, "config_files": config_files,
        }
        media = media_entries(settings, chosen, store_copy)
        files: dict[str, dict] = {}
        missing: list[str] = []
        stamp = now.timestamp()
        with tarfile.open(fileobj=writer, mode="w|", format=tarfile.PAX_FORMAT) as tar:
            _add_bytes(tar, MANIFEST, json.dumps(manifest, indent=1, sort_keys=True).encode(), stamp)
            for entry in config + media:
                try:
                    f = open(entry.path, "rb")
                except FileNotFoundError:
                    missing.append(entry.name)  # deleted since the store copy was taken
                    continue
                with f:
                    st = os_fstat(f)
                    reader = _HashingReader(f, st.st_size)
                    tar.addfile(_tarinfo(entry.name, st.st_size, st.st_mtime), reader)
                    if reader.left:
                        raise BackupRefused("storage", f"{entry.name} shrank while it was being archived")
                files[entry.name] = {"sha256": reader.digest.hexdigest(), "size": st.st_size, "part": entry.part}
                if progress and len(files) % 500 == 0:
                    progress(f"{len(files)} files")
            trailer = {"files": files, "missing": missing}
            _add_bytes(tar, FILES_MANIFEST, json.dumps(trailer, sort_keys=True).encode(), stamp)
        writer.close()
        return BackupResult(manifest, len(files), writer.bytes_written, missing)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def os_fstat(f):
    import os

    return os.fstat(f.fileno())


# -- reading --------------------------------------------------------------------------------------

def check_manifest(manifest: object) -> dict:
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupRefused("foreign", "this file is not a backup made by this appliance (no manifest)")
    version = manifest.get("format_version")
    if not isinstance(version, int) or version < 1:
        raise BackupRefused("corrupted", "the archive's manifest is damaged (format version)")
    if version > FORMAT_VERSION:
        raise BackupRefused("newer_version", f"the archive's format {version} is newer than this software's "
                                             f"({FORMAT_VERSION}): update the appliance first")
    schema = manifest.get("schema_version")
    if not isinstance(schema, int) or schema < 1:
        raise BackupRefused("corrupted", "the archive's manifest is damaged (schema version)")
    if schema > software_schema_version():
        raise BackupRefused("newer_version", f"the archive comes from a newer version of the software "
                                             f"(version {manifest.get('app_version')}, schema {schema}; this "
                                             f"appliance has schema {software_schema_version()}): update it first")
    parts = manifest.get("parts")
    if not isinstance(parts, list) or not {"config"} <= set(parts) <= set(PARTS):
        raise BackupRefused("corrupted", "the archive's manifest is damaged (parts)")
    if not isinstance(manifest.get("config_files"), dict) or STORE_MEMBER not in manifest["config_files"]:
        raise BackupRefused("corrupted", "the archive's manifest is damaged (no store)")
    return manifest


def _member_part(name: str) -> str | None:
    """The part a member belongs to, or None if no member of ours may have that name."""
    if name in (STORE_MEMBER, KEY_MEMBER):
        return "config"
    if not safe_relative(name):
        return None
    head, _, rest = name.partition("/")
    if head == "config" and name.startswith(TLS_PREFIX) and rest.count("/") == 1:
        return "config"
    if head == "sounds" and rest and rest.split("/")[0] not in SOUNDS_SKIPPED:
        return "sounds"
    if head == "voicemail":
        if _GREETING.match(rest):
            return "sounds"
        if _MESSAGE.match(rest):
            return "voicemail"
        return None
    if head == "recordings" and rest:
        return "recordings"
    return None


def _read_json_member(tar: tarfile.TarFile, member: tarfile.TarInfo) -> object:
    if not member.isreg() or member.size > _MAX_JSON:
        raise BackupRefused("corrupted", f"the archive's {member.name} is damaged")
    data = tar.extractfile(member).read()
    try:
        return json.loads(data)
    except ValueError:
        raise BackupRefused("corrupted", f"the archive's {member.name} is damaged (not JSON)") from None


class _MemberStream:
    """A member's content in blocks, hashed as it is read (iterating twice continues where it stopped)."""

    def __init__(self, f):
        self.f = f
        self.digest = hashlib.sha256()
        self.size = 0

    def __iter__(self):
        while block := self.f.read(COPY_BLOCK):
            self.digest.update(block)
            self.size += len(block)
            yield block


# A sink receives each verified-as-it-goes member: sink(name, part, chunks) must consume `chunks`.
Sink = Callable[[str, str, Iterator[bytes]], None]


@dataclass
class ReadResult:
    manifest: dict
    files: dict
    missing: list


def open_reader(source: BinaryIO, passphrase: str | None) -> FrameReader:
    header = read_header(source)
    return FrameReader(source, passphrase, header)


def read_archive(source: BinaryIO, passphrase: str | None, sink: Sink | None = None,
                 manifest_only: bool = False,
                 on_manifest: Callable[[dict], None] | None = None) -> ReadResult:
    """Read an archive from `source` checking everything (see the module docstring); raises BackupRefused.

    Each file member is hashed while it streams to `sink` (None: read and thrown away). With
    `manifest_only`, stop after the manifest (nothing else verified)."""
    reader = open_reader(source, passphrase)
    try:
        tar = tarfile.open(fileobj=reader, mode="r|", bufsize=COPY_BLOCK)
    except tarfile.ReadError:
        raise BackupRefused("foreign", "this file is not a backup made by this appliance") from None
    computed: dict[str, dict] = {}
    manifest = None
    trailer = None
    try:
        with tar:
            for member in tar:
                if manifest is None:
                    if member.name != MANIFEST:
                        raise BackupRefused("foreign", "this file is not a backup made by this appliance "
                                                       "(no manifest)")
                    manifest = check_manifest(_read_json_member(tar, member))
                    if on_manifest is not None:
                        on_manifest(manifest)
                    if manifest_only:
                        return ReadResult(manifest, {}, [])
                    continue
                if trailer is not None:
                    raise BackupRefused("corrupted", f"the archive has a member after its file list: {member.name}")
                if member.name == FILES_MANIFEST:
                    trailer = _read_json_member(tar, member)
                    continue
                part = _member_part(member.name)
                if part is None or not member.isreg():
                    raise BackupRefused("invalid", f"the archive holds an unexpected member: {member.name[:200]!r}")
                if part not in manifest["parts"] or member.name in computed:
                    raise BackupRefused("invalid", f"the archive's member {member.name[:200]!r} does not match "
                                                   "its manifest")
                stream = _MemberStream(tar.extractfile(member))
                if sink is not None:
                    sink(member.name, part, iter(stream))
                for _ in stream:  # whatever the sink left unread
                    pass
                computed[member.name] = {"sha256": stream.digest.hexdigest(), "size": stream.size, "part": part}
    except tarfile.ReadError as exc:
        text = str(exc)
        if "unexpected end" in text or "truncated" in text:
            raise BackupRefused("truncated", "the archive is truncated") from None
        raise BackupRefused("corrupted", f"the archive is damaged ({text})") from None
    except EOFError:
        raise BackupRefused("truncated", "the archive is truncated") from None
    if manifest is None:
        raise BackupRefused("foreign", "this file is not a backup made by this appliance (empty)")
    reader.finish()
    _check_trailer(manifest, trailer, computed)
    return ReadResult(manifest, computed, list(trailer.get("missing", [])))


def _check_trailer(manifest: dict, trailer: object, computed: dict) -> None:
    if not isinstance(trailer, dict) or not isinstance(trailer.get("files"), dict):
        raise BackupRefused("truncated", "the archive is truncated (its file list is missing)")
    listed = trailer["files"]
    if set(listed) != set(computed):
        extra = sorted(set(listed) ^ set(computed))
        raise BackupRefused("corrupted", f"the archive's content does not match its file list ({extra[0][:200]})")
    for name, got in computed.items():
        want = listed[name]
        if not isinstance(want, dict) or want.get("sha256") != got["sha256"] or want.get("size") != got["size"]:
            raise BackupRefused("corrupted", f"checksum mismatch for {name[:200]}")
    for name, want in manifest["config_files"].items():
        got = computed.get(name)
        if got is None or not isinstance(want, dict) or want.get("sha256") != got["sha256"]:
            raise BackupRefused("corrupted", f"checksum mismatch for {name} (manifest)")


def inspect_archive(source: BinaryIO, passphrase: str | None = None, verify: bool = True) -> dict:
    """What an archive holds (manifest, counts, files per part), read without restoring anything.

    With `verify`, the whole archive is read and every checksum checked ("verified": true)."""
    if not verify:
        result = read_archive(source, passphrase, manifest_only=True)
        return describe(result.manifest, None)
    result = read_archive(source, passphrase)
    return describe(result.manifest, result)


def describe(manifest: dict, result: ReadResult | None) -> dict:
    info = {key: manifest.get(key) for key in ("format_version", "app_version", "schema_version", "created_at",
                                                "parts", "secrets", "encrypted", "summary")}
    info["software_schema_version"] = software_schema_version()
    info["migrates"] = manifest["schema_version"] < software_schema_version()
    info["verified"] = result is not None
    if result is not None:
        per_part: dict[str, dict] = {}
        for got in result.files.values():
            entry = per_part.setdefault(got["part"], {"files": 0, "bytes": 0})
            entry["files"] += 1
            entry["bytes"] += got["size"]
        info["files"] = per_part
        info["missing"] = result.missing
    return info


@contextlib.contextmanager
def opened(path: Path | str):
    try:
        f = open(path, "rb")
    except FileNotFoundError:
        raise BackupRefused("invalid", f"no such file: {path}") from None
    except IsADirectoryError:
        raise BackupRefused("invalid", f"{path} is a folder, not an archive") from None
    with f:
        yield f
