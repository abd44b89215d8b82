"""The IVR application (the tree runner lives in appliance.dialplan.ivr)."""

from __future__ import annotations

from appliance.dialplan.apps import Option, application
from appliance.dialplan.call import DialplanCall


@application("ivr", "IVR",
             Option("ivr", "ivr", "IVR tree", required=True))
def ivr(call: DialplanCall, options: dict):
    from appliance.dialplan import ivr as ivr_runner

    return ivr_runner.run(call, options["ivr"])
