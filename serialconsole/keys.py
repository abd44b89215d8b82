"""Host key and admins' authorized keys for the SSH console.

Host key: Ed25519, generated with `cryptography` on first start, OpenSSH
format, mode 0600, in <data>/ssh/ssh_host_ed25519_key.
Authorized keys: per account, OpenSSH `authorized_keys` lines in
`user.ssh_keys` (schema V15), so they live in the store (and its backups)
with the account they belong to, and go with it.
"""

from __future__ import annotations

import base64
import binascii
import os
from pathlib import Path

import paramiko

from appliance.errors import NotFound, ValidationError
from appliance.settings import Settings

KEY_TYPES = ("ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521", "ssh-rsa")
MAX_KEYS = 20


def host_key_path(settings: Settings) -> Path:
    return settings.data_dir / "ssh" / "ssh_host_ed25519_key"


def load_or_create_host_key(settings: Settings) -> paramiko.PKey:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    path = host_key_path(settings)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(path.parent, 0o700)
        key = Ed25519PrivateKey.generate()
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
                                serialization.NoEncryption())
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(pem)
        os.replace(tmp, path)
        public = key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
        path.with_suffix(".pub").write_bytes(public + b" appliance\n")
    os.chmod(path, 0o600)
    return paramiko.Ed25519Key.from_private_key_file(str(path))


def parse_key_line(line: str, field: str = "ssh_keys") -> tuple[str, str, str]:
    """(type, base64 blob, comment) of one authorized_keys line; ValidationError naming the field."""
    parts = line.strip().split(None, 2)
    if len(parts) < 2 or parts[0] not in KEY_TYPES:
        raise ValidationError(field, "each line must be an OpenSSH public key (ssh-ed25519 AAAA... comment)")
    try:
        blob = base64.b64decode(parts[1], validate=True)
        paramiko.PKey.from_type_string(parts[0], blob)
    except (binascii.Error, ValueError, paramiko.SSHException):
        raise ValidationError(field, f"the {parts[0]} key is not valid") from None
    return parts[0], parts[1], parts[2] if len(parts) > 2 else ""


def authorized(user, key: paramiko.PKey) -> bool:
    """Is `key` one of the user's authorized keys?"""
    wanted = (key.get_name(), key.get_base64())
    for line in (user.ssh_keys or "").splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            kind, blob, _ = parse_key_line(line)
        except ValidationError:
            continue
        if (kind, blob) == wanted or (kind == "ssh-rsa" and wanted[0].startswith("rsa-") and blob == wanted[1]):
            return True
    return False


def set_keys(login: str, text: str) -> list[str]:
    """Replace an account's authorized keys (validated); returns the lines kept."""
    from appliance.store import database
    from appliance.users.models import User

    lines = [ln.strip() for ln in str(text).splitlines() if ln.strip() and not ln.strip().startswith("#")]
    if len(lines) > MAX_KEYS:
        raise ValidationError("ssh_keys", f"at most {MAX_KEYS} keys per account")
    for line in lines:
        parse_key_line(line)
    with database.atomic():
        user = User.get_or_none(User.login == login)
        if user is None:
            raise NotFound("user", login)
        User.update(ssh_keys="\n".join(lines)).where(User.id == user.id).execute()
    return lines


def keys_of(login: str) -> list[str]:
    from appliance.users.models import User

    user = User.get_or_none(User.login == login)
    return [ln for ln in (user.ssh_keys or "").splitlines() if ln.strip()] if user else []
