"""Price lists: create, change, delete, import/export their rates, and the cost of a finished call.

A price list is known by its immutable `name` (a slug); a trunk names the list its calls are priced
with (Trunk.price_list). Importing a CSV replaces all of a list's rates in one transaction, or, if any
row is bad, changes nothing (appliance.prices.csvimport). The pricing rules are in
appliance.prices.pricing.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import peewee

from appliance.dialplan.models import NAME_RE
from appliance.dialplan.references import refuse_if_used
from appliance.errors import Conflict, NotFound, ValidationError
from appliance.prices import csvimport, pricing
from appliance.prices.models import PriceList, PriceRate
from appliance.store import database

log = logging.getLogger(__name__)

FIELDS = ("name", "description", "currency")
UPDATE_FIELDS = ("description", "currency", "revision")
DESCRIPTION_MAX = 255
CURRENCY_RE = re.compile(r"^[A-Z]{3}$")
_INSERT_SQL = ("INSERT INTO price_rate (list_id, dialprefix, destination, rate, min_duration, billing_block, "
               "connect_charge, start_day, stop_day, start_time, stop_time) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")


# -- price lists --------------------------------------------------------------------------------

def list_price_lists() -> list[PriceList]:
    return list(PriceList.select().order_by(PriceList.name))


def get_price_list(name: str) -> PriceList:
    row = PriceList.get_or_none(PriceList.name == name)
    if row is None:
        raise NotFound("price list", name)
    return row


def rate_count(price_list: PriceList) -> int:
    return PriceRate.select().where(PriceRate.price_list == price_list).count()


def rate_counts() -> dict[int, int]:
    query = (PriceRate.select(PriceRate.price_list, peewee.fn.COUNT(PriceRate.id).alias("n"))
             .group_by(PriceRate.price_list).tuples())
    return dict(query)


def used_by(name: str) -> list[str]:
    from appliance.trunks.models import Trunk

    return [t.name for t in Trunk.select(Trunk.name).where(Trunk.price_list == name).order_by(Trunk.name)]


def price_list_dict(row: PriceList, count: int | None = None) -> dict:
    return {
        "name": row.name, "description": row.description, "currency": row.currency,
        "rates": rate_count(row) if count is None else count, "trunks": used_by(row.name),
        "revision": row.revision, "updated_at": row.updated_at.isoformat(timespec="seconds"),
    }


def _reject_unknown(data: dict, allowed: tuple[str, ...]) -> None:
    if not isinstance(data, dict):
        raise ValidationError("body", "must be a JSON object")
    for key in data:
        if key not in allowed:
            raise ValidationError(str(key)[:64], "is not a known field")


def _description(value: object) -> str:
    if not isinstance(value, str):
        raise ValidationError("description", "must be text")
    value = value.strip()
    if len(value) > DESCRIPTION_MAX:
        raise ValidationError("description", f"must be at most {DESCRIPTION_MAX} characters long")
    if any(ord(c) < 32 for c in value):
        raise ValidationError("description", "must not hold control characters")
    return value


def _currency(value: object) -> str:
    if not isinstance(value, str) or not CURRENCY_RE.match(value.strip().upper()):
        raise ValidationError("currency", "must be an ISO 4217 currency code such as EUR or CHF")
    return value.strip().upper()


def create_price_list(data: dict) -> PriceList:
    _reject_unknown(data, FIELDS)
    name = data.get("name")
    if name is None or name == "":
        raise ValidationError("name", "is required")
    if not isinstance(name, str) or not re.match(NAME_RE, name):
        raise ValidationError("name", "must be 1-64 lower-case letters, digits, '-' or '_', starting with a "
                                      "letter or digit")
    row = PriceList(name=name, description=_description(data.get("description", "")),
                    currency=_currency(data.get("currency", "EUR")), revision=1)
    with database.atomic():
        if PriceList.select().where(PriceList.name == name).exists():
            raise ValidationError("name", "a price list with this name already exists")
        try:
            row.save(force_insert=True)
        except peewee.IntegrityError:
            raise ValidationError("name", "a price list with this name already exists") from None
    return row


def _check_revision(row: PriceList, expected: object) -> None:
    if expected is None:
        return
    if isinstance(expected, bool) or not isinstance(expected, int):
        raise ValidationError("revision", "must be an integer")
    if expected != row.revision:
        raise Conflict("revision", "this price list was changed by someone else; reload and try again")


def update_price_list(name: str, data: dict) -> PriceList:
    """Change the description or currency; the name never changes. `revision` refuses a stale edit."""
    if isinstance(data, dict) and "name" in data:
        if data["name"] != name:
            raise ValidationError("name", "cannot be changed (create a new price list instead)")
        data = {k: v for k, v in data.items() if k != "name"}
    _reject_unknown(data, UPDATE_FIELDS)
    values = {}
    if "description" in data:
        values["description"] = _description(data["description"])
    if "currency" in data:
        values["currency"] = _currency(data["currency"])
    with database.atomic():
        row = get_price_list(name)
        _check_revision(row, data.get("revision"))
        for field, value in values.items():
            setattr(row, field, value)
        row.revision += 1
        row.updated_at = dt.datetime.utcnow()
        row.save()
    return row


def delete_price_list(name: str) -> None:
    """Refused (409 naming the trunks) while a trunk prices its calls with the list."""
    with database.atomic():
        row = get_price_list(name)
        refuse_if_used("price_list", name)
        PriceRate.delete().where(PriceRate.price_list == row).execute()
        row.delete_instance()


# -- rates ------------------------------------------------------------------------------------------

def list_rates(name: str, limit: int | None = None, offset: int = 0) -> list[PriceRate]:
    row = get_price_list(name)
    query = (PriceRate.select().where(PriceRate.price_list == row)
             .order_by(PriceRate.dialprefix, PriceRate.start_day, PriceRate.start_time, PriceRate.id))
    if limit is not None:
        query = query.limit(limit).offset(offset)
    return list(query)


def rate_dict(rate: PriceRate) -> dict:
    return {
        "dialprefix": rate.dialprefix, "destination": rate.destination, "rate": rate.rate,
        "min_duration": rate.min_duration, "billing_block": rate.billing_block,
        "connect_charge": rate.connect_charge, "start_day": rate.start_day, "stop_day": rate.stop_day,
        "start_time": rate.start_time, "stop_time": rate.stop_time,
    }


def import_rates(name: str, data: bytes, revision: int | None = None) -> int:
    """Replace the list's rates with the file's (csvimport.parse); returns how many. All or nothing."""
    rows = csvimport.parse(data)
    with database.atomic():
        row = get_price_list(name)
        _check_revision(row, revision)
        PriceRate.delete().where(PriceRate.price_list == row).execute()
        # Plain executemany: building 100000 INSERTs through the ORM takes tens of seconds.
        database.cursor().executemany(_INSERT_SQL, [
            (row.id, r["dialprefix"], r["destination"], float(r["rate"]), r["min_duration"], r["billing_block"],
             float(r["connect_charge"]), r["start_day"], r["stop_day"], r["start_time"], r["stop_time"])
            for r in rows])
        row.revision += 1
        row.updated_at = dt.datetime.utcnow()
        row.save()
    return len(rows)


def export_rates(name: str) -> str:
    row = get_price_list(name)
    query = (PriceRate.select().where(PriceRate.price_list == row)
             .order_by(PriceRate.dialprefix, PriceRate.start_day, PriceRate.start_time, PriceRate.id).namedtuples())
    return csvimport.export(query.iterator())


# -- the cost of a call --------------------------------------------------------------------------

def _numbering(trunk) -> tuple[str, str, str]:
    """(country code, international prefix, national prefix) for reading prefixes and numbers."""
    from appliance.system.models import get_system_settings

    system = get_system_settings()
    country_code = (trunk.country_code or "").strip() if trunk is not None else ""
    if not country_code:
        try:
            from appliance.trunks.numbers import calling_code

            country_code = calling_code(system.country or "")
        except ImportError:  # pragma: no cover - the numbering module ships with the trunks
            country_code = ""
    national = system.national_prefix if system.national_prefix is not None else "0"
    return country_code, system.international_prefix or "00", national


def local_time(moment_utc: dt.datetime) -> dt.datetime:
    """A naive UTC time (as CDRs store them) in the appliance's time zone, naive again."""
    from appliance.system.models import get_system_settings

    try:
        zone = ZoneInfo(get_system_settings().timezone)
    except (ZoneInfoNotFoundError, ValueError):
        zone = dt.UTC
    if moment_utc.tzinfo is None:
        moment_utc = moment_utc.replace(tzinfo=dt.UTC)
    return moment_utc.astimezone(zone).replace(tzinfo=None)


