"""The console menu engine (serialconsole): terminal I/O, menus, prompts, login rules, SFTP paths, recovery."""

from __future__ import annotations

import os
import sqlite3
import threading
import time

import paramiko
import pytest

from appliance.auth import sessions
from appliance.auth.account import BadCredentials, LoginThrottled, authenticate
from appliance.auth.admin import ensure_admin
from appliance.users.models import Role, User
from serialconsole import keys, network, recovery
from serialconsole.app import Console, main_menu, set_lan1
from serialconsole.auth import login_prompt
from serialconsole.menu import Entry, Menu, Session, needs_admin, needs_super_admin, run_menu
from serialconsole.sftp import BackupFolderSFTP, OutsideRoot
from serialconsole.system import SystemActions
from serialconsole.terminal import Cancelled, Disconnected, IdleTimeout, Terminal


class Wire:
    """A scripted byte stream: what the user types, and everything the console printed."""

    def __init__(self, *typed: bytes | str):
        self.chunks = [t.encode() if isinstance(t, str) else t for t in typed]
        self.out = bytearray()
        self.lock = threading.Lock()

    def read(self, timeout: float) -> bytes | None:
        with self.lock:
            if self.chunks:
                return self.chunks.pop(0)
        time.sleep(min(timeout, 0.01))
        return b""

    def write(self, data: bytes) -> None:
        self.out += data

    def terminal(self, idle: float = 5.0) -> Terminal:
        return Terminal(self.read, self.write, idle_timeout=idle)

    @property
    def text(self) -> str:
        return self.out.decode("utf-8", "replace")


def test_output_lines_fit_80_columns_with_crlf_and_no_escape_codes():
    wire = Wire()
    term = wire.terminal()
    term.say("word " * 60)
    term.table(("name", "detail"), [("x" * 30, "y" * 120), ("short", "z")])
    text = wire.text
    assert text.endswith("\r\n")
    lines = text.split("\r\n")[:-1]
    assert len(lines) > 3
    assert all(len(line) <= 80 for line in lines)
    assert "\n" not in "".join(lines) and "\x1b" not in text


def test_line_editing_with_backspace_ctrl_u_and_arrow_keys():
    wire = Wire("abx\x7fc", "\x1b[D", "\r")
    assert wire.terminal().read_line("> ") == "abc"
    assert "> abx\x08 \x08c" in wire.text
    wire = Wire("wrong\x15right\r\n")
    assert wire.terminal().read_line() == "right"
    wire = Wire("é\x08e\r")
    assert wire.terminal().read_line() == "e"


def test_password_is_not_echoed():
    wire = Wire("S3cret-Passw0rd\r")
    assert wire.terminal().read_line("Password: ", echo=False) == "S3cret-Passw0rd"
    assert "S3cret" not in wire.text
    assert wire.text == "Password: \r\n"


def test_idle_timeout_ctrl_d_and_ctrl_c():
    with pytest.raises(IdleTimeout):
        Wire().terminal(idle=0.2).read_line("login: ")
    with pytest.raises(Disconnected):
        Wire("\x04").terminal().read_line()
    with pytest.raises(Cancelled):
        Wire("abc\x03").terminal().read_line()
    gone = Terminal(lambda t: None, lambda d: None)
    with pytest.raises(Disconnected):
        gone.read_line()


def test_ask_validates_and_confirm_needs_the_exact_word():
    def number(text):
        if not text.isdigit():
            raise ValueError("type digits only")
        return int(text)

    wire = Wire("abc\r", "42\r")
    assert wire.terminal().ask("n: ", number) == 42
    assert "type digits only" in wire.text
    wire = Wire("x\r", "y\r", "z\r")
    assert wire.terminal().ask("n: ", number) is None
    assert "Too many invalid answers" in wire.text
    assert Wire("RECOVER\r").terminal().confirm("RECOVER", "Erase everything?") is True
    wire = Wire("recover\r")
    assert wire.terminal().confirm("RECOVER", "Erase everything?") is False
    assert "nothing was changed" in wire.text


