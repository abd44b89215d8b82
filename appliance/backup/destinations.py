"""Where scheduled archives go: the backup folder, a share, an SFTP server or e-mail (one table, KINDS).

Every kind has: `clean(given, current, field)` (its settings checked, ValidationError naming the dotted
field, e.g. "sftp.port"), `send(settings, target, path)` (deliver one archive made in the local backup
folder; raises DestinationFailed with a classified reason), `prune(settings, target, keep)` (delete the
scheduled archives beyond the newest `keep` at the destination; the names deleted) and `test(settings,
target)` (reach it and check it can take an archive, nothing kept).

The schedule (appliance.backup.schedule) makes each archive in the local backup folder first and removes
that copy only once the destination holds it: a failed upload leaves it there, nothing is lost.

SFTP: paramiko's client with a password (Fernet-encrypted at rest); the server's host key is pinned on
first use ("<type> <base64>", its SHA256 fingerprint shown to the admin) and a different key is refused
before the password is sent. Uploads go to a ".<name>.partial" file renamed once complete, so a broken
upload never counts as an archive.

Share: storage.shares (upload, list_files, remove_file; ShareError with a human reason).

E-mail: appliance.mail.outbox queues the archive as an attachment (the outbox retries for a day and
records its own events); archives over `max_mb` (default 10 MB) are refused. The local copy is kept until
the outbox says the mail was sent (`sweep_mailed`).
"""

from __future__ import annotations

import base64
import errno
import hashlib
import io
import logging
import re
import socket
import stat
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from appliance.errors import NotFound, ValidationError
from appliance.settings import Settings

log = logging.getLogger(__name__)

PREFIX = "scheduled-"
ARCHIVE_RE = re.compile(r"^scheduled-[A-Za-z0-9._-]{1,100}\.pbxbak$")
TIMEOUT_S = 20.0
STALE_S = 3600  # a transfer file older than this is a leftover of a run killed mid-way
EMAIL_DEFAULT_MB = 10
EMAIL_MAX_MB = 25  # the outbox's own limit for a whole message
MAX_RECIPIENTS = 10
SFTP_FOLDER_RE = re.compile(r"^[A-Za-z0-9._~/ -]{0,255}$")
SFTP_USER_RE = re.compile(r"^[^\s:@/\\\x00-\x1f\x7f]{1,64}$")
PASSWORD_MAX = 256

# Classified failures (event details and API answers key on these; never rename one).
REASONS = {
    "auth": "the server refused the user name or password",
    "host_key_changed": "the server's host key is not the one pinned",
    "network": "the server cannot be reached",
    "dns": "the server name cannot be resolved",
    "remote_folder_missing": "the remote folder does not exist",
    "permission": "the remote folder cannot be written",
    "too_big": "the archive is over the size limit",
    "mail": "the mail cannot be queued",
    "share": "the share failed",
    "storage": "the local backup folder failed",
    "not_configured": "the destination is not configured",
}


class DestinationFailed(Exception):
    """A destination could not take the archive: `reason` (a key of REASONS) and a human message."""

    def __init__(self, reason: str, message: str, **details):
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.details = details


@dataclass
class Target:
    """One destination as configured: the kind's settings, its secret (decrypted), the pinned host key."""

    kind: str
    config: dict
    secret: str | None = None
    host_key: str = ""
    pin: Callable[[str], None] = field(default=lambda key: None)


def fingerprint(host_key: str) -> str:
    """"SHA256:..." (as ssh-keygen -l shows it) of a key "<type> <base64>"; "" for none."""
    if not host_key:
        return ""
    try:
        blob = base64.b64decode(host_key.split()[1])
    except (IndexError, ValueError):
        return ""
    return "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")


def box_id(settings: Settings) -> str:
    """8 hex digits constant for this appliance and different between appliances (from its secret key file,
    which a restore onto a replacement box brings along; not reversible to the key)."""
    try:
        data = settings.secret_key_path.read_bytes()
    except OSError:
        data = str(settings.data_dir.resolve()).encode()
    return hashlib.sha256(b"scheduled-backup-id\0" + data).hexdigest()[:8]


