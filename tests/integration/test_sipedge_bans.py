"""Banned IP addresses in the event log, with the real stack: a SIP client that keeps failing digest
authentication is banned by the edge, and GET /api/v1/events shows sip.ip_banned; lifting the ban
through the API shows sip.ip_unbanned (the web process watches the edge's ban table)."""

from __future__ import annotations

import time

import pytest

from tests.support.kamailio import SipClient
from tests.support.stack import Stack

PASSWORD = "Phone-Secret-Xy9q"
ATTACKER = "127.0.0.9"


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    stack = Stack(tmp_path_factory.mktemp("bans") / "data", spare_workers=1).start()
    try:
        yield stack
    finally:
        stack.stop()


def wait_events(api, kind: str, subject: str, timeout: float = 30) -> list[dict]:
    deadline = time.monotonic() + timeout
    while True:
        status, events = api.request("GET", f"/api/v1/events?kind={kind}&subject={subject}")
        assert status == 200, events
        if events or time.monotonic() > deadline:
            return events
        time.sleep(0.5)


def test_an_address_failing_authentication_is_banned_and_the_ban_and_its_end_are_events(stack):
    api = stack.admin_api()
    status, body = api.request("PUT", "/api/v1/settings", {"ban_failures": 3, "ban_window_s": 60})
    assert status == 200, body
    api.create_user("201", "Alice", "Martin", PASSWORD)
    with SipClient(stack.settings, source_ip=ATTACKER) as attacker:
        for _ in range(3):
            assert attacker.register("201", "Wrong-Passw0rd-1").status == 403
        # Banned: no answer any more, even with the right password.
        assert attacker.register("201", PASSWORD, timeout=1.0) is None

        [banned] = wait_events(api, "sip.ip_banned", ATTACKER)
        assert (banned["severity"], banned["details"]["failures"]) == ("warning", 3)
        assert "3 authentication failures" in banned["message"]
        assert wait_events(api, "sip.ip_unbanned", ATTACKER, timeout=0) == []

        status, _ = api.request("DELETE", f"/api/v1/bans/{ATTACKER}")
        assert status == 204
        [unbanned] = wait_events(api, "sip.ip_unbanned", ATTACKER)
        assert unbanned["details"]["reason"] == "lifted"
        assert attacker.register("201", PASSWORD).status == 200
    # Recorded once each.
    assert len(wait_events(api, "sip.ip_banned", ATTACKER, timeout=0)) == 1
