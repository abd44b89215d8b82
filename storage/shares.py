"""SMB and NFS shares as backup destinations: settings, the mount command, a read-only test mount.

The password is encrypted at rest (appliance.store.secrets) and reaches mount.cifs through a 0600
credentials file in the run folder, never the command line. The command is an argument list; the
option string holds only fixed flags and a version picked from a list (no user text).
`mounted(settings, name)` mounts a share for the time of a `with` block (the backup schedule writes
through it; read-write unless told otherwise).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import ipaddress
import os
import re
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

from appliance.errors import Conflict, NotFound, ValidationError
from appliance.settings import Settings
from storage.commands import CommandFailed, run

NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
HOST_RE = re.compile(r"^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}"
                     r"[A-Za-z0-9])?)*$")
SMB_SHARE_RE = re.compile(r"^[A-Za-z0-9$._ -]{1,80}$")
NFS_EXPORT_RE = re.compile(r"^/[A-Za-z0-9._/-]{0,250}$")
FOLDER_RE = re.compile(r"^([A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*)?$")
USER_RE = re.compile(r"^[^\s,=/\\]{0,128}$")
VERSIONS = {"smb": ("3.1.1", "3.0", "2.1", "2.0"), "nfs": ("4.2", "4.1", "4", "3")}
DEFAULT_VERSION = {"smb": "3.0", "nfs": "4.1"}
FIELDS = ("name", "protocol", "server", "share", "folder", "username", "password", "domain", "version", "revision")
TEST_TIMEOUT_S = 30
ERRNO_HINTS = (
    ("permission denied", "the server refused the user name or password (or this client)"),
    ("connection refused", "nothing answers for this protocol on the server (service stopped or blocked)"),
    ("no route to host", "the server cannot be reached (address, network, firewall)"),
    ("host is down", "the server cannot be reached (address, network, firewall)"),
    ("timed out", "the server did not answer in time"),
    ("no such file or directory", "the share or export does not exist on the server"),
    ("access denied", "the server does not export this folder to the appliance"),
    ("could not resolve", "the server name cannot be resolved (DNS)"),
    ("unknown host", "the server name cannot be resolved (DNS)"),
    ("not installed", "the mount tool for this protocol is not installed"),
    ("unknown filesystem type", "this system cannot mount this kind of share (its kernel lacks the file system)"),
)


def _row(name: str):
    from storage.models import Share

    row = Share.get_or_none(Share.name == name)
    if row is None:
        raise NotFound("share", name)
    return row


def to_public(row) -> dict:
    return {"name": row.name, "protocol": row.protocol, "server": row.server, "share": row.share,
            "folder": row.folder, "username": row.username, "has_password": bool(row.password_enc),
            "domain": row.domain, "version": row.version, "revision": row.revision,
            "mount_command": " ".join(mount_argv(row, Path("/mnt/<share>"), "<credentials file>")),
            "last_test": None if row.last_test_at is None else {
                "at": row.last_test_at.isoformat(timespec="seconds") + "Z", "ok": bool(row.last_test_ok),
                "message": row.last_test_message}}


def list_shares() -> list[dict]:
    from storage.models import Share

    return [to_public(r) for r in Share.select().order_by(Share.name)]


def get(name: str) -> dict:
    return to_public(_row(name))


def clean(data: dict, existing=None) -> dict:
    """Validated values (ValidationError names the field); `existing` for a partial update."""
    if not isinstance(data, dict):
        raise ValidationError("body", "must be a JSON object")
    for key in data:
        if key not in FIELDS:
            raise ValidationError(str(key)[:64], "is not a share setting")
    values: dict = {}
    if existing is None:
        name = data.get("name")
        if not isinstance(name, str) or not NAME_RE.match(name):
            raise ValidationError("name", "must be 1 to 64 lower-case letters, digits, - or _")
        values["name"] = name
    elif "name" in data and data["name"] != existing.name:
        raise ValidationError("name", "cannot be changed")
    protocol = data.get("protocol", existing.protocol if existing else None)
    if protocol not in VERSIONS:
        raise ValidationError("protocol", "must be smb or nfs")
    values["protocol"] = protocol

    def text(key: str, default: str = "") -> str:
        value = data.get(key, getattr(existing, key) if existing else default)
        if not isinstance(value, str):
            raise ValidationError(key, "must be text")
        return value.strip()

    server = text("server")
    if not server:
        raise ValidationError("server", "is required: a host name or IP address")
    try:
        ipaddress.ip_address(server)
    except ValueError:
        if not HOST_RE.match(server):
            raise ValidationError("server", "must be a host name or an IP address") from None
    values["server"] = server
    share = text("share")
    if protocol == "smb":
        share = share.strip("/")
        if not SMB_SHARE_RE.match(share):
            raise ValidationError("share", "must be the share's name (letters, digits, space, $ . _ -)")
    elif not NFS_EXPORT_RE.match(share):
        raise ValidationError("share", "must be the exported path, starting with / (e.g. /srv/backups)")
    values["share"] = share
    folder = text("folder").strip("/")
    if not FOLDER_RE.match(folder) or ".." in folder.split("/"):
        raise ValidationError("folder", "must be a relative folder inside the share (letters, digits, . _ - and /)")
    values["folder"] = folder
    for key in ("username", "domain"):
        value = text(key)
        if not USER_RE.match(value):
            raise ValidationError(key, "must not contain spaces, commas, = or slashes")
        values[key] = value
    if protocol == "nfs" and values["username"]:
        raise ValidationError("username", "NFS shares have no user name (access is by the appliance's address)")
    version = data.get("version", existing.version if existing and existing.protocol == protocol else "")
    version = version or DEFAULT_VERSION[protocol]
    if version not in VERSIONS[protocol]:
        raise ValidationError("version", f"must be one of {', '.join(VERSIONS[protocol])}")
    values["version"] = version
    if "password" in data:
        password = data["password"]
        if password is not None and not isinstance(password, str):
            raise ValidationError("password", "must be text")
        if password and protocol == "nfs":
            raise ValidationError("password", "NFS shares have no password")
        if password and len(password) > 256:
            raise ValidationError("password", "must be at most 256 characters")
        values["password"] = password or ""
    return values


def create(data: dict) -> dict:
    from appliance.store import database, secrets
    from storage.models import Share

    values = clean(data)
    password = values.pop("password", "")
    with database.atomic():
        if Share.get_or_none(Share.name == values["name"]) is not None:
            raise Conflict("name", "a share with this name already exists")
        row = Share.create(**values, password_enc=secrets.encrypt(password) if password else "")
    return to_public(row)


def update(name: str, data: dict) -> dict:
    from appliance.store import database, secrets

    with database.atomic():
        row = _row(name)
        expected = data.get("revision")
        if expected is not None and (isinstance(expected, bool) or not isinstance(expected, int)):
            raise ValidationError("revision", "must be an integer")
        if expected is not None and expected != row.revision:
            raise Conflict("revision", "the share was changed by someone else; reload and try again")
        values = clean(data, row)
        if "password" in values:
            password = values.pop("password")
            row.password_enc = secrets.encrypt(password) if password else ""
        if values["protocol"] == "nfs":
            row.password_enc = ""
        for key, value in values.items():
            setattr(row, key, value)
        row.revision += 1
        row.save()
    return to_public(row)


def delete(name: str) -> None:
    _row(name).delete_instance()


# -- mounting ---------------------------------------------------------------------------------------------

def mount_argv(row, point: Path, credentials: str | None, *, readonly: bool = True) -> list[str]:
    """The mount command for a share, as an argument list."""
    flags = ["ro" if readonly else "rw"]
    if row.protocol == "smb":
        flags += [f"vers={row.version or DEFAULT_VERSION['smb']}", "soft", "noserverino", "nosuid", "nodev",
                  "noexec"]
        flags.append(f"credentials={credentials}" if row.username and credentials else "guest")
        return ["mount", "-t", "cifs", f"//{row.server}/{row.share}", str(point), "-o", ",".join(flags)]
    flags += [f"vers={row.version or DEFAULT_VERSION['nfs']}", "soft", "timeo=50", "retrans=2", "nosuid", "nodev",
              "noexec"]
    server = f"[{row.server}]" if ":" in row.server else row.server
    return ["mount", "-t", "nfs", f"{server}:{row.share}", str(point), "-o", ",".join(flags)]


def _credentials(settings: Settings, row) -> Path | None:
    from appliance.store import secrets

    if row.protocol != "smb" or not row.username:
        return None
    settings.run_dir.mkdir(parents=True, exist_ok=True)
    path = settings.run_dir / f"smb-{uuid.uuid4().hex}.cred"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    password = secrets.decrypt(row.password_enc) if row.password_enc else ""
    with os.fdopen(fd, "w") as f:
        f.write(f"username={row.username}\npassword={password}\n")
        if row.domain:
            f.write(f"domain={row.domain}\n")
    return path


def explain(message: str) -> str:
    low = message.lower()
    for needle, hint in ERRNO_HINTS:
        if needle in low:
            return f"{hint} ({message})"
    return message


@contextlib.contextmanager
def mounted(settings: Settings, name: str, *, readonly: bool = False) -> Iterator[Path]:
    """Mount share `name` for the block; yields its folder (created when writable)."""
    row = _row(name)
    point = settings.run_dir / "shares" / f"{row.name}-{uuid.uuid4().hex[:8]}"
    point.mkdir(parents=True)
    cred = _credentials(settings, row)
    try:
        try:
            run(mount_argv(row, point, str(cred) if cred else None, readonly=readonly), timeout=TEST_TIMEOUT_S)
        except CommandFailed as exc:
            raise Conflict("share", f"{row.name} could not be mounted: {explain(exc.message)}") from None
        finally:
            if cred is not None:
                cred.unlink(missing_ok=True)
        try:
            target = point / row.folder if row.folder else point
            if not readonly:
                target.mkdir(parents=True, exist_ok=True)
            yield target
        finally:
            try:
                run(["umount", str(point)], timeout=TEST_TIMEOUT_S)
            except CommandFailed:
                run(["umount", "-l", str(point)], timeout=TEST_TIMEOUT_S)
    finally:
        with contextlib.suppress(OSError):
            point.rmdir()


def test(settings: Settings, name: str) -> dict:
    """Mount the share read-only, look inside, unmount; the outcome is kept on the share and returned."""
    from storage.models import Share

    row = _row(name)
    result = {"ok": False, "message": "", "entries": None, "free_bytes": None,
              "command": " ".join(mount_argv(row, Path("/mnt/<share>"), "<credentials file>"))}
    try:
        with mounted(settings, name, readonly=True) as path:
            if not path.is_dir():
                raise Conflict("folder", f"the folder {row.folder} does not exist in the share")
            entries = len(os.listdir(path))
            usage = shutil.disk_usage(path)
            result.update(ok=True, entries=entries, free_bytes=usage.free,
                          message=f"mounted read-only: {entries} entries, {usage.free} bytes free")
    except Conflict as exc:
        result["message"] = exc.message
    except OSError as exc:
        result["message"] = explain(str(exc))
    Share.update(last_test_at=dt.datetime.utcnow(), last_test_ok=result["ok"],
                 last_test_message=result["message"][:512]).where(Share.id == row.id).execute()
    return result
