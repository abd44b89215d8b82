"""The IVR application (the tree runner lives in appliance.dialplan.ivr)."""

from __future__ import annotations

from appliance.dialplan.apps import Option, application
from appliance.dialplan.call import DialplanCall


@application("ivr", "IVR",
             Option("ivr", "ivr", "IVR tree", required=True),
             help="Answers the call and plays the IVR's menus; its actions continue the call in other "
                  "procedures (the applications after this one run only if the IVR is missing).")
def ivr(call: DialplanCall, options: dict):
    from appliance.dialplan import ivr as ivr_runner

    return ivr_runner.run(call, options["ivr"])
