"""The SSH console against the whole appliance (`Stack`): a paramiko client logs in and uses the menu.

Entry 1 (call-core console: a test phone's registration as Kamailio holds it, calls, workers, the SIP
edge's debug level over RPC, reload through the supervisor), entry 5 (the system log, followed live),
the shell (a real PTY for the built-in admin, refused to another admin), public-key login with a key
added through the menu, SFTP that cannot leave the backup folder, and the brute-force lockout shared
with the web login.
"""

from __future__ import annotations

import io
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid

import paramiko
import pytest

from appliance.auth import sessions
from tests.support.ports import free_port
from tests.support.stack import NEW_ADMIN_PASSWORD, ROOT, Stack

OTHER_ADMIN, OTHER_PASSWORD = "300", "Other-Admin-Passw0rd"
TECH, TECH_PASSWORD = "301", "Techni-Cian-Passw0rd"
PHONE_PASSWORD = "Phone-Alice-Passw0rd"


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    stack = Stack(tmp_path_factory.mktemp("ssh") / "data", spare_workers=1).start()
    yield stack
    stack.stop()


@pytest.fixture(scope="module")
def api(stack):
    api = stack.admin_api()
    for extension, role, password in ((OTHER_ADMIN, "admin", OTHER_PASSWORD), (TECH, "technician", TECH_PASSWORD)):
        status, body = api.request("POST", "/api/v1/users", {
            "extension": extension, "first_name": "Staff", "last_name": extension, "role": role,
            "web_password": password})
        assert status in (200, 201), body
    api.create_user("201", "Alice", "Martin", PHONE_PASSWORD)
    # A provider that never answers (nothing listens there): its registration state is not "registered".
    status, body = api.request("POST", "/api/v1/trunks", {
        "name": "acme", "auth_user": "0176747980", "provider_domain": "sip.acme.test",
        "host": f"127.0.0.1:{free_port()}", "password": "Trunk-Passw0rd-1", "register": True, "country_code": "33"})
    assert status in (200, 201), body
    return api


@pytest.fixture(scope="module")
def console(stack, api):
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "appliance.cli", "console", "--data-dir", str(stack.settings.data_dir),
         "--ssh-port", str(port), "--kamailio-rpc-port", str(stack.settings.kamailio_rpc_port)],
        cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    line = process.stdout.readline()
    assert "SSH console on" in line, line + process.stdout.read()
    yield port
    process.terminate()
    process.wait(10)


def connect(port: int, username: str, password: str | None = None, pkey: paramiko.PKey | None = None):
    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
    client.connect("127.0.0.1", port, username=username, password=password, pkey=pkey, look_for_keys=False,
                   allow_agent=False, timeout=15, banner_timeout=15, auth_timeout=15)
    return client


class Screen:
    """An interactive session on the menu, as a technician's terminal sees it."""

    def __init__(self, client: paramiko.SSHClient):
        self.client = client
        self.channel = client.invoke_shell(term="vt100", width=80, height=24)
        self.buffer = ""

    def expect(self, pattern: str, timeout: float = 20) -> re.Match:
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while True:
            match = regex.search(self.buffer)
            if match:
                self.buffer = self.buffer[match.end():]
                return match
            if time.monotonic() > deadline:
                raise AssertionError(f"no {pattern!r} on the SSH console; got:\n{self.buffer[-3000:]}")
            self.channel.settimeout(0.5)
            try:
                data = self.channel.recv(65536)
            except TimeoutError:
                continue
            if not data:
                raise AssertionError(f"channel closed waiting for {pattern!r}; got:\n{self.buffer[-3000:]}")
            self.buffer += data.decode("utf-8", "replace")

    def line(self, text: str) -> None:
        self.channel.send((text + "\r").encode())

    def close(self) -> None:
        self.client.close()


