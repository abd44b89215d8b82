"""The dialplan engine: find what a called number means in a procedure, run its applications.

Pure Python, no pjsua2: calls are driven through `Channel`. Entry point for
the call core: `route(channel, settings)`.

Lookup of a number in a procedure (`Snapshot.lookup`):
    1. the procedure's own entries, by the precedence of
       appliance.dialplan.patterns (exact, then the most specific pattern,
       then the first listed);
    2. its included procedures, in order, each searched the same way
       (recursively; each procedure once), their `default` entries ignored;
    3. the procedure's own `default` entry.
The generated procedure `internal` holds every user's extension (dial that
user) and the feature codes.

Loops: a `Goto` chain longer than MAX_JUMPS without the caller choosing
anything (an IVR key, DISA digits) ends the call with 482 Loop Detected and
a trace entry; the procedure service also refuses to save an unconditional
goto cycle.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from appliance.dialplan import patterns
from appliance.dialplan.call import DialplanCall, Goto, Stop
from appliance.dialplan.models import DEFAULT_TRUNK_PROCEDURE, INTERNAL, Procedure, current_revision
from appliance.numbering import ECHO_TEST, EXTENSION_RE, SWITCH_CODE, VOICEMAIL_ALIAS, VOICEMAIL_CODE, VOICEMAIL_MAIN
from appliance.settings import Settings
from appliance.store import database

log = logging.getLogger(__name__)

MAX_JUMPS = 20

# The feature codes of the generated `internal` procedure.
FEATURE_CODES: dict[str, list[dict]] = {
    ECHO_TEST: [{"app": "echo"}],
    SWITCH_CODE: [{"app": "switch_code"}],
    VOICEMAIL_CODE: [{"app": "voicemail_listen", "mode": "own"}],
    VOICEMAIL_ALIAS: [{"app": "voicemail_listen", "mode": "own"}],
    VOICEMAIL_MAIN: [{"app": "voicemail_listen", "mode": "ask"}],
}


@dataclass(frozen=True, slots=True)
class Match:
    procedure: str   # where the entry was found (the procedure itself or an included one)
    entry: str       # the entry's text: "100", "1XX", "default"
    apps: list[dict]


@dataclass(slots=True)
class CompiledProcedure:
    name: str
    includes: list[str]
    entries: list[patterns.Pattern]
    apps: list[list[dict]]
    default_apps: list[dict] | None
    matcher: patterns.Matcher


class Snapshot:
    """The compiled dialplan at one revision: procedures with their patterns parsed."""

    def __init__(self, revision: int, procedures: dict[str, CompiledProcedure]):
        self.revision = revision
        self.procedures = procedures
        self.key: tuple = ()

    @classmethod
    def from_rows(cls, revision: int, rows: list[tuple[str, list[str], list[dict]]]) -> Snapshot:
        """rows: (name, includes, numbers) as stored (already validated)."""
        compiled = {}
        for name, includes, numbers in rows:
            entries, apps, default_apps = [], [], None
            for entry in numbers:
                if patterns.is_default(entry["number"]):
                    default_apps = entry.get("apps", [])
                    continue
                entries.append(patterns.compile_pattern(entry["number"]))
                apps.append(entry.get("apps", []))
            compiled[name] = CompiledProcedure(name, list(includes), entries, apps, default_apps,
                                               patterns.Matcher(entries))
        return cls(revision, compiled)

    @classmethod
    def load(cls) -> Snapshot:
        """Read every procedure from the store (one query)."""
        revision = current_revision()
        rows = [(p.name, p.includes, p.numbers)
                for p in Procedure.select(Procedure.name, Procedure.includes, Procedure.numbers)]
        return cls.from_rows(revision, rows)

    def lookup(self, procedure: str, number: str,
               extension_exists: Callable[[str], bool] = lambda _: False,
               room_at: Callable[[str], str | None] = lambda _: None) -> Match | None:
        """What `number` runs in `procedure` (see the module docstring), or None.

        room_at(number): the name of the conference room with that number, or None.
        """
        found = self._search(procedure, number, extension_exists, set(), room_at)
        if found is not None:
            return found
        own = self.procedures.get(procedure)
        if own is not None and own.default_apps is not None:
            return Match(procedure, patterns.DEFAULT, own.default_apps)
        return None

    def _search(self, name: str, number: str, extension_exists, seen: set[str],
                room_at: Callable[[str], str | None] = lambda _: None) -> Match | None:
        if name in seen:
            return None
        seen.add(name)
        if name == INTERNAL:
            found = internal_entry(number, extension_exists, room_at)
            if found is not None:
                return found
        proc = self.procedures.get(name)
        if proc is None:
            return None
        index = proc.matcher.best(number)
        if index is not None:
            return Match(name, proc.entries[index].text, proc.apps[index])
        for included in proc.includes:
            found = self._search(included, number, extension_exists, seen, room_at)
            if found is not None:
                return found
        return None


def internal_entry(number: str, extension_exists: Callable[[str], bool],
                   room_at: Callable[[str], str | None] = lambda _: None) -> Match | None:
    """The generated procedure: feature codes, then every user's extension, then conference rooms."""
    if number in FEATURE_CODES:
        return Match(INTERNAL, number, FEATURE_CODES[number])
    if EXTENSION_RE.match(number) and extension_exists(number):
        from appliance.dialplan.apps.voicemail import extension_apps

        return Match(INTERNAL, number, extension_apps(number))
    room = room_at(number) if EXTENSION_RE.match(number) else None
    if room is not None:
        return Match(INTERNAL, number, [{"app": "conference", "room": room}])
    return None


