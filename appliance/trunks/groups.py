"""Trunk groups: ordered trunks an outbound call tries one after the other (least-cost routing).

Each member: {"trunk": name, "strip": digits removed from the front of the
dialled number, "prepend": digits put in front after that, "max_calls":
simultaneous calls through this trunk for this group (0 = the trunk's own
limit)}. failover_delay_s: how long a trunk may take to answer (100/180)
before the next one is tried (0 = wait for its final answer). The dialplan
application "trunk_group" uses them; a group still named by a procedure
cannot be deleted.
"""

from __future__ import annotations

import datetime as dt
import re

from appliance.dialplan import references
from appliance.dialplan.models import NAME_RE, bump_revision
from appliance.errors import Conflict, NotFound, ValidationError, reject_unknown_fields
from appliance.store import database
from appliance.trunks.models import TrunkGroup

MEMBERS_MAX = 20
STRIP_MAX = 20
MAX_CALLS_MAX = 10000
FAILOVER_MAX = 300
DESCRIPTION_MAX = 255
PREPEND_RE = re.compile(r"^\+?[0-9*#]{0,16}$")
WRITABLE_FIELDS = ("name", "description", "members", "failover_delay_s")
READ_ONLY_FIELDS = ("revision", "updated_at")
MEMBER_FIELDS = ("trunk", "strip", "prepend", "max_calls")


def list_groups() -> list[TrunkGroup]:
    return list(TrunkGroup.select().order_by(TrunkGroup.name))


def get_group(name: str) -> TrunkGroup:
    group = TrunkGroup.get_or_none(TrunkGroup.name == str(name))
    if group is None:
        raise NotFound("trunk group", str(name))
    return group


def to_public(group: TrunkGroup) -> dict:
    return {
        "name": group.name,
        "description": group.description,
        "members": [{"trunk": m["trunk"], "strip": m.get("strip", 0), "prepend": m.get("prepend", ""),
                     "max_calls": m.get("max_calls", 0)} for m in group.members],
        "failover_delay_s": group.failover_delay_s,
        "revision": group.revision,
        "updated_at": group.updated_at.isoformat(timespec="seconds") + "Z"
        if isinstance(group.updated_at, dt.datetime) else str(group.updated_at),
    }


def dialled_through(member: dict, number: str) -> str:
    """The number sent through a member's trunk: `strip` digits removed, then `prepend` put in front."""
    strip = int(member.get("strip", 0) or 0)
    return (member.get("prepend", "") or "") + number[strip:]


def create_group(data: dict) -> TrunkGroup:
    _reject_unknown(data)
    for required in ("name", "members"):
        if required not in data:
            raise ValidationError(required, "is required")
    name = data["name"]
    if not isinstance(name, str) or not re.match(NAME_RE, name.strip()):
        raise ValidationError("name", "must be 1 to 64 characters: lower-case letters, digits, - and _, "
                                      "starting with a letter or digit")
    name = name.strip()
    values = _validated(data)
    with database.atomic():
        if TrunkGroup.select(TrunkGroup.id).where(TrunkGroup.name == name).exists():
            raise ValidationError("name", f"a trunk group named {name!r} already exists")
        group = TrunkGroup(name=name, revision=1, updated_at=dt.datetime.utcnow(), **values)
        group.save(force_insert=True)
        bump_revision()
    return group


def update_group(name: str, data: dict) -> TrunkGroup:
    """Change some fields; `revision` refuses a concurrent edit; the name never changes."""
    if not isinstance(data, dict):
        raise ValidationError("body", "must be a JSON object")
    data = dict(data)
    expected = data.pop("revision", None)
    _reject_unknown(data)
    if "name" in data and data["name"] != name:
        raise ValidationError("name", "cannot be changed: create a new trunk group and delete this one")
    data.pop("name", None)
    with database.atomic():
        group = get_group(name)
        if expected is not None:
            if isinstance(expected, bool) or not isinstance(expected, int):
                raise ValidationError("revision", "must be an integer")
            if expected != group.revision:
                raise Conflict("revision", "this trunk group was changed by someone else; reload and try again")
        for key, value in _validated(data).items():
            setattr(group, key, value)
        group.revision += 1
        group.updated_at = dt.datetime.utcnow()
        group.save()
        bump_revision()
    return group


