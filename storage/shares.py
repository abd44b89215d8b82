"""SMB and NFS shares as backup destinations: settings, and file transfer with userspace clients.

Nothing is mounted: the kernel needs no cifs or nfs module and a container needs no mount rights.
- SMB goes through Samba's `smbclient`. The password is encrypted at rest (appliance.store.secrets) and
  reaches smbclient through a 0600 authentication file in the run folder (`-A FILE`), never the command
  line; `-p PORT` when the server names a port, `-m` the highest protocol from the version list, `-D` the
  share's folder. `-c` takes a command string (smbclient splits it at `;` and blanks, whatever the quotes),
  so it only ever holds a fixed verb and names checked against SAFE_ARG_RE (folders are validated to that
  alphabet; remote names are chosen by the appliance and checked again). Data goes in on stdin
  (`put - NAME`): the local path never enters the command string.
- NFS goes through libnfs: `nfs-cp` (libnfs-utils) copies the data; listing, folders, rename and delete go
  through libnfs itself (ctypes; libnfs-utils has no rm or mkdir) in a child process (`python -m
  storage.shares nfs ...`) so a stuck server never hangs the caller past its time limit. URL:
  nfs://server/export/path?version=4&nfsport=PORT (libnfs 4.0, Debian 12, reads no port in the host part;
  it speaks NFSv4.0 and v3: versions 4.1/4.2 given before are read as 4).
- Uploads write `.NAME.part` then rename it, so a cut transfer never leaves a file that looks complete.

Contract for the backup schedule: upload(settings, name, src, remote_name), list_files(settings, name),
remove_file(settings, name, remote_name); failures raise ShareError whose message is a human reason.
`test(settings, name)` (the page's "Test") lists the folder, writes, lists and deletes a probe file.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import ipaddress
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

from appliance.errors import Conflict, NotFound, ValidationError
from appliance.settings import Settings

NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
HOST_RE = re.compile(r"^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}"
                     r"[A-Za-z0-9])?)*$")
SMB_SHARE_RE = re.compile(r"^[A-Za-z0-9$._ -]{1,80}$")
NFS_EXPORT_RE = re.compile(r"^/[A-Za-z0-9._/-]{0,250}$")
FOLDER_RE = re.compile(r"^([A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*)?$")
USER_RE = re.compile(r"^[^\s,=/\\]{0,128}$")
SAFE_ARG_RE = re.compile(r"^[A-Za-z0-9._/-]{1,255}$")     # what may appear inside smbclient -c
SMB_VERBS = {"ls": 0, "rm": 1, "mkdir": 1, "put": 2, "rename": 2}   # the smbclient commands used, and
                                                                 # how many names each takes
REMOTE_NAME_RE = re.compile(r"^(?!\.\.?$)[A-Za-z0-9._-]{1,128}$")  # a dot file may be a probe, never . or ..
PORT_RE = re.compile(r"^[0-9]{1,5}$")
VERSIONS = {"smb": ("3.1.1", "3.0", "2.1", "2.0"), "nfs": ("4", "3")}
OLD_VERSIONS = {"nfs": {"4.1": "4", "4.2": "4"}}           # kernel-mount versions, read as what libnfs speaks
DEFAULT_VERSION = {"smb": "3.0", "nfs": "4"}
SMB_MAX_PROTOCOL = {"3.1.1": "SMB3_11", "3.0": "SMB3_00", "2.1": "SMB2_10", "2.0": "SMB2_02"}
NFS_DEFAULT_PORT = 2049
PORTMAPPER_PORT = 111
FIELDS = ("name", "protocol", "server", "share", "folder", "username", "password", "domain", "version", "revision")
TEST_TIMEOUT_S = 30          # one listing, rename or delete
SMB_REQUEST_TIMEOUT_S = 20   # smbclient -t: one SMB request
UPLOAD_MIN_RATE = 256 * 1024  # bytes/s below which an upload is taken for stuck
NT_STATUS_RE = re.compile(r"NT_STATUS_[A-Z0-9_]+")
NT_STATUS_HINTS = {
    "NT_STATUS_LOGON_FAILURE": "the server refused the user name or password",
    "NT_STATUS_WRONG_PASSWORD": "the server refused the user name or password",
    "NT_STATUS_NO_SUCH_USER": "the server refused the user name or password",
    "NT_STATUS_ACCOUNT_DISABLED": "the account is disabled on the server",
    "NT_STATUS_ACCOUNT_LOCKED_OUT": "the account is locked out on the server",
    "NT_STATUS_PASSWORD_EXPIRED": "the account's password has expired on the server",
    "NT_STATUS_PASSWORD_MUST_CHANGE": "the account's password must be changed on the server first",
    "NT_STATUS_BAD_NETWORK_NAME": "the share does not exist on the server (check the share name)",
    "NT_STATUS_CONNECTION_REFUSED": "nothing answers for SMB on the server (service stopped, blocked, or wrong port)",
    "NT_STATUS_HOST_UNREACHABLE": "the server cannot be reached (address, network, firewall)",
    "NT_STATUS_NETWORK_UNREACHABLE": "the server cannot be reached (address, network, firewall)",
    "NT_STATUS_IO_TIMEOUT": "the server did not answer in time",
    "NT_STATUS_UNSUCCESSFUL": "the server cannot be reached or its name cannot be resolved (address, DNS)",
    "NT_STATUS_ACCESS_DENIED": "the server denied access (permissions of the user on the share or folder)",
    "NT_STATUS_MEDIA_WRITE_PROTECTED": "the share is read-only",
    "NT_STATUS_OBJECT_PATH_NOT_FOUND": "the folder does not exist in the share",
    "NT_STATUS_OBJECT_NAME_NOT_FOUND": "the file or folder does not exist in the share",
    "NT_STATUS_NO_SUCH_FILE": "the file does not exist in the share",
    "NT_STATUS_DISK_FULL": "the share is full",
    "NT_STATUS_QUOTA_EXCEEDED": "the user's quota on the share is exceeded",
    "NT_STATUS_CONNECTION_RESET": "the server closed the connection (SMB version not accepted?)",
    "NT_STATUS_CONNECTION_DISCONNECTED": "the server closed the connection (SMB version not accepted?)",
    "NT_STATUS_INVALID_NETWORK_RESPONSE": "the server and the appliance share no SMB version (check the version)",
    "NT_STATUS_NOT_SUPPORTED": "the server does not support what was asked (SMB version or signing)",
    "NT_STATUS_SHARING_VIOLATION": "the file is in use on the server",
}
ERRNO_HINTS = (
    ("permission denied", "the server refused the user name or password (or this client)"),
    ("connection refused", "nothing answers for this protocol on the server (service stopped, blocked, or wrong port)"),
    ("no route to host", "the server cannot be reached (address, network, firewall)"),
    ("network is unreachable", "the server cannot be reached (address, network, firewall)"),
    ("host is down", "the server cannot be reached (address, network, firewall)"),
    ("timed out", "the server did not answer in time"),
    ("could not resolve", "the server name cannot be resolved (DNS)"),
    ("can not resolv", "the server name cannot be resolved (DNS)"),
    ("name or service not known", "the server name cannot be resolved (DNS)"),
    ("failure in name resolution", "the server name cannot be resolved (DNS)"),
    ("unknown host", "the server name cannot be resolved (DNS)"),
    ("not installed", "the client for this protocol is not installed"),
    ("nfs4err_noent", "the export or folder does not exist on the server"),
    ("mnt3err_noent", "the export does not exist on the server"),
    ("nfs3err_noent", "the folder or file does not exist on the server"),
    ("err_acces", "the server does not let the appliance in (the export's allowed clients, root squash, "
                  "permissions)"),
    ("err_perm", "the server does not let the appliance in (the export's allowed clients, root squash, "
                 "permissions)"),
    ("err_rofs", "the export is read-only"),
    ("err_nospc", "the share is full"),
    ("err_dquot", "the quota on the share is exceeded"),
    ("nfs_service failed", "the NFS server dropped the connection (NFS version not served?)"),
    ("no such file or directory", "the share, folder or file does not exist on the server"),
    ("access denied", "the server does not export this folder to the appliance"),
)


class ShareError(Exception):
    """A share operation failed; `message` says why in words, `code` is the protocol's code when known
    ("NT_STATUS_..." or the NFS error), or "folder_missing"."""

    def __init__(self, message: str, code: str = ""):
        super().__init__(message)
        self.message = message
        self.code = code


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
            "location": location(row),
            "last_test": None if row.last_test_at is None else {
                "at": row.last_test_at.isoformat(timespec="seconds") + "Z", "ok": bool(row.last_test_ok),
                "message": row.last_test_message}}


def list_shares() -> list[dict]:
    from storage.models import Share

    return [to_public(r) for r in Share.select().order_by(Share.name)]


def get(name: str) -> dict:
    return to_public(_row(name))


def split_server(server: str) -> tuple[str, int | None]:
    """(host, port) from "host", "host:port", an IPv6 address, or "[IPv6]:port"; ValueError if malformed."""
    bracketed = re.fullmatch(r"\[([0-9A-Fa-f:.]+)\](?::([0-9]{1,5}))?", server)
    if bracketed:
        host, port = bracketed.group(1), bracketed.group(2)
        if ":" not in host:
            raise ValueError("brackets are for IPv6 addresses")
    elif server.count(":") == 1:
        host, port = server.split(":")
        if not PORT_RE.match(port):
            raise ValueError("the port must be a number")
    else:
        host, port = server, None
    if port is not None and not 1 <= int(port) <= 65535:
        raise ValueError("the port must be 1 to 65535")
    return host, int(port) if port is not None else None


def _clean_server(server: str) -> str:
    try:
        host, port = split_server(server)
    except ValueError as exc:
        raise ValidationError("server", f"must be a host name or an IP address, with :port if needed ({exc})") \
            from None
    if "%" in host:  # an IPv6 scope id would carry any text into the share's URL (nfs://...?options)
        raise ValidationError("server", "must be a host name or an IP address without a scope id (%)")
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        if not HOST_RE.match(host):
            raise ValidationError("server", "must be a host name or an IP address, with :port if needed") from None
        address = None
    if port is None:
        return host
    return f"[{host}]:{port}" if address is not None and address.version == 6 else f"{host}:{port}"


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
    values["server"] = _clean_server(server)
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
        if "%" in value:     # smbclient reads user%password
            raise ValidationError(key, "must not contain %")
        values[key] = value
    if protocol == "nfs" and values["username"]:
        raise ValidationError("username", "NFS shares have no user name (access is by the appliance's address)")
    version = data.get("version", existing.version if existing and existing.protocol == protocol else "")
    version = OLD_VERSIONS.get(protocol, {}).get(version, version) or DEFAULT_VERSION[protocol]
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
        if password and (any(ord(c) < 32 or ord(c) == 127 for c in password) or password[0] in " \t"):
            # the authentication file holds one "password=" line and smbclient drops leading blanks
            raise ValidationError("password", "must not contain line breaks or control characters, nor start "
                                              "with a space")
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


# -- where a share is ----------------------------------------------------------------------------------------

def location(row) -> str:
    """What the page shows: //server/share/folder (SMB, with the port if any) or the libnfs URL."""
    if row.protocol == "nfs":
        return nfs_url(row, row.folder)
    host, port = split_server(row.server)
    where = f"//{host}/{row.share}" + (f"/{row.folder}" if row.folder else "")
    return where + (f" (port {port})" if port else "")


