"""Applications that reach people: dial users, DISA, mobility lookup."""

from __future__ import annotations

from appliance.dialplan.apps import Option, application
from appliance.dialplan.call import DialplanCall, Goto, Stop


def user_uri(extension: str) -> str:
    from appliance.system.models import get_system_settings

    return f"sip:{extension}@{get_system_settings().sip_domain}"


def dial_extensions(call: DialplanCall, extensions: list[str], seconds: int | None):
    """Ring `extensions` at once for `seconds` (default: the system's ring timeout), presenting the caller.

    Returns the DialResult; answered and talked means the call is over (Stop).
    """
    from appliance.system.models import get_system_settings

    timeout = seconds or get_system_settings().ring_timeout_s
    targets = [user_uri(ext) for ext in extensions]
    result = call.channel.dial(targets if len(targets) > 1 else targets[0], timeout=timeout,
                               caller_name=call.caller_name, caller_number=call.caller)
    call.last_dial = result
    call.trace.step("result", outcome=result.outcome.value, code=result.code, reason=result.reason)
    return result


def end_of_conversation(result) -> Stop:
    """After an answered, bridged dial: the other leg goes too."""
    if result.peer is not None and result.peer.is_up:
        result.peer.hangup()
    return Stop()


@application("dial_users", "Dial user(s)",
             Option("extensions", "extensions", "Users", required=True),
             Option("ring_seconds", "int", "Ring time (s), then continue", minimum=1, maximum=600,
                    help="Empty: the system's ring timeout."))
def dial_users(call: DialplanCall, options: dict):
    result = dial_extensions(call, options["extensions"], options.get("ring_seconds"))
    if result.answered:
        return end_of_conversation(result)
    if not call.channel.is_up:
        return Stop()
    return None


@application("disa", "DISA (dial an extension)",
             Option("sound", "sound", "Prompt", help="Empty: the system prompt asking for an extension."),
             Option("timeout_s", "int", "Seconds to wait for digits", default=5, minimum=1, maximum=60),
             Option("max_digits", "int", "Maximum digits", default=8, minimum=1, maximum=32),
             Option("procedure", "procedure", "Procedure for the digits",
                    help="Empty: this procedure. Never a procedure reaching trunks unless that is meant."),
             Option("timeout_procedure", "procedure", "On timeout, go to",
                    help="Empty: go on with the next application."),
             Option("timeout_number", "number", "On timeout, called number"))
def disa(call: DialplanCall, options: dict):
    channel = call.channel
    if not channel.answered:
        channel.answer()
    prompt = call.sound_path(options["sound"]) if options.get("sound") else call.prompt("enter_extension")
    channel.play(str(prompt), stop_on_digit=True)
    digits = channel.collect_digits(options.get("max_digits") or 8, float(options.get("timeout_s") or 5))
    call.trace.step("result", digits=digits)
    if digits:
        return Goto(options.get("procedure") or call.procedure, digits, by_caller=True)
    if options.get("timeout_procedure"):
        return Goto(options["timeout_procedure"], options.get("timeout_number"), by_caller=True)
    return None


def find_mobile_owner(number: str):
    """The user whose mobile number is `number` (compared on digits, the last 9 at least), or None."""
    from appliance.users.models import User

    digits = "".join(c for c in number if c.isdigit())
    if len(digits) < 6:
        return None
    for user in User.select().where(User.mobile != ""):
        theirs = "".join(c for c in user.mobile if c.isdigit())
        tail = min(len(theirs), len(digits), 9)
        if theirs == digits or (tail >= 9 and theirs[-tail:] == digits[-tail:]):
            return user
    return None


@application("mobility", "Mobility lookup",
             Option("number", "number", "Called number in the user's procedure",
                    help="Empty: keep the called number."),
             Option("callback", "bool", "Hang up and call the user back", default=False),
             help="A call from a user's mobile number continues as that user, in their procedure.")
def mobility(call: DialplanCall, options: dict):
    user = find_mobile_owner(call.caller)
    if user is None:
        call.trace.step("result", found=False)
        return None
    call.trace.step("result", found=True, user=user.extension)
    call.user = user.extension
    call.caller = user.extension
    call.caller_name = user.display_name
    call.language = user.language
    if options.get("callback"):
        from appliance.dialplan import callback

        callback.request(call.settings, user.extension, user.mobile, user.dialplan, options.get("number"))
        return Stop(603, "Decline")  # the caller is called back at once, free of charge for them
    return Goto(user.dialplan, options.get("number"))
