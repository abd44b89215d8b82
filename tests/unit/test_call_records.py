"""One CDR row per call, even when Kamailio dispatches the same INVITE to two workers."""

from __future__ import annotations

from appliance.callcore.records import CallRecord
from appliance.cdr import Cdr, Disposition


def rows() -> list[Cdr]:
    return list(Cdr.select().order_by(Cdr.id))


def test_a_later_dispatch_takes_over_the_row_of_the_slow_worker(store):
    slow = CallRecord("call-1", "100", "Alice", "101", "w0")
    retried = CallRecord("call-1", "100", "Alice", "101", "w1", dispatch=2)
    # The slow worker then sees its copy of the call cancelled: the row is not its own any more.
    slow.finish(Disposition.CANCELLED, "487 Request Terminated")
    retried.answered()
    retried.finish(Disposition.ANSWERED, "200 OK (caller hung up)")
    [row] = rows()
    assert (row.call_id, row.worker, row.dispatch, row.disposition) == ("call-1", "w1", 2, "answered")
    assert row.answer is not None and row.end is not None
    assert row.start == slow.row.start


def test_a_slow_worker_arriving_after_the_retry_writes_nothing(store):
    retried = CallRecord("call-2", "100", "Alice", "101", "w1", dispatch=2)
    slow = CallRecord("call-2", "100", "Alice", "101", "w0")
    assert slow.stale and not retried.stale
    slow.answered()
    slow.finish(Disposition.CANCELLED, "487 Request Terminated")
    retried.finish(Disposition.BUSY, "486 Busy Here")
    [row] = rows()
    assert (row.worker, row.dispatch, row.disposition, row.answer) == ("w1", 2, "busy", None)


def test_a_call_id_reused_by_another_call_keeps_both_calls(store):
    first = CallRecord("call-3", "100", "Alice", "101", "w0")
    first.finish(Disposition.ANSWERED, "200 OK")
    second = CallRecord("call-3", "100", "Alice", "102", "w1")
    second.finish(Disposition.BUSY, "486 Busy Here")
    assert [(r.callee, r.disposition) for r in rows()] == [("101", "answered"), ("102", "busy")]
    assert rows()[1].call_id.startswith("call-3-")


def test_a_crashed_worker_does_not_close_the_row_its_retry_owns(store):
    from appliance.callcore.records import close_open_records

    CallRecord("call-4", "100", "Alice", "101", "w0")
    CallRecord("call-4", "100", "Alice", "101", "w1", dispatch=2)
    assert close_open_records("w0", "worker hung") == 0
    [row] = rows()
    assert (row.worker, row.end) == ("w1", None)
