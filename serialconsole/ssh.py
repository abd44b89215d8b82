"""The SSH console: a paramiko server running the same menu as the serial port.

- Host key: Ed25519 generated on first start (keys.py).
- Authentication: password (the web password, `appliance.auth.account.authenticate`, so the web
  login's brute-force lockout applies, counted per client IP address across web and SSH) or public
  key (the account's `ssh_keys`). Only admin and technician accounts get in. A one-time password
  must be replaced before the menu shows.
- A session is an interactive shell request: the main menu on the channel (one thread per
  connection). "exec" requests are refused: there is no command line over SSH but the menu's shell.
- Shell entry (super admin only): a real PTY relayed to the channel, following window changes.
- SFTP subsystem: the backup folder only (sftp.py; <data>/backups or where storage placed it), for admins.
"""

from __future__ import annotations

import logging
import socket
import threading

import paramiko

from appliance.auth.account import BadCredentials, LoginThrottled
from serialconsole import keys
from serialconsole.app import Console, banner, main_menu
from serialconsole.auth import CONSOLE_ROLES, ConsoleRefused, check_credentials, forced_password_change
from serialconsole.menu import Session, run_menu
from serialconsole.recovery import backups_dir
from serialconsole.sftp import BackupFolderSFTP
from serialconsole.system import run_pty
from serialconsole.terminal import Disconnected, Terminal

log = logging.getLogger(__name__)

CHANNEL_WAIT_S = 30.0


class _Server(paramiko.ServerInterface):
    def __init__(self, console: Console, client_ip: str):
        self.console = console
        self.client_ip = client_ip
        self.user = None
        self.password: str | None = None
        self.shell_requested = threading.Event()
        self.term_size = (80, 24)
        self.size_changed: tuple[int, int] | None = None

    # -- authentication --------------------------------------------------------------------
    def get_allowed_auths(self, username):
        return "password,publickey"

    def get_banner(self):
        """Shown before authentication: says why passwords are refused while this address is locked out."""
        from appliance.auth.sessions import is_locked_out

        if is_locked_out(self.client_ip):
            return "Too many failed logins from your address: passwords are refused for a few minutes.\r\n", "en"
        return None, None

    def check_auth_password(self, username, password):
        try:
            user = check_credentials(username, password, self.client_ip)
        except LoginThrottled:
            log.warning("ssh: %s locked out (too many failed logins)", self.client_ip)
            return paramiko.AUTH_FAILED
        except (BadCredentials, ConsoleRefused):
            return paramiko.AUTH_FAILED
        self.user, self.password = user, password
        return paramiko.AUTH_SUCCESSFUL

    def check_auth_publickey(self, username, key):
        from appliance.users.models import User

        user = User.get_or_none(User.login == str(username)[:64])
        if user is None or user.role not in CONSOLE_ROLES or user.must_change_password:
            return paramiko.AUTH_FAILED
        if not keys.authorized(user, key):
            return paramiko.AUTH_FAILED
        self.user = user
        return paramiko.AUTH_SUCCESSFUL

    # -- channels ---------------------------------------------------------------------------
    def check_channel_request(self, kind, chanid):
        if kind == "session":
            return paramiko.OPEN_SUCCEEDED
        return paramiko.OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED

    def check_channel_pty_request(self, channel, term, width, height, pixelwidth, pixelheight, modes):
        self.term_size = (max(20, width or 80), max(5, height or 24))
        return True

    def check_channel_window_change_request(self, channel, width, height, pixelwidth, pixelheight):
        self.term_size = (max(20, width or 80), max(5, height or 24))
        self.size_changed = self.term_size
        return True

    def check_channel_shell_request(self, channel):
        self.shell_requested.set()
        return True

    def check_channel_exec_request(self, channel, command):
        return False

    def check_channel_subsystem_request(self, channel, name):
        if name != "sftp" or self.user is None or self.user.role != "admin" or self.user.must_change_password:
            return False
        return super().check_channel_subsystem_request(channel, name)


def channel_terminal(channel: paramiko.Channel, idle_timeout: float) -> Terminal:
    def read(timeout: float) -> bytes | None:
        channel.settimeout(max(0.01, timeout))
        try:
            data = channel.recv(1024)
        except TimeoutError:
            return b""
        except OSError:
            return None
        return data if data else None

    def write(data: bytes) -> None:
        channel.sendall(data)

    return Terminal(read, write, idle_timeout=idle_timeout)


class SshConsole:
    """Listens on (bind, port); one thread per connection."""

    def __init__(self, console: Console, port: int, bind: str = "127.0.0.1"):
        self.console = console
        self.bind, self.port = bind, port
        self.host_key = keys.load_or_create_host_key(console.settings)
        self._sock: socket.socket | None = None
        self._stop = threading.Event()

    def listen(self) -> SshConsole:
        family = socket.AF_INET6 if ":" in self.bind else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.bind, self.port))
        sock.listen(16)
        self.port = sock.getsockname()[1]
        self._sock = sock
        return self

    def serve_forever(self) -> None:
        assert self._sock is not None
        self._sock.settimeout(0.5)
        while not self._stop.is_set():
            try:
                conn, addr = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                if self._stop.is_set():
                    break
                raise
            threading.Thread(target=self._connection, args=(conn, addr[0]), daemon=True,
                             name=f"ssh-{addr[0]}").start()

    def stop(self) -> None:
        self._stop.set()
        if self._sock is not None:
            self._sock.close()

    def _connection(self, conn: socket.socket, client_ip: str) -> None:
        transport = paramiko.Transport(conn)
        try:
            transport.add_server_key(self.host_key)
            transport.set_subsystem_handler("sftp", paramiko.SFTPServer, BackupFolderSFTP,
                                            root=str(backups_dir(self.console.settings)))
            server = _Server(self.console, client_ip)
            try:
                transport.start_server(server=server)
            except (paramiko.SSHException, EOFError, OSError):
                return
            channel = transport.accept(CHANNEL_WAIT_S)
            if channel is None:
                return
            if not server.shell_requested.wait(CHANNEL_WAIT_S):
                # An SFTP-only client: its subsystem runs in paramiko's own thread until it closes.
                while transport.is_active():
                    transport.join(1.0)
                return
            self._session(channel, server, client_ip)
        except Exception:
            log.exception("ssh session from %s failed", client_ip)
        finally:
            transport.close()

    def _session(self, channel: paramiko.Channel, server: _Server, client_ip: str) -> None:
        term = channel_terminal(channel, self.console.idle_timeout)
        user = server.user
        try:
            banner(term, self.console)
            if user.must_change_password:
                if server.password is None or not forced_password_change(term, user.login, server.password,
                                                                         client_ip):
                    return
            session = Session(term=term, login=user.login, role=user.role, transport="ssh", source=client_ip,
                              context=self.console)

            def relay(argv: list[str]) -> None:
                def resized():
                    size, server.size_changed = server.size_changed, None
                    return size
                run_pty(argv, term.transport_read, term.write_raw, size=server.term_size, resized=resized)

            session.data["shell_relay"] = relay
            term.say(f"Welcome, {user.login}.")
            run_menu(main_menu(), session)
            term.say("Logged out.")
        except Disconnected:
            pass
        finally:
            try:
                channel.send_exit_status(0)
            except (OSError, EOFError):
                pass
            channel.close()


def run(console: Console, port: int, bind: str = "127.0.0.1") -> int:
    server = SshConsole(console, port, bind).listen()
    print(f"SSH console on {bind}:{server.port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0
