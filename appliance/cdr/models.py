from __future__ import annotations

from enum import StrEnum

import peewee

from appliance.store import BaseModel


class Disposition(StrEnum):
    IN_PROGRESS = "in_progress"
    ANSWERED = "answered"
    BUSY = "busy"
    NO_ANSWER = "no_answer"
    FAILED = "failed"
    CANCELLED = "cancelled"


class Cdr(BaseModel):
    """One call as the caller experienced it; `end` is NULL while it is up."""

    call_id = peewee.CharField(max_length=64, unique=True)
    caller = peewee.CharField(max_length=64)
    caller_name = peewee.CharField(max_length=128, default="")
    callee = peewee.CharField(max_length=64)
    start = peewee.DateTimeField()
    answer = peewee.DateTimeField(null=True)
    end = peewee.DateTimeField(null=True)
    billsec = peewee.IntegerField(default=0)
    disposition = peewee.CharField(max_length=16, default=Disposition.IN_PROGRESS)
    hangup_cause = peewee.CharField(max_length=128, default="")
    worker = peewee.CharField(max_length=32, default="")
    # Kamailio's dispatch number of the INVITE (X-AP-Dispatch): a call retried
    # on another worker keeps its one row, owned by the latest dispatch.
    dispatch = peewee.IntegerField(default=1)
    # Calls through trunks (schema V6): inbound | outbound | internal, the trunk, the call class
    # (local, national, mobile, international, premium, emergency), the E.164 number sent, the cost.
    direction = peewee.CharField(max_length=8, default="internal")
    trunk = peewee.CharField(max_length=64, default="")
    call_class = peewee.CharField(max_length=16, default="")
    dialled = peewee.CharField(max_length=40, default="")
    cost = peewee.FloatField(null=True)

    class Meta:
        table_name = "cdr"
