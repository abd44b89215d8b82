from __future__ import annotations

import datetime as dt
from enum import StrEnum

import peewee

from appliance.store import BaseModel


class Role(StrEnum):
    ADMIN = "admin"
    TECHNICIAN = "technician"
    USER = "user"


ROLES = tuple(r.value for r in Role)


class User(BaseModel):
    """A person: web login, and for phone users an extension with SIP credentials.

    `ha1`/`ha1b` are what Kamailio checks digests against (through the
    `subscriber` view); `sip_password_enc` is the Fernet-encrypted password
    given back to phones at provisioning.
    """

    login = peewee.CharField(max_length=64, unique=True)
    extension = peewee.CharField(max_length=16, unique=True, null=True)
    first_name = peewee.CharField(max_length=64, default="")
    last_name = peewee.CharField(max_length=64, default="")
    email = peewee.CharField(max_length=254, unique=True, null=True)
    role = peewee.CharField(max_length=16, default=Role.USER)
    language = peewee.CharField(max_length=5, default="fr")
    web_password_hash = peewee.CharField(max_length=255, null=True)
    must_change_password = peewee.BooleanField(default=False)
    sip_password_enc = peewee.TextField(null=True)
    ha1 = peewee.CharField(max_length=32, null=True)
    ha1b = peewee.CharField(max_length=32, null=True)
    revision = peewee.IntegerField(default=1)
    # Dialplan procedure for the calls this user places; mobile number for mobility lookup.
    dialplan = peewee.CharField(max_length=64, default="users")
    mobile = peewee.CharField(max_length=32, default="")
    # Outbound caller ID: appliance (the trunk's number) | custom (caller_id_number) | anonymous | transparent.
    caller_id_mode = peewee.CharField(max_length=12, default="appliance")
    caller_id_number = peewee.CharField(max_length=32, default="")
    # Call recording: never | always | on_demand (the feature code during a call); see appliance.recordings.
    recording_mode = peewee.CharField(max_length=10, default="never")
    # SSH console (serialconsole): OpenSSH authorized_keys lines of this account (admins, technicians).
    ssh_keys = peewee.TextField(default="")
    created_at = peewee.DateTimeField(default=dt.datetime.utcnow)
    updated_at = peewee.DateTimeField(default=dt.datetime.utcnow)

    @property
    def display_name(self) -> str:
        return " ".join(p for p in (self.first_name, self.last_name) if p) or (self.extension or self.login)

    def to_public(self) -> dict:
        """The fields any API client may read (never a password or hash)."""
        return {
            "extension": self.extension,
            "first_name": self.first_name,
            "last_name": self.last_name,
            "email": self.email,
            "role": self.role,
            "language": self.language,
            "dialplan": self.dialplan,
            "mobile": self.mobile,
            "caller_id_mode": self.caller_id_mode,
            "caller_id_number": self.caller_id_number,
            "recording_mode": self.recording_mode,
            "revision": self.revision,
        }
