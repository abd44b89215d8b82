"""One pjsua2 Endpoint per worker process, owned by one thread.

`PjRuntime` starts a thread ("the pjsua2 thread") that creates the
Endpoint, its UDP transport and the worker's single local account, then
runs every pjsua2 operation the calls ask for (`run(fn)` waits for the
result, `post(fn)` does not). pjsua2's own worker thread (threadCnt=1:
measured cheaper than polling) delivers the callbacks; those only turn
pjsua2 events into our events (see legs.py), never touch the store.

pjsua2 objects (calls, players, recorders) are created and released on
the pjsua2 thread; the runtime keeps a reference to every live one, since
a Python wrapper collected too early would destroy the C++ object under
pjsua2's feet.
"""

from __future__ import annotations

import concurrent.futures
import logging
import queue
import threading
from collections.abc import Callable
from typing import Any

import pjsua2 as pj

from appliance.settings import Settings

log = logging.getLogger(__name__)

MAX_LEGS = 4  # client builds of pjsua2: maxCalls above 4 is cut to 4
CODECS = ("PCMA/8000", "PCMU/8000", "G722/16000")
CLOCK_RATE = 16000


class PjRuntime:
    def __init__(self, settings: Settings, index: int):
        self.settings = settings
        self.index = index
        self.name = f"w{index}"
        self.port = settings.worker_sip_port(index)
        self._ops: queue.Queue = queue.Queue()
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self.thread = threading.Thread(target=self._main, name=f"pjsua2-{self.name}", daemon=True)
        self.ep: pj.Endpoint | None = None
        self.account: Any = None
        # Live pjsua2 objects, kept here so they are never collected behind pjsua2's back.
        self.legs: set = set()       # legs not yet disconnected: what counts against MAX_LEGS
        self.keep: set = set()       # every pjsua2 object still referenced by a call
        self._legs_lock = threading.Lock()
        self.legs_changed = threading.Condition()
        self.legs_version = 0
        # New calls: (session, leg, meta) tuples put by the account's onIncomingCall.
        self.incoming: queue.Queue = queue.Queue()
        self._registered = threading.local()
        self.links = None  # appliance.callcore.conference.ConferenceLinks, made on first use
        self._links_lock = threading.Lock()

    # -- lifecycle ------------------------------------------------------------
    def start(self, timeout: float = 20) -> None:
        self.thread.start()
        if not self._ready.wait(timeout):
            raise RuntimeError("pjsua2 endpoint did not start")
        if self._error:
            raise self._error

    def _main(self) -> None:
        try:
            self._create_endpoint()
        except BaseException as exc:  # reported to start()
            self._error = exc
            self._ready.set()
            return
        self._registered.done = True
        self._ready.set()
        while True:
            item = self._ops.get()
            if item is None:
                break
            fn, args, future = item
            if future is not None and not future.set_running_or_notify_cancel():
                continue
            try:
                result = fn(*args)
            except BaseException as exc:
                if future is not None:
                    future.set_exception(exc)
                else:
                    log.exception("%s: pjsua2 operation %s failed", self.name, getattr(fn, "__name__", fn))
            else:
                if future is not None:
                    future.set_result(result)
        self._destroy_endpoint()

    def _create_endpoint(self) -> None:
        from appliance.callcore.legs import WorkerAccount

        s = self.settings
        ep = pj.Endpoint()
        ep.libCreate()
        cfg = pj.EpConfig()
        cfg.uaConfig.threadCnt = 1
        cfg.uaConfig.maxCalls = MAX_LEGS
        cfg.uaConfig.userAgent = "appliance-callcore"
        cfg.logConfig.level = 2
        cfg.logConfig.consoleLevel = 2
        cfg.logConfig.msgLogging = False
        cfg.medConfig.noVad = True
        cfg.medConfig.ecTailLen = 0
        cfg.medConfig.clockRate = CLOCK_RATE
        cfg.medConfig.sndClockRate = CLOCK_RATE
        ep.libInit(cfg)
        tcfg = pj.TransportConfig()
        tcfg.port = self.port
        tcfg.boundAddress = "127.0.0.1"
        ep.transportCreate(pj.PJSIP_TRANSPORT_UDP, tcfg)
        ep.libStart()
        ep.audDevManager().setNullDev()
        for info in ep.codecEnum2():
            ep.codecSetPriority(info.codecId, 0)
        for prio, codec in zip((250, 240, 230), CODECS, strict=True):
            ep.codecSetPriority(codec, prio)
        self.ep = ep
        # The one account of this worker: local, never registers (an 8-account limit
        # exists per process; a worker never needs a second one).
        acfg = pj.AccountConfig()
        acfg.idUri = f"sip:{self.name}@127.0.0.1:{self.port}"
        acfg.sipConfig.proxies.append(f"sip:127.0.0.1:{s.sip_port};lr")
        acfg.mediaConfig.transportConfig.port = s.worker_rtp_port(self.index)
        acfg.mediaConfig.transportConfig.portRange = s.rtp_ports_per_worker
        acfg.mediaConfig.transportConfig.boundAddress = s.media_address
        acfg.mediaConfig.transportConfig.publicAddress = s.media_address
        # Voice leaves marked DSCP EF (46, TOS 0xb8), whatever the scenario: switches and the shaper's filters
        # (netconfig) put it first; nothing in the kernel is needed for the mark itself.
        acfg.mediaConfig.transportConfig.qosType = pj.PJ_QOS_TYPE_VOICE
        acfg.natConfig.sdpNatRewriteUse = 0
        acfg.natConfig.contactRewriteUse = 0
        acfg.natConfig.viaRewriteUse = 0
        acfg.callConfig.timerUse = pj.PJSUA_SIP_TIMER_OPTIONAL
        account = WorkerAccount(self)
        account.create(acfg, True)
        self.account = account
        log.info("%s: pjsua2 endpoint on udp 127.0.0.1:%d, rtp %d+%d", self.name, self.port,
                 s.worker_rtp_port(self.index), s.rtp_ports_per_worker)

    def conference_links(self):
        """This worker's conference bridge links (appliance.callcore.conference), made on first use."""
        with self._links_lock:
            if self.links is None:
                from appliance.callcore.conference import ConferenceLinks

                self.links = ConferenceLinks(self)
            return self.links

    def _destroy_endpoint(self) -> None:
        if self.links is not None:
            self.links.close()
        # Shutting down: a call or account already gone is fine, but say so.
        try:
            self.ep.hangupAllCalls()
        except pj.Error as exc:
            log.info("%s: hanging up at stop: %s", self.name, exc.info())
        self.keep.clear()
        self.legs.clear()
        try:
            self.account.shutdown()
        except pj.Error as exc:
            log.info("%s: account shutdown at stop: %s", self.name, exc.info())
        self.account = None
        try:
            self.ep.libDestroy()
        except Exception:
            log.exception("%s: libDestroy failed", self.name)

    def stop(self, timeout: float = 5) -> None:
        """Hang up every call, destroy the Endpoint, end the pjsua2 thread."""
        self._ops.put(None)
        self.thread.join(timeout)

    # -- running operations ------------------------------------------------
    def on_pj_thread(self) -> bool:
        return threading.current_thread() is self.thread

    def run(self, fn: Callable, *args, timeout: float = 10) -> Any:
        """Run fn(*args) on the pjsua2 thread and return its result (or raise its exception)."""
        if self.on_pj_thread():
            return fn(*args)
        future: concurrent.futures.Future = concurrent.futures.Future()
        self._ops.put((fn, args, future))
        return future.result(timeout)

    def post(self, fn: Callable, *args) -> None:
        """Queue fn(*args) on the pjsua2 thread without waiting."""
        self._ops.put((fn, args, None))

    def register_thread(self, name: str) -> None:
        """Let this thread touch pjlib (a wrapper's destructor may run anywhere): safety net only."""
        if not getattr(self._registered, "done", False):
            self.ep.libRegisterThread(name)
            self._registered.done = True

    # -- legs ------------------------------------------------------------------
    def add_leg(self, leg) -> None:
        with self._legs_lock:
            self.legs.add(leg)
        self._legs_changed()

    def keep_object(self, obj) -> None:
        """Hold a pjsua2 object until `release`."""
        with self._legs_lock:
            self.keep.add(obj)

    def leg_ended(self, leg) -> None:
        """A leg disconnected: it no longer counts against MAX_LEGS."""
        with self._legs_lock:
            if leg not in self.legs:
                return
            self.legs.discard(leg)
        self._legs_changed()

    def release(self, *objects) -> None:
        """Forget pjsua2 objects a call no longer needs (on a pjsua2 thread)."""
        with self._legs_lock:
            for obj in objects:
                self.keep.discard(obj)

    def _legs_changed(self) -> None:
        with self.legs_changed:
            self.legs_version += 1
            self.legs_changed.notify_all()

    @property
    def leg_count(self) -> int:
        return len(self.legs)
