"""Procedures: validation, create/change/delete, and the goto-loop check done before saving.

A procedure is saved whole (description, included procedures, ordered
numbers with their ordered applications) in one transaction, so that a
reorder in the UI is one atomic write; `revision` guards concurrent edits.
"""

from __future__ import annotations

import datetime as dt
import re

import peewee

from appliance.dialplan import apps, patterns
from appliance.dialplan.models import (
    DEFAULT_TRUNK_PROCEDURE,
    DEFAULT_USER_PROCEDURE,
    INTERNAL,
    NAME_RE,
    Procedure,
    bump_revision,
)
from appliance.dialplan.references import exists, refuse_if_used
from appliance.errors import Conflict, NotFound, ValidationError
from appliance.store import database

FIELDS = ("name", "description", "includes", "numbers", "revision")
MAX_NUMBERS = 500
MAX_APPS = 50
MAX_INCLUDES = 20
DESCRIPTION_MAX = 255
_NAME = re.compile(NAME_RE)
# Applications after which the flow always continues with the next one (used by the loop check).
_ALWAYS_CONTINUE = {"answer", "wait", "play", "set_called", "set_caller"}


def list_procedures() -> list[Procedure]:
    return list(Procedure.select().order_by(Procedure.name))


def get_procedure(name: str) -> Procedure:
    proc = Procedure.get_or_none(Procedure.name == name)
    if proc is None:
        raise NotFound("procedure", name)
    return proc


def to_public(proc: Procedure) -> dict:
    return {"name": proc.name, "description": proc.description, "includes": proc.includes,
            "numbers": proc.numbers, "generated": proc.name == INTERNAL, "revision": proc.revision}


def create_procedure(data: dict) -> Procedure:
    _reject_unknown(data)
    name = _name(data.get("name"))
    with database.atomic():
        if Procedure.select().where(Procedure.name == name).exists():
            raise ValidationError("name", f"a procedure named {name} already exists")
        values = _validated(name, data)
        proc = Procedure(name=name, **values)
        _check_loops(proc)
        try:
            proc.save(force_insert=True)
        except peewee.IntegrityError as exc:
            raise ValidationError("name", f"a procedure named {name} already exists") from exc
        bump_revision()
    return proc


def update_procedure(name: str, data: dict) -> Procedure:
    _reject_unknown(data)
    data = dict(data)
    expected = data.pop("revision", None)
    if "name" in data and data["name"] != name:
        raise ValidationError("name", "a procedure cannot be renamed; create a new one")
    with database.atomic():
        proc = get_procedure(name)
        if proc.name == INTERNAL:
            raise ValidationError("name", "internal is generated from the users and feature codes; "
                                          "add numbers to another procedure that includes it")
        if expected is not None:
            if not isinstance(expected, int) or isinstance(expected, bool):
                raise ValidationError("revision", "must be an integer")
            if expected != proc.revision:
                raise Conflict("revision", "this procedure was changed by someone else; reload and try again")
        for field, value in _validated(name, data).items():
            setattr(proc, field, value)
        _check_loops(proc)
        proc.revision += 1
        proc.updated_at = dt.datetime.utcnow()
        proc.save()
        bump_revision()
    return proc


def delete_procedure(name: str) -> None:
    with database.atomic():
        proc = get_procedure(name)
        if name in (INTERNAL, DEFAULT_USER_PROCEDURE, DEFAULT_TRUNK_PROCEDURE):
            raise Conflict("name", f"{name} is a default procedure of the appliance and cannot be deleted")
        refuse_if_used("procedure", name)
        proc.delete_instance()
        bump_revision()


# -- validation -------------------------------------------------------------------------
def _reject_unknown(data: object) -> None:
    if not isinstance(data, dict):
        raise ValidationError("body", "must be a JSON object")
    for key in data:
        if key not in FIELDS:
            raise ValidationError(str(key)[:64], "is not a field of a procedure")


def _name(value: object) -> str:
    if not isinstance(value, str) or not value:
        raise ValidationError("name", "is required")
    if not _NAME.match(value):
        raise ValidationError("name", "must be 1-64 lower-case letters, digits, - or _, starting with a letter "
                                      "or digit")
    return value


def _validated(name: str, data: dict) -> dict:
    values: dict = {}
    if "description" in data:
        description = data["description"]
        if description is None:
            description = ""
        if not isinstance(description, str):
            raise ValidationError("description", "must be text")
        if len(description) > DESCRIPTION_MAX:
            raise ValidationError("description", f"must be at most {DESCRIPTION_MAX} characters long")
        values["description"] = description.strip()
    if "includes" in data:
        values["includes"] = _includes(name, data["includes"])
    if "numbers" in data:
        values["numbers"] = _numbers(data["numbers"])
    return values


