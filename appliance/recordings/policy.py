"""Who is recorded, decided when a conversation starts, and the on-demand feature code during a call.

`attach(call)` runs when the dialplan starts routing a call (appliance.dialplan.engine.route); from then
on, each time the call core bridges the caller with someone who answered (Channel.on_bridged), the call is
recorded when:
- the calling user's mode is "always", or the answering user's is (owner: that user);
- the call came through a call group marked "record" (call.data["record_group"], set by the group);
and a user in "on_demand" mode (caller or answering user) keys the feature code (default *1) to start
and stop. One recording file holds both sides (Channel.start_recording follows the bridges). Both
parties hear the legal notice when the settings ask for it, and a beep when an on-demand recording
starts or stops. `finish(call)` closes the file and notes its length when the call ends.

Quota: a recording counts against its owner; an owner over quota is not recorded (the call goes on) and
an event says so. Retention: each new recording first removes those past the retention.
"""

from __future__ import annotations

import logging

from appliance.dialplan.call import DialplanCall
from appliance.recordings import service
from appliance.recordings.models import Recording

log = logging.getLogger(__name__)


def attach(call: DialplanCall) -> None:
    """Watch `call`'s conversations for recording (cheap: one settings read when the caller may record)."""
    call.channel.on_bridged(lambda channel, result: _on_bridged(call, result))
    if call.user and _mode(call.user) == "on_demand":
        code = service.get_settings().feature_code
        call.channel.on_digits(code, lambda _channel: toggle(call, call.user))


def finish(call: DialplanCall) -> None:
    """The call is over: stop recording, note each recording's length and size."""
    try:
        if call.channel.is_recording:
            call.channel.stop_recording()
        for recording in call.data.get("recordings", ()):
            service.finish(call.settings, recording)
    except Exception:
        log.exception("recordings of call %s not finished", call.channel.call_id)


def toggle(call: DialplanCall, owner: str) -> None:
    """The on-demand feature code: start recording, or stop the recording in progress."""
    if call.channel.is_recording:
        call.channel.stop_recording()
        call.trace.step("result", recording="stopped on demand", by=owner)
        _notify(call, "beep")
    elif start(call, owner, "on_demand"):
        _notify(call, "beep")


def start(call: DialplanCall, owner: str, reason: str) -> Recording | None:
    """Record the conversation from now on; None if already recording or the owner is over quota."""
    from appliance.events import log as events

    if call.channel.is_recording or not call.channel.is_up:
        return None
    settings_row = service.get_settings()
    service.purge(call.settings)
    if owner and not service.has_room(owner, settings_row):
        call.trace.step("result", recording="not started: quota full", owner=owner)
        events.record("recording.quota_full", subject=owner, call_id=call.channel.call_id,
                      message=f"call of {owner} not recorded: the recordings quota ({settings_row.quota_mb} MB) "
                              "is full")
        return None
    recording, path = service.new_recording(call.settings, call.channel.call_id, owner, reason)
    try:
        call.channel.start_recording(str(path))
    except Exception:
        log.exception("call %s: recording could not start", call.channel.call_id)
        Recording.delete().where(Recording.id == recording.id).execute()
        return None
    call.data.setdefault("recordings", []).append(recording)
    call.trace.step("result", recording=recording.file, reason=reason, owner=owner)
    if settings_row.announcement:
        _notify(call, "call_recorded")
    return recording


def _on_bridged(call: DialplanCall, result) -> None:
    call.data["peer"] = result.peer
    answering = _extension_of(result.target)
    answering_mode = _mode(answering) if answering else "never"
    if answering_mode == "on_demand" and result.peer is not None:
        code = service.get_settings().feature_code
        result.peer.on_digits(code, lambda _channel: toggle(call, answering))
    if call.data.get("record_group"):
        start(call, answering or call.user, "call_group")
    elif call.user and _mode(call.user) == "always":
        start(call, call.user, "always")
    elif answering_mode == "always":
        start(call, answering, "always")


def _notify(call: DialplanCall, sound: str) -> None:
    """Both parties hear `sound` (the legal notice, or a beep); the conversation goes on meanwhile."""
    from appliance.sounds import library

    path = library.beep_path(call.settings) if sound == "beep" else call.prompt(sound)
    for channel in (call.channel, call.data.get("peer")):
        if channel is not None and channel.is_up:
            try:
                channel.play(str(path), wait=False)
            except Exception:
                log.debug("notice %s not played to %r", sound, channel)


def _mode(extension: str) -> str:
    from appliance.users.models import User

    user = User.get_or_none(User.extension == extension)
    return user.recording_mode if user is not None else "never"


def _extension_of(target: str) -> str:
    """"sip:101@pbx.local" -> "101" when it is a user's extension."""
    if not target.startswith("sip:"):
        return ""
    user = target[4:].split("@", 1)[0]
    return user if user.isdigit() else ""
