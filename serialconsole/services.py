"""The appliance's services seen from the console: state, and restart through the supervisor.

In lab mode the supervisor (`appliance run`, pid in run/supervisor.pid) owns
three children: kamailio, callcore (the worker pool) and web. It has two
control levers, and the console uses nothing else:
- SIGHUP to the supervisor re-renders kamailio.cfg and restarts Kamailio
  (`appliance.supervisor.request_edge_restart`);
- a child that exits is restarted by the supervisor (after 1 s the first
  time), so restarting callcore or web is: SIGTERM to that child's process
  group (it leaves cleanly, its workers with it), then the supervisor starts
  a fresh one.
On the image (Settings.lab false) systemd units do this job (rootfs/: appliance-<name>.service): `status()`
reads them with `systemctl show`, `restart()` runs `systemctl restart`, through the same entry points.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time

import psutil

from appliance.settings import Settings

SERVICES = ("kamailio", "callcore", "web")


def supervisor_process(settings: Settings) -> psutil.Process | None:
    from appliance.supervisor import pid_path

    try:
        pid = int(pid_path(settings).read_text().strip())
        proc = psutil.Process(pid)
        if "appliance" not in " ".join(proc.cmdline()):
            return None
        return proc
    except (OSError, ValueError, psutil.Error):
        return None


def _which(proc: psutil.Process) -> str | None:
    try:
        argv = proc.cmdline()
    except psutil.Error:
        return None
    if argv and os.path.basename(argv[0]) == "kamailio":
        return "kamailio"
    if "serve" in argv:
        index = argv.index("serve")
        if index + 1 < len(argv) and argv[index + 1] in ("callcore", "web"):
            return argv[index + 1]
    return None


def children(settings: Settings) -> dict[str, psutil.Process]:
    sup = supervisor_process(settings)
    found: dict[str, psutil.Process] = {}
    if sup is None:
        return found
    try:
        kids = sup.children()
    except psutil.Error:
        return found
    for proc in kids:
        name = _which(proc)
        if name and name not in found:
            found[name] = proc
    return found


def main_processes(settings: Settings) -> list[psutil.Process]:
    """The appliance's top processes: the supervisor in lab mode, each unit's main process on the image."""
    if settings.lab:
        sup = supervisor_process(settings)
        return [sup] if sup is not None else []
    found = []
    for row in _unit_rows(settings):
        try:
            if row["pid"]:
                found.append(psutil.Process(row["pid"]))
        except psutil.Error:
            pass
    return found


def _tree_rss(proc: psutil.Process) -> int:
    total = 0
    for p in [proc] + _safe_children(proc):
        try:
            total += p.memory_info().rss
        except psutil.Error:
            pass
    return total


def _safe_children(proc: psutil.Process) -> list[psutil.Process]:
    try:
        return proc.children(recursive=True)
    except psutil.Error:
        return []


def unit_of(name: str) -> str:
    return f"appliance-{name}.service"


def _systemctl(*args: str, timeout: float = 30) -> subprocess.CompletedProcess:
    return subprocess.run(["systemctl", *args], capture_output=True, text=True, timeout=timeout)


def _unit_rows(settings: Settings) -> list[dict]:
    """The image's services as systemd sees them."""
    rows = []
    for name in SERVICES:
        row = {"name": name, "state": "unknown", "pid": None, "uptime": None, "rss": None, "detail": ""}
        try:
            shown = _systemctl("show", "--property=ActiveState,SubState,MainPID", unit_of(name), timeout=10)
        except (OSError, subprocess.TimeoutExpired) as exc:
            row["detail"] = f"systemctl: {exc}"
            rows.append(row)
            continue
        props = dict(line.split("=", 1) for line in shown.stdout.splitlines() if "=" in line)
        active = props.get("ActiveState", "")
        row["state"] = "running" if active == "active" else ("stopped" if active in ("inactive", "failed") else
                                                             (active or "unknown"))
        row["detail"] = "" if active == "active" else f"{active} ({props.get('SubState', '')})"
        pid = int(props.get("MainPID", "0") or 0)
        if pid:
            try:
                proc = psutil.Process(pid)
                row.update(pid=pid, uptime=int(time.time() - proc.create_time()), rss=_tree_rss(proc))
            except psutil.Error:
                pass
        if name == "callcore" and row["state"] == "running":
            row["detail"] = _workers_detail(settings)
        rows.append(row)
    return rows


