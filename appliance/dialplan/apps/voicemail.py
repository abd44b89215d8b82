"""Voicemail applications: leave a message in a box, listen to a box (see appliance.voicemail.phone).

`extension_apps(number)` is what the generated procedure `internal` runs for a user's extension:
ring the user, then (when their box is enabled) their voicemail after the box's ring time, with
the busy greeting if they were busy.
"""

from __future__ import annotations

from appliance.dialplan.apps import Option, application
from appliance.dialplan.call import DialplanCall, Stop

GREETINGS = ("auto", "unavailable", "busy")


def extension_apps(number: str) -> list[dict]:
    """The applications of a user's extension in `internal`: dial, then voicemail if the box is on."""
    from appliance.users.models import User
    from appliance.voicemail.models import Box

    dial = {"app": "dial_users", "extensions": [number]}
    box = Box.select(Box.enabled, Box.ring_seconds).join(User).where(User.extension == number).first()
    if box is None or not box.enabled:
        return [dial]
    return [{**dial, "ring_seconds": box.ring_seconds}, {"app": "voicemail", "box": number, "greeting": "auto"}]


@application("voicemail", "Voicemail (leave a message)",
             Option("box", "number", "Voicemail box", required=True, help="A user's extension or a shared box."),
             Option("greeting", "choice", "Greeting", default="auto", choices=GREETINGS,
                    help="auto: busy if the last dial found the user busy, else unavailable."))
def voicemail(call: DialplanCall, options: dict):
    from appliance.callcore.channel import DialOutcome
    from appliance.voicemail import phone, service

    box = service.find_box(options["box"])
    if box is None or not box.enabled:
        call.trace.step("voicemail", action="no_box", box=options["box"])
        return _unavailable(call)
    kind = options.get("greeting") or "auto"
    if kind == "auto":
        busy = call.last_dial is not None and call.last_dial.outcome is DialOutcome.BUSY
        kind = "busy" if busy else "unavailable"
    call.trace.step("voicemail", action="greeting", box=box.number, kind=kind)
    return phone.Session(call, box).leave(kind)


@application("voicemail_listen", "Voicemail (listen to messages)",
             Option("mode", "choice", "Which box", default="ask", choices=("own", "ask", "box"),
                    help="own: the calling user's box (PIN asked); ask: the caller enters box number then PIN; "
                         "box: the box below."),
             Option("box", "number", "Voicemail box", when={"mode": ("box",)}))
def voicemail_listen(call: DialplanCall, options: dict):
    from appliance.users.models import User
    from appliance.voicemail import phone, service

    mode = options.get("mode") or "ask"
    box = None
    if mode == "own" and call.user:
        user = User.get_or_none(User.extension == call.user)
        box = service.box_for_user(user) if user is not None else None
    elif mode == "box" and options.get("box"):
        box = service.find_box(options["box"])
    session = phone.Session(call, box)
    call.trace.step("voicemail", action="listen", mode=mode, box=box.number if box else None)
    return session.login(box, ask_box=box is None)


def _unavailable(call: DialplanCall) -> Stop:
    from appliance.dialplan.engine import announce_then_reject

    if call.channel.is_up:
        announce_then_reject(call, "not_available", 480, "Temporarily Unavailable")
    return Stop()
