"""Price lists and their rates (schema V6), with the manual's CSV columns."""

from __future__ import annotations

import datetime as dt

import peewee

from appliance.store import BaseModel


class PriceList(BaseModel):
    name = peewee.CharField(max_length=64, unique=True)
    description = peewee.CharField(max_length=255, default="")
    currency = peewee.CharField(max_length=3, default="EUR")
    revision = peewee.IntegerField(default=1)
    updated_at = peewee.DateTimeField(default=dt.datetime.utcnow)

    class Meta:
        table_name = "price_list"


class PriceRate(BaseModel):
    """dialprefix: longest prefix wins. rate per minute; min_duration: seconds free of charge;
    billing_block: seconds per unit; start/stop_day: 1 = Monday .. 7 = Sunday; start/stop_time: seconds
    from midnight (0..86400)."""

    price_list = peewee.ForeignKeyField(PriceList, column_name="list_id", on_delete="CASCADE", backref="rates")
    dialprefix = peewee.CharField(max_length=32)
    destination = peewee.CharField(max_length=128, default="")
    rate = peewee.FloatField()
    min_duration = peewee.IntegerField(default=0)
    billing_block = peewee.IntegerField(default=60)
    connect_charge = peewee.FloatField(default=0.0)
    start_day = peewee.IntegerField(default=1)
    stop_day = peewee.IntegerField(default=7)
    start_time = peewee.IntegerField(default=0)
    stop_time = peewee.IntegerField(default=86400)

    class Meta:
        table_name = "price_rate"
