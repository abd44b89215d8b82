"""Call groups: validation and CRUD of `CallGroup`, and ringing a group during a call.

A group holds ordered members (existing extensions, each with an optional
ring time of its own) and a strategy:

    ring_all      every member at once, for the group's ring_seconds;
    sequential    one member at a time, in list order (hunt);
    random        one at a time, in a new random order for each call;
    round_robin   one at a time, starting after the member rung first by the
                  previous call (CallGroupPointer: survives restarts);
    least_recent  one at a time, the member offered a call longest ago first
                  (never offered first), ties in list order;
    fewest_calls  one at a time, the member who answered the fewest calls
                  through this group first, ties in list order.

One at a time: each member rings for its ring time (member ring_seconds,
else the group's member_ring_seconds), never past the group's ring_seconds.
When every member was tried and time is left, the same order starts again,
unless nobody in the round could ring at all (all busy or unreachable).
A member who is busy (486/600) or unavailable (not registered, 480) is
passed over at once; in ring_all such a member is simply left out.

Nobody answers: Goto(no_answer_procedure, no_answer_number) when the group
has one, else the next application of the number runs. The caller hanging
up while members ring ends the call (Stop).

The live state (who was offered a call when, answers per member, the round
robin pointer) is written in short transactions of its own, not with the
configuration: it does not move the dialplan revision.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import peewee

from appliance.dialplan.call import DialplanCall, Goto, Outcome, Stop
from appliance.dialplan.models import NAME_RE, CallGroup, CallGroupPointer, CallGroupState, bump_revision
from appliance.errors import Conflict, NotFound, ValidationError, reject_unknown_fields
from appliance.store import database

log = logging.getLogger(__name__)

STRATEGIES = ("ring_all", "sequential", "random", "round_robin", "least_recent", "fewest_calls")
STRATEGY_LABELS = {
    "ring_all": "Ring all at once",
    "sequential": "Sequential (hunt, in list order)",
    "random": "Random order",
    "round_robin": "Round robin (start after the last one rung first)",
    "least_recent": "Least recently called first",
    "fewest_calls": "Fewest answered calls first",
}
MEMBERS_MAX = 50
GROUP_RING_MIN, GROUP_RING_MAX = 1, 3600
MEMBER_RING_MIN, MEMBER_RING_MAX = 1, 600
DESCRIPTION_MAX = 255
WRITABLE_FIELDS = ("name", "description", "strategy", "ring_seconds", "member_ring_seconds", "members",
                   "no_answer_procedure", "no_answer_number", "record")
READ_ONLY_FIELDS = ("revision", "updated_at", "stats")
# A member is not rung for a sliver of time at the end of the group's ring time.
MIN_OFFER_SECONDS = 1.0
# The clock of the group's ring time (tests replace it).
monotonic = time.monotonic


# -- reading ------------------------------------------------------------------------------

def list_groups() -> list[CallGroup]:
    return list(CallGroup.select().order_by(CallGroup.name))


def get_group(name: str) -> CallGroup:
    group = CallGroup.get_or_none(CallGroup.name == str(name))
    if group is None:
        raise NotFound("call group", str(name))
    return group


def member_stats(name: str) -> dict[str, MemberState]:
    """Per extension: when it was last offered a call of this group, how many it answered."""
    return {row.extension: MemberState(row.last_called_at, row.calls_answered)
            for row in CallGroupState.select().where(CallGroupState.group_name == name)}


def to_public(group: CallGroup, stats: Mapping[str, MemberState] | None = None) -> dict:
    """The group as the API shows it (members in order, their live counters in `stats`)."""
    stats = member_stats(group.name) if stats is None else stats
    members = [{"extension": m["extension"], "ring_seconds": m.get("ring_seconds")} for m in group.members]
    return {
        "name": group.name,
        "description": group.description,
        "strategy": group.strategy,
        "ring_seconds": group.ring_seconds,
        "member_ring_seconds": group.member_ring_seconds,
        "members": members,
        "no_answer_procedure": group.no_answer_procedure,
        "no_answer_number": group.no_answer_number,
        "record": bool(group.record),
        "revision": group.revision,
        "updated_at": group.updated_at.isoformat(timespec="seconds") + "Z"
        if isinstance(group.updated_at, dt.datetime) else str(group.updated_at),
        "stats": [{"extension": m["extension"],
                   "last_called_at": _iso(stats[m["extension"]].last_called_at) if m["extension"] in stats else None,
                   "calls_answered": stats[m["extension"]].calls_answered if m["extension"] in stats else 0}
                  for m in members],
    }


def _iso(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.isoformat(timespec="seconds") + "Z"
    return str(value)


# -- writing ------------------------------------------------------------------------------

def create_group(data: dict) -> CallGroup:
    _reject_unknown(data)
    for required in ("name", "members"):
        if required not in data:
            raise ValidationError(required, "is required")
    name = _name(data["name"])
    values = _validated(data, current=None)
    with database.atomic():
        if CallGroup.select(CallGroup.id).where(CallGroup.name == name).exists():
            raise ValidationError("name", f"a call group named {name!r} already exists")
        group = CallGroup(name=name, revision=1, updated_at=dt.datetime.utcnow())
        for key, value in values.items():
            setattr(group, key, value)
        group.save(force_insert=True)
        bump_revision()
    return group


def update_group(name: str, data: dict) -> CallGroup:
    """Change some fields; `revision` (optional) guards against concurrent edits; the name never changes."""
    if not isinstance(data, dict):
        raise ValidationError("body", "must be a JSON object")
    data = dict(data)
    expected_revision = data.pop("revision", None)
    _reject_unknown(data)
    if "name" in data and data["name"] != name:
        raise ValidationError("name", "cannot be changed: create a new group and delete this one")
    data.pop("name", None)
    with database.atomic():
        group = get_group(name)
        if expected_revision is not None:
            if not isinstance(expected_revision, int) or isinstance(expected_revision, bool):
                raise ValidationError("revision", "must be an integer")
            if expected_revision != group.revision:
                raise Conflict("revision", "this call group was changed by someone else; reload and try again")
        values = _validated(data, current=group)
        for key, value in values.items():
            setattr(group, key, value)
        group.revision += 1
        group.updated_at = dt.datetime.utcnow()
        group.save()
        if "members" in values:
            kept = [m["extension"] for m in values["members"]]
            CallGroupState.delete().where((CallGroupState.group_name == name)
                                          & CallGroupState.extension.not_in(kept)).execute()
        bump_revision()
    return group


def delete_group(name: str) -> None:
    from appliance.dialplan.references import refuse_if_used

    with database.atomic():
        group = get_group(name)
        refuse_if_used("call_group", group.name)
        group.delete_instance()
        CallGroupState.delete().where(CallGroupState.group_name == group.name).execute()
        CallGroupPointer.delete().where(CallGroupPointer.group_name == group.name).execute()
        bump_revision()


# -- validation ---------------------------------------------------------------------------

def _reject_unknown(data: object) -> None:
    reject_unknown_fields(data, "call group", WRITABLE_FIELDS, READ_ONLY_FIELDS)


def _name(value: object) -> str:
    if not isinstance(value, str) or not re.match(NAME_RE, value.strip()):
        raise ValidationError("name", "must be 1 to 64 characters: lower-case letters, digits, - and _, "
                                      "starting with a letter or digit")
    return value.strip()


def _validated(data: dict, current: CallGroup | None) -> dict:
    values: dict = {}
    if "description" in data:
        values["description"] = _text("description", data["description"], DESCRIPTION_MAX)
    if "strategy" in data:
        if data["strategy"] not in STRATEGIES:
            raise ValidationError("strategy", "must be one of " + ", ".join(STRATEGIES))
        values["strategy"] = data["strategy"]
    if "ring_seconds" in data:
        values["ring_seconds"] = _seconds("ring_seconds", data["ring_seconds"], GROUP_RING_MIN, GROUP_RING_MAX)
    if "member_ring_seconds" in data:
        values["member_ring_seconds"] = _seconds("member_ring_seconds", data["member_ring_seconds"],
                                                 MEMBER_RING_MIN, MEMBER_RING_MAX)
    if "members" in data:
        values["members"] = _members(data["members"])
    if "no_answer_procedure" in data:
        values["no_answer_procedure"] = _procedure(data["no_answer_procedure"])
    if "no_answer_number" in data:
        values["no_answer_number"] = _number(data["no_answer_number"])
    if "record" in data:
        if not isinstance(data["record"], bool):
            raise ValidationError("record", "must be true or false")
        values["record"] = data["record"]
    procedure = values.get("no_answer_procedure", current.no_answer_procedure if current else "")
    number = values.get("no_answer_number", current.no_answer_number if current else "")
    if number and not procedure:
        raise ValidationError("no_answer_procedure", "is required when a no-answer number is set "
                                                     "(the procedure in which that number is dialled)")
    return values


def _text(field: str, value: object, maximum: int) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValidationError(field, "must be text")
    if len(value) > maximum:
        raise ValidationError(field, f"must be at most {maximum} characters long")
    return value.strip()


def _seconds(field: str, value: object, minimum: int, maximum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, str)) or not str(value).strip().isdigit():
        raise ValidationError(field, f"must be a whole number of seconds from {minimum} to {maximum}")
    number = int(str(value).strip())
    if not minimum <= number <= maximum:
        raise ValidationError(field, f"must be a whole number of seconds from {minimum} to {maximum}")
    return number


def _members(value: object) -> list[dict]:
    from appliance.dialplan.references import exists

    if not isinstance(value, list):
        raise ValidationError("members", "must be a list of {\"extension\", \"ring_seconds\"} in ringing order")
    if not value:
        raise ValidationError("members", "a call group needs at least one member")
    if len(value) > MEMBERS_MAX:
        raise ValidationError("members", f"at most {MEMBERS_MAX} members")
    members: list[dict] = []
    seen: dict[str, int] = {}
    for index, item in enumerate(value):
        where = f"members.{index}"
        if isinstance(item, (str, int)) and not isinstance(item, bool):
            item = {"extension": item}
        if not isinstance(item, dict):
            raise ValidationError(where, "must be an object {\"extension\": \"101\", \"ring_seconds\": 15 or null}")
        for key in item:
            if key not in ("extension", "ring_seconds"):
                raise ValidationError(f"{where}.{str(key)[:64]}", "is not a field of a member")
        extension = item.get("extension")
        if isinstance(extension, int) and not isinstance(extension, bool):
            extension = str(extension)
        if not isinstance(extension, str) or not extension.strip():
            raise ValidationError(f"{where}.extension", "is required")
        extension = extension.strip()
        if not exists("extension", extension):
            raise ValidationError(f"{where}.extension", f"no user has the extension {extension!r}")
        if extension in seen:
            raise ValidationError(f"{where}.extension",
                                  f"{extension} is already a member (position {seen[extension] + 1})")
        seen[extension] = index
        ring = item.get("ring_seconds")
        if ring in (None, ""):
            ring = None
        else:
            ring = _seconds(f"{where}.ring_seconds", ring, MEMBER_RING_MIN, MEMBER_RING_MAX)
        members.append({"extension": extension, "ring_seconds": ring})
    return members


def _procedure(value: object) -> str:
    from appliance.dialplan.references import exists

    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValidationError("no_answer_procedure", "must be the name of a procedure")
    name = value.strip()
    if name and not exists("procedure", name):
        raise ValidationError("no_answer_procedure", f"there is no procedure named {name!r}")
    return name


def _number(value: object) -> str:
    from appliance.dialplan.apps import NUMBER_RE

    if value is None:
        return ""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise ValidationError("no_answer_number", "must be a number of up to 32 digits (and * # +)")
    number = value.strip()
    if number and not NUMBER_RE.match(number):
        raise ValidationError("no_answer_number", "must be a number of up to 32 digits (and * # +)")
    return number


# -- strategies (pure) --------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class MemberState:
    last_called_at: dt.datetime | None = None
    calls_answered: int = 0


def ring_order(strategy: str, extensions: Sequence[str], *, start: int = 0,
               states: Mapping[str, MemberState] | None = None, rng: random.Random | None = None) -> list[str]:
    """The order in which the members of a group are offered a call.

    start: round robin's first member (an index into `extensions`, taken modulo their number).
    states: the members' live counters (least_recent, fewest_calls); a member without one was never
    offered a call and has answered none.
    """
    members = list(extensions)
    if not members:
        return []
    states = states or {}
    position = {ext: i for i, ext in enumerate(members)}
    if strategy in ("ring_all", "sequential"):
        return members
    if strategy == "random":
        (rng or random.SystemRandom()).shuffle(members)
        return members
    if strategy == "round_robin":
        first = start % len(members)
        return members[first:] + members[:first]
    if strategy == "least_recent":
        never = dt.datetime.min

        def last_called(ext: str):
            state = states.get(ext)
            return (state.last_called_at if state and state.last_called_at else never), position[ext]

        return sorted(members, key=last_called)
    if strategy == "fewest_calls":
        return sorted(members, key=lambda ext: (states[ext].calls_answered if ext in states else 0, position[ext]))
    raise ValueError(f"unknown call group strategy {strategy!r}")


def member_ring_seconds(group: CallGroup, member: dict) -> int:
    return member.get("ring_seconds") or group.member_ring_seconds


# -- live state (short transactions of their own) -------------------------------------------

def _now() -> dt.datetime:
    # Wall clock, not the dialplan's injectable clock: only the order of offers matters here.
    return dt.datetime.utcnow()


def take_round_robin_start(name: str, count: int) -> int:
    """The index to start this call at, and move the pointer past it for the next call."""
    if count <= 0:
        return 0
    with database.atomic():
        row = CallGroupPointer.get_or_none(CallGroupPointer.group_name == name)
        start = (row.next_index if row is not None else 0) % count
        CallGroupPointer.insert(group_name=name, next_index=(start + 1) % count).on_conflict(
            conflict_target=[CallGroupPointer.group_name],
            update={CallGroupPointer.next_index: (start + 1) % count}).execute()
    return start


def record_offer(name: str, extensions: Sequence[str]) -> None:
    now = _now()
    with database.atomic():
        for ext in extensions:
            CallGroupState.insert(group_name=name, extension=ext, last_called_at=now, calls_answered=0).on_conflict(
                conflict_target=[CallGroupState.group_name, CallGroupState.extension],
                update={CallGroupState.last_called_at: now}).execute()


def record_answer(name: str, extension: str) -> None:
    with database.atomic():
        CallGroupState.insert(group_name=name, extension=extension, last_called_at=_now(),
                              calls_answered=1).on_conflict(
            conflict_target=[CallGroupState.group_name, CallGroupState.extension],
            update={CallGroupState.calls_answered: CallGroupState.calls_answered + 1}).execute()


def _safely(what: str, action, *args) -> None:
    """Live state is best effort: a locked store must not end the call."""
    try:
        action(*args)
    except peewee.PeeweeException:
        log.exception("call group: cannot %s", what)


# -- ringing a group ------------------------------------------------------------------------

def run(call: DialplanCall, group_name: str, moh_class: str | None = None) -> Outcome:
    """Ring the members of `group_name` for `call` (see the module docstring)."""
    group = CallGroup.get_or_none(CallGroup.name == group_name)
    if group is None:
        call.trace.step("error", message=f"there is no call group named {group_name!r}")
        return None
    members = {m["extension"]: m for m in group.members}
    extensions = list(members)
    start = 0
    states: dict[str, MemberState] = {}
    if group.strategy == "round_robin":
        try:
            start = take_round_robin_start(group.name, len(extensions))
        except peewee.PeeweeException:
            log.exception("call group %s: cannot move the round robin pointer", group.name)
    elif group.strategy in ("least_recent", "fewest_calls"):
        states = member_stats(group.name)
    order = ring_order(group.strategy, extensions, start=start, states=states)
    call.trace.step("call_group", group=group.name, strategy=group.strategy, order=order,
                    ring_seconds=group.ring_seconds)
    music = _start_music(call, moh_class) if moh_class else False
    if group.record:
        call.data["record_group"] = group.name  # appliance.recordings.policy records the answered call
    try:
        if group.strategy == "ring_all":
            result = _ring_all(call, group, order, music)
        else:
            result = _hunt(call, group, order, members, music)
    finally:
        call.data.pop("record_group", None)
        if music and call.channel.is_up:
            call.channel.stop_playing()
    if result is not None:
        return result
    if not call.channel.is_up:
        return Stop()
    call.trace.step("result", member=None, outcome="nobody_answered")
    if group.no_answer_procedure:
        return Goto(group.no_answer_procedure, group.no_answer_number or None)
    return None


def _dial(call: DialplanCall, targets: list[str], seconds: float, music: bool):
    """One offer; returns the DialResult (the conversation is over if it was answered)."""
    from appliance.dialplan.apps.dial import user_uri

    uris = [user_uri(ext) for ext in targets]
    target = uris if len(uris) > 1 else uris[0]
    channel = call.channel
    if not music:
        result = channel.dial(target, timeout=seconds, caller_name=call.caller_name, caller_number=call.caller,
                              wait_end=True)
        call.last_dial = result
        return result
    # With music on hold, the music stops at the answer, before the conversation.
    result = channel.dial(target, timeout=seconds, caller_name=call.caller_name, caller_number=call.caller,
                          wait_end=False)
    call.last_dial = result
    if result.answered:
        channel.stop_playing()
        started = time.monotonic()
        gone = channel.wait_hangup()
        result.ended_by = "caller" if gone is channel else "peer"
        result.talk_seconds = time.monotonic() - started
    return result


def _answered_member(result, offered: list[str]) -> str | None:
    """Which of the offered members answered: known for one target; for several, if the channel says."""
    if len(offered) == 1:
        return offered[0]
    target = getattr(result, "target", "") or ""
    for ext in offered:
        if target.startswith(f"sip:{ext}@"):
            return ext
    return None


def _ring_all(call: DialplanCall, group: CallGroup, order: list[str], music: bool) -> Outcome:
    from appliance.callcore.channel import DialOutcome
    from appliance.dialplan.apps.dial import end_of_conversation

    _safely("record the offer", record_offer, group.name, order)
    result = _dial(call, order, float(group.ring_seconds), music)
    member = _answered_member(result, order)
    call.trace.step("result", member=member or ",".join(order), outcome=result.outcome.value, code=result.code,
                    reason=result.reason)
    if result.answered:
        if member is not None:
            _safely("count the answer", record_answer, group.name, member)
        return end_of_conversation(result)
    if result.outcome is DialOutcome.CANCELLED or not call.channel.is_up:
        return Stop()
    return None


def _hunt(call: DialplanCall, group: CallGroup, order: list[str], members: dict[str, dict],
          music: bool) -> Outcome:
    from appliance.callcore.channel import DialOutcome
    from appliance.dialplan.apps.dial import end_of_conversation

    deadline = monotonic() + group.ring_seconds
    while True:
        rang = False
        for ext in order:
            left = deadline - monotonic()
            if left < MIN_OFFER_SECONDS:
                return None
            seconds = min(float(member_ring_seconds(group, members[ext])), left)
            _safely("record the offer", record_offer, group.name, [ext])
            result = _dial(call, [ext], seconds, music)
            call.trace.step("result", member=ext, outcome=result.outcome.value, code=result.code,
                            reason=result.reason)
            if result.answered:
                _safely("count the answer", record_answer, group.name, ext)
                return end_of_conversation(result)
            if result.outcome is DialOutcome.CANCELLED or not call.channel.is_up:
                return Stop()
            if result.outcome is DialOutcome.NO_ANSWER:
                rang = True
        if not rang:
            return None  # nobody could ring at all (busy, unreachable): no point in another round


def _start_music(call: DialplanCall, moh_class: str) -> bool:
    """Answer and loop the class's music while members ring; False (ringing instead) if there is none."""
    from appliance.sounds import library

    failures = (AttributeError, OSError, LookupError, ValueError, NotFound, getattr(library, "SoxError", OSError))
    try:
        tracks = list(library.moh_tracks(call.settings, moh_class))
    except failures as exc:
        call.trace.step("error", message=f"music on hold {moh_class!r} unavailable ({exc}); ringing instead")
        return False
    if not tracks:
        call.trace.step("error", message=f"music on hold {moh_class!r} has no track; ringing instead")
        return False
    from appliance.callcore.channel import ChannelError

    channel = call.channel
    if not channel.answered:
        channel.answer()
    try:
        channel.play(str(tracks[0]), loop=True, wait=False)
    except ChannelError as exc:
        call.trace.step("error", message=f"cannot play music on hold {tracks[0]}: {exc}")
        return False
    return True