# -- the compiled dialplan of this process, reloaded when the revision moves ---------------
_snapshot: Snapshot | None = None
_snapshot_lock = threading.Lock()


def snapshot() -> Snapshot:
    """The current compiled dialplan: one cheap query per call, a reload only after a change."""
    global _snapshot
    # The store's file is part of the key: a process that opens another store (tests) recompiles.
    key = (database.database, current_revision())
    current = _snapshot
    if current is not None and current.key == key:
        return current
    with _snapshot_lock:
        if _snapshot is None or _snapshot.key != key:
            _snapshot = Snapshot.load()
            _snapshot.key = key
        return _snapshot


def conference_room_at(number: str) -> str | None:
    from appliance.conference.models import ConferenceRoom

    row = ConferenceRoom.select(ConferenceRoom.name).where(ConferenceRoom.number == number).first()
    return row.name if row is not None else None


def extension_exists(number: str) -> bool:
    from appliance.users.models import User

    return User.select(User.id).where(User.extension == number).exists()


def clock(settings: Settings) -> Callable[[], dt.datetime]:
    """The dialplan's "now": the wall clock, or in tests the time written in Settings.clock_file."""
    if not settings.clock_file:
        return lambda: dt.datetime.now(dt.UTC)

    def injected() -> dt.datetime:
        try:
            value = dt.datetime.fromisoformat(Path(settings.clock_file).read_text().strip())
        except (OSError, ValueError):
            return dt.datetime.now(dt.UTC)
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)

    return injected


# -- running a call ---------------------------------------------------------------------
def route(channel, settings: Settings) -> None:
    """Route one incoming call through the caller's procedure, start to end (the call core's entry)."""
    from appliance.dialplan.trace import Trace
    from appliance.recordings import policy as recording
    from appliance.users.models import User

    trace = Trace(settings, channel.call_id)
    call = None
    try:
        first = None
        if getattr(channel, "trunk", ""):
            from appliance.trunks import inbound

            call, first = inbound.prepare(channel, settings, trace, clock(settings))
            if call is None:
                return
        else:
            user = User.get_or_none(User.extension == channel.caller)
            procedure = user.dialplan if user is not None else DEFAULT_TRUNK_PROCEDURE
            call = DialplanCall(channel=channel, settings=settings, trace=trace, caller=channel.caller,
                                caller_name=channel.caller_name, called=channel.callee,
                                user=user.extension if user is not None else "", procedure=procedure,
                                language=channel.language, now=clock(settings))
        recording.attach(call)
        run(call, snapshot(), first)
    finally:
        if call is not None:
            recording.finish(call)
        trace.close()


