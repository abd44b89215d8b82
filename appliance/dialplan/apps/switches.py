"""The switch feature code (93): toggle a switch by phone, with voice prompts."""

from __future__ import annotations

from appliance.dialplan.apps import application
from appliance.dialplan.call import DialplanCall


@application("switch_code", "Switch toggle (feature code)")
def switch_code(call: DialplanCall, options: dict):
    from appliance.dialplan import switches

    return switches.toggle_by_phone(call)
