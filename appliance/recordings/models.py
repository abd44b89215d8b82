"""Recording settings and recordings (schema V12). The WAV files live under the recordings folder."""

from __future__ import annotations

import datetime as dt

import peewee

from appliance.store import BaseModel

MODES = ("never", "always", "on_demand")          # user.recording_mode
REASONS = ("always", "on_demand", "call_group")    # why a recording was made


class RecordingSettings(BaseModel):
    """One row. announcement: both parties hear a legal notice when a recording starts.
    feature_code: keyed during a conversation by a user in "on_demand" mode, starts/stops recording.
    quota_mb: per user (the recording's owner); retention_days: older recordings are deleted."""

    announcement = peewee.BooleanField(default=False)
    feature_code = peewee.CharField(max_length=8, default="*1")
    quota_mb = peewee.IntegerField(default=30)
    retention_days = peewee.IntegerField(default=30)
    revision = peewee.IntegerField(default=1)

    class Meta:
        table_name = "recording_settings"


class Recording(BaseModel):
    """One recorded conversation (or part of one, on demand). call_id: the CDR's. owner: the extension whose
    quota it counts against and who may hear it. file: path relative to the recordings folder.
    duration_s / size_bytes: set when the recording ends (None while it runs)."""

    call_id = peewee.CharField(max_length=64, index=True)
    owner = peewee.CharField(max_length=64, default="")
    reason = peewee.CharField(max_length=12)
    started_at = peewee.DateTimeField(default=dt.datetime.utcnow)
    duration_s = peewee.FloatField(null=True)
    size_bytes = peewee.IntegerField(null=True)
    file = peewee.CharField(max_length=255, unique=True)

    class Meta:
        table_name = "recording"
