"""Switches: validation, create/change/delete, setting the state, and the feature code 93 by phone.

A switch (model appliance.dialplan.models.Switch) has two states (0 off,
1 on) or three (2 extra). Its state is read live by the "check switch"
application at each call, so changing it (`set_state`) does not move the
dialplan revision; changing its configuration does.

By phone (feature code 93, `toggle_by_phone`): the caller hears
"switch_enter_code" and dials the switch's code then # (3 tries), must be
one of the switch's `allowed` extensions, hears the current state, presses
1 (on), 0 (off) or 2 (extra, three-state switches), and hears the new state.
"""

from __future__ import annotations

import datetime as dt
import logging
import re

import peewee

from appliance.dialplan.call import DialplanCall, Stop
from appliance.dialplan.models import NAME_RE, Switch, bump_revision
from appliance.errors import Conflict, NotFound, ValidationError, reject_unknown_fields
from appliance.store import database

log = logging.getLogger(__name__)

FIELDS = ("name", "description", "code", "states", "state", "allowed")
CODE_RANGE = (1, 99)
STATE_LABELS = ("off", "on", "extra")
DESCRIPTION_MAX = 255
ALLOWED_MAX = 200
CHANGED_BY_MAX = 64
# By phone: tries to dial a valid code / choice, seconds to wait for a digit.
PHONE_TRIES = 3
DIGIT_TIMEOUT = 5.0
# A digit pressed by phone -> the state it sets.
KEY_STATES = {"0": 0, "1": 1, "2": 2}
_NAME = re.compile(NAME_RE)


# -- reading ----------------------------------------------------------------------------

def list_switches() -> list[Switch]:
    return list(Switch.select().order_by(Switch.code))


def get_switch(name: str) -> Switch:
    found = Switch.get_or_none(Switch.name == name)
    if found is None:
        raise NotFound("switch", name)
    return found


def to_public(row: Switch) -> dict:
    return {"name": row.name, "description": row.description, "code": row.code, "states": row.states,
            "state": row.state, "state_label": state_label(row.state), "allowed": row.allowed,
            "changed_by": row.changed_by, "revision": row.revision,
            "updated_at": row.updated_at.isoformat(timespec="seconds") + "Z" if row.updated_at else None}


def state_label(state: int) -> str:
    return STATE_LABELS[state] if 0 <= state < len(STATE_LABELS) else "off"


# -- writing ------------------------------------------------------------------------------

def create_switch(data: dict, by: str = "") -> Switch:
    """Create a switch: name and code required; states 2 (default) or 3; state 0 unless given."""
    _reject_unknown(data, allow_revision=False)
    for required in ("name", "code"):
        if required not in data:
            raise ValidationError(required, "is required")
    name = validate_name(data["name"])
    values = _validated(data)
    values.setdefault("states", 2)
    values.setdefault("state", 0)
    _check_state(values["state"], values["states"])
    with database.atomic():
        if Switch.select().where(Switch.name == name).exists():
            raise ValidationError("name", f"a switch named {name} already exists")
        _check_code_free(values["code"], None)
        row = Switch(name=name, revision=1, changed_by=_by(by), updated_at=dt.datetime.utcnow())
        for field, value in values.items():
            setattr(row, field, value)
        try:
            row.save(force_insert=True)
        except peewee.IntegrityError as exc:
            raise ValidationError("code", "is already used by another switch") from exc
        bump_revision()
    log.info("switch %s created (code %s, %s states, state %s) by %s", name, row.code, row.states,
             state_label(row.state), by or "?")
    return row


