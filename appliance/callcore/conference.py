"""Conference rooms in the call core: one bridge per worker, workers linked by a mesh of PCM streams.

A worker holds at most 4 legs, a room holds up to 200 participants, so a
room is spread over every worker that holds one of its participants. On
each such worker the room is a `LocalRoom`:

- the local participants hear each other through the worker's pjmedia
  conference bridge (one bridge);
- an `OutPort` (a Python pjsua2 AudioMediaPort) receives the bridge's mix of
  the local, unmuted participants every 20 ms and sends it, as one Unix
  datagram, to each other worker of the room (its peers);
- an `InPort` plays, every 20 ms, the sum of the latest frame received from
  each peer into the bridge, connected to every local participant.

So audio from any participant reaches any other through exactly two
bridges (its own worker's and the listener's), and nobody hears themselves:
a worker sends only its own participants' mix, never what it received.
No call slot is spent on links. Measured (docs/NOTES.md, benchmarks/
RESULTS.md): a link adds the wait for the receiver's next 20 ms tick
(median ~8-13 ms, at most 20 ms + 2 queued frames); each port costs its
worker one Python callback per frame (~60-130 us). A worker whose
participants are silent sends nothing.

Peers are found through the store: every participant is a row naming its
worker (appliance.conference), and whoever changes a room tells its
workers (appliance.conference.live.notify); each worker also re-reads its
rooms every second.

Threads: ports' callbacks run on pjmedia's clock thread and only copy bytes
(no store, no logging); `rx` receives datagrams; `control` reads the store
and hands the result to the pjsua2 thread, which alone touches the bridge.
"""

from __future__ import annotations

import collections
import ctypes
import logging
import queue
import socket
import threading
import time

import numpy as np
import pjsua2 as pj

from appliance.conference import live

log = logging.getLogger(__name__)

FRAME_BYTES = 640          # 20 ms of 16 kHz 16-bit mono: the workers' bridge format
JITTER_FRAMES = 2          # frames kept per peer beyond the one played: bounds the added latency
REFRESH_S = 1.0
RECENT_JOIN_S = 3.0        # a member this recent is never taken for a removed one
# A worker whose local mix stays below SILENCE_PEAK (-54 dBFS) for HANGOVER_FRAMES sends nothing:
# the links carry only the workers where someone speaks, not N x (N - 1) streams of silence.
SILENCE_PEAK = 64
HANGOVER_FRAMES = 10
GRAVE_S = 2.0              # a closed room's ports live on this long (pjmedia removes them asynchronously)


def _vector_span(vec) -> tuple[int, int]:
    """(data address, size) of a pjsua2 ByteVector (std::vector<unsigned char>: begin, end pointers).

    Converting a ByteVector element by element costs ~1.4 ms per 20 ms frame;
    reading its storage costs microseconds.
    """
    words = ctypes.cast(int(vec.this), ctypes.POINTER(ctypes.c_void_p))
    begin, end = words[0] or 0, words[1] or 0
    return begin, end - begin


def audio_format() -> pj.MediaFormatAudio:
    fmt = pj.MediaFormatAudio()
    fmt.type = pj.PJMEDIA_TYPE_AUDIO
    fmt.clockRate = 16000
    fmt.channelCount = 1
    fmt.bitsPerSample = 16
    fmt.frameTimeUsec = 20000
    return fmt


class OutPort(pj.AudioMediaPort):
    """Receives the mix of this worker's participants of a room; sends it to the room's other workers."""

    def __init__(self, sock: socket.socket, header: bytes):
        super().__init__()
        self.sock = sock
        self.header = header
        self.peers: tuple = ()    # abstract socket addresses, replaced whole by the pjsua2 thread
        self.sent = 0
        self.quiet = HANGOVER_FRAMES  # frames since the local mix was last above SILENCE_PEAK

    def onFrameReceived(self, frame):
        peers = self.peers
        if not peers or frame.type != pj.PJMEDIA_FRAME_TYPE_AUDIO:
            return
        address, size = _vector_span(frame.buf)
        if size != FRAME_BYTES:
            return
        pcm = ctypes.string_at(address, size)
        samples = np.frombuffer(pcm, dtype="<i2")
        if samples.max() < SILENCE_PEAK and samples.min() > -SILENCE_PEAK:
            if self.quiet >= HANGOVER_FRAMES:
                return  # nobody here speaks: the other workers play nothing from us
            self.quiet += 1
        else:
            self.quiet = 0
        data = self.header + pcm
        for peer in peers:
            try:
                self.sock.sendto(data, peer)
            except OSError:
                pass
        self.sent += 1


