"""Real file servers for share tests, each on a free loopback port with every file under the test's folder:
Samba's smbd (SMB) and NFS-Ganesha (NFSv4, userspace, VFS backend). Nothing under /etc or the host's
services is touched; stop() ends the process the test started (by its own Popen handle).
"""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path

from tests.support.ports import free_port

SMB_USER = "nobody"          # an existing Unix account (smbpasswd needs one); files are written as root
SMB_PASSWORD = "Share-Test-Pw-7"


def _wait_listening(port: int, proc: subprocess.Popen, log: Path, what: str, limit_s: float = 30.0) -> None:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}: {log.read_text(errors='replace')[-2000:]}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{what} did not listen on {port}: {log.read_text(errors='replace')[-2000:]}")


class _Server:
    """Each server runs in its own session: smbd signals its whole process group when it stops, which must
    never be the test run's."""

    proc: subprocess.Popen | None = None

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.proc = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


class SambaServer(_Server):
    """smbd in the foreground with its own smb.conf; share "backups" (read-write for SMB_USER) on
    `root/backups`, share "readonly" on `root/readonly`."""

    def __init__(self, root: Path):
        self.root = root
        self.port = 0
        self.backups = root / "backups"
        self.readonly = root / "readonly"

    def start(self) -> SambaServer:
        r = self.root
        for sub in ("private", "lock", "state", "cache", "pid", "log", "ncalrpc", "backups", "readonly"):
            (r / sub).mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.conf = r / "smb.conf"
        self.conf.write_text(f"""[global]
  server role = standalone server
  smb ports = {self.port}
  interfaces = 127.0.0.1
  bind interfaces only = yes
  private dir = {r}/private
  lock directory = {r}/lock
  state directory = {r}/state
  cache directory = {r}/cache
  pid directory = {r}/pid
  ncalrpc dir = {r}/ncalrpc
  log file = {r}/log/smbd.log
  passdb backend = tdbsam:{r}/private/passdb.tdb
  disable netbios = yes
  load printers = no
  printing = bsd
  printcap name = /dev/null
  disable spoolss = yes
  map to guest = never
  server min protocol = SMB2_02
[backups]
  path = {self.backups}
  read only = no
  valid users = {SMB_USER}
  force user = root
[readonly]
  path = {self.readonly}
  read only = yes
  valid users = {SMB_USER}
  force user = root
""")
        subprocess.run(["smbpasswd", "-c", str(self.conf), "-a", "-s", SMB_USER], check=True, capture_output=True,
                       input=f"{SMB_PASSWORD}\n{SMB_PASSWORD}\n".encode(), timeout=30)
        self.log = r / "smbd.out"
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen(["smbd", "--foreground", "--no-process-group", "--debug-stdout",
                                          "-s", str(self.conf)], stdout=out, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, start_new_session=True)
        _wait_listening(self.port, self.proc, self.log, "smbd")
        return self

    @property
    def server(self) -> str:
        return f"127.0.0.1:{self.port}"


class GaneshaServer(_Server):
    """ganesha.nfsd in the foreground, NFSv4 only, TCP on a free loopback port (no rpcbind), exporting
    `root/export` as pseudo path /export, read-write, no root squash."""

    def __init__(self, root: Path):
        self.root = root
        self.port = 0
        self.export = root / "export"

    def start(self) -> GaneshaServer:
        r = self.root
        (r / "recovery").mkdir(parents=True, exist_ok=True)
        self.export.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        conf = r / "ganesha.conf"
        conf.write_text(f"""NFS_CORE_PARAM {{
  NFS_Port = {self.port};
  Bind_addr = 127.0.0.1;
  Protocols = 4;
  Enable_NLM = false;
  Enable_RQUOTA = false;
  Enable_UDP = false;
}}
NFSv4 {{
  Graceless = true;
  RecoveryBackend = fs;
  RecoveryRoot = {r}/recovery;
}}
EXPORT {{
  Export_Id = 1;
  Path = {self.export};
  Pseudo = /export;
  Access_Type = RW;
  Squash = No_Root_Squash;
  SecType = sys;
  Protocols = 4;
  Transports = TCP;
  FSAL {{ Name = VFS; }}
}}
LOG {{ Default_Log_Level = EVENT; }}
""")
        self.log = r / "ganesha.log"
        with open(r / "ganesha.out", "wb") as out:
            self.proc = subprocess.Popen(["ganesha.nfsd", "-F", "-f", str(conf), "-L", str(self.log),
                                          "-p", str(r / "ganesha.pid")], stdout=out, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, start_new_session=True)
        _wait_listening(self.port, self.proc, self.log, "ganesha.nfsd")
        return self

    @property
    def server(self) -> str:
        return f"127.0.0.1:{self.port}"