def test_call_core_console_and_system_log(stack, api, console):
    phone = stack.registered_phone("201", PHONE_PASSWORD)
    screen = Screen(connect(console, "admin", NEW_ADMIN_PASSWORD))
    try:
        screen.expect("Main menu - admin")
        screen.expect(r" 1  Call-core console")
        screen.expect(r" 5  System log")
        screen.expect("Choice: ")
        screen.line("1")
        screen.expect("Call-core console - admin")
        screen.expect("Choice: ")
        screen.line("1")
        screen.expect(r"1 registered contact\(s\)")
        screen.expect(r"201 +127\.0\.0\.1 +\d+s")
        screen.expect("Choice: ")
        screen.line("2")
        screen.expect(r"0 call\(s\) in progress")
        screen.expect("Choice: ")
        phone.call(f"sip:76@127.0.0.1:{stack.settings.sip_port}")  # the echo test
        phone.wait_for("confirmed", 10)
        for _ in range(10):  # the worker writes the answer time just after the phone saw its 200 OK
            screen.line("2")
            shown = screen.expect(r"(\d+ call\(s\) in progress[\s\S]*?)Choice: ").group(1)
            if re.search(r"201 +76 +answered +0:0\d", shown):
                break
            time.sleep(0.3)
        assert re.search(r"^1 call\(s\) in progress", shown) and re.search(r"201 +76 +answered", shown), shown
        phone.hangup()
        phone.wait_for("disconnected", 10)
        screen.line("3")
        screen.expect(r"acme +(registering|failed \(network\)|unregistered)")
        screen.expect("Choice: ")
        screen.line("4")
        assert int(screen.expect(r"pool pid \d+, (\d+) worker\(s\)").group(1)) >= 1
        screen.expect(r"0 +\d+ +\d+ +ready")
        screen.expect("Choice: ")
        screen.line("6")
        before = int(screen.expect(r"SIP edge debug level: (-?\d) ").group(1))
        screen.expect("New level")
        screen.line("9")
        screen.expect("type a number from -3 to 3")
        new = 3 if before != 3 else 2
        screen.line(str(new))
        screen.expect(f"SIP edge debug level is now {new}")
        screen.expect("Choice: ")
        pid = stack.kamailio_pid()
        screen.line("5")
        screen.expect(r"kamailio restarted \(pid \d+ -> \d+\)", timeout=40)
        screen.expect("Choice: ")
        assert stack.kamailio_pid() != pid
        screen.line("0")
        screen.expect("Main menu - admin")
        screen.expect("Choice: ")

        screen.line("7")
        screen.expect(r"kamailio +running")
        screen.expect(r"callcore +running")
        web_pid = int(screen.expect(r"3 +web +running +(\d+)").group(1))
        screen.expect("Restart which service")
        screen.line("3")
        screen.expect("Type restart to confirm")
        screen.line("restart")
        new_pid = int(screen.expect(rf"web restarted \(pid {web_pid} -> (\d+)\)", timeout=40).group(1))
        assert new_pid != web_pid
        screen.expect("Restart which service")
        screen.line("")
        screen.expect("Choice: ")
        stack._wait_ready(time.monotonic() + 30)  # the supervisor started a new web server

        screen.line("5")
        screen.expect(r"\[web\] ")
        screen.expect("following the system log")
        marker = f"follow-{uuid.uuid4().hex[:8]}"
        try:
            urllib.request.urlopen(f"{stack.web_url}/api/v1/{marker}", timeout=5)
        except urllib.error.HTTPError:
            pass
        screen.expect(rf"\[web\] [^[]*GET\s+/api/v1/{marker}\s+40\d")
        screen.line("")
        screen.expect("-- stopped --")
        screen.expect("Choice: ")
    finally:
        screen.close()
        phone.close()


def test_shell_for_the_super_admin_only(stack, api, console):
    screen = Screen(connect(console, OTHER_ADMIN, OTHER_PASSWORD))
    try:
        screen.expect(f"Main menu - {OTHER_ADMIN}")
        screen.expect("Choice: ")
        screen.line("10")
        screen.expect("Refused: only the super admin")
        screen.expect("Choice: ")
    finally:
        screen.close()

    screen = Screen(connect(console, "admin", NEW_ADMIN_PASSWORD))
    try:
        screen.expect("Choice: ")
        screen.line("10")
        screen.expect("type exit to come back")
        screen.line("echo ssh-shell-$((6*7)); tty")
        screen.expect("ssh-shell-42")
        screen.expect(r"/dev/pts/\d+")
        screen.line("exit")
        screen.expect("Back to the console menu.")
        screen.expect("Choice: ")
    finally:
        screen.close()


def test_a_technician_reads_but_changes_nothing(stack, api, console):
    screen = Screen(connect(console, TECH, TECH_PASSWORD))
    try:
        screen.expect(f"Main menu - {TECH}")
        screen.expect("Choice: ")
        screen.line("7")
        shown = screen.expect(r"kamailio +running([\s\S]*?)Choice: ").group(1)
        assert "web" in shown and "Restart which" not in shown
        for entry in ("3", "8", "9"):
            screen.line(entry)
            screen.expect("Refused: only an administrator")
            screen.expect("Choice: ")
        screen.line("0")
        screen.expect("Logged out.")
    finally:
        screen.close()


