"""Calls the appliance places itself: call a phone, and when it answers run a job on that call.

Used for "record a prompt by phone" (the appliance calls you, you speak after
the tone) and meant for later ones such as a mobility callback (call a
number, then run a procedure for whoever answered).

How a job travels:

    web process                      pool parent                       worker
    originate(settings, "201",  ──►  run/callcore.sock: picks a   ──►  new outgoing leg to
      "record_sound", name=...)      ready worker with free legs,      sip:201@<sip domain>
    writes run/jobs/<id>.json        sends the job over its Pipe,      (through Kamailio), waits
    ("queued"), returns the id       withdraws it from Kamailio's      for the answer, runs the
                                     dispatcher while the job runs     kind's handler, writes the
                                                                       status file at each step
    job_status(settings, id) reads run/jobs/<id>.json at any time.

Status file: {"id", "kind", "target", "state", "created", "updated", ...}
with state one of queued | calling | answered | <what the handler reports,
e.g. "recording"> | done | failed. "done" carries "result" (the handler's
dict); "failed" carries "error" (a sentence for the user) and, when the
call was not answered, "outcome" (busy | no_answer | unavailable | failed).

A job kind is a handler `handler(job: Job, channel: Channel) -> dict | None`
registered in KINDS as "module:function" (imported in the worker, so the
table is the same in every process). The handler gets the answered leg as
a `Channel` (play, collect_digits, record, dial, hangup...) and may report
progress with `job.update("recording")`. Its return value becomes the
job's result; a ValidationError or CallCoreError it raises becomes the
job's error. The call is hung up after the handler returns.
"""

from __future__ import annotations

import datetime as dt
import importlib
import json
import logging
import os
import re
import secrets
import socket
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from appliance.errors import ApplianceError, CallCoreError, NotFound, ValidationError
from appliance.settings import Settings

log = logging.getLogger(__name__)

# Job kinds: name -> "module:function" of the handler (see the module docstring).
KINDS: dict[str, str] = {
    "record_sound": "appliance.sounds.service:record_job",
    "mobility_callback": "appliance.dialplan.callback:callback_job",
}

SOCKET_NAME = "callcore.sock"
JOB_ID_RE = re.compile(r"^[0-9a-f]{16}$")
TARGET_RE = re.compile(r"^[0-9*#+]{1,32}$")
FINAL_STATES = frozenset({"done", "failed"})
REQUEST_MAX = 64 * 1024
CONNECT_TIMEOUT_S = 5.0
JOB_FILE_MAX_AGE_S = 24 * 3600
# The legs a job may need (the called phone, plus one it may dial): a worker
# takes a job only with that many legs free.
JOB_LEGS = 2
JOBS_PER_WORKER = 2
ANSWER_MEDIA_WAIT_S = 5.0

_status_lock = threading.Lock()


# -- the web side: start a job, read its status ------------------------------------------

def originate(settings: Settings, target: str, job_kind: str, *, ring_seconds: int | None = None,
              caller_name: str = "", caller_number: str = "", **params: Any) -> str:
    """Have the call core call `target` (an extension) and run job `job_kind` once it answers.

    ring_seconds: how long it rings before the job fails with outcome
    "no_answer" (default: the system's ring timeout). caller_name /
    caller_number: what the called phone shows. params: the job's own
    parameters (JSON values), handed to its handler as `job.params`.
    Returns the job id at once; follow it with `job_status`. Raises
    ValidationError for a bad target or kind, CallCoreError when the call
    core is not running or has no free worker.
    """
    if job_kind not in KINDS:
        raise ValidationError("job_kind", f"unknown job kind {job_kind!r}; known: {', '.join(sorted(KINDS))}")
    if not isinstance(target, str) or not TARGET_RE.match(target):
        raise ValidationError("extension", "must be a number of up to 32 digits")
    job = {"id": secrets.token_hex(8), "kind": job_kind, "target": target, "ring_seconds": ring_seconds,
           "caller_name": caller_name, "caller_number": caller_number, "params": params}
    try:
        request = json.dumps({"originate": job}).encode() + b"\n"
    except (TypeError, ValueError):
        raise ValidationError("params", "must be JSON values") from None
    _prune(settings)
    write_status(settings, job["id"], kind=job_kind, target=target, state="queued",
                 created=_now(), params=_shown(params))
    try:
        reply = _ask_pool(settings, request)
    except CallCoreError as exc:
        write_status(settings, job["id"], state="failed", error=str(exc))
        raise
    if not reply.get("ok"):
        error = str(reply.get("error") or "the call core refused the call")
        write_status(settings, job["id"], state="failed", error=error)
        raise CallCoreError(error)
    return job["id"]


