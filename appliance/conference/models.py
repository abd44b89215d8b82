"""Conference rooms and their participants (schema V11)."""

from __future__ import annotations

import datetime as dt

import peewee

from appliance.store import BaseModel


class ConferenceRoom(BaseModel):
    """A room: dialled by `number` (or reached by the "conference" application naming it).

    pin: asked when set ("" = open room); moderator_pin: gives moderator rights (mute all, lock).
    language: of the room's announcements ("" = each caller's own). locked is live state
    (a moderator's key): it does not move `revision`.
    """

    name = peewee.CharField(max_length=64, unique=True)
    number = peewee.CharField(max_length=32, unique=True)
    description = peewee.CharField(max_length=255, default="")
    pin = peewee.CharField(max_length=16, default="")
    moderator_pin = peewee.CharField(max_length=16, default="")
    max_participants = peewee.IntegerField(default=30)
    entry_tones = peewee.BooleanField(default=True)
    exit_tones = peewee.BooleanField(default=True)
    announce_count = peewee.BooleanField(default=True)
    language = peewee.CharField(max_length=5, default="")
    locked = peewee.BooleanField(default=False)
    revision = peewee.IntegerField(default=1)
    created_at = peewee.DateTimeField(default=dt.datetime.utcnow)

    class Meta:
        table_name = "conference_room"


class ConferenceParticipant(BaseModel):
    """One caller in a room right now; `worker` is the call-core worker holding its leg ("w3")."""

    room = peewee.ForeignKeyField(ConferenceRoom, backref="participants", on_delete="CASCADE",
                                  column_name="room_id")
    call_id = peewee.CharField(max_length=255, unique=True)
    worker = peewee.CharField(max_length=16)
    caller = peewee.CharField(max_length=64, default="")
    caller_name = peewee.CharField(max_length=128, default="")
    moderator = peewee.BooleanField(default=False)
    muted = peewee.BooleanField(default=False)
    joined_at = peewee.DateTimeField(default=dt.datetime.utcnow)

    class Meta:
        table_name = "conference_participant"
