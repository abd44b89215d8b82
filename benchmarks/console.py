"""Memory and CPU of the console menu services at idle (`appliance console`), measured with psutil.

Four cases, each a fresh `appliance console` process on a populated data directory (store, admin,
20 users): the RS-232 menu alone waiting at its login prompt (on a pty pair, 19200 8N1), the SSH
menu alone with no client, the SSH menu with one admin logged in and idle at the main menu, and
both menus in one process (as the image can run them). After a settle time each is sampled for
RSS, PSS, USS and CPU over a window.
"""

from __future__ import annotations

import argparse
import os
import select
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import paramiko
import psutil

from appliance.settings import Settings
from benchmarks.common import print_table, write_json
from tests.support.ports import free_port

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "Bench-Console-Passw0rd"


def populate(data_dir: Path) -> Settings:
    from appliance.auth.admin import ensure_admin
    from appliance.auth.passwords import hash_password
    from appliance.store import close_store, open_store, secrets
    from appliance.users.models import User
    from appliance.users.service import create_user

    settings = Settings(data_dir=data_dir)
    open_store(settings)
    secrets.load_key(settings.secret_key_path)
    ensure_admin()
    User.update(web_password_hash=hash_password(PASSWORD), must_change_password=False).where(
        User.login == "admin").execute()
    for n in range(20):
        create_user({"extension": str(300 + n), "first_name": "User", "last_name": str(n)})
    close_store()
    return settings


def start(settings: Settings, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "appliance.cli", "console", "--data-dir", str(settings.data_dir),
                             *args], cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)


def wait_for(fd: int, text: bytes, timeout: float = 30) -> None:
    seen = b""
    deadline = time.monotonic() + timeout
    while text not in seen:
        if time.monotonic() > deadline:
            raise RuntimeError(f"no {text!r} from the serial console")
        if select.select([fd], [], [], 0.5)[0]:
            seen += os.read(fd, 4096)


def wait_port(port: int, timeout: float = 30) -> None:
    import socket

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"SSH console not listening on {port}")


def ssh_login(port: int) -> tuple[paramiko.SSHClient, paramiko.Channel]:
    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
    client.connect("127.0.0.1", port, username="admin", password=PASSWORD, look_for_keys=False, allow_agent=False)
    channel = client.invoke_shell(width=80, height=24)
    seen = b""
    deadline = time.monotonic() + 20
    while b"Choice: " not in seen and time.monotonic() < deadline:
        channel.settimeout(0.5)
        try:
            seen += channel.recv(4096)
        except TimeoutError:
            pass
    if b"Choice: " not in seen:
        raise RuntimeError("no menu after SSH login")
    return client, channel


def sample(pid: int, settle: float, window: float) -> dict:
    proc = psutil.Process(pid)
    time.sleep(settle)
    before = proc.cpu_times()
    time.sleep(window)
    after = proc.cpu_times()
    info = proc.memory_full_info()
    cpu = max(0.0, (after.user + after.system - before.user - before.system) / window * 100)
    return {"rss_mib": info.rss / 2**20, "pss_mib": info.pss / 2**20, "uss_mib": info.uss / 2**20,
            "cpu_percent": cpu, "threads": proc.num_threads()}


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--settle", type=float, default=5.0, help="seconds before sampling")
    parser.add_argument("--window", type=float, default=10.0, help="seconds of CPU measured")
    args = parser.parse_args()
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        settings = populate(Path(tmp) / "data")

        master, slave = os.openpty()
        proc = start(settings, "--serial", os.ttyname(slave), "--no-boot-menu")
        try:
            wait_for(master, b"login: ")
            results["serial menu, idle at login"] = sample(proc.pid, args.settle, args.window)
        finally:
            stop(proc)

        port = free_port()
        proc = start(settings, "--ssh-port", str(port))
        try:
            wait_port(port)
            results["SSH menu, no client"] = sample(proc.pid, args.settle, args.window)
            client, _channel = ssh_login(port)
            try:
                results["SSH menu, one admin idle at the menu"] = sample(proc.pid, args.settle, args.window)
            finally:
                client.close()
        finally:
            stop(proc)

        port = free_port()
        proc = start(settings, "--serial", os.ttyname(slave), "--no-boot-menu", "--ssh-port", str(port))
        try:
            wait_for(master, b"login: ")
            wait_port(port)
            results["serial + SSH in one process, idle"] = sample(proc.pid, args.settle, args.window)
        finally:
            stop(proc)
            os.close(master)
            os.close(slave)

    rows = [(name, f"{r['rss_mib']:.1f} / {r['pss_mib']:.1f} / {r['uss_mib']:.1f} MiB, "
                   f"{r['cpu_percent']:.2f} % CPU, {r['threads']} threads") for name, r in results.items()]
    print_table("Console menu services at idle: RSS / PSS / USS, CPU of one core", rows)
    write_json("console", {"settle_s": args.settle, "window_s": args.window, "cases": results})


if __name__ == "__main__":
    main()
