"""The pjsua2 implementation of `Channel`.

Three layers, each on its own thread:

- `Leg`, `Player`, `WorkerAccount` subclass pjsua2 classes. Their callbacks
  run on pjsua2's worker thread and only post events ("state", "media",
  "dtmf", "eof") into the `Session` of the call; nothing else happens there.
- `Session` holds the legs of one call (the caller's and the ones it
  dialled) and their event queue. `Session.pump()` takes one event and
  applies it to the legs' state (which digits arrived, who hung up, whose
  audio is up), relaying digits between bridged legs. Only the call's
  thread pumps.
- `PjChannel` is the `Channel` the dialplan drives from the call's thread.
  Its blocking methods pump the session until their condition holds; every
  pjsua2 operation they need is run on the pjsua2 thread through
  `PjRuntime.run`, including the creation and release of players and
  recorders (the call thread never holds the last reference to one).
"""

from __future__ import annotations

import collections
import itertools
import logging
import queue
import re
import time
from collections.abc import Callable, Sequence

import pjsua2 as pj

from appliance.callcore.channel import Channel, ChannelError, DialOutcome, DialResult, HungUp
from appliance.callcore.runtime import PjRuntime

log = logging.getLogger(__name__)

MEDIA_WAIT_S = 5.0
HANGUP_WAIT_S = 3.0
_ids = itertools.count(1)

# ---------------------------------------------------------------------------
# SIP message helpers (pure)

HEADER_RE = re.compile(r"^([A-Za-z0-9-]+)\s*:\s*(.*)$")
REQUEST_USER_RE = re.compile(r"^[A-Z]+\s+sips?:([^@;>\s]+)@")
NAME_ADDR_RE = re.compile(r'^\s*(?:"((?:[^"\\]|\\.)*)"|([^<"]*?))\s*<\s*sips?:([^@;>]*)@')
URI_USER_RE = re.compile(r"sips?:([^@;>]*)@")


def parse_invite(whole_msg: str) -> dict:
    """Request-URI user, headers (lower-case names, first value) and the From name and user."""
    lines = whole_msg.split("\r\n")
    m = REQUEST_USER_RE.match(lines[0]) if lines else None
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if not line:
            break
        h = HEADER_RE.match(line)
        if h:
            headers.setdefault(h.group(1).lower(), h.group(2).strip())
    from_value = headers.get("from", headers.get("f", ""))
    fm = NAME_ADDR_RE.match(from_value)
    if fm:
        from_name, from_user = (fm.group(1) or fm.group(2) or "").strip(), fm.group(3)
    else:
        um = URI_USER_RE.search(from_value)
        from_name, from_user = "", (um.group(1) if um else "")
    return {
        "callee": m.group(1) if m else "",
        "headers": headers,
        "from_name": from_name.replace('\\"', '"'),
        "from_user": from_user,
        "call_id": headers.get("call-id", headers.get("i", "")),
    }


def wait_wav_closed(path: str, timeout: float = 3.0) -> bool:
    """True once a recording's WAV header holds its size: pjmedia closes files asynchronously."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with open(path, "rb") as f:
                head = f.read(8)
            if len(head) == 8 and int.from_bytes(head[4:8], "little") > 0:
                return True
        except OSError:
            pass
        time.sleep(0.02)
    log.warning("recording %s not closed after %.0f s", path, timeout)
    return False


def outcome_of(code: int) -> DialOutcome:
    if code in (486, 600):
        return DialOutcome.BUSY
    if code == 408:
        return DialOutcome.NO_ANSWER
    if code in (404, 410, 480, 604):
        return DialOutcome.UNAVAILABLE
    if code == 487:
        return DialOutcome.CANCELLED
    if 200 <= code < 300:
        return DialOutcome.ANSWERED
    return DialOutcome.FAILED


# ---------------------------------------------------------------------------
# pjsua2 subclasses: callbacks post events, nothing more

class WorkerAccount(pj.Account):
    """The worker's only account: receives the calls Kamailio dispatches."""

    def __init__(self, runtime: PjRuntime):
        super().__init__()
        self.runtime = runtime

    def onIncomingCall(self, prm):
        session = Session(self.runtime)
        leg = Leg(self.runtime, session, outgoing=False)
        leg.attach(SipCall(self, leg, prm.callId))
        meta = parse_invite(prm.rdata.wholeMsg)
        self.runtime.add_leg(leg)
        self.runtime.incoming.put((session, leg, meta))


