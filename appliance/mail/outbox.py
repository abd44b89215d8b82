"""The outgoing mail queue: THE API other code (voicemail, event alerts) uses to send e-mail.

Contract (stable; the voicemail helper codes against it)
---------------------------------------------------------
    from appliance.mail import outbox

    queue_id = outbox.queue(
        to,                      # "a@example.com" or a list of such addresses (1..50)
        subject,                 # one line, at most 998 characters (unicode fine)
        body,                    # plain text (unicode fine)
        attachments=[("msg0001.wav", "/path/or/bytes", "audio/wav")],   # (filename, bytes | path, mimetype)
        profile=None,            # an SMTP profile name; None = the default profile when the mail is sent
        purpose="voicemail",     # the caller's key, for find(): at most 32 characters
        reference="200/msg0001", # the caller's key, for find(): at most 128 characters
        on_sent=None,            # a module-level function (or "package.module:function"), see below
    ) -> int                     # the queue row id; returns at once (one INSERT, no network)

- queue() never talks SMTP: it renders the message (attachments are READ NOW, the bytes copied into the
  queue row: the caller may move its file afterwards) and inserts one row in state "queued".
  It raises appliance.errors.ValidationError(field, message) for bad input (bad address "to.1", subject
  with a newline, attachment missing or over MAX_MESSAGE_BYTES in total "attachments"...) and
  MailNotConfigured when no SMTP profile exists (or the named one does not): nothing was queued then.
- States of a row: "queued" (waiting for its first attempt or its next retry), "sending", "sent",
  "failed" (given up: every retry failed for GIVE_UP_AFTER, a day; the row stays listed with its last
  error and an admin can "retry now" from /settings/mail, which puts it back to "queued").
  Retries back off: BACKOFF = 1 min, 5 min, 15 min, 1 h, then every hour. Each failed attempt writes an
  event "mail.send_failed" (warning), the giving up "mail.gave_up" (alert); subject "mail:<id>".
- status(queue_id) -> {"id", "state", "attempts", "last_reason", "last_error", "sent_at",
  "next_attempt_at", "purpose", "reference", "server_reply"} or None (unknown id). Rows are kept
  SENT_RETENTION (7 days) after they were sent, failed rows FAILED_RETENTION (30 days).
- find(purpose, reference=None) -> the same dicts, newest first (e.g. every row of one voicemail message).
- on_sent: called as fn(queue_id, purpose, reference) IN THE SENDER'S PROCESS (the web server), once,
  after the row was committed as "sent"; its exceptions are logged, not retried. It must be a module-level
  function importable there (stored as "module:function"). If the process dies between the commit and
  the call, the call is lost: a caller that must act on "sent" (voicemail "attach and delete") should
  also sweep find()/status() (e.g. at start or when the box is opened) rather than rely on on_sent alone.
- A message is never lost because mail failed: the queue keeps it until sent or given up; the CALLER
  keeps its own copy (the voicemail stays in the box) until status() says "sent".

Which process sends: the web server process (webui/server.serve starts appliance.mail.sender.Sender).
The sender polls the table every POLL_S seconds, so rows queued by any process (call-core workers)
are picked up; queue() in the sender's own process wakes it at once.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import importlib
import mimetypes
import os
import threading
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path

from appliance.errors import ApplianceError, NotFound, ValidationError
from appliance.mail.addresses import check_address
from appliance.mail.models import MailProfile, MailQueue

MAX_RECIPIENTS = 50
MAX_SUBJECT = 998
MAX_BODY = 1_000_000
MAX_MESSAGE_BYTES = 25 * 1024 * 1024  # attachments included, before base64
MAX_ATTACHMENTS = 20
BACKOFF_S: tuple[float, ...] = (60, 300, 900, 3600)  # then the last value, capped
GIVE_UP_AFTER_S = 24 * 3600
POLL_S = 2.0
SENT_RETENTION = dt.timedelta(days=7)
FAILED_RETENTION = dt.timedelta(days=30)

# Set by queue() so a sender in this process delivers at once instead of at its next poll.
wakeup = threading.Event()


class MailNotConfigured(ApplianceError):
    """No SMTP profile to send with (none configured, or the one named does not exist)."""


def configured(profile: str | None = None) -> bool:
    """True if a mail can be queued with `profile` (None: a default profile exists)."""
    return _profile_query(profile) is not None


def queue(to, subject: str, body: str, attachments=(), profile: str | None = None, *, purpose: str = "",
          reference: str = "", on_sent=None) -> int:
    """Queue one message; returns its queue id at once (see the module docstring for the contract)."""
    recipients = _recipients(to)
    if not isinstance(subject, str):
        raise ValidationError("subject", "must be a string")
    if len(subject) > MAX_SUBJECT or "\n" in subject or "\r" in subject:
        raise ValidationError("subject", f"one line of at most {MAX_SUBJECT} characters")
    if not isinstance(body, str) or len(body) > MAX_BODY:
        raise ValidationError("body", f"text of at most {MAX_BODY} characters")
    if not isinstance(purpose, str) or len(purpose) > 32:
        raise ValidationError("purpose", "at most 32 characters")
    if not isinstance(reference, str) or len(reference) > 128:
        raise ValidationError("reference", "at most 128 characters")
    callback = _callback_name(on_sent)
    if profile is not None and not isinstance(profile, str):
        raise ValidationError("profile", "must be a profile name")
    if _profile_query(profile) is None:
        raise MailNotConfigured(f"no SMTP profile {profile!r}" if profile else "no default SMTP profile configured")

    message = EmailMessage(policy=SMTP)
    message["To"] = ", ".join(recipients)
    message["Subject"] = subject
    message["Date"] = email.utils.formatdate(localtime=False)
    message["Message-ID"] = email.utils.make_msgid(domain=_msgid_domain(recipients))
    message.set_content(body)
    total = len(body.encode())
    for filename, data, mimetype in _attachments(attachments):
        total += len(data)
        if total > MAX_MESSAGE_BYTES:
            raise ValidationError("attachments", f"the message is over {MAX_MESSAGE_BYTES // (1024 * 1024)} MB")
        maintype, _, subtype = mimetype.partition("/")
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    raw = message.as_bytes()
    now = dt.datetime.utcnow()
    row = MailQueue.create(created_at=now, profile=profile, recipients=recipients, subject=subject, message=raw,
                           size=len(raw), purpose=purpose, reference=reference, on_sent=callback, state="queued",
                           next_attempt_at=now)
    wakeup.set()
    return row.id


def status(queue_id: int) -> dict | None:
    row = MailQueue.get_or_none(MailQueue.id == int(queue_id))
    return _public(row) if row is not None else None


def find(purpose: str, reference: str | None = None) -> list[dict]:
    query = MailQueue.select().where(MailQueue.purpose == purpose)
    if reference is not None:
        query = query.where(MailQueue.reference == reference)
    return [_public(row) for row in query.order_by(MailQueue.id.desc())]


def retry(queue_id: int) -> dict:
    """Attempt a queued or given-up message now ("retry now"); a sent or sending one is refused (Conflict)."""
    from appliance.errors import Conflict

    row = MailQueue.get_or_none(MailQueue.id == int(queue_id))
    if row is None:
        raise NotFound("mail", str(queue_id))
    if row.state not in ("queued", "failed"):
        raise Conflict("state", f"this mail is {row.state}, it cannot be retried")
    now = dt.datetime.utcnow()
    values = {"state": "queued", "next_attempt_at": now}
    if row.state == "failed":  # a fresh day of retries from now
        values["created_at"] = now
    # Only if it is still in the state seen: the sender may have claimed it ("sending") meanwhile, and
    # putting it back to "queued" would send it twice.
    changed = MailQueue.update(**values).where((MailQueue.id == row.id) & (MailQueue.state == row.state)).execute()
    if not changed:
        current = MailQueue.get_or_none(MailQueue.id == row.id)
        raise Conflict("state", f"this mail is {current.state if current else 'deleted'} now, it cannot be retried")
    wakeup.set()
    return status(row.id)


def listing(limit: int = 200) -> list[dict]:
    """The queue for the UI/API: unsent first (oldest first), then the recently sent/failed, newest first."""
    pending = list(MailQueue.select().where(MailQueue.state.in_(("queued", "sending")))
                   .order_by(MailQueue.id).limit(limit))
    done = list(MailQueue.select().where(MailQueue.state.in_(("sent", "failed")))
                .order_by(MailQueue.id.desc()).limit(max(0, limit - len(pending))))
    return [_public(row, full=True) for row in pending + done]


def resolve_callback(name: str):
    """The function stored as "module:function" (None when it cannot be imported)."""
    module_name, _, attr = name.partition(":")
    try:
        target = importlib.import_module(module_name)
        for part in attr.split("."):
            target = getattr(target, part)
    except (ImportError, AttributeError):
        return None
    return target if callable(target) else None


# -- internals -----------------------------------------------------------------------------------------

def _profile_query(name: str | None) -> MailProfile | None:
    if name:
        return MailProfile.get_or_none(MailProfile.name == name)
    return MailProfile.get_or_none(MailProfile.is_default == True)  # noqa: E712  (one default, see profiles)


def _recipients(to) -> list[str]:
    if isinstance(to, str):
        return [check_address("to", to)]
    if not isinstance(to, (list, tuple)) or not to:
        raise ValidationError("to", "one address or a list of addresses")
    if len(to) > MAX_RECIPIENTS:
        raise ValidationError("to", f"at most {MAX_RECIPIENTS} recipients")
    return [check_address(f"to.{i}", value) for i, value in enumerate(to)]


def _attachments(items) -> list[tuple[str, bytes, str]]:
    items = list(items or ())
    if len(items) > MAX_ATTACHMENTS:
        raise ValidationError("attachments", f"at most {MAX_ATTACHMENTS} attachments")
    out = []
    for i, item in enumerate(items):
        field = f"attachments.{i}"
        if not isinstance(item, (list, tuple)) or len(item) not in (2, 3):
            raise ValidationError(field, "expected (filename, bytes or path, mimetype)")
        filename, content = item[0], item[1]
        mimetype = item[2] if len(item) == 3 and item[2] else None
        if not isinstance(filename, str) or not filename or len(filename) > 255 or "/" in filename \
                or any(ord(c) < 32 for c in filename):
            raise ValidationError(field, "a file name (no slash, at most 255 characters)")
        if isinstance(content, (bytes, bytearray, memoryview)):
            data = bytes(content)
        elif isinstance(content, (str, os.PathLike)):
            path = Path(content)
            try:
                if path.stat().st_size > MAX_MESSAGE_BYTES:
                    raise ValidationError(field, f"over {MAX_MESSAGE_BYTES // (1024 * 1024)} MB")
                data = path.read_bytes()
            except OSError as exc:
                raise ValidationError(field, f"cannot read {path}: {exc.strerror or exc}") from exc
        else:
            raise ValidationError(field, "content must be bytes or a file path")
        mimetype = mimetype or mimetypes.guess_type(filename)[0] or "application/octet-stream"
        if not isinstance(mimetype, str) or mimetype.count("/") != 1 or len(mimetype) > 100:
            raise ValidationError(field, "mimetype must be type/subtype")
        out.append((filename, data, mimetype))
    return out


def _callback_name(on_sent) -> str:
    if on_sent is None or on_sent == "":
        return ""
    if isinstance(on_sent, str):
        name = on_sent
    else:
        module, qualname = getattr(on_sent, "__module__", None), getattr(on_sent, "__qualname__", "")
        if not module or "<" in qualname or "." in qualname:
            raise ValidationError("on_sent", "must be a module-level function")
        name = f"{module}:{qualname}"
    if len(name) > 200 or name.count(":") != 1 or resolve_callback(name) is None:
        raise ValidationError("on_sent", f"{name!r} is not an importable module-level function")
    return name


def _msgid_domain(recipients: list[str]) -> str:
    sender = MailProfile.select(MailProfile.sender).order_by(MailProfile.is_default.desc()).scalar()
    return (sender or recipients[0]).rpartition("@")[2] or "localhost"


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat(timespec="seconds") + "Z" if value else None


def _public(row: MailQueue, full: bool = False) -> dict:
    data = {"id": row.id, "state": row.state, "attempts": row.attempts, "last_reason": row.last_reason,
            "last_error": row.last_error, "sent_at": _iso(row.sent_at),
            "next_attempt_at": _iso(row.next_attempt_at) if row.state == "queued" else None,
            "purpose": row.purpose, "reference": row.reference, "server_reply": row.server_reply}
    if full:
        data.update({"created_at": _iso(row.created_at), "profile": row.profile, "to": row.recipients,
                     "subject": row.subject, "size": row.size, "last_attempt_at": _iso(row.last_attempt_at)})
    return data