def identity(settings: Settings) -> str:
    """This appliance in its scheduled archives' names: "<name slug>-<box_id>" (the slug is only a reading aid:
    pruning goes by the box id, so renaming the appliance does not orphan its archives)."""
    from appliance.system import get_system_settings

    try:
        slug = re.sub(r"[^a-z0-9]+", "-", get_system_settings().appliance_name.lower()).strip("-")[:24].strip("-")
    except Exception:  # noqa: BLE001 -- a name is a nicety
        slug = ""
    return f"{slug or 'pbx'}-{box_id(settings)}"


def archive_name(settings: Settings, when) -> str:
    """scheduled-<identity>-YYYYmmdd-HHMMSS.pbxbak (when: naive UTC)."""
    return f"{PREFIX}{identity(settings)}-{when:%Y%m%d-%H%M%S}.pbxbak"


def _own_re(settings: Settings) -> re.Pattern:
    """This appliance's scheduled archives (another appliance writing to the same place is never pruned; the
    names of before the identity, scheduled-YYYYmmdd-HHMMSS.pbxbak, are listed but not pruned)."""
    return re.compile(rf"^{PREFIX}(?:[a-z0-9-]*-)?{box_id(settings)}-(\d{{8}}-\d{{6}})(?:-(\d+))?\.pbxbak$")


def _newest_first_beyond(settings: Settings, names: list[str], keep: int) -> list[str]:
    """This appliance's archives beyond the newest `keep`, oldest first: by time, then by the -2, -3... that
    a second archive made in the same second gets (a plain name sorts before its -2 one)."""
    own = _own_re(settings)
    found = sorted((m for m in map(own.match, names) if m), key=lambda m: (m.group(1), int(m.group(2) or 1)))
    mine = [m.group(0) for m in found]
    return mine[:-keep] if keep > 0 else mine


def is_own_leftover(settings: Settings, name: str) -> bool:
    """A ".scheduled-<this appliance>-....partial/.part" transfer file (stale when no run holds the lock)."""
    return name.startswith(f".{PREFIX}") and name.endswith((".partial", ".part")) \
        and f"-{box_id(settings)}-" in name


def sweep_local_leftovers(settings: Settings, now: float, own_stale: bool) -> list[str]:
    """Remove the backup folder's ".scheduled-*.partial" files of runs killed mid-way: older than an hour, or
    this appliance's when `own_stale` (the caller holds the run lock). The names removed."""
    from appliance.backup import service

    root = service.folder(settings)
    if not root.is_dir():
        return []
    removed = []
    for path in root.glob(f".{PREFIX}*.partial"):
        try:
            if (own_stale and is_own_leftover(settings, path.name)) or now - path.stat().st_mtime > STALE_S:
                path.unlink()
                removed.append(path.name)
        except OSError:
            continue
    return removed


# -- folder -------------------------------------------------------------------------------------------------

def _folder_prune(settings: Settings, target: Target, keep: int) -> list[str]:
    from appliance.backup import service

    root = service.folder(settings)
    if not root.is_dir():
        return []
    gone = _newest_first_beyond(settings, [p.name for p in root.iterdir() if p.is_file()], keep)
    for name in gone:
        (root / name).unlink(missing_ok=True)
    return gone


def _folder_test(settings: Settings, target: Target) -> dict:
    import tempfile

    from appliance.backup import service

    root = service.folder(settings)
    try:
        root.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=root, prefix=".write-test-"):
            pass
    except OSError as exc:
        raise DestinationFailed("storage", f"the backup folder {root} cannot be written: {exc.strerror or exc}") \
            from exc
    return {"message": f"the backup folder {root} is writable"}


# -- share (storage.shares) ----------------------------------------------------------------------------------

_SHARE_HINTS = (
    ("password", "auth"), ("refused the user", "auth"), ("logon", "auth"), ("authenticat", "auth"),
    ("resolve", "dns"), ("dns", "dns"),
    ("cannot be reached", "network"), ("did not answer", "network"), ("nothing answers", "network"),
    ("timed out", "network"), ("unreachable", "network"), ("connection refused", "network"),
    ("does not exist", "remote_folder_missing"), ("no such", "remote_folder_missing"),
    ("not found", "remote_folder_missing"),
    ("permission", "permission"), ("denied", "permission"), ("read-only", "permission"),
    ("read only", "permission"),
)


