"""Trunks at the SIP edge, against a fake provider (a second Kamailio on loopback).

The real Kamailio of the appliance, rendered from the store; call-core workers are
stand-ins (FakeWorker) so that the headers the edge adds and removes are seen exactly.
"""

from __future__ import annotations

import socket
import time
import uuid

import pytest

from appliance import changes
from appliance.sipedge import dispatcher, reactions, rpc
from appliance.store import close_store
from appliance.trunks import edge
from appliance.trunks.service import create_trunk, update_trunk
from tests.support.kamailio import (
    Caller,
    FakeWorker,
    build_response,
    edge_settings,
    header_values,
    open_fresh_store,
    running_kamailio,
)
from tests.support.ports import free_port
from tests.support.provider import FakeProvider

ACCOUNT, PASSWORD = "acme-4410", "Pr0vider-Secret-77"
DOMAIN = "provider.test"


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    root = tmp_path_factory.mktemp("trunks-edge")
    settings = edge_settings(root / "data")
    open_fresh_store(settings)
    provider = FakeProvider(root / "provider", user=ACCOUNT, password=PASSWORD, realm=DOMAIN,
                            customer_port=settings.sip_port).start()
    # A provider that never answers: a port held open by nobody who reads it.
    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    silent.bind(("127.0.0.1", 0))
    try:
        with running_kamailio(settings, trunk_ping_s=2):
            # Trunks saved while the edge runs reach it through the reactions.
            reactions.subscribe(settings)
            worker = FakeWorker(settings, settings.worker_sip_port(0))
            dispatcher.publish_workers(settings, [worker.port])
            base = {"auth_user": ACCOUNT, "provider_domain": DOMAIN, "host": provider.host,
                    "password": PASSWORD, "register": True}
            create_trunk({"name": "acme", **base})
            create_trunk({"name": "acme-wrong", **base, "password": "Not-The-Right-One-1"})
            create_trunk({"name": "acme-down", **base, "host": f"127.0.0.1:{silent.getsockname()[1]}"})
            create_trunk({"name": "acme-nowhere", **base, "host": "sip.no-such-provider.invalid"})
            create_trunk({"name": "acme-small", **base, "register": False, "max_calls": 1, "keepalive": True,
                          "from_user": ACCOUNT, "outbound_caller_id": "+41445550100"})
            create_trunk({"name": "acme-quiet", **base, "register": False, "keepalive": True,
                          "host": f"127.0.0.1:{silent.getsockname()[1]}"})
            yield settings, provider, worker
            worker.stop()
    finally:
        silent.close()
        provider.stop()
        changes.unsubscribe_all()
        close_store()


def trunk(name: str):
    from appliance.trunks.models import Trunk

    return Trunk.get(Trunk.name == name)


