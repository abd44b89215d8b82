"""Conference rooms: validation, create/change/delete, and the live state (who is in, muted, locked).

Configuration writes bump the dialplan revision (a room's number is part of
the generated `internal` procedure). Live state (participants, muted, locked)
is written by the calls themselves (the "conference" application) and by the
API, then the workers of the room are told (`live.notify`) so that a mute or a
removal is heard at once.
"""

from __future__ import annotations

import datetime as dt
import logging
import re

import peewee

from appliance.conference.models import ConferenceParticipant, ConferenceRoom
from appliance.errors import Conflict, NotFound, ValidationError, reject_unknown_fields
from appliance.store import database

log = logging.getLogger(__name__)

FIELDS = ("name", "number", "description", "pin", "moderator_pin", "max_participants", "entry_tones",
          "exit_tones", "announce_count", "language")
BOOL_FIELDS = ("entry_tones", "exit_tones", "announce_count")
MAX_PARTICIPANTS = (1, 200)
DEFAULT_MAX = 30
DESCRIPTION_MAX = 255
PIN_RE = re.compile(r"^[0-9]{1,16}$")
NUMBER_RE = re.compile(r"^[0-9]{2,8}$")
# Moderator keys (also shown on the page): pressed during the conference by a moderator.
MODERATOR_KEYS = {"1": "mute_all", "2": "unmute_all", "3": "lock", "4": "unlock"}


class RoomFull(Exception):
    """The room holds max_participants already."""


class RoomLocked(Exception):
    """A moderator locked the room."""


# -- reading ----------------------------------------------------------------------------------

def list_rooms() -> list[ConferenceRoom]:
    return list(ConferenceRoom.select().order_by(ConferenceRoom.number))


def get_room(name: str) -> ConferenceRoom:
    found = ConferenceRoom.get_or_none(ConferenceRoom.name == name)
    if found is None:
        raise NotFound("conference", name)
    return found


def room_by_number(number: str) -> ConferenceRoom | None:
    return ConferenceRoom.get_or_none(ConferenceRoom.number == number)


def participants(room: ConferenceRoom) -> list[ConferenceParticipant]:
    return list(ConferenceParticipant.select().where(ConferenceParticipant.room == room.id)
                .order_by(ConferenceParticipant.joined_at, ConferenceParticipant.id))


def to_public(row: ConferenceRoom, with_live: bool = True) -> dict:
    data = {"name": row.name, "number": row.number, "description": row.description, "pin": row.pin,
            "moderator_pin": row.moderator_pin, "max_participants": row.max_participants,
            "entry_tones": row.entry_tones, "exit_tones": row.exit_tones, "announce_count": row.announce_count,
            "language": row.language, "revision": row.revision}
    if with_live:
        data["live"] = live_state(row)
    return data


def live_state(row: ConferenceRoom) -> dict:
    people = participants(row)
    return {"locked": row.locked, "count": len(people),
            "workers": sorted({p.worker for p in people}),
            "participants": [{"id": p.id, "caller": p.caller, "caller_name": p.caller_name, "worker": p.worker,
                              "moderator": p.moderator, "muted": p.muted,
                              "joined_at": p.joined_at.isoformat(timespec="seconds") + "Z"} for p in people]}


# -- configuration ------------------------------------------------------------------------------

def create_room(data: dict) -> ConferenceRoom:
    """Create a room: name and number required; the other fields have defaults."""
    from appliance.dialplan.models import bump_revision

    _reject_unknown(data, allow_revision=False)
    for required in ("name", "number"):
        if required not in data or data[required] in (None, ""):
            raise ValidationError(required, "is required")
    name = validate_name(data["name"])
    values = _validated(data)
    with database.atomic():
        if ConferenceRoom.select().where(ConferenceRoom.name == name).exists():
            raise ValidationError("name", f"a conference room named {name} already exists")
        _check_number_free(values["number"], None)
        _check_pins(values.get("pin", ""), values.get("moderator_pin", ""))
        row = ConferenceRoom(name=name, revision=1, created_at=dt.datetime.utcnow())
        for field, value in values.items():
            setattr(row, field, value)
        try:
            row.save(force_insert=True)
        except peewee.IntegrityError as exc:
            raise ValidationError("number", "is already used by another conference room") from exc
        bump_revision()
    log.info("conference room %s (%s) created", name, row.number)
    return row