def test_public_key_login_with_a_key_added_in_the_menu(stack, api, console):
    key = paramiko.Ed25519Key.from_private_key(io.StringIO(_new_private_key()))
    with pytest.raises(paramiko.AuthenticationException):
        connect(console, "admin", pkey=key).close()
    screen = Screen(connect(console, "admin", NEW_ADMIN_PASSWORD))
    try:
        screen.expect("Choice: ")
        screen.line("11")
        screen.expect("SSH public keys of admin: 0")
        screen.line("a")
        screen.line("ssh-ed25519 AAAAnot-a-key")
        screen.expect("Not added")
        screen.line("a")
        screen.line(f"ssh-ed25519 {key.get_base64()} tech@laptop")
        screen.expect("Key added.")
        screen.expect("SSH public keys of admin: 1")
        screen.line("")
        screen.expect("Choice: ")
    finally:
        screen.close()
    screen = Screen(connect(console, "admin", pkey=key))
    try:
        screen.expect("Main menu - admin")
    finally:
        screen.close()


def _new_private_key() -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    return Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption()).decode()


def test_sftp_stays_in_the_backup_folder(stack, api, console):
    backups = stack.settings.data_dir / "backups"
    client = connect(console, "admin", NEW_ADMIN_PASSWORD)
    try:
        sftp = client.open_sftp()
        sftp.putfo(io.BytesIO(b"archive bytes"), "/uploaded.backup")
        assert (backups / "uploaded.backup").read_bytes() == b"archive bytes"
        assert "uploaded.backup" in sftp.listdir("/")
        assert sftp.getcwd() is None and sftp.normalize("..") == "/"
        with sftp.open("uploaded.backup") as fh:
            assert fh.read() == b"archive bytes"
        # Up and out: refused. Absolute paths name files inside the folder (there is no /etc in it).
        for path in ("../appliance.sqlite", "/../appliance.sqlite", "../secret.key", "a/../../secret.key"):
            with pytest.raises(PermissionError):
                sftp.open(path)
        with pytest.raises(PermissionError):
            sftp.listdir("..")
        with pytest.raises(FileNotFoundError):
            sftp.stat("/etc/passwd")
        with pytest.raises(FileNotFoundError):
            sftp.open("/appliance.sqlite")
        # A link planted in the folder that points out of it does not lead out; none can be made over SFTP.
        (backups / "escape").symlink_to(stack.settings.data_dir)
        with pytest.raises(PermissionError):
            sftp.open("escape/appliance.sqlite")
        with pytest.raises(PermissionError):
            sftp.listdir("escape")
        with pytest.raises(PermissionError):
            sftp.symlink("/", "another")
        sftp.close()
    finally:
        client.close()
    # A technician has the menu but not SFTP.
    client = connect(console, TECH, TECH_PASSWORD)
    try:
        with pytest.raises(paramiko.SSHException):
            client.open_sftp()
    finally:
        client.close()


def test_a_one_time_password_must_be_changed_before_the_menu(stack, api, console):
    """`appliance reset-admin-password` (or the serial boot menu) gives admin a one-time password."""
    global NEW_ADMIN_PASSWORD
    reset = subprocess.run([sys.executable, "-m", "appliance.cli", "reset-admin-password", "--data-dir",
                            str(stack.settings.data_dir)], cwd=ROOT, capture_output=True, text=True, timeout=60)
    one_time = re.search(r"admin password: (\S+)", reset.stdout).group(1)
    screen = Screen(connect(console, "admin", one_time))
    try:
        screen.expect("choose your own now")
        screen.expect("New password: ")
        screen.line("Changed-Over-Ssh-1")
        screen.expect("New password again: ")
        screen.line("Changed-Over-Ssh-1")
        screen.expect("Password changed.")
        screen.expect("Main menu - admin")
    finally:
        screen.close()
    with pytest.raises(paramiko.AuthenticationException):
        connect(console, "admin", one_time).close()
    NEW_ADMIN_PASSWORD = "Changed-Over-Ssh-1"
    connect(console, "admin", NEW_ADMIN_PASSWORD).close()


def test_lockout_after_repeated_bad_passwords_is_shared_with_the_web_login(stack, api, console):
    """Last in the module: it locks 127.0.0.1 out of the web login as well."""
    for attempt in range(sessions.LOGIN_FAILURES):
        with pytest.raises(paramiko.AuthenticationException):
            connect(console, "admin", f"wrong-{attempt}").close()
    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
    with pytest.raises(paramiko.AuthenticationException):
        client.connect("127.0.0.1", console, username="admin", password=NEW_ADMIN_PASSWORD, look_for_keys=False,
                       allow_agent=False, timeout=15)
    assert b"Too many failed logins from your address" in client.get_transport().get_banner()
    client.close()
    status, _ = api.request("POST", "/api/v1/session", {"username": "admin", "password": NEW_ADMIN_PASSWORD})
    assert status == 429
