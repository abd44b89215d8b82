"""Secrets at rest: a per-appliance Fernet key in a 0600 file.

Passwords the appliance must give back (SIP, trunk, SMTP) are stored as
Fernet tokens; the key never leaves the data directory.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from appliance.errors import ApplianceError

_fernet: Fernet | None = None


def load_key(path: Path) -> None:
    """Load the appliance key, creating it (mode 0600) on first start."""
    global _fernet
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(Fernet.generate_key())
            f.flush()
            os.fsync(f.fileno())
    os.chmod(path, 0o600)
    _fernet = Fernet(path.read_bytes().strip())


def encrypt(plain: str) -> str:
    return _require().encrypt(plain.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _require().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise ApplianceError("a stored secret cannot be decrypted with this appliance's key") from exc


def _require() -> Fernet:
    if _fernet is None:
        raise ApplianceError("secret key not loaded: call appliance.store.secrets.load_key first")
    return _fernet