def delete_group(name: str) -> None:
    with database.atomic():
        group = get_group(name)
        references.refuse_if_used("trunk_group", group.name)
        group.delete_instance()
        bump_revision()


# -- validation ---------------------------------------------------------------------------

def _reject_unknown(data: object) -> None:
    reject_unknown_fields(data, "trunk group", WRITABLE_FIELDS, READ_ONLY_FIELDS)


def _validated(data: dict) -> dict:
    values: dict = {}
    if "description" in data:
        text = data["description"] if data["description"] is not None else ""
        if not isinstance(text, str):
            raise ValidationError("description", "must be text")
        text = text.strip()
        if len(text) > DESCRIPTION_MAX:
            raise ValidationError("description", f"must be at most {DESCRIPTION_MAX} characters long")
        if not text.isprintable():
            raise ValidationError("description", "must not contain control characters")
        values["description"] = text
    if "failover_delay_s" in data:
        values["failover_delay_s"] = _whole("failover_delay_s", data["failover_delay_s"], FAILOVER_MAX,
                                            " seconds (0: wait for each trunk's own answer)")
    if "members" in data:
        values["members"] = _members(data["members"])
    return values


def _whole(field: str, value: object, maximum: int, hint: str = "") -> int:
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= maximum:
        raise ValidationError(field, f"must be a whole number from 0 to {maximum}{hint}")
    return value


def _members(value: object) -> list[dict]:
    if not isinstance(value, list) or not value:
        raise ValidationError("members", "must list at least one trunk, in the order they are tried")
    if len(value) > MEMBERS_MAX:
        raise ValidationError("members", f"at most {MEMBERS_MAX} trunks")
    members: list[dict] = []
    for index, item in enumerate(value):
        where = f"members.{index}"
        if isinstance(item, str):
            item = {"trunk": item}
        if not isinstance(item, dict):
            raise ValidationError(where, "must be a trunk name or {\"trunk\", \"strip\", \"prepend\", \"max_calls\"}")
        for key in item:
            if key not in MEMBER_FIELDS:
                raise ValidationError(f"{where}.{str(key)[:32]}", "is not a field of a trunk group member")
        trunk = item.get("trunk")
        if not isinstance(trunk, str) or not trunk.strip():
            raise ValidationError(f"{where}.trunk", "is required")
        trunk = trunk.strip()
        if not re.match(NAME_RE, trunk) or not references.exists("trunk", trunk):
            raise ValidationError(f"{where}.trunk", f"there is no trunk named {trunk[:64]!r}")
        for position, other in enumerate(members, start=1):
            if other["trunk"] == trunk:
                raise ValidationError(f"{where}.trunk", f"trunk {trunk} is already in the group at position "
                                                        f"{position}")
        strip = _whole(f"{where}.strip", item.get("strip", 0) if item.get("strip") not in (None, "") else 0,
                       STRIP_MAX)
        prepend = item.get("prepend", "")
        if prepend is None:
            prepend = ""
        if not isinstance(prepend, str) or not PREPEND_RE.match(prepend.strip()):
            raise ValidationError(f"{where}.prepend", "must be up to 16 digits (* # allowed), optionally "
                                                      "starting with +")
        max_calls = item.get("max_calls", 0)
        max_calls = _whole(f"{where}.max_calls", 0 if max_calls in (None, "") else max_calls, MAX_CALLS_MAX)
        members.append({"trunk": trunk, "strip": strip, "prepend": prepend.strip(), "max_calls": max_calls})
    return members