class SipCall(pj.Call):
    """The pjsua2 call of a leg; lives exactly as long as the SIP call.

    It is dropped in its own DISCONNECTED callback, the one moment pjsua2
    allows it: later, its call id may already belong to a new call, and the
    destructor of a late-collected pj.Call hangs up whatever call has its id.
    """

    def __init__(self, account, leg: Leg, call_id=pj.PJSUA_INVALID_ID):
        super().__init__(account, call_id)
        self.leg = leg

    def onCallState(self, prm):
        info = self.getInfo()
        state = {
            pj.PJSIP_INV_STATE_CALLING: "calling", pj.PJSIP_INV_STATE_INCOMING: "incoming",
            pj.PJSIP_INV_STATE_EARLY: "early", pj.PJSIP_INV_STATE_CONNECTING: "connecting",
            pj.PJSIP_INV_STATE_CONFIRMED: "confirmed", pj.PJSIP_INV_STATE_DISCONNECTED: "disconnected",
        }.get(info.state, "calling")
        leg = self.leg
        leg.session.post("state", leg, state=state, code=info.lastStatusCode, reason=info.lastReason)
        if state == "disconnected":
            leg.detach(self)

    def onCallMediaState(self, prm):
        info = self.getInfo()
        active = any(m.type == pj.PJMEDIA_TYPE_AUDIO and m.status == pj.PJSUA_CALL_MEDIA_ACTIVE for m in info.media)
        self.leg.session.post("media", self.leg, active=active)

    def onDtmfDigit(self, prm):
        self.leg.session.post("dtmf", self.leg, digit=prm.digit)


