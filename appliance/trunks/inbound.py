"""A call arriving on a trunk: which number was called, who calls (E.164), and where it goes.

The called number is read from the header the trunk is configured with,
normalised to E.164 with the trunk's country code, and looked up in the
inbound numbers (DIDs); a DID sends the call straight to its destination,
otherwise the trunk's procedure (default `main`) routes it, with the E.164
number as the called number. The caller's number is stored in E.164 in the
call history, so that calling back works from there.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Callable

from appliance.dialplan.call import DialplanCall
from appliance.dialplan.engine import Match
from appliance.dialplan.models import DEFAULT_USER_PROCEDURE
from appliance.settings import Settings
from appliance.trunks import numbers

log = logging.getLogger(__name__)

_URI_USER = re.compile(r"<?(?:sips?|tel):\+?([^@;>]+)")


def called_number(channel, header: str) -> str:
    """The number the provider says was called, from the trunk's configured header (R-URI by default)."""
    name = {"to": "to", "pcpid": "p-called-party-id", "diversion": "diversion"}.get(header)
    value = channel.headers.get(name, "") if name else ""
    found = _URI_USER.search(value)
    if found:
        plus = "+" if re.search(r"(sips?|tel):\+", value) else ""
        return plus + found.group(1)
    return channel.callee


def did_apps(did, trunk_procedure: str) -> list[dict]:
    """The applications an inbound number's destination stands for."""
    kind, target = did.destination_kind, did.destination
    if kind == "user":
        return [{"app": "dial_users", "extensions": [target]}]
    if kind == "call_group":
        return [{"app": "call_group", "call_group": target}]
    if kind == "ivr":
        return [{"app": "ivr", "ivr": target}]
    if kind == "time_range":
        # Inside the range: the DID's procedure; outside: the trunk's procedure, as without a DID.
        return [{"app": "check_time", "time_range": target, "procedure": did.procedure},
                {"app": "goto", "procedure": trunk_procedure}]
    if kind == "external":
        # Forwarded out, through the users' routes to the public network, to this one number only.
        return [{"app": "goto", "procedure": DEFAULT_USER_PROCEDURE, "number": target}]
    if kind == "procedure":
        return [{"app": "goto", "procedure": did.procedure, **({"number": target} if target else {})}]
    if kind == "voicemail":
        return [{"app": "voicemail", "box": target, "greeting": "unavailable"}]
    return [{"app": "hangup", "cause": "unavailable"}]


def prepare(channel, settings: Settings, trace, now: Callable[[], dt.datetime]) -> tuple[DialplanCall | None, Match | None]:
    """The dialplan call for an inbound trunk call, and its DID's destination if one matches."""
    from appliance.cdr.models import Cdr
    from appliance.system.models import get_system_settings
    from appliance.trunks.dids import match_did
    from appliance.trunks.models import Did, Trunk

    trunk = Trunk.get_or_none(Trunk.name == channel.trunk)
    if trunk is None:
        trace.step("error", message=f"unknown trunk {channel.trunk!r}")
        channel.hangup(404, "Not Found")
        return None, None
    system = get_system_settings()
    country_code = trunk.country_code or numbers.calling_code(system.country)
    raw = called_number(channel, trunk.called_header)
    called = numbers.to_e164(raw, country_code, system.national_prefix, system.international_prefix)
    # A caller who withheld the number arrives with none (or "anonymous"): it stays anonymous.
    caller = numbers.to_e164(channel.caller, country_code, system.national_prefix,
                             system.international_prefix) if any(c.isdigit() for c in channel.caller) else "anonymous"
    Cdr.update(direction="inbound", trunk=trunk.name, caller=caller).where(Cdr.call_id == channel.call_id).execute()
    call = DialplanCall(channel=channel, settings=settings, trace=trace, caller=caller,
                        caller_name=channel.caller_name, called=called, user="", procedure=trunk.inbound_procedure,
                        language=channel.language, now=now)
    trace.step("start", trunk=trunk.name, received=raw, called=called, caller=caller)
    did = match_did(called, trunk.name, list(Did.select()))
    if did is None:
        return call, None
    trace.step("result", did=did.number, destination=f"{did.destination_kind} {did.destination}".strip())
    return call, Match(trunk.inbound_procedure, f"DID {did.number}", did_apps(did, trunk.inbound_procedure))
