"""Events (schema V6). `kind` is a stable ID such as "trunk.registered" (appliance.events.log lists them)."""

from __future__ import annotations

import datetime as dt

import peewee

from appliance.dialplan.models import JSONField
from appliance.store import BaseModel


class Event(BaseModel):
    at = peewee.DateTimeField(default=dt.datetime.utcnow)
    kind = peewee.CharField(max_length=48)
    severity = peewee.CharField(max_length=8, default="info")  # info | warning | alert
    subject = peewee.CharField(max_length=128, default="")      # the trunk, user, IP... it is about
    message = peewee.CharField(max_length=512, default="")
    details = JSONField(default=dict)
    emailed = peewee.BooleanField(default=False)

    class Meta:
        table_name = "event"