class Leg:
    """One SIP call of a session, as our code sees it (state in Python, pjsua2 call in `call`)."""

    def __init__(self, runtime: PjRuntime, session: Session, outgoing: bool = True):
        self.runtime = runtime
        self.session = session
        self.outgoing = outgoing
        self.uid = next(_ids)
        self.call: SipCall | None = None
        session.legs.append(self)
        # State below is only touched by the call's thread (Session.pump and PjChannel).
        self.state = "calling" if outgoing else "incoming"
        self.code = 0
        self.reason = ""
        self.up = True
        self.early = False           # we sent 183 (incoming) / it sent 18x (outgoing)
        self.rung = False            # we sent 180 (incoming)
        self.media_active = False
        self.answered_at: float | None = None
        self.ended_at: float | None = None
        self.local_hangup = False
        self.digits: collections.deque[str] = collections.deque()
        self.peers: set[Leg] = set()
        self.echo = False
        self.channel: PjChannel | None = None
        self.conference = None       # the appliance.callcore.conference.LocalRoom it is in (pjsua2 thread)
        self.hangup_callbacks: list[Callable] = []
        # pjsua2 objects linked to this leg, touched on the pjsua2 thread only.
        self.players: dict[int, Player] = {}
        self.recorders: dict[int, pj.AudioMediaRecorder] = {}
        # Records what this leg and its peers say (call recording), touched on the pjsua2 thread only.
        self.conversation: pj.AudioMediaRecorder | None = None
        self.uri = ""                # the target of an outgoing leg
        # Digit sequences watched while bridged (call thread): sequence -> callback, and what was keyed.
        self.digit_watch: dict[str, Callable] = {}
        self.keyed = ""

    def attach(self, call: SipCall) -> None:
        self.call = call
        self.runtime.keep_object(call)

    def detach(self, call: SipCall) -> None:
        """The SIP call is over (pjsua2 callback thread): forget it now, see SipCall."""
        self.runtime.leg_ended(self)
        if self.call is call:
            self.call = None
        self.runtime.release(call)

    # -- operations (pjsua2 thread) ---------------------------------------------
    def audio(self) -> pj.AudioMedia | None:
        call = self.call
        if call is None:
            return None
        try:
            info = call.getInfo()
        except pj.Error:
            return None
        for i, m in enumerate(info.media):
            if m.type == pj.PJMEDIA_TYPE_AUDIO and m.status == pj.PJSUA_CALL_MEDIA_ACTIVE:
                try:
                    return call.getAudioMedia(i)
                except pj.Error:
                    return None
        return None

    def relink(self) -> None:
        """(Re)connect everything this leg should hear and feed; idempotent."""
        med = self.audio()
        if med is None:
            return
        for player in self.players.values():
            player.startTransmit(med)
        for rec in self.recorders.values():
            med.startTransmit(rec)
        if self.conversation is not None:
            med.startTransmit(self.conversation)
        if self.echo:
            med.startTransmit(med)
        for peer in self.peers:
            other = peer.audio()
            if other is not None:
                med.startTransmit(other)
                other.startTransmit(med)
                if self.conversation is not None:
                    other.startTransmit(self.conversation)
                if peer.conversation is not None:
                    med.startTransmit(peer.conversation)
        if self.conference is not None:
            self.conference.relink()

    def respond(self, code: int, reason: str | None = None) -> bool:
        """Send a response to the incoming INVITE; False if the call is already gone."""
        call = self.call
        if call is None:
            return False
        prm = pj.CallOpParam()
        prm.statusCode = code
        if reason:
            prm.reason = reason
        try:
            call.answer(prm)
        except pj.Error:
            return False
        return True

    def end(self, code: int | None, reason: str | None) -> None:
        call = self.call
        if call is None:
            return
        prm = pj.CallOpParam()
        if code:
            prm.statusCode = code
        if reason:
            prm.reason = reason
        try:
            call.hangup(prm)
        except pj.Error:
            log.debug("hangup of a leg already gone")

    def send_digits(self, digits: str) -> None:
        call = self.call
        if call is None:
            return
        prm = pj.CallSendDtmfParam()
        prm.digits = digits
        prm.method = pj.PJSUA_DTMF_METHOD_RFC2833
        try:
            call.sendDtmf(prm)
        except pj.Error:
            log.debug("digits %s not relayed (no telephone-event on this leg)", digits)

    def is_active(self) -> bool:
        call = self.call
        return call is not None and call.isActive()

    def add_player(self, path: str, loop: bool) -> int:
        player = Player(self)
        player.createPlayer(path, 0 if loop else pj.PJMEDIA_FILE_NO_LOOP)
        self.players[player.uid] = player
        self.relink()
        return player.uid

    def remove_players(self, uids: Sequence[int] | None = None) -> None:
        for uid in list(self.players if uids is None else uids):
            player = self.players.pop(uid, None)
            if player is not None:
                player.closed = True  # its destructor (now) destroys the pjmedia port

    def add_recorder(self, path: str) -> int:
        rec = pj.AudioMediaRecorder()
        rec.createRecorder(path)
        uid = next(_ids)
        self.recorders[uid] = rec
        self.relink()
        return uid

    def remove_recorder(self, uid: int) -> None:
        rec = self.recorders.pop(uid, None)
        med = self.audio()
        if rec is not None and med is not None:
            try:
                med.stopTransmit(rec)
            except pj.Error:
                pass
        del rec  # closes the WAV file

    def start_conversation(self, path: str) -> None:
        rec = pj.AudioMediaRecorder()
        rec.createRecorder(path)
        self.conversation = rec
        self.relink()

    def stop_conversation(self) -> None:
        rec, self.conversation = self.conversation, None
        if rec is None:
            return
        for leg in (self, *self.peers):
            med = leg.audio()
            if med is not None:
                try:
                    med.stopTransmit(rec)
                except pj.Error:
                    pass
        del rec  # closes the WAV file

    def unlink_peer(self, peer: Leg) -> None:
        med, other = self.audio(), peer.audio()
        if med is not None and other is not None:
            for a, b in ((med, other), (other, med)):
                try:
                    a.stopTransmit(b)
                except pj.Error:
                    pass

    def stop_echo(self) -> None:
        med = self.audio()
        if med is not None:
            try:
                med.stopTransmit(med)
            except pj.Error:
                pass


class Player(pj.AudioMediaPlayer):
    def __init__(self, leg: Leg):
        super().__init__()
        self.leg = leg
        self.uid = next(_ids)
        self.closed = False

    def onEof2(self):
        if not self.closed:
            self.leg.session.post("eof", self.leg, player=self.uid)


# ---------------------------------------------------------------------------
# Session: one call's legs and events