def update_switch(name: str, data: dict, by: str = "") -> Switch:
    """Change some fields; `revision` (optional) refuses a concurrent edit (Conflict)."""
    _reject_unknown(data, allow_revision=True)
    data = dict(data)
    expected = data.pop("revision", None)
    if "name" in data and data.pop("name") != name:
        raise ValidationError("name", "cannot be changed (create a new switch instead)")
    values = _validated(data)
    with database.atomic():
        row = get_switch(name)
        if expected is not None:
            if isinstance(expected, bool) or not isinstance(expected, int):
                raise ValidationError("revision", "must be an integer")
            if expected != row.revision:
                raise Conflict("revision", "this switch was changed by someone else; reload and try again")
        states = values.get("states", row.states)
        state = values.get("state", row.state)
        if "state" not in values and state >= states:
            raise ValidationError("states", f"the switch is {state_label(state)}: set another state before "
                                            "making it a two-state switch")
        _check_state(state, states)
        if "code" in values:
            _check_code_free(values["code"], row.id)
        previous_state = row.state
        for field, value in values.items():
            setattr(row, field, value)
        if row.state != previous_state:
            row.changed_by = _by(by)
        row.revision += 1
        row.updated_at = dt.datetime.utcnow()
        try:
            row.save()
        except peewee.IntegrityError as exc:
            raise ValidationError("code", "is already used by another switch") from exc
        bump_revision()
    if row.state != previous_state:
        log.info("switch %s: %s -> %s by %s", name, state_label(previous_state), state_label(row.state), by or "?")
    log.info("switch %s changed by %s", name, by or "?")
    return row


def delete_switch(name: str) -> None:
    """Delete a switch; refused (Conflict naming the places) while a procedure checks it."""
    from appliance.dialplan.references import refuse_if_used

    with database.atomic():
        row = get_switch(name)
        refuse_if_used("switch", name)
        row.delete_instance()
        bump_revision()
    log.info("switch %s deleted", name)


def set_state(name: str, state: object, by: str = "") -> Switch:
    """Set the state (0 off, 1 on, 2 extra for three-state switches); effective for the next call.

    Does not move the dialplan revision nor the switch's own revision (an open edit
    form stays valid): the state is read live by the dialplan.
    """
    if isinstance(state, bool) or not isinstance(state, int):
        raise ValidationError("state", "must be 0 (off), 1 (on) or 2 (extra)")
    with database.atomic():
        row = get_switch(name)
        _check_state(state, row.states)
        previous = row.state
        row.state = state
        row.changed_by = _by(by)
        row.updated_at = dt.datetime.utcnow()
        row.save(only=[Switch.state, Switch.changed_by, Switch.updated_at])
    log.info("switch %s: %s -> %s by %s", name, state_label(previous), state_label(state), by or "?")
    return row


# -- validation ------------------------------------------------------------------------------

def _reject_unknown(data: object, allow_revision: bool) -> None:
    reject_unknown_fields(data, "switch", FIELDS, allow_revision=allow_revision)


def validate_name(value: object) -> str:
    if not isinstance(value, str) or not _NAME.match(value):
        raise ValidationError("name", "must be 1 to 64 lower-case letters, digits, - or _, starting with a "
                                      "letter or digit")
    return value


def _whole(value: object, field: str) -> int:
    if isinstance(value, bool):
        raise ValidationError(field, "must be a whole number")
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    if not isinstance(value, int):
        raise ValidationError(field, "must be a whole number")
    return value


def _validated(data: dict) -> dict:
    from appliance.dialplan.references import exists

    values: dict = {}
    if "description" in data:
        value = data["description"] if data["description"] is not None else ""
        if not isinstance(value, str):
            raise ValidationError("description", "must be text")
        value = value.strip()
        if len(value) > DESCRIPTION_MAX or not value.isprintable():
            raise ValidationError("description", f"must be at most {DESCRIPTION_MAX} printable characters")
        values["description"] = value
    if "code" in data:
        code = _whole(data["code"], "code")
        if not CODE_RANGE[0] <= code <= CODE_RANGE[1]:
            raise ValidationError("code", f"must be from {CODE_RANGE[0]} to {CODE_RANGE[1]}")
        values["code"] = code
    if "states" in data:
        states = _whole(data["states"], "states")
        if states not in (2, 3):
            raise ValidationError("states", "must be 2 (on/off) or 3 (on/off/extra)")
        values["states"] = states
    if "state" in data:
        values["state"] = _whole(data["state"], "state")
    if "allowed" in data:
        items = data["allowed"]
        if isinstance(items, str):
            items = items.replace(",", " ").split()
        if items is None:
            items = []
        if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
            raise ValidationError("allowed", "must be a list of extensions")
        if len(items) > ALLOWED_MAX:
            raise ValidationError("allowed", f"at most {ALLOWED_MAX} extensions")
        for index, item in enumerate(items):
            if not exists("extension", item.strip()):
                raise ValidationError(f"allowed.{index}", f"no user has the extension {item.strip()!r}")
        values["allowed"] = list(dict.fromkeys(i.strip() for i in items))
    return values