_SHARE_CODES = {
    "NT_STATUS_LOGON_FAILURE": "auth", "NT_STATUS_WRONG_PASSWORD": "auth", "NT_STATUS_NO_SUCH_USER": "auth",
    "NT_STATUS_ACCOUNT_DISABLED": "auth", "NT_STATUS_ACCOUNT_LOCKED_OUT": "auth",
    "NT_STATUS_PASSWORD_EXPIRED": "auth", "NT_STATUS_PASSWORD_MUST_CHANGE": "auth",
    "NT_STATUS_BAD_NETWORK_NAME": "remote_folder_missing", "NT_STATUS_OBJECT_PATH_NOT_FOUND": "remote_folder_missing",
    "NT_STATUS_OBJECT_NAME_NOT_FOUND": "remote_folder_missing", "folder_missing": "remote_folder_missing",
    "NT_STATUS_ACCESS_DENIED": "permission", "NT_STATUS_MEDIA_WRITE_PROTECTED": "permission",
    "NT_STATUS_CONNECTION_REFUSED": "network", "NT_STATUS_HOST_UNREACHABLE": "network",
    "NT_STATUS_NETWORK_UNREACHABLE": "network", "NT_STATUS_IO_TIMEOUT": "network",
    "NT_STATUS_CONNECTION_RESET": "network", "NT_STATUS_CONNECTION_DISCONNECTED": "network",
}


def _share_failed(exc: Exception, what: str) -> DestinationFailed:
    message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    low = message.lower()
    reason = _SHARE_CODES.get(getattr(exc, "code", "") or "") \
        or next((r for key, r in _SHARE_HINTS if key in low), "share")
    return DestinationFailed(reason, f"{what}: {message}")


def _share_error(shares) -> type[Exception]:
    """storage.shares.ShareError (the contract of its userspace clients)."""
    return getattr(shares, "ShareError", RuntimeError)


def _share_clean(given: object, current: dict, prefix: str) -> dict:
    out = dict(current)
    if given is None:
        return out
    if not isinstance(given, dict):
        raise ValidationError(prefix, "must be an object")
    for key in given:
        if key != "name":
            raise ValidationError(f"{prefix}.{key}"[:64], "is not a setting of this destination")
    if "name" in given:
        name = given["name"]
        if not isinstance(name, str) or not name.strip():
            raise ValidationError(f"{prefix}.name", "choose a share (add one under Storage first)")
        from storage import shares

        try:
            shares.get(name.strip())
        except NotFound:
            raise ValidationError(f"{prefix}.name", f"no share named {name.strip()!r} (add it under Storage)") \
                from None
        out["name"] = name.strip()
    return out


def _share_require(config: dict, prefix: str) -> None:
    from storage import shares

    if not config.get("name"):
        raise ValidationError(f"{prefix}.name", "choose a share (add one under Storage first)")
    try:
        shares.get(config["name"])
    except NotFound:
        raise ValidationError(f"{prefix}.name", f"the share {config['name']} no longer exists (choose another one "
                                                f"or add it under Storage)") from None


def _share_gone(target: Target) -> DestinationFailed:
    return DestinationFailed("not_configured", f"the share {target.config.get('name')} no longer exists")


def _share_send(settings: Settings, target: Target, path: Path) -> str:
    from storage import shares

    try:
        shares.upload(settings, target.config["name"], path, path.name)
    except NotFound as exc:
        raise _share_gone(target) from exc
    except _share_error(shares) as exc:
        raise _share_failed(exc, f"upload to the share {target.config['name']} failed") from exc
    return f"share {target.config['name']}"


def _share_prune(settings: Settings, target: Target, keep: int) -> list[str]:
    from storage import shares

    try:
        gone = _newest_first_beyond(settings, shares.list_files(settings, target.config["name"]), keep)
        for name in gone:
            shares.remove_file(settings, target.config["name"], name)
    except NotFound as exc:
        raise _share_gone(target) from exc
    except _share_error(shares) as exc:
        raise _share_failed(exc, f"old archives on the share {target.config['name']} not removed") from exc
    return gone