class Session:
    def __init__(self, runtime: PjRuntime):
        self.runtime = runtime
        self.events: queue.Queue = queue.Queue()
        self.legs: list[Leg] = []
        self.finished_players: set[int] = set()
        self.last_dial: DialResult | None = None

    def post(self, kind: str, leg: Leg, **data) -> None:
        self.events.put((kind, leg, data))

    def pump(self, timeout: float) -> bool:
        """Apply the next event to the legs' state (call thread). False on timeout."""
        try:
            kind, leg, data = self.events.get(timeout=max(0.0, timeout))
        except queue.Empty:
            return False
        if kind == "state":
            self._on_state(leg, data)
        elif kind == "media":
            leg.media_active = data["active"]
            if leg.media_active:
                self.runtime.post(leg.relink)
        elif kind == "dtmf":
            live_peers = [p for p in leg.peers if p.up]
            if live_peers:
                for peer in live_peers:
                    self.runtime.post(peer.send_digits, data["digit"])
                self._watch_digits(leg, data["digit"])
            else:
                leg.digits.append(data["digit"])
        elif kind == "eof":
            self.finished_players.add(data["player"])
        return True

    @staticmethod
    def _watch_digits(leg: Leg, digit: str) -> None:
        if not leg.digit_watch:
            return
        leg.keyed = (leg.keyed + digit)[-8:]
        for sequence, callback in leg.digit_watch.items():
            if leg.keyed.endswith(sequence):
                leg.keyed = ""
                try:
                    callback(leg.channel)
                except Exception:
                    log.exception("digit sequence %s: callback failed", sequence)
                break

    def _on_state(self, leg: Leg, data: dict) -> None:
        if not leg.up:
            return
        leg.state, leg.code, leg.reason = data["state"], data["code"], data["reason"]
        if leg.state == "early" and leg.outgoing:
            leg.early = True
        if leg.state == "confirmed" and leg.answered_at is None:
            leg.answered_at = time.time()
        if leg.state == "disconnected":
            leg.up = False
            leg.media_active = False
            leg.ended_at = time.time()
            for peer in leg.peers:
                peer.peers.discard(leg)
            for callback in leg.hangup_callbacks:
                try:
                    callback(leg.channel)
                except Exception:
                    log.exception("hang-up callback failed")

    def release(self) -> None:
        """End what is still up and forget every pjsua2 object of the call (pjsua2 thread)."""
        for leg in self.legs:
            if leg.conference is not None:
                self.runtime.conference_links().leave_now(leg)
            leg.remove_players()
            for uid in list(leg.recorders):
                leg.remove_recorder(uid)
            leg.stop_conversation()
            leg.peers.clear()
            if leg.is_active():
                leg.end(503 if not leg.outgoing and leg.answered_at is None else None, None)


def new_outgoing_leg(runtime: PjRuntime, session: Session, uri: str, headers: dict[str, str]) -> Leg:
    """pjsua2 thread: INVITE `uri` (through Kamailio) as a new outgoing leg of `session`.

    Shared by `PjChannel.dial` (B-legs of a call) and by calls the appliance
    places itself with no incoming leg (appliance.callcore.originate).
    """
    leg = Leg(runtime, session, outgoing=True)
    leg.uri = uri
    leg.attach(SipCall(runtime.account, leg))
    prm = pj.CallOpParam(True)
    for name, value in headers.items():
        header = pj.SipHeader()
        header.hName = name
        header.hValue = value
        prm.txOption.headers.append(header)
    try:
        leg.call.makeCall(uri, prm)
    except pj.Error:
        session.legs.remove(leg)
        runtime.release(leg.call)
        leg.call = None
        raise
    runtime.add_leg(leg)
    return leg


# ---------------------------------------------------------------------------
# The Channel

def fork_at_edge(targets: list[str]) -> tuple[list[str], str]:
    """Several users of one domain ring through ONE leg that Kamailio forks (header X-AP-Also).

    A worker holds 4 legs, so a ring-all group of 10 must not cost 10 legs:
    the edge appends a branch per user and rings them all (route[FROM_WORKER]);
    the first to answer wins and Kamailio cancels the others.
    """
    if len(targets) < 2:
        return targets, ""
    users, hosts = [], set()
    for uri in targets:
        scheme, _, rest = uri.partition(":")
        user, _, host = rest.partition("@")
        if scheme != "sip" or not user.isdigit() or not host:
            return targets, ""
        users.append(user)
        hosts.add(host)
    if len(hosts) != 1:
        return targets, ""
    return [targets[0]], ",".join(users[1:])