def _e164_digits(dialled: str, country_code: str, international_prefix: str, national_prefix: str) -> str:
    number = "".join(c for c in (dialled or "") if c.isdigit() or c == "+")
    if number.startswith("+"):
        return number[1:].replace("+", "")
    return pricing.e164_prefix(number, country_code, international_prefix, national_prefix)


def _candidate_prefixes(digits: str, country_code: str, international_prefix: str, national_prefix: str) -> set:
    """Every way a price list may write a prefix of the number (E.164, '+', international, national)."""
    found = set()
    for end in range(1, len(digits) + 1):
        head = digits[:end]
        found.update((head, "+" + head, international_prefix + head))
        if country_code and head.startswith(country_code) and len(head) > len(country_code):
            found.add(national_prefix + head[len(country_code):])
    if country_code and national_prefix and digits.startswith(country_code):
        found.add(national_prefix)
    if international_prefix:
        found.add(international_prefix)
    return {p for p in found if len(p) <= 32}


def price_number(price_list: PriceList, dialled: str, when_local: dt.datetime, billsec: int, trunk=None):
    """(rate, cost) of a call on `price_list` to `dialled` starting at `when_local`; (None, None) if no rate."""
    cc, intl, national = _numbering(trunk)
    digits = _e164_digits(dialled, cc, intl, national)
    if not digits.isdigit():
        return None, None
    candidates = _candidate_prefixes(digits, cc, intl, national)
    rates = list(PriceRate.select().where((PriceRate.price_list == price_list)
                                          & PriceRate.dialprefix.in_(sorted(candidates))).order_by(PriceRate.id))
    rate = pricing.rate_for(rates, digits, when_local,
                            prefix_of=lambda r: pricing.e164_prefix(r.dialprefix, cc, intl, national))
    if rate is None:
        return None, None
    return rate, pricing.cost(rate, billsec)