def update_room(name: str, data: dict) -> ConferenceRoom:
    from appliance.dialplan.models import bump_revision

    _reject_unknown(data, allow_revision=True)
    data = dict(data)
    expected = data.pop("revision", None)
    if "name" in data and data.pop("name") != name:
        raise ValidationError("name", "cannot be changed (create a new room instead)")
    values = _validated(data)
    with database.atomic():
        row = get_room(name)
        if expected is not None:
            if isinstance(expected, bool) or not isinstance(expected, int):
                raise ValidationError("revision", "must be an integer")
            if expected != row.revision:
                raise Conflict("revision", "this room was changed by someone else; reload and try again")
        if "number" in values:
            _check_number_free(values["number"], row.id)
        _check_pins(values.get("pin", row.pin), values.get("moderator_pin", row.moderator_pin))
        for field, value in values.items():
            setattr(row, field, value)
        row.revision += 1
        try:
            row.save()
        except peewee.IntegrityError as exc:
            raise ValidationError("number", "is already used by another conference room") from exc
        bump_revision()
    log.info("conference room %s changed", name)
    return row


def delete_room(name: str) -> None:
    """Delete a room; refused while a procedure names it or someone is in it (409)."""
    from appliance.dialplan.models import bump_revision

    with database.atomic():
        row = get_room(name)
        places = where_used(name)
        if places:
            raise Conflict("name", f"conference room {name} is still used by: " + "; ".join(places[:10]))
        count = ConferenceParticipant.select().where(ConferenceParticipant.room == row.id).count()
        if count:
            raise Conflict("name", f"{count} participant(s) are in conference room {name}: wait until they leave "
                                   "or remove them first")
        row.delete_instance()
        bump_revision()
    log.info("conference room %s deleted", name)


def where_used(name: str) -> list[str]:
    """Procedures whose "conference" application names the room."""
    from appliance.dialplan.models import Procedure

    places = []
    for proc in Procedure.select():
        for entry in proc.numbers:
            for position, app in enumerate(entry.get("apps", []), start=1):
                if app.get("app") == "conference" and app.get("room") == name:
                    places.append(f"procedure {proc.name}, number {entry['number']}, application {position}")
    return places


# -- validation -----------------------------------------------------------------------------------

def _reject_unknown(data: object, allow_revision: bool) -> None:
    reject_unknown_fields(data, "conference room", FIELDS, allow_revision=allow_revision)


def validate_name(value: object) -> str:
    from appliance.dialplan.models import NAME_RE

    if not isinstance(value, str) or not re.match(NAME_RE, value):
        raise ValidationError("name", "must be 1 to 64 lower-case letters, digits, - or _, starting with a "
                                      "letter or digit")
    return value


def _whole(value: object, field: str) -> int:
    if isinstance(value, bool):
        raise ValidationError(field, "must be a whole number")
    if isinstance(value, str) and value.strip().isdecimal():
        return int(value.strip())
    if not isinstance(value, int):
        raise ValidationError(field, "must be a whole number")
    return value


def _bool(value: object, field: str) -> bool:
    if isinstance(value, bool):
        return value
    if value in ("true", "1", "on", 1):
        return True
    if value in ("false", "0", "off", 0, ""):
        return False
    raise ValidationError(field, "must be true or false")


def _validated(data: dict) -> dict:
    from appliance.callcore.prompts import LANGUAGES

    values: dict = {}
    if "number" in data:
        number = data["number"]
        number = str(number).strip() if isinstance(number, (str, int)) and not isinstance(number, bool) else None
        if number is None or not NUMBER_RE.match(number):
            raise ValidationError("number", "must be 2 to 8 digits")
        values["number"] = number
    if "description" in data:
        value = data["description"] if data["description"] is not None else ""
        if not isinstance(value, str) or len(value.strip()) > DESCRIPTION_MAX or not value.strip().isprintable():
            raise ValidationError("description", f"must be at most {DESCRIPTION_MAX} printable characters")
        values["description"] = value.strip()
    for field in ("pin", "moderator_pin"):
        if field in data:
            value = data[field] if data[field] is not None else ""
            if isinstance(value, int) and not isinstance(value, bool):
                value = str(value)
            if not isinstance(value, str) or (value.strip() and not PIN_RE.match(value.strip())):
                raise ValidationError(field, "must be 1 to 16 digits (or empty for none)")
            values[field] = value.strip()
    if "max_participants" in data:
        count = _whole(data["max_participants"], "max_participants")
        low, high = MAX_PARTICIPANTS
        if not low <= count <= high:
            raise ValidationError("max_participants", f"must be from {low} to {high}")
        values["max_participants"] = count
    for field in BOOL_FIELDS:
        if field in data:
            values[field] = _bool(data[field], field)
    if "language" in data:
        value = data["language"] or ""
        if value not in ("", *LANGUAGES):
            raise ValidationError("language", "must be empty (the caller's language) or one of "
                                              + ", ".join(LANGUAGES))
        values["language"] = value
    return values


