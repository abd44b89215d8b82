"""Applications that leave the appliance: dial through one trunk, or through a trunk group with failover."""

from __future__ import annotations

from appliance.dialplan.apps import Option, application
from appliance.dialplan.call import DialplanCall


@application("dial_trunk", "Dial through a trunk",
             Option("trunk", "trunk", "Trunk", required=True),
             Option("strip", "int", "Strip first digits", default=0, minimum=0, maximum=31),
             Option("prepend", "number", "Prepend"),
             Option("ring_seconds", "int", "Ring time (s), then continue", minimum=5, maximum=600),
             help="The called number goes out in E.164 form unless digits are stripped or prepended. "
                  "Toll-fraud guards apply first.")
def dial_trunk(call: DialplanCall, options: dict):
    from appliance.trunks.outbound import Route, place

    route = Route(options["trunk"], options.get("strip") or 0, options.get("prepend") or "")
    return place(call, [route], options.get("ring_seconds"))


@application("trunk_group", "Dial through a trunk group",
             Option("trunk_group", "trunk_group", "Trunk group", required=True),
             Option("ring_seconds", "int", "Ring time (s) per trunk", minimum=5, maximum=600),
             help="Trunks are tried in order; busy, congestion, 5xx or no answer moves to the next one.")
def trunk_group(call: DialplanCall, options: dict):
    from appliance.trunks.models import TrunkGroup
    from appliance.trunks.outbound import Route, place

    group = TrunkGroup.get_or_none(TrunkGroup.name == options["trunk_group"])
    if group is None:
        call.trace.step("error", message=f"trunk group {options['trunk_group']} no longer exists")
        return None
    routes = [Route(m["trunk"], m.get("strip") or 0, m.get("prepend") or "", m.get("max_calls") or 0)
              for m in group.members]
    ring = options.get("ring_seconds") or group.failover_delay_s or None
    return place(call, routes, ring)
