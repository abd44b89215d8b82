"""Banned IP addresses into the event log: sip.ip_banned when the edge bans an address, sip.ip_unbanned
when the ban ends (it expired, or someone lifted it).

Kamailio bans a source address after repeated authentication failures (kamailio.cfg, route[AUTH_FAILED])
by writing `ipban[<ip>] = "<unix time the ban ends>:<failures>"`. Nothing in Kamailio tells Python, so
`BanWatcher` reads that table over RPC every few seconds and compares it with what it saw last time
(`record_ban_changes`). One watcher runs per appliance, in the web process, next to the trunk StateWatcher.

`unban(settings, ip, by)` lifts a ban and records sip.ip_unbanned at once, naming who lifted it; the
watcher then sees the address gone and does not record it a second time.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from dataclasses import dataclass

from appliance.errors import SipEdgeError
from appliance.settings import Settings

log = logging.getLogger(__name__)

INTERVAL_S = 3.0


@dataclass(frozen=True, slots=True)
class Ban:
    ip: str
    until: int        # unix time the ban ends
    failures: int


def current_bans(settings: Settings, now: float | None = None) -> dict[str, Ban]:
    """The bans in force (an ended ban stays in the table until the address's next request): ip -> Ban.
    Raises SipEdgeError when the edge cannot be asked."""
    from appliance.sipedge import rpc

    now = time.time() if now is None else now
    found: dict[str, Ban] = {}
    for slot in rpc.call(settings, "htable.dump", "ipban") or []:
        for entry in slot.get("slot", []) or []:
            until, _, failures = str(entry.get("value", "")).partition(":")
            if not until.isdigit() or int(until) <= now:
                continue
            ip = str(entry.get("name", ""))
            if ip:
                found[ip] = Ban(ip, int(until), int(failures) if failures.isdigit() else 0)
    return found


def record_ban_changes(settings: Settings, known: dict[str, Ban], now: float | None = None) -> dict[str, Ban]:
    """Write sip.ip_banned for each ban not in `known` (or renewed: a later end), sip.ip_unbanned for each
    ban of `known` no longer in force; return the bans now in force (the next call's `known`)."""
    from appliance.events.log import record

    now = time.time() if now is None else now
    current = current_bans(settings, now)
    for ip, ban in sorted(current.items()):
        before = known.get(ip)
        if before is not None and before.until >= ban.until:
            continue
        until = dt.datetime.fromtimestamp(ban.until, dt.UTC)
        record("sip.ip_banned", ip, f"{ip} banned until {until:%Y-%m-%d %H:%M:%S} UTC after {ban.failures} "
               "authentication failures", ip=ip, failures=ban.failures, until=until)
    for ip, ban in sorted(known.items()):
        if ip in current:
            continue
        if _unban_recorded_since(ip, ban):
            continue
        expired = ban.until <= now + 1
        record("sip.ip_unbanned", ip, f"the ban of {ip} " + ("ended" if expired else "was lifted"), ip=ip,
               reason="expired" if expired else "lifted")
    return current


def unban(settings: Settings, ip: str, by: str = "") -> None:
    """Lift the ban of `ip` (and forget its recent failures) and record sip.ip_unbanned naming `by`.
    Raises SipEdgeError if the edge cannot be asked."""
    from appliance.events.log import record
    from appliance.sipedge import rpc

    banned = ip in current_bans(settings)
    rpc.unban(settings, ip)
    if banned:
        record("sip.ip_unbanned", ip, f"the ban of {ip} was lifted by {by or '?'}", ip=ip, reason="lifted", by=by)


def _unban_recorded_since(ip: str, ban: Ban) -> bool:
    """Was this ban's end already recorded (an unban from the UI, in this or another process)?"""
    from appliance.events.models import Event

    banned_at = (Event.select(Event.id).where((Event.kind == "sip.ip_banned") & (Event.subject == ip))
                 .order_by(Event.id.desc()).limit(1).scalar())
    query = Event.select(Event.id).where((Event.kind == "sip.ip_unbanned") & (Event.subject == ip))
    if banned_at is not None:
        query = query.where(Event.id > banned_at)
    return query.exists()


class BanWatcher:
    """Polls the edge's ban table every `interval_s` and writes bans and their ends to the event log.
    Run one per appliance, in a process with the store open (the web process)."""

    def __init__(self, settings: Settings, interval_s: float = INTERVAL_S):
        self.settings, self.interval_s = settings, interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="ip-ban-watcher", daemon=True)

    def start(self) -> BanWatcher:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=self.interval_s + 5)

    def _run(self) -> None:
        known: dict[str, Ban] | None = None
        while not self._stop.wait(self.interval_s):
            try:
                if known is None:
                    # Bans in force when the web process (re)starts were recorded by the one before.
                    known = _already_recorded(current_bans(self.settings))
                known = record_ban_changes(self.settings, known)
            except SipEdgeError as exc:
                log.debug("bans not read, SIP edge unreachable: %s", exc)
            except Exception:  # the watcher must outlive a bad read
                log.exception("bans could not be read")


def _already_recorded(bans: dict[str, Ban]) -> dict[str, Ban]:
    """Of the bans in force, those whose sip.ip_banned is already in the event log (with the same end)."""
    from appliance.events.models import Event

    known = {}
    for ip, ban in bans.items():
        last = (Event.select().where((Event.kind == "sip.ip_banned") & (Event.subject == ip))
                .order_by(Event.id.desc()).first())
        until = (last.details or {}).get("until") if last is not None else None
        if until == dt.datetime.fromtimestamp(ban.until, dt.UTC).replace(tzinfo=None).isoformat(
                timespec="seconds") + "Z":
            known[ip] = ban
    return known
