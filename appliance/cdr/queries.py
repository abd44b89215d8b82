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
        "worker": cdr.worker, "direction": cdr.direction, "trunk": cdr.trunk, "cost": cdr.cost,
    }


def cost_totals(since: dt.datetime | None, until: dt.datetime | None) -> dict:
    """What priced calls (outbound, with a cost) started in the period cost, per user and per trunk.

    Amounts are summed per currency (each trunk's price list has its own): every total carries its
    currency; a trunk whose list is gone counts under currency "".
    """
    from peewee import fn

    from appliance.prices.models import PriceList
    from appliance.trunks.models import Trunk

    query = (Cdr.select(Cdr.caller, Cdr.trunk, fn.COUNT(Cdr.id), fn.SUM(Cdr.billsec), fn.SUM(Cdr.cost),
                        fn.MAX(Cdr.caller_name))
             .where(Cdr.end.is_null(False) & Cdr.cost.is_null(False)))
    if since:
        query = query.where(Cdr.start >= since)
    if until:
        query = query.where(Cdr.start <= until)
    groups = list(query.group_by(Cdr.caller, Cdr.trunk).tuples())
    currency_of = dict(Trunk.select(Trunk.name, PriceList.currency)
                       .join(PriceList, on=(Trunk.price_list == PriceList.name)).tuples())

    def add(table: dict, key: tuple, extra: dict, calls: int, billsec: int, cost: float) -> None:
        entry = table.setdefault(key, {**extra, "calls": 0, "billsec": 0, "cost": 0.0})
        entry["calls"] += calls
        entry["billsec"] += billsec or 0
        entry["cost"] += cost or 0.0

    users: dict = {}
    trunks: dict = {}
    overall: dict = {}
    for caller, trunk, calls, billsec, cost, name in groups:
        currency = currency_of.get(trunk, "")
        add(users, (caller, currency), {"user": caller, "name": name or "", "currency": currency}, calls, billsec,
            cost)
        add(trunks, (trunk, currency), {"trunk": trunk, "currency": currency}, calls, billsec, cost)
        add(overall, (currency,), {"currency": currency}, calls, billsec, cost)

    def rows(table: dict) -> list[dict]:
        return [{**entry, "cost": round(entry["cost"], 4)} for _, entry in sorted(table.items())]

    def iso(value):
        return value.isoformat(timespec="seconds") if value else None

    return {"from": iso(since), "to": iso(until), "users": rows(users), "trunks": rows(trunks),
            "total": rows(overall)}


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