def _check_pins(pin: str, moderator_pin: str) -> None:
    if pin and moderator_pin and pin == moderator_pin:
        raise ValidationError("moderator_pin", "must differ from the participants' PIN")


def _check_number_free(number: str, own_id: int | None) -> None:
    from appliance.numbering import used_by

    taken = used_by(number, room_id=own_id)
    if taken:
        raise ValidationError("number", f"{number} is already {taken}")


# -- live state ---------------------------------------------------------------------------------------

def join(room_id: int, call_id: str, worker: str, caller: str, caller_name: str, moderator: bool) -> int:
    """Enter a room (RoomFull / RoomLocked); the number of participants now in it, this one included.

    A moderator enters a locked room; the limit holds for everyone.
    """
    with database.atomic():
        room = ConferenceRoom.get_by_id(room_id)
        count = ConferenceParticipant.select().where(ConferenceParticipant.room == room_id).count()
        if count >= room.max_participants:
            raise RoomFull(room.name)
        if room.locked and not moderator:
            raise RoomLocked(room.name)
        ConferenceParticipant.create(room=room_id, call_id=call_id, worker=worker, caller=caller[:64],
                                     caller_name=caller_name[:128], moderator=moderator,
                                     joined_at=dt.datetime.utcnow())
        return count + 1


def leave(call_id: str) -> tuple[int, list[str]] | None:
    """Leave the room; (room id, the workers still holding participants of it), None if not in one."""
    with database.atomic():
        row = ConferenceParticipant.get_or_none(ConferenceParticipant.call_id == call_id)
        if row is None:
            return None
        room_id = row.room_id
        row.delete_instance()
        workers = room_workers(room_id)
        if not workers:  # the last one out unlocks the room
            ConferenceRoom.update(locked=False).where(ConferenceRoom.id == room_id).execute()
        return room_id, workers


def room_workers(room_id: int) -> list[str]:
    return sorted({p.worker for p in ConferenceParticipant.select(ConferenceParticipant.worker)
                   .where(ConferenceParticipant.room == room_id)})


def set_all_muted(room_id: int, muted: bool) -> list[str]:
    """Mute (or unmute) every participant but the moderators; the workers to tell."""
    with database.atomic():
        (ConferenceParticipant.update(muted=muted)
         .where((ConferenceParticipant.room == room_id) & (ConferenceParticipant.moderator == False))  # noqa: E712
         .execute())
        return room_workers(room_id)


def set_locked(room_id: int, locked: bool) -> None:
    with database.atomic():
        ConferenceRoom.update(locked=locked).where(ConferenceRoom.id == room_id).execute()


def set_participant_muted(room: ConferenceRoom, participant_id: int, muted: bool) -> list[str]:
    with database.atomic():
        row = _participant(room, participant_id)
        row.muted = muted
        row.save(only=[ConferenceParticipant.muted])
        return room_workers(room.id)


def remove_participant(room: ConferenceRoom, participant_id: int) -> list[str]:
    """Take a participant out: its worker hangs its call up when told (its row is gone)."""
    with database.atomic():
        row = _participant(room, participant_id)
        worker = row.worker
        row.delete_instance()
        return sorted({worker, *room_workers(room.id)})


def _participant(room: ConferenceRoom, participant_id: int) -> ConferenceParticipant:
    row = ConferenceParticipant.get_or_none((ConferenceParticipant.id == participant_id)
                                            & (ConferenceParticipant.room == room.id))
    if row is None:
        raise NotFound("participant", str(participant_id))
    return row


def forget_worker(worker: str) -> int:
    """A worker stopped or crashed: its participants are gone (the pool calls this)."""
    with database.atomic():
        return ConferenceParticipant.delete().where(ConferenceParticipant.worker == worker).execute()


def apply_live(name: str, data: dict, settings) -> ConferenceRoom:
    """API: {"locked": bool} and/or {"muted": bool} (every participant but the moderators)."""
    from appliance.conference import live

    if not isinstance(data, dict):
        raise ValidationError("body", "must be a JSON object")
    for key in data:
        if key not in ("locked", "muted"):
            raise ValidationError(str(key)[:64], "is not a live setting of a room (locked, muted)")
    room = get_room(name)
    if "locked" in data:
        set_locked(room.id, _bool(data["locked"], "locked"))
    if "muted" in data:
        live.notify(settings, set_all_muted(room.id, _bool(data["muted"], "muted")), room.id)
    return get_room(name)