def run(call: DialplanCall, plan: Snapshot, first: Match | None = None) -> None:
    """Run `call` from `call.procedure` until an application stops it or none is left.

    `first`: what to run before looking anything up (an inbound number's destination).
    """
    from appliance.callcore.channel import HungUp
    from appliance.dialplan.apps import REGISTRY

    jumps = 0
    trace = call.trace
    trace.step("start", caller=call.caller, caller_name=call.caller_name, called=call.called,
               procedure=call.procedure, user=call.user)
    try:
        while True:
            match = first or plan.lookup(call.procedure, call.called, extension_exists, conference_room_at)
            first = None
            if match is None:
                trace.step("no_match", procedure=call.procedure, number=call.called)
                return no_such_number(call)
            trace.step("match", procedure=match.procedure, entry=match.entry, number=call.called)
            outcome = None
            for position, app in enumerate(match.apps, start=1):
                spec = REGISTRY.get(app.get("app"))
                if spec is None:
                    trace.step("error", position=position, message=f"unknown application {app.get('app')!r}")
                    continue
                trace.step("app", position=position, app=spec.kind,
                           options={k: v for k, v in app.items() if k != "app"})
                outcome = spec.run(call, {k: v for k, v in app.items() if k != "app"})
                if outcome is not None:
                    break
                if not call.channel.is_up:
                    trace.step("end", by="caller hung up")
                    return
            if isinstance(outcome, Goto):
                jumps = 0 if outcome.by_caller else jumps + 1
                if jumps > MAX_JUMPS:
                    trace.step("loop", procedure=outcome.procedure, jumps=jumps)
                    log.warning("call %s: dialplan loop at %s", call.channel.call_id, outcome.procedure)
                    call.channel.hangup(482, "Loop Detected")
                    return
                trace.step("goto", procedure=outcome.procedure, number=outcome.number or call.called)
                call.procedure = outcome.procedure
                if outcome.number:
                    call.called = outcome.number
                continue
            if isinstance(outcome, Stop):
                trace.step("end", code=outcome.code, reason=outcome.reason or "")
                finish(call, outcome.code, outcome.reason)
                return
            trace.step("end", by="no application left")
            return finish_after_apps(call)
    except HungUp:
        trace.step("end", by="caller hung up")
        raise


def finish(call: DialplanCall, code: int | None, reason: str | None) -> None:
    if call.channel.is_up:
        call.channel.hangup(code, reason)


def finish_after_apps(call: DialplanCall) -> None:
    """No application left: end the call the way its last dial ended (busy, no answer...)."""
    from appliance.callcore.channel import DialOutcome

    result = call.last_dial
    channel = call.channel
    if not channel.is_up:
        return
    if channel.answered or result is None:
        channel.hangup()
    elif result.outcome is DialOutcome.BUSY:
        channel.hangup(486, "Busy Here")
    elif result.outcome is DialOutcome.NO_ANSWER:
        channel.hangup(480, "No Answer")
    elif result.outcome is DialOutcome.UNAVAILABLE:
        announce_then_reject(call, "not_available", 480, "Temporarily Unavailable")
    elif result.outcome is DialOutcome.CANCELLED:
        channel.hangup()
    else:
        code = result.code if 400 <= result.code < 700 else 503
        channel.hangup(code, result.reason or None)


def no_such_number(call: DialplanCall) -> None:
    announce_then_reject(call, "no_such_number", 404, "Not Found")


def announce_then_reject(call: DialplanCall, prompt: str, code: int, reason: str) -> None:
    """Early media (183) with a spoken announcement, then a SIP failure (or BYE if answered)."""
    channel = call.channel
    if not channel.answered:
        channel.early_media()
    channel.play(str(call.prompt(prompt)))
    channel.hangup(code, reason)
