"""The CDR of a call, written from the call's thread (never from a pjsua2 callback)."""

from __future__ import annotations

import datetime as dt
import logging
import uuid

import peewee

from appliance.callcore.channel import DialOutcome
from appliance.cdr import Cdr, Disposition

log = logging.getLogger(__name__)


def _now() -> dt.datetime:
    return dt.datetime.utcnow()


class CallRecord:
    """One `Cdr` row: created open (disposition in_progress, end NULL), completed at the end.

    Best effort: a store that cannot be written (locked, full disk) is
    logged and the call goes on; the row is inserted whole at the end if
    it could not be created at the start.
    """

    def __init__(self, call_id: str, caller: str, caller_name: str, callee: str, worker: str):
        self.row = Cdr(call_id=(call_id or uuid.uuid4().hex)[:64], caller=caller[:64],
                       caller_name=caller_name[:128], callee=callee[:64], start=_now(), worker=worker)
        self.saved = self._insert()

    def _insert(self) -> bool:
        try:
            try:
                self.row.save(force_insert=True)
            except peewee.IntegrityError:  # the same Call-ID seen twice: keep both calls
                self.row.call_id = f"{self.row.call_id[:40]}-{uuid.uuid4().hex[:16]}"
                self.row.save(force_insert=True)
            return True
        except peewee.PeeweeException:
            log.exception("CDR of call %s not written", self.row.call_id)
            return False

    def answered(self, _channel=None) -> None:
        if self.row.answer is not None:
            return
        self.row.answer = _now()
        if self.saved:
            try:
                Cdr.update(answer=self.row.answer).where(Cdr.id == self.row.id).execute()
            except peewee.PeeweeException:
                log.exception("answer time of call %s not written", self.row.call_id)

    def finish(self, disposition: Disposition, cause: str) -> None:
        end = _now()
        billsec = 0
        if self.row.answer is not None and disposition == Disposition.ANSWERED:
            billsec = int(round((end - self.row.answer).total_seconds()))
        values = {"end": end, "billsec": billsec, "disposition": disposition, "hangup_cause": cause[:128]}
        if not self.saved:
            for name, value in values.items():
                setattr(self.row, name, value)
            self._insert()
            return
        try:
            Cdr.update(**values).where(Cdr.id == self.row.id).execute()
        except peewee.PeeweeException:
            log.exception("end of call %s not written", self.row.call_id)


def disposition_of(answered: bool, caller_gave_up: bool, last_dial) -> Disposition:
    """How the caller experienced the call: answered, busy, no answer, cancelled, failed."""
    if answered:
        return Disposition.ANSWERED
    if caller_gave_up:
        return Disposition.CANCELLED
    outcome = last_dial.outcome if last_dial is not None else None
    if outcome == DialOutcome.BUSY:
        return Disposition.BUSY
    if outcome == DialOutcome.NO_ANSWER:
        return Disposition.NO_ANSWER
    return Disposition.FAILED


def close_open_records(worker: str, cause: str) -> int:
    """Mark the calls still open on `worker` as failed (the worker is gone); return how many."""
    return Cdr.update(end=_now(), disposition=Disposition.FAILED, hangup_cause=cause).where(
        Cdr.end.is_null() & (Cdr.worker == worker)).execute()
