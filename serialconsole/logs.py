"""The system log on the console: the services' log files (log/*.log) and the event log.

Entry 5 prints the last lines of every service log, then follows them (new
lines as they are written, each prefixed with its service) until a key is
pressed. The event log entry lists the latest events (trunks, bans, fraud...).
"""

from __future__ import annotations

import os
from pathlib import Path

from serialconsole.menu import Session

TAIL_LINES = 10
FOLLOW_POLL_S = 0.3
READ_MAX = 64 * 1024


def log_files(log_dir: Path) -> list[Path]:
    try:
        return sorted(p for p in log_dir.glob("*.log") if p.is_file())
    except OSError:
        return []


def tail(path: Path, lines: int = TAIL_LINES) -> list[str]:
    """The last `lines` lines of a file, reading at most READ_MAX bytes from its end."""
    try:
        with open(path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(0, size - READ_MAX))
            data = fh.read()
    except OSError:
        return []
    text = data.decode("utf-8", "replace").splitlines()
    if size > READ_MAX and text:
        text = text[1:]  # first one is probably cut
    return text[-lines:]


def follow(session: Session) -> None:
    """Last lines of each service log, then new lines as they come, until a key is pressed."""
    term = session.term
    log_dir = session.context.settings.log_dir
    files = log_files(log_dir)
    if not files:
        term.say(f"No log file in {log_dir} yet.")
    positions: dict[Path, int] = {}
    for path in files:
        for line in tail(path):
            term.say(f"[{path.stem}] {line}")
        positions[path] = _size(path)
    term.say("-- following the system log; press any key to stop --")
    while True:
        key = term.poll_key(FOLLOW_POLL_S)
        if key is not None:
            term.say("-- stopped --")
            return
        for path in log_files(log_dir):
            start = positions.get(path, 0)
            size = _size(path)
            if size < start:
                start = 0  # rotated or truncated
            if size == start:
                positions[path] = size
                continue
            with open(path, "rb") as fh:
                fh.seek(start)
                data = fh.read(READ_MAX)
            # Only whole lines; a partial last line waits for the next round.
            cut = data.rfind(b"\n") + 1
            if cut == 0 and len(data) < READ_MAX:
                continue
            cut = cut or len(data)
            for line in data[:cut].decode("utf-8", "replace").splitlines():
                term.say(f"[{path.stem}] {line}")
            positions[path] = start + cut


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def events(session: Session, count: int = 20) -> None:
    from appliance.events.models import Event

    term = session.term
    rows = list(Event.select().order_by(Event.id.desc()).limit(count))
    term.say(f"Last {len(rows)} events (newest first, times in UTC)")
    for e in rows:
        when = f"{e.at:%Y-%m-%d %H:%M:%S}" if e.at else ""
        term.say(f"{when}  {e.severity:<7}  {e.kind}")
        term.say(f"    {e.message}")
    if not rows:
        term.say("(none)")
