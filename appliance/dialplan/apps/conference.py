"""The "conference" application: put the caller in a conference room (appliance.conference.calls)."""

from __future__ import annotations

from appliance.dialplan.apps import Option, application
from appliance.dialplan.call import DialplanCall


@application("conference", "Conference room",
             Option("room", "text", "Room (name)", required=True, maximum=64,
                    help="the name of a conference room (Dialplan > Conference rooms)"),
             help="Answers, asks the room's PIN if it has one, and joins the caller to the room.")
def conference(call: DialplanCall, options: dict):
    from appliance.conference import calls

    return calls.run(call, options["room"])
