"""Storage tables (schema V17)."""

from __future__ import annotations

import peewee

from appliance.store import BaseModel


class Volume(BaseModel):
    """A file system the appliance initialized: mounted at <media>/<label> whenever it is plugged in."""

    uuid = peewee.CharField(max_length=64, primary_key=True)
    label = peewee.CharField(max_length=16, unique=True)
    size_bytes = peewee.IntegerField(default=0)
    initialized_at = peewee.DateTimeField(null=True)

    class Meta:
        table_name = "storage_volume"


class Placement(BaseModel):
    """Where one kind of data lives: volume_uuid '' = the internal data folder."""

    kind = peewee.CharField(max_length=32, primary_key=True)
    volume_uuid = peewee.CharField(max_length=64, default="")
    revision = peewee.IntegerField(default=1)
    updated_at = peewee.DateTimeField(null=True)

    class Meta:
        table_name = "storage_placement"


class Share(BaseModel):
    """An SMB or NFS share backups can be written to; the password is a Fernet token."""

    name = peewee.CharField(max_length=64, unique=True)
    protocol = peewee.CharField(max_length=8)
    server = peewee.CharField(max_length=255)
    share = peewee.CharField(max_length=255)
    folder = peewee.CharField(max_length=255, default="")
    username = peewee.CharField(max_length=128, default="")
    password_enc = peewee.TextField(default="")
    domain = peewee.CharField(max_length=128, default="")
    version = peewee.CharField(max_length=8, default="")
    last_test_at = peewee.DateTimeField(null=True)
    last_test_ok = peewee.BooleanField(null=True)
    last_test_message = peewee.CharField(max_length=512, default="")
    revision = peewee.IntegerField(default=1)

    class Meta:
        table_name = "storage_share"
