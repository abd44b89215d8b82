"""The call group application (strategies live in appliance.dialplan.callgroups)."""

from __future__ import annotations

from appliance.dialplan.apps import Option, application
from appliance.dialplan.call import DialplanCall


@application("call_group", "Call group",
             Option("call_group", "call_group", "Call group", required=True),
             Option("moh_class", "moh_class", "Music while waiting (empty: ringing)",
                    help="The caller is answered and hears this music while the members ring."),
             help="Rings the group's members as its strategy says. When nobody answers: the group's "
                  "no-answer destination, or else the next application.")
def call_group(call: DialplanCall, options: dict):
    from appliance.dialplan import callgroups

    return callgroups.run(call, options["call_group"], options.get("moh_class"))
