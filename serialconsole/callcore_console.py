"""SSH/serial menu entry 1: the call-core console.

Registrations as Kamailio holds them (JSON-RPC `ul.dump`), calls in progress
(open CDR rows: the one home of "which calls are up"), trunks with their
registration state (`appliance.trunks.edge`), the worker pool
(run/callcore.json), "reload" (re-render kamailio.cfg from the store and
restart the SIP edge through the supervisor; registrations survive it) and
the edge's debug level (Kamailio's `corex.debug` RPC, live, not kept across a
restart: the level rendered into kamailio.cfg comes back then).
"""

from __future__ import annotations

import datetime as dt
import json

from appliance.errors import SipEdgeError
from serialconsole.menu import Entry, Menu, Session, needs_admin, run_menu

DEBUG_LEVELS = {-3: "alert", -2: "critical", -1: "error", 0: "warning", 1: "notice", 2: "info", 3: "debug"}


def menu() -> Menu:
    return Menu("Call-core console", [
        Entry("1", "Registrations", registrations),
        Entry("2", "Calls in progress", calls),
        Entry("3", "Trunks", trunks),
        Entry("4", "Call-core workers", workers),
        Entry("5", "Reload the SIP edge (kamailio.cfg from the store)", reload_edge, needs_admin),
        Entry("6", "SIP edge debug level", debug_level),
    ], exit_label="Back")


def open_console(session: Session) -> None:
    run_menu(menu(), session)


def _settings(session: Session):
    return session.context.settings


def registrations(session: Session) -> None:
    from appliance.sipedge import rpc

    term = session.term
    try:
        rows = rpc.registrations(_settings(session))
    except SipEdgeError as exc:
        term.say(f"The SIP edge does not answer: {exc}")
        return
    term.say(f"{len(rows)} registered contact(s)")
    term.table(("ext", "source", "expires", "user agent"),
               [(r["extension"], r["source_ip"], f"{r['expires']}s", r["user_agent"]) for r in rows])


def calls(session: Session) -> None:
    from appliance.cdr import queries

    term = session.term
    now = dt.datetime.utcnow()
    rows = []
    for cdr in queries.in_progress():
        since = int((now - cdr.start).total_seconds()) if cdr.start else 0
        state = "answered" if getattr(cdr, "answer", None) else "ringing"
        rows.append((cdr.caller, cdr.callee, state, f"{since // 60}:{since % 60:02d}",
                     getattr(cdr, "trunk", "") or "", getattr(cdr, "worker", "") or ""))
    term.say(f"{len(rows)} call(s) in progress")
    term.table(("from", "to", "state", "time", "trunk", "worker"), rows)


def trunks(session: Session) -> None:
    from appliance.trunks.edge import registration_states
    from appliance.trunks.models import Trunk

    term = session.term
    names = [t.name for t in Trunk.select().order_by(Trunk.name)]
    if not names:
        term.say("No trunk is configured.")
        return
    try:
        states = registration_states(_settings(session))
    except SipEdgeError as exc:
        term.say(f"The SIP edge does not answer: {exc}")
        return
    rows = []
    for name in names:
        s = states.get(name, {})
        state = s.get("state", "?") + (f" ({s['reason']})" if s.get("reason") else "")
        rows.append((name, state, s.get("detail", "")))
    term.table(("trunk", "state", "detail"), rows)


def workers(session: Session) -> None:
    term = session.term
    try:
        state = json.loads((_settings(session).run_dir / "callcore.json").read_text())
    except (OSError, ValueError):
        term.say("The call-core pool is not running (no run/callcore.json).")
        return
    rows = [(w.get("index"), w.get("pid"), w.get("port"), "ready" if w.get("ready") else "starting",
             w.get("legs"), "yes" if w.get("stopping") else "") for w in state.get("workers", [])]
    term.say(f"pool pid {state.get('pid')}, {len(rows)} worker(s)")
    term.table(("#", "pid", "SIP port", "state", "legs", "retiring"), rows)


def reload_edge(session: Session) -> None:
    from serialconsole.services import RestartFailed, restart

    term = session.term
    term.say("Rendering kamailio.cfg from the store and restarting the SIP edge...")
    try:
        term.say(restart(_settings(session), "kamailio"))
    except RestartFailed as exc:
        term.say(f"Not reloaded: {exc}.")
        return
    term.say("Registrations are kept across the restart.")


def current_debug_level(settings) -> int:
    from appliance.sipedge import rpc

    result = rpc.call(settings, "corex.debug")
    if isinstance(result, dict):
        result = result.get("New Debug") or result.get("Old Debug") or next(iter(result.values()), 0)
    return int(result)


def debug_level(session: Session) -> None:
    from appliance.sipedge import rpc

    term = session.term
    settings = _settings(session)
    try:
        level = current_debug_level(settings)
    except (SipEdgeError, ValueError, TypeError) as exc:
        term.say(f"The SIP edge does not answer: {exc}")
        return
    term.say(f"SIP edge debug level: {level} ({DEBUG_LEVELS.get(level, '?')})")
    term.say("Levels: " + ", ".join(f"{k} {v}" for k, v in DEBUG_LEVELS.items()))
    if not session.is_admin:
        term.say("(only an administrator may change it)")
        return

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise ValueError("type a number from -3 to 3") from None
        if value not in DEBUG_LEVELS:
            raise ValueError("type a number from -3 to 3")
        return value

    new = term.ask("New level (Enter keeps it): ", parse)
    if new is None:
        return
    rpc.call(settings, "corex.debug", new)
    term.say(f"SIP edge debug level is now {current_debug_level(settings)} (until the edge restarts).")
