"""Running system tools: argument lists only (never a shell string), bounded in time, errors told plainly."""

from __future__ import annotations

import logging
import shutil
import subprocess

log = logging.getLogger(__name__)


class CommandFailed(Exception):
    def __init__(self, argv: list[str], message: str):
        super().__init__(f"{argv[0]}: {message}")
        self.argv = argv
        self.message = message


def run(argv: list[str], *, input_text: str | None = None, timeout: float = 120.0) -> str:
    """Run `argv` (a list), return its stdout; CommandFailed with its stderr if it fails."""
    if not isinstance(argv, list) or not all(isinstance(a, str) for a in argv):
        raise TypeError("argv must be a list of strings")
    exe = shutil.which(argv[0])
    if exe is None:
        raise CommandFailed(argv, "is not installed on this system")
    log.info("running %s", " ".join(argv))
    try:
        done = subprocess.run([exe, *argv[1:]], input=input_text, capture_output=True, text=True,
                              timeout=timeout, stdin=None if input_text is not None else subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise CommandFailed(argv, f"did not finish within {timeout:.0f} s") from None
    if done.returncode != 0:
        message = (done.stderr or done.stdout or "").strip().splitlines()
        raise CommandFailed(argv, message[-1] if message else f"exited with status {done.returncode}")
    return done.stdout
