"""The whole appliance started as a user starts it (`appliance run`), on free loopback ports.

`Stack` runs the real supervisor in a subprocess with a fresh data directory,
reads the one-time admin password it prints, and waits until the web UI and
Kamailio answer. `StackApi` is a small JSON API client for tests.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import psutil

from appliance.settings import Settings
from tests.support.ports import free_port_block

ROOT = Path(__file__).resolve().parents[2]
WORKERS_MAX = 16
NEW_ADMIN_PASSWORD = "Lab-Admin-Passw0rd"


# System prompts, beep and default music, generated once per test session and copied into each
# stack's data directory: the same files the image ships (`appliance prompts`), seconds saved per stack.
_GENERATED_SOUNDS: list[Path] = []


def seed_generated_sounds(settings: Settings) -> None:
    import shutil
    import tempfile

    from appliance.sounds.library import build_system_prompts

    if not _GENERATED_SOUNDS:
        cache = Settings(data_dir=Path(tempfile.mkdtemp(prefix="appliance-sounds-")))
        cache.ensure_dirs()
        build_system_prompts(cache)
        _GENERATED_SOUNDS.append(cache.sounds_dir)
    shutil.copytree(_GENERATED_SOUNDS[0], settings.sounds_dir, dirs_exist_ok=True)


class Stack:
    def __init__(self, data_dir: Path, spare_workers: int = 2, workers_max: int = WORKERS_MAX,
                 extra_args: tuple[str, ...] = ()):
        base = free_port_block(4 + workers_max)
        rtp = free_port_block(workers_max * 40)
        self.settings = Settings(
            data_dir=data_dir, http_port=base, sip_port=base + 1, kamailio_rpc_port=base + 2,
            sip_tls_port=base + 3, worker_sip_port_base=base + 4, worker_count_max=workers_max, rtp_port_base=rtp,
            spare_workers=spare_workers, clock_file=str(data_dir / "clock"),
        )
        self.extra_args = extra_args  # more `appliance run` flags
        self.process: subprocess.Popen | None = None
        self.admin_password: str | None = None
        self.output: list[str] = []
        self._reader: threading.Thread | None = None

    @property
    def web_url(self) -> str:
        return f"http://127.0.0.1:{self.settings.http_port}"

    def set_clock(self, when: str | None) -> None:
        """The dialplan's "now" (ISO date-time with offset, e.g. "2026-12-25T10:00:00+01:00"); None = real time."""
        path = Path(self.settings.clock_file)
        if when is None:
            path.unlink(missing_ok=True)
        else:
            path.write_text(when)

    def start(self, timeout: float = 60) -> Stack:
        s = self.settings
        argv = [
            sys.executable, "-m", "appliance.cli", "run", "--data-dir", str(s.data_dir),
            "--http-port", str(s.http_port), "--sip-port", str(s.sip_port), "--sip-tls-port", str(s.sip_tls_port),
            "--kamailio-rpc-port", str(s.kamailio_rpc_port),
            "--worker-sip-port-base", str(s.worker_sip_port_base),
            "--worker-count-max", str(s.worker_count_max),
            "--rtp-port-base", str(s.rtp_port_base), "--spare-workers", str(s.spare_workers),
            "--clock-file", s.clock_file, *self.extra_args,
        ]
        seed_generated_sounds(s)
        self.process = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                        text=True, bufsize=1)
        deadline = time.monotonic() + timeout
        # The banner ends with the admin line: a one-time password on first start only.
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if not line:
                self.stop()
                raise RuntimeError("appliance run stopped before it was ready:\n" + "".join(self.output))
            self.output.append(line)
            match = re.match(r"admin password: (\S+)", line)
            if match:
                self.admin_password = match.group(1)
            if line.startswith("admin"):
                break
        # Keep reading what the supervisor prints: a full pipe would block it mid-restart.
        self._reader = threading.Thread(target=self._collect_output, name="stack-output", daemon=True)
        self._reader.start()
        self._wait_ready(deadline)
        # Ready for calls: Kamailio knows the warm workers (a first call must not race the pool's start).
        self.wait_workers_dispatched(max(1, s.spare_workers), timeout=max(5.0, deadline - time.monotonic()))
        return self

    def _wait_ready(self, deadline: float) -> None:
        from appliance.errors import SipEdgeError
        from appliance.sipedge import rpc

        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(self.web_url + "/api/v1/openapi.json", timeout=2).read()
                rpc.call(self.settings, "core.version")
                return
            except (OSError, SipEdgeError):
                time.sleep(0.2)
        raise RuntimeError("the stack did not become ready; logs in " + str(self.settings.log_dir))

    def stop(self) -> int | None:
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self._reader is not None:
            self._reader.join(5)
        elif self.process.stdout:
            self.output.append(self.process.stdout.read())
        return self.process.returncode

    def _collect_output(self) -> None:
        for line in self.process.stdout:
            self.output.append(line)

    def kamailio_pid(self) -> int | None:
        """PID of the running Kamailio main process (a dead one waiting to be reaped does not count)."""
        for proc in psutil.Process(self.process.pid).children():
            try:
                if proc.status() != psutil.STATUS_ZOMBIE and proc.cmdline()[0].endswith("kamailio"):
                    return proc.pid
            except (psutil.Error, IndexError):
                continue
        return None

    def set_flood_limit(self, requests_per_2s: int, timeout: float = 20) -> None:
        """Change the flood threshold through the API and wait for the Kamailio it restarts.

        Load tests send everything from 127.0.0.1, which the default threshold calls a flood.
        The restarted registrar starts empty: register after this, not before.
        """
        from appliance.errors import SipEdgeError
        from appliance.sipedge import rpc

        before = self.kamailio_pid()
        status, body = self.admin_api().request("PUT", "/api/v1/settings", {"flood_limit": requests_per_2s})
        if status != 200:
            raise RuntimeError(f"cannot set the flood threshold: {status} {body}")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.kamailio_pid() not in (None, before):
                try:
                    rpc.call(self.settings, "core.version")
                    return
                except SipEdgeError:
                    pass  # not listening yet
            time.sleep(0.2)
        raise RuntimeError("Kamailio did not restart with the new flood threshold")

    def wait_workers_dispatched(self, count: int, timeout: float = 30) -> list[dict]:
        """Until Kamailio's dispatcher has `count` call-core workers it can send calls to."""
        from appliance.sipedge import dispatcher

        deadline = time.monotonic() + timeout
        while True:
            active = [w for w in dispatcher.workers(self.settings) if w["active"] and not w["disabled"]]
            if len(active) >= count:
                return active
            if time.monotonic() > deadline:
                raise AssertionError(f"Kamailio knows {len(active)} workers, wanted {count}")
            time.sleep(0.2)

    def cdrs(self) -> list[dict]:
        """Every CDR row, straight from the store, oldest first."""
        import sqlite3

        db = sqlite3.connect(str(self.settings.db_path), timeout=10)
        db.row_factory = sqlite3.Row
        try:
            return [dict(r) for r in db.execute("SELECT * FROM cdr ORDER BY id")]
        finally:
            db.close()

    def last_cdr_id(self) -> int:
        rows = self.cdrs()
        return rows[-1]["id"] if rows else 0

    def closed_cdrs_after(self, after: int, timeout: float = 10) -> list[dict]:
        """CDR rows newer than id `after`, once all are closed and no other shows up for a moment."""
        deadline = time.monotonic() + timeout
        while True:
            rows = [r for r in self.cdrs() if r["id"] > after]
            if rows and all(r["end"] is not None for r in rows):
                time.sleep(0.5)  # a second row for the same call would show up right behind
                if [r for r in self.cdrs() if r["id"] > after] == rows:
                    return rows
            if time.monotonic() > deadline:
                raise AssertionError(f"no closed CDR after id {after}: {self.cdrs()}")
            time.sleep(0.1)

    def registered_phone(self, extension: str, password: str, name: str = "", domain: str | None = None):
        """A test phone registered as `extension` (the caller closes it)."""
        from tests.support.phone import TestPhone

        phone = TestPhone(name or f"phone-{extension}")
        status = phone.register(extension, password, "127.0.0.1", self.settings.sip_port, domain=domain)
        if status != 200:
            phone.close()
            raise AssertionError(f"{extension} could not register: {status}")
        return phone

    def log(self, name: str) -> str:
        path = self.settings.log_dir / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def admin_api(self) -> StackApi:
        """An API client logged in as admin, after the forced first password change."""
        api = StackApi(self.web_url)
        if self.admin_password != NEW_ADMIN_PASSWORD:
            api.request("POST", "/api/v1/session/password", {
                "username": "admin", "current_password": self.admin_password,
                "new_password": NEW_ADMIN_PASSWORD,
            })
            self.admin_password = NEW_ADMIN_PASSWORD
        api.login("admin", NEW_ADMIN_PASSWORD)
        return api


