"""The worker pool parent: forks call-core workers, keeps spares warm, restarts crashed ones.

The parent imports pjsua2 (so forked workers share its pages) but never
creates an Endpoint. Rules, checked after every event and every second:

- keep `settings.spare_workers` workers with no leg at all (a starting
  worker counts as a spare), up to `settings.worker_count_max` workers;
- a worker idle for IDLE_GRACE_S beyond the spares is withdrawn from
  Kamailio, then stopped RETIRE_DELAY_S later if no call reached it
  meanwhile (highest index first);
- a worker that dies without being asked is restarted at the same index
  (after a back-off if it keeps crashing), and its open CDRs are closed as
  failed ("worker crashed");
- a worker that stops answering the pool's pings (every PING_INTERVAL_S,
  answered by its pjsua2 thread) for HANG_TIMEOUT_S is hung: killed, its
  CDRs closed as failed ("worker hung"), restarted like a crashed one.
  Kamailio has long stopped sending it calls by then (its OPTIONS probes
  and the 3 s INVITE timer mark it inactive);
- after every change of the set of running workers, Kamailio's dispatcher
  is told the SIP ports of all of them
  (`appliance.sipedge.dispatcher.publish_workers(settings, ports)`); it
  balances calls by its own count, at most two calls per worker.

Calls the appliance places itself (appliance.callcore.originate): the
parent listens on settings.run_dir/callcore.sock, hands each job to a
worker with free legs over its Pipe, and withdraws that worker from
Kamailio's dispatcher until the worker reports the job done.

State for the UI and tests: settings.run_dir/callcore.json lists the
workers (index, pid, port, legs). Workers die with the parent
(PR_SET_PDEATHSIG); SIGTERM or SIGINT stops them all, then the parent.
"""

from __future__ import annotations

import ctypes
import gc
import json
import logging
import os
import signal
import socket
import sys
import time
from dataclasses import dataclass, field
from multiprocessing import Pipe
from multiprocessing.connection import wait

from appliance.settings import Settings

log = logging.getLogger(__name__)

IDLE_GRACE_S = 60.0
# Between withdrawing an idle worker from Kamailio and stopping it, so that
# no call dispatched just before is lost.
RETIRE_DELAY_S = 2.0
STOP_GRACE_S = 5.0
CRASH_BACKOFF_S = (0.0, 1.0, 2.0, 5.0, 10.0, 30.0)
PING_INTERVAL_S = 1.0
HANG_TIMEOUT_S = 6.0
PR_SET_PDEATHSIG = 1
PR_SET_NAME = 15


@dataclass(slots=True)
class WorkerProcess:
    index: int
    pid: int
    conn: object
    started: float = field(default_factory=time.monotonic)
    ready: bool = False
    legs: int = 0
    idle_since: float = field(default_factory=time.monotonic)
    stopping: bool = False
    exited: bool = False
    retiring_since: float | None = None
    heard: float = field(default_factory=time.monotonic)  # last message from the worker
    ping_sent: float | None = None  # a ping not answered yet
    hung: bool = False
    # Origination jobs running on this worker (ids); while any runs, Kamailio sends it no new call.
    jobs: set = field(default_factory=set)

    @property
    def name(self) -> str:
        return f"w{self.index}"


def run_pool(settings: Settings) -> int:
    """The pool parent's main: runs until SIGTERM/SIGINT, then stops every worker."""
    import pjsua2  # noqa: F401  (loaded before forking: its pages are shared by the workers)

    from appliance.callcore import prompts

    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                            format="%(asctime)s callcore[%(process)d] %(levelname)s %(message)s")
    from appliance.store import close_store, open_store

    settings.ensure_dirs()
    # Migrate once here, so that workers starting together never race to do it.
    open_store(settings)
    close_store()
    prompts.ensure_all(settings)
    from appliance.dialplan import trace

    trace.prune(settings)  # old call traces; the pool restarts at least at every boot
    # Everything a worker runs is loaded once here and frozen out of the
    # garbage collector's reach, so forked workers keep sharing those pages.
    import appliance.callcore.conference  # noqa: F401  (and numpy, which mixes the links)
    import appliance.callcore.legs  # noqa: F401
    import appliance.callcore.worker  # noqa: F401
    import appliance.cdr  # noqa: F401
    import appliance.dialplan.apps  # noqa: F401
    import appliance.dialplan.engine  # noqa: F401
    import appliance.users  # noqa: F401

    gc.collect()
    gc.freeze()
    return Pool(settings).run()


