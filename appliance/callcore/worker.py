"""A call-core worker process: one pjsua2 Endpoint, at most 4 legs, calls on their own threads.

Threads of a worker:
  main         waits for SIGTERM (or the pool's "stop", or the pool vanishing), then
               hangs up every call and destroys the Endpoint
  pjsua2       owns the Endpoint; runs every pjsua2 operation (runtime.PjRuntime)
  pjsua2 cb    pjsua2's own worker thread: callbacks → events (legs.py)
  dispatch     takes new calls from the account and hands each to a call thread
  call-1..4    one per call in progress: CDR, then the dialplan (dialplan.engine.route), blocking;
               also calls the appliance places itself (origination jobs from the pool)
  report       sends {"legs": n} to the pool on every change of the leg count
"""

from __future__ import annotations

import concurrent.futures
import logging
import os
import queue
import signal
import sys
import threading
import time

from appliance.settings import Settings

log = logging.getLogger(__name__)


def run_worker(settings: Settings, index: int, conn) -> int:
    """Worker process main: serve calls on 127.0.0.1:worker_sip_port(index) until told to stop."""
    from appliance.callcore.runtime import MAX_LEGS, PjRuntime
    from appliance.store import open_store, secrets

    name = f"w{index}"
    stop = threading.Event()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    open_store(settings)
    secrets.load_key(settings.secret_key_path)
    runtime = PjRuntime(settings, index)

    def request_stop(*_) -> None:
        # Also a signal handler: touches no lock the main thread may hold.
        stop.set()
        with runtime.legs_changed:
            runtime.legs_changed.notify_all()

    signal.signal(signal.SIGTERM, request_stop)
    runtime.start()
    send_lock = threading.Lock()

    def send(message: dict) -> None:
        with send_lock:
            try:
                conn.send(message)
            except (OSError, EOFError, BrokenPipeError):
                request_stop()

    def report() -> None:
        seen = 0
        while not stop.is_set():
            with runtime.legs_changed:
                while runtime.legs_version == seen and not stop.is_set():
                    runtime.legs_changed.wait()
                seen = runtime.legs_version
                count = runtime.leg_count
            send({"legs": count})

    def listen() -> None:
        while not stop.is_set():
            try:
                message = conn.recv()
            except (EOFError, OSError):
                log.warning("%s: pool gone, stopping", name)
                request_stop()
                return
            if message == "stop":
                request_stop()
            elif message == "ping":
                # Answered by the pjsua2 thread: a worker whose pjsua2 thread is stuck looks hung.
                runtime.post(send, {"pong": True})
            elif isinstance(message, dict) and "originate" in message:
                # A call the appliance places itself (appliance.callcore.originate); ends with "job_done".
                calls.submit(handle_job, runtime, message["originate"], send)

    calls = concurrent.futures.ThreadPoolExecutor(max_workers=MAX_LEGS, thread_name_prefix="call")
    send({"ready": True, "pid": os.getpid(), "port": runtime.port, "legs": 0})
    threading.Thread(target=report, name="report", daemon=True).start()
    threading.Thread(target=listen, name="listen", daemon=True).start()
    log.info("%s: ready (pid %d)", name, os.getpid())
    while not stop.is_set():
        try:
            session, leg, meta = runtime.incoming.get(timeout=0.5)
        except queue.Empty:
            continue
        calls.submit(handle_call, runtime, session, leg, meta)
    log.info("%s: stopping, %d legs up", name, runtime.leg_count)
    end_calls(runtime, calls, name)
    stopped = threading.Thread(target=runtime.stop, daemon=True)
    stopped.start()
    stopped.join(5)
    sys.stdout.flush()
    sys.stderr.flush()
    # pjsua2 wrappers must not be collected after libDestroy: leave without finalizers.
    os._exit(0)


STOP_CALLS_GRACE_S = 3.0