def job_status(settings: Settings, job_id: str) -> dict:
    """The job's status file as a dict (see the module docstring); NotFound for an unknown id."""
    if not isinstance(job_id, str) or not JOB_ID_RE.match(job_id):
        raise NotFound("job", str(job_id)[:32])
    try:
        return json.loads(_status_path(settings, job_id).read_text())
    except FileNotFoundError:
        raise NotFound("job", job_id) from None
    except ValueError:
        raise NotFound("job", job_id) from None


def _ask_pool(settings: Settings, request: bytes) -> dict:
    path = socket_path(settings)
    client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    client.settimeout(CONNECT_TIMEOUT_S)
    try:
        client.connect(str(path))
        client.sendall(request)
        data = b""
        while not data.endswith(b"\n") and len(data) < REQUEST_MAX:
            chunk = client.recv(4096)
            if not chunk:
                break
            data += chunk
    except (FileNotFoundError, ConnectionRefusedError):
        raise CallCoreError("the call core is not running: the appliance cannot place calls now") from None
    except OSError as exc:
        raise CallCoreError(f"the call core did not answer: {exc}") from None
    finally:
        client.close()
    try:
        reply = json.loads(data.decode())
    except ValueError:
        raise CallCoreError("the call core gave no answer") from None
    return reply if isinstance(reply, dict) else {}


# -- status files ------------------------------------------------------------------------------

def socket_path(settings: Settings) -> Path:
    return settings.run_dir / SOCKET_NAME


def jobs_dir(settings: Settings) -> Path:
    return settings.run_dir / "jobs"


def _status_path(settings: Settings, job_id: str) -> Path:
    return jobs_dir(settings) / f"{job_id}.json"


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _shown(params: dict) -> dict:
    """The parameters worth showing in a status (short scalar values only)."""
    return {k: v for k, v in params.items() if isinstance(v, (str, int, float, bool)) and len(str(v)) <= 255}


def write_status(settings: Settings, job_id: str, **fields: Any) -> dict:
    """Merge `fields` into the job's status file (atomically: readers never see half a file)."""
    path = _status_path(settings, job_id)
    with _status_lock:
        try:
            status = json.loads(path.read_text())
        except (OSError, ValueError):
            status = {"id": job_id}
        status.update(fields)
        status["updated"] = _now()
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{job_id}.{os.getpid()}.{threading.get_ident()}.tmp")
        tmp.write_text(json.dumps(status, ensure_ascii=False))
        os.replace(tmp, path)
    return status


def fail_jobs(settings: Settings, job_ids: Iterable[str], error: str) -> None:
    """Mark jobs that will never finish (their worker died) as failed."""
    for job_id in job_ids:
        try:
            if job_status(settings, job_id).get("state") not in FINAL_STATES:
                write_status(settings, job_id, state="failed", error=error)
        except (NotFound, OSError):
            log.warning("job %s: cannot mark it failed", job_id)


def _prune(settings: Settings) -> None:
    """Forget status files older than a day."""
    limit = time.time() - JOB_FILE_MAX_AGE_S
    try:
        for path in jobs_dir(settings).glob("*.json"):
            try:
                if path.stat().st_mtime < limit:
                    path.unlink()
            except OSError:
                continue
    except OSError:
        return


# -- the pool parent: take jobs from the socket, hand them to a worker -----------------------

