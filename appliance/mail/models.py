"""Mail tables (schema V10)."""

from __future__ import annotations

import datetime as dt

import peewee

from appliance.dialplan.models import JSONField
from appliance.store import BaseModel

SECURITY_MODES = ("none", "starttls", "tls")  # tls = implicit TLS (SMTPS, usually port 465)
STATES = ("queued", "sending", "sent", "failed")  # failed = given up (a day of retries); "retry now" requeues


class MailProfile(BaseModel):
    """An SMTP client profile. password_enc: Fernet (appliance.store.secrets), never shown again.

    verify_tls: check the server's certificate (default); off = accept a self-signed certificate.
    helo: the name given in EHLO/HELO ("" = this host's name). One profile has is_default set.
    """

    name = peewee.CharField(max_length=64, unique=True)
    description = peewee.CharField(max_length=255, default="")
    sender = peewee.CharField(max_length=254)
    sender_name = peewee.CharField(max_length=128, default="")
    server = peewee.CharField(max_length=253)
    port = peewee.IntegerField(default=587)
    security = peewee.CharField(max_length=8, default="starttls")
    username = peewee.CharField(max_length=254, default="")
    password_enc = peewee.TextField(null=True)
    helo = peewee.CharField(max_length=253, default="")
    verify_tls = peewee.BooleanField(default=True)
    is_default = peewee.BooleanField(default=False)
    revision = peewee.IntegerField(default=1)
    updated_at = peewee.DateTimeField(default=dt.datetime.utcnow)

    class Meta:
        table_name = "mail_profile"


class MailSettings(BaseModel):
    """One row (id 1). admin_address: where events of at least `alert_severity` are mailed ("" = nowhere)."""

    admin_address = peewee.CharField(max_length=254, default="")
    alert_severity = peewee.CharField(max_length=8, default="warning")  # warning | alert
    revision = peewee.IntegerField(default=1)

    class Meta:
        table_name = "mail_settings"


class MailQueue(BaseModel):
    """One outgoing message. message: the RFC 5322 bytes without From/Sender (set from the profile when sent).

    profile: a profile name, None = the default profile at send time. purpose/reference: the caller's key
    (e.g. "voicemail", "<box>/<message id>"; "event", "<event id>"). on_sent: "module:function" called by
    the sender after the row is marked sent. The message bytes are dropped once sent.
    """

    created_at = peewee.DateTimeField(default=dt.datetime.utcnow)
    profile = peewee.CharField(max_length=64, null=True)
    recipients = JSONField(default=list)
    subject = peewee.CharField(max_length=998, default="")
    message = peewee.BlobField()
    size = peewee.IntegerField(default=0)
    purpose = peewee.CharField(max_length=32, default="")
    reference = peewee.CharField(max_length=128, default="")
    on_sent = peewee.CharField(max_length=200, default="")
    state = peewee.CharField(max_length=8, default="queued")
    attempts = peewee.IntegerField(default=0)
    next_attempt_at = peewee.DateTimeField(default=dt.datetime.utcnow)
    last_attempt_at = peewee.DateTimeField(null=True)
    last_reason = peewee.CharField(max_length=16, default="")
    last_error = peewee.CharField(max_length=512, default="")
    sent_at = peewee.DateTimeField(null=True)
    server_reply = peewee.CharField(max_length=512, default="")

    class Meta:
        table_name = "mail_queue"
