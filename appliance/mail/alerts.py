"""Event e-mails to the administrator (appliance.events.log.notify_admin calls `notify_admin`).

An event of severity at least the mail settings' alert_severity (warning by default: warnings and
alerts; never info) is QUEUED to the admin alert address when one is set and a default SMTP profile
exists: the calling thread (a call, a trunk watcher) never talks SMTP. The queue row has
purpose "event", reference "<event id>"; the sender sets event.emailed once it is sent.
Events about mail itself (mail.*) are never mailed: a failing server would feed its own failures back.
Cost for an info event: nothing (no query); for a warning/alert: a few small reads and one INSERT.

Flood control (an attack can log a fraud.blocked warning per call): a warning is not mailed when one of
the same kind and subject was mailed within REPEAT_S; and at most MAX_PER_HOUR event mails are queued
per hour in all (alerts such as emergency calls included). What is not mailed stays in the event log.
"""

from __future__ import annotations

import json
import logging

log = logging.getLogger(__name__)

_RANK = {"info": 0, "warning": 1, "alert": 2}
REPEAT_S = 600
MAX_PER_HOUR = 30


def notify_admin(event) -> bool:
    """Queue `event` to the admin; True if queued."""
    if _RANK.get(event.severity, 0) < 1 or str(event.kind).startswith("mail."):
        return False
    from appliance.mail import outbox
    from appliance.mail.models import MailSettings

    settings = MailSettings.get_or_none(MailSettings.id == 1)
    if settings is None or not settings.admin_address:
        return False
    if _RANK.get(event.severity, 0) < _RANK.get(settings.alert_severity, 1):
        return False
    if not outbox.configured() or _flooded(event):
        return False
    name = _appliance_name()
    at = event.at.isoformat(timespec="seconds") + "Z" if event.at else ""
    subject = f"[{name}] {event.severity.upper()} {event.kind}: {event.subject}".strip()
    subject = " ".join(subject.split())[:200]
    details = event.details if isinstance(event.details, dict) else {}
    lines = [
        f"Event #{event.id} on {name}",
        "",
        f"Kind:     {event.kind}",
        f"Severity: {event.severity}",
        f"Time:     {at} (UTC)",
        f"Subject:  {event.subject}",
        "",
        event.message,
    ]
    if details:
        lines += ["", "Details:", json.dumps(details, ensure_ascii=False, indent=2, sort_keys=True)]
    lines += ["", "-- ", f"{name}: the event log is under Security > Event log in the web UI. Further warnings "
              f"of this kind about {event.subject or 'the same subject'} within {REPEAT_S // 60} minutes are "
              "not mailed."]
    outbox.queue(settings.admin_address, subject, "\n".join(lines), purpose="event", reference=str(event.id))
    return True


def _flooded(event) -> bool:
    import datetime as dt

    from appliance.events.models import Event
    from appliance.mail.models import MailQueue

    now = dt.datetime.utcnow()
    recent = MailQueue.select().where((MailQueue.purpose == "event")
                                      & (MailQueue.created_at > now - dt.timedelta(hours=1)))
    if recent.count() >= MAX_PER_HOUR:
        return True
    if event.severity == "alert":
        return False
    same = (recent.join(Event, on=(Event.id == MailQueue.reference.cast("INTEGER")))
            .where((MailQueue.created_at > now - dt.timedelta(seconds=REPEAT_S)) & (Event.kind == event.kind)
                   & (Event.subject == event.subject)))
    return same.exists()


def _appliance_name() -> str:
    try:
        from appliance.system.models import get_system_settings

        return get_system_settings().appliance_name or "PBX"
    except Exception:
        return "PBX"
