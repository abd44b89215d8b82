"""The background sender: delivers the mail queue, retrying failures with backoff.

One per appliance, a thread of the web server process (webui/server.serve starts it after the store
is open and stops it on shutdown). It polls the queue every `poll_s` seconds (rows queued by any
process, e.g. call-core workers mailing a voicemail) and wakes at once on outbox.queue() or
outbox.retry() in its own process.

A failed attempt is retried after backoff[n] (n = attempts so far - 1, the last value repeated):
1 min, 5 min, 15 min, 1 h, 1 h... until `give_up_after` (a day) has passed since the row was queued;
then it is "failed" (kept, an admin may "retry now"). A permanent refusal (5xx on every recipient or
on the message) gives up at once. Each failure writes the event "mail.send_failed", the giving up
"mail.gave_up" (subject "mail:<queue id>"). A row left "sending" by a crash is queued again at start.
Tests inject `backoff`, `give_up_after` and `clock`.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable, Sequence

from appliance.mail import outbox
from appliance.mail.models import MailProfile, MailQueue
from appliance.mail.smtp import TIMEOUT_S, Outcome, deliver

log = logging.getLogger(__name__)

BATCH = 20
PRUNE_EVERY_S = 3600
# Writing an attempt's outcome: tries and the pause between them (a locked store is usually free again soon).
FINAL_WRITE_TRIES = 5
FINAL_WRITE_PAUSE_S = 0.5


def _utcnow() -> dt.datetime:
    return dt.datetime.utcnow()


class Sender:
    def __init__(self, *, backoff: Sequence[float] | None = None, give_up_after: float | None = None,
                 poll_s: float | None = None, clock: Callable[[], dt.datetime] = _utcnow,
                 timeout: float = TIMEOUT_S):
        self.backoff = tuple(backoff if backoff is not None else outbox.BACKOFF_S)
        self.give_up_after = give_up_after if give_up_after is not None else outbox.GIVE_UP_AFTER_S
        self.poll_s = poll_s if poll_s is not None else outbox.POLL_S
        self.clock, self.timeout = clock, timeout
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="mail-sender", daemon=True)
        self._last_prune: dt.datetime | None = None

    def start(self) -> Sender:
        requeued = MailQueue.update(state="queued").where(MailQueue.state == "sending").execute()
        if requeued:
            log.warning("%d mail(s) left sending by a previous run queued again", requeued)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        outbox.wakeup.set()
        self._thread.join(timeout=self.timeout + 5)

    def _run(self) -> None:
        while not self._stop.is_set():
            outbox.wakeup.clear()
            try:
                self.run_once()
            except Exception:  # the sender must outlive a bad row or a locked store
                log.exception("mail queue run failed")
            outbox.wakeup.wait(self.poll_s)

    # -- one pass --------------------------------------------------------------------------------------

    def run_once(self) -> int:
        """Attempt every due row once; returns how many were attempted."""
        now = self.clock()
        self._maybe_prune(now)
        due = list(MailQueue.select(MailQueue.id).where((MailQueue.state == "queued")
                                                        & (MailQueue.next_attempt_at <= now))
                   .order_by(MailQueue.next_attempt_at, MailQueue.id).limit(BATCH))
        attempted = 0
        for item in due:
            if self._stop.is_set():
                break
            if self.attempt(item.id):
                attempted += 1
        return attempted

    def attempt(self, queue_id: int) -> bool:
        now = self.clock()
        claimed = MailQueue.update(state="sending", last_attempt_at=now).where(
            (MailQueue.id == queue_id) & (MailQueue.state == "queued")).execute()
        if not claimed:
            return False
        row = MailQueue.get_by_id(queue_id)
        profile = MailProfile.get_or_none(MailProfile.name == row.profile) if row.profile \
            else MailProfile.get_or_none(MailProfile.is_default == True)  # noqa: E712
        if profile is None:
            outcome = Outcome(False, "config", None, "",
                              f"no SMTP profile {row.profile}" if row.profile else "no default SMTP profile")
        else:
            outcome = deliver(profile, list(row.recipients), bytes(row.message), timeout=self.timeout)
        if outcome.ok:
            self._sent(row, outcome)
        else:
            self._failed(row, outcome)
        return True

    def _sent(self, row: MailQueue, outcome: Outcome) -> None:
        now = self.clock()
        self._write_outcome(row, "sent", dict(state="sent", sent_at=now, attempts=MailQueue.attempts + 1,
                                              message=b"", server_reply=outcome.message[:512], last_reason="",
                                              last_error=""))
        log.info("mail %d to %s sent: %s", row.id, ", ".join(row.recipients), outcome.message)
        if row.purpose == "event" and row.reference.isdecimal():
            from appliance.events.models import Event

            Event.update(emailed=True).where(Event.id == int(row.reference)).execute()
        if row.on_sent:
            callback = outbox.resolve_callback(row.on_sent)
            if callback is None:
                log.error("mail %d: on_sent %s cannot be imported", row.id, row.on_sent)
                return
            try:
                callback(row.id, row.purpose, row.reference)
            except Exception:
                log.exception("mail %d: on_sent %s failed", row.id, row.on_sent)

    def _failed(self, row: MailQueue, outcome: Outcome) -> None:
        from appliance.events import log as events

        now = self.clock()
        attempts = row.attempts + 1
        age = (now - row.created_at).total_seconds()
        give_up = outcome.permanent or age >= self.give_up_after
        delay = self.backoff[min(attempts - 1, len(self.backoff) - 1)] if self.backoff else self.poll_s
        values = {"attempts": attempts, "last_reason": outcome.reason, "last_error": outcome.message[:512]}
        if give_up:
            values["state"] = "failed"
        else:
            values.update(state="queued", next_attempt_at=now + dt.timedelta(seconds=delay))
        self._write_outcome(row, values["state"], values)
        to = ", ".join(row.recipients)
        details = {"queue_id": row.id, "reason": outcome.reason, "code": outcome.code, "attempts": attempts,
                   "to": to, "purpose": row.purpose, "reference": row.reference}
        log.warning("mail %d to %s failed (%s): %s", row.id, to, outcome.reason, outcome.message)
        if give_up:
            why = "refused for good" if outcome.permanent else f"still failing after {_span(age)}"
            events.record("mail.gave_up", f"mail:{row.id}",
                          f"Mail to {to} ({row.subject[:80]}) given up, {why}: {outcome.message}", **details)
        else:
            events.record("mail.send_failed", f"mail:{row.id}",
                          f"Mail to {to} ({row.subject[:80]}) not sent (attempt {attempts}), "
                          f"next attempt in {_span(delay)}: {outcome.message}", **details)

    def _write_outcome(self, row: MailQueue, state: str, values: dict) -> None:
        """Move the row out of "sending". If this write is lost (store locked), the row stays "sending"
        and is queued again at the next start: a sent mail would go twice. So try a few times, then say
        it loudly."""
        for attempt in range(1, FINAL_WRITE_TRIES + 1):
            try:
                MailQueue.update(**values).where(MailQueue.id == row.id).execute()
                return
            except Exception as exc:  # noqa: BLE001 -- peewee.OperationalError "database is locked", ...
                if attempt == FINAL_WRITE_TRIES:
                    log.critical("mail %d to %s: could not record it as %s after %d tries (%s); it stays "
                                 "'sending' and will be attempted again at the next start%s", row.id,
                                 ", ".join(row.recipients), state, attempt, exc,
                                 " (so it may arrive twice)" if state == "sent" else "")
                    raise
                log.warning("mail %d: recording it as %s failed (%s), trying again", row.id, state, exc)
                time.sleep(FINAL_WRITE_PAUSE_S)

    def _maybe_prune(self, now: dt.datetime) -> None:
        if self._last_prune is not None and (now - self._last_prune).total_seconds() < PRUNE_EVERY_S:
            return
        self._last_prune = now
        MailQueue.delete().where((MailQueue.state == "sent")
                                 & (MailQueue.sent_at < now - outbox.SENT_RETENTION)).execute()
        MailQueue.delete().where((MailQueue.state == "failed")
                                 & (MailQueue.last_attempt_at < now - outbox.FAILED_RETENTION)).execute()


def _span(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min"
    if seconds < 86400:
        return f"{seconds // 3600} h"
    return f"{seconds // 86400} d"


_running: Sender | None = None


def start_sender(**kwargs) -> Sender:
    """Start this process's sender (the web server calls this once; the store must be open)."""
    global _running
    if _running is None:
        _running = Sender(**kwargs).start()
    return _running


def stop_sender() -> None:
    global _running
    if _running is not None:
        _running.stop()
        _running = None
