"""The RS-232 console over a pty pair: `appliance console --serial <pty> --baud 19200` opens the slave
with pyserial; the test is the technician's terminal on the master side.

Boot menu: the password reset lets the next login in with the one-time password shown on the serial
console and forces a new one; "Recover system" needs the typed word, keeps a backup, and leaves a factory
configuration. Login lockout after repeated failures (the web login's throttle). Then the menu entries a
technician uses: network status, set LAN1 (stored for netconfig), ping, services, log, reboot (lab mode
only says so), shell.
"""

from __future__ import annotations

import os
import re
import select
import sqlite3
import subprocess
import sys
import time

import pytest

from appliance.auth import sessions
from appliance.settings import Settings
from appliance.store import close_store, open_store, secrets
from tests.support.stack import ROOT

NEW_PASSWORD = "Serial-Console-Passw0rd"
PASSPHRASE = "recovery backup passphrase"


class SerialTerminal:
    """The technician's side of the cable: the pty master."""

    def __init__(self, settings: Settings, *extra: str):
        self.master, self.slave = os.openpty()
        self.device = os.ttyname(self.slave)
        self.buffer = ""
        self.seen = ""
        self.process = subprocess.Popen(
            [sys.executable, "-m", "appliance.cli", "console", "--data-dir", str(settings.data_dir),
             "--serial", self.device, "--baud", "19200", "--boot-menu-seconds", "4", *extra],
            cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        )

    def expect(self, pattern: str, timeout: float = 20) -> re.Match:
        deadline = time.monotonic() + timeout
        regex = re.compile(pattern)
        while True:
            match = regex.search(self.buffer)
            if match:
                self.buffer = self.buffer[match.end():]
                return match
            left = deadline - time.monotonic()
            if left <= 0 or self.process.poll() is not None:
                log = self.process.stdout.read().decode(errors="replace") if self.process.poll() is not None else ""
                raise AssertionError(f"no {pattern!r} on the serial console; got:\n{self.buffer[-2000:]}\n{log}")
            ready, _, _ = select.select([self.master], [], [], min(left, 0.5))
            if ready:
                data = os.read(self.master, 4096).decode("utf-8", "replace")
                self.buffer += data
                self.seen += data

    def type(self, text: str) -> None:
        os.write(self.master, text.encode())

    def line(self, text: str) -> None:
        self.type(text + "\r")

    def close(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process.stdout.close()
        os.close(self.master)
        os.close(self.slave)


@pytest.fixture(scope="module")
def settings(tmp_path_factory):
    """An appliance data directory made by the services: store, admin, a phone user."""
    from appliance.auth.admin import ensure_admin
    from appliance.users.service import create_user

    settings = Settings(data_dir=tmp_path_factory.mktemp("serial") / "data")
    open_store(settings)
    secrets.load_key(settings.secret_key_path)
    ensure_admin()
    create_user({"extension": "201", "first_name": "Alice", "last_name": "Martin"})
    close_store()
    return settings


def _logins(settings: Settings) -> list[str]:
    with sqlite3.connect(settings.db_path) as db:
        return [row[0] for row in db.execute("SELECT login FROM user ORDER BY login")]


def _log_in(term: SerialTerminal, password: str) -> None:
    term.expect("login: ")
    term.line("admin")
    term.expect("Password: ")
    term.line(password)


def test_password_reset_then_forced_change_then_menu(settings):
    term = SerialTerminal(settings)
    try:
        term.expect("Boot menu")
        term.expect(r"1  Reset admin password")
        term.expect(r"2  Recover system")
        term.expect("Press 1 or 2")
        term.type("1")
        term.expect("Type yes to confirm")
        term.line("yes")
        one_time = term.expect(r"New one-time password for admin: (\S+)").group(1)
        # A wrong password first, then the one-time one: a new password is required before the menu.
        _log_in(term, "not-the-password")
        term.expect("Login incorrect.")
        term.expect("login: ")
        term.line("admin")
        term.expect("Password: ")
        term.line(one_time)
        term.expect("choose your own now")
        term.expect("New password: ")
        term.line("weak")
        term.expect("New password again: ")
        term.line("weak")
        term.expect("Not accepted")
        term.expect("New password: ")
        term.line(NEW_PASSWORD)
        term.expect("New password again: ")
        term.line(NEW_PASSWORD)
        term.expect("Password changed.")
        term.expect("Main menu - admin")
        term.expect(r"10  Shell")
        term.expect("Choice: ")

        term.line("2")
        term.expect(r"LAN1 \(eth1\) configured: 10\.135\.0\.1/24")
        term.expect("lo +up +127.0.0.1/8")
        term.expect("Choice: ")

        term.line("3")
        term.expect("New LAN1 address")
        term.line("10.135.0.256/24")
        term.expect("'10.135.0.256/24'")
        term.line("10.135.0.2/24")
        term.expect("Type yes to confirm")
        term.line("yes")
        term.expect(r"Saved: LAN1 -> 10\.135\.0\.2/24")
        term.expect("netconfig")
        term.expect("Choice: ")
        with sqlite3.connect(settings.db_path) as db:
            assert db.execute("SELECT mode, address FROM net_interface WHERE name = 'eth1'").fetchall() == [
                ("static", "10.135.0.2/24")]

        term.line("6")
        term.expect(r"console\.network_changed")
        term.expect(r"console\.admin_password_reset")
        term.expect("Choice: ")

        term.line("4")
        term.expect(r"Address to ping \[127\.0\.0\.1\]: ")
        term.line("")
        term.expect(r"4 packets transmitted, 4 received")
        term.expect("Choice: ")
        term.line("4")
        term.expect("Address to ping")
        term.line("127.0.0.1; reboot")
        term.expect("is not an IP address")
        term.expect("Choice: ")

        term.line("7")
        term.expect(r"kamailio +unknown +supervisor not running")
        term.expect(r"Restart which service")
        term.line("")
        term.expect("Choice: ")

        term.line("8")
        term.expect("Type REBOOT to confirm")
        term.line("reboot")
        term.expect("nothing was changed")
        term.line("8")
        term.expect("Type REBOOT to confirm")
        term.line("REBOOT")
        term.expect(r"Lab mode: the appliance would now run `systemctl reboot`")
        term.expect("Choice: ")

        # Every line the console printed fits a dumb 80-column terminal, with no colour or cursor codes.
        printed = term.seen
        assert max(len(line) for line in printed.split("\r\n")) <= 80
        assert "\x1b" not in printed

        term.line("10")
        term.expect("type exit to come back")
        term.line("echo serial-shell-$((6*7))")
        term.expect("serial-shell-42")
        term.line("exit")
        term.expect("Back to the console menu.")
        term.expect("Choice: ")
        term.line("0")
        term.expect("Logged out.")
        term.expect("login: ")
    finally:
        term.close()


def test_login_lockout_after_repeated_failures(settings):
    term = SerialTerminal(settings, "--no-boot-menu")
    try:
        for attempt in range(sessions.LOGIN_FAILURES):
            _log_in(term, f"wrong-{attempt}")
            term.expect("Login incorrect.")
        # The right password is refused now: the source is locked out, as the web login would be.
        _log_in(term, NEW_PASSWORD)
        term.expect("Too many failed logins: this console is locked for a few minutes.")
        with sqlite3.connect(settings.db_path) as db:
            sources = {row[0] for row in db.execute("SELECT source FROM auth_failure")}
        assert f"serial:{term.device}" in sources
        # Unlocking is the shared mechanism's too: once its failures are cleared, the right password works.
        with sqlite3.connect(settings.db_path) as db:
            db.execute("DELETE FROM auth_failure")
        _log_in(term, NEW_PASSWORD)
        term.expect("Main menu - admin")
    finally:
        term.close()


def test_recover_system_needs_the_typed_word_and_keeps_a_backup(settings):
    assert "201" in _logins(settings)
    term = SerialTerminal(settings)
    try:
        term.expect("Press 1 or 2")
        term.type("2")
        term.expect("Type RECOVER to confirm")
        term.line("recover")
        term.expect("Cancelled: nothing was changed.")
        term.expect("login: ")
    finally:
        term.close()
    assert "201" in _logins(settings)

    term = SerialTerminal(settings)
    try:
        term.expect("Press 1 or 2")
        term.type("2")
        term.expect("Type RECOVER to confirm")
        term.line("RECOVER")
        term.expect(r"Backup passphrase \(8\+ characters, Enter cancels\): ")
        term.line("short")
        term.expect("At least 8 characters.")
        term.expect("Backup passphrase")
        term.line(PASSPHRASE)
        term.expect("The same passphrase again: ")
        term.line(PASSPHRASE)
        term.expect(r"Backup kept \(encrypted backup archive")
        term.expect("back to factory defaults")
        kept_backups = sorted((settings.data_dir / "backups").iterdir())
        assert len(kept_backups) == 1
        backup = kept_backups[0]
        assert "backups/before-recovery-" in term.seen.replace("\r\n", "")
        one_time = term.expect(r"New one-time password for admin: (\S+)").group(1)
        assert _logins(settings) == ["admin"]
        assert backup.suffix == ".pbxbak"
        with sqlite3.connect(settings.db_path) as db:
            kinds = [row[0] for row in db.execute("SELECT kind FROM event")]
        assert kinds == ["console.system_recovered"]  # the only event of the factory configuration
        assert PASSPHRASE not in term.seen  # typed without echo
        # The factory configuration's admin logs in with the password shown, and must change it.
        _log_in(term, one_time)
        term.expect("choose your own now")
    finally:
        term.close()
    # The backup kept first gives the old configuration back.
    restored = subprocess.run(
        [sys.executable, "-m", "appliance.cli", "backup", "restore", "--data-dir", str(settings.data_dir),
         "--passphrase-file", "-", str(backup)],
        cwd=ROOT, input=PASSPHRASE + "\n", capture_output=True, text=True, timeout=120)
    assert restored.returncode == 0, restored.stdout + restored.stderr
    assert "201" in _logins(settings)
