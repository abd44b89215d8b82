"""Load at the edge of the warm pool: bursts of new calls, and a worker that stops answering.

`appliance run` (tests.support.stack.Stack) with 2 spare workers, real
Kamailio and real pjsua2 workers and phones.
"""

from __future__ import annotations

import json
import sqlite3
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
        wait_dispatched(stack, 2)
        yield stack
    finally:
        stack.stop()


@pytest.fixture
def phones(stack):
    made: list[TestPhone] = []

    def registered(extension: str) -> TestPhone:
        phone = TestPhone(f"phone-{extension}-{len(made)}")
        made.append(phone)
        status = phone.register(extension, USERS[extension][2], "127.0.0.1", stack.settings.sip_port,
                                domain=DOMAIN)
        assert status == 200, f"{extension} could not register: {status}"
        return phone

    yield registered
    for phone in made:
        phone.close()


def wait_dispatched(stack, count: int, timeout: float = 30) -> list[dict]:
    """Until Kamailio's dispatcher has `count` workers it can send calls to."""
    from appliance.sipedge import dispatcher

    deadline = time.monotonic() + timeout
    while True:
        active = [w for w in dispatcher.workers(stack.settings) if w["active"] and not w["disabled"]]
        if len(active) >= count:
            return active
        if time.monotonic() > deadline:
            raise AssertionError(f"Kamailio knows {len(active)} workers, wanted {count}")
        time.sleep(0.2)


def pool_status(stack) -> dict:
    return json.loads((stack.settings.run_dir / "callcore.json").read_text())


def cdrs(stack) -> list[dict]:
    db = sqlite3.connect(str(stack.settings.db_path), timeout=10)
    db.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in db.execute("SELECT * FROM cdr ORDER BY id")]
    finally:
        db.close()


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
        rows = cdrs(stack)
        if len(rows) == 8 and all(r["end"] for r in rows):
            break
        time.sleep(0.1)
    assert sorted(r["disposition"] for r in rows) == ["answered"] * 8
    assert len({r["call_id"] for r in rows}) == 8
