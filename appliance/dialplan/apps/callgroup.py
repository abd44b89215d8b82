"""The call group application (strategies live in appliance.dialplan.callgroups)."""

from __future__ import annotations

from appliance.dialplan.apps import Option, application
from appliance.dialplan.call import DialplanCall


@application("call_group", "Call group",
             Option("call_group", "call_group", "Call group", required=True),
             Option("moh_class", "moh_class", "Music while waiting (empty: ringing)"))
def call_group(call: DialplanCall, options: dict):
    from appliance.dialplan import callgroups

    return callgroups.run(call, options["call_group"], options.get("moh_class"))
