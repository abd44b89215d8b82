"""A dumb terminal over a byte stream: the one I/O layer of the serial and SSH menus.

The transport gives two callables: `read(timeout) -> bytes` (b"" when nothing
came within `timeout` seconds; raise EOFError or return None when the peer is
gone) and `write(bytes)`. Everything the menus print goes through here, so it
holds on any terminal a technician may plug in: plain ASCII-safe UTF-8, lines
of at most 80 columns, CRLF line ends, no colour or cursor control. Input is
read a byte at a time with local line editing (backspace/DEL erase, Ctrl-U
clears the line, Ctrl-C cancels the prompt, Ctrl-D on an empty line ends the
session), echo off for passwords, and an idle timeout.
"""

from __future__ import annotations

import textwrap
import time
from collections.abc import Callable

WIDTH = 80
CRLF = b"\r\n"
BACKSPACES = (b"\x08", b"\x7f")
CTRL_C, CTRL_D, CTRL_U, ESC = b"\x03", b"\x04", b"\x15", b"\x1b"
MAX_LINE = 256
DEFAULT_IDLE_S = 300.0


class Disconnected(Exception):
    """The peer went away (EOF, Ctrl-D on an empty line)."""


class IdleTimeout(Disconnected):
    """Nothing typed for too long: the session ends."""


class Cancelled(Exception):
    """Ctrl-C at a prompt: back to the menu."""


class Terminal:
    def __init__(self, read: Callable[[float], bytes | None], write: Callable[[bytes], object], *,
                 idle_timeout: float = DEFAULT_IDLE_S, width: int = WIDTH):
        self._read, self._send = read, write
        self.idle_timeout = idle_timeout
        self.width = width
        self._pending = b""

    def transport_read(self, timeout: float) -> bytes | None:
        """Raw bytes from the transport (what was read ahead first), for relays such as a shell."""
        if self._pending:
            data, self._pending = self._pending, b""
            return data
        return self._read(timeout)

    # -- output -------------------------------------------------------------------------------
    def _write(self, data: bytes) -> None:
        try:
            self._send(data)
        except (OSError, EOFError) as exc:
            raise Disconnected() from exc

    def write_raw(self, data: bytes) -> None:
        self._write(data)

    def say(self, text: str = "") -> None:
        """Print text: each line wrapped to the terminal width, CRLF line ends."""
        out: list[str] = []
        for line in str(text).split("\n"):
            line = line.rstrip("\r")
            if len(line) <= self.width:
                out.append(line)
                continue
            indent = " " * (len(line) - len(line.lstrip(" ")))
            out.extend(textwrap.wrap(line, self.width, subsequent_indent=indent, break_long_words=True,
                                     break_on_hyphens=False) or [""])
        self._write(CRLF.join(s.encode("utf-8", "replace") for s in out) + CRLF)

    def table(self, headers: tuple[str, ...], rows: list[tuple], empty: str = "(none)") -> None:
        """A fixed-width table that fits the width: columns shrink from the widest, cells are cut with '~'."""
        cells = [[str(h) for h in headers]] + [["" if v is None else str(v) for v in row] for row in rows]
        widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
        while sum(widths) + 2 * (len(widths) - 1) > self.width and max(widths) > 4:
            widths[widths.index(max(widths))] -= 1

        def fmt(row):
            return "  ".join((c if len(c) <= w else c[: w - 1] + "~").ljust(w)
                             for c, w in zip(row, widths, strict=True)).rstrip()

        self.say(fmt(cells[0]))
        self.say("  ".join("-" * w for w in widths))
        for row in cells[1:]:
            self.say(fmt(row))
        if not rows:
            self.say(empty)

    # -- input --------------------------------------------------------------------------------
    def read_byte(self, timeout: float | None = None) -> bytes:
        """One byte; raises IdleTimeout after `timeout` (default: the idle timeout) with nothing typed."""
        if self._pending:
            byte, self._pending = self._pending[:1], self._pending[1:]
            return byte
        limit = self.idle_timeout if timeout is None else timeout
        deadline = time.monotonic() + limit
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise IdleTimeout()
            try:
                data = self._read(min(left, 0.5))
            except (EOFError, OSError) as exc:
                raise Disconnected() from exc
            if data is None:
                raise Disconnected()
            if data:
                self._pending = data[1:]
                return data[:1]

    def poll_key(self, timeout: float) -> bytes | None:
        """A byte if one arrives within `timeout`, else None (does not count as idle)."""
        try:
            return self.read_byte(timeout)
        except IdleTimeout:
            return None

    def read_line(self, prompt: str = "", *, echo: bool = True, timeout: float | None = None,
                  max_length: int = MAX_LINE) -> str:
        """A line typed by the user, edited locally. `echo=False` for passwords (nothing is shown)."""
        if prompt:
            self._write(prompt.encode("utf-8", "replace"))
        buffer = bytearray()
        while True:
            byte = self.read_byte(timeout)
            if byte in (b"\r", b"\n"):
                if byte == b"\r":
                    follow = self.poll_key(0.05)  # CR LF or CR NUL from some terminals
                    if follow not in (None, b"\n", b"\x00"):
                        self._pending = follow + self._pending
                self._write(CRLF)
                return buffer.decode("utf-8", "replace").strip()
            if byte in BACKSPACES:
                if buffer:
                    # Drop a whole UTF-8 character.
                    while len(buffer) > 1 and (buffer[-1] & 0xC0) == 0x80:
                        del buffer[-1]
                    del buffer[-1]
                    if echo:
                        self._write(b"\x08 \x08")
                continue
            if byte == CTRL_U:
                if echo and buffer:
                    count = len(buffer.decode("utf-8", "replace"))
                    self._write(b"\x08 \x08" * count)
                buffer.clear()
                continue
            if byte == CTRL_C:
                self._write(b"^C" + CRLF)
                raise Cancelled()
            if byte == CTRL_D:
                if not buffer:
                    self._write(CRLF)
                    raise Disconnected()
                continue
            if byte == ESC:
                self._skip_escape()
                continue
            if byte[0] < 0x20:
                continue  # other control characters are ignored
            if len(buffer) >= max_length:
                continue
            buffer += byte
            if echo:
                self._write(byte)

    def _skip_escape(self) -> None:
        """Swallow an ANSI escape sequence (arrow keys...): the menus edit lines only with backspace."""
        first = self.poll_key(0.05)
        if first == b"[" or first == b"O":
            for _ in range(8):
                nxt = self.poll_key(0.05)
                if nxt is None or 0x40 <= nxt[0] <= 0x7E:
                    return

    # -- prompts ------------------------------------------------------------------------------
    def ask(self, prompt: str, validate: Callable[[str], object] | None = None, *, echo: bool = True,
            attempts: int = 3, allow_empty: bool = False):
        """Ask until `validate(text)` returns a value (it raises ValueError with the reason otherwise).

        Returns None when the user gives up (empty answer, or `attempts` invalid answers)."""
        for _ in range(attempts):
            text = self.read_line(prompt, echo=echo)
            if not text and not allow_empty:
                return None
            if validate is None:
                return text
            try:
                return validate(text)
            except ValueError as exc:
                self.say(f"  {exc}")
        self.say("Too many invalid answers.")
        return None

    def confirm(self, word: str, what: str) -> bool:
        """A destructive action goes ahead only if the user types `word` exactly."""
        self.say(what)
        answer = self.read_line(f"Type {word} to confirm, anything else cancels: ")
        if answer == word:
            return True
        self.say("Cancelled: nothing was changed.")
        return False

    def pause(self, text: str = "Press Enter to continue.") -> None:
        self.read_line(text, echo=False)
