"""Applications that branch: check a time range, check a switch."""

from __future__ import annotations

from appliance.dialplan.apps import Option, application
from appliance.dialplan.call import DialplanCall, Goto


@application("check_time", "Check time range",
             Option("time_range", "time_range", "Time range", required=True),
             Option("when", "choice", "Go when the time is", default="inside", choices=("inside", "outside")),
             Option("procedure", "procedure", "Procedure", required=True),
             Option("number", "number", "New called number"))
def check_time(call: DialplanCall, options: dict):
    from appliance.dialplan import timeranges

    now = call.local_now()
    inside = timeranges.is_inside(options["time_range"], now)
    call.trace.step("result", time=now.isoformat(timespec="minutes"), inside=inside)
    if inside == (options.get("when", "inside") == "inside"):
        return Goto(options["procedure"], options.get("number"))
    return None


@application("check_switch", "Check switch",
             Option("switch", "switch", "Switch", required=True),
             Option("on_procedure", "procedure", "When on, go to"),
             Option("on_number", "number", "When on, called number"),
             Option("off_procedure", "procedure", "When off, go to"),
             Option("off_number", "number", "When off, called number"),
             Option("extra_procedure", "procedure", "When extra (3 states), go to"),
             Option("extra_number", "number", "When extra, called number"),
             help="A state with no procedure goes on with the next application.")
def check_switch(call: DialplanCall, options: dict):
    from appliance.dialplan.models import Switch

    switch = Switch.get_or_none(Switch.name == options["switch"])
    state = switch.state if switch is not None else 0
    label = ("off", "on", "extra")[state] if 0 <= state <= 2 else "off"
    call.trace.step("result", switch=options["switch"], state=label)
    procedure = options.get(f"{label}_procedure")
    if procedure:
        return Goto(procedure, options.get(f"{label}_number"))
    return None
