"""Call history files: finished calls appended to <call_history folder>/calls-YYYY-MM.csv.

The store keeps every call (the Calls page, the API, backups); these monthly CSV files are the copy
that lives where the admin placed "call history" (a USB stick, typically), written by the storage
daemon. The last call written is remembered in <data>/call-history.cursor.
"""

from __future__ import annotations

import csv
import io
import logging
import os

from appliance.settings import Settings
from storage import placement

log = logging.getLogger(__name__)

COLUMNS = ("id", "call_id", "start", "answer", "end", "caller", "caller_name", "callee", "direction", "trunk",
           "disposition", "billsec", "hangup_cause", "cost")
BATCH = 5000


def cursor_path(settings: Settings):
    return settings.data_dir / "call-history.cursor"


def folder(settings: Settings):
    return placement.folder(settings, "call_history")


def export(settings: Settings) -> int:
    """Append the calls finished since the last export; returns how many."""
    from appliance.cdr import Cdr

    try:
        last = int(cursor_path(settings).read_text().strip() or 0)
    except (OSError, ValueError):
        last = 0
    # A call still up holds back those after it, so each call is written once, finished.
    open_first = Cdr.select(Cdr.id).where(Cdr.end.is_null(), Cdr.id > last).order_by(Cdr.id).limit(1).scalar()
    query = Cdr.select().where(Cdr.id > last, Cdr.end.is_null(False))
    if open_first is not None:
        query = query.where(Cdr.id < open_first)
    rows = list(query.order_by(Cdr.id).limit(BATCH))
    if not rows:
        return 0
    target = folder(settings)
    target.mkdir(parents=True, exist_ok=True)
    by_month: dict[str, list] = {}
    for row in rows:
        by_month.setdefault(f"{row.start:%Y-%m}", []).append(row)
    for month, calls in by_month.items():
        path = target / f"calls-{month}.csv"
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        if not path.exists():
            writer.writerow(COLUMNS)
        for call in calls:
            writer.writerow([_text(getattr(call, c)) for c in COLUMNS])
        with open(path, "a", newline="") as out:
            out.write(buffer.getvalue())
            out.flush()
            os.fsync(out.fileno())
    cursor_path(settings).write_text(f"{rows[-1].id}\n")
    return len(rows)


def _text(value) -> str:
    if value is None:
        return ""
    if hasattr(value, "isoformat"):
        return value.isoformat(sep=" ", timespec="seconds")
    return str(value)