class InPort(pj.AudioMediaPort):
    """Plays into the bridge the sum of the latest frame of each peer worker."""

    def __init__(self):
        super().__init__()
        self.inbox: dict[int, collections.deque] = {}
        self.vec = pj.ByteVector(bytes(FRAME_BYTES))
        self.played = 0
        self.underruns = 0

    def onFrameRequested(self, frame):
        chunks = []
        for box in list(self.inbox.values()):
            while len(box) > JITTER_FRAMES:
                box.popleft()
            if box:
                chunks.append(box.popleft())
        if not chunks:
            frame.type = pj.PJMEDIA_FRAME_TYPE_NONE
            frame.size = 0
            self.underruns += 1
            return
        if len(chunks) == 1:
            data = chunks[0]
        else:
            total = np.sum([np.frombuffer(c, dtype="<i2") for c in chunks], axis=0, dtype=np.int32)
            peak = int(np.abs(total).max())
            if peak > 32767:  # scaled down, not clipped: clipping would add frequencies nobody played
                total = total * (32767 / peak)
            data = total.astype("<i2").tobytes()
        address, _ = _vector_span(self.vec)
        ctypes.memmove(address, data, FRAME_BYTES)
        frame.type = pj.PJMEDIA_FRAME_TYPE_AUDIO
        frame.buf = self.vec
        frame.size = FRAME_BYTES
        self.played += 1


class TonePlayer(pj.AudioMediaPlayer):
    def __init__(self, room: LocalRoom):
        super().__init__()
        self.room = room
        self.done = False

    def onEof2(self):
        self.done = True


class Member:
    __slots__ = ("call_id", "muted", "entered", "leaving")

    def __init__(self, call_id: str):
        self.call_id = call_id
        self.muted = False
        self.leaving = False  # being taken out: its connections are undone, none made
        self.entered = time.monotonic()


