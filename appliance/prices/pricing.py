"""The price of a call: which rate applies, and what a call of N seconds costs. Pure functions.

Rules (the manual's price-list columns, WMS -> Trunks -> Price lists):

- **Prefix.** A rate's `dialprefix` is matched against the called number as E.164 digits (no '+',
  country code first, "41441234567"); `e164_prefix` turns a prefix written "+41", "0041" (international
  prefix) or "044" (national prefix, with the trunk's country code) into that form. The longest
  matching prefix wins.
- **Time of week.** A rate applies on the days `start_day`..`stop_day` (1 = Monday .. 7 = Sunday; a
  range may wrap: 6..1 = Saturday, Sunday, Monday) and at the times `start_time`..`stop_time` (seconds
  from midnight, start included, stop excluded; 86400 = midnight at the end of the day; a range may wrap:
  72000..25200 = 20:00 to 07:00). Both are checked against the local date and time of the call's start,
  each on its own: a Monday-Friday 20:00-07:00 rate covers Friday 23:00 and Monday 03:00, not Saturday
  03:00.
- **Which rate.** Among the rates that apply at that moment, the longest prefix wins (a prefix whose
  rates do not cover that moment gives way to a shorter one that does); among rates of that prefix
  whose bands overlap, the band covering fewer seconds of the week wins (a "weekend" or "night" rate
  overrides an "always" rate of the same prefix); equal coverage: the earlier row of the list.
- **Cost.** `rate` is the price per minute; the call is billed in units of `billing_block` seconds, a
  started unit counting in full; `min_duration` seconds: a call lasting at most that long is free
  (nothing billed, not even the connection charge), a longer one is billed from its first second;
  `connect_charge` is added once to every billed call. Computed in Decimal, rounded half-up to 4
  decimals.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Protocol

DAY_SECONDS = 86400
WEEK_SECONDS = 7 * DAY_SECONDS
PLACES = Decimal("0.0001")


class Rate(Protocol):
    """What the pricing needs of a rate (appliance.prices.models.PriceRate or RateRow)."""

    dialprefix: str
    rate: float
    min_duration: int
    billing_block: int
    connect_charge: float
    start_day: int
    stop_day: int
    start_time: int
    stop_time: int


@dataclass(slots=True)
class RateRow:
    """A rate outside the store (tests, the CSV import before it is saved)."""

    dialprefix: str
    rate: float | Decimal | str
    min_duration: int = 0
    billing_block: int = 60
    connect_charge: float | Decimal | str = 0
    start_day: int = 1
    stop_day: int = 7
    start_time: int = 0
    stop_time: int = DAY_SECONDS
    destination: str = ""


def e164_prefix(dialprefix: str, country_code: str = "", international_prefix: str = "00",
                national_prefix: str = "0") -> str:
    """A price list's prefix as E.164 digits: "+41" -> "41", "0041" -> "41", "044" -> "<cc>44".

    A national-form prefix without a known country code stays as written (it then matches nothing:
    E.164 digits never start with 0).
    """
    prefix = dialprefix.strip()
    if prefix.startswith("+"):
        return prefix[1:]
    if international_prefix and prefix.startswith(international_prefix):
        return prefix[len(international_prefix):]
    if national_prefix and prefix.startswith(national_prefix) and country_code:
        return country_code + prefix[len(national_prefix):]
    return prefix


def _in_days(day: int, start: int, stop: int) -> bool:
    return start <= day <= stop if start <= stop else (day >= start or day <= stop)


def _in_times(second: int, start: int, stop: int) -> bool:
    if start == stop:
        return True  # not produced by the import (refused there); read as the whole day
    return start <= second < stop if start < stop else (second >= start or second < stop)


def band_seconds(rate: Rate) -> int:
    """How many seconds of a week the rate's band covers (the narrower band wins an overlap)."""
    days = (rate.stop_day - rate.start_day) % 7 + 1
    if rate.start_time == rate.stop_time:
        per_day = DAY_SECONDS
    else:
        per_day = (rate.stop_time - rate.start_time) % DAY_SECONDS or DAY_SECONDS
    return days * per_day


def applies_at(rate: Rate, when_local: dt.datetime) -> bool:
    second = when_local.hour * 3600 + when_local.minute * 60 + when_local.second
    return _in_days(when_local.isoweekday(), rate.start_day, rate.stop_day) and _in_times(
        second, rate.start_time, rate.stop_time)


def rate_for(rates, number_e164_digits: str, when_local: dt.datetime, prefix_of=None):
    """The rate of `rates` for a call to `number_e164_digits` starting at `when_local`, or None.

    `prefix_of(rate)` gives a rate's prefix as E.164 digits (default: its dialprefix without '+').
    """
    digits = number_e164_digits.lstrip("+")
    best = None
    best_key = None
    for position, rate in enumerate(rates):
        prefix = prefix_of(rate) if prefix_of else rate.dialprefix.lstrip("+")
        if not digits.startswith(prefix) or not applies_at(rate, when_local):
            continue
        key = (-len(prefix), band_seconds(rate), position)
        if best_key is None or key < best_key:
            best, best_key = rate, key
    return best


def _decimal(value) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))


def cost(rate: Rate, billsec: int) -> Decimal:
    """The price of an answered call of `billsec` seconds at `rate` (see the module's rules)."""
    billsec = max(0, int(billsec))
    if rate.min_duration > 0 and billsec <= rate.min_duration:
        return Decimal("0.0000")
    block = max(1, int(rate.billing_block))
    units = -(-billsec // block)  # a started unit counts in full
    per_minute = _decimal(rate.rate)
    total = _decimal(rate.connect_charge) + per_minute * units * block / 60
    return total.quantize(PLACES, rounding=ROUND_HALF_UP)