def nfs_url(row, path: str = "") -> str:
    """nfs://server/export[/path]?version=N[&nfsport=P] (libnfs 4.0 reads the port only as nfsport)."""
    host, port = split_server(row.server)
    version = OLD_VERSIONS["nfs"].get(row.version, row.version) or DEFAULT_VERSION["nfs"]
    export = row.share.rstrip("/") or ""
    if ":" in host:
        host = f"[{host}]"  # an IPv6 address in a URL
    url = f"nfs://{host}{export}" + (f"/{path.strip('/')}" if path.strip("/") else "")
    url += f"?version={'3' if version == '3' else '4'}"
    return url + (f"&nfsport={port}" if port else "")


def smb_argv(row, auth: str | None, command: str, *, in_folder: bool = True) -> list[str]:
    """The smbclient command for one `-c` command; `auth` is the 0600 authentication file (None: anonymous)."""
    verb, *words = command.split(" ")
    if SMB_VERBS.get(verb) != len(words):
        raise ShareError(f"{command!r} is not a command the appliance sends to a share")
    for word in words:
        _check_arg(word)
    host, port = split_server(row.server)
    argv = ["smbclient", f"//{host}/{row.share}"]
    argv += ["-A", auth] if auth else ["-N", "-U", "%"]
    if port:
        argv += ["-p", str(port)]
    argv += ["-m", SMB_MAX_PROTOCOL.get(row.version, SMB_MAX_PROTOCOL[DEFAULT_VERSION["smb"]]),
             "-t", str(SMB_REQUEST_TIMEOUT_S)]
    if in_folder and row.folder:
        argv += ["-D", _check_arg(row.folder)]
    return [*argv, "-c", command]


