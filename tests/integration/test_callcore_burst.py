"""Load at the edge of the warm pool: bursts of new calls, and a worker that stops answering.

`appliance run` (tests.support.stack.Stack) with 2 spare workers, real
Kamailio and real pjsua2 workers and phones.
"""

from __future__ import annotations

import json
import os
import signal
import time

import pytest

from appliance.numbering import ECHO_TEST
from tests.support.phone import TestPhone
from tests.support.stack import Stack

DOMAIN = "pbx.local"
USERS = {
    "100": ("Alice", "Martin", "Alice-Secret-Passw0rd"),
    "101": ("Bob", "Durand", "Bob-Secret-Passw0rd"),
}


@pytest.fixture
def stack(tmp_path):
    stack = Stack(tmp_path / "data", spare_workers=2).start()
    try:
        # Every caller is 127.0.0.1: lift the flood threshold above a burst's retransmissions.
        stack.set_flood_limit(1000)
        api = stack.admin_api()
        for extension, (first, last, password) in USERS.items():
            api.create_user(extension, first, last, password)
        stack.wait_workers_dispatched(2)
        yield stack
    finally:
        stack.stop()


@pytest.fixture
def phones(stack):
    made: list[TestPhone] = []

    def registered(extension: str) -> TestPhone:
        made.append(stack.registered_phone(extension, USERS[extension][2], f"phone-{extension}-{len(made)}",
                                           domain=DOMAIN))
        return made[-1]

    yield registered
    for phone in made:
        phone.close()


def pool_status(stack) -> dict:
    return json.loads((stack.settings.run_dir / "callcore.json").read_text())


def test_burst_of_8_calls_with_2_spare_workers_all_get_through(stack, phones):
    # 2 spare workers take 4 calls; the other 4 wait at the edge while the pool forks more.
    callers = [phones("100"), phones("100"), phones("101"), phones("101")]
    calls = []
    for _ in range(2):
        for phone in callers:
            calls.append((phone, phone.call(f"sip:{ECHO_TEST}@{DOMAIN}")))
    for phone, call in calls:
        phone.wait_for("confirmed", 15, call=call)
    assert len({w["index"] for w in pool_status(stack)["workers"]}) >= 4
    for phone, call in calls:
        phone.hangup(call=call)
    for phone, call in calls:
        phone.wait_for("disconnected", 10, call=call)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        rows = stack.cdrs()
        if len(rows) == 8 and all(r["end"] for r in rows):
            break
        time.sleep(0.1)
    assert sorted(r["disposition"] for r in rows) == ["answered"] * 8
    assert len({r["call_id"] for r in rows}) == 8


def worker_serving_next_call(stack) -> dict:
    """The worker Kamailio's dispatcher hands the next call to: the first active one with the least load."""
    from appliance.sipedge import rpc

    time.sleep(1)  # the pool's set of workers is settled
    targets = rpc.call(stack.settings, "dispatcher.list")["RECORDS"][0]["SET"]["TARGETS"]
    best = None
    for target in targets:
        dest = target["DEST"]
        if not dest["FLAGS"].startswith("A"):
            continue
        load = dest.get("RUNTIME", {}).get("DLGLOAD", 0)
        if best is None or load < best[0]:
            best = (load, int(dest["URI"].rsplit(":", 1)[1]))
    return next(w for w in pool_status(stack)["workers"] if w["port"] == best[1])


def worker_state(stack, port: int) -> dict:
    from appliance.sipedge import dispatcher

    uri = dispatcher.worker_uri(port)
    return next(w for w in dispatcher.workers(stack.settings) if w["uri"] == uri)


def place_call_on_stopped_worker(stack, phone) -> tuple[dict, int, int]:
    """SIGSTOP the worker the next call goes to, then call: Kamailio must retry elsewhere."""
    victim = worker_serving_next_call(stack)
    before = stack.last_cdr_id()
    os.kill(victim["pid"], signal.SIGSTOP)
    started = time.monotonic()
    call = phone.call(f"sip:{ECHO_TEST}@{DOMAIN}")
    phone.wait_for("confirmed", 15, call=call)
    # Kamailio waited its 3 s for a 100 Trying, then handed the call on.
    assert time.monotonic() - started > 2.5
    return victim, before, call


def test_call_retried_on_another_worker_has_one_cdr_and_the_hung_worker_is_replaced(stack, phones):
    alice = phones("100")
    victim, before, call = place_call_on_stopped_worker(stack, alice)
    try:
        assert worker_state(stack, victim["port"])["active"] is False
        time.sleep(1)
        alice.hangup(call=call)
        alice.wait_for("disconnected", 10, call=call)
        [row] = stack.closed_cdrs_after(before)
        assert row["disposition"] == "answered" and row["worker"] != victim["name"]
        assert row["dispatch"] == 2
        # The pool finds the stopped worker hung, kills it and starts a new one in its place.
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            status = {w["index"]: w for w in pool_status(stack)["workers"]}
            fresh = status.get(victim["index"])
            if fresh and fresh["pid"] != victim["pid"] and fresh["ready"]:
                break
            time.sleep(0.2)
        assert fresh and fresh["pid"] != victim["pid"] and fresh["ready"], status
        with pytest.raises(ProcessLookupError):
            os.kill(victim["pid"], 0)
    finally:
        try:
            os.kill(victim["pid"], signal.SIGCONT)
        except ProcessLookupError:
            pass
    assert "hung" in stack.log("callcore")
    deadline = time.monotonic() + 10
    while not worker_state(stack, victim["port"])["active"] and time.monotonic() < deadline:
        time.sleep(0.2)
    assert worker_state(stack, victim["port"])["active"]


def test_slow_worker_that_wakes_up_after_the_retry_leaves_no_cdr(stack, phones):
    alice = phones("100")
    victim, before, call = place_call_on_stopped_worker(stack, alice)
    # The worker wakes up before the pool gives up on it and finds the INVITE Kamailio retried.
    os.kill(victim["pid"], signal.SIGCONT)
    time.sleep(2)
    alice.hangup(call=call)
    alice.wait_for("disconnected", 10, call=call)
    [row] = stack.closed_cdrs_after(before)
    assert (row["disposition"], row["dispatch"]) == ("answered", 2)
    assert row["worker"] != victim["name"]
    # The woken worker's copy of the call never reached the phone.
    assert len(alice.saw("confirmed")) == 1
    # It is still the same process: it was slow, not hung.
    assert any(w["pid"] == victim["pid"] for w in pool_status(stack)["workers"])
