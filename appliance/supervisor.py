"""`appliance run`: start every part of the stack and keep it running.

Children: Kamailio (the SIP edge), the call-core pool (which forks its own
workers), and the web server. Each runs in its own process group so that
stopping it also stops what it forked; a child that dies is restarted with
exponential backoff; SIGTERM or Ctrl-C stops everything, leaving no orphans.
On the image, systemd units in rootfs/ do this job instead.

Kamailio's config is rendered from the store before each of its starts. SIGHUP
to the supervisor (pid in run/supervisor.pid; `request_edge_restart()`) means
"re-render kamailio.cfg from the store and restart Kamailio": the web process
asks for it when a saved setting cannot be applied to the running Kamailio.
SIGUSR1 (`request_full_restart()`) means "restart every child, the secret key
read again": a restored backup (appliance.backup) replaced the configuration.
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from appliance.settings import Settings

log = logging.getLogger(__name__)

BACKOFF_FIRST_S = 1.0
BACKOFF_MAX_S = 30.0
# A child that stayed up this long is healthy again: its backoff resets.
HEALTHY_AFTER_S = 60.0
STOP_GRACE_S = 5.0
# How often the backup schedule is looked at (appliance.backup.schedule).
BACKUP_CHECK_S = 60.0
PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """In the child before exec: get SIGTERM if the supervisor dies, and own a process group."""
    os.setpgid(0, 0)
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except OSError:
        pass  # not Linux: the process group still lets us stop it


@dataclass
class Child:
    name: str
    argv: Callable[[], list[str]]
    log_path: str
    process: subprocess.Popen | None = None
    started_at: float = 0.0
    backoff_s: float = BACKOFF_FIRST_S
    restart_at: float | None = None
    restarts: int = field(default=0)
    # Runs before every start but the first (Kamailio: render its config from the store again).
    before_restart: Callable[[], None] | None = None

    def start(self) -> None:
        log_file = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            self.argv(), stdin=subprocess.DEVNULL, stdout=log_file, stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent, close_fds=True,
        )
        log_file.close()
        self.started_at = time.monotonic()
        self.restart_at = None

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        _signal_group(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(STOP_GRACE_S)
        except subprocess.TimeoutExpired:
            log.warning("%s did not stop in %.0f s: killing it", self.name, STOP_GRACE_S)
            _signal_group(self.process.pid, signal.SIGKILL)
            self.process.wait()
        # Whatever it forked and left behind in its group goes too, and is gone before a successor starts
        # (a Kamailio child still holding the SIP port would make the new Kamailio fail to bind).
        _signal_group(self.process.pid, signal.SIGKILL)
        _wait_group_gone(self.process.pid, STOP_GRACE_S)


# On the image (Settings.lab false) systemd runs the services (rootfs/): restart requests go to it.
EDGE_UNITS = ("appliance-kamailio.service",)  # its ExecStartPre renders kamailio.cfg from the store again
ALL_UNITS = ("appliance-kamailio.service", "appliance-callcore.service", "appliance-web.service")


def _systemd_restart(units: tuple[str, ...]) -> bool:
    try:
        proc = subprocess.run(["systemctl", "--no-block", "restart", *units], capture_output=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return proc.returncode == 0


def pid_path(settings: Settings):
    return settings.run_dir / "supervisor.pid"


def request_edge_restart(settings: Settings) -> bool:
    """Ask the running supervisor to re-render kamailio.cfg and restart Kamailio; False if none runs."""
    if not settings.lab:
        return _systemd_restart(EDGE_UNITS)
    try:
        pid = int(pid_path(settings).read_text().strip())
        cmdline = open(f"/proc/{pid}/cmdline", "rb").read().decode(errors="replace")
    except (OSError, ValueError):
        return False
    if "appliance" not in cmdline:
        return False  # a stale pid file naming some other process
    try:
        os.kill(pid, signal.SIGHUP)
    except ProcessLookupError:
        return False
    return True


def request_full_restart(settings: Settings) -> bool:
    """Ask the running supervisor to restart every child (key and config read again); False if none runs."""
    if not settings.lab:
        return _systemd_restart(ALL_UNITS)
    try:
        pid = int(pid_path(settings).read_text().strip())
        cmdline = open(f"/proc/{pid}/cmdline", "rb").read().decode(errors="replace")
    except (OSError, ValueError):
        return False
    if "appliance" not in cmdline:
        return False
    try:
        os.kill(pid, signal.SIGUSR1)
    except ProcessLookupError:
        return False
    return True


def _signal_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        pass


def _wait_group_gone(pgid: int, timeout: float) -> None:
    """Until no live process is left in the group (zombies waiting for their reaper hold nothing)."""
    import psutil

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        alive = False
        for proc in psutil.process_iter(["status"]):
            try:
                if os.getpgid(proc.pid) == pgid and proc.info["status"] != psutil.STATUS_ZOMBIE:
                    alive = True
                    break
            except (OSError, psutil.Error):
                continue
        if not alive:
            return
        time.sleep(0.05)
    log.warning("processes of group %d still alive %.0f s after SIGKILL", pgid, timeout)


class Supervisor:
    def __init__(self, settings: Settings, lab_lan: str | None = None):
        self.settings = settings
        # --lab-lan: LAN1's "address/prefix"; every child runs inside its namespace (netconfig.lablan).
        self.lab_lan = lab_lan
        self.children: list[Child] = []
        self._stopping = False
        self._edge_restart_requested = False
        self._full_restart_requested = False
        self._backup_checked_at = 0.0
        self._backup_job: subprocess.Popen | None = None

    # -- startup --------------------------------------------------------
    def prepare(self) -> str | None:
        """Store, secrets, admin account and generated configs. Returns a new admin password."""
        from appliance.auth.admin import ensure_admin
        from appliance.sipedge.config import render
        from appliance.store import open_store, secrets

        self.settings.ensure_dirs()
        open_store(self.settings)
        secrets.load_key(self.settings.secret_key_path)
        password = ensure_admin()
        self._close_stale_cdrs()
        render(self.settings)
        return password

    def _close_stale_cdrs(self) -> None:
        """Calls that were up when the appliance last stopped did not survive it."""
        import datetime as dt

        from appliance.cdr import Cdr, Disposition

        Cdr.update(end=dt.datetime.utcnow(), disposition=Disposition.FAILED,
                   hangup_cause="appliance stopped").where(Cdr.end.is_null()).execute()

    def build_children(self) -> None:
        from appliance.sipedge.process import kamailio_command

        s = self.settings
        serve = [sys.executable, "-m", "appliance.cli", "serve"]
        self.children = [
            Child("kamailio", lambda: kamailio_command(s), str(s.log_dir / "kamailio.log"),
                  before_restart=self._render_edge),
            Child("callcore", lambda: serve + ["callcore", "--settings-json", s.to_json()],
                  str(s.log_dir / "callcore.log")),
            Child("web", lambda: serve + ["web", "--settings-json", s.to_json()], str(s.log_dir / "web.log")),
        ]
        if self.lab_lan:
            from netconfig.lablan import chrony_command

            # LAN1's time server (DHCP names the appliance as NTP server), in the namespace like the others.
            self.children.append(Child("chronyd", lambda: chrony_command(s, self.lab_lan),
                                       str(s.log_dir / "chronyd.log")))

    def run(self) -> int:
        try:
            password = self.prepare()
        except Exception as exc:  # shown to the person at the terminal, then exit
            log.exception("cannot prepare the appliance")
            print(f"appliance: cannot start: {exc}", file=sys.stderr)
            return 1
        self.build_children()
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)
        signal.signal(signal.SIGHUP, self._on_restart_edge)
        signal.signal(signal.SIGUSR1, self._on_restart_all)
        from netconfig import lablan

        try:
            prefix = lablan.start(self.settings.run_dir, self.lab_lan)
        except Exception as exc:
            print(f"appliance: cannot set up the lab LAN: {exc}", file=sys.stderr)
            return 1
        for child in self.children:
            child.argv = (lambda argv: lambda: prefix + argv())(child.argv)
        for child in self.children:
            child.start()
        pid_path(self.settings).write_text(f"{os.getpid()}\n")
        self._print_banner(password)
        try:
            self._watch()
        finally:
            pid_path(self.settings).unlink(missing_ok=True)
            self.stop_all()
            lablan.stop(self.settings.run_dir, self.lab_lan)
        print("appliance stopped", flush=True)
        return 0

    def _print_banner(self, password: str | None) -> None:
        s = self.settings
        lines = [
            "appliance running (lab mode)",
            f"web UI: http://{s.bind}:{s.http_port}/" + (f" and https://{s.bind}:{s.https_port}/" if s.https_port else ""),
            f"SIP: {s.bind}:{s.sip_port} (UDP and TCP)" + (f", TLS on {s.sip_tls_port}" if s.sip_tls_port else ""),
            f"data: {s.data_dir}",
            f"logs: {s.log_dir}",
        ]
        if self.lab_lan:
            lines.append(f"LAN1 (lab): {self.lab_lan} in namespace appliance-lan1; a device on LAN1: "
                         "ip netns exec lan1-client <command>")
        if password:
            lines.append(f"admin password: {password}")
            lines.append("(one-time: log in as admin with it and choose your own; it is not shown again)")
        else:
            lines.append("admin: use your password (forgot it? appliance reset-admin-password)")
        print("\n".join(lines), flush=True)

    # -- supervision ------------------------------------------------------
    def _on_signal(self, signum, frame) -> None:
        self._stopping = True

    def _on_restart_edge(self, signum, frame) -> None:
        self._edge_restart_requested = True

    def _on_restart_all(self, signum, frame) -> None:
        self._full_restart_requested = True

    def _restart_all(self) -> None:
        """SIGUSR1: stop every child, read the secret key again, render Kamailio's config, start them all."""
        from appliance.store import secrets

        self._full_restart_requested = False
        log.info("restarting every service (SIGUSR1: configuration replaced)")
        print("restarting every service: the configuration was replaced", flush=True)
        self.stop_all()
        try:
            secrets.load_key(self.settings.secret_key_path)
        except Exception as exc:
            log.error("secret key not read again: %s", exc)
        self._render_edge()
        for child in self.children:
            child.backoff_s = BACKOFF_FIRST_S
            child.start()

    def _render_edge(self) -> None:
        """Render kamailio.cfg from the store; on failure Kamailio starts with the last good one."""
        from appliance.sipedge.config import render

        try:
            render(self.settings)
        except Exception as exc:
            log.error("kamailio.cfg not rendered again, keeping the previous one: %s", exc)

    def _restart_edge(self) -> None:
        """SIGHUP: new config from the store, then a fresh Kamailio (requests arrived meanwhile collapse)."""
        self._edge_restart_requested = False
        kamailio = next(c for c in self.children if c.name == "kamailio")
        log.info("re-rendering kamailio.cfg and restarting Kamailio (SIGHUP)")
        print("restarting kamailio with its configuration rendered again", flush=True)
        kamailio.stop()
        self._render_edge()
        kamailio.start()

    def _watch(self) -> None:
        while not self._stopping:
            if self._full_restart_requested:
                self._restart_all()
            self._scheduled_backup(time.monotonic())
            if self._edge_restart_requested:
                self._restart_edge()
            now = time.monotonic()
            for child in self.children:
                self._tend(child, now)
            time.sleep(0.2)

    def _scheduled_backup(self, now: float) -> None:
        """Once a minute: start `appliance backup run-scheduled` when the backup schedule is due."""
        if now - self._backup_checked_at < BACKUP_CHECK_S:
            return
        self._backup_checked_at = now
        if self._backup_job is not None and self._backup_job.poll() is None:
            return  # the previous one still runs
        try:
            from appliance.backup import schedule

            if not schedule.due(schedule.get_schedule()):
                return
        except Exception as exc:  # noqa: BLE001 -- never stops the supervision
            log.warning("backup schedule not checked: %s", exc)
            return
        log.info("scheduled backup due: starting it")
        with open(self.settings.log_dir / "backup.log", "ab") as log_file:
            self._backup_job = subprocess.Popen(
                [sys.executable, "-m", "appliance.cli", "backup", "run-scheduled", "--data-dir",
                 str(self.settings.data_dir)], stdin=subprocess.DEVNULL, stdout=log_file,
                stderr=subprocess.STDOUT, preexec_fn=_die_with_parent, close_fds=True)

    def _tend(self, child: Child, now: float) -> None:
        if child.restart_at is not None:
            if now >= child.restart_at:
                log.info("restarting %s (restart %d)", child.name, child.restarts)
                if child.before_restart is not None:
                    child.before_restart()
                child.start()
            return
        code = child.process.poll() if child.process else None
        if code is None:
            if now - child.started_at > HEALTHY_AFTER_S:
                child.backoff_s = BACKOFF_FIRST_S
            return
        _signal_group(child.process.pid, signal.SIGKILL)
        child.restarts += 1
        child.restart_at = now + child.backoff_s
        print(f"{child.name} exited with code {code}; restarting in {child.backoff_s:.0f} s "
              f"(see {child.log_path})", flush=True)
        child.backoff_s = min(child.backoff_s * 2, BACKOFF_MAX_S)

    def stop_all(self) -> None:
        for child in reversed(self.children):
            child.stop()