class LocalRoom:
    """This worker's part of one room (pjsua2 thread only, but for the ports' own callbacks)."""

    def __init__(self, links: ConferenceLinks, room_id: int):
        self.links = links
        self.room_id = room_id
        fmt = audio_format()
        self.out = OutPort(links.tx, live.AUDIO_HEADER.pack(live.AUDIO, room_id, links.index))
        self.out.createPort(f"conf{room_id}-out", fmt)
        self.inp = InPort()
        self.inp.createPort(f"conf{room_id}-in", fmt)
        self.members: dict = {}         # Leg -> Member
        self.players: list[TonePlayer] = []
        self.edges: set[tuple[int, int]] = set()
        self.peers: list[int] = []

    def relink(self) -> None:
        """Connect what should be connected, disconnect the rest (idempotent)."""
        objects: dict[int, object] = {}
        ports: dict = {}
        for leg in self.members:
            media = leg.audio()
            if media is not None:
                ports[leg] = media.getPortId()
                objects[ports[leg]] = media
        in_id, out_id = self.inp.getPortId(), self.out.getPortId()
        objects[in_id], objects[out_id] = self.inp, self.out
        self.players = [p for p in self.players if not p.done]
        want: set[tuple[int, int]] = set()
        for player in self.players:
            pid = player.getPortId()
            objects[pid] = player
            want.add((pid, out_id))
            want.update((pid, port) for port in ports.values())
        talking = {leg: port for leg, port in ports.items() if not self.members[leg].leaving}
        for leg, port in talking.items():
            want.add((in_id, port))
            if not self.members[leg].muted:
                want.add((port, out_id))
                want.update((port, other) for other_leg, other in talking.items() if other_leg is not leg)
        for src, dst in self.edges - want:
            if src in objects and dst in objects:  # a port already gone took its connections with it
                try:
                    objects[src].stopTransmit(objects[dst])
                except pj.Error:
                    pass
        for src, dst in want - self.edges:
            try:
                objects[src].startTransmit(objects[dst])
            except pj.Error as exc:
                log.warning("conference %d: cannot connect %d -> %d: %s", self.room_id, src, dst, exc.info())
                want.discard((src, dst))
        self.edges = want

    def apply(self, peers: list[int], muted: set[str], present: set[str], read_at: float) -> list:
        """The store's view of the room (pjsua2 thread); returns the legs whose participant was removed."""
        if peers != self.peers:
            self.peers = peers
            self.out.peers = tuple(live.address(self.links.settings, index) for index in peers)
            for sender in list(self.inp.inbox):
                if sender not in peers:
                    self.inp.inbox.pop(sender, None)
            for sender in peers:
                self.inp.inbox.setdefault(sender, collections.deque(maxlen=8))
        removed = []
        for leg, member in self.members.items():
            if member.call_id not in present:
                if member.entered < read_at - RECENT_JOIN_S:
                    removed.append(leg)
                continue
            member.muted = member.call_id in muted
        self.relink()
        return removed

    def play(self, path: str) -> TonePlayer:
        player = TonePlayer(self)
        player.createPlayer(path, pj.PJMEDIA_FILE_NO_LOOP)
        self.players.append(player)
        self.relink()
        return player

    def close(self) -> None:
        """Disconnect everything; the ports are destroyed later (`ConferenceLinks.bury`).

        pjmedia removes a port from its bridge asynchronously (on the clock thread's
        next tick): a Python port destroyed at once could still be called back.
        """
        self.members.clear()
        self.players = [p for p in self.players if not p.done]
        self.relink()
        self.out.peers = ()
        self.links.graveyard.append((time.monotonic(), self.out, self.inp, self.players))
        self.players = []
        self.edges.clear()
        self.out = self.inp = None


