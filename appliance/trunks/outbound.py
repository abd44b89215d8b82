"""An outbound call through trunks: classify, guard against fraud, present the caller, try each route in turn.

Used by the dialplan applications `dial_trunk` and `trunk_group`
(appliance/dialplan/apps/trunks.py). The call reaches the provider through
the SIP edge: the worker dials `sip:<number>@<sip domain>` with
`X-AP-Trunk: <trunk>`, and Kamailio sends it out on that trunk with its
credentials (appliance/sipedge). Fails over to the next route on busy,
congestion, any 5xx or no answer; any other answer (404, 480, 403...) is
the provider's last word on that number and ends the attempt.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from appliance.callcore.channel import DialOutcome, DialResult
from appliance.dialplan.call import DialplanCall, Stop
from appliance.trunks import numbers

log = logging.getLogger(__name__)

DEFAULT_RING_SECONDS = 60


@dataclass(frozen=True, slots=True)
class Route:
    trunk: str
    strip: int = 0
    prepend: str = ""
    max_calls: int = 0  # for this route (a trunk group member); 0 = only the trunk's own limit


@dataclass(frozen=True, slots=True)
class Destination:
    dialled: str    # as the caller dialled it (after the dialplan's rewrites)
    e164: str
    call_class: str
    country: str    # ISO-2 of the appliance


def destination_of(dialled: str) -> Destination:
    from appliance.system.models import get_system_settings

    system = get_system_settings()
    e164 = numbers.to_e164(dialled, numbers.calling_code(system.country), system.national_prefix,
                           system.international_prefix)
    return Destination(numbers.clean(dialled), e164, numbers.classify(dialled, e164, system.country),
                       system.country)


def fails_over(result: DialResult) -> bool:
    """Busy, congestion, 5xx or no answer: worth trying the next trunk."""
    return result.outcome in (DialOutcome.BUSY, DialOutcome.NO_ANSWER) or 500 <= result.code < 600


def number_to_send(route: Route, destination: Destination) -> str:
    """The route's strip/prepend apply to the number as dialled; without them the provider gets E.164."""
    if route.strip or route.prepend:
        return route.prepend + destination.dialled[route.strip:]
    return destination.e164


def presentation(call: DialplanCall, trunk) -> tuple[str, str, dict[str, str]]:
    """(caller name, caller number, extra headers) shown to the called party, per the caller's setting."""
    from appliance.users.models import User

    user = User.get_or_none(User.extension == call.user) if call.user else None
    mode = user.caller_id_mode if user is not None else "transparent"
    appliance_number = trunk.outbound_caller_id or call.caller
    if mode == "custom" and user.caller_id_number:
        return call.caller_name, user.caller_id_number, {}
    if mode == "anonymous":
        return "Anonymous", appliance_number, {"X-AP-Privacy": "id"}
    if mode == "transparent":
        return call.caller_name, call.caller, {}
    return call.caller_name, appliance_number, {}


def refuse(call: DialplanCall, announcement: str, code: int, reason: str) -> Stop:
    """The caller hears why (early media), then gets the SIP answer."""
    from appliance.dialplan.engine import announce_then_reject

    call.trace.step("result", refused=reason, code=code)
    announce_then_reject(call, announcement, code, reason)
    return Stop()


def place(call: DialplanCall, routes: list[Route], ring_seconds: int | None = None):
    """Place the call through `routes` in order; Stop when it was answered (or refused), else None."""
    from appliance.fraud import guards
    from appliance.system.models import get_system_settings
    from appliance.trunks.models import Trunk

    destination = destination_of(call.called)
    call.trace.step("result", e164=destination.e164, call_class=destination.call_class)
    verdict = guards.check_outbound(call.user, destination.e164, destination.call_class, call.now(),
                                    dialled=destination.dialled, call_id=call.channel.call_id)
    if not verdict.allowed:
        return refuse(call, verdict.announcement or "call_not_allowed", verdict.code or 403,
                      verdict.reason or "Forbidden")
    # Written with the first trunk tried (one store write, not two).
    record = {"direction": "outbound", "call_class": destination.call_class, "dialled": destination.e164}
    domain = get_system_settings().sip_domain
    max_seconds = verdict.max_seconds  # None: no limit
    for position, route in enumerate(routes, start=1):
        trunk = Trunk.get_or_none(Trunk.name == route.trunk)
        if trunk is None or not trunk.enabled:
            call.trace.step("result", trunk=route.trunk, skipped="missing or disabled")
            continue
        # The call counts against this trunk's limits from the first ring on; the route's own limit is
        # checked and taken in one write transaction (two calls at once cannot both take the last channel).
        if not claim(call.channel.call_id, trunk.name, route.max_calls, record):
            call.trace.step("result", trunk=route.trunk, skipped="channel limit of this route")
            continue
        record = {}
        name, number, headers = presentation(call, trunk)
        sent = number_to_send(route, destination)
        result = call.channel.dial(f"sip:{sent}@{domain}", timeout=ring_seconds or DEFAULT_RING_SECONDS,
                                   caller_name=name, caller_number=number,
                                   headers={"X-AP-Trunk": trunk.name, **headers}, wait_end=max_seconds is None)
        call.last_dial = result
        call.trace.step("result", trunk=trunk.name, sent=sent, outcome=result.outcome.value, code=result.code,
                        reason=result.reason)
        if result.answered:
            if max_seconds is not None:
                ended = call.channel.wait_hangup(timeout=max_seconds)
                if ended is None:
                    call.trace.step("result", cut="maximum call duration", seconds=max_seconds)
            if result.peer is not None and result.peer.is_up:
                result.peer.hangup()
            return Stop()
        if result.outcome is DialOutcome.CANCELLED or not call.channel.is_up:
            return Stop()
        if not fails_over(result) or position == len(routes):
            return None
    return None


def claim(call_id: str, trunk: str, max_calls: int, record: dict) -> bool:
    """Mark the call's CDR as going out on `trunk` (with `record`'s fields), unless `max_calls` (0: no
    limit) calls are already open on it; check and mark under the store's write lock."""
    from appliance.cdr.models import Cdr
    from appliance.store import database

    with database.atomic():
        if max_calls and open_calls_on(trunk) >= max_calls:
            return False
        Cdr.update(trunk=trunk, **record).where(Cdr.call_id == call_id).execute()
    return True


def open_calls_on(trunk: str) -> int:
    from appliance.cdr.models import Cdr

    return Cdr.select().where(Cdr.trunk == trunk, Cdr.end.is_null(), Cdr.direction == "outbound").count()