def _includes(name: str, value: object) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValidationError("includes", "must be a list of procedure names")
    if len(value) > MAX_INCLUDES:
        raise ValidationError("includes", f"at most {MAX_INCLUDES} included procedures")
    for index, included in enumerate(value):
        where = f"includes.{index}"
        if included == name:
            raise ValidationError(where, "a procedure cannot include itself")
        if not exists("procedure", included):
            raise ValidationError(where, f"there is no procedure named {included!r}")
        if value.index(included) != index:
            raise ValidationError(where, f"{included} is included twice")
        if name in _all_includes(included, set()):
            raise ValidationError(where, f"{included} already includes {name} (directly or not): that is a cycle")
    return list(value)


def _all_includes(name: str, seen: set[str]) -> set[str]:
    proc = Procedure.get_or_none(Procedure.name == name)
    if proc is None or name in seen:
        return seen
    seen.add(name)
    for included in proc.includes:
        _all_includes(included, seen)
    return seen


def _numbers(value: object) -> list[dict]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ValidationError("numbers", "must be a list of {number, apps}")
    if len(value) > MAX_NUMBERS:
        raise ValidationError("numbers", f"at most {MAX_NUMBERS} numbers in one procedure")
    seen: dict[str, int] = {}
    clean = []
    for index, entry in enumerate(value):
        where = f"numbers.{index}"
        if not isinstance(entry, dict):
            raise ValidationError(where, "must be an object {number, comment, apps}")
        for key in entry:
            if key not in ("number", "comment", "apps"):
                raise ValidationError(f"{where}.{str(key)[:32]}", "is not a field of a called number")
        pattern = patterns.compile_pattern(entry.get("number"), f"{where}.number")
        key = pattern.text.upper()
        if key in seen:
            raise ValidationError(f"{where}.number", f"{pattern.text} is already number {seen[key] + 1} "
                                                     "of this procedure")
        seen[key] = index
        comment = entry.get("comment") or ""
        if not isinstance(comment, str) or len(comment) > DESCRIPTION_MAX:
            raise ValidationError(f"{where}.comment", f"must be text of at most {DESCRIPTION_MAX} characters")
        app_list = entry.get("apps") or []
        if not isinstance(app_list, list):
            raise ValidationError(f"{where}.apps", "must be a list of applications")
        if len(app_list) > MAX_APPS:
            raise ValidationError(f"{where}.apps", f"at most {MAX_APPS} applications for one number")
        checked = [apps.validate_app(app, f"{where}.apps.{position}", exists)
                   for position, app in enumerate(app_list)]
        clean.append({"number": pattern.text, "comment": comment.strip(), "apps": checked})
    return clean


# -- goto loops -------------------------------------------------------------------------
def _sample(text: str) -> str:
    """A number an entry matches, to follow gotos that keep the called number."""
    if patterns.is_default(text):
        return "0"
    out, i = [], 0
    while i < len(text):
        c = text[i].upper()
        if c == "[":
            end = text.index("]", i)
            out.append(text[i + 1])
            i = end
        elif c in "XZ":
            out.append("1")
        elif c == "N":
            out.append("2")
        elif c == ".":
            out.append("0")
        elif c != "!":
            out.append(c)
        i += 1
    return "".join(out)


def _check_loops(changed: Procedure) -> None:
    """Refuse a save that creates an unconditional goto cycle (every call to the number would loop).

    Follows, from each number of the changed procedure, the applications that
    always run to the next one up to a goto, applying number changes, and
    refuses when it comes back to an entry already visited with the same
    number. Branches (time ranges, switches, dials, IVRs) end the walk; the
    engine's jump limit still guards what cannot be seen before a call.
    """
    from appliance.dialplan.engine import Snapshot

    rows = [(p.name, p.includes, p.numbers) for p in Procedure.select() if p.name != changed.name]
    rows.append((changed.name, changed.includes, changed.numbers))
    plan = Snapshot.from_rows(0, rows)
    for index, entry in enumerate(changed.numbers):
        procedure, number = changed.name, _sample(entry["number"])
        visited: list[str] = []
        while True:
            match = plan.lookup(procedure, number)
            if match is None:
                break
            step = f"{match.procedure} {match.entry} ({number})"
            if step in visited:
                raise ValidationError(f"numbers.{index}.apps", "goto loop: " + " → ".join(visited + [step]))
            visited.append(step)
            jump = _unconditional_goto(match.apps, number)
            if jump is None:
                break
            procedure, number = jump


def _unconditional_goto(app_list: list[dict], number: str) -> tuple[str, str] | None:
    for app in app_list:
        kind = app.get("app")
        if kind == "set_called":
            number = ((app.get("prefix") or "") + (app.get("number") or number)[app.get("strip") or 0:])
        elif kind == "goto":
            return app["procedure"], app.get("number") or number
        elif kind not in _ALWAYS_CONTINUE:
            return None
    return None
