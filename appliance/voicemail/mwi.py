"""Message-waiting indication: SIP NOTIFY message-summary (RFC 3842) to a user's registered phones.

Sent unsolicited (no SUBSCRIBE needed: pjsua, Yealink, Snom... show it) by Kamailio itself,
through its RPC `tm.t_uac_start`, from its own socket to each contact `ul.lookup` lists
for the extension: phones behind NAT get it through the pinhole their REGISTER keeps open.

    Messages-Waiting: yes
    Message-Account: sip:*95@<domain>
    Voice-Message: 2/1 (0/0)

Sending never blocks a call or a web request: `notify_async` hands the work to one background
thread per process, which reads the counts when it sends (so the last NOTIFY carries the latest
state, whichever process made the change) and sends once for a burst of changes.
"""

from __future__ import annotations

import logging
import queue
import secrets
import threading

from appliance.errors import SipEdgeError
from appliance.settings import Settings

log = logging.getLogger(__name__)

LISTEN_CODE = "*95"
_queue: queue.Queue = queue.Queue()
_thread: threading.Thread | None = None
_lock = threading.Lock()
_pending: set[str] = set()   # extensions queued and not sent yet (a burst of changes sends once)


def body(new: int, old: int, domain: str) -> str:
    return (f"Messages-Waiting: {'yes' if new else 'no'}\r\n"
            f"Message-Account: sip:{LISTEN_CODE}@{domain}\r\n"
            f"Voice-Message: {new}/{old} (0/0)\r\n")


def contacts(settings: Settings, extension: str) -> list[dict]:
    """[{"uri": contact, "next_hop": received or "", "socket": "udp:ip:port" or ""}] of `extension`'s phones."""
    from appliance.sipedge import rpc

    try:
        result = rpc.call(settings, "ul.lookup", "location", str(extension))
    except rpc.RpcFault:
        return []   # not registered
    found = []
    items = (result or {}).get("Contacts", []) if isinstance(result, dict) else []
    for item in items:
        contact = item.get("Contact", item) if isinstance(item, dict) else {}
        address = contact.get("Address", "")
        if not address:
            continue
        received = contact.get("Received", "")
        socket = contact.get("Socket", "")
        found.append({"uri": address, "next_hop": received if received and received != "[not set]" else "",
                      "socket": socket if socket and socket != "[not set]" else ""})
    return found


def send(settings: Settings, extension: str, new: int, old: int) -> int:
    """NOTIFY every registered phone of `extension` now; return how many were sent."""
    from appliance.sipedge import rpc
    from appliance.system.models import get_system_settings

    domain = get_system_settings().sip_domain
    text = body(new, old, domain)
    sent = 0
    for contact in contacts(settings, extension):
        # tm adds the From tag (one given here would be doubled).
        headers = (f"From: <sip:{LISTEN_CODE}@{domain}>\r\n"
                   f"To: <sip:{extension}@{domain}>\r\n"
                   f"Call-ID: mwi-{secrets.token_hex(12)}@{domain}\r\n"
                   f"Contact: <sip:{LISTEN_CODE}@{domain}>\r\n"
                   "Event: message-summary\r\n"
                   "Subscription-State: active\r\n"
                   "Content-Type: application/simple-message-summary\r\n")
        try:
            rpc.call(settings, "tm.t_uac_start", "NOTIFY", contact["uri"], contact["next_hop"] or ".",
                     contact["socket"] or ".", headers, text)
            sent += 1
        except SipEdgeError as exc:
            log.warning("MWI NOTIFY to %s (%s) failed: %s", extension, contact["uri"], exc)
    log.info("MWI %s: %d new, %d old, sent to %d phone(s)", extension, new, old, sent)
    return sent


def refresh(settings: Settings, extension: str) -> int:
    """Send `extension`'s phones the current counts now (e.g. once a phone has registered)."""
    from appliance.users.models import User
    from appliance.voicemail import service

    user = User.get_or_none(User.extension == str(extension))
    if user is None:
        return 0
    new, old = service.summary_for(user)
    return send(settings, user.extension, new, old)


def notify_async(settings: Settings, extensions: list[str]) -> None:
    """Queue a refresh of these extensions' phones; the counts are read when it is sent (the latest)."""
    global _thread
    for extension in extensions:
        with _lock:
            if extension in _pending:
                continue
            _pending.add(extension)
        _queue.put((settings, extension))
    with _lock:
        if _thread is None or not _thread.is_alive():
            _thread = threading.Thread(target=_run, name="voicemail-mwi", daemon=True)
            _thread.start()


def _run() -> None:
    while True:
        settings, extension = _queue.get()
        with _lock:
            _pending.discard(extension)
        try:
            refresh(settings, extension)
        except SipEdgeError as exc:
            log.warning("MWI to %s not sent: %s", extension, exc)
        except Exception:  # noqa: BLE001 -- MWI is best effort; the next change sends it again
            log.exception("MWI to %s failed", extension)


class MwiWatcher:
    """Sends a phone its user's counts as soon as it registers (or SUBSCRIBEs, when the edge notes them).

    Polls the edge every `interval_s`: a contact not seen at the last poll (a phone that just
    registered, or came back with a new address) gets a NOTIFY for its extension; so does every
    extension in the edge's htable `mwisub` (filled by a SUBSCRIBE route, if the edge has one;
    without that table nothing is read from it). The first poll refreshes every registered phone
    (counts may have changed while this process was down). Run one per appliance (the web process).
    """

    def __init__(self, settings: Settings, interval_s: float = 3.0):
        self.settings, self.interval_s = settings, interval_s
        self._known: set[tuple[str, str]] | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="voicemail-mwi-watcher", daemon=True)

    def start(self) -> MwiWatcher:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=self.interval_s + 5)

    def poll(self) -> list[str]:
        """One look at the edge; returns the extensions refreshed."""
        from appliance.sipedge import rpc

        current = {(row["extension"], row["contact"]) for row in rpc.registrations(self.settings)}
        known, self._known = self._known, current
        due = {ext for ext, contact in (current if known is None else current - known)}
        try:
            table = rpc.call(self.settings, "htable.dump", "mwisub") or []
        except rpc.RpcFault:
            table = []   # the edge keeps no SUBSCRIBE table
        for slot in table:
            for entry in slot.get("slot", []):
                name = str(entry.get("name", ""))
                if name:
                    due.add(name)
                    try:
                        rpc.call(self.settings, "htable.delete", "mwisub", name)
                    except rpc.RpcFault:
                        pass
        for extension in sorted(due):
            refresh(self.settings, extension)
        return sorted(due)

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.poll()
            except SipEdgeError as exc:
                log.debug("MWI watcher: SIP edge unreachable: %s", exc)
            except Exception:  # noqa: BLE001 -- the watcher must outlive a bad read
                log.exception("MWI watcher failed")
