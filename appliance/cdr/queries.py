"""Reading call records: calls in progress and filtered call history."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from appliance.cdr.models import Cdr, Disposition
from appliance.errors import ValidationError

HISTORY_LIMIT_MAX = 1000
FILTER_TEXT_MAX = 64


@dataclass(slots=True, frozen=True)
class HistoryFilter:
    """What the call history is narrowed to; every field optional."""

    since: dt.datetime | None = None
    until: dt.datetime | None = None
    caller: str = ""
    callee: str = ""
    disposition: str = ""
    limit: int = 200
    offset: int = 0


def parse_filter(params: dict) -> HistoryFilter:
    """Build a HistoryFilter from text parameters (query string or form); raise naming the bad one.

    `from`/`to` are dates (YYYY-MM-DD, `to` inclusive) or ISO date-times.
    """
    since = _moment(params.get("from"), "from", end_of_day=False)
    until = _moment(params.get("to"), "to", end_of_day=True)
    if since and until and since > until:
        raise ValidationError("to", "must not be before from")
    disposition = _text(params.get("disposition"), "disposition")
    if disposition and disposition not in tuple(d.value for d in Disposition):
        raise ValidationError("disposition", "must be one of " + ", ".join(d.value for d in Disposition))
    return HistoryFilter(
        since=since, until=until,
        caller=_text(params.get("caller"), "caller"), callee=_text(params.get("callee"), "callee"),
        disposition=disposition,
        limit=_int(params.get("limit"), "limit", 200, 1, HISTORY_LIMIT_MAX),
        offset=_int(params.get("offset"), "offset", 0, 0, 10**9),
    )


def in_progress() -> list[Cdr]:
    """Calls up right now (no end yet), oldest first."""
    return list(Cdr.select().where(Cdr.end.is_null()).order_by(Cdr.start))


def count_in_progress() -> int:
    return Cdr.select().where(Cdr.end.is_null()).count()


def history(f: HistoryFilter) -> list[Cdr]:
    """Finished calls matching the filter, newest first."""
    query = Cdr.select().where(Cdr.end.is_null(False))
    if f.since:
        query = query.where(Cdr.start >= f.since)
    if f.until:
        query = query.where(Cdr.start <= f.until)
    if f.caller:
        query = query.where(Cdr.caller.contains(f.caller))
    if f.callee:
        query = query.where(Cdr.callee.contains(f.callee))
    if f.disposition:
        query = query.where(Cdr.disposition == f.disposition)
    return list(query.order_by(Cdr.start.desc(), Cdr.id.desc()).limit(f.limit).offset(f.offset))


def to_public(cdr: Cdr) -> dict:
    def iso(value):
        return value.isoformat(timespec="seconds") if value else None

    return {
        "call_id": cdr.call_id, "caller": cdr.caller, "caller_name": cdr.caller_name, "callee": cdr.callee,
        "start": iso(cdr.start), "answer": iso(cdr.answer), "end": iso(cdr.end),
        "billsec": cdr.billsec, "disposition": cdr.disposition, "hangup_cause": cdr.hangup_cause,
        "worker": cdr.worker,
    }


def _text(value: object, field: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValidationError(field, "must be text")
    text = value.strip()
    if len(text) > FILTER_TEXT_MAX:
        raise ValidationError(field, f"must be at most {FILTER_TEXT_MAX} characters long")
    return text


def _moment(value: object, field: str, end_of_day: bool) -> dt.datetime | None:
    text = _text(value, field)
    if not text:
        return None
    try:
        if len(text) == 10:
            day = dt.date.fromisoformat(text)
            return dt.datetime.combine(day, dt.time.max if end_of_day else dt.time.min)
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise ValidationError(field, "must be a date (YYYY-MM-DD) or date-time (YYYY-MM-DDTHH:MM:SS)") from None
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC).replace(tzinfo=None)
    return moment


def _int(value: object, field: str, default: int, low: int, high: int) -> int:
    text = _text(value, field)
    if not text:
        return default
    if not text.isdigit() or not (low <= int(text) <= high):
        raise ValidationError(field, f"must be a whole number from {low} to {high}")
    return int(text)