def _share_test(settings: Settings, target: Target) -> dict:
    import tempfile

    from storage import shares

    probe = f".pbx-write-test-{base64.b32encode(hashlib.sha256(str(id(target)).encode()).digest()[:5]).decode()}"
    try:
        with tempfile.TemporaryDirectory() as scratch:
            src = Path(scratch) / probe
            src.write_bytes(b"appliance write test\n")
            count = len([n for n in shares.list_files(settings, target.config["name"]) if ARCHIVE_RE.match(n)])
            shares.upload(settings, target.config["name"], src, probe)
            shares.remove_file(settings, target.config["name"], probe)
    except NotFound as exc:
        raise _share_gone(target) from exc
    except _share_error(shares) as exc:
        raise _share_failed(exc, f"share {target.config['name']}") from exc
    return {"message": f"the share {target.config['name']} is writable ({count} scheduled archives there)"}


# -- SFTP (paramiko) ------------------------------------------------------------------------------------------

def _sftp_clean(given: object, current: dict, prefix: str) -> tuple[dict, str | None]:
    """(settings, new password or None = unchanged)."""
    from appliance.mail.addresses import check_host

    out = {"host": "", "port": 22, "user": "", "folder": ""} | dict(current)
    password = None
    if given is None:
        return out, None
    if not isinstance(given, dict):
        raise ValidationError(prefix, "must be an object")
    for key in given:
        if key not in ("host", "port", "user", "password", "folder"):
            raise ValidationError(f"{prefix}.{key}"[:64], "is not a setting of this destination")
    if "host" in given:
        out["host"] = check_host(f"{prefix}.host", given["host"])
    if "port" in given:
        port = given["port"]
        if isinstance(port, str) and port.strip().isdecimal():
            port = int(port.strip())
        if isinstance(port, bool) or not isinstance(port, int):
            raise ValidationError(f"{prefix}.port", "must be an integer")
        if not 1 <= port <= 65535:
            raise ValidationError(f"{prefix}.port", "must be from 1 to 65535")
        out["port"] = port
    if "user" in given:
        user = given["user"]
        if not isinstance(user, str) or not user.strip():
            raise ValidationError(f"{prefix}.user", "a user name is required")
        if not SFTP_USER_RE.match(user.strip()):
            raise ValidationError(f"{prefix}.user", "at most 64 characters, no space, colon, @ or slash")
        out["user"] = user.strip()
    if "folder" in given:
        folder = given["folder"]
        if not isinstance(folder, str) or not SFTP_FOLDER_RE.match(folder.strip()):
            raise ValidationError(f"{prefix}.folder", "a path of letters, digits and . _ ~ / - (empty: the "
                                                      "user's home folder)")
        folder = folder.strip()
        if ".." in folder.split("/"):
            raise ValidationError(f"{prefix}.folder", "must not contain ..")
        out["folder"] = folder.rstrip("/") if folder not in ("/", "") else folder
    if given.get("password") not in (None, ""):
        password = given["password"]
        if not isinstance(password, str) or len(password) > PASSWORD_MAX or "\n" in password:
            raise ValidationError(f"{prefix}.password", f"one line of at most {PASSWORD_MAX} characters")
    return out, password


def _sftp_require(config: dict, has_password: bool, prefix: str) -> None:
    if not config.get("host"):
        raise ValidationError(f"{prefix}.host", "required")
    if not config.get("user"):
        raise ValidationError(f"{prefix}.user", "a user name is required")
    if not has_password:
        raise ValidationError(f"{prefix}.password", "required")


