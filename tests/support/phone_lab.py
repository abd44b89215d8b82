"""A call-core pool on free loopback ports, for test phones to call straight into.

`CallCoreLab` starts `appliance serve callcore` (the pool, as the supervisor
starts it) with a fresh data directory, and lets tests read its state:
the workers' status file and the CDR table. Without Kamailio, a test phone
can stand where Kamailio would be (`sip_port=` that phone's port): the
workers send the legs they originate to it.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from appliance.settings import Settings
from tests.support.ports import free_port_block

ROOT = Path(__file__).resolve().parents[2]


def sip_password(extension: str) -> str:
    """A strong SIP password for a test extension (never containing the extension)."""
    return "Lab-Secret-" + "".join("abcdefghij"[int(c)] for c in extension) + "-9X"


class CallCoreLab:
    def __init__(self, data_dir: Path, spare_workers: int = 2, workers_max: int = 6, sip_port: int | None = None):
        base = free_port_block(workers_max + 1)
        rtp = free_port_block(workers_max * 40)
        self.settings = Settings(
            data_dir=data_dir, sip_port=sip_port or base + workers_max, worker_sip_port_base=base,
            worker_count_max=workers_max, rtp_port_base=rtp, spare_workers=spare_workers,
        )
        self.process: subprocess.Popen | None = None
        self._store_open = False

    # -- store -----------------------------------------------------------------
    def open_store(self) -> None:
        from appliance.store import open_store, secrets

        open_store(self.settings)
        secrets.load_key(self.settings.secret_key_path)
        self._store_open = True

    def add_user(self, extension: str, first_name: str, last_name: str, language: str = "en") -> str:
        """Create a phone user; return its SIP password."""
        from appliance.users import create_user

        password = sip_password(extension)
        create_user({"extension": extension, "first_name": first_name, "last_name": last_name,
                     "language": language, "sip_password": password})
        return password

    def set_system(self, **values) -> None:
        from appliance.system.models import SystemSettings

        SystemSettings.update(**values).where(SystemSettings.id == 1).execute()

    def cdrs(self) -> list[dict]:
        db = sqlite3.connect(str(self.settings.db_path))
        db.row_factory = sqlite3.Row
        try:
            return [dict(r) for r in db.execute("SELECT * FROM cdr ORDER BY id")]
        finally:
            db.close()

    # -- pool ------------------------------------------------------------------
    def start(self, timeout: float = 30, idle_grace_s: float | None = None) -> CallCoreLab:
        """Start the pool; `idle_grace_s` shortens how long extra idle workers are kept."""
        if not self._store_open:
            self.open_store()
        self.settings.ensure_dirs()
        log = open(self.settings.log_dir / "callcore.log", "ab")
        argv = ["serve", "callcore", "--settings-json", self.settings.to_json()]
        if idle_grace_s is None:
            command = [sys.executable, "-m", "appliance.cli", *argv]
        else:
            command = [sys.executable, "-c", "import sys, appliance.callcore.pool as p, appliance.cli as c; "
                       f"p.IDLE_GRACE_S = {float(idle_grace_s)}; sys.exit(c.main(sys.argv[1:]))", *argv]
        self.process = subprocess.Popen(
            command,
            cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=dict(os.environ, PYTHONPATH=str(ROOT)),
        )
        log.close()
        self.wait(lambda st: sum(w["ready"] and w["legs"] == 0 for w in st["workers"]) >= self.settings.spare_workers,
                  timeout, "spare workers ready")
        return self

    def status(self) -> dict:
        path = self.settings.run_dir / "callcore.json"
        try:
            return json.loads(path.read_text())
        except (OSError, ValueError):
            return {"workers": []}

    def wait(self, predicate, timeout: float, what: str) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            st = self.status()
            if predicate(st):
                return st
            if self.process is not None and self.process.poll() is not None:
                raise AssertionError(f"call-core pool exited ({self.process.returncode}):\n{self.log()[-3000:]}")
            if time.monotonic() > deadline:
                raise AssertionError(f"no {what} within {timeout}s; status {st}\n{self.log()[-3000:]}")
            time.sleep(0.1)

    def wait_cdr(self, predicate, timeout: float = 10, what: str = "CDR") -> dict:
        deadline = time.monotonic() + timeout
        while True:
            rows = [r for r in self.cdrs() if predicate(r)]
            if rows:
                return rows[-1]
            if time.monotonic() > deadline:
                raise AssertionError(f"no {what} within {timeout}s; CDRs {self.cdrs()}")
            time.sleep(0.1)

    def worker_uri(self, number: str, index: int = 0) -> str:
        return f"sip:{number}@127.0.0.1:{self.settings.worker_sip_port(index)}"

    def worker_pids(self) -> list[int]:
        return [w["pid"] for w in self.status()["workers"]]

    def log(self) -> str:
        path = self.settings.log_dir / "callcore.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> int | None:
        code = None
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                code = self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                code = self.process.wait()
        elif self.process is not None:
            code = self.process.returncode
        if self._store_open:
            from appliance import changes
            from appliance.store import close_store

            close_store()
            changes.unsubscribe_all()
            self._store_open = False
        return code
