"""Store tables of the network settings (schema V16)."""

from __future__ import annotations

import peewee

from appliance.store import BaseModel


class NetSettings(BaseModel):
    """The one row (id 1): scenario and the traffic shaper's limits on the WAN (0 = no limit)."""

    scenario = peewee.CharField(max_length=16, default="separate")
    shaper_upload_kbit = peewee.IntegerField(default=0)
    shaper_download_kbit = peewee.IntegerField(default=0)
    revision = peewee.IntegerField(default=1)
    applied_revision = peewee.IntegerField(default=0)
    updated_at = peewee.DateTimeField(null=True)

    class Meta:
        table_name = "net_settings"


class NetInterface(BaseModel):
    name = peewee.CharField(max_length=8, primary_key=True)
    mode = peewee.CharField(max_length=8, default="off")  # off | dhcp | static
    address = peewee.CharField(max_length=64, default="")  # "10.135.0.1/24" when static
    gateway = peewee.CharField(max_length=64, default="")
    dns = peewee.CharField(max_length=255, default="")  # space separated
    mtu = peewee.IntegerField(default=1500)
    vlan = peewee.IntegerField(null=True)

    class Meta:
        table_name = "net_interface"


class DhcpSettings(BaseModel):
    enabled = peewee.BooleanField(default=True)
    interface = peewee.CharField(max_length=8, default="eth1")
    range_start = peewee.CharField(max_length=64, default="10.135.0.100")
    range_end = peewee.CharField(max_length=64, default="10.135.0.250")
    lease_minutes = peewee.IntegerField(default=1440)
    max_leases = peewee.IntegerField(default=150)
    domain = peewee.CharField(max_length=255, default="")
    gateway = peewee.CharField(max_length=64, default="")
    dns1 = peewee.CharField(max_length=64, default="")
    dns2 = peewee.CharField(max_length=64, default="")
    ntp1 = peewee.CharField(max_length=64, default="")
    ntp2 = peewee.CharField(max_length=64, default="")
    wins1 = peewee.CharField(max_length=64, default="")
    wins2 = peewee.CharField(max_length=64, default="")
    refuse_unknown = peewee.BooleanField(default=False)
    provisioning_name = peewee.CharField(max_length=255, default="provisioning.pbx.lan")
    revision = peewee.IntegerField(default=1)
    updated_at = peewee.DateTimeField(null=True)

    class Meta:
        table_name = "dhcp_settings"


class DhcpStaticLease(BaseModel):
    mac = peewee.CharField(max_length=17, unique=True)  # 12 lower-case hex digits
    address = peewee.CharField(max_length=64, unique=True)
    hostname = peewee.CharField(max_length=63, default="")

    class Meta:
        table_name = "dhcp_static_lease"
