"""Time ranges: validation, create/change/delete, and "is this moment inside the range?".

A time range (model appliance.dialplan.models.TimeRange) is inside at a
local moment when:
    1. holiday_mode is "outside" and the day is a holiday -> outside, all day;
       holiday_mode is "inside" and the day is a holiday  -> inside, all day;
       holiday_mode is "ignore": holidays change nothing;
    2. otherwise when any weekly interval holds: the weekday is one of its `days`,
       the day of the month is within its `month_days` and the month within its `months`
       (when given), and start <= time < end.

Conventions (the validation enforces them, the UI says them):
    - Times are wall-clock times of the appliance's time zone, "HH:MM". `start` is
      00:00..23:59, `end` is 00:01..24:00, strictly after `start`; "24:00" means "until
      midnight" (the end of that day). An interval never crosses midnight: an overnight
      range is written as two intervals, e.g. Friday 22:00-24:00 and Saturday 00:00-06:00.
    - DST: evaluated on the local wall clock, so "08:00-12:00" is 08:00-12:00 both sides of a
      change; on the spring-forward day the skipped hour (02:00-03:00 in Europe) never
      happens, and on the fall-back day the repeated hour is inside twice if it is in a range.
    - month_days [first, last] (1..31) and months [first, last] (1..12) are inclusive and may
      wrap around: months [11, 2] is November to February, month_days [25, 5] the 25th to the
      5th of the next month. [n, n] is the one day or month n.
    - Holidays: {"kind": "fixed", "date": "YYYY-MM-DD"} one date; {"kind": "yearly", "date":
      "MM-DD"} every year; {"kind": "easter", "offset": days} Easter Sunday + offset each year
      (-2 Good Friday, +1 Easter Monday, +39 Ascension, +50 Whit Monday); each with an optional
      "name". `country_holidays` adds the public holidays of the system's country
      (appliance.dialplan.holidays).
    - A range with no interval is never inside except on holidays with holiday_mode "inside"
      (a "public holidays" range).
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Iterable

import peewee

from appliance.dialplan import holidays as holiday_rules
from appliance.dialplan.models import NAME_RE, TimeRange, bump_revision
from appliance.errors import Conflict, NotFound, ValidationError, reject_unknown_fields
from appliance.store import database

log = logging.getLogger(__name__)

FIELDS = ("name", "description", "intervals", "holidays", "country_holidays", "holiday_mode")
HOLIDAY_MODES = ("outside", "inside", "ignore")
HOLIDAY_KINDS = ("fixed", "yearly", "easter")
MAX_INTERVALS = 100
MAX_HOLIDAYS = 400
DESCRIPTION_MAX = 255
HOLIDAY_NAME_MAX = 64
EASTER_OFFSET = (-200, 200)
INTERVAL_KEYS = ("days", "start", "end", "month_days", "months")
HOLIDAY_KEYS = {"fixed": ("kind", "date", "name"), "yearly": ("kind", "date", "name"),
                "easter": ("kind", "offset", "name")}
_NAME = re.compile(NAME_RE)
_TIME = re.compile(r"^([0-9]{1,2}):([0-9]{2})$")
_FIXED_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
_YEARLY_DATE = re.compile(r"^([0-9]{2})-([0-9]{2})$")
DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


# -- reading ----------------------------------------------------------------------------

def list_time_ranges() -> list[TimeRange]:
    return list(TimeRange.select().order_by(TimeRange.name))


def get_time_range(name: str) -> TimeRange:
    found = TimeRange.get_or_none(TimeRange.name == name)
    if found is None:
        raise NotFound("time range", name)
    return found


def to_public(row: TimeRange) -> dict:
    return {"name": row.name, "description": row.description, "intervals": row.intervals,
            "holidays": row.holidays, "country_holidays": row.country_holidays,
            "holiday_mode": row.holiday_mode, "revision": row.revision,
            "updated_at": row.updated_at.isoformat(timespec="seconds") + "Z" if row.updated_at else None}


# -- writing ----------------------------------------------------------------------------

def create_time_range(data: dict) -> TimeRange:
    """Create a time range from its JSON fields (name required; the others default)."""
    _reject_unknown(data, allow_revision=False)
    if "name" not in data:
        raise ValidationError("name", "is required")
    name = validate_name(data["name"])
    values = _validated(data)
    with database.atomic():
        if TimeRange.select().where(TimeRange.name == name).exists():
            raise ValidationError("name", f"a time range named {name} already exists")
        row = TimeRange(name=name, revision=1, updated_at=dt.datetime.utcnow())
        for field, value in values.items():
            setattr(row, field, value)
        try:
            row.save(force_insert=True)
        except peewee.IntegrityError as exc:
            raise ValidationError("name", f"a time range named {name} already exists") from exc
        bump_revision()
    log.info("time range %s created", name)
    return row


def update_time_range(name: str, data: dict) -> TimeRange:
    """Change some fields; `revision` (optional) refuses a concurrent edit (Conflict)."""
    _reject_unknown(data, allow_revision=True)
    data = dict(data)
    expected = data.pop("revision", None)
    if "name" in data and data.pop("name") != name:
        raise ValidationError("name", "cannot be changed (create a new time range instead)")
    values = _validated(data)
    with database.atomic():
        row = get_time_range(name)
        if expected is not None:
            if isinstance(expected, bool) or not isinstance(expected, int):
                raise ValidationError("revision", "must be an integer")
            if expected != row.revision:
                raise Conflict("revision", "this time range was changed by someone else; reload and try again")
        for field, value in values.items():
            setattr(row, field, value)
        row.revision += 1
        row.updated_at = dt.datetime.utcnow()
        row.save()
        bump_revision()
    log.info("time range %s changed", name)
    return row


def delete_time_range(name: str) -> None:
    """Delete a time range; refused (Conflict naming the places) while a procedure checks it."""
    from appliance.dialplan.references import refuse_if_used

    with database.atomic():
        row = get_time_range(name)
        refuse_if_used("time_range", name)
        row.delete_instance()
        bump_revision()
    log.info("time range %s deleted", name)


# -- validation ---------------------------------------------------------------------------

def _reject_unknown(data: object, allow_revision: bool) -> None:
    reject_unknown_fields(data, "time range", FIELDS, allow_revision=allow_revision)


def validate_name(value: object) -> str:
    if not isinstance(value, str) or not _NAME.match(value):
        raise ValidationError("name", "must be 1 to 64 lower-case letters, digits, - or _, starting with a "
                                      "letter or digit")
    return value


def _validated(data: dict) -> dict:
    values: dict = {}
    if "description" in data:
        values["description"] = _description(data["description"])
    if "intervals" in data:
        values["intervals"] = validate_intervals(data["intervals"])
    if "holidays" in data:
        values["holidays"] = validate_holidays(data["holidays"])
    if "country_holidays" in data:
        if not isinstance(data["country_holidays"], bool):
            raise ValidationError("country_holidays", "must be true or false")
        values["country_holidays"] = data["country_holidays"]
    if "holiday_mode" in data:
        if data["holiday_mode"] not in HOLIDAY_MODES:
            raise ValidationError("holiday_mode", "must be one of " + ", ".join(HOLIDAY_MODES))
        values["holiday_mode"] = data["holiday_mode"]
    return values


def _description(value: object) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValidationError("description", "must be text")
    text = value.strip()
    if len(text) > DESCRIPTION_MAX:
        raise ValidationError("description", f"must be at most {DESCRIPTION_MAX} characters long")
    if not text.isprintable():
        raise ValidationError("description", "must not contain control characters")
    return text


def parse_time(value: object, where: str, is_end: bool) -> int:
    """Minutes since midnight of "HH:MM" (start 00:00..23:59, end 00:01..24:00)."""
    match = _TIME.match(value) if isinstance(value, str) else None
    if match is None:
        raise ValidationError(where, 'must be a time "HH:MM"')
    hours, minutes = int(match.group(1)), int(match.group(2))
    total = hours * 60 + minutes
    if minutes > 59 or hours > 24 or total > 24 * 60:
        raise ValidationError(where, 'is not a time of the day ("00:00" to "23:59", or "24:00" for midnight '
                                     'at the end)')
    if not is_end and total == 24 * 60:
        raise ValidationError(where, 'must be at most "23:59" ("24:00" is only an end)')
    return total


def format_time(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _int(value: object, where: str, low: int, high: int, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(where, f"must be a whole number ({what})")
    if not low <= value <= high:
        raise ValidationError(where, f"must be from {low} to {high} ({what})")
    return value


def _pair(value: object, where: str, high: int, what: str) -> list[int] | None:
    if value is None:
        return None
    if not isinstance(value, list) or len(value) != 2:
        raise ValidationError(where, f"must be [first, last] ({what}) or null")
    return [_int(value[i], f"{where}.{i}", 1, high, what) for i in (0, 1)]


def validate_intervals(value: object) -> list[dict]:
    if not isinstance(value, list):
        raise ValidationError("intervals", "must be a list of intervals")
    if len(value) > MAX_INTERVALS:
        raise ValidationError("intervals", f"at most {MAX_INTERVALS} intervals")
    clean: list[dict] = []
    for index, item in enumerate(value):
        where = f"intervals.{index}"
        if not isinstance(item, dict):
            raise ValidationError(where, "must be an object with days, start and end")
        for key in item:
            if key not in INTERVAL_KEYS:
                raise ValidationError(f"{where}.{str(key)[:32]}", "is not a field of an interval")
        for key in ("days", "start", "end"):
            if key not in item:
                raise ValidationError(f"{where}.{key}", "is required")
        days = item["days"]
        if not isinstance(days, list) or not days:
            raise ValidationError(f"{where}.days", "choose at least one day")
        checked = [_int(day, f"{where}.days", 0, 6, "0 = Monday ... 6 = Sunday") for day in days]
        if len(set(checked)) != len(checked):
            raise ValidationError(f"{where}.days", "lists a day twice")
        start = parse_time(item["start"], f"{where}.start", is_end=False)
        end = parse_time(item["end"], f"{where}.end", is_end=True)
        if end <= start:
            raise ValidationError(f"{where}.end", "must be after the start (an interval cannot cross midnight: "
                                                  "end it at 24:00 and add one from 00:00 on the next day)")
        entry = {"days": sorted(checked), "start": format_time(start), "end": format_time(end),
                 "month_days": _pair(item.get("month_days"), f"{where}.month_days", 31, "day of the month"),
                 "months": _pair(item.get("months"), f"{where}.months", 12, "month")}
        for other, previous in enumerate(clean):
            if previous == entry:
                raise ValidationError(where, f"is the same as interval {other + 1}")
        clean.append(entry)
    return clean


def validate_holidays(value: object) -> list[dict]:
    if not isinstance(value, list):
        raise ValidationError("holidays", "must be a list of holidays")
    if len(value) > MAX_HOLIDAYS:
        raise ValidationError("holidays", f"at most {MAX_HOLIDAYS} holidays")
    clean: list[dict] = []
    seen: dict[tuple, int] = {}
    for index, item in enumerate(value):
        where = f"holidays.{index}"
        if not isinstance(item, dict):
            raise ValidationError(where, "must be an object with a kind")
        kind = item.get("kind")
        if kind not in HOLIDAY_KINDS:
            raise ValidationError(f"{where}.kind", "must be one of " + ", ".join(HOLIDAY_KINDS))
        for key in item:
            if key not in HOLIDAY_KEYS[kind]:
                raise ValidationError(f"{where}.{str(key)[:32]}", f"is not a field of a {kind} holiday")
        name = item.get("name") or ""
        if not isinstance(name, str):
            raise ValidationError(f"{where}.name", "must be text")
        name = name.strip()
        if len(name) > HOLIDAY_NAME_MAX or not name.isprintable():
            raise ValidationError(f"{where}.name", f"must be at most {HOLIDAY_NAME_MAX} printable characters")
        if kind == "easter":
            if "offset" not in item:
                raise ValidationError(f"{where}.offset", "is required")
            offset = _int(item["offset"], f"{where}.offset", *EASTER_OFFSET, "days after Easter Sunday")
            entry: dict = {"kind": kind, "offset": offset, "name": name}
            key: tuple = (kind, offset)
            field = "offset"
        else:
            date = _holiday_date(kind, item.get("date"), f"{where}.date")
            entry = {"kind": kind, "date": date, "name": name}
            key = (kind, date)
            field = "date"
        if key in seen:
            raise ValidationError(f"{where}.{field}", f"is already listed (holiday {seen[key] + 1})")
        seen[key] = index
        clean.append(entry)
    return clean


def _holiday_date(kind: str, value: object, where: str) -> str:
    if not isinstance(value, str):
        raise ValidationError(where, "is required" if value is None else "must be text")
    if kind == "fixed":
        try:
            if not _FIXED_DATE.match(value):
                raise ValueError
            day = dt.date.fromisoformat(value)
        except ValueError:
            raise ValidationError(where, 'is not a date "YYYY-MM-DD"') from None
        return day.isoformat()
    match = _YEARLY_DATE.match(value)
    if match is None:
        raise ValidationError(where, 'must be a day of the year "MM-DD"')
    try:
        dt.date(2000, int(match.group(1)), int(match.group(2)))  # a leap year: 02-29 is allowed
    except ValueError:
        raise ValidationError(where, 'is not a day of the year "MM-DD"') from None
    return value


# -- evaluation ------------------------------------------------------------------------------

def holiday_on(day: dt.date, holidays: Iterable[dict], country_holidays: bool, country: str) -> str | None:
    """The name of the holiday on `day` (own list first, then the country's), "" if unnamed, else None."""
    easter = None
    for item in holidays:
        kind = item["kind"]
        if kind == "fixed":
            hit = item["date"] == day.isoformat()
        elif kind == "yearly":
            hit = item["date"] == day.strftime("%m-%d")
        else:
            easter = easter or holiday_rules.easter(day.year)
            hit = easter + dt.timedelta(days=item["offset"]) == day
        if hit:
            return item.get("name") or ""
    if country_holidays and country:
        return holiday_rules.holiday_name(country, day)
    return None


def _within(value: int, pair: list[int] | None) -> bool:
    if not pair:
        return True
    first, last = pair
    return first <= value <= last if first <= last else value >= first or value <= last


def interval_holds(interval: dict, local_now: dt.datetime) -> bool:
    minute = local_now.hour * 60 + local_now.minute
    start = parse_time(interval["start"], "start", is_end=False)
    end = parse_time(interval["end"], "end", is_end=True)
    return (local_now.weekday() in interval["days"] and start <= minute < end
            and _within(local_now.day, interval.get("month_days"))
            and _within(local_now.month, interval.get("months")))


def matches(intervals: list[dict], holidays: list[dict], country_holidays: bool, holiday_mode: str,
            local_now: dt.datetime, country: str) -> bool:
    """Is the local wall-clock moment `local_now` inside a range with these (validated) fields?"""
    if holiday_mode != "ignore":
        if holiday_on(local_now.date(), holidays, country_holidays, country) is not None:
            return holiday_mode == "inside"
    return any(interval_holds(interval, local_now) for interval in intervals)


def row_matches(row: TimeRange, local_now: dt.datetime, country: str) -> bool:
    return matches(row.intervals, row.holidays, row.country_holidays, row.holiday_mode, local_now, country)


def is_inside(name: str, local_now: dt.datetime) -> bool:
    """The dialplan's check: `local_now` is aware, in the appliance's time zone (call.local_now())."""
    from appliance.system.models import get_system_settings

    row = TimeRange.get_or_none(TimeRange.name == name)
    if row is None:
        log.warning("time range %s does not exist: taken as outside", name)
        return False
    return row_matches(row, local_now, get_system_settings().country)


def describe(row: TimeRange) -> str:
    """A one-line summary for lists, e.g. "Mon-Fri 08:00-12:00, 14:00-18:00"."""
    parts = []
    for interval in row.intervals[:4]:
        days = ", ".join(DAY_NAMES[d][:3] for d in interval["days"])
        parts.append(f"{days} {interval['start']}-{interval['end']}")
    if len(row.intervals) > 4:
        parts.append(f"+{len(row.intervals) - 4}")
    return "; ".join(parts)