class StackApi:
    def __init__(self, base_url: str):
        self.base_url = base_url
        self.token: str | None = None

    def login(self, username: str, password: str) -> None:
        status, body = self.request("POST", "/api/v1/session", {"username": username, "password": password})
        if status != 200:
            raise RuntimeError(f"login failed: {status} {body}")
        self.token = body["token"]

    def request(self, method: str, path: str, body: dict | None = None) -> tuple[int, object]:
        data = json.dumps(body).encode() if body is not None else None
        return self.send(method, path, data, "application/json")

    def send(self, method: str, path: str, data: bytes | None, content_type: str) -> tuple[int, object]:
        """A request with a raw body (a CSV file, an upload); the answer's JSON decoded."""
        req = urllib.request.Request(self.base_url + path, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", content_type)
        if self.token:
            req.add_header("Authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                raw = resp.read()
                return resp.status, json.loads(raw) if raw else None
        except urllib.error.HTTPError as err:
            raw = err.read()
            try:
                return err.code, json.loads(raw)
            except ValueError:
                return err.code, raw.decode(errors="replace")

    def create_user(self, extension: str, first_name: str, last_name: str, sip_password: str) -> dict:
        status, body = self.request("POST", "/api/v1/users", {
            "extension": extension, "first_name": first_name, "last_name": last_name,
            "sip_password": sip_password,
        })
        if status not in (200, 201):
            raise RuntimeError(f"create user {extension}: {status} {body}")
        return body


def no_orphans_of(pids: list[int]) -> bool:
    """True when none of these processes is alive any more."""
    for pid in pids:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            continue
        return False
    return True
