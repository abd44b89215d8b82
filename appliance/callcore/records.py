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

    One row per call, even when Kamailio hands a call to a second worker
    because the first did not say 100 Trying in time: both workers then see
    the same Call-ID, the later one with a higher `dispatch` (Kamailio's
    X-AP-Dispatch header). The later dispatch takes the row over; the earlier
    one finds the row taken (`stale`) and writes nothing, whichever worker
    got there first. Every later write names the worker and dispatch that
    own the row, so a stale worker can never overwrite it.

    Best effort: a store that cannot be written (locked, full disk) is
    logged and the call goes on; the row is inserted whole at the end if
    it could not be created at the start.
    """

    def __init__(self, call_id: str, caller: str, caller_name: str, callee: str, worker: str,
                 dispatch: int = 1):
        self.row = Cdr(call_id=(call_id or uuid.uuid4().hex)[:64], caller=caller[:64],
                       caller_name=caller_name[:128], callee=callee[:64], start=_now(), worker=worker,
                       dispatch=dispatch)
        # A later dispatch of this call owns its row: this worker's copy of the call is void.
        self.stale = False
        self.saved = self._insert()

    def _insert(self) -> bool:
        try:
            try:
                self.row.save(force_insert=True)
            except peewee.IntegrityError:
                return self._same_call_id()
            return True
        except peewee.PeeweeException:
            log.exception("CDR of call %s not written", self.row.call_id)
            return False

    def _same_call_id(self) -> bool:
        """The Call-ID has a row already: a dispatch of this call, or another call reusing it."""
        row = self.row
        taken = Cdr.update(worker=row.worker, dispatch=row.dispatch, answer=None, end=None, billsec=0,
                           disposition=Disposition.IN_PROGRESS, hangup_cause="").where(
            (Cdr.call_id == row.call_id) & (Cdr.dispatch < row.dispatch)).execute()
        existing = Cdr.get_or_none(Cdr.call_id == row.call_id)
        if taken and existing is not None:
            log.warning("call %s dispatched again (dispatch %d): its CDR now belongs to %s",
                        row.call_id, row.dispatch, row.worker)
            row.id, row.start = existing.id, existing.start
            return True
        if existing is not None and existing.dispatch > row.dispatch:
            log.warning("call %s: stale dispatch %d, dispatch %d on %s owns the call", row.call_id,
                        row.dispatch, existing.dispatch, existing.worker)
            self.stale = True
            return False
        # The same Call-ID for another call (a phone reusing it): keep both calls.
        row.call_id = f"{row.call_id[:40]}-{uuid.uuid4().hex[:16]}"
        row.save(force_insert=True)
        return True

    def _mine(self):
        return (Cdr.id == self.row.id) & (Cdr.worker == self.row.worker) & (Cdr.dispatch == self.row.dispatch)

    def answered(self, _channel=None) -> None:
        if self.row.answer is not None or self.stale:
            return
        self.row.answer = _now()
        if self.saved:
            try:
                Cdr.update(answer=self.row.answer).where(self._mine()).execute()
            except peewee.PeeweeException:
                log.exception("answer time of call %s not written", self.row.call_id)

    def finish(self, disposition: Disposition, cause: str) -> None:
        if self.stale:
            return
        end = _now()
        billsec = 0
        if self.row.answer is not None and disposition == Disposition.ANSWERED:
            billsec = int(round((end - self.row.answer).total_seconds()))
        values = {"end": end, "billsec": billsec, "disposition": disposition, "hangup_cause": cause[:128]}
        if not self.saved:
            for name, value in values.items():
                setattr(self.row, name, value)
            self.saved = self._insert()
            if not self.saved:
                return
        try:
            Cdr.update(**values).where(self._mine()).execute()
        except peewee.PeeweeException:
            log.exception("end of call %s not written", self.row.call_id)
            return
        price_if_outbound(self.row.call_id)


def price_if_outbound(call_id: str) -> None:
    """An answered call out through a trunk gets its cost from the trunk's price list (appliance.prices),
    even one shorter than a second: its connect charge and minimum duration are due."""
    row = Cdr.get_or_none(Cdr.call_id == call_id)
    if row is None or row.direction != "outbound" or row.answer is None:
        return
    try:
        from appliance.prices import service as prices

        prices.on_call_ended(row)
    except Exception:
        log.exception("cost of call %s not computed", call_id)


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
