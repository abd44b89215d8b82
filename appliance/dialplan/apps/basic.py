"""Applications that act on the call itself: answer, wait, play, music on hold, numbers, goto, hang up, echo."""

from __future__ import annotations

import time

from appliance.dialplan.apps import Option, application
from appliance.dialplan.call import DialplanCall, Goto, Stop

# "Hang up" causes: what the caller's phone is told when the call was not answered.
HANGUP_CAUSES = {
    "normal": (None, None),
    "busy": (486, "Busy Here"),
    "unavailable": (480, "Temporarily Unavailable"),
    "not_found": (404, "Not Found"),
    "rejected": (603, "Decline"),
    "congestion": (503, "Service Unavailable"),
}


def ensure_audio(call: DialplanCall, answer: bool = True) -> None:
    """Audio towards the caller: answer (200), or early media (183) when `answer` is False."""
    channel = call.channel
    if channel.answered:
        return
    if answer:
        channel.answer()
    else:
        channel.early_media()


@application("answer", "Answer")
def answer(call: DialplanCall, options: dict):
    call.channel.answer()


@application("wait", "Wait",
             Option("seconds", "int", "Seconds", required=True, minimum=1, maximum=3600))
def wait(call: DialplanCall, options: dict):
    # wait_hangup returns early if the caller hangs up: the engine then sees the channel down.
    call.channel.wait_hangup(timeout=options["seconds"])


@application("play", "Play sound",
             Option("sound", "sound", "Sound", required=True),
             Option("answer", "bool", "Answer first (otherwise early media)", default=True),
             Option("repeat", "int", "Times", default=1, minimum=1, maximum=20))
def play(call: DialplanCall, options: dict):
    ensure_audio(call, options.get("answer", True))
    path = str(call.sound_path(options["sound"]))
    for _ in range(options.get("repeat", 1)):
        call.channel.play(path)


@application("music_on_hold", "Music on hold",
             Option("moh_class", "moh_class", "Music class", default="default"),
             Option("seconds", "int", "Seconds (0 = until the caller hangs up)", default=0, minimum=0,
                    maximum=3600),
             Option("answer", "bool", "Answer first (otherwise early media)", default=True))
def music_on_hold(call: DialplanCall, options: dict):
    from appliance.sounds import library

    ensure_audio(call, options.get("answer", True))
    tracks = library.moh_tracks(call.settings, options.get("moh_class") or "default")
    seconds = options.get("seconds") or 0
    deadline = time.monotonic() + seconds if seconds else None
    channel = call.channel
    index = 0
    while channel.is_up and tracks:
        channel.play(str(tracks[index % len(tracks)]), wait=False)
        remaining = None if deadline is None else deadline - time.monotonic()
        if remaining is not None and remaining <= 0:
            break
        track_seconds = library.duration(tracks[index % len(tracks)]) or 1.0
        if channel.wait_hangup(timeout=track_seconds if remaining is None else min(track_seconds, remaining)):
            break
        index += 1
    channel.stop_playing()


@application("set_called", "Set called number",
             Option("number", "number", "Custom number"),
             Option("strip", "int", "Strip first digits", default=0, minimum=0, maximum=31),
             Option("prefix", "number", "Add prefix"),
             help="Custom number replaces the called number; then the first digits are stripped and the "
                  "prefix added.")
def set_called(call: DialplanCall, options: dict):
    number = options.get("number") or call.called
    number = number[options.get("strip") or 0:]
    call.called = (options.get("prefix") or "") + number


@application("set_caller", "Set caller name/number",
             Option("name", "text", "Caller name", maximum=64),
             Option("number", "number", "Caller number"))
def set_caller(call: DialplanCall, options: dict):
    if options.get("name"):
        call.caller_name = options["name"]
    if options.get("number"):
        call.caller = options["number"]


@application("goto", "Go to procedure",
             Option("procedure", "procedure", "Procedure", required=True),
             Option("number", "number", "New called number"))
def goto(call: DialplanCall, options: dict):
    return Goto(options["procedure"], options.get("number"))


@application("hangup", "Hang up",
             Option("cause", "choice", "Cause", default="normal", choices=tuple(HANGUP_CAUSES)))
def hangup(call: DialplanCall, options: dict):
    code, reason = HANGUP_CAUSES[options.get("cause") or "normal"]
    return Stop(code, reason)


@application("echo", "Echo test")
def echo(call: DialplanCall, options: dict):
    call.channel.answer()
    call.channel.echo()
    return Stop()
