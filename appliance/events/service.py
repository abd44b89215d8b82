"""Reading the event log: filters (kind, severity, subject, since, until), paging, the public form."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from appliance.errors import ValidationError
from appliance.events.log import KINDS, SEVERITIES
from appliance.events.models import Event

LIMIT_MAX = 1000
LIMIT_DEFAULT = 100
TEXT_MAX = 128
FILTERS = ("kind", "severity", "subject", "since", "until", "limit", "offset")


@dataclass(slots=True, frozen=True)
class EventFilter:
    kind: str = ""       # an exact kind ("fraud.blocked") or a family ending with "." or ".*" ("fraud.")
    severity: str = ""
    subject: str = ""
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    limit: int = LIMIT_DEFAULT
    offset: int = 0


def parse_filter(params: dict) -> EventFilter:
    """An EventFilter from text parameters (a query string); raises ValidationError naming the bad one."""
    kind = _text(params.get("kind"), "kind")
    family = kind.removesuffix("*")
    if kind and kind not in KINDS and not (family.endswith(".") and any(k.startswith(family) for k in KINDS)):
        raise ValidationError("kind", "must be an event kind (such as fraud.blocked) or a family such as fraud.*")
    severity = _text(params.get("severity"), "severity")
    if severity and severity not in SEVERITIES:
        raise ValidationError("severity", "must be one of " + ", ".join(SEVERITIES))
    since = _moment(params.get("since"), "since", end_of_day=False)
    until = _moment(params.get("until"), "until", end_of_day=True)
    if since and until and since > until:
        raise ValidationError("until", "must not be before since")
    return EventFilter(kind=kind, severity=severity, subject=_text(params.get("subject"), "subject"),
                       since=since, until=until, limit=_int(params.get("limit"), "limit", LIMIT_DEFAULT, 1, LIMIT_MAX),
                       offset=_int(params.get("offset"), "offset", 0, 0, 10**9))


def list_events(f: EventFilter | None = None) -> list[Event]:
    """Events matching the filter, newest first."""
    f = f or EventFilter()
    query = Event.select()
    if f.kind:
        family = f.kind.removesuffix("*")
        query = query.where(Event.kind.startswith(family) if family.endswith(".") else Event.kind == f.kind)
    if f.severity:
        query = query.where(Event.severity == f.severity)
    if f.subject:
        query = query.where(Event.subject == f.subject)
    if f.since:
        query = query.where(Event.at >= f.since)
    if f.until:
        query = query.where(Event.at <= f.until)
    return list(query.order_by(Event.at.desc(), Event.id.desc()).limit(f.limit).offset(f.offset))


def to_public(event: Event) -> dict:
    return {"id": event.id, "at": event.at.isoformat(timespec="seconds") + "Z", "kind": event.kind,
            "severity": event.severity, "subject": event.subject, "message": event.message,
            "details": event.details or {}, "emailed": bool(event.emailed)}


def _text(value: object, field: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValidationError(field, "must be text")
    text = value.strip()
    if len(text) > TEXT_MAX:
        raise ValidationError(field, f"must be at most {TEXT_MAX} characters long")
    return text


def _moment(value: object, field: str, end_of_day: bool) -> dt.datetime | None:
    text = _text(value, field)
    if not text:
        return None
    try:
        if len(text) == 10:
            day = dt.date.fromisoformat(text)
            return dt.datetime.combine(day, dt.time.max if end_of_day else dt.time.min)
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValidationError(field, "must be a date (YYYY-MM-DD) or date-time (YYYY-MM-DDTHH:MM:SSZ)") from None
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