def test_menu_numbers_entries_refuses_by_guard_and_returns_on_zero():
    ran = []
    menu = Menu("Test", [
        Entry("1", "First", lambda s: ran.append("first")),
        Entry("2", "Admin only", lambda s: ran.append("admin"), needs_admin),
        Entry("3", "Shell", lambda s: ran.append("shell"), needs_super_admin),
        Entry("4", "Cancels", lambda s: (_ for _ in ()).throw(Cancelled())),
        Entry("5", "Breaks", lambda s: 1 / 0),
    ])
    wire = Wire("7\r", "1\r", "2\r", "3\r", "4\r", "5\r", "0\r")
    session = Session(term=wire.terminal(), login="200", role="technician")
    run_menu(menu, session)
    assert ran == ["first"]
    text = wire.text
    assert " 1  First" in text and " 0  Log out" in text
    assert "No entry '7'" in text
    assert "Refused: only an administrator" in text
    assert "Refused: only the super admin" in text
    assert "Cancelled." in text
    assert "Error: division by zero" in text and "Traceback" not in text


def test_main_menu_has_the_call_core_console_on_1_and_the_system_log_on_5():
    entries = {e.key: e.label for e in main_menu().entries}
    assert entries["1"].startswith("Call-core console")
    assert entries["5"].startswith("System log")
    assert "Shell" in entries["10"]


# -- with a store ---------------------------------------------------------------------------------

def _admin(password="Console-Passw0rd"):
    ensure_admin()
    from appliance.auth.passwords import hash_password

    User.update(web_password_hash=hash_password(password), must_change_password=False).where(
        User.login == "admin").execute()
    return password


def test_console_login_shares_the_web_lockout(store):
    password = _admin()
    source = "198.51.100.7"
    for _ in range(sessions.LOGIN_FAILURES - 1):
        with pytest.raises(BadCredentials):
            authenticate("admin", "wrong", source)  # as the web login would
    wire = Wire("admin\r", "also-wrong\r", "admin\r", f"{password}\r")
    assert login_prompt(wire.terminal(), source) is None
    assert "Login incorrect." in wire.text
    assert "locked" in wire.text
    with pytest.raises(LoginThrottled):
        authenticate("admin", password, source)  # and the web login is locked too
    wire = Wire("admin\r", f"{password}\r")
    assert login_prompt(wire.terminal(), "serial:/dev/ttyS0").login == "admin"


def test_one_time_password_must_be_changed_at_console_login(store):
    one_time = recovery.reset_admin_password(store)
    new = "Brand-New-Passw0rd"
    wire = Wire("admin\r", f"{one_time}\r", "short\r", "short\r", f"{new}\r", "different\r",
                f"{new}\r", f"{new}\r")
    user = login_prompt(wire.terminal(), "serial:/dev/ttyS0")
    assert user is not None and user.login == "admin"
    assert "Not accepted" in wire.text and "The two passwords differ" in wire.text
    assert "Password changed." in wire.text
    assert User.get(User.login == "admin").must_change_password is False
    assert authenticate("admin", new, "x").login == "admin"


def test_phone_users_may_not_use_the_console(store):
    from appliance.auth.passwords import hash_password

    User.create(login="150", extension="150", role=Role.USER, web_password_hash=hash_password("Phone-Passw0rd1"))
    wire = Wire("150\r", "Phone-Passw0rd1\r", "\x04")
    with pytest.raises(Disconnected):
        login_prompt(wire.terminal(), "serial:x")
    assert "may not use the console" in wire.text


def test_set_lan1_is_validated_confirmed_and_stored_through_netconfig(store):
    _admin()
    console = Console(settings=store, system=SystemActions(lab=True))
    wire = Wire("10.135.0.300/24\r", "10.135.0.0/24\r", "10.135.0.2/24\r", "no\r")
    session = Session(term=wire.terminal(), login="admin", role="admin", transport="serial", context=console)
    set_lan1(session)
    assert "'10.135.0.300/24'" in wire.text and "'10.135.0.0/24'" in wire.text
    assert network.lan1()["address"] == "10.135.0.1/24"
    # netconfig's rules hold here too: the DHCP range must stay in LAN1's subnet.
    wire = Wire("192.168.10.1/24\r", "yes\r")
    session.term = wire.terminal()
    set_lan1(session)
    assert "Not saved: interfaces.eth1.address: the DHCP range" in wire.text
    assert network.lan1()["address"] == "10.135.0.1/24"
    wire = Wire("10.135.0.2/24\r", "yes\r")
    session.term = wire.terminal()
    set_lan1(session)
    assert "Saved: LAN1 -> 10.135.0.2/24." in wire.text and "60 s" in wire.text
    lan = network.lan1()
    assert lan["address"] == "10.135.0.2/24" and lan["revision"] != lan["applied_revision"]