class _Sftp:
    """One SFTP session: host key checked against the pin before the password is sent."""

    def __init__(self, target: Target, trust: str = ""):
        import paramiko

        cfg = target.config
        self.where = f"{cfg['user']}@{cfg['host']}:{cfg['port']}"
        try:
            infos = socket.getaddrinfo(cfg["host"], cfg["port"], type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError) as exc:
            raise DestinationFailed("dns", f"the name {cfg['host']} cannot be resolved ({exc})") from exc
        sock = None
        last: OSError | None = None
        for family, kind, proto, _, address in infos:
            try:
                sock = socket.socket(family, kind, proto)
                sock.settimeout(TIMEOUT_S)
                sock.connect(address)
                break
            except OSError as exc:
                last = exc
                sock.close()
                sock = None
        if sock is None:
            text = getattr(last, "strerror", None) or str(last) or "no answer"
            raise DestinationFailed("network", f"{cfg['host']} port {cfg['port']} cannot be reached: {text}")
        self.transport = paramiko.Transport(sock)
        try:
            self.transport.start_client(timeout=TIMEOUT_S)
            key = self.transport.get_remote_server_key()
            self.host_key = f"{key.get_name()} {key.get_base64()}"
            self.fingerprint = fingerprint(self.host_key)
            self.first_use = not target.host_key
            if target.host_key and target.host_key != self.host_key:
                if trust and trust == self.fingerprint:
                    self.first_use = True  # the admin accepted this new key by its fingerprint
                else:
                    raise DestinationFailed(
                        "host_key_changed",
                        f"the host key of {cfg['host']} changed: pinned {fingerprint(target.host_key)}, now "
                        f"{self.fingerprint}; refused (the password was not sent). If the server's key was "
                        f"really replaced, trust the new one with the destination test",
                        pinned=fingerprint(target.host_key), presented=self.fingerprint)
            try:
                self.transport.auth_password(cfg["user"], target.secret or "")
            except paramiko.BadAuthenticationType as exc:
                raise DestinationFailed("auth", f"{cfg['host']} does not accept passwords "
                                                f"(it allows: {', '.join(exc.allowed_types)})") from exc
            except paramiko.AuthenticationException as exc:
                raise DestinationFailed("auth", f"{cfg['host']} refused the user name or password "
                                                f"for {cfg['user']}") from exc
            if self.first_use:
                target.pin(self.host_key)
                target.host_key = self.host_key
            self.sftp = paramiko.SFTPClient.from_transport(self.transport)
            self.sftp.get_channel().settimeout(TIMEOUT_S)
        except DestinationFailed:
            self.close()
            raise
        except (paramiko.SSHException, EOFError, OSError) as exc:
            self.close()
            raise DestinationFailed("network", f"no SSH session with {cfg['host']} port {cfg['port']}: "
                                               f"{exc or type(exc).__name__}") from exc
        self.folder = cfg.get("folder") or "."

    def close(self) -> None:
        try:
            self.transport.close()
        except Exception:  # noqa: BLE001 -- closing is best effort
            pass

    def __enter__(self) -> _Sftp:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def remote(self, name: str) -> str:
        return name if self.folder == "." else f"{self.folder.rstrip('/')}/{name}" if self.folder != "/" else f"/{name}"

    def failed(self, exc: Exception, what: str) -> DestinationFailed:
        code = getattr(exc, "errno", None)
        if code == errno.ENOENT:
            return DestinationFailed("remote_folder_missing", f"{what}: the folder {self.folder!r} does not exist "
                                                              f"on {self.where}")
        if code == errno.EACCES:
            return DestinationFailed("permission", f"{what}: permission denied in {self.folder!r} on {self.where}")
        if isinstance(exc, (socket.timeout, EOFError)) or (isinstance(exc, OSError) and code is None
                                                          and "Socket" in str(exc)):
            return DestinationFailed("network", f"{what}: the connection to {self.where} broke ({exc})")
        return DestinationFailed("permission" if "denied" in str(exc).lower() else "network",
                                 f"{what} on {self.where}: {exc or type(exc).__name__}")

    def check_folder(self) -> None:
        try:
            st = self.sftp.stat(self.folder)
        except OSError as exc:
            raise self.failed(exc, "remote folder") from exc
        if not stat.S_ISDIR(st.st_mode or 0):
            raise DestinationFailed("remote_folder_missing", f"{self.folder!r} on {self.where} is not a folder")

    def put(self, src: Path, name: str) -> None:
        partial = self.remote(f".{name}.partial")
        try:
            size = src.stat().st_size
            with open(src, "rb") as f, self.sftp.open(partial, "wb") as out:
                out.chmod(0o600)  # before any data: the server's default mode often lets every local user read
                out.set_pipelined(True)
                while block := f.read(32768):
                    out.write(block)
            if self.sftp.stat(partial).st_size != size:
                raise OSError(f"the server holds {self.sftp.stat(partial).st_size} bytes of {size}")
            try:
                self.sftp.posix_rename(partial, self.remote(name))
            except OSError:
                self.sftp.rename(partial, self.remote(name))
        except Exception as exc:
            try:
                self.sftp.remove(partial)
            except Exception:  # noqa: BLE001 -- the partial file may not exist
                pass
            if isinstance(exc, DestinationFailed):
                raise
            raise self.failed(exc, "upload") from exc

    def listdir_attr(self) -> list:
        try:
            return self.sftp.listdir_attr(self.folder)
        except OSError as exc:
            raise self.failed(exc, "listing the remote folder") from exc

    def listdir(self) -> list[str]:
        try:
            return self.sftp.listdir(self.folder)
        except OSError as exc:
            raise self.failed(exc, "listing the remote folder") from exc


