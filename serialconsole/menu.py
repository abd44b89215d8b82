"""Numbered menus: the one engine the serial and SSH consoles share.

A `Menu` is a title and numbered `Entry`s. `run_menu` prints it, reads a
number, checks the entry is allowed for the logged-in account (an entry the
account may not use is still listed, with why it is refused when chosen), runs
its action, and comes back, until "0" (back / log out), Ctrl-D, or the idle
timeout. An action that raises `Cancelled` (Ctrl-C at one of its prompts)
returns to the menu; any other error is reported in one line, never a
traceback on the technician's terminal.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from serialconsole.terminal import Cancelled, Terminal

log = logging.getLogger(__name__)


@dataclass
class Session:
    """Who is logged in, on what: passed to every action."""

    term: Terminal
    login: str = ""
    role: str = ""
    transport: str = ""          # "serial" or "ssh"
    source: str = ""             # "serial:/dev/ttyS0", or the SSH client's IP address
    context: object = None       # serialconsole.actions.Console: settings and system actions
    data: dict = field(default_factory=dict)

    @property
    def is_super_admin(self) -> bool:
        from serialconsole.auth import is_super_admin

        return is_super_admin(self.login)

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


# An entry's guard: None when allowed, else the reason it is refused.
Guard = Callable[[Session], str | None]


@dataclass
class Entry:
    key: str
    label: str
    action: Callable[[Session], object]
    guard: Guard | None = None


@dataclass
class Menu:
    title: str
    entries: list[Entry]
    exit_label: str = "Log out"


def needs_admin(session: Session) -> str | None:
    return None if session.is_admin else "only an administrator may do this (your account is read-only here)"


def needs_super_admin(session: Session) -> str | None:
    if session.is_super_admin:
        return None
    return "only the super admin (the built-in admin account) may open a shell"


def render(term: Terminal, menu: Menu, session: Session) -> None:
    term.say("")
    header = menu.title if not session.login else f"{menu.title} - {session.login}"
    term.say(header[: term.width])
    term.say("=" * min(len(header), term.width))
    for entry in menu.entries:
        term.say(f"{entry.key:>2}  {entry.label}")
    term.say(f"{'0':>2}  {menu.exit_label}")


def run_menu(menu: Menu, session: Session) -> None:
    """Show the menu until the user leaves it ("0"). Disconnected/IdleTimeout propagate to the caller."""
    term = session.term
    by_key = {e.key: e for e in menu.entries}
    while True:
        render(term, menu, session)
        try:
            choice = term.read_line("Choice: ")
        except Cancelled:
            continue
        if choice in ("0", "q", "quit", "exit"):
            return
        if not choice:
            continue
        entry = by_key.get(choice)
        if entry is None:
            term.say(f"No entry {choice[:10]!r}: type one of the numbers above.")
            continue
        refusal = entry.guard(session) if entry.guard else None
        if refusal:
            term.say(f"Refused: {refusal}.")
            continue
        run_action(entry, session)


def run_action(entry: Entry, session: Session) -> None:
    try:
        entry.action(session)
    except Cancelled:
        session.term.say("Cancelled.")
    except (KeyboardInterrupt, SystemExit):
        raise
    except Exception as exc:
        from serialconsole.terminal import Disconnected

        if isinstance(exc, Disconnected):
            raise
        log.exception("console action %r failed", entry.label)
        session.term.say(f"Error: {_one_line(exc)}")


def _one_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:200]
