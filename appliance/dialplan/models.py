"""The dialplan's tables (schema V5). Every object is known by its immutable `name`.

JSON columns hold ordered documents whose shape is checked by the service
of each object before it is written (see the modules named below); code
reading them may rely on that shape.
"""

from __future__ import annotations

import datetime as dt
import json

import peewee

from appliance.store import BaseModel, database

NAME_RE = r"^[a-z0-9][a-z0-9_-]{0,63}$"
# The procedure generated from the users table and the feature codes; not editable.
INTERNAL = "internal"
DEFAULT_USER_PROCEDURE = "users"
DEFAULT_TRUNK_PROCEDURE = "main"


class JSONField(peewee.TextField):
    def db_value(self, value):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))

    def python_value(self, value):
        return json.loads(value) if value is not None else None


class DialplanMeta(BaseModel):
    """One row: the revision of the whole dialplan configuration (workers recompile when it moves)."""

    revision = peewee.IntegerField(default=1)

    class Meta:
        table_name = "dialplan_meta"


def bump_revision() -> None:
    """Call inside the transaction of every dialplan configuration change."""
    DialplanMeta.update(revision=DialplanMeta.revision + 1).where(DialplanMeta.id == 1).execute()


def current_revision() -> int:
    return database.execute_sql("SELECT revision FROM dialplan_meta WHERE id = 1").fetchone()[0]


class Procedure(BaseModel):
    """numbers: [{"number": "1XX", "comment": "", "apps": [{"app": "<kind>", ...options}]}] in order.

    includes: names of procedures searched after this one's own numbers, in order.
    (appliance.dialplan.procedures validates both.)
    """

    name = peewee.CharField(max_length=64, unique=True)
    description = peewee.CharField(max_length=255, default="")
    includes = JSONField(default=list)
    numbers = JSONField(default=list)
    revision = peewee.IntegerField(default=1)
    updated_at = peewee.DateTimeField(default=dt.datetime.utcnow)

    class Meta:
        table_name = "dialplan_procedure"


class TimeRange(BaseModel):
    """intervals: [{"days": [0..6] (Monday=0), "start": "HH:MM", "end": "HH:MM",
                    "month_days": [first, last] | null, "months": [first, last] | null}]
    holidays: [{"kind": "fixed", "date": "YYYY-MM-DD", "name": ""}
               | {"kind": "yearly", "date": "MM-DD", "name": ""}
               | {"kind": "easter", "offset": int days, "name": ""}]
    country_holidays: also the public holidays of the system's country.
    holiday_mode: "outside" (a holiday is never inside the range: opening hours),
                  "inside" (a holiday is inside all day: closed hours), "ignore".
    (appliance.dialplan.timeranges validates and evaluates.)
    """

    name = peewee.CharField(max_length=64, unique=True)
    description = peewee.CharField(max_length=255, default="")
    intervals = JSONField(default=list)
    holidays = JSONField(default=list)
    country_holidays = peewee.BooleanField(default=False)
    holiday_mode = peewee.CharField(max_length=8, default="outside")
    revision = peewee.IntegerField(default=1)
    updated_at = peewee.DateTimeField(default=dt.datetime.utcnow)

    class Meta:
        table_name = "time_range"


class Switch(BaseModel):
    """A two- or three-state switch; `state` 0 = off, 1 = on, 2 = extra (three-state only).

    code: the number callers type after feature code 93. allowed: extensions
    that may toggle it by phone ([] = nobody by phone; the UI/API always can).
    """

    name = peewee.CharField(max_length=64, unique=True)
    description = peewee.CharField(max_length=255, default="")
    code = peewee.IntegerField(unique=True)
    states = peewee.IntegerField(default=2)
    state = peewee.IntegerField(default=0)
    allowed = JSONField(default=list)
    changed_by = peewee.CharField(max_length=64, default="")
    revision = peewee.IntegerField(default=1)
    updated_at = peewee.DateTimeField(default=dt.datetime.utcnow)

    class Meta:
        table_name = "switch"


class CallGroup(BaseModel):
    """members: [{"extension": "101", "ring_seconds": 15 | null}] in order.

    strategy: ring_all | sequential | random | round_robin | least_recent | fewest_calls.
    ring_seconds: the whole group; member_ring_seconds: default per member.
    no_answer_procedure/number: where the call goes when nobody answers
    ("" = continue with the next application).
    """

    name = peewee.CharField(max_length=64, unique=True)
    description = peewee.CharField(max_length=255, default="")
    strategy = peewee.CharField(max_length=16, default="ring_all")
    ring_seconds = peewee.IntegerField(default=60)
    member_ring_seconds = peewee.IntegerField(default=15)
    members = JSONField(default=list)
    no_answer_procedure = peewee.CharField(max_length=64, default="")
    no_answer_number = peewee.CharField(max_length=64, default="")
    record = peewee.BooleanField(default=False)  # record the calls its members answer (appliance.recordings)
    revision = peewee.IntegerField(default=1)
    updated_at = peewee.DateTimeField(default=dt.datetime.utcnow)

    class Meta:
        table_name = "call_group"


class CallGroupState(BaseModel):
    """Per group and member: when it was last offered a call, how many it answered."""

    group_name = peewee.CharField(max_length=64)
    extension = peewee.CharField(max_length=16)
    last_called_at = peewee.DateTimeField(null=True)
    calls_answered = peewee.IntegerField(default=0)

    class Meta:
        table_name = "call_group_state"
        primary_key = peewee.CompositeKey("group_name", "extension")


class CallGroupPointer(BaseModel):
    """Round robin: the index of the member to ring first next time."""

    group_name = peewee.CharField(max_length=64, primary_key=True)
    next_index = peewee.IntegerField(default=0)

    class Meta:
        table_name = "call_group_pointer"


class Ivr(BaseModel):
    """tree: the root node, a JSON tree (see appliance.dialplan.ivr for node types)."""

    name = peewee.CharField(max_length=64, unique=True)
    description = peewee.CharField(max_length=255, default="")
    tree = JSONField(default=dict)
    revision = peewee.IntegerField(default=1)
    updated_at = peewee.DateTimeField(default=dt.datetime.utcnow)

    class Meta:
        table_name = "ivr"