def test_factory_reset_keeps_a_restorable_backup_then_leaves_only_a_new_admin(store):
    from appliance.auth.passwords import hash_password
    from appliance.backup import restore_backup

    _admin()
    User.create(login="151", extension="151", first_name="Kept", role=Role.USER,
                web_password_hash=hash_password("Phone-Passw0rd1"))
    backup, how, password = recovery.factory_reset(store, "backup passphrase")
    assert [u.login for u in User.select()] == ["admin"]
    assert User.get(User.login == "admin").must_change_password is True
    assert authenticate("admin", password, "y").login == "admin"
    assert backup.parent == store.data_dir / "backups" and backup.suffix == ".pbxbak" and "encrypted" in how
    with open(backup, "rb") as archive:
        restore_backup(store, archive, "backup passphrase")
    assert User.get(User.login == "151").first_name == "Kept"


def test_without_the_backup_package_the_store_is_copied(store, monkeypatch):
    from appliance.auth.passwords import hash_password

    _admin()
    User.create(login="152", extension="152", first_name="Copied", role=Role.USER,
                web_password_hash=hash_password("Phone-Passw0rd1"))
    monkeypatch.setattr(recovery, "backup_package_available", lambda: False)
    backup, how, _ = recovery.factory_reset(store)
    assert [u.login for u in User.select()] == ["admin"]
    rows = sqlite3.connect(backup / "appliance.sqlite").execute("SELECT login, first_name FROM user").fetchall()
    assert ("152", "Copied") in rows
    assert oct(os.stat(backup / "secret.key").st_mode & 0o777) == "0o600"


def test_sftp_paths_stay_in_the_backup_folder(tmp_path):
    root = tmp_path / "backups"
    root.mkdir()
    (root / "a.backup").write_bytes(b"x")
    (tmp_path / "secret").write_text("no")
    os.symlink(tmp_path / "secret", root / "link-out")
    os.symlink(root / "a.backup", root / "link-in")
    sftp = BackupFolderSFTP(None, root=root)
    assert sftp._real("/a.backup") == root / "a.backup"
    assert sftp._real("sub/../a.backup") == root / "a.backup"
    assert sftp._real("/etc/passwd") == root / "etc" / "passwd"  # absolute paths are inside the folder
    assert sftp._real("link-in") == root / "a.backup"
    for bad in ("../secret", "/../secret", "..", "a/../../secret", "link-out"):
        with pytest.raises(OutsideRoot):
            sftp._real(bad)
    assert sftp.canonicalize("../..") == "/"
    assert sftp.stat("link-out") == paramiko.sftp.SFTP_PERMISSION_DENIED
    assert sftp.symlink("/etc", "x") == paramiko.sftp.SFTP_PERMISSION_DENIED


def test_authorized_keys_are_validated_and_matched(store):
    _admin()
    key = paramiko.Ed25519Key.from_private_key_file(str(_make_key(store.data_dir / "k")))
    other = paramiko.Ed25519Key.from_private_key_file(str(_make_key(store.data_dir / "o")))
    from appliance.errors import ValidationError

    with pytest.raises(ValidationError) as err:
        keys.set_keys("admin", "ssh-ed25519 not-base64!")
    assert err.value.field == "ssh_keys"
    keys.set_keys("admin", f"# comment\nssh-ed25519 {key.get_base64()} tech@laptop\n")
    admin = User.get(User.login == "admin")
    assert keys.authorized(admin, key) and not keys.authorized(admin, other)


def _make_key(path):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    path.write_bytes(Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption()))
    return path


def test_host_key_is_generated_once_with_mode_0600(store):
    first = keys.load_or_create_host_key(store)
    path = keys.host_key_path(store)
    assert oct(os.stat(path).st_mode & 0o777) == "0o600"
    assert keys.load_or_create_host_key(store).get_base64() == first.get_base64()


def test_lab_mode_never_reboots():
    system = SystemActions(lab=True)
    assert "would now run `systemctl reboot`" in system.reboot()
    assert "would now run `systemctl poweroff`" in system.shutdown()