def _check_state(state: int, states: int) -> None:
    if not 0 <= state < states:
        choices = "0 (off), 1 (on)" + (" or 2 (extra)" if states == 3 else "")
        raise ValidationError("state", f"must be {choices} for a {states}-state switch")


def _check_code_free(code: int, own_id: int | None) -> None:
    others = Switch.select(Switch.name).where(Switch.code == code)
    if own_id is not None:
        others = others.where(Switch.id != own_id)
    other = others.first()
    if other is not None:
        raise ValidationError("code", f"{code} is already the code of switch {other.name}")


def _by(by: str) -> str:
    return (by or "")[:CHANGED_BY_MAX]


# -- by phone: feature code 93 ----------------------------------------------------------------

def toggle_by_phone(call: DialplanCall) -> Stop:
    """Feature code 93: ask for a switch code, check the caller, say the state, set a new one."""
    channel = call.channel
    trace = call.trace
    channel.answer()
    switch = _ask_code(call)
    if switch is None:
        trace.step("result", switch=None, reason="no valid code")
        return _goodbye(call)
    if not call.user or call.user not in switch.allowed:
        trace.step("result", switch=switch.name, reason="caller not allowed", caller=call.user)
        log.info("switch %s: refused to %s by phone (not allowed)", switch.name, call.user or call.caller)
        _say(call, "not_allowed")
        channel.hangup()
        return Stop()
    _say(call, f"switch_is_{state_label(switch.state)}")
    choice = _ask_state(call, switch)
    if choice is None:
        trace.step("result", switch=switch.name, reason="no valid choice", state=state_label(switch.state))
        return _goodbye(call)
    switch = set_state(switch.name, choice, by=f"phone {call.user}")
    trace.step("result", switch=switch.name, state=state_label(switch.state), by=call.user)
    _say(call, f"switch_is_{state_label(switch.state)}")
    return _goodbye(call)


def _say(call: DialplanCall, prompt: str, interruptible: bool = False) -> None:
    call.channel.play(str(call.prompt(prompt)), stop_on_digit=interruptible)


def _goodbye(call: DialplanCall) -> Stop:
    _say(call, "goodbye")
    call.channel.hangup()
    return Stop()


def _ask_code(call: DialplanCall) -> Switch | None:
    for attempt in range(1, PHONE_TRIES + 1):
        _say(call, "switch_enter_code", interruptible=True)
        digits = call.channel.collect_digits(3, DIGIT_TIMEOUT, terminator="#")
        switch = Switch.get_or_none(Switch.code == int(digits)) if digits.isdigit() else None
        if switch is not None:
            call.trace.step("result", code=digits, switch=switch.name)
            return switch
        call.trace.step("result", code=digits, attempt=attempt, valid=False)
        _say(call, "invalid_choice")
    return None


def _ask_state(call: DialplanCall, switch: Switch) -> int | None:
    prompt = "switch_choose_three" if switch.states == 3 else "switch_choose_two"
    for attempt in range(1, PHONE_TRIES + 1):
        _say(call, prompt, interruptible=True)
        digit = call.channel.collect_digits(1, DIGIT_TIMEOUT, terminator="")
        state = KEY_STATES.get(digit)
        if state is not None and state < switch.states:
            return state
        call.trace.step("result", choice=digit, attempt=attempt, valid=False)
        _say(call, "invalid_choice")
    return None
