"""Toll-fraud settings (validation, revision), "unlock outbound" (at most twice per 24 hours), fraud events."""

from __future__ import annotations

import datetime as dt

from appliance.errors import Conflict, ValidationError
from appliance.events import log as events
from appliance.events.models import Event
from appliance.fraud import guards
from appliance.fraud.models import FraudSettings, FraudUnlock
from appliance.store import database
from appliance.system.validation import COUNTRIES
from appliance.trunks import countries

UNLOCKS_PER_DAY = 2
UNLOCK_WINDOW = dt.timedelta(hours=24)
RECENT_EVENTS = 50

# Inclusive bounds of the numeric settings; 0 means "no limit".
RANGES: dict[str, tuple[float, float]] = {
    "daily_budget": (0, 1_000_000),
    "calls_per_minute": (0, 10_000),
    "calls_per_minute_per_user": (0, 1_000),
    "max_calls_per_user": (0, 100),
    "max_call_minutes": (0, 1_440),
}
# Settings that may hold a fraction (2 decimals): a budget in money, a longest call of 0.5 minute (30 s).
FRACTIONAL = ("daily_budget", "max_call_minutes")
MIN_CALL_MINUTES = 0.1
BOOLEANS = ("enabled", "premium_allowed")
EDITABLE_FIELDS = ("enabled", "allowed_countries", "daily_budget", "calls_per_minute", "calls_per_minute_per_user",
                   "premium_allowed", "max_calls_per_user", "max_call_minutes")


def get_settings() -> FraudSettings:
    row = FraudSettings.get_or_none(FraudSettings.id == 1)
    if row is None:  # the migration inserts it; recreate it if someone deleted it
        row = FraudSettings.create(id=1)
    return row


def to_public(settings: FraudSettings, now: dt.datetime | None = None) -> dict:
    now = guards._naive_utc(now)
    return {
        "enabled": bool(settings.enabled),
        "allowed_countries": sorted(settings.allowed_countries or countries.DEFAULT_WHITELIST),
        "daily_budget": float(settings.daily_budget),
        "calls_per_minute": settings.calls_per_minute,
        "calls_per_minute_per_user": settings.calls_per_minute_per_user,
        "premium_allowed": bool(settings.premium_allowed),
        "max_calls_per_user": settings.max_calls_per_user,
        "max_call_minutes": _whole_if_whole(settings.max_call_minutes),
        "revision": settings.revision,
        **status(settings, now),
    }


def status(settings: FraudSettings | None = None, now: dt.datetime | None = None) -> dict:
    """Blocked or not, today's spend, the unlocks left in the last 24 hours."""
    settings = settings or get_settings()
    now = guards._naive_utc(now)
    blocked = settings.blocked_until is not None and now < settings.blocked_until
    used = _unlocks_within(now)
    next_unlock = None
    if len(used) >= UNLOCKS_PER_DAY:
        next_unlock = _iso(used[-UNLOCKS_PER_DAY].at + UNLOCK_WINDOW)
    return {
        "blocked": blocked,
        "blocked_until": _iso(settings.blocked_until) if blocked else None,
        "spent_today": round(guards.spent_today(now), 4),
        "unlocks_used_24h": len(used),
        "unlocks_remaining": max(0, UNLOCKS_PER_DAY - len(used)),
        "next_unlock_at": next_unlock,
    }


def update_settings(data: dict, by: str = "", now: dt.datetime | None = None) -> FraudSettings:
    """Change some settings; `revision` (optional) refuses a concurrent edit. Writes fraud.settings_changed.

    A budget raised above what was spent today (or set to 0, no limit) lifts a budget block: the admin has
    decided the day may cost more. It is not an unlock (the two unlocks per day stay as they were)."""
    now = guards._naive_utc(now)
    lifted_at_spend = None
    if not isinstance(data, dict):
        raise ValidationError("body", "must be a JSON object")
    data = dict(data)
    expected = data.pop("revision", None)
    values = {}
    for key, value in data.items():
        if key not in EDITABLE_FIELDS:
            raise ValidationError(str(key)[:64], "is not a toll-fraud setting")
        values[key] = clean_value(key, value)
    with database.atomic():
        settings = get_settings()
        if expected is not None:
            if isinstance(expected, bool) or not isinstance(expected, int):
                raise ValidationError("revision", "must be an integer")
            if expected != settings.revision:
                raise Conflict("revision", "the settings were changed by someone else; reload and try again")
        changed = {}
        for key, value in values.items():
            old = getattr(settings, key)
            if key == "allowed_countries":
                old = sorted(old or countries.DEFAULT_WHITELIST)
            if old != value:
                changed[key] = value
                setattr(settings, key, value)
        if "daily_budget" in changed and settings.blocked_until is not None and now < settings.blocked_until:
            spent = guards.spent_today(now)
            if settings.daily_budget == 0 or spent < settings.daily_budget:
                settings.blocked_until = None
                lifted_at_spend = spent
        if changed:
            settings.revision += 1
            settings.save()
    if changed:
        events.record("fraud.settings_changed", subject=by, message="toll-fraud settings changed: "
                      + ", ".join(sorted(changed)), by=by, changed=sorted(changed))
    if lifted_at_spend is not None:
        budget = "no limit" if settings.daily_budget == 0 else f"{settings.daily_budget:.2f}"
        events.record("fraud.unlocked", subject=by, at=now, by=by, reason="budget_raised",
                      message=f"outbound unblocked by {by or '?'}: daily budget now {budget}, "
                              f"{lifted_at_spend:.2f} spent today")
    return settings


