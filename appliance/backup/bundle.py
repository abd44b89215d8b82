"""The support bundle: configuration and logs for an escalation, with every secret removed.

A gzip'd tar (opened with any tar tool), streamed in one pass:

    README.txt              what this is, when and on which appliance it was made
    summary.json            versions, counts, the data folder's files (names and sizes only)
    config/appliance.sqlite the store, without sessions, the mail queue and every secret column
                            (passwords, password hashes, HA1s, PINs, provisioning passwords...)
    config/kamailio.cfg     the SIP edge's generated configuration (scrubbed like the logs)
    log/...                 the logs (the last LOG_TAIL bytes of each), scrubbed

Never included: secret.key, the TLS private key, sounds, voicemail, recordings. Logs and generated
files are scrubbed twice: every secret value the store holds (decrypted passwords, hashes, HA1s,
PINs, the key) is replaced by "[removed]" wherever it appears, and `password=...`-like values and
digest responses are blanked by pattern.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import platform
import re
import shutil
import sqlite3
import tarfile
import tempfile
from pathlib import Path
from typing import BinaryIO

from cryptography.fernet import Fernet, InvalidToken

from appliance import __version__
from appliance.backup import archive
from appliance.settings import Settings

LOG_TAIL = 5 << 20
MASK = "[removed]"
_PATTERNS = [
    # key=value, key: value, "key": "value" for secret-looking keys
    re.compile(r"""(?i)((?:password|passwd|pass|secret|pin|token|ha1|auth|key)[\w-]*["']?\s*[:=]\s*["']?)"""
               r"""([^\s"',;&]+)"""),
    re.compile(r'(?i)(response\s*=\s*")([0-9a-f]+)(")'),
]


def collect_secrets(settings: Settings) -> set[str]:
    """Every secret value the store and the key file hold (plain text where it can be decrypted)."""
    values: set[str] = set()
    fernet = None
    if settings.secret_key_path.exists():
        key = settings.secret_key_path.read_bytes().strip()
        values.add(key.decode(errors="replace"))
        try:
            fernet = Fernet(key)
        except ValueError:
            fernet = None
    if not settings.db_path.exists():
        return values
    conn = sqlite3.connect(f"file:{settings.db_path}?mode=ro", uri=True)
    try:
        for table, column in archive.secret_columns(conn):
            for (value,) in conn.execute(f'SELECT "{column}" FROM "{table}" WHERE "{column}" IS NOT NULL'):
                if not isinstance(value, str) or len(value) < 3:
                    continue
                values.add(value)
                if fernet is not None and value.startswith("gAAAA"):
                    try:
                        values.add(fernet.decrypt(value.encode()).decode())
                    except (InvalidToken, UnicodeDecodeError):
                        pass
    finally:
        conn.close()
    return {v for v in values if len(v) >= 3}


def scrub_text(text: str, secrets: set[str]) -> str:
    for value in sorted(secrets, key=len, reverse=True):
        text = text.replace(value, MASK)
    for pattern in _PATTERNS:
        text = pattern.sub(lambda m: m.group(1) + MASK + (m.group(3) if m.lastindex >= 3 else ""), text)
    return text


def _strip_store(path: Path) -> None:
    archive.trim_store(path, set(archive.PARTS))  # runtime rows out, history kept
    archive.blank_secrets(path)


def _add(tar: tarfile.TarFile, name: str, data: bytes, now: float) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = len(data), int(now), 0o644
    tar.addfile(info, io.BytesIO(data))


def _tail(path: Path) -> bytes:
    size = path.stat().st_size
    with open(path, "rb") as f:
        if size > LOG_TAIL:
            f.seek(size - LOG_TAIL)
            f.readline()  # start on a whole line
        return f.read()


def _inventory(settings: Settings) -> list[dict]:
    out = []
    for path in sorted(settings.data_dir.rglob("*")):
        if path.is_file() and len(out) < 5000:
            out.append({"path": path.relative_to(settings.data_dir).as_posix(), "size": path.stat().st_size})
    return out


def support_bundle(settings: Settings, out: BinaryIO) -> dict:
    """Write the support bundle (tar.gz) to `out`; returns its summary."""
    secrets = collect_secrets(settings)
    now = dt.datetime.now(dt.UTC)
    stamp = now.timestamp()
    scratch = Path(tempfile.mkdtemp(prefix=".bundle-", dir=settings.data_dir))
    try:
        summary = {"created_at": now.isoformat(timespec="seconds"), "app_version": __version__,
                   "software_schema_version": archive.software_schema_version(),
                   "python": platform.python_version(), "platform": platform.platform()}
        store_copy = scratch / "appliance.sqlite"
        if settings.db_path.exists():
            archive.snapshot_store(settings.db_path, store_copy)
            _strip_store(store_copy)
            summary["store"] = archive.summarize_store(store_copy)
        summary["files"] = _inventory(settings)
        logs = [p for p in sorted(settings.log_dir.rglob("*")) if p.is_file()] if settings.log_dir.is_dir() else []
        with tarfile.open(fileobj=out, mode="w|gz", format=tarfile.PAX_FORMAT) as tar:
            _add(tar, "README.txt", (
                "Support bundle of a PBX appliance.\n"
                f"Made {summary['created_at']} by software {__version__}.\n"
                "Configuration and logs with every secret removed: no password, hash, HA1, PIN or key.\n"
            ).encode(), stamp)
            _add(tar, "summary.json", json.dumps(summary, indent=1).encode(), stamp)
            if store_copy.exists():
                with open(store_copy, "rb") as f:
                    info = tarfile.TarInfo("config/appliance.sqlite")
                    info.size, info.mtime, info.mode = store_copy.stat().st_size, int(stamp), 0o644
                    tar.addfile(info, f)
            cfg = settings.run_dir / "kamailio.cfg"
            if cfg.is_file():
                _add(tar, "config/kamailio.cfg", scrub_text(cfg.read_text(errors="replace"), secrets).encode(), stamp)
            for path in logs:
                text = _tail(path).decode("utf-8", errors="replace")
                _add(tar, "log/" + path.relative_to(settings.log_dir).as_posix(),
                     scrub_text(text, secrets).encode(), path.stat().st_mtime)
        return {"created_at": summary["created_at"], "logs": len(logs)}
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
