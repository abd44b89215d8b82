"""The event log: one `record()` for every process (web, SIP edge reactions, call-core workers).

Each event has a stable kind (the table KINDS below: what an API client or an
alert rule keys on), a severity, the subject it is about (a trunk, a user, an
IP address), a human message and free details. Writing an event never raises:
a call must not fail because its event could not be logged (the failure is
written to the process log instead).

Retention: events older than RETENTION_DAYS, and the oldest beyond MAX_ROWS,
are pruned every PRUNE_EVERY writes of a process (and at its first write).
"""

from __future__ import annotations

import datetime as dt
import logging
import threading

import peewee

from appliance.events.models import Event

log = logging.getLogger(__name__)

SEVERITIES = ("info", "warning", "alert")

# Stable event kinds -> default severity. Adding a kind is one line; never rename one (API clients key on them).
KINDS: dict[str, str] = {
    "trunk.registered": "info",
    "trunk.registration_failed": "warning",
    "trunk.unregistered": "warning",
    "trunk.dns_failed": "warning",
    "trunk.unreachable": "warning",
    "sip.ip_banned": "warning",
    "sip.ip_unbanned": "info",
    "call.emergency": "alert",
    "fraud.blocked": "warning",
    "fraud.budget_exceeded": "alert",
    "fraud.unlocked": "warning",
    "fraud.settings_changed": "info",
    "recording.quota_full": "warning",
    "mail.send_failed": "warning",
    "mail.gave_up": "alert",
    "storage.missing": "alert",
    "storage.back": "info",
    "storage.initialized": "info",
    "storage.moved": "info",
    "voicemail.pin_failed": "warning",
    "device.added": "info",
    "provisioning.ip_banned": "warning",
    "device.credentials_unreadable": "warning",
    "network.rollback_failed": "alert",
    "console.admin_password_reset": "warning",
    "console.system_recovered": "alert",
    "console.network_changed": "warning",
    "backup.scheduled": "info",
    "backup.schedule_failed": "alert",
    "backup.host_key_pinned": "info",
}

RETENTION_DAYS = 90
MAX_ROWS = 100_000
PRUNE_EVERY = 200
SUBJECT_MAX = 128
MESSAGE_MAX = 512

_writes = 0
_lock = threading.Lock()


def record(kind: str, subject: str = "", message: str = "", severity: str | None = None, *,
           at: dt.datetime | None = None, **details) -> Event | None:
    """Write one event; returns it, or None if the store could not take it (logged, never raised).

    `severity` defaults to the kind's (KINDS); `at` (UTC, naive or aware) defaults to now;
    keyword arguments become the event's JSON details.
    """
    try:
        if kind not in KINDS:
            log.error("event kind %r is not in appliance.events.log.KINDS; recorded anyway", kind)
        level = severity if severity in SEVERITIES else KINDS.get(kind, "info")
        moment = _utc(at) if at is not None else dt.datetime.utcnow()
        event = Event.create(at=moment, kind=str(kind)[:48], severity=level, subject=str(subject)[:SUBJECT_MAX],
                             message=str(message)[:MESSAGE_MAX], details=_jsonable(details))
    except Exception:
        log.exception("event %s (%s) could not be written: %s", kind, subject, message)
        return None
    log.info("event %s %s: %s", kind, subject, message)
    _maybe_prune()
    try:
        notify_admin(event)
    except Exception:
        log.exception("alert for event %s could not be sent", event.id)
    return event


def notify_admin(event: Event) -> bool:
    """Queue an e-mail about `event` to the administrator; True if queued (appliance.mail.alerts).

    Events of severity warning/alert (at least the mail settings' alert_severity) go to the admin alert
    address when one is set and a default SMTP profile exists. Only a queue row is written here (the
    web process's mail sender delivers it and sets `event.emailed`): a call never waits for SMTP.
    Info events cost nothing; mail.* events are never mailed (no loop when the mail server fails).
    """
    from appliance.mail.alerts import notify_admin as queue_alert

    return queue_alert(event)


def prune(now: dt.datetime | None = None) -> int:
    """Delete events past the retention (age and row count); returns how many went."""
    now = _utc(now) if now is not None else dt.datetime.utcnow()
    removed = Event.delete().where(Event.at < now - dt.timedelta(days=RETENTION_DAYS)).execute()
    cutoff = (Event.select(Event.id).order_by(Event.id.desc()).offset(MAX_ROWS).limit(1).scalar())
    if cutoff is not None:
        removed += Event.delete().where(Event.id <= cutoff).execute()
    return removed


def _maybe_prune() -> None:
    global _writes
    with _lock:
        due = _writes % PRUNE_EVERY == 0
        _writes += 1
    if not due:
        return
    try:
        prune()
    except peewee.PeeweeException:
        log.exception("events could not be pruned")


def _utc(moment: dt.datetime) -> dt.datetime:
    if moment.tzinfo is not None:
        return moment.astimezone(dt.UTC).replace(tzinfo=None)
    return moment


def _jsonable(details: dict) -> dict:
    clean = {}
    for key, value in details.items():
        if isinstance(value, dt.datetime):
            value = _utc(value).isoformat(timespec="seconds") + "Z"
        elif not isinstance(value, (str, int, float, bool, type(None), list, dict)):
            value = str(value)
        clean[str(key)] = value
    return clean
