"""Provisioning tables (schema V14): devices, the settings row, phonebook contacts, firmware files."""

from __future__ import annotations

import datetime as dt

import peewee

from appliance.store import BaseModel
from appliance.users.models import User


class Device(BaseModel):
    """A phone known by its MAC (12 lower-case hex digits), found by its own request or added by hand.

    `prov_ha1` is MD5(username:realm:password) over the provisioning realm, what digest authentication
    checks; `prov_password_enc` is the same password Fernet-encrypted, because the phone is given it in
    its config. `link_token_hash` is the SHA-256 of the secret link's token (the token itself encrypted
    in `link_token_enc`, shown to the installer).
    """

    mac = peewee.CharField(max_length=12, unique=True)
    vendor = peewee.CharField(max_length=32, default="")
    model = peewee.CharField(max_length=64, default="")
    firmware = peewee.CharField(max_length=64, default="")
    user_agent = peewee.CharField(max_length=255, default="")
    ip = peewee.CharField(max_length=64, default="")
    last_seen = peewee.DateTimeField(null=True)
    last_file = peewee.CharField(max_length=128, default="")
    user = peewee.ForeignKeyField(User, null=True, on_delete="SET NULL", backref="devices")
    label = peewee.CharField(max_length=64, default="")
    added_by = peewee.CharField(max_length=8, default="auto")  # auto (its own request) | manual
    prov_username = peewee.CharField(max_length=64)
    prov_ha1 = peewee.CharField(max_length=32)
    prov_password_enc = peewee.TextField()
    credentials_delivered = peewee.BooleanField(default=False)
    trusted_ranges = peewee.TextField(default="")  # comma-separated networks (CIDR)
    link_token_hash = peewee.CharField(max_length=64, unique=True)
    link_token_enc = peewee.TextField()
    created_at = peewee.DateTimeField(default=dt.datetime.utcnow)
    revision = peewee.IntegerField(default=1)

    class Meta:
        table_name = "device"

    @property
    def ranges(self) -> list[str]:
        return [r for r in self.trusted_ranges.split(",") if r]


class ProvisioningSettings(BaseModel):
    """The single settings row (id 1): until when unknown devices are added, the codec order."""

    auto_add_until = peewee.DateTimeField(null=True)
    codecs = peewee.CharField(max_length=128, default="G722,PCMA,PCMU")
    revision = peewee.IntegerField(default=1)

    class Meta:
        table_name = "provisioning_settings"


class PhonebookContact(BaseModel):
    """An outside contact in the company phonebook (the users are in it by themselves)."""

    name = peewee.CharField(max_length=128)
    company = peewee.CharField(max_length=128, default="")
    number = peewee.CharField(max_length=32)
    mobile = peewee.CharField(max_length=32, default="")
    created_at = peewee.DateTimeField(default=dt.datetime.utcnow)

    class Meta:
        table_name = "phonebook_contact"


class Firmware(BaseModel):
    """A firmware file uploaded for one vendor/model, offered to the matching phones."""

    vendor = peewee.CharField(max_length=32)
    model = peewee.CharField(max_length=64)
    version = peewee.CharField(max_length=64, default="")
    filename = peewee.CharField(max_length=255, unique=True)
    size_bytes = peewee.IntegerField(default=0)
    sha256 = peewee.CharField(max_length=64, default="")
    uploaded_at = peewee.DateTimeField(default=dt.datetime.utcnow)

    class Meta:
        table_name = "firmware"


def get_provisioning_settings() -> ProvisioningSettings:
    return ProvisioningSettings.get_by_id(1)