def status(settings: Settings) -> list[dict]:
    """One row per service: name, state, pid, uptime (s), rss (bytes, with its children), detail."""
    if not settings.lab:
        return _unit_rows(settings)
    sup = supervisor_process(settings)
    kids = children(settings)
    rows = []
    now = time.time()
    for name in SERVICES:
        proc = kids.get(name)
        if proc is None:
            rows.append({"name": name, "state": "stopped" if sup else "unknown", "pid": None, "uptime": None,
                         "rss": None, "detail": "" if sup else "supervisor not running"})
            continue
        try:
            row = {"name": name, "state": "running", "pid": proc.pid, "uptime": int(now - proc.create_time()),
                   "rss": _tree_rss(proc), "detail": ""}
        except psutil.Error:
            row = {"name": name, "state": "stopped", "pid": None, "uptime": None, "rss": None, "detail": ""}
        if name == "callcore":
            row["detail"] = _workers_detail(settings)
        rows.append(row)
    return rows


def _workers_detail(settings: Settings) -> str:
    try:
        state = json.loads((settings.run_dir / "callcore.json").read_text())
    except (OSError, ValueError):
        return ""
    workers = state.get("workers", [])
    legs = sum(int(w.get("legs", 0)) for w in workers)
    return f"{len(workers)} workers, {legs} legs in use"


class RestartFailed(Exception):
    pass


def restart(settings: Settings, name: str, wait_s: float = 15.0) -> str:
    """Restart one service through the supervisor; returns what happened. RestartFailed if it could not."""
    from appliance.supervisor import request_edge_restart

    if name not in SERVICES:
        raise RestartFailed(f"no service named {name!r}")
    if not settings.lab:
        try:
            done = _systemctl("restart", unit_of(name), timeout=wait_s)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise RestartFailed(f"{name} was asked to restart but systemd did not finish: {exc}") from None
        if done.returncode != 0:
            raise RestartFailed(f"{name} did not restart: {(done.stderr or done.stdout).strip()[:300]}")
        row = next(r for r in _unit_rows(settings) if r["name"] == name)
        if row["state"] != "running":
            raise RestartFailed(f"{name} is {row['detail'] or row['state']} after the restart; see the system log")
        return f"{name} restarted (pid {row['pid'] or '-'})"
    if supervisor_process(settings) is None:
        raise RestartFailed("the supervisor is not running: nothing to restart")
    before = children(settings).get(name)
    old_pid = before.pid if before else None
    if name == "kamailio":
        if not request_edge_restart(settings):
            raise RestartFailed("the supervisor did not take the request")
    elif before is not None:
        try:
            os.killpg(before.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    # "Restarted" means back and answering: a successor that dies at start is replaced by the supervisor,
    # and the wait goes on with that one.
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        now = children(settings).get(name)
        if now is not None and now.pid != old_pid and _answers(settings, name, now):
            return f"{name} restarted (pid {old_pid or '-'} -> {now.pid})"
        time.sleep(0.2)
    raise RestartFailed(f"{name} was asked to restart but is not back after {wait_s:.0f} s; see the system log")


def _answers(settings: Settings, name: str, proc: psutil.Process) -> bool:
    """Whether the service is back: Kamailio answers JSON-RPC; the others have stayed up for a second."""
    if name == "kamailio":
        from appliance.errors import SipEdgeError
        from appliance.sipedge import rpc

        try:
            rpc.call(settings, "core.version")
            return True
        except (OSError, SipEdgeError):
            return False
    try:
        return time.time() - proc.create_time() >= 1.0 and proc.is_running()
    except psutil.Error:
        return False
