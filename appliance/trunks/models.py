"""Trunks, inbound numbers and trunk groups (schema V6). Objects are known by their immutable `name`."""

from __future__ import annotations

import datetime as dt

import peewee

from appliance.dialplan.models import JSONField
from appliance.store import BaseModel

DYNAMIC = "dynamic"  # host of a trunk the other side registers to (PBX-to-PBX)
TRANSPORTS = ("udp", "tcp", "tls")
# Where the provider puts the number that was called.
CALLED_HEADERS = ("ruri", "to", "pcpid", "diversion")


class Trunk(BaseModel):
    """A SIP trunk. password_enc: Fernet (appliance.store.secrets), never shown again.

    host: "host[:port]" or "dynamic". codecs: ordered list ("PCMA", "PCMU", "G722").
    ip_auth: provider addresses allowed to send calls without registration (IP authentication).
    max_calls: simultaneous calls, 0 = no limit. country_code: digits, e.g. "41", for normalising numbers.
    """

    name = peewee.CharField(max_length=64, unique=True)
    title = peewee.CharField(max_length=128, default="")
    preset = peewee.CharField(max_length=32, default="generic")
    auth_user = peewee.CharField(max_length=64, default="")
    from_user = peewee.CharField(max_length=64, default="")
    provider_domain = peewee.CharField(max_length=253, default="")
    host = peewee.CharField(max_length=260, default="")
    password_enc = peewee.TextField(null=True)
    # For a "dynamic" trunk (the other PBX registers to us): the digest HA1 Kamailio checks it against.
    ha1 = peewee.CharField(max_length=32, null=True)
    register = peewee.BooleanField(default=True)
    keepalive = peewee.BooleanField(default=True)
    transport = peewee.CharField(max_length=3, default="udp")
    # TLS: verify the provider's certificate against the system's CAs (off: accept a self-signed one).
    tls_verify = peewee.BooleanField(default=True)
    codecs = JSONField(default=lambda: ["PCMA", "PCMU", "G722"])
    max_calls = peewee.IntegerField(default=0)
    country_code = peewee.CharField(max_length=4, default="")
    inbound_procedure = peewee.CharField(max_length=64, default="main")
    outbound_caller_id = peewee.CharField(max_length=32, default="")
    called_header = peewee.CharField(max_length=10, default="ruri")
    ip_auth = JSONField(default=list)
    price_list = peewee.CharField(max_length=64, null=True)
    enabled = peewee.BooleanField(default=True)
    revision = peewee.IntegerField(default=1)
    updated_at = peewee.DateTimeField(default=dt.datetime.utcnow)

    class Meta:
        table_name = "trunk"


class Did(BaseModel):
    """An inbound number: exact E.164 ("+41441234567"), trailing digits ("2304024") or a range ("0233456*").

    trunk: only calls from this trunk (None = any). destination_kind: user | call_group | ivr |
    time_range | voicemail | external | procedure; destination: the extension, name or number;
    procedure: for time_range (the procedure when inside) and procedure (where to go).
    """

    number = peewee.CharField(max_length=40, unique=True)
    trunk = peewee.CharField(max_length=64, null=True)
    description = peewee.CharField(max_length=255, default="")
    destination_kind = peewee.CharField(max_length=12)
    destination = peewee.CharField(max_length=64, default="")
    procedure = peewee.CharField(max_length=64, default="")
    revision = peewee.IntegerField(default=1)
    updated_at = peewee.DateTimeField(default=dt.datetime.utcnow)

    class Meta:
        table_name = "did"


class TrunkGroup(BaseModel):
    """members: [{"trunk": name, "strip": int, "prepend": "digits", "max_calls": int (0 = the trunk's)}] in order.

    failover_delay_s: seconds a trunk may take to answer 100/180 before the next one is tried (0 = its own
    final answer only).
    """

    name = peewee.CharField(max_length=64, unique=True)
    description = peewee.CharField(max_length=255, default="")
    members = JSONField(default=list)
    failover_delay_s = peewee.IntegerField(default=0)
    revision = peewee.IntegerField(default=1)
    updated_at = peewee.DateTimeField(default=dt.datetime.utcnow)

    class Meta:
        table_name = "trunk_group"