def end_calls(runtime, calls: concurrent.futures.ThreadPoolExecutor, name: str) -> None:
    """Hang up every call and let their threads write their CDRs; close what is left as failed."""
    from appliance.callcore.records import close_open_records

    if runtime.leg_count:
        try:
            runtime.run(runtime.ep.hangupAllCalls, timeout=STOP_CALLS_GRACE_S)
        except Exception:
            log.exception("%s: hanging up calls at stop failed", name)
    calls.shutdown(wait=False, cancel_futures=True)
    deadline = time.monotonic() + STOP_CALLS_GRACE_S
    while calls_running[0] and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        close_open_records(name, "call core stopped")
    except Exception:
        log.exception("%s: cannot close open CDRs", name)
    try:
        from appliance.conference.service import forget_worker

        forget_worker(name)
    except Exception:
        log.exception("%s: cannot forget its conference participants", name)


calls_running = [0]
_calls_lock = threading.Lock()


def handle_call(runtime, session, leg, meta: dict) -> None:
    """The life of one incoming call, in its own thread: CDR, routing, clean-up."""
    with _calls_lock:
        calls_running[0] += 1
    try:
        _handle_call(runtime, session, leg, meta)
    finally:
        with _calls_lock:
            calls_running[0] -= 1


def handle_job(runtime, job: dict, send) -> None:
    """An origination job in its own call thread (appliance.callcore.originate.run_job)."""
    from appliance.callcore.originate import run_job

    with _calls_lock:
        calls_running[0] += 1
    try:
        run_job(runtime, job, send)
    finally:
        with _calls_lock:
            calls_running[0] -= 1


def caller_identity(caller: str, from_name: str) -> tuple[str, str]:
    """Name to present and announcement language: the caller's user, else the INVITE and the system."""
    from appliance.system.models import get_system_settings
    from appliance.users.models import User

    try:
        user = User.get_or_none(User.extension == caller)
        if user is not None:
            return user.display_name, user.language
        return from_name, get_system_settings().language
    except Exception:
        log.exception("cannot read the caller %s from the store", caller)
        return from_name, "en"


def dispatch_number(headers: dict) -> int:
    """Which of Kamailio's dispatches of this INVITE we got (X-AP-Dispatch; the first has none)."""
    try:
        return max(1, int(headers.get("x-ap-dispatch", "1")))
    except ValueError:
        return 1


def _handle_call(runtime, session, leg, meta: dict) -> None:
    from appliance.callcore.channel import HungUp
    from appliance.callcore.legs import PjChannel
    from appliance.callcore.records import CallRecord, disposition_of
    from appliance.dialplan import engine

    runtime.register_thread(threading.current_thread().name)
    record = None
    channel = None
    try:
        caller = meta["headers"].get("x-ap-caller") or meta["from_user"] or "anonymous"
        caller_name, language = caller_identity(caller, meta["from_name"])
        channel = PjChannel(session, leg, caller=caller, caller_name=caller_name, callee=meta["callee"],
                            call_id=meta["call_id"], language=language,
                            trunk=meta["headers"].get("x-ap-trunk", ""), headers=meta["headers"])
        record = CallRecord(meta["call_id"], caller, caller_name, meta["callee"], runtime.name,
                            dispatch=dispatch_number(meta["headers"]))
        if record.stale:
            # Kamailio gave up on this worker and handed the call to another one.
            log.warning("%s: call %s is served by another worker: dropped", runtime.name, meta["call_id"])
            channel.hangup(503, "Dispatched Elsewhere")
            return
        channel.on_answer(record.answered)
        log.info("%s: call %s -> %s (%s)", runtime.name, caller, meta["callee"], meta["call_id"])
        engine.route(channel, runtime.settings)
    except HungUp:
        pass
    except Exception:
        log.exception("%s: call %s failed", runtime.name, meta.get("call_id"))
        if channel is not None:
            try:
                channel.hangup(500, "Server Internal Error")
            except Exception:
                log.exception("hang-up after failure")
    finally:
        try:
            if channel is not None:
                if channel.is_up:
                    channel.hangup()
                a = channel.leg
                if record is not None:
                    caller_gave_up = not a.local_hangup and a.answered_at is None
                    disposition = disposition_of(a.answered_at is not None, caller_gave_up, session.last_dial)
                    cause = f"{a.code} {a.reason}".strip()
                    if a.answered_at is not None:
                        cause += " (caller hung up)" if not a.local_hangup else " (callee hung up)"
                    record.finish(disposition, cause)
        finally:
            runtime.run(session.release)
            log.info("%s: call %s ended", runtime.name, meta.get("call_id"))
