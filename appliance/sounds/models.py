"""Sounds the appliance plays: prompts (uploaded, TTS, recorded) and music-on-hold tracks (schema V5)."""

from __future__ import annotations

import datetime as dt

import peewee

from appliance.store import BaseModel


class MohClass(BaseModel):
    name = peewee.CharField(max_length=64, unique=True)
    description = peewee.CharField(max_length=255, default="")

    class Meta:
        table_name = "moh_class"


class Sound(BaseModel):
    """A prompt or a music-on-hold track; `file` is relative to settings.sounds_dir.

    kind: prompt | moh (then moh_class names its class). origin: upload | tts | recording.
    """

    name = peewee.CharField(max_length=64, unique=True)
    description = peewee.CharField(max_length=255, default="")
    kind = peewee.CharField(max_length=8, default="prompt")
    moh_class = peewee.CharField(max_length=64, null=True)
    origin = peewee.CharField(max_length=12, default="upload")
    language = peewee.CharField(max_length=5, default="")
    tts_text = peewee.TextField(default="")
    file = peewee.CharField(max_length=255)
    duration_s = peewee.FloatField(default=0.0)
    size_bytes = peewee.IntegerField(default=0)
    created_at = peewee.DateTimeField(default=dt.datetime.utcnow)

    class Meta:
        table_name = "sound"