def price_call(cdr) -> float | None:
    """The cost of an answered outbound call through a trunk with a price list; None if it has none
    (not outbound, not answered, no trunk, no list, no rate for the number)."""
    from appliance.cdr.models import Disposition
    from appliance.trunks.models import Trunk

    if cdr.direction != "outbound" or not cdr.trunk or cdr.disposition != Disposition.ANSWERED:
        return None
    trunk = Trunk.get_or_none(Trunk.name == cdr.trunk)
    if trunk is None or not trunk.price_list:
        return None
    price_list = PriceList.get_or_none(PriceList.name == trunk.price_list)
    if price_list is None:
        return None
    number = cdr.dialled or cdr.callee
    _, amount = price_number(price_list, number, local_time(cdr.start), cdr.billsec, trunk)
    return None if amount is None else float(amount)


def on_call_ended(cdr) -> float | None:
    """Hook: the CDR of a call just closed. Stores the cost of an outbound call (cdr.cost); never raises."""
    try:
        amount = price_call(cdr)
        if amount is None or cdr.id is None:
            return amount
        cdr.cost = amount
        type(cdr).update(cost=amount).where(type(cdr).id == cdr.id).execute()
        return amount
    except Exception:
        log.exception("cannot price call %s", getattr(cdr, "call_id", "?"))
        return None
