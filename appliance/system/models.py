from __future__ import annotations

import datetime as dt

import peewee

from appliance.store import BaseModel

LANGUAGES = ("fr", "en", "de", "it")


class SystemSettings(BaseModel):
    """The single row of appliance-wide settings (id is always 1)."""

    appliance_name = peewee.CharField(max_length=64, default="PBX")
    sip_domain = peewee.CharField(max_length=253, default="pbx.local")
    country = peewee.CharField(max_length=2, default="FR")
    timezone = peewee.CharField(max_length=64, default="Europe/Paris")
    language = peewee.CharField(max_length=5, default="fr")
    # Seconds a called extension rings before the call ends as "no answer".
    ring_timeout_s = peewee.IntegerField(default=30)
    # SIP edge: an IP failing authentication ban_failures times within
    # ban_window_s seconds is refused for ban_minutes minutes.
    ban_failures = peewee.IntegerField(default=10)
    ban_window_s = peewee.IntegerField(default=60)
    ban_minutes = peewee.IntegerField(default=15)
    updated_at = peewee.DateTimeField(default=dt.datetime.utcnow)
    # SIP edge: more requests than this from one address within 2 s is a flood, dropped.
    flood_limit = peewee.IntegerField(default=100)
    # Bumped by every save: a client sending the revision it read gets a conflict if it moved.
    revision = peewee.IntegerField(default=1)
    # Dialling: the national trunk prefix ("0") and the international prefix ("00") of the system's
    # country decide a number's call class and E.164 form (appliance.trunks.numbers).
    national_prefix = peewee.CharField(max_length=4, default="0")
    international_prefix = peewee.CharField(max_length=4, default="00")

    class Meta:
        table_name = "system_settings"

    def to_public(self) -> dict:
        """The settings as the API shows them, with the revision to send back on change."""
        return {field: getattr(self, field) for field in PUBLIC_FIELDS}


PUBLIC_FIELDS = ("appliance_name", "sip_domain", "country", "timezone", "language", "ring_timeout_s",
                 "ban_failures", "ban_window_s", "ban_minutes", "flood_limit", "national_prefix",
                 "international_prefix", "revision")


def get_system_settings() -> SystemSettings:
    return SystemSettings.get_by_id(1)