class ConferenceLinks:
    """One per worker: its rooms, the socket other workers send to, the rx and control threads."""

    def __init__(self, runtime):
        self.runtime = runtime
        self.settings = runtime.settings
        self.index = runtime.index
        self.name = runtime.name
        self.rooms: dict[int, LocalRoom] = {}
        self.rx = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.rx.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        self.rx.bind(live.address(self.settings, self.index))
        self.tx = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.tx.setblocking(False)  # a slow peer loses frames, never stalls the clock thread
        self.requests: queue.Queue = queue.Queue()
        self.closed = False
        self.graveyard: list[tuple] = []  # (closed at, ports...) of rooms closed here, destroyed later
        threading.Thread(target=self._receive, name="conf-rx", daemon=True).start()
        threading.Thread(target=self._control, name="conf-control", daemon=True).start()

    # -- call threads ---------------------------------------------------------------
    def enter(self, leg, room_id: int, call_id: str) -> None:
        self.runtime.run(self._enter, leg, room_id, call_id)
        self.requests.put(room_id)

    def leave(self, leg) -> None:
        self.runtime.run(self._leave, leg)

    def play(self, room_id: int, path: str) -> TonePlayer | None:
        room = self.rooms.get(room_id)
        return None if room is None else self.runtime.run(room.play, path)

    def stop_player(self, player: TonePlayer) -> None:
        def stop():
            player.done = True
            room = player.room
            if room.out is not None:
                room.relink()
        self.runtime.run(stop)

    def refresh(self, room_id: int) -> None:
        self.requests.put(room_id)

    # -- pjsua2 thread ----------------------------------------------------------------
    def _enter(self, leg, room_id: int, call_id: str) -> None:
        room = self.rooms.get(room_id)
        if room is None:
            room = self.rooms[room_id] = LocalRoom(self, room_id)
        room.members[leg] = Member(call_id)
        leg.conference = room
        room.relink()

    def leave_now(self, leg) -> None:
        """On the pjsua2 thread (a call's release)."""
        self._leave(leg)

    def _leave(self, leg) -> None:
        room = getattr(leg, "conference", None)
        if room is None:
            return
        leg.conference = None
        member = room.members.get(leg)
        if member is not None:
            member.leaving = True
            room.relink()  # undo its connections while its port is still known
        room.members.pop(leg, None)
        if room.members:
            room.relink()
        else:
            room.close()
            self.rooms.pop(room.room_id, None)

    def bury(self, everything: bool = False) -> None:
        """Destroy the ports of rooms closed a while ago (pjsua2 thread)."""
        limit = time.monotonic() - GRAVE_S
        self.graveyard = [] if everything else [g for g in self.graveyard if g[0] > limit]

    def close(self) -> None:
        """Worker stopping (pjsua2 thread): remove every port from the bridge."""
        self.closed = True
        for room in list(self.rooms.values()):
            room.close()
        self.rooms.clear()
        time.sleep(0.1)  # the clock thread's next ticks remove them
        self.bury(everything=True)

    # -- rx thread: datagrams from the other workers and notices -------------------------------
    def _receive(self) -> None:
        header = live.AUDIO_HEADER
        rooms = self.rooms
        while not self.closed:
            try:
                data = self.rx.recv(2048)
            except OSError:
                return
            kind = data[:1]
            if kind == live.AUDIO and len(data) == header.size + FRAME_BYTES:
                _, room_id, sender = header.unpack_from(data)
                room = rooms.get(room_id)
                if room is not None and room.inp is not None:
                    box = room.inp.inbox.get(sender)
                    if box is not None:
                        box.append(data[header.size:])
            elif kind == live.CONTROL and len(data) == live.CONTROL_MESSAGE.size:
                self.requests.put(live.CONTROL_MESSAGE.unpack(data)[1])

    # -- control thread: the store's view of each room ---------------------------------------------
    def _control(self) -> None:
        while not self.closed:
            wanted: set[int] = set()
            try:
                wanted.add(self.requests.get(timeout=REFRESH_S))
                while True:
                    wanted.add(self.requests.get_nowait())
            except queue.Empty:
                pass
            if not wanted:
                wanted = set(self.rooms)
                if self.graveyard:
                    self.runtime.post(self.bury)
            for room_id in wanted:
                if room_id in self.rooms:
                    try:
                        self._refresh(room_id)
                    except Exception:
                        log.exception("%s: refreshing conference %d failed", self.name, room_id)

    def _refresh(self, room_id: int) -> None:
        from appliance.conference.models import ConferenceParticipant

        read_at = time.monotonic()
        rows = list(ConferenceParticipant.select(ConferenceParticipant.call_id, ConferenceParticipant.worker,
                                                 ConferenceParticipant.muted)
                    .where(ConferenceParticipant.room == room_id).tuples())
        peers = sorted({live.worker_index(w) for _, w, _ in rows if w != self.name} - {None})
        muted = {c for c, _, m in rows if m}
        present = {c for c, _, _ in rows}

        def apply():
            room = self.rooms.get(room_id)
            if room is None:
                return []
            return room.apply(peers, muted, present, read_at)

        for leg in self.runtime.run(apply):
            log.info("%s: participant %s removed from conference %d: hanging up", self.name,
                     getattr(leg.channel, "caller", "?"), room_id)
            leg.local_hangup = True
            self.runtime.run(leg.end, None, None)

    # -- figures (benchmarks) ---------------------------------------------------------------------
    def stats(self) -> dict:
        return {room_id: {"members": len(room.members), "peers": list(room.peers),
                          "sent": room.out.sent if room.out else 0,
                          "played": room.inp.played if room.inp else 0}
                for room_id, room in list(self.rooms.items())}
