"""The debug trace of each call: which procedure, number and applications ran, when, with what result.

One JSON-lines file per call, `log_dir/dialplan/<YYYY-MM-DD>/<call id>.jsonl`,
appended (and flushed) as the call goes, so the UI can show a call live and
afterwards from the same file. Files, not the store: a trace is a log, and
a call writing a step per application must not queue behind configuration
writes. `prune` keeps TRACE_DAYS days.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import re
import shutil
import time
from pathlib import Path

from appliance.settings import Settings

log = logging.getLogger(__name__)

TRACE_DAYS = 7
_SAFE = re.compile(r"[^A-Za-z0-9._@-]")


def trace_dir(settings: Settings) -> Path:
    return settings.log_dir / "dialplan"


def _file_name(call_id: str) -> str:
    safe = _SAFE.sub("_", call_id)[:80]
    if safe != call_id:
        safe += "-" + hashlib.sha1(call_id.encode()).hexdigest()[:8]
    return safe + ".jsonl"


class Trace:
    """Steps of one call. `step()` never raises: a full disk must not end a call."""

    def __init__(self, settings: Settings, call_id: str, started: dt.datetime | None = None):
        started = started or dt.datetime.now(dt.UTC)
        self.path = trace_dir(settings) / started.strftime("%Y-%m-%d") / _file_name(call_id)
        self._t0 = time.monotonic()
        self._file = None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = open(self.path, "a", encoding="utf-8")
        except OSError:
            log.exception("cannot open the dialplan trace %s", self.path)

    def step(self, event: str, **data) -> None:
        """Append one step: event name (match, app, result, goto, end, error...) and its details."""
        if self._file is None:
            return
        record = {"ms": round((time.monotonic() - self._t0) * 1000), "at": dt.datetime.now(dt.UTC).isoformat(
            timespec="milliseconds"), "event": event, **data}
        try:
            self._file.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")
            self._file.flush()
        except OSError:
            log.exception("cannot write the dialplan trace %s", self.path)

    def close(self) -> None:
        if self._file is not None:
            try:
                self._file.close()
            except OSError:
                pass
            self._file = None


def find(settings: Settings, call_id: str) -> Path | None:
    """The trace file of `call_id`, most recent day first (None if there is none)."""
    root = trace_dir(settings)
    if not root.is_dir():
        return None
    name = _file_name(call_id)
    for day in sorted(root.iterdir(), reverse=True):
        path = day / name
        if path.is_file():
            return path
    return None


def read(settings: Settings, call_id: str) -> list[dict] | None:
    """The steps of a call's trace, or None when there is no trace for it."""
    path = find(settings, call_id)
    if path is None:
        return None
    steps = []
    with open(path, encoding="utf-8") as file:
        for line in file:
            try:
                steps.append(json.loads(line))
            except ValueError:
                continue  # a line being written right now
    return steps


def prune(settings: Settings, days: int = TRACE_DAYS) -> int:
    """Delete day folders older than `days`; return how many were removed."""
    root = trace_dir(settings)
    if not root.is_dir():
        return 0
    oldest = (dt.datetime.now(dt.UTC) - dt.timedelta(days=days)).strftime("%Y-%m-%d")
    removed = 0
    for day in root.iterdir():
        if day.is_dir() and day.name < oldest:
            shutil.rmtree(day, ignore_errors=True)
            removed += 1
    return removed
