"""What the console does to the host: reboot, shut down, ping, a shell. Injectable.

`SystemActions(lab=True)` (lab mode, tests, a developer's machine) never
reboots or powers off: it says what the appliance would run. The image
passes lab=False. Tests may pass their own subclass.
"""

from __future__ import annotations

import os
import pty
import select
import shutil
import signal
import struct
import subprocess
import termios
import time
from collections.abc import Callable, Iterator

PING_COUNT = 4


class SystemActions:
    def __init__(self, lab: bool = True):
        self.lab = lab

    def reboot(self) -> str:
        return self._power("reboot")

    def shutdown(self) -> str:
        return self._power("poweroff")

    def _power(self, verb: str) -> str:
        argv = ["systemctl", verb]
        if self.lab:
            return f"Lab mode: the appliance would now run `{' '.join(argv)}`; this machine keeps running."
        subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return "The system is going down now." if verb == "poweroff" else "The system is rebooting now."

    def ping(self, address: str, count: int = PING_COUNT) -> Iterator[str]:
        """Lines of `ping -c` to one address (already validated as an IP literal)."""
        exe = shutil.which("ping")
        if exe is None:
            yield "ping is not installed on this system."
            return
        argv = [exe, "-c", str(count), "-W", "2"] + (["-6"] if ":" in address else []) + ["--", address]
        with subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True, errors="replace") as proc:
            for line in proc.stdout:
                yield line.rstrip("\n")

    def shell_argv(self) -> list[str]:
        return [shutil.which("bash") or "/bin/sh", "-l"]


def run_pty(argv: list[str], read: Callable[[float], bytes | None], write: Callable[[bytes], object], *,
            size: tuple[int, int] = (80, 24), env: dict | None = None,
            resized: Callable[[], tuple[int, int] | None] | None = None) -> int:
    """Run `argv` on a new pseudo-terminal, relaying bytes both ways until it exits; returns its status."""
    pid, master = pty.fork()
    if pid == 0:  # child: a real terminal for the shell
        try:
            os.execvpe(argv[0], argv, env if env is not None else os.environ)
        finally:
            os._exit(127)
    _set_size(master, size)
    status = None
    try:
        while True:
            if resized is not None:
                new = resized()
                if new:
                    _set_size(master, new)
            ready, _, _ = select.select([master], [], [], 0.02)
            if ready:
                try:
                    data = os.read(master, 4096)
                except OSError:
                    data = b""
                if not data:
                    break
                write(data)
                continue
            done, code = os.waitpid(pid, os.WNOHANG)
            if done:
                status = code
                # Drain what the shell printed last.
                while select.select([master], [], [], 0.05)[0]:
                    try:
                        data = os.read(master, 4096)
                    except OSError:
                        break
                    if not data:
                        break
                    write(data)
                break
            try:
                incoming = read(0.03)
            except (EOFError, OSError):
                incoming = None
            if incoming is None:
                os.kill(pid, signal.SIGHUP)
                break
            if incoming:
                os.write(master, incoming)
    finally:
        os.close(master)
        if status is None:
            for _ in range(50):
                done, code = os.waitpid(pid, os.WNOHANG)
                if done:
                    status = code
                    break
                time.sleep(0.02)
            else:
                os.kill(pid, signal.SIGKILL)
                _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


def _set_size(fd: int, size: tuple[int, int]) -> None:
    cols, rows = size
    try:
        import fcntl

        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    except OSError:
        pass
