"""The toll-fraud guard: one decision per outbound call, before any trunk is tried.

`check_outbound()` is called by the outbound call path (appliance/trunks/outbound.py,
used by the dialplan applications dial_trunk and trunk_group). Rules, in order:

1. emergency numbers (call class "emergency") always go through, and are logged (event call.emergency);
2. the dialled string holds only digits, * and #, with an optional leading + (always checked);
3. the guard may be switched off as a whole (fraud_settings.enabled); every rule below is then skipped;
4. outbound blocked (fraud_settings.blocked_until, set when the daily budget was exceeded) until midnight UTC;
5. premium-rate numbers (call class "premium") unless allowed;
6. the destination country on the whitelist (the appliance's own country is always allowed);
7. the daily outbound budget: today's (UTC) cost of outbound calls, counted since the last unlock if one
   was made today; reaching it blocks outbound until midnight UTC (event fraud.budget_exceeded);
8. simultaneous outbound calls per user (open outbound CDRs of that caller);
9. new outbound calls per minute, per user and for the whole appliance.

A number 0 in a limit means "no limit". The rate limits count rows of `fraud_attempt`
(one per call let through) in the store, under the store's write lock, so they hold across
every worker process. Every refusal writes a fraud.blocked event (user, destination, rule,
reason). A refused call hears the verdict's announcement, then gets SIP `code` with `reason`.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import threading
from dataclasses import dataclass

import peewee

from appliance.cdr.models import Cdr
from appliance.events import log as events
from appliance.fraud.models import FraudAttempt, FraudSettings, FraudUnlock
from appliance.store import database
from appliance.trunks import countries

log = logging.getLogger(__name__)

DIALLED_RE = re.compile(r"^\+?[0-9*#]{1,32}$")
RATE_WINDOW = dt.timedelta(seconds=60)
ATTEMPTS_KEPT = dt.timedelta(hours=1)
PRUNE_EVERY = 100

# Announcements (system prompts, appliance/callcore/prompts.py) the call hears before the 403.
CALL_NOT_ALLOWED = "call_not_allowed"    # this destination is not allowed (country, premium, bad characters)
OUTBOUND_BLOCKED = "outbound_blocked"    # outbound calls are blocked until midnight (daily budget)
TOO_MANY_CALLS = "too_many_calls"        # too many calls at once or per minute: try again later
ANNOUNCEMENTS = (CALL_NOT_ALLOWED, OUTBOUND_BLOCKED, TOO_MANY_CALLS)


@dataclass(frozen=True, slots=True)
class Verdict:
    """The guard's answer. Refused: SIP `code` + `reason` (ASCII), after the `announcement` prompt.
    Allowed: `max_seconds` is the longest the call may last (None: no limit), enforced by the call core."""

    allowed: bool
    reason: str = ""
    code: int = 403
    announcement: str = ""
    rule: str = ""                 # which rule refused: characters, blocked, premium, country, budget,
    #                                concurrent, rate_user, rate_appliance, unavailable
    max_seconds: int | None = None
    country: str = ""              # ISO-2 of the destination ("" unknown)


_calls = 0
_calls_lock = threading.Lock()


def check_outbound(user: str, number_e164: str, call_class: str, now_utc: dt.datetime | None = None, *,
                   dialled: str | None = None, call_id: str | None = None) -> Verdict:
    """May `user` (an extension, "" for a call not placed by a user) call `number_e164` now?

    `call_class` is appliance.trunks.numbers' class (emergency, premium, international...);
    `dialled` (optional) is the string as dialled, checked for bad characters too.
    `call_id` (optional) is the call's CDR: let through, it is marked outbound in the same transaction
    as the checks, so that calls of one user placed at the same instant cannot all pass the
    simultaneous-call cap before any of them counts.
    """
    now = _naive_utc(now_utc)
    destination = countries.country_of(number_e164)
    if call_class == "emergency":
        events.record("call.emergency", subject=user, message=f"emergency call from {user or '?'} to {number_e164}",
                      at=now, user=user, destination=number_e164, dialled=dialled or number_e164)
        return Verdict(True, code=0, country=destination)
    for text in (number_e164, dialled):
        if text is not None and not DIALLED_RE.match(text):
            return _refuse(now, user, number_e164, "characters", "Invalid characters in number", CALL_NOT_ALLOWED,
                           "the number may hold only digits, * and #, with a leading +")
    try:
        verdict, budget_event = _check(user, number_e164, call_class, destination, now, call_id)
    except peewee.PeeweeException:
        log.exception("toll-fraud guard could not read the store: outbound call of %s refused", user)
        return _refuse(now, user, number_e164, "unavailable", "Fraud guard unavailable", TOO_MANY_CALLS,
                       "the toll-fraud guard could not read its settings", code=503)
    if budget_event is not None:
        events.record("fraud.budget_exceeded", subject="outbound", at=now, **budget_event,
                      message=(f"daily outbound budget {budget_event['budget']:.2f} reached "
                               f"({budget_event['spent']:.2f} spent): outbound blocked until "
                               f"{budget_event['blocked_until']:%Y-%m-%d %H:%M} UTC"))
    if not verdict.allowed:
        events.record("fraud.blocked", subject=user, at=now, message=_event_message(verdict, user, number_e164),
                      user=user, destination=number_e164, country=destination, call_class=call_class,
                      rule=verdict.rule, reason=verdict.reason)
    return verdict


def _check(user: str, number: str, call_class: str, destination: str, now: dt.datetime,
           call_id: str | None = None) -> tuple[Verdict, dict | None]:
    """The store-backed rules, in one write transaction (the rate limits' count and insert are atomic)."""
    with database.atomic():
        settings = FraudSettings.get_or_none(FraudSettings.id == 1) or FraudSettings(id=1)
        if not settings.enabled:
            return Verdict(True, code=0, country=destination), None
        max_seconds = max(1, round(settings.max_call_minutes * 60)) if settings.max_call_minutes > 0 else None
        if settings.blocked_until is not None and now < settings.blocked_until:
            return _no("blocked", "Outbound calls blocked (daily budget)", OUTBOUND_BLOCKED, destination), None
        if call_class == "premium" and not settings.premium_allowed:
            return _no("premium", "Premium-rate number not allowed", CALL_NOT_ALLOWED, destination), None
        if number.startswith("+") and destination not in allowed_countries(settings):
            return _no("country", "Destination country not allowed", CALL_NOT_ALLOWED, destination), None
        if settings.daily_budget > 0:
            spent = spent_today(now)
            if spent >= settings.daily_budget:
                until = next_midnight(now)
                settings.blocked_until = until
                FraudSettings.update(blocked_until=until).where(FraudSettings.id == 1).execute()
                event = {"budget": settings.daily_budget, "spent": round(spent, 4), "blocked_until": until}
                return _no("budget", "Daily outbound budget exceeded", OUTBOUND_BLOCKED, destination), event
        if user and settings.max_calls_per_user > 0 and open_outbound_calls(user) >= settings.max_calls_per_user:
            return _no("concurrent", "Too many simultaneous outbound calls", TOO_MANY_CALLS, destination), None
        since = now - RATE_WINDOW
        if user and settings.calls_per_minute_per_user > 0 and FraudAttempt.select().where(
                (FraudAttempt.user == user) & (FraudAttempt.at > since)).count() >= settings.calls_per_minute_per_user:
            return _no("rate_user", "Too many outbound calls per minute (user)", TOO_MANY_CALLS, destination), None
        if settings.calls_per_minute > 0 and FraudAttempt.select().where(
                FraudAttempt.at > since).count() >= settings.calls_per_minute:
            return _no("rate_appliance", "Too many outbound calls per minute", TOO_MANY_CALLS, destination), None
        FraudAttempt.create(at=now, user=user[:64])
        if call_id:
            Cdr.update(direction="outbound").where(Cdr.call_id == call_id).execute()
        _maybe_prune(now)
    return Verdict(True, code=0, max_seconds=max_seconds, country=destination), None


def allowed_countries(settings: FraudSettings) -> set[str]:
    """The whitelist in force: the settings' list ([] = the default one) plus the appliance's own country."""
    from appliance.system.models import get_system_settings

    chosen = set(settings.allowed_countries or countries.DEFAULT_WHITELIST)
    try:
        chosen.add(get_system_settings().country)
    except peewee.DoesNotExist:
        pass
    return chosen


def spent_today(now: dt.datetime) -> float:
    """Cost of today's (UTC) outbound calls, counted from the last unlock if there was one today."""
    start = dt.datetime.combine(now.date(), dt.time.min)
    last_unlock = (FraudUnlock.select(peewee.fn.MAX(FraudUnlock.at))
                   .where((FraudUnlock.at >= start) & (FraudUnlock.at <= now)).scalar())
    if last_unlock is not None:
        start = max(start, _parse_moment(last_unlock))
    total = (Cdr.select(peewee.fn.SUM(Cdr.cost))
             .where((Cdr.direction == "outbound") & (Cdr.start >= start) & Cdr.cost.is_null(False)).scalar())
    return float(total or 0.0)


def open_outbound_calls(user: str) -> int:
    return Cdr.select().where((Cdr.caller == user) & (Cdr.direction == "outbound") & Cdr.end.is_null()).count()


def next_midnight(now: dt.datetime) -> dt.datetime:
    return dt.datetime.combine(now.date() + dt.timedelta(days=1), dt.time.min)


def _no(rule: str, reason: str, announcement: str, destination: str) -> Verdict:
    return Verdict(False, reason=reason, code=403, announcement=announcement, rule=rule, country=destination)


def _refuse(now: dt.datetime, user: str, number: str, rule: str, reason: str, announcement: str, detail: str,
            code: int = 403) -> Verdict:
    verdict = Verdict(False, reason=reason, code=code, announcement=announcement, rule=rule)
    events.record("fraud.blocked", subject=user, at=now, message=f"{user or '?'} -> {number}: {detail}",
                  user=user, destination=number, rule=rule, reason=reason)
    return verdict


_DETAILS = {
    "blocked": "outbound calls are blocked until midnight UTC (daily budget exceeded)",
    "premium": "premium-rate numbers are not allowed",
    "country": "the destination country is not on the whitelist",
    "budget": "the daily outbound budget is exceeded; outbound blocked until midnight UTC",
    "concurrent": "the user has the most simultaneous outbound calls allowed",
    "rate_user": "the user placed the most outbound calls allowed per minute",
    "rate_appliance": "the appliance placed the most outbound calls allowed per minute",
}


def _event_message(verdict: Verdict, user: str, number: str) -> str:
    where = f" ({verdict.country})" if verdict.country else ""
    return f"{user or '?'} -> {number}{where}: {_DETAILS.get(verdict.rule, verdict.reason)}"


def _maybe_prune(now: dt.datetime) -> None:
    global _calls
    with _calls_lock:
        due = _calls % PRUNE_EVERY == 0
        _calls += 1
    if due:
        FraudAttempt.delete().where(FraudAttempt.at < now - ATTEMPTS_KEPT).execute()


def _naive_utc(moment: dt.datetime | None) -> dt.datetime:
    if moment is None:
        return dt.datetime.utcnow()
    if moment.tzinfo is not None:
        return moment.astimezone(dt.UTC).replace(tzinfo=None)
    return moment


def _parse_moment(value) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value
    return dt.datetime.fromisoformat(str(value))
