"""A box's email option, through the outgoing mail queue (appliance.mail.outbox).

    none           nothing is sent
    notify         an email saying a message arrived (who, when, how long)
    attach         the same with the WAV attached; the message stays in the box
    attach_delete  the WAV attached, and the message leaves the box once the queue says "sent"

A message is never lost because email failed: the queue retries (and logs events); the message
stays in the box until its mail is "sent". Message.email_state: "" | queued | sent | failed |
no_smtp (no SMTP profile configured: nothing was queued); email_ref: the queue id.

"attach_delete" is settled by the queue's on_sent callback (in the web process, which sends) and,
should that be missed, by `settle(settings, box)` whenever the box is opened.
"""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

from appliance.settings import Settings
from appliance.voicemail import storage
from appliance.voicemail.models import Box, Message

log = logging.getLogger(__name__)

PURPOSE = "voicemail"
_settings: Settings | None = None


def configure(settings: Settings) -> None:
    """The settings on_sent uses (it runs in the mail sender, outside any call or request)."""
    global _settings
    _settings = settings


def subject(box: Box, message: Message) -> str:
    who = message.caller_name or message.caller or "unknown caller"
    if message.caller_name and message.caller:
        who = f"{message.caller_name} ({message.caller})"
    return f"New voicemail from {who} in box {box.number}"


def text(box: Box, message: Message, attached: bool) -> str:
    from zoneinfo import ZoneInfo

    from appliance.system.models import get_system_settings

    zone = get_system_settings().timezone
    when = message.received_at.replace(tzinfo=dt.UTC).astimezone(ZoneInfo(zone))
    lines = [
        f"Voicemail box {box.number} ({box.display_name}) received a message.",
        "",
        f"From:     {message.caller_name + ' ' if message.caller_name else ''}{message.caller or 'unknown'}",
        f"Received: {when:%Y-%m-%d %H:%M:%S} ({zone})",
        f"Length:   {message.duration:.0f} s",
        "",
        "The recording is attached." if attached else (
            f"Dial *98, then {box.number} and the box's PIN, to listen to it." if box.shared
            else "Dial *95 from your phone to listen to it."),
    ]
    return "\n".join(lines) + "\n"


def on_new_message(settings: Settings, box: Box, message: Message) -> None:
    """Queue the box's email for a new message (call-core worker, right after the message was stored)."""
    from appliance.mail import outbox

    if box.email_mode == "none" or not box.email_address:
        return
    attached = box.email_mode in ("attach", "attach_delete")
    attachments = []
    if attached:
        path = storage.message_path(settings, message.file)
        stamp = message.received_at.strftime("%Y%m%d-%H%M%S")
        attachments.append((f"voicemail-{box.number}-{stamp}.wav", str(path), "audio/wav"))
    try:
        queue_id = outbox.queue(box.email_address, subject(box, message), text(box, message, attached),
                                attachments, purpose=PURPOSE, reference=f"{box.id}/{message.id}",
                                on_sent="appliance.voicemail.email:on_sent")
    except outbox.MailNotConfigured as exc:
        log.warning("voicemail box %s: no email sent (%s)", box.number, exc)
        Message.update(email_state="no_smtp").where(Message.id == message.id).execute()
        return
    Message.update(email_state="queued", email_ref=str(queue_id)).where(Message.id == message.id).execute()
    log.info("voicemail box %s: message %d queued for email (mail %d)", box.number, message.id, queue_id)


def on_sent(queue_id: int, purpose: str, reference: str) -> None:
    """The mail queue sent a voicemail email (in the sender's process)."""
    if purpose != PURPOSE:
        return
    _settle_one(_settings, reference, "sent")


def settle(settings: Settings, box: Box) -> None:
    """Catch up with the queue for this box's mails in flight: sent (delete if asked) or failed."""
    from appliance.mail import outbox

    for message in Message.select().where((Message.box == box.id) & (Message.email_state == "queued")):
        if not message.email_ref.isdecimal():
            continue
        status = outbox.status(int(message.email_ref))
        if status is None:
            continue
        if status["state"] in ("sent", "failed"):
            _settle_one(settings, f"{box.id}/{message.id}", status["state"])


def _settle_one(settings: Settings | None, reference: str, state: str) -> None:
    from appliance.voicemail import service

    box_id, _, message_id = reference.partition("/")
    message = Message.get_or_none(Message.id == int(message_id)) if message_id.isdecimal() else None
    if message is None or str(message.box_id) != box_id:
        return
    box = message.box
    Message.update(email_state=state).where(Message.id == message.id).execute()
    if state == "sent" and box.email_mode == "attach_delete":
        if settings is None:
            settings = Settings(data_dir=Path(_db_dir()))
        service.delete_message(settings, box, message, notify=_settings is not None)
        log.info("voicemail box %s: message %d emailed and deleted", box.number, message.id)


def _db_dir() -> str:
    from appliance.store import database

    return str(Path(database.database).parent)