def unlock(by: str = "", now: dt.datetime | None = None) -> dict:
    """Lift the budget block until midnight UTC (with a fresh budget); at most twice per 24 hours."""
    now = guards._naive_utc(now)
    with database.atomic():
        settings = get_settings()
        if settings.blocked_until is None or now >= settings.blocked_until:
            raise Conflict("unlock", "outbound calls are not blocked: there is nothing to unlock")
        used = _unlocks_within(now)
        if len(used) >= UNLOCKS_PER_DAY:
            again = used[-UNLOCKS_PER_DAY].at + UNLOCK_WINDOW
            raise Conflict("unlock", f"outbound was already unlocked {UNLOCKS_PER_DAY} times in the last 24 hours; "
                           f"it stays blocked until {settings.blocked_until:%H:%M} UTC (next unlock possible at "
                           f"{again:%Y-%m-%d %H:%M} UTC)")
        FraudUnlock.create(at=now, by=by[:64])
        settings.blocked_until = None
        FraudSettings.update(blocked_until=None).where(FraudSettings.id == 1).execute()
    remaining = UNLOCKS_PER_DAY - len(used) - 1
    events.record("fraud.unlocked", subject=by, at=now, by=by, unlocks_remaining=remaining,
                  message=f"outbound unlocked by {by or '?'} ({remaining} unlock(s) left in 24 hours)")
    return status(settings, now)


def recent_events(limit: int = RECENT_EVENTS, offset: int = 0) -> list[Event]:
    """Fraud events (blocked calls, budget exceeded, unlocks, emergency calls), newest first."""
    query = Event.select().where(Event.kind.startswith("fraud.") | (Event.kind == "call.emergency"))
    return list(query.order_by(Event.at.desc(), Event.id.desc()).limit(limit).offset(offset))


def _unlocks_within(now: dt.datetime) -> list[FraudUnlock]:
    return list(FraudUnlock.select().where((FraudUnlock.at > now - UNLOCK_WINDOW) & (FraudUnlock.at <= now))
                .order_by(FraudUnlock.at))


def _whole_if_whole(value: float) -> int | float:
    return int(value) if float(value) == int(value) else float(value)


def _iso(moment: dt.datetime | None) -> str | None:
    return None if moment is None else moment.isoformat(timespec="seconds") + "Z"


# -- validation ------------------------------------------------------------------------------------

def clean_value(key: str, value: object):
    """The clean value of one setting, or ValidationError naming it."""
    if key in BOOLEANS:
        if not isinstance(value, bool):
            raise ValidationError(key, "must be true or false")
        return value
    if key == "allowed_countries":
        return clean_countries(value)
    low, high = RANGES[key]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValidationError(key, f"must be a number from {low:g} to {high:g} (0: no limit)")
    if key not in FRACTIONAL and value != int(value):
        raise ValidationError(key, f"must be a whole number from {low:g} to {high:g} (0: no limit)")
    if not low <= value <= high:
        raise ValidationError(key, f"must be from {low:g} to {high:g} (0: no limit)")
    if key == "max_call_minutes" and 0 < value < MIN_CALL_MINUTES:
        raise ValidationError(key, f"must be 0 (no limit) or at least {MIN_CALL_MINUTES:g} minute")
    if key in FRACTIONAL:
        value = round(float(value), 2)
        return int(value) if key == "max_call_minutes" and value == int(value) else value
    return int(value)


def clean_countries(value: object) -> list[str]:
    """ISO-2 codes as a list or a comma/space separated text; at least one; sorted, without duplicates."""
    if isinstance(value, str):
        value = value.replace(",", " ").split()
    if not isinstance(value, list):
        raise ValidationError("allowed_countries", "must be a list of two-letter ISO country codes")
    if not value:
        raise ValidationError("allowed_countries", "must name at least one country (your own is always allowed)")
    seen = set()
    for index, code in enumerate(value):
        text = code.strip().upper() if isinstance(code, str) else ""
        if text not in COUNTRIES:
            raise ValidationError(f"allowed_countries.{index}",
                                  "must be a two-letter ISO 3166 country code such as FR or CH")
        seen.add(text)
    return sorted(seen)
