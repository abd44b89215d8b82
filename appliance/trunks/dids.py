"""Inbound numbers (DIDs): validation and CRUD, and matching a called number against them.

A DID's `number` is one of:

    "+41441234567"   exact E.164: the called number, in E.164, is exactly this;
    "2304024"        trailing digits: the called number ends with these digits
                     (catches "+448452304024", "08452304024", "2304024");
    "0233456*"       a range: the called number starts with this. Written in
                     national or international form it is compared in E.164
                     (with the trunk's country code), "+4144123*" likewise;
                     digits that are neither are compared with what the
                     provider sent and with the national significant number.

Which DID wins (`match_did`): the trunk's own DIDs before the ones for any
trunk; among those an exact match first, then the longest match (trailing
digits or range prefix, counted in digits), a trailing-digits match before a
range of the same length. No DID: the call goes to the trunk's procedure.

Destinations (destination_kind, destination, procedure):

    user        destination = extension
    call_group  destination = call group name
    ivr         destination = IVR name
    time_range  destination = time range name, procedure = where the call goes
                while inside the range; outside it goes to the trunk's procedure
    voicemail   destination = the box's number (a user's extension, or a shared box)
    external    destination = the number the call is forwarded to
    procedure   procedure = where the call goes, destination = the number it
                dials there ("" = the called number)
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable

from appliance.dialplan import references
from appliance.dialplan.models import NAME_RE, bump_revision
from appliance.errors import Conflict, NotFound, ValidationError
from appliance.store import database
from appliance.trunks.models import Did, Trunk

try:  # the one home of number normalisation (the lead's appliance.trunks.numbers)
    from appliance.trunks.numbers import to_e164
except ImportError:  # pragma: no cover - until numbers.py lands
    def to_e164(number: str, country_code: str, national_prefix: str = "0", international_prefix: str = "00") -> str:
        kept = "".join(c for c in number.strip() if c.isdigit() or c in "*#+")
        number = ("+" if kept.startswith("+") else "") + kept.replace("+", "")
        if number.startswith("+") or not number.isdigit():
            return number
        if international_prefix and number.startswith(international_prefix) and len(number) > len(
                international_prefix) + 4:
            return "+" + number[len(international_prefix):]
        if national_prefix and number.startswith(national_prefix) and country_code and len(number) > len(
                national_prefix) + 4:
            return "+" + country_code + number[len(national_prefix):]
        return number

KINDS = ("user", "call_group", "ivr", "time_range", "voicemail", "external", "procedure")
KIND_LABELS = {
    "user": "User",
    "call_group": "Call group",
    "ivr": "IVR",
    "time_range": "Time range",
    "voicemail": "Voicemail",
    "external": "External number",
    "procedure": "Procedure",
}
NUMBER_RE = re.compile(r"^\+?[0-9]{2,20}\*?$")
EXTERNAL_RE = re.compile(r"^\+?[0-9]{2,31}$")
DIAL_NUMBER_RE = re.compile(r"^[0-9*#+]{1,32}$")
DESCRIPTION_MAX = 255
WRITABLE_FIELDS = ("number", "trunk", "description", "destination_kind", "destination", "procedure")
READ_ONLY_FIELDS = ("revision", "updated_at")
NUMBER_HELP = ("must be an E.164 number (+41441234567), trailing digits (2304024) or a range ending in * "
               "(0233456*): 2 to 20 digits")


# -- matching (pure) ------------------------------------------------------------------------

def clean_number(text: str) -> str:
    """Drop spaces, dots, dashes and brackets: "+41 44 123 45 67" -> "+41441234567"."""
    return re.sub(r"[\s.\-()/]", "", text)


def match_did(called: str, trunk: str, dids: Iterable, country_code: str | None = None,
              national_prefix: str | None = None, international_prefix: str | None = None):
    """The DID (any object with .number and .trunk) a call to `called` on `trunk` goes to, or None.

    The called number is normalised to E.164 with the trunk's country code and the national and
    international prefixes first (see the module's docstring for the order of precedence). Those not
    given are read from the store: the trunk's country code (else the system country's calling code)
    and the system's prefixes.
    """
    if country_code is None or national_prefix is None or international_prefix is None:
        stored = dialling_of(trunk)
        country_code = stored[0] if country_code is None else country_code
        national_prefix = stored[1] if national_prefix is None else national_prefix
        international_prefix = stored[2] if international_prefix is None else international_prefix
    raw = clean_number(called or "")
    raw_digits = raw.lstrip("+")
    if not raw_digits.isdigit():
        return None
    e164 = to_e164(raw, country_code, national_prefix, international_prefix)
    e164_digits = e164.lstrip("+")
    national = ""
    if e164.startswith("+") and country_code and e164_digits.startswith(country_code):
        national = e164_digits[len(country_code):]
    own = [d for d in dids if d.trunk and d.trunk == trunk]
    shared = [d for d in dids if not d.trunk]
    for candidates in (own, shared):
        best, best_score = None, None
        for did in candidates:
            score = _score(did.number, e164, e164_digits, raw_digits, national, country_code, national_prefix,
                           international_prefix)
            if score is not None and (best_score is None or score > best_score):
                best, best_score = did, score
        if best is not None:
            return best
    return None


def _score(pattern: str, e164: str, e164_digits: str, raw_digits: str, national: str, country_code: str,
           national_prefix: str, international_prefix: str) -> tuple | None:
    """How well a DID pattern matches: (exact?, digits matched, trailing before range, pattern length)."""
    is_range = pattern.endswith("*")
    body = pattern.rstrip("*")
    canonical = body
    if (body.startswith("+") or (international_prefix and body.startswith(international_prefix))
            or (national_prefix and body.startswith(national_prefix))):
        canonical = to_e164(body, country_code, national_prefix, international_prefix)
    if canonical.startswith("+"):
        digits = canonical[1:]
        if is_range:
            return (0, len(digits), 0, len(pattern)) if e164.startswith(canonical) else None
        return (1, len(digits), 1, len(pattern)) if e164 == canonical else None
    if is_range:
        if raw_digits.startswith(body) or (national and national.startswith(body)):
            return (0, len(body), 0, len(pattern))
        return None
    if e164_digits.endswith(body) or raw_digits.endswith(body):
        return (0, len(body), 1, len(pattern))
    return None


def dialling_of(trunk_name: str) -> tuple[str, str, str]:
    """(country code, national prefix, international prefix) for numbers arriving on a trunk."""
    from appliance.system.models import get_system_settings

    system = get_system_settings()
    trunk = Trunk.get_or_none(Trunk.name == trunk_name)
    country_code = trunk.country_code if trunk is not None and trunk.country_code else ""
    if not country_code:
        country_code = _system_calling_code(system.country)
    return country_code, system.national_prefix, system.international_prefix


def find_did(called: str, trunk_name: str) -> Did | None:
    """The DID of a call arriving on `trunk_name` (the trunk, the prefixes and the DIDs from the store)."""
    dids = list(Did.select().where(Did.trunk.is_null() | (Did.trunk == trunk_name)))
    return match_did(called, trunk_name, dids, *dialling_of(trunk_name))


def _system_calling_code(country: str) -> str:
    try:
        from appliance.trunks.numbers import calling_code
    except ImportError:  # pragma: no cover - until numbers.py lands
        return ""
    return calling_code(country or "")


# -- reading ------------------------------------------------------------------------------

def list_dids() -> list[Did]:
    return list(Did.select().order_by(Did.number))


def get_did(number: str) -> Did:
    did = Did.get_or_none(Did.number == clean_number(str(number)))
    if did is None:
        raise NotFound("inbound number", str(number))
    return did


def to_public(did: Did) -> dict:
    return {
        "number": did.number,
        "kind": "range" if did.number.endswith("*") else ("exact" if did.number.startswith("+") else "trailing"),
        "trunk": did.trunk,
        "description": did.description,
        "destination_kind": did.destination_kind,
        "destination": did.destination,
        "procedure": did.procedure,
        "revision": did.revision,
        "updated_at": did.updated_at.isoformat(timespec="seconds") + "Z"
        if isinstance(did.updated_at, dt.datetime) else str(did.updated_at),
    }


# -- writing ------------------------------------------------------------------------------

def create_did(data: dict) -> Did:
    _reject_unknown(data)
    for required in ("number", "destination_kind"):
        if required not in data:
            raise ValidationError(required, "is required")
    number = _number(data["number"])
    values = _validated(data, current=None)
    with database.atomic():
        if Did.select(Did.id).where(Did.number == number).exists():
            raise ValidationError("number", f"the inbound number {number} already exists")
        did = Did(number=number, revision=1, updated_at=dt.datetime.utcnow(), **values)
        did.save(force_insert=True)
        bump_revision()
    return did


def update_did(number: str, data: dict) -> Did:
    """Change some fields; `revision` refuses a concurrent edit; the number itself never changes."""
    if not isinstance(data, dict):
        raise ValidationError("body", "must be a JSON object")
    data = dict(data)
    expected = data.pop("revision", None)
    _reject_unknown(data)
    with database.atomic():
        did = get_did(number)
        if "number" in data and (not isinstance(data["number"], str) or clean_number(data["number"]) != did.number):
            raise ValidationError("number", "cannot be changed: add the new number and delete this one")
        data.pop("number", None)
        if expected is not None:
            if isinstance(expected, bool) or not isinstance(expected, int):
                raise ValidationError("revision", "must be an integer")
            if expected != did.revision:
                raise Conflict("revision", "this inbound number was changed by someone else; reload and try again")
        values = _validated(data, current=did)
        for key, value in values.items():
            setattr(did, key, value)
        did.revision += 1
        did.updated_at = dt.datetime.utcnow()
        did.save()
        bump_revision()
    return did


def delete_did(number: str) -> None:
    with database.atomic():
        did = get_did(number)
        did.delete_instance()
        bump_revision()


# -- validation ---------------------------------------------------------------------------

def _reject_unknown(data: object) -> None:
    if not isinstance(data, dict):
        raise ValidationError("body", "must be a JSON object")
    for key in data:
        if key in READ_ONLY_FIELDS and key != "revision":
            raise ValidationError(str(key), "is read-only")
        if key not in WRITABLE_FIELDS and key != "revision":
            raise ValidationError(str(key)[:64], "is not a field of an inbound number")


def _number(value: object) -> str:
    if not isinstance(value, str) or len(value) > 64:
        raise ValidationError("number", NUMBER_HELP)
    number = clean_number(value.strip())
    if not NUMBER_RE.match(number):
        raise ValidationError("number", NUMBER_HELP)
    return number


def _validated(data: dict, current: Did | None) -> dict:
    values: dict = {}
    if "trunk" in data:
        trunk = data["trunk"]
        if trunk in (None, ""):
            values["trunk"] = None
        elif not isinstance(trunk, str) or not re.match(NAME_RE, trunk) or not references.exists("trunk", trunk):
            raise ValidationError("trunk", f"there is no trunk named {str(trunk)[:64]!r}")
        else:
            values["trunk"] = trunk
    if "description" in data:
        description = data["description"]
        if description is None:
            description = ""
        if not isinstance(description, str):
            raise ValidationError("description", "must be text")
        description = description.strip()
        if len(description) > DESCRIPTION_MAX:
            raise ValidationError("description", f"must be at most {DESCRIPTION_MAX} characters long")
        if not description.isprintable():
            raise ValidationError("description", "must not contain control characters")
        values["description"] = description
    kind = data.get("destination_kind", current.destination_kind if current else None)
    if kind not in KINDS:
        raise ValidationError("destination_kind", "must be one of " + ", ".join(KINDS))
    if "destination_kind" in data:
        values["destination_kind"] = kind
    destination = data.get("destination", current.destination if current else "")
    procedure = data.get("procedure", current.procedure if current else "")
    if destination is None:
        destination = ""
    if procedure is None:
        procedure = ""
    if not isinstance(destination, str):
        raise ValidationError("destination", "must be text")
    if not isinstance(procedure, str):
        raise ValidationError("procedure", "must be text")
    destination, procedure = destination.strip(), procedure.strip()
    values["destination"], values["procedure"] = _destination(kind, destination, procedure)
    return values


def _must_exist(field: str, kind: str, name: str, what: str) -> None:
    if not name:
        raise ValidationError(field, f"is required: the {what}")
    pattern = r"^[0-9]{2,8}$" if kind == "extension" else NAME_RE
    if len(name) > 64 or not re.match(pattern, name) or not references.exists(kind, name):
        raise ValidationError(field, f"there is no {what} {name[:64]!r}")


def _destination(kind: str, destination: str, procedure: str) -> tuple[str, str]:
    """(destination, procedure) as stored for a kind; fields the kind does not use are emptied."""
    if kind == "voicemail":
        from appliance.voicemail.service import find_box

        # A user's box (its extension) or a shared box (its own number).
        if not (re.match(r"^[0-9]{2,8}$", destination) and find_box(destination) is not None):
            _must_exist("destination", "extension", destination, "user or shared voicemail box with the number")
        return destination, ""
    if kind == "user":
        _must_exist("destination", "extension", destination, "user with the extension")
        return destination, ""
    if kind in ("call_group", "ivr"):
        _must_exist("destination", kind, destination, {"call_group": "call group", "ivr": "IVR"}[kind])
        return destination, ""
    if kind == "time_range":
        _must_exist("destination", "time_range", destination, "time range")
        _must_exist("procedure", "procedure", procedure, "procedure for calls inside the time range")
        return destination, procedure
    if kind == "external":
        number = clean_number(destination)
        if not EXTERNAL_RE.match(number):
            raise ValidationError("destination", "must be the phone number to forward to: 2 to 31 digits, "
                                                 "optionally starting with +")
        return number, ""
    # procedure
    _must_exist("procedure", "procedure", procedure, "procedure")
    if destination and not DIAL_NUMBER_RE.match(destination):
        raise ValidationError("destination", "must be the number to dial in that procedure (digits, * # +), "
                                             "or empty to keep the called number")
    return destination, procedure
