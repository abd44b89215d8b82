"""Firmware files uploaded per vendor/model, offered to the matching phones in their config.

Stored as `<data>/firmware/<vendor>-<model>-<version><ext>` (one per vendor/model: a new upload replaces the
old), served at `/prov/firmware/<file>` (not secret: vendors publish them). A device whose vendor and
model match, and whose firmware is not that version already, gets the file's URL in its config.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path
from typing import BinaryIO

from appliance.errors import NotFound, ValidationError
from appliance.provisioning import service
from appliance.provisioning.models import Firmware
from appliance.provisioning.vendors import BY_KEY
from appliance.settings import Settings
from appliance.store import database

MAX_BYTES = 256 * 2**20
UPLOAD_FIELDS = ("vendor", "model", "version")
EXTENSIONS = (".rom", ".bin", ".ld", ".zip", ".img", ".fw", ".tar", ".tgz", ".gz", ".dfu")
_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,63}")  # fullmatch: `$` would let a final "\n" through


def directory(settings: Settings) -> Path:
    return settings.data_dir / "firmware"


def list_firmware() -> list[Firmware]:
    return list(Firmware.select().order_by(Firmware.vendor, Firmware.model))


def upload(settings: Settings, data: dict, filename: str, stream: BinaryIO | None) -> Firmware:
    vendor = data.get("vendor", "")
    if vendor not in BY_KEY:
        raise ValidationError("vendor", f"must be one of {', '.join(BY_KEY)}")
    model = data.get("model", "")
    if not isinstance(model, str) or not _NAME_RE.fullmatch(model):
        raise ValidationError("model", "must be the phone model as it reports it (letters, digits, . _ + -)")
    version = data.get("version", "") or ""
    if not isinstance(version, str) or (version and not _NAME_RE.fullmatch(version)):
        raise ValidationError("version", "must be letters, digits, . _ + - (the version the phone reports)")
    if stream is None or not filename:
        raise ValidationError("file", "is required")
    ext = next((e for e in EXTENSIONS if filename.lower().endswith(e)), None)
    if ext is None:
        raise ValidationError("file", f"must be a firmware file ({', '.join(EXTENSIONS)})")
    folder = directory(settings)
    folder.mkdir(parents=True, exist_ok=True)
    # Each upload its own temporary file (two uploads of one model at once must not mix), removed whatever
    # happens (a client gone half-way, a refusal); once renamed into place there is nothing left to remove.
    fd, tmp_name = tempfile.mkstemp(prefix=".upload-", suffix=".part", dir=folder)
    tmp = Path(tmp_name)
    try:
        digest, size = hashlib.sha256(), 0
        with os.fdopen(fd, "wb") as out:
            while chunk := stream.read(1 << 20):
                size += len(chunk)
                if size > MAX_BYTES:
                    raise ValidationError("file", f"must be at most {MAX_BYTES // 2**20} MB")
                digest.update(chunk)
                out.write(chunk)
        if size == 0:
            raise ValidationError("file", "is empty")
        os.chmod(tmp, 0o644)
        name = f"{vendor}-{model}-{version or digest.hexdigest()[:8]}{ext}"
        with database.atomic():
            old = Firmware.get_or_none((Firmware.vendor == vendor) & (Firmware.model == model))
            if old is not None:
                if old.filename != name:
                    (folder / old.filename).unlink(missing_ok=True)
                old.delete_instance()
            tmp.replace(folder / name)
            row = Firmware.create(vendor=vendor, model=model, version=version, filename=name, size_bytes=size,
                                  sha256=digest.hexdigest(), uploaded_at=service.now())
    finally:
        tmp.unlink(missing_ok=True)
    return row


def delete(settings: Settings, firmware_id: int) -> None:
    row = Firmware.get_or_none(Firmware.id == firmware_id)
    if row is None:
        raise NotFound("firmware", str(firmware_id))
    with database.atomic():
        row.delete_instance()
    (directory(settings) / row.filename).unlink(missing_ok=True)


def file_for(settings: Settings, filename: str) -> Path | None:
    """The stored file a phone asks for, or None (only names the table lists)."""
    if Firmware.get_or_none(Firmware.filename == filename) is None:
        return None
    path = directory(settings) / filename
    return path if path.is_file() else None


def offer(rows: list[Firmware], vendor: str, model: str, current: str) -> Firmware | None:
    """The firmware to offer a device, if one matches its vendor and model and it does not run it yet."""
    for row in rows:
        if row.vendor == vendor and row.model.lower() == (model or "").lower():
            return None if row.version and row.version == current else row
    return None


def public(row: Firmware) -> dict:
    return {"id": row.id, "vendor": row.vendor, "model": row.model, "version": row.version,
            "filename": row.filename, "size_bytes": row.size_bytes, "sha256": row.sha256,
            "uploaded_at": row.uploaded_at.replace(microsecond=0).isoformat() + "Z" if row.uploaded_at else None}