class Listener:
    """The pool parent's end of run/callcore.sock (waitable: has fileno()).

    Each connection carries one JSON line {"originate": job} and gets one JSON
    line back: {"ok": true, "worker": "w1"} or {"ok": false, "error": "..."}.
    """

    def __init__(self, settings: Settings):
        self.settings = settings
        self.path = socket_path(settings)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.unlink(missing_ok=True)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(str(self.path))
        os.chmod(self.path, 0o600)  # the web process runs as the same user; nobody else
        self.sock.listen(16)
        self.sock.setblocking(False)

    def fileno(self) -> int:
        return self.sock.fileno()

    def serve(self, start_job: Callable[[dict], str | None]) -> None:
        """Answer every waiting connection; start_job(job) returns None or why it cannot run."""
        while True:
            try:
                conn, _ = self.sock.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                log.exception("origination socket: accept failed")
                return
            try:
                self._one(conn, start_job)
            except OSError as exc:
                log.warning("origination request dropped: %s", exc)
            finally:
                conn.close()

    def _one(self, conn: socket.socket, start_job: Callable[[dict], str | None]) -> None:
        conn.settimeout(1.0)
        data = b""
        while not data.endswith(b"\n") and len(data) < REQUEST_MAX:
            chunk = conn.recv(4096)
            if not chunk:
                break
            data += chunk
        try:
            job = json.loads(data.decode())["originate"]
            valid = isinstance(job, dict) and JOB_ID_RE.match(str(job.get("id"))) and job.get("kind") in KINDS
        except (ValueError, KeyError, TypeError):
            valid = False
        if not valid:
            reply = {"ok": False, "error": "not a valid origination request"}
        else:
            error = start_job(job)
            reply = {"ok": error is None, **({"error": error} if error else {})}
        conn.sendall(json.dumps(reply).encode() + b"\n")

    def close(self) -> None:
        try:
            self.sock.close()
        finally:
            self.path.unlink(missing_ok=True)


def pick_worker(workers: Iterable) -> Any | None:
    """The pool's worker (pool.WorkerProcess) that should run a new job, or None if none can.

    Ready, not leaving, with JOB_LEGS legs free (`legs` counts the legs of its
    calls and jobs) and fewer than JOBS_PER_WORKER jobs; the least loaded
    first, counting JOB_LEGS for each job it runs (an idle spare when there is one).
    """
    from appliance.callcore.runtime import MAX_LEGS

    fit = [w for w in workers
           if w.ready and not w.stopping and not w.exited and not w.hung and w.retiring_since is None
           and len(w.jobs) < JOBS_PER_WORKER and w.legs + JOB_LEGS <= MAX_LEGS]
    if not fit:
        return None
    return min(fit, key=lambda w: (w.legs + JOB_LEGS * len(w.jobs), w.index))


# -- the worker: place the call, run the handler -----------------------------------------------

@dataclass
class Job:
    """What a handler gets besides the channel."""

    id: str
    kind: str
    target: str
    params: dict
    settings: Settings
    language: str = "en"
    state: str = "queued"
    extra: dict = field(default_factory=dict)

    def update(self, state: str, **fields: Any) -> None:
        """Report progress (e.g. "recording") in the job's status file."""
        self.state = state
        write_status(self.settings, self.id, state=state, **fields)


def handler_for(kind: str) -> Callable:
    module, _, function = KINDS[kind].partition(":")
    return getattr(importlib.import_module(module), function)


def target_uri(target: str) -> str:
    from appliance.system.models import get_system_settings

    return f"sip:{target}@{get_system_settings().sip_domain}"


def target_language(target: str) -> str:
    """Announcements in the called user's language, else the system's."""
    from appliance.system.models import get_system_settings
    from appliance.users.models import User

    user = User.get_or_none(User.extension == target)
    return user.language if user is not None else get_system_settings().language


