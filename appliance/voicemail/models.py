"""Voicemail boxes, subscriptions to shared boxes, messages (schema V9)."""

from __future__ import annotations

import datetime as dt

import peewee

from appliance.dialplan.models import JSONField
from appliance.store import BaseModel
from appliance.users.models import User

GREETING_KINDS = ("unavailable", "busy", "name")
EMAIL_MODES = ("none", "notify", "attach", "attach_delete")
FOLDERS = ("new", "saved")


class Box(BaseModel):
    """A voicemail box: a user's own (`user` set, `number` = their extension) or shared (`user` None).

    greetings: {kind: {"source": "recorded" | "uploaded" | "tts", "text": "..."}} for the kinds that
    have a file (storage.greeting_path); a kind missing here plays the system's default greeting.
    """

    number = peewee.CharField(max_length=16, unique=True)
    user = peewee.ForeignKeyField(User, null=True, on_delete="CASCADE", column_name="user_id")
    name = peewee.CharField(max_length=64, default="")
    language = peewee.CharField(max_length=5, default="")
    enabled = peewee.BooleanField(default=True)
    pin_hash = peewee.CharField(max_length=255, null=True)
    max_message_s = peewee.IntegerField(default=180)
    quota_mb = peewee.IntegerField(default=30)
    retention_days = peewee.IntegerField(default=30)
    announce = peewee.BooleanField(default=False)
    ring_seconds = peewee.IntegerField(default=20)
    email_mode = peewee.CharField(max_length=16, default="none")
    email_address = peewee.CharField(max_length=254, default="")
    greetings = JSONField(default=dict)
    revision = peewee.IntegerField(default=1)
    created_at = peewee.DateTimeField(default=dt.datetime.utcnow)
    updated_at = peewee.DateTimeField(default=dt.datetime.utcnow)

    class Meta:
        table_name = "voicemail_box"

    @property
    def shared(self) -> bool:
        return self.user_id is None

    @property
    def display_name(self) -> str:
        if self.name:
            return self.name
        if self.user is not None:
            return self.user.display_name
        return self.number

    @property
    def prompt_language(self) -> str:
        if self.language:
            return self.language
        return self.user.language if self.user is not None else "fr"


class Subscription(BaseModel):
    box = peewee.ForeignKeyField(Box, on_delete="CASCADE", column_name="box_id")
    user = peewee.ForeignKeyField(User, on_delete="CASCADE", column_name="user_id")

    class Meta:
        table_name = "voicemail_subscription"


class Message(BaseModel):
    box = peewee.ForeignKeyField(Box, on_delete="CASCADE", column_name="box_id")
    folder = peewee.CharField(max_length=8, default="new")
    read = peewee.BooleanField(default=False)
    urgent = peewee.BooleanField(default=False)
    caller = peewee.CharField(max_length=64, default="")
    caller_name = peewee.CharField(max_length=128, default="")
    received_at = peewee.DateTimeField()
    duration = peewee.FloatField(default=0)
    size_bytes = peewee.IntegerField(default=0)
    file = peewee.CharField(max_length=255)
    email_state = peewee.CharField(max_length=12, default="")
    email_ref = peewee.CharField(max_length=64, default="")

    class Meta:
        table_name = "voicemail_message"