def _sftp_send(settings: Settings, target: Target, path: Path) -> str:
    with _Sftp(target) as session:
        session.check_folder()
        session.put(path, path.name)
    return f"sftp://{session.where}/{session.folder}"


def _sftp_prune(settings: Settings, target: Target, keep: int) -> list[str]:
    import time

    with _Sftp(target) as session:
        entries = session.listdir_attr()
        for entry in entries:  # transfer files of runs killed mid-way (prune runs under the run lock)
            name = entry.filename
            if name.startswith(f".{PREFIX}") and name.endswith((".partial", ".part")) and (
                    is_own_leftover(settings, name) or time.time() - (entry.st_mtime or 0) > STALE_S):
                try:
                    session.sftp.remove(session.remote(name))
                except OSError as exc:
                    log.warning("SFTP leftover %s not removed: %s", name, exc)
        gone = _newest_first_beyond(settings, [e.filename for e in entries], keep)
        for name in gone:
            try:
                session.sftp.remove(session.remote(name))
            except OSError as exc:
                raise session.failed(exc, f"removing {name}") from exc
    return gone


def sftp_test(settings: Settings, target: Target, trust: str = "") -> dict:
    """Connect (pinning the key on first use, or the new key whose fingerprint is `trust`), check the folder
    is writable (a probe file written and removed); the fingerprint and how many archives are there."""
    with _Sftp(target, trust) as session:
        session.check_folder()
        probe = session.remote(".pbx-write-test")
        try:
            session.sftp.putfo(io.BytesIO(b"appliance write test\n"), probe, confirm=True)
            session.sftp.remove(probe)
        except OSError as exc:
            raise session.failed(exc, "writing a test file") from exc
        count = len([n for n in session.listdir() if ARCHIVE_RE.match(n)])
        pinned_now = session.first_use
    return {"message": f"{session.where} folder {session.folder!r} is writable ({count} scheduled archives there)",
            "fingerprint": session.fingerprint, "pinned_now": pinned_now}


# -- e-mail (appliance.mail.outbox) ---------------------------------------------------------------------------

def _email_clean(given: object, current: dict, prefix: str) -> dict:
    from appliance.mail.addresses import check_address

    out = {"to": [], "profile": "", "max_mb": EMAIL_DEFAULT_MB} | dict(current)
    if given is None:
        return out
    if not isinstance(given, dict):
        raise ValidationError(prefix, "must be an object")
    for key in given:
        if key not in ("to", "profile", "max_mb"):
            raise ValidationError(f"{prefix}.{key}"[:64], "is not a setting of this destination")
    if "to" in given:
        to = given["to"]
        if isinstance(to, str):
            to = [t for t in re.split(r"[,;\s]+", to) if t]
        if not isinstance(to, list):
            raise ValidationError(f"{prefix}.to", "one address or a list of addresses")
        if len(to) > MAX_RECIPIENTS:
            raise ValidationError(f"{prefix}.to", f"at most {MAX_RECIPIENTS} recipients")
        out["to"] = [check_address(f"{prefix}.to.{i}", value) for i, value in enumerate(to)]
    if "profile" in given:
        profile = given["profile"] or ""
        if not isinstance(profile, str):
            raise ValidationError(f"{prefix}.profile", "must be a mail profile name (empty: the default one)")
        out["profile"] = profile.strip()
    if "max_mb" in given:
        size = given["max_mb"]
        if isinstance(size, str) and size.strip().isdecimal():
            size = int(size.strip())
        if isinstance(size, bool) or not isinstance(size, int):
            raise ValidationError(f"{prefix}.max_mb", "must be an integer")
        if not 1 <= size <= EMAIL_MAX_MB:
            raise ValidationError(f"{prefix}.max_mb", f"must be from 1 to {EMAIL_MAX_MB}")
        out["max_mb"] = size
    return out