def wait_state(settings, name: str, state: str, timeout: float = 25.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        current = edge.registration_state(settings, trunk(name))
        if current["state"] == state or time.monotonic() > deadline:
            return current
        time.sleep(0.3)


def worker_invite(settings, worker: FakeWorker, number: str, headers: list[tuple[str, str]],
                  timeout: float = 8.0):
    """A B-leg INVITE from a call-core worker through the edge; returns the final reply."""
    call_id = uuid.uuid4().hex
    server = f"{settings.bind}:{settings.sip_port}"
    text = (
        f"INVITE sip:{number}@{server} SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP 127.0.0.1:{worker.port};branch=z9hG4bK{uuid.uuid4().hex[:16]};rport\r\n"
        "Max-Forwards: 70\r\n"
        f"From: \"Call Core\" <sip:worker@127.0.0.1:{worker.port}>;tag=wb{call_id[:6]}\r\n"
        f"To: <sip:{number}@{server}>\r\n"
        f"Call-ID: {call_id}\r\n"
        "CSeq: 1 INVITE\r\n"
        f"Contact: <sip:worker@127.0.0.1:{worker.port}>\r\n"
        + "".join(f"{k}: {v}\r\n" for k, v in headers)
        + "Content-Length: 0\r\n\r\n"
    )
    worker.sock.sendto(text.encode(), (settings.bind, settings.sip_port))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            response = worker.responses.get(timeout=max(0.01, deadline - time.monotonic()))
        except Exception:
            return None
        if response.status >= 200 and response.header("Call-ID") == call_id:
            return response
    return None


def hang_up(caller: Caller, answer):
    """BYE along the route set of a call through two proxies (the provider's, then ours):
    the Record-Route list reversed, as a UAC does (Caller.bye keeps it as received)."""
    import re

    caller.cseq += 1
    host, port = caller.local
    target = re.search(r"<([^>]+)>", answer.header("Contact")).group(1)
    routes = [v for k, v in answer.headers if k.lower() == "record-route"]
    routes = [r.strip() for value in routes for r in value.split(",")][::-1]
    headers = [
        ("Via", f"SIP/2.0/UDP {host}:{port};branch=z9hG4bK{uuid.uuid4().hex[:16]};rport"),
        ("Max-Forwards", "70"), ("From", answer.header("From")), ("To", answer.header("To")),
        ("Call-ID", answer.header("Call-ID")), ("CSeq", f"{caller.cseq} BYE"),
    ] + [("Route", r) for r in routes]
    text = f"BYE {target} SIP/2.0\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers)
    caller.sock.sendto((text + "Content-Length: 0\r\n\r\n").encode(), caller.server)
    return caller.final_response(3.0, answer.header("Call-ID"))


# -- registration -------------------------------------------------------------------


def test_trunk_registers_at_the_provider_and_the_edge_says_registered(lab):
    settings, provider, _ = lab
    state = wait_state(settings, "acme", "registered")
    assert state["state"] == "registered", state
    assert state["expires_in"] > 0
    # The provider reaches us at our registration's Contact: a per-trunk token on our SIP port.
    contact = provider.registered_contact()
    assert contact and contact.endswith(f"@127.0.0.1:{settings.sip_port}")
    assert edge.test_connection(settings, trunk("acme"))["result"] == "ok"


def test_wrong_password_is_reported_as_credentials_and_registration_backs_off(lab):
    settings, provider, _ = lab
    result = edge.test_connection(settings, trunk("acme-wrong"))
    assert result["ok"] is False
    assert result["result"] == "credentials", result

    state = wait_state(settings, "acme-wrong", "failed")
    assert state["reason"] == "credentials", state
    # It waits before trying again, so that the provider does not ban the appliance.
    assert 0 < state["retry_in"] <= 60
    assert "password" in state["detail"]


def test_when_the_back_off_ends_the_edge_tries_again_then_waits_twice_as_long(lab):
    settings, provider, _ = lab
    assert wait_state(settings, "acme-wrong", "failed")["reason"] == "credentials"
    refused = int(provider.seen("bad_passwords"))
    # Bring the end of the back-off forward instead of waiting a minute.
    rpc.call(settings, "htable.sets", "regbackoff", "acme-wrong", f"{int(time.time())}|1")
    deadline = time.monotonic() + 20
    while int(provider.seen("bad_passwords")) == refused and time.monotonic() < deadline:
        time.sleep(0.3)
    assert int(provider.seen("bad_passwords")) == refused + 1
    deadline = time.monotonic() + 10
    while True:
        state = edge.registration_state(settings, trunk("acme-wrong"))
        if (state["retry_in"] or 0) > 60 or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    assert state["reason"] == "credentials"
    assert 60 < state["retry_in"] <= 120, state
    assert "2 failure(s) in a row" in state["detail"]


def test_state_changes_are_written_to_the_event_log(lab):
    settings, _, _ = lab
    from appliance.events.models import Event

    assert wait_state(settings, "acme", "registered")["state"] == "registered"
    assert wait_state(settings, "acme-nowhere", "failed")["reason"] == "dns"
    before = Event.select().count()
    known = edge.record_state_changes(settings, {})
    events = {(e.kind, e.subject) for e in Event.select().where(Event.id > 0).order_by(Event.id)[before:]}
    assert ("trunk.registered", "acme") in events
    assert ("trunk.dns_failed", "acme-nowhere") in events
    # Nothing changed since for these two: nothing more is written about them.
    about = Event.select().where(Event.subject.in_(["acme", "acme-nowhere"]))
    count = about.count()
    edge.record_state_changes(settings, known)
    assert about.count() == count


def test_unreachable_provider_is_reported_as_network(lab):
    settings, _, _ = lab
    result = edge.test_connection(settings, trunk("acme-down"))
    assert result["result"] == "network", result
    state = wait_state(settings, "acme-down", "failed")
    assert state["reason"] == "network", state


def test_unresolvable_provider_name_is_reported_as_dns(lab):
    settings, _, _ = lab
    result = edge.test_connection(settings, trunk("acme-nowhere"))
    assert result["result"] == "dns", result
    state = wait_state(settings, "acme-nowhere", "failed")
    assert state["reason"] == "dns", state


def test_provider_refusing_the_address_is_reported_as_rejected(lab, monkeypatch):
    settings, provider, _ = lab
    # The test's REGISTER leaves from a port we choose, which the provider refuses.
    port = free_port()
    real_bind = socket.socket.bind

    def bind(sock, address):
        if sock.type == socket.SOCK_DGRAM and address[1] == 0:
            address = (address[0] or "127.0.0.1", port)
        return real_bind(sock, address)

    provider.refuse_port(port)
    monkeypatch.setattr(socket.socket, "bind", bind)
    try:
        result = edge.test_connection(settings, trunk("acme"))
    finally:
        monkeypatch.undo()
        provider.refuse_port(None)
    assert (result["result"], result["code"]) == ("rejected", 403), result
    assert "403" in result["detail"]


def test_keepalives_tell_whether_a_trunk_without_registration_answers(lab):
    settings, _, _ = lab
    deadline = time.monotonic() + 20
    while True:
        small = edge.registration_state(settings, trunk("acme-small"))
        quiet = edge.registration_state(settings, trunk("acme-quiet"))
        if ("answers" in small["detail"] and quiet["state"] == "failed") or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    assert small["state"] == "unregistered" and "answers keep-alives (200)" in small["detail"], small
    assert (quiet["state"], quiet["reason"]) == ("failed", "network"), quiet


def test_options_without_registration_reaches_the_provider(lab):
    settings, provider, _ = lab
    result = edge.test_connection(settings, trunk("acme-small"))
    assert (result["result"], result["method"], result["code"]) == ("ok", "OPTIONS", 200), result
    assert result["target"] == provider.host


# -- calls ------------------------------------------------------------------------------


def test_worker_call_with_trunk_header_reaches_the_provider_authenticated(lab):
    settings, provider, worker = lab
    provider.answer_with(486)
    response = worker_invite(settings, worker, "+41449876543", [
        ("X-AP-Trunk", "acme"), ("X-AP-Caller-Name", "Alice Martin"), ("X-AP-Caller-Number", "+41445550101"),
    ])
    # The provider's final answer comes back unchanged: the worker decides about failover.
    assert response is not None and response.status == 486
    assert provider.seen("auth_user") == ACCOUNT
    assert provider.seen("ruri") == f"sip:+41449876543@{DOMAIN}"
    assert "Alice Martin" in provider.seen("from") and "+41445550101@" in provider.seen("from")
    assert "+41445550101@" in provider.seen("pai")


def test_anonymous_call_hides_the_caller_but_asserts_it_to_the_provider(lab):
    settings, provider, worker = lab
    provider.answer_with(486)
    response = worker_invite(settings, worker, "+41449876543", [
        ("X-AP-Trunk", "acme"), ("X-AP-Caller-Number", "+41445550101"), ("X-AP-Privacy", "id"),
    ])
    assert response.status == 486
    assert "anonymous@anonymous.invalid" in provider.seen("from")
    assert provider.seen("privacy") == "id"
    assert "+41445550101@" in provider.seen("pai")


def test_trunk_from_user_identifies_the_account_and_caller_id_goes_in_pai(lab):
    settings, provider, worker = lab
    provider.answer_with(503)
    response = worker_invite(settings, worker, "0449876543", [("X-AP-Trunk", "acme-small")])
    assert response.status == 503
    assert f"sip:{ACCOUNT}@{DOMAIN}" in provider.seen("from")
    assert "+41445550100@" in provider.seen("pai")


def test_unknown_trunk_is_refused_to_the_worker(lab):
    settings, _, worker = lab
    response = worker_invite(settings, worker, "0449876543", [("X-AP-Trunk", "no-such-trunk")])
    assert response.status == 404


def test_over_the_trunk_channel_limit_the_worker_gets_503_trunk_busy(lab):
    settings, provider, worker = lab
    # The first call rings at the provider and stays up: the trunk's one channel is taken.
    first = worker_invite(settings, worker, "+18005550000", [("X-AP-Trunk", "acme-small")], timeout=1.5)
    assert first is None
    assert edge.calls_in_use(settings, "acme-small") == 1
    second = worker_invite(settings, worker, "0449876543", [("X-AP-Trunk", "acme-small")])
    assert (second.status, second.reason) == (503, "Trunk Busy")
    # Another trunk is not affected.
    provider.answer_with(486)
    assert worker_invite(settings, worker, "0449876543", [("X-AP-Trunk", "acme")]).status == 486


def test_provider_call_to_our_registration_reaches_a_worker_with_the_trunk(lab):
    settings, provider, worker = lab
    assert wait_state(settings, "acme", "registered")["state"] == "registered"
    before = len(worker.invites)
    pstn = type(settings)(bind="127.0.0.1", sip_port=provider.port)
    with Caller(pstn) as caller:
        response = caller.invite("+41445550123", None, from_user="+41791112233",
                                 extra=[("X-AP-Caller", "101"), ("X-AP-Trunk", "spoofed")])
        assert response is not None and response.status == 200
        assert hang_up(caller, response).status == 200
    [invite] = worker.invites[before:]
    assert header_values(invite, "X-AP-Trunk") == ["acme"]
    assert header_values(invite, "X-AP-Caller") == []
    # The number called, not our Contact's token; the provider's To is kept.
    assert invite.split(" ", 2)[1].startswith("sip:+41445550123@")
    assert "+41445550123@" in header_values(invite, "To")[0]


def test_call_from_an_ip_authenticated_provider_address_needs_no_digest(lab):
    settings, _, worker = lab
    create_trunk({"name": "carrier", "host": "carrier.example.com", "register": False, "ip_auth": ["127.0.0.3"]})
    before = len(worker.invites)
    with Caller(settings, source_ip="127.0.0.3") as carrier:
        response = carrier.invite("0445550199", None, from_user="0791112233")
        assert response.status == 200
        # Hanging up frees the worker's slot (the edge counts calls per worker).
        assert carrier.bye(response).status == 200
    [invite] = worker.invites[before:]
    assert header_values(invite, "X-AP-Trunk") == ["carrier"]
    assert invite.startswith("INVITE sip:0445550199@")


def test_provider_can_forward_our_call_to_a_phone_of_its_own(lab):
    settings, provider, worker = lab
    with Caller(settings) as callee:
        provider.forward_to(f"sip:callee@127.0.0.1:{callee.local[1]}")
        try:
            import threading

            seen: list[str] = []

            def answer():
                request = callee.receive_request(timeout=5)
                if request:
                    seen.append(request)
                    callee.sock.sendto(build_response(request, 486, "Busy Here", to_tag="c").encode(),
                                       (provider_address := ("127.0.0.1", provider.port)))
                    assert provider_address

            thread = threading.Thread(target=answer)
            thread.start()
            response = worker_invite(settings, worker, "+41449876500", [("X-AP-Trunk", "acme")])
            thread.join()
        finally:
            provider.forward_to(None)
    assert response.status == 486
    assert seen and seen[0].startswith("INVITE sip:callee@127.0.0.1:")


def test_unknown_source_cannot_pass_for_a_trunk(lab):
    settings, provider, worker = lab
    before = len(worker.invites)
    token = provider.registered_contact().split(":", 1)[1].split("@", 1)[0]
    with Caller(settings) as stranger:
        wrong = token[:-1] + ("1" if token.endswith("0") else "0")
        guessed = stranger.invite(wrong, None, from_user="+41791112233")
    assert guessed.status == 407  # treated as a phone: must authenticate
    assert len(worker.invites) == before


def test_changed_password_reaches_the_edge_at_once(lab):
    settings, _, _ = lab
    update_trunk("acme-wrong", {"password": PASSWORD})
    state = wait_state(settings, "acme-wrong", "registered")
    assert state["state"] == "registered", state


# -- dynamic trunk: the other PBX registers to us ----------------------------------------


def test_dynamic_trunk_registers_to_us_and_calls_both_ways(lab):
    settings, _, worker = lab
    create_trunk({"name": "branch", "host": "dynamic", "auth_user": "branch-pbx", "password": PASSWORD,
                  "register": False})
    with Caller(settings) as other_pbx:
        assert other_pbx.register("branch-pbx", "Wrong-Password-99").status == 403
        assert other_pbx.register("branch-pbx", PASSWORD).status == 200
        assert edge.registration_state(settings, trunk("branch"))["state"] == "registered"

        # Out: to the contact the other PBX registered, the number as user.
        answered: list[str] = []

        def answer_busy():
            request = other_pbx.receive_request(timeout=5)
            if request:
                answered.append(request)
                other_pbx.reply(request, 486, "Busy Here")

        import threading

        thread = threading.Thread(target=answer_busy)
        thread.start()
        response = worker_invite(settings, worker, "+41445550177", [("X-AP-Trunk", "branch")])
        thread.join()
        assert response.status == 486
        [invite] = answered
        assert invite.startswith("INVITE sip:+41445550177@127.0.0.1:")

        # In: authenticated as the trunk, not as a phone.
        before = len(worker.invites)
        reply = other_pbx.invite("+41445550123", PASSWORD, from_user="+41791112233", username="branch-pbx")
        assert reply.status == 200
        assert other_pbx.bye(reply).status == 200
        [inbound] = worker.invites[before:]
        assert header_values(inbound, "X-AP-Trunk") == ["branch"]
        assert header_values(inbound, "X-AP-Caller") == []


# -- the whole appliance -------------------------------------------------------------


def test_trunk_added_in_the_running_appliance_registers_and_its_test_passes(tmp_path):
    from tests.support.stack import Stack

    stack = Stack(tmp_path / "data", spare_workers=1).start()
    provider = None
    try:
        provider = FakeProvider(tmp_path / "provider", user=ACCOUNT, password=PASSWORD, realm=DOMAIN,
                                customer_port=stack.settings.sip_port).start()
        api = stack.admin_api()
        status, _ = api.request("POST", "/api/v1/trunks", {
            "name": "acme", "auth_user": ACCOUNT, "provider_domain": DOMAIN, "host": provider.host,
            "password": PASSWORD, "register": True})
        assert status == 201
        deadline = time.monotonic() + 25
        while True:
            status, body = api.request("GET", "/api/v1/trunks/acme")
            if body["live"]["state"] == "registered" or time.monotonic() > deadline:
                break
            time.sleep(0.3)
        assert body["live"]["state"] == "registered", body["live"]
        assert provider.registered_contact().endswith(f"@127.0.0.1:{stack.settings.sip_port}")
        status, result = api.request("POST", "/api/v1/trunks/acme/test", {})
        assert (status, result["result"]) == (200, "ok"), result
    finally:
        if provider:
            provider.stop()
        stack.stop()
