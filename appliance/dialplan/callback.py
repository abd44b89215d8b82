"""Mobility callback: a user calling from their mobile is hung up on and called back, then dials as themselves.

The caller pays nothing for the call (it is never answered); the appliance
calls the mobile back through the call core's origination
(appliance.callcore.originate, job kind "mobility_callback"). When the
mobile answers, the user is asked for a number (unless the mobility
application named one) and the call runs the user's own procedure as if
placed from their desk phone: their extension presented, their rights.

Reaching a mobile on the public network needs a trunk (issue 5); until
then the target is whatever Kamailio can route (a registered extension).
"""

from __future__ import annotations

import logging

from appliance.settings import Settings

log = logging.getLogger(__name__)

NUMBER_TIMEOUT_S = 8.0
NUMBER_MAX_DIGITS = 32


def request(settings: Settings, extension: str, mobile: str, procedure: str, number: str | None) -> str | None:
    """Ask the call core to call `mobile` back for user `extension`; returns the job id (None if refused)."""
    from appliance.callcore.originate import originate
    from appliance.errors import ApplianceError

    try:
        return originate(settings, mobile, "mobility_callback", caller_number=extension,
                         user=extension, procedure=procedure, number=number or "")
    except ApplianceError as exc:
        log.warning("mobility callback to %s for %s refused: %s", mobile, extension, exc)
        return None


def callback_job(job, channel) -> dict:
    """In the call core, once the mobile answered: read the number, then run the user's procedure."""
    from appliance.callcore import prompts
    from appliance.dialplan import engine
    from appliance.dialplan.call import DialplanCall
    from appliance.dialplan.trace import Trace
    from appliance.errors import ValidationError
    from appliance.users.models import User

    settings = job.settings
    user = User.get_or_none(User.extension == job.params["user"])
    if user is None:
        raise ValidationError("user", "the user to call back no longer exists")
    number = job.params.get("number") or ""
    if not number:
        channel.play(str(prompts.prompt_path(settings, "enter_number", user.language)), stop_on_digit=True)
        number = channel.collect_digits(NUMBER_MAX_DIGITS, NUMBER_TIMEOUT_S)
        if not number:
            channel.play(str(prompts.prompt_path(settings, "goodbye", user.language)))
            return {"dialled": ""}
    job.update("dialling", number=number)
    trace = Trace(settings, f"callback-{job.id}")
    call = DialplanCall(channel=channel, settings=settings, trace=trace, caller=user.extension,
                        caller_name=user.display_name, called=number, user=user.extension,
                        procedure=job.params.get("procedure") or user.dialplan, language=user.language,
                        now=engine.clock(settings))
    try:
        engine.run(call, engine.snapshot())
    finally:
        trace.close()
    return {"dialled": number}