def run_job(runtime, spec: dict, send: Callable[[dict], None]) -> None:
    """A worker's call thread: place the call, run the handler once answered, then report "job_done"."""
    from appliance.callcore.channel import HungUp
    from appliance.callcore.legs import Session

    settings = runtime.settings
    job = Job(id=spec["id"], kind=spec["kind"], target=spec["target"], params=spec.get("params") or {},
              settings=settings)
    session = Session(runtime)
    channel = record = None
    outcome = "failed"
    try:
        runtime.register_thread(threading.current_thread().name)
        job.language = target_language(job.target)
        job.update("calling", worker=runtime.name)
        channel, record = _place_call(runtime, session, job, spec)
        if channel is None:
            return
        outcome = _wait_answer(channel, spec)
        if outcome != "answered":
            job.update("failed", outcome=outcome, error=_UNANSWERED[outcome].format(target=job.target))
            return
        record.answered()
        job.update("answered")
        result = handler_for(job.kind)(job, channel)
        job.update("done", result=result or {})
    except HungUp:
        job.update("failed", error="the called phone hung up")
    except ValidationError as exc:
        job.update("failed", error=exc.message)
    except ApplianceError as exc:
        job.update("failed", error=str(exc))
    except Exception:
        log.exception("%s: job %s (%s) failed", runtime.name, job.id, job.kind)
        job.update("failed", error="the call core failed while running this job (see its log)")
    finally:
        try:
            if channel is not None and channel.is_up:
                channel.hangup()
            if record is not None:
                _finish_record(record, channel, outcome)
        except Exception:
            log.exception("%s: job %s: ending its call", runtime.name, job.id)
        finally:
            runtime.run(session.release)
            send({"job_done": job.id})


_UNANSWERED = {
    "busy": "{target} is busy",
    "no_answer": "{target} did not answer",
    "unavailable": "{target} is not reachable (phone not registered?)",
    "failed": "the call to {target} failed",
}


def _place_call(runtime, session, job: Job, spec: dict):
    import pjsua2 as pj

    from appliance.callcore.legs import PjChannel, new_outgoing_leg
    from appliance.callcore.records import CallRecord

    caller_number = spec.get("caller_number") or ""
    caller_name = spec.get("caller_name") or ""
    headers = {"X-AP-Caller-Name": caller_name or caller_number, "X-AP-Caller-Number": caller_number} \
        if caller_number else {}
    try:
        leg = runtime.run(new_outgoing_leg, runtime, session, target_uri(job.target), headers)
    except pj.Error as exc:
        log.warning("%s: job %s: cannot call %s: %s", runtime.name, job.id, job.target, getattr(exc, "reason", exc))
        job.update("failed", outcome="failed", error=f"the call core could not call {job.target} (no free line)")
        return None, None
    channel = PjChannel(session, leg, caller=job.target, caller_name="", callee=job.target,
                        call_id=f"originate-{job.id}", language=job.language)
    record = CallRecord(channel.call_id, caller_number or "appliance", caller_name, job.target, runtime.name)
    return channel, record


def _wait_answer(channel, spec: dict) -> str:
    """Pump the call's events until it is answered with audio ("answered"), ends or rings too long.

    Returns "answered" or why not: busy | no_answer | unavailable | failed.
    """
    from appliance.callcore.legs import outcome_of
    from appliance.system.models import get_system_settings

    ring_s = spec.get("ring_seconds") or get_system_settings().ring_timeout_s
    leg, session = channel.leg, channel.session
    deadline = time.monotonic() + float(ring_s)
    while leg.up and leg.state != "confirmed":
        left = deadline - time.monotonic()
        if left <= 0:
            channel.hangup()  # CANCEL
            return "no_answer"
        session.pump(min(0.5, left))
    if leg.up:
        media_deadline = time.monotonic() + ANSWER_MEDIA_WAIT_S
        while leg.up and not leg.media_active and time.monotonic() < media_deadline:
            session.pump(0.2)
        if leg.up:
            return "answered"
    if leg.answered_at is not None:
        return "failed"  # answered, then gone before any audio
    outcome = outcome_of(leg.code or 500).value
    return outcome if outcome in _UNANSWERED else "failed"


def _finish_record(record, channel, outcome: str) -> None:
    from appliance.cdr import Disposition

    disposition = {"answered": Disposition.ANSWERED, "busy": Disposition.BUSY,
                   "no_answer": Disposition.NO_ANSWER}.get(outcome, Disposition.FAILED)
    leg = channel.leg
    record.finish(disposition, f"{leg.code} {leg.reason}".strip())