def _check_arg(text: str) -> str:
    """A name that goes into smbclient's command string: nothing it could split or interpret."""
    if not SAFE_ARG_RE.match(text) or ".." in text.split("/"):
        raise ShareError(f"{text!r} cannot be used as a name on a share")
    return text


def _check_remote_name(remote_name: str) -> str:
    if not isinstance(remote_name, str) or not REMOTE_NAME_RE.match(remote_name):
        raise ShareError(f"{remote_name!r} is not a file name the appliance writes to a share")
    return remote_name


def explain(message: str) -> str:
    """A reason in words for a client's error text (NT_STATUS_* codes, errno texts, libnfs errors)."""
    status = NT_STATUS_RE.search(message)
    if status and status.group(0) in NT_STATUS_HINTS:
        return f"{NT_STATUS_HINTS[status.group(0)]} ({message})"
    low = message.lower()
    for needle, hint in ERRNO_HINTS:
        if needle in low:
            return f"{hint} ({message})"
    return message


# -- running the clients -------------------------------------------------------------------------------------

def _run(argv: list[str], *, stdin: Path | None = None, timeout: float = TEST_TIMEOUT_S,
         extra_env: dict | None = None) -> tuple[int, str]:
    """Run a client (argument list, never a shell); (exit status, stdout and stderr together)."""
    exe = shutil.which(argv[0])
    if exe is None:
        raise ShareError(f"{argv[0]} is not installed on this system", "not_installed")
    env = {"PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"), "LC_ALL": "C", "LANG": "C",
           **(extra_env or {})}
    try:
        with contextlib.ExitStack() as stack:
            source = stack.enter_context(open(stdin, "rb")) if stdin is not None else subprocess.DEVNULL
            done = subprocess.run([exe, *argv[1:]], stdin=source, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        raise ShareError(f"the server did not answer in time ({argv[0]} stopped after {timeout:.0f} s)",
                         "timeout") from None
    except OSError as exc:
        raise ShareError(explain(str(exc))) from None
    return done.returncode, done.stdout.decode("utf-8", "replace")


def _status_line(output: str) -> str:
    """The line of smbclient's output that carries an NT_STATUS code (or its last line)."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    for line in lines:
        if NT_STATUS_RE.search(line):
            return line
    return lines[-1] if lines else ""


def _smb(row, auth: str | None, command: str, *, stdin: Path | None = None, timeout: float = TEST_TIMEOUT_S,
         in_folder: bool = True, ignore: tuple[str, ...] = ()) -> str:
    rc, output = _run(smb_argv(row, auth, command, in_folder=in_folder), stdin=stdin, timeout=timeout)
    line = _status_line(output)
    status = NT_STATUS_RE.search(line)
    code = status.group(0) if status else ""
    if code in ignore:
        return output
    if rc != 0 or code:
        if line.startswith("cd ") and code in ("NT_STATUS_OBJECT_PATH_NOT_FOUND", "NT_STATUS_OBJECT_NAME_NOT_FOUND"):
            raise ShareError(f"the folder {row.folder} does not exist in the share ({code})", "folder_missing")
        raise ShareError(explain(line or f"smbclient exited with status {rc}"), code)
    return output


@contextlib.contextmanager
def _smb_auth(settings: Settings, row) -> Iterator[str | None]:
    """A 0600 authentication file for smbclient -A for the block (None for a share without a user)."""
    from appliance.store import secrets

    if not row.username:
        yield None
        return
    settings.run_dir.mkdir(parents=True, exist_ok=True)
    path = settings.run_dir / f"smb-{uuid.uuid4().hex}.auth"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        password = secrets.decrypt(row.password_enc) if row.password_enc else ""
        with os.fdopen(fd, "w") as f:
            f.write(f"username={row.username}\npassword={password}\n")
            if row.domain:
                f.write(f"domain={row.domain}\n")
        yield str(path)
    finally:
        path.unlink(missing_ok=True)


SMB_LS_RE = re.compile(r"^  (?P<name>.+?)\s+(?P<attr>[A-Z]*)\s+(?P<size>\d+)\s+\w{3} \w{3} +\d+ \d\d:\d\d:\d\d \d{4}$")
SMB_FREE_RE = re.compile(r"(\d+) blocks of size (\d+)\. (\d+) blocks available")


def _smb_listing(row, auth: str | None) -> tuple[list[str], int | None]:
    output = _smb(row, auth, "ls")
    names = []
    for line in output.splitlines():
        entry = SMB_LS_RE.match(line)
        if entry and "D" not in entry.group("attr") and not entry.group("name").startswith("."):
            names.append(entry.group("name"))
    free = SMB_FREE_RE.search(output)
    return sorted(names), int(free.group(3)) * int(free.group(2)) if free else None


def _smb_make_folder(row, auth: str | None) -> None:
    parts = row.folder.split("/")
    for depth in range(1, len(parts) + 1):
        _smb(row, auth, f"mkdir {'/'.join(parts[:depth])}", in_folder=False,
             ignore=("NT_STATUS_OBJECT_NAME_COLLISION",))


def _upload_timeout(src: Path) -> float:
    return TEST_TIMEOUT_S + src.stat().st_size / UPLOAD_MIN_RATE


def _smb_upload(row, auth: str | None, src: Path, remote_name: str) -> None:
    part = f".{remote_name}.part"
    try:
        _smb(row, auth, f"put - {part}", stdin=src, timeout=_upload_timeout(src))
    except ShareError as exc:
        if exc.code != "folder_missing":
            raise
        _smb_make_folder(row, auth)
        _smb(row, auth, f"put - {part}", stdin=src, timeout=_upload_timeout(src))
    try:
        try:
            _smb(row, auth, f"rename {part} {remote_name}")
        except ShareError as exc:
            if exc.code != "NT_STATUS_OBJECT_NAME_COLLISION":
                raise
            _smb(row, auth, f"rm {remote_name}")
            _smb(row, auth, f"rename {part} {remote_name}")
    except ShareError:
        with contextlib.suppress(ShareError):
            _smb(row, auth, f"rm {part}")
        raise


# -- NFS: libnfs in a child process ----------------------------------------------------------------------------

def _nfs_reach(row) -> None:
    """Connect once to the NFS port (the portmapper for v3) to say plainly why a server cannot be used:
    libnfs 4.0 reports a refused connection only as "nfs_service failed"."""
    host, port = split_server(row.server)
    target = PORTMAPPER_PORT if row.version == "3" else port or NFS_DEFAULT_PORT   # v3 asks the portmapper
    try:
        socket.create_connection((host, target), timeout=10).close()
    except OSError as exc:
        raise ShareError(explain(f"{host} port {target}: {exc}"), "unreachable") from None


def _nfs(row, op: str, *args: str, timeout: float = TEST_TIMEOUT_S) -> dict:
    """Run one libnfs operation (see _nfs_child) on the share's export; its JSON answer."""
    argv = [sys.executable, "-m", "storage.shares", "nfs", op, nfs_url(row), *args]
    rc, output = _run(argv, timeout=timeout, extra_env={"PYTHONPATH": str(Path(__file__).resolve().parents[1])})
    try:
        answer = json.loads(output.strip().splitlines()[-1])
    except (ValueError, IndexError):
        raise ShareError(f"the NFS helper failed: {output.strip()[-300:] or f'status {rc}'}") from None
    if answer.get("ok"):
        return answer
    step, error = answer.get("step", ""), answer.get("error", "")
    if step == "folder" and answer.get("errno") == -2:
        raise ShareError(f"the folder {row.folder} does not exist in the export ({error})", "folder_missing")
    if step == "unlink" and answer.get("errno") == -2:
        raise ShareError(f"the file does not exist in the folder ({error})", "not_found")
    if step == "mount" and answer.get("errno") == -2:
        raise ShareError(f"the export {row.share} does not exist on the server ({error})", "export_missing")
    raise ShareError(explain(error), answer.get("code", ""))


def _nfs_folder(row, name: str = "") -> str:
    return "/" + "/".join(p for p in (row.folder, name) if p)


def _nfs_upload(row, src: Path, remote_name: str) -> None:
    _nfs_reach(row)
    part = f".{remote_name}.part"
    _nfs(row, "prepare", _nfs_folder(row), _nfs_folder(row, part))
    try:
        written = _nfs(row, "write", str(src), _nfs_folder(row, part), timeout=_upload_timeout(src))
        if written.get("use_nfs_cp"):
            rc, output = _run(["nfs-cp", str(src), nfs_url(row, _nfs_folder(row, part))],
                              timeout=_upload_timeout(src))
            if rc != 0:
                raise ShareError(explain(_status_line(output) or f"nfs-cp exited with status {rc}"))
    except ShareError:
        with contextlib.suppress(ShareError):
            _nfs(row, "unlink", _nfs_folder(row, part))
        raise
    try:
        _nfs(row, "rename", _nfs_folder(row, part), _nfs_folder(row, remote_name))
    except ShareError:
        with contextlib.suppress(ShareError):
            _nfs(row, "unlink", _nfs_folder(row, part))
        raise


def _nfs_child(argv: list[str]) -> dict:
    """In the child: `OP URL ARGS...` with libnfs through ctypes. OPs: ls FOLDER (regular files, no dot files,
    and free bytes), prepare FOLDER STALE (make the folder's levels, remove a stale file), write LOCAL PATH,
    rename A B, unlink PATH. Paths are relative to the export (URL path).

    write: libnfs 4.0 (libnfs.so.13, Debian 12) cannot encode an NFSv4 WRITE above about 4 KiB ("ZDR error:
    Failed to encode COMPOUND4args": it learns no maximum write size from a v4 server, so it never splits),
    which makes nfs-cp fail on any real file. With that library the child writes in 3 KiB requests itself
    (nfs_pwrite's 4.0 signature); with another libnfs it answers use_nfs_cp and the parent runs nfs-cp."""
    import ctypes
    import ctypes.util

    op, url, *args = argv
    name = ctypes.util.find_library("nfs")
    if name is None:
        return {"ok": False, "step": "load", "error": "libnfs is not installed on this system (not installed)"}
    lib = ctypes.CDLL(name)
    ptr, text = ctypes.c_void_p, ctypes.c_char_p

    class Url(ctypes.Structure):
        _fields_ = [("server", text), ("path", text), ("file", text)]

    class Dirent(ctypes.Structure):     # the leading fields of struct nfsdirent (libnfs 4 and later)
        _fields_ = [("next", ptr), ("name", text), ("inode", ctypes.c_uint64), ("type", ctypes.c_uint32),
                    ("mode", ctypes.c_uint32), ("size", ctypes.c_uint64)]

    class StatVfs(ctypes.Structure):    # struct statvfs (glibc, 64-bit)
        _fields_ = [(f, ctypes.c_ulong) for f in ("bsize", "frsize", "blocks", "bfree", "bavail", "files", "ffree",
                                                   "favail", "fsid", "flag", "namemax")] + \
                   [("spare", ctypes.c_int * 6)]

    lib.nfs_init_context.restype = ptr
    lib.nfs_get_error.restype, lib.nfs_get_error.argtypes = text, [ptr]
    lib.nfs_set_timeout.argtypes = [ptr, ctypes.c_int]
    lib.nfs_parse_url_dir.restype, lib.nfs_parse_url_dir.argtypes = ctypes.POINTER(Url), [ptr, text]
    lib.nfs_mount.argtypes = [ptr, text, text]
    lib.nfs_mkdir.argtypes = lib.nfs_unlink.argtypes = [ptr, text]
    lib.nfs_rename.argtypes = [ptr, text, text]
    lib.nfs_opendir.argtypes = [ptr, text, ctypes.POINTER(ptr)]
    lib.nfs_readdir.restype, lib.nfs_readdir.argtypes = ctypes.POINTER(Dirent), [ptr, ptr]
    lib.nfs_closedir.argtypes = [ptr, ptr]
    lib.nfs_statvfs.argtypes = [ptr, text, ctypes.POINTER(StatVfs)]
    lib.nfs_open2.argtypes = [ptr, text, ctypes.c_int, ctypes.c_int, ctypes.POINTER(ptr)]
    lib.nfs_pwrite.argtypes = [ptr, ptr, ctypes.c_uint64, ctypes.c_uint64, ctypes.c_char_p]
    lib.nfs_fsync.argtypes = lib.nfs_close.argtypes = [ptr, ptr]
    lib.nfs_destroy_url.argtypes = [ctypes.POINTER(Url)]
    lib.nfs_destroy_context.argtypes = [ptr]

    if op == "write" and Path(name).name != "libnfs.so.13":
        return {"ok": True, "use_nfs_cp": True}
    nfs = lib.nfs_init_context()

    def failed(step: str, rc: int) -> dict:
        error = (lib.nfs_get_error(nfs) or b"").decode("utf-8", "replace") or os.strerror(-rc)
        code = re.search(r"(NFS\d?ERR_[A-Z]+|MNT3ERR_[A-Z]+)", error)
        return {"ok": False, "step": step, "errno": rc, "error": error, "code": code.group(1) if code else ""}

    url_parts = lib.nfs_parse_url_dir(nfs, url.encode())
    try:
        lib.nfs_set_timeout(nfs, (TEST_TIMEOUT_S - 5) * 1000)
        if not url_parts:
            return failed("url", -22)
        rc = lib.nfs_mount(nfs, url_parts.contents.server, url_parts.contents.path)
        if rc:
            return failed("mount", rc)
        if op == "ls":
            folder, names = args[0].encode(), []
            handle = ptr()
            rc = lib.nfs_opendir(nfs, folder, ctypes.byref(handle))
            if rc:
                return failed("folder", rc)
            while entry := lib.nfs_readdir(nfs, handle):
                entry_name = entry.contents.name.decode("utf-8", "replace")
                if entry.contents.type == 1 and not entry_name.startswith("."):    # NF3REG / NF4REG
                    names.append(entry_name)
            lib.nfs_closedir(nfs, handle)
            vfs = StatVfs()
            free = vfs.frsize * vfs.bavail if lib.nfs_statvfs(nfs, folder, ctypes.byref(vfs)) == 0 else None
            return {"ok": True, "names": sorted(names), "free_bytes": free}
        if op == "prepare":
            parts = [p for p in args[0].split("/") if p]
            for depth in range(1, len(parts) + 1):
                rc = lib.nfs_mkdir(nfs, ("/" + "/".join(parts[:depth])).encode())
                if rc not in (0, -17):      # EEXIST
                    return failed("folder", rc)
            rc = lib.nfs_unlink(nfs, args[1].encode())
            return {"ok": True} if rc in (0, -2) else failed("unlink", rc)
        if op == "write":
            chunk = 65536 if "version=3" in url else 3072
            handle = ptr()
            rc = lib.nfs_open2(nfs, args[1].encode(), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o640,
                               ctypes.byref(handle))
            if rc:
                return failed("write", rc)
            offset = 0
            try:
                with open(args[0], "rb") as source:
                    while data := source.read(chunk):
                        rc = lib.nfs_pwrite(nfs, handle, offset, len(data), data)
                        if rc != len(data):
                            return failed("write", rc if rc < 0 else -5)
                        offset += rc
                rc = lib.nfs_fsync(nfs, handle)
                if rc:
                    return failed("write", rc)
            finally:
                lib.nfs_close(nfs, handle)
            return {"ok": True, "bytes": offset}
        if op == "rename":
            rc = lib.nfs_rename(nfs, args[0].encode(), args[1].encode())
            return {"ok": True} if rc == 0 else failed("rename", rc)
        if op == "unlink":
            rc = lib.nfs_unlink(nfs, args[0].encode())
            return {"ok": True} if rc == 0 else failed("unlink", rc)
        return {"ok": False, "step": "op", "error": f"unknown operation {op}"}
    finally:
        if url_parts:
            lib.nfs_destroy_url(url_parts)
        lib.nfs_destroy_context(nfs)


# -- the contract the backup schedule writes through ---------------------------------------------------------------

def upload(settings: Settings, name: str, src: Path, remote_name: str) -> None:
    """Copy local file `src` into the share's folder as `remote_name` (the folder is created if needed; a
    cut transfer leaves no file under that name). ShareError says why it failed."""
    row = _row(name)
    _check_remote_name(remote_name)
    src = Path(src)
    if not src.is_file():
        raise ShareError(f"{src} is not a file")
    if row.protocol == "nfs":
        _nfs_upload(row, src, remote_name)
        return
    with _smb_auth(settings, row) as auth:
        _smb_upload(row, auth, src, remote_name)


def _listing(settings: Settings, row) -> tuple[list[str], int | None]:
    if row.protocol == "nfs":
        _nfs_reach(row)
        answer = _nfs(row, "ls", _nfs_folder(row))
        return answer["names"], answer.get("free_bytes")
    with _smb_auth(settings, row) as auth:
        return _smb_listing(row, auth)


def list_files(settings: Settings, name: str) -> list[str]:
    """Names of the files in the share's folder (sorted; no folders, no dot files such as transfers in
    progress). A folder not made yet holds nothing (the first upload makes it)."""
    try:
        return _listing(settings, _row(name))[0]
    except ShareError as exc:
        if exc.code == "folder_missing":
            return []
        raise


def remove_file(settings: Settings, name: str, remote_name: str) -> None:
    """Delete `remote_name` from the share's folder."""
    row = _row(name)
    _check_remote_name(remote_name)
    if row.protocol == "nfs":
        _nfs_reach(row)
        _nfs(row, "unlink", _nfs_folder(row, remote_name))
        return
    with _smb_auth(settings, row) as auth:
        _smb(row, auth, f"rm {remote_name}")


def test(settings: Settings, name: str) -> dict:
    """List the folder, write a probe file, list it back, delete it; the outcome is kept on the share."""
    from storage.models import Share

    row = _row(name)
    result = {"ok": False, "message": "", "entries": None, "free_bytes": None, "location": location(row)}
    probe = f"appliance-share-test-{uuid.uuid4().hex[:12]}.txt"
    step = "could not list the folder"
    try:
        created = False
        try:
            _listing(settings, row)
        except ShareError as exc:
            if exc.code != "folder_missing":
                raise
            created = True
        step = "could not write a file"
        settings.run_dir.mkdir(parents=True, exist_ok=True)
        local = settings.run_dir / probe
        try:
            local.write_text("written by the PBX appliance to test this share; safe to delete\n")
            upload(settings, name, local, probe)
        finally:
            local.unlink(missing_ok=True)
        step = "could not list the probe file written"
        names, free = _listing(settings, row)
        if probe not in names:
            raise ShareError(f"{probe} was written but is not listed")
        step = f"could not delete the probe file {probe}"
        remove_file(settings, name, probe)
        entries = len(names) - 1
        message = f"wrote, listed and deleted a probe file; {entries} files in the folder"
        if created:
            message += f" (the folder {row.folder} was created)"
        if free is not None:
            message += f"; {free} bytes free"
        result.update(ok=True, entries=entries, free_bytes=free, message=message)
    except ShareError as exc:
        result["message"] = f"{step}: {exc.message}"
    Share.update(last_test_at=dt.datetime.utcnow(), last_test_ok=result["ok"],
                 last_test_message=result["message"][:512]).where(Share.id == row.id).execute()
    return result


if __name__ == "__main__":
    if len(sys.argv) < 4 or sys.argv[1] != "nfs":
        sys.exit("usage: python -m storage.shares nfs OP URL [ARGS...]")
    print(json.dumps(_nfs_child(sys.argv[2:])))