class PjChannel(Channel):
    def __init__(self, session: Session, leg: Leg, caller: str, caller_name: str, callee: str,
                 call_id: str, language: str = "en", trunk: str = "", headers: dict | None = None):
        self.session = session
        self.trunk = trunk
        self.headers = headers or {}
        self.runtime = session.runtime
        self.leg = leg
        leg.channel = self
        self.caller = caller
        self.caller_name = caller_name
        self.callee = callee
        self.call_id = call_id
        self.language = language
        self.answer_callbacks: list[Callable[[Channel], None]] = []
        self.bridged_callbacks: list[Callable[[Channel, DialResult], None]] = []
        self.recording_path = ""

    def __repr__(self) -> str:
        return f"<PjChannel {self.caller}->{self.callee} {self.leg.state}>"

    # -- waiting ---------------------------------------------------------------
    def _wait(self, done: Callable[[], bool], timeout: float | None, hangup_raises: bool = True) -> bool:
        deadline = None if timeout is None else time.monotonic() + timeout
        while not done():
            if not self.leg.up:
                if hangup_raises:
                    raise HungUp(self)
                return False
            left = 0.5 if deadline is None else min(0.5, deadline - time.monotonic())
            if left <= 0:
                return False
            self.session.pump(left)
        return True

    def _require_up(self) -> None:
        while self.session.pump(0):
            pass
        if not self.leg.up:
            raise HungUp(self)

    # -- call control ------------------------------------------------------------
    @property
    def is_up(self) -> bool:
        return self.leg.up

    @property
    def answered(self) -> bool:
        return self.leg.answered_at is not None

    def on_hangup(self, callback: Callable[[Channel], None]) -> None:
        self.leg.hangup_callbacks.append(callback)

    def on_answer(self, callback: Callable[[Channel], None]) -> None:
        """Call `callback(channel)` in the call's thread when the caller's leg is answered."""
        self.answer_callbacks.append(callback)

    def _respond(self, code: int) -> None:
        if not self.runtime.run(self.leg.respond, code):
            self._wait(lambda: False, HANGUP_WAIT_S)  # raises HungUp once its end is seen
            raise HungUp(self)

    def ring(self) -> None:
        self._require_up()
        if self.leg.outgoing or self.leg.rung or self.leg.early or self.answered:
            return
        self._respond(180)
        self.leg.rung = True

    def early_media(self) -> None:
        self._require_up()
        if self.leg.outgoing or self.leg.early or self.answered:
            return
        self._respond(183)
        self.leg.early = True
        self._wait(lambda: self.leg.media_active, MEDIA_WAIT_S)

    def answer(self) -> None:
        self._require_up()
        if self.answered:
            return
        self._respond(200)
        self.leg.answered_at = time.time()
        for callback in self.answer_callbacks:
            callback(self)
        self._wait(lambda: self.leg.media_active, MEDIA_WAIT_S)

    def hangup(self, code: int | None = None, reason: str | None = None) -> None:
        while self.session.pump(0):
            pass
        if not self.leg.up:
            return
        if code is None and not self.answered and not self.leg.outgoing:
            code = 480
        self.leg.local_hangup = True
        self.runtime.run(self.leg.end, code, reason)
        self._wait(lambda: not self.leg.up, HANGUP_WAIT_S, hangup_raises=False)

    def wait_hangup(self, timeout: float | None = None) -> Channel | None:
        watched = (self.leg, *self.leg.peers)

        def gone() -> Leg | None:
            for leg in watched:
                if not leg.up:
                    return leg
            return None

        deadline = None if timeout is None else time.monotonic() + timeout
        while gone() is None:
            left = 0.5 if deadline is None else min(0.5, deadline - time.monotonic())
            if left <= 0:
                return None
            self.session.pump(left)
        return gone().channel

    # -- media -----------------------------------------------------------------
    def _require_media(self) -> None:
        self._require_up()
        if not self.leg.media_active:
            self._wait(lambda: self.leg.media_active, 1.0)
        if not self.leg.media_active:
            raise ChannelError("no audio on this leg yet: call answer() or early_media() first")

    def play(self, path: str, loop: bool = False, wait: bool = True, stop_on_digit: bool = False) -> None:
        if loop and wait:
            raise ChannelError("a looping play never ends: use wait=False and stop_playing()")
        self._require_media()
        if stop_on_digit and self.leg.digits:
            return  # typed ahead: the caller already answered this prompt
        uid = self.runtime.run(self.leg.add_player, str(path), loop)
        if not wait:
            return
        digits_before = len(self.leg.digits)
        try:
            self._wait(lambda: uid in self.session.finished_players
                       or (stop_on_digit and len(self.leg.digits) > digits_before), None)
        finally:
            self.session.finished_players.discard(uid)
            self.runtime.run(self.leg.remove_players, [uid])

    def stop_playing(self) -> None:
        self.runtime.run(self.leg.remove_players, None)

    def collect_digits(self, max_digits: int, timeout: float, terminator: str = "#") -> str:
        collected = ""
        while len(collected) < max_digits:
            if not self.leg.digits:
                self._wait(lambda: bool(self.leg.digits), timeout)
                if not self.leg.digits:
                    break
            digit = self.leg.digits.popleft()
            if terminator and digit in terminator:
                break
            collected += digit
        return collected

    def record(self, path: str, max_seconds: float, stop_digits: str = "#") -> float:
        self._require_media()
        self.leg.digits.clear()
        uid = self.runtime.run(self.leg.add_recorder, str(path))
        started = time.monotonic()
        try:
            self._wait(lambda: any(d in stop_digits for d in self.leg.digits), max_seconds, hangup_raises=False)
        finally:
            self.runtime.run(self.leg.remove_recorder, uid)
            elapsed = time.monotonic() - started
            wait_wav_closed(str(path))
        return elapsed

    def echo(self, max_seconds: float | None = None) -> None:
        self._require_media()
        self.leg.echo = True
        self.runtime.run(self.leg.relink)
        try:
            self._wait(lambda: False, max_seconds, hangup_raises=False)
        finally:
            self.leg.echo = False
            if self.leg.up:
                self.runtime.run(self.leg.stop_echo)

    def start_recording(self, path: str) -> None:
        if self.recording_path:
            raise ChannelError(f"already recording into {self.recording_path}")
        self._require_up()
        self.runtime.run(self.leg.start_conversation, str(path))
        self.recording_path = str(path)

    def stop_recording(self) -> bool:
        path, self.recording_path = self.recording_path, ""
        if not path:
            return False
        self.runtime.run(self.leg.stop_conversation)
        wait_wav_closed(path)
        return True

    @property
    def is_recording(self) -> bool:
        return bool(self.recording_path)

    # -- more legs ----------------------------------------------------------------
    def on_bridged(self, callback: Callable[[Channel, DialResult], None]) -> None:
        self.bridged_callbacks.append(callback)

    def on_digits(self, sequence: str, callback: Callable[[Channel], None]) -> None:
        self.leg.digit_watch[sequence] = callback

    def bridge(self, other: Channel) -> None:
        assert isinstance(other, PjChannel) and other.session is self.session, "bridge within one call only"
        self.leg.peers.add(other.leg)
        other.leg.peers.add(self.leg)
        self.runtime.run(self.leg.relink)

    def unbridge(self, other: Channel) -> None:
        assert isinstance(other, PjChannel)
        self.leg.peers.discard(other.leg)
        other.leg.peers.discard(self.leg)
        self.runtime.run(self.leg.unlink_peer, other.leg)

    # -- conference rooms (appliance.callcore.conference) ------------------------------
    @property
    def worker(self) -> str:
        return self.runtime.name

    def conference_enter(self, room_id: int) -> None:
        self._require_media()
        self.runtime.conference_links().enter(self.leg, room_id, self.call_id)

    def conference_leave(self) -> None:
        if self.leg.conference is not None:
            self.runtime.conference_links().leave(self.leg)

    def conference_play(self, room_id: int, path: str, wait: bool = True) -> None:
        links = self.runtime.conference_links()
        player = links.play(room_id, str(path))
        if player is None or not wait:
            return
        deadline = time.monotonic() + 10.0
        while not player.done and time.monotonic() < deadline:
            time.sleep(0.05)
        links.stop_player(player)

    def conference_refresh(self, room_id: int) -> None:
        self.runtime.conference_links().refresh(room_id)

    def _originate(self, uri: str, headers: dict[str, str]) -> Leg:
        """pjsua2 thread: a new outgoing leg of this call."""
        return new_outgoing_leg(self.runtime, self.session, uri, headers)

    def dial(self, target_uri: str | Sequence[str], timeout: float, caller_name: str = "",
             caller_number: str = "", wait_end: bool = True, headers: dict[str, str] | None = None) -> DialResult:
        targets = [target_uri] if isinstance(target_uri, str) else list(target_uri)
        result = self._dial(targets, timeout, caller_name, caller_number, headers or {})
        self.session.last_dial = result
        if result.answered and wait_end:
            started = result.peer.leg.answered_at or time.time()
            gone = self.wait_hangup()
            result.ended_by = "caller" if gone is self else "peer"
            result.talk_seconds = time.time() - started
        return result

    def _dial(self, targets: list[str], timeout: float, caller_name: str, caller_number: str,
              extra_headers: dict[str, str]) -> DialResult:
        while self.session.pump(0):
            pass
        if not self.leg.up:
            return DialResult(DialOutcome.CANCELLED, 487, "Request Terminated")
        # No number to present (a caller who withheld it): the edge leaves the From as it is.
        headers = {"X-AP-Caller-Name": caller_name or caller_number, "X-AP-Caller-Number": caller_number,
                   **extra_headers} if caller_number else dict(extra_headers)
        targets, also = fork_at_edge(targets)
        if also:
            headers["X-AP-Also"] = also
        legs: list[Leg] = []
        for uri in targets:
            try:
                legs.append(self.runtime.run(self._originate, uri, headers))
            except pj.Error as exc:
                log.warning("cannot call %s: %s", uri, getattr(exc, "reason", exc))
        if not legs:
            return DialResult(DialOutcome.FAILED, 503, "No free call slot")
        deadline = time.monotonic() + timeout
        while True:
            answered = next((leg for leg in legs if leg.up and leg.state == "confirmed"), None)
            if answered is not None:
                return self._connect(answered, legs)
            if not self.leg.up:
                self._cancel(legs)
                return DialResult(DialOutcome.CANCELLED, 487, "Request Terminated")
            self._relay_progress(legs)
            if all(not leg.up for leg in legs):
                final = legs[-1]
                return DialResult(outcome_of(final.code), final.code, final.reason)
            left = deadline - time.monotonic()
            if left <= 0:
                self._cancel(legs)
                return DialResult(DialOutcome.NO_ANSWER, 408, "No Answer")
            self.session.pump(min(0.5, left))

    def _relay_progress(self, legs: list[Leg]) -> None:
        """Ringing and early media of the dialled legs, passed on to this leg."""
        for leg in legs:
            if not leg.up or leg.state != "early":
                continue
            if leg.media_active and self.leg.peers.isdisjoint([leg]):
                if not self.leg.early and not self.answered:
                    self.early_media()
                self.leg.peers.add(leg)
                leg.peers.add(self.leg)
                self.runtime.run(self.leg.relink)
            elif leg.code != 183 and not self.leg.rung and not self.leg.early and not self.answered:
                # 183 is followed at once by its media event: relayed as early media then.
                self.ring()

    def _cancel(self, legs: list[Leg]) -> None:
        for leg in legs:
            if leg.up:
                leg.local_hangup = True
                self.runtime.run(leg.end, None, None)
        deadline = time.monotonic() + HANGUP_WAIT_S
        while any(leg.up for leg in legs) and time.monotonic() < deadline:
            self.session.pump(0.2)
        for leg in legs:
            self.leg.peers.discard(leg)

    def _connect(self, answered: Leg, legs: list[Leg]) -> DialResult:
        self._cancel([leg for leg in legs if leg is not answered])
        peer = PjChannel(self.session, answered, self.caller, self.caller_name, self.callee,
                         call_id=f"{self.call_id}-{answered.uid}", language=self.language)
        if not self.answered:
            try:
                self.answer()
            except HungUp:
                self._cancel([answered])
                return DialResult(DialOutcome.CANCELLED, 487, "Request Terminated")
        self.bridge(peer)
        result = DialResult(DialOutcome.ANSWERED, 200, "OK", peer=peer, target=answered.uri)
        for callback in self.bridged_callbacks:
            try:
                callback(self, result)
            except HungUp:
                break
            except Exception:
                log.exception("call %s: bridged callback failed", self.call_id)
        return result