class Pool:
    def __init__(self, settings: Settings):
        self.settings = settings
        self.workers: dict[int, WorkerProcess] = {}
        self.crashes: dict[int, list[float]] = {}
        self.not_before: dict[int, float] = {}
        self.stop_requested = False
        self.published: list[int] | None = None
        self.status_written = None
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self.origination = None  # appliance.callcore.originate.Listener, opened in run()

    # -- main loop -------------------------------------------------------------
    def run(self) -> int:
        def on_stop(*_):
            self.stop_requested = True

        signal.signal(signal.SIGTERM, on_stop)
        signal.signal(signal.SIGINT, on_stop)
        signal.signal(signal.SIGCHLD, lambda *_: None)
        signal.set_wakeup_fd(self._wake_w.fileno())
        self._open_origination()
        log.info("call-core pool: %d spare workers, at most %d", self.settings.spare_workers,
                 self.settings.worker_count_max)
        while not self.stop_requested:
            self.reap()
            if self.stop_requested:
                break
            self.watch()
            self.balance()
            self.publish()
            self.write_status()
            conns = [w.conn for w in self.workers.values() if not w.exited]
            extra = [self.origination] if self.origination is not None else []
            for ready in wait(conns + [self._wake_r] + extra, timeout=1.0):
                if ready is self._wake_r:
                    self._drain_wakeups()
                elif ready is self.origination:
                    self.origination.serve(self.start_job)
                else:
                    self.receive(ready)
        self.shutdown()
        return 0

    def _drain_wakeups(self) -> None:
        try:
            while self._wake_r.recv(512):
                pass
        except (BlockingIOError, InterruptedError):
            pass

    def receive(self, conn) -> None:
        worker = next((w for w in self.workers.values() if w.conn is conn), None)
        if worker is None:
            return
        try:
            while conn.poll():
                message = conn.recv()
                worker.heard = time.monotonic()
                if message.get("pong"):
                    worker.ping_sent = None
                if message.get("ready"):
                    worker.ready = True
                    log.info("%s ready (pid %d, port %d)", worker.name, worker.pid, message["port"])
                if "legs" in message:
                    if message["legs"] == 0 and worker.legs != 0:
                        worker.idle_since = time.monotonic()
                    worker.legs = message["legs"]
                if "job_done" in message:  # an origination job ended (appliance.callcore.originate)
                    worker.jobs.discard(message["job_done"])
                    worker.idle_since = time.monotonic()
        except (EOFError, OSError):
            worker.exited = True  # reaped by reap()

    # -- workers ---------------------------------------------------------------
    def spawn(self, index: int) -> None:
        parent_conn, child_conn = Pipe()
        pid = os.fork()
        if pid == 0:  # the worker
            code = 1
            try:
                parent_conn.close()
                self._become_worker(index)
                from appliance.callcore.worker import run_worker

                code = run_worker(self.settings, index, child_conn) or 0
            except BaseException:
                log.exception("worker w%d failed", index)
            finally:
                os._exit(code)
        child_conn.close()
        self.workers[index] = WorkerProcess(index=index, pid=pid, conn=parent_conn)
        log.info("started worker w%d (pid %d)", index, pid)

    def _become_worker(self, index: int) -> None:
        """In the forked child: forget the parent's signals and file descriptors, die with it."""
        parent = os.getppid()
        signal.set_wakeup_fd(-1)
        for sig in (signal.SIGTERM, signal.SIGCHLD):
            signal.signal(sig, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        self._wake_r.close()
        self._wake_w.close()
        if self.origination is not None:
            self.origination.sock.close()  # only the parent takes origination requests
        for other in self.workers.values():
            try:
                other.conn.close()
            except OSError:
                pass
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        libc.prctl(PR_SET_NAME, f"callcore-w{index}".encode()[:15], 0, 0, 0)  # shown by ps/top
        if os.getppid() != parent:
            os._exit(0)

    def watch(self) -> None:
        """Ping the ready workers; kill one that has not answered for HANG_TIMEOUT_S."""
        now = time.monotonic()
        for worker in self.workers.values():
            if not worker.ready or worker.stopping or worker.exited or worker.hung:
                continue
            if worker.ping_sent is not None and now - worker.ping_sent > HANG_TIMEOUT_S:
                log.error("worker %s (pid %d) has not answered for %.0f s: hung, killing it",
                          worker.name, worker.pid, now - worker.ping_sent)
                worker.hung = True
                try:
                    os.kill(worker.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                continue
            if worker.ping_sent is None and now - worker.heard >= PING_INTERVAL_S:
                try:
                    worker.conn.send("ping")
                    worker.ping_sent = now
                except (OSError, EOFError):
                    pass

    def balance(self) -> None:
        now = time.monotonic()
        live = [w for w in self.workers.values() if not w.stopping]
        # A retiring worker is already withdrawn from Kamailio; one that got a
        # call in the meantime serves it and stays.
        for worker in live:
            if worker.retiring_since is not None and worker.legs:
                worker.retiring_since = None
        idle = [w for w in live if w.legs == 0 and not w.jobs and w.retiring_since is None]
        missing = self.settings.spare_workers - len(idle)
        while missing > 0 and len(self.workers) < self.settings.worker_count_max:
            index = next(i for i in range(self.settings.worker_count_max + 1) if i not in self.workers)
            if index >= self.settings.worker_count_max or self.not_before.get(index, 0) > now:
                break
            self.spawn(index)
            missing -= 1
        extra = len(idle) - self.settings.spare_workers
        for worker in sorted(idle, key=lambda w: -w.index):
            if extra <= 0:
                break
            if worker.ready and now - worker.idle_since > IDLE_GRACE_S:
                log.info("retiring idle worker %s", worker.name)
                worker.retiring_since = now
                extra -= 1
        for worker in live:
            if worker.retiring_since is not None and now - worker.retiring_since > RETIRE_DELAY_S:
                self.stop_worker(worker)

    def stop_worker(self, worker: WorkerProcess) -> None:
        worker.stopping = True
        try:
            worker.conn.send("stop")
        except (OSError, EOFError):
            pass
        try:
            os.kill(worker.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass

    def reap(self) -> None:
        """Collect exited workers; a crash closes its calls' CDRs and restarts it."""
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            worker = next((w for w in self.workers.values() if w.pid == pid), None)
            if worker is None:
                continue
            del self.workers[worker.index]
            try:
                worker.conn.close()
            except OSError:
                pass
            if worker.stopping:
                log.info("worker %s stopped", worker.name)
                continue
            self._crashed(worker, status)

    def _crashed(self, worker: WorkerProcess, status: int) -> None:
        how = (f"signal {os.WTERMSIG(status)}" if os.WIFSIGNALED(status) else f"exit {os.WEXITSTATUS(status)}")
        log.error("worker %s (pid %d) crashed (%s) with %d legs", worker.name, worker.pid, how, worker.legs)
        closed = self._close_records(worker.name, "worker hung" if worker.hung else "worker crashed")
        if worker.jobs:  # its origination jobs will never finish
            from appliance.callcore import originate

            originate.fail_jobs(self.settings, worker.jobs, f"the call-core worker {worker.name} stopped")
        if closed:
            log.error("%d call(s) of %s marked failed", closed, worker.name)
        now = time.monotonic()
        recent = [t for t in self.crashes.get(worker.index, []) if now - t < 60] + [now]
        self.crashes[worker.index] = recent
        delay = CRASH_BACKOFF_S[min(len(recent) - 1, len(CRASH_BACKOFF_S) - 1)]
        self.not_before[worker.index] = now + delay
        if self.stop_requested:
            return
        if delay == 0 and len(self.workers) < self.settings.worker_count_max:
            self.spawn(worker.index)

    def _close_records(self, worker_name: str, cause: str = "worker crashed") -> int:
        from appliance.callcore.records import close_open_records
        from appliance.store import close_store, open_store

        try:
            open_store(self.settings)
            try:
                from appliance.conference.service import forget_worker

                forget_worker(worker_name)  # its conference participants are gone with its calls
            except Exception:
                log.exception("cannot forget the conference participants of %s", worker_name)
            return close_open_records(worker_name, cause)
        except Exception:
            log.exception("cannot close the CDRs of %s", worker_name)
            return 0
        finally:
            close_store()  # never carry an SQLite connection into a fork

    # -- calls the appliance places itself (appliance.callcore.originate) --------------
    def _open_origination(self) -> None:
        from appliance.callcore import originate

        try:
            self.origination = originate.Listener(self.settings)
        except OSError:
            log.exception("cannot listen on %s: the appliance will not place calls",
                          originate.socket_path(self.settings))

    def start_job(self, job: dict) -> str | None:
        """Hand an origination job to a worker with free legs; None, or why it cannot run now."""
        from appliance.callcore import originate

        worker = originate.pick_worker(self.workers.values())
        if worker is None:
            return "every call-core worker is busy: try again in a moment"
        try:
            worker.conn.send({"originate": job})
        except (OSError, EOFError):
            return "the call-core worker could not take the call: try again"
        worker.jobs.add(job["id"])
        self.publish()  # withdraw it from Kamailio while the job runs
        log.info("job %s (%s to %s) on %s", job["id"], job["kind"], job["target"], worker.name)
        return None

    # -- what others see ------------------------------------------------------------
    def ports(self) -> list[int]:
        return sorted(self.settings.worker_sip_port(w.index) for w in self.workers.values()
                      if w.ready and not w.stopping and not w.exited and not w.hung
                      and w.retiring_since is None and not w.jobs)

    def publish(self, force: bool = False) -> None:
        ports = self.ports()
        if ports == self.published and not force:
            return
        self.published = ports
        try:
            from appliance.sipedge.dispatcher import publish_workers
        except ImportError:
            log.debug("no SIP edge dispatcher to publish workers to")
            return
        try:
            publish_workers(self.settings, ports)
        except Exception:
            log.exception("publishing workers %s to the dispatcher failed", ports)
            self.published = None  # try again next round

    def write_status(self) -> None:
        status = {"pid": os.getpid(), "workers": [
            {"index": w.index, "name": w.name, "pid": w.pid, "port": self.settings.worker_sip_port(w.index),
             "ready": w.ready, "legs": w.legs, "stopping": w.stopping or w.retiring_since is not None}
            for w in sorted(self.workers.values(), key=lambda w: w.index)]}
        if status == self.status_written:
            return
        path = self.settings.run_dir / "callcore.json"
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(status, indent=1))
        os.replace(tmp, path)
        self.status_written = status

    # -- shutdown ---------------------------------------------------------------------
    def shutdown(self) -> None:
        log.info("stopping %d workers", len(self.workers))
        for worker in self.workers.values():
            self.stop_worker(worker)
        deadline = time.monotonic() + STOP_GRACE_S
        while self.workers and time.monotonic() < deadline:
            self.reap()
            time.sleep(0.05)
        for worker in list(self.workers.values()):
            log.warning("worker %s did not stop: killing it", worker.name)
            try:
                os.kill(worker.pid, signal.SIGKILL)
                os.waitpid(worker.pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass
            self._close_records(worker.name)
            del self.workers[worker.index]
        self.publish()
        self.write_status()
        if self.origination is not None:
            self.origination.close()
        log.info("call-core pool stopped")
