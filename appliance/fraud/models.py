"""Toll-fraud settings and the unlocks used (schema V6)."""

from __future__ import annotations

import datetime as dt

import peewee

from appliance.dialplan.models import JSONField
from appliance.store import BaseModel


class FraudSettings(BaseModel):
    """One row. allowed_countries: ISO-2 codes ([] = the default whitelist: EEA, CH, GB).
    blocked_until: outbound is blocked until then (UTC) after the daily budget was exceeded."""

    enabled = peewee.BooleanField(default=True)
    allowed_countries = JSONField(default=list)
    daily_budget = peewee.FloatField(default=50.0)
    calls_per_minute = peewee.IntegerField(default=10)
    calls_per_minute_per_user = peewee.IntegerField(default=3)
    premium_allowed = peewee.BooleanField(default=False)
    max_calls_per_user = peewee.IntegerField(default=2)
    # Fractions allowed (0.5 = 30 s): SQLite keeps them in the INTEGER column of V6 as REAL values.
    max_call_minutes = peewee.FloatField(default=120)
    blocked_until = peewee.DateTimeField(null=True)
    revision = peewee.IntegerField(default=1)

    class Meta:
        table_name = "fraud_settings"


class FraudUnlock(BaseModel):
    at = peewee.DateTimeField(default=dt.datetime.utcnow)
    by = peewee.CharField(max_length=64, default="")

    class Meta:
        table_name = "fraud_unlock"


class FraudAttempt(BaseModel):
    """An outbound call the guard let through (schema V7): what the per-minute rate limits count."""

    at = peewee.DateTimeField()
    user = peewee.CharField(max_length=64, default="")

    class Meta:
        table_name = "fraud_attempt"