def _email_require(config: dict, prefix: str) -> None:
    from appliance.mail import outbox

    if not config.get("to"):
        raise ValidationError(f"{prefix}.to", "at least one recipient is required")
    if not outbox.configured(config.get("profile") or None):
        raise ValidationError(f"{prefix}.profile", f"no mail profile {config['profile']!r}" if config.get("profile")
                              else "no mail profile: add one under Settings > Mail first")


def _email_send(settings: Settings, target: Target, path: Path) -> str:
    from appliance.mail import outbox

    cfg = target.config
    limit = int(cfg.get("max_mb") or EMAIL_DEFAULT_MB) * 1024 * 1024
    size = path.stat().st_size
    if size > limit:
        raise DestinationFailed("too_big", f"the archive ({size / 1048576:.1f} MB) is over the e-mail limit of "
                                           f"{limit // 1048576} MB: not sent", limit=limit)
    from appliance.backup.service import default_name

    label = default_name(settings, "x")[2:].rsplit("-", 2)[0]
    try:
        queue_id = outbox.queue(cfg["to"], f"Backup of {label}: {path.name}",
                                f"The scheduled backup of {label} is attached ({path.name}, {size:,} bytes).\n"
                                "Keep it safe: restore it under Settings > Backup.\n",
                                attachments=[(path.name, path, "application/octet-stream")],
                                profile=cfg.get("profile") or None, purpose="backup", reference=path.name)
    except outbox.MailNotConfigured as exc:
        raise DestinationFailed("mail", f"the archive was not mailed: {exc}") from exc
    except ValidationError as exc:
        raise DestinationFailed("too_big" if exc.field.startswith("attachments") else "mail",
                                f"the archive was not mailed: {exc.message}") from exc
    return f"the mail queue (message {queue_id}, to {', '.join(cfg['to'])})"


def _email_test(settings: Settings, target: Target) -> dict:
    from appliance.mail import outbox

    if not outbox.configured(target.config.get("profile") or None):
        raise DestinationFailed("mail", "no mail profile to send with: add one under Settings > Mail")
    return {"message": f"archives up to {target.config.get('max_mb', EMAIL_DEFAULT_MB)} MB go to "
                       f"{', '.join(target.config.get('to') or [])} (use Settings > Mail to send a test e-mail)"}


def sweep_mailed(settings: Settings) -> list[str]:
    """Remove local scheduled archives the outbox has sent; the names removed."""
    from appliance.backup import service
    from appliance.mail import outbox

    root = service.folder(settings)
    if not root.is_dir():
        return []
    removed = []
    for path in root.iterdir():
        if path.is_file() and ARCHIVE_RE.match(path.name):
            rows = outbox.find("backup", path.name)
            if rows and rows[0]["state"] == "sent":
                path.unlink(missing_ok=True)
                removed.append(path.name)
    return removed


# -- the table ----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Kind:
    label: str
    send: Callable[[Settings, Target, Path], str] | None  # None: the archive is already where it belongs
    prune: Callable[[Settings, Target, int], list[str]] | None
    test: Callable[[Settings, Target], dict]
    keep_local_until_sent: bool = False


KINDS: dict[str, Kind] = {
    "folder": Kind("backup folder", None, _folder_prune, _folder_test),
    "share": Kind("share", _share_send, _share_prune, _share_test),
    "sftp": Kind("SFTP server", _sftp_send, _sftp_prune, sftp_test),
    "email": Kind("e-mail", _email_send, None, _email_test, keep_local_until_sent=True),
}


def clean(destination: object, given: dict, current: dict, has_password: bool) -> tuple[str, dict, str | None]:
    """(kind, every kind's settings checked, new SFTP password or None). `given` holds the request's
    "share"/"sftp"/"email" objects, `current` the stored ones. The chosen kind's settings must be complete."""
    if not isinstance(destination, str) or destination not in KINDS:
        raise ValidationError("destination", f"must be one of {', '.join(KINDS)}")
    out = {"share": _share_clean(given.get("share"), current.get("share", {}), "share")}
    out["sftp"], password = _sftp_clean(given.get("sftp"), current.get("sftp", {}), "sftp")
    out["email"] = _email_clean(given.get("email"), current.get("email", {}), "email")
    if destination == "share":
        _share_require(out["share"], "share")
    elif destination == "sftp":
        _sftp_require(out["sftp"], has_password or bool(password), "sftp")
    elif destination == "email":
        _email_require(out["email"], "email")
    return destination, out, password
