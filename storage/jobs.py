"""Long storage operations (initialize, move) run in a thread; the UI follows them by id.

One job at a time per subject (a device, a kind): a second request while one runs is a Conflict.
Jobs live in the web process's memory (the last MAX_KEPT are kept for the UI to read the outcome).
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Callable

from appliance.errors import ApplianceError, Conflict, NotFound, ValidationError

log = logging.getLogger(__name__)

MAX_KEPT = 50
_lock = threading.Lock()
_jobs: dict[int, dict] = {}
_ids = itertools.count(1)


def start(kind: str, subject: str, work: Callable[[Callable[[int, str], None]], dict]) -> dict:
    """Run work(progress) in a thread; progress(percent, step) updates the job."""
    with _lock:
        for job in _jobs.values():
            if job["state"] == "running" and (job["subject"] == subject or job["kind"] == kind == "initialize"):
                raise Conflict("subject", f"{job['kind']} of {job['subject']} is still running")
        job = {"id": next(_ids), "kind": kind, "subject": subject, "state": "running", "progress": 0,
               "step": "starting", "error": None, "field": None, "result": None, "started_at": time.time()}
        _jobs[job["id"]] = job
        for old in sorted(_jobs)[:-MAX_KEPT]:
            if _jobs[old]["state"] != "running":
                del _jobs[old]

    def progress(percent: int, step: str) -> None:
        job["progress"], job["step"] = max(0, min(100, int(percent))), step

    def body() -> None:
        try:
            job["result"] = work(progress)
            job["state"], job["progress"], job["step"] = "done", 100, "done"
        except (ValidationError, Conflict) as exc:
            job["state"], job["error"], job["field"] = "failed", exc.message, exc.field
        except ApplianceError as exc:
            job["state"], job["error"] = "failed", str(exc)
        except Exception as exc:  # noqa: BLE001 -- told to the UI, logged with its traceback
            log.exception("storage job %s failed", job["id"])
            job["state"], job["error"] = "failed", str(exc) or exc.__class__.__name__

    threading.Thread(target=body, name=f"storage-{kind}-{job['id']}", daemon=True).start()
    return public(job)


def get(job_id: int) -> dict:
    job = _jobs.get(job_id)
    if job is None:
        raise NotFound("job", str(job_id))
    return public(job)


def running() -> list[dict]:
    return [public(j) for j in _jobs.values() if j["state"] == "running"]


def wait(job_id: int, timeout: float = 60.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and _jobs[job_id]["state"] == "running":
        time.sleep(0.05)
    return get(job_id)


def public(job: dict) -> dict:
    return {k: job[k] for k in ("id", "kind", "subject", "state", "progress", "step", "error", "field", "result")}
