"""The call core's own dialplan (issue 2): echo test, extension to extension.

Driven only through `Channel`, so the dialplan engine of the next issue can
replace `route` without touching pjsua2. Store lookups happen here, in the
call's thread.
"""

from __future__ import annotations

import logging

from appliance.callcore import prompts
from appliance.callcore.channel import Channel, DialOutcome, DialResult
from appliance.numbering import ECHO_TEST
from appliance.settings import Settings
from appliance.system.models import get_system_settings
from appliance.users.models import User

log = logging.getLogger(__name__)


def route(channel: Channel, settings: Settings) -> None:
    """Route one incoming call, start to end."""
    # 1. Service numbers the call core answers itself.
    if channel.callee == ECHO_TEST:
        return echo_test(channel)
    # 2. Extensions: only existing users can be called.
    callee = User.get_or_none(User.extension == channel.callee)
    if callee is None:
        return announce_then_reject(channel, settings, "no_such_number", 404, "Not Found")
    # 3. Ring the extension through Kamailio, then end the call the way the dial ended.
    result = dial_extension(channel, callee.extension)
    finish_dial(channel, settings, result)


def echo_test(channel: Channel) -> None:
    """Answer and send the caller's audio back until they hang up."""
    channel.answer()
    channel.echo()


def announce_then_reject(channel: Channel, settings: Settings, prompt: str, code: int, reason: str) -> None:
    """Early media (183) with a spoken announcement, then a SIP failure."""
    channel.early_media()
    channel.play(str(prompts.prompt_path(settings, prompt, channel.language)))
    channel.hangup(code, reason)


def dial_extension(channel: Channel, extension: str) -> DialResult:
    """Call sip:<ext>@<sip_domain> via Kamailio for ring_timeout_s, presenting the caller."""
    system = get_system_settings()
    return channel.dial(f"sip:{extension}@{system.sip_domain}", timeout=system.ring_timeout_s,
                        caller_name=channel.caller_name, caller_number=channel.caller)


def finish_dial(channel: Channel, settings: Settings, result: DialResult) -> None:
    """Pass the dial's end on to the caller: BYE, busy, no answer, announcement."""
    if result.outcome is DialOutcome.ANSWERED:
        # Whoever hung up first, the other leg goes too.
        if result.peer is not None:
            result.peer.hangup()
        channel.hangup()
    elif result.outcome is DialOutcome.BUSY:
        channel.hangup(486, "Busy Here")
    elif result.outcome is DialOutcome.NO_ANSWER:
        channel.hangup(480, "No Answer")
    elif result.outcome is DialOutcome.UNAVAILABLE:
        announce_then_reject(channel, settings, "not_available", 480, "Temporarily Unavailable")
    elif result.outcome is DialOutcome.CANCELLED:
        channel.hangup()
    else:
        code = result.code if 400 <= result.code < 700 else 503
        channel.hangup(code, result.reason or None)
