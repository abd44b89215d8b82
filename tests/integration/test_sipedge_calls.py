"""Calls through the SIP edge: dispatch to workers (free slots only), caller presentation, B-legs."""

from __future__ import annotations

import threading
import time

import pytest

from appliance import changes
from appliance.sipedge import dispatcher, rpc
from appliance.store import close_store
from appliance.users import create_user
from tests.support.kamailio import (
    Caller,
    FakeWorker,
    digest,
    edge_settings,
    header_values,
    open_fresh_store,
    parse_response,
    running_kamailio,
)

PASSWORD_A = "Tr1cky-Horse-Battery"
PASSWORD_B = "Gl4ss-Window-Orange"


@pytest.fixture
def edge(tmp_path):
    settings = edge_settings(tmp_path / "data")
    open_fresh_store(settings)
    for extension, password, first in (("201", PASSWORD_A, "Alice"), ("202", PASSWORD_B, "Bob")):
        create_user({"extension": extension, "first_name": first, "last_name": "Martin", "sip_password": password})
    with running_kamailio(settings):
        yield settings
    changes.unsubscribe_all()
    close_store()


@pytest.fixture
def workers(edge):
    started: list[FakeWorker] = []

    def start(count: int) -> list[FakeWorker]:
        for _ in range(count):
            started.append(FakeWorker(edge, edge.worker_sip_port(len(started))))
        dispatcher.publish_workers(edge, [w.port for w in started])
        return started

    yield start
    for worker in started:
        if worker.running:
            worker.stop()



def test_when_no_worker_then_new_call_gets_503_with_retry_after(edge):
    with Caller(edge) as phone:
        response = phone.invite("202", PASSWORD_A, from_user="201")
    assert response.status == 503
    assert response.header("Retry-After")


def test_call_from_phone_reaches_worker_with_authenticated_caller(edge, workers):
    [worker] = workers(1)
    with Caller(edge) as phone:
        challenge = phone.invite("202", None, from_user="201")
        assert challenge.status == 407
        response = phone.invite("202", PASSWORD_A, from_user="201", extra=[("X-AP-Caller", "999")])
    assert response.status == 200
    [invite] = worker.invites
    # The phone's own X-AP-Caller is replaced by the authenticated extension.
    assert header_values(invite, "X-AP-Caller") == ["201"]
    assert header_values(invite, "Record-Route")
    assert not header_values(invite, "Proxy-Authorization")


def test_when_caller_id_spoofed_then_403(edge, workers):
    [worker] = workers(1)
    with Caller(edge) as phone:
        response = phone.invite("202", PASSWORD_A, from_user="202", username="201")
    assert response.status == 403
    assert worker.invites == []


def test_when_password_wrong_on_invite_then_403_same_as_unknown_user(edge, workers):
    workers(1)
    with Caller(edge, source_ip="127.0.0.2") as phone:
        known = phone.invite("202", "Wrong-Passw0rd-1", from_user="201")
        unknown = phone.invite("202", "Wrong-Passw0rd-1", from_user="299")
    assert (known.status, known.reason) == (unknown.status, unknown.reason) == (403, "Forbidden")


def test_worker_takes_two_calls_then_the_next_worker_then_503(edge, workers):
    pool = workers(2)
    with Caller(edge) as phone:
        answers = [phone.invite("202", PASSWORD_A, from_user="201") for _ in range(4)]
        assert [a.status for a in answers] == [200, 200, 200, 200]
        assert sorted(len(w.invites) for w in pool) == [2, 2]

        # Every slot is taken: a new call is refused, not squeezed in.
        full = phone.invite("202", PASSWORD_A, from_user="201")
        assert full.status == 503
        assert full.header("Retry-After")

        # Hanging up frees a slot on the worker that held the call.
        assert phone.bye(answers[0]).status == 200
        again = phone.invite("202", PASSWORD_A, from_user="201")
        assert again.status == 200
    assert sum(len(w.invites) for w in pool) == 5


def test_when_every_slot_is_taken_a_new_call_waits_for_a_new_worker(edge, workers):
    [first] = workers(1)
    with Caller(edge) as phone:
        answers = [phone.invite("202", PASSWORD_A, from_user="201") for _ in range(2)]
        assert [a.status for a in answers] == [200, 200]
        result = {}
        started = time.monotonic()
        thread = threading.Thread(target=lambda: result.update(
            reply=phone.invite("202", PASSWORD_A, from_user="201"), at=time.monotonic()))
        thread.start()
        # The pool forks a worker meanwhile: the held call goes to it, no 503.
        time.sleep(0.6)
        published = time.monotonic()
        [_, second] = workers(1)
        thread.join(10)
    assert result["reply"].status == 200
    assert published - started < result["at"] - started < 2.5
    assert len(first.invites) == 2 and len(second.invites) == 1


def test_held_call_is_told_trying_then_503_when_no_slot_frees_up(edge, workers):
    workers(1)
    with Caller(edge) as phone:
        for _ in range(2):
            assert phone.invite("202", PASSWORD_A, from_user="201").status == 200
        first = phone.invite("202", None, from_user="201")
        auth = digest(first, "INVITE", phone.last_call[1], "201", PASSWORD_A)
        started = time.monotonic()
        phone._invite(phone.last_call[1], "202", "201", phone.last_call[0], [("Proxy-Authorization", auth)], 0)
        replies = []
        while time.monotonic() - started < 6:
            phone.sock.settimeout(0.5)
            try:
                data, _ = phone.sock.recvfrom(65535)
            except TimeoutError:
                continue
            reply = parse_response(data.decode(errors="replace"))
            replies.append((reply.status, time.monotonic() - started, reply))
            if reply.status >= 200:
                break
    assert replies[0][0] == 100 and replies[0][1] < 0.5
    status, waited, final = replies[-1]
    assert status == 503 and final.header("Retry-After")
    assert 2.0 < waited < 4.0


def test_held_call_cancelled_by_the_phone_gets_487(edge, workers):
    workers(1)
    with Caller(edge) as phone:
        for _ in range(2):
            assert phone.invite("202", PASSWORD_A, from_user="201").status == 200
        first = phone.invite("202", None, from_user="201")
        call_id, uri, _ = phone.last_call
        auth = digest(first, "INVITE", uri, "201", PASSWORD_A)
        host, port = phone.local
        phone.cseq += 1
        common = [
            ("Via", f"SIP/2.0/UDP {host}:{port};branch=z9hG4bKheld{call_id[:8]};rport"),
            ("Max-Forwards", "70"),
            ("From", f"<sip:201@{phone.server[0]}>;tag={call_id[:8]}"),
            ("To", f"<sip:202@{phone.server[0]}>"),
            ("Call-ID", call_id),
        ]

        def send(method: str, extra: list[tuple[str, str]]) -> None:
            headers = common + [("CSeq", f"{phone.cseq} {method}")] + extra
            text = f"{method} {uri} SIP/2.0\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers)
            phone.sock.sendto((text + "Content-Length: 0\r\n\r\n").encode(), phone.server)

        send("INVITE", [("Contact", f"<sip:201@{host}:{port}>"), ("Proxy-Authorization", auth)])
        time.sleep(0.5)
        send("CANCEL", [])
        finals = {}
        deadline = time.monotonic() + 5
        while len(finals) < 2 and time.monotonic() < deadline:
            phone.sock.settimeout(0.5)
            try:
                data, _ = phone.sock.recvfrom(65535)
            except TimeoutError:
                continue
            reply = parse_response(data.decode(errors="replace"))
            if reply and reply.status >= 200:
                finals[reply.header("CSeq").split()[1]] = (reply.status, time.monotonic())
    assert finals["CANCEL"][0] == 200
    assert finals["INVITE"][0] == 487


def test_call_retried_after_a_silent_worker_waits_for_a_slot_on_a_full_one(edge, workers):
    [busy] = workers(1)
    with Caller(edge) as phone:
        answers = [phone.invite("202", PASSWORD_A, from_user="201") for _ in range(2)]
        assert [a.status for a in answers] == [200, 200]
        # A new, empty worker is published and dies before its first call.
        [_, silent] = workers(1)
        silent.stop()
        result = {}
        thread = threading.Thread(target=lambda: result.update(
            reply=phone.invite("202", PASSWORD_A, from_user="201", timeout=10)))
        thread.start()
        # Kamailio waits 3 s for the silent worker, then finds the other one full and waits;
        # a call ending there frees a slot.
        time.sleep(3.6)
        bye = Caller(edge)
        try:
            assert bye.bye(answers[0]).status == 200
        finally:
            bye.close()
        thread.join(10)
    assert result["reply"].status == 200
    assert len(busy.invites) == 3
    assert header_values(busy.invites[-1], "X-AP-Dispatch") == ["2"]
    assert header_values(busy.invites[0], "X-AP-Dispatch") == []


def test_dead_worker_gets_no_new_calls(edge, workers):
    dead, alive = workers(2)
    dead.stop()
    deadline = time.monotonic() + 8
    while time.monotonic() < deadline:
        states = {w["uri"]: w["active"] for w in dispatcher.workers(edge) if not w["disabled"]}
        if states.get(dead.uri) is False:
            break
        time.sleep(0.2)
    assert states == {dead.uri: False, alive.uri: True}

    with Caller(edge) as phone:
        responses = [phone.invite("202", PASSWORD_A, from_user="201") for _ in range(2)]
    assert [r.status for r in responses] == [200, 200]
    assert len(alive.invites) == 2


def test_b_leg_from_worker_presents_caller_and_strips_internal_headers(edge, workers):
    [worker] = workers(1)
    with Caller(edge) as callee:
        assert callee.register("202", PASSWORD_B).status == 200
        result = {}
        thread = threading.Thread(target=lambda: result.update(
            reply=worker.call_extension("202", caller_name="Alice Martin", caller_number="201")))
        thread.start()
        invite = callee.receive_request()
        assert invite is not None and invite.startswith("INVITE ")
        callee.reply(invite, 486, "Busy Here")
        thread.join()

    from_header = header_values(invite, "From")[0]
    assert from_header.startswith('"Alice Martin" <sip:201@')
    assert not [line for line in invite.split("\r\n") if line.lower().startswith("x-ap-")]
    assert result["reply"].status == 486


def test_phone_behind_nat_is_reached_at_its_public_address(edge, workers):
    [worker] = workers(1)
    # The phone believes it is 10.0.0.5:5060; packets really come from 127.0.0.7.
    with Caller(edge, source_ip="127.0.0.7", advertise=("10.0.0.5", 5060)) as callee:
        assert callee.register("202", PASSWORD_B).status == 200
        [registration] = rpc.registrations(edge)
        assert registration["source_ip"] == "127.0.0.7"

        result = {}
        thread = threading.Thread(target=lambda: result.update(
            reply=worker.call_extension("202", caller_name="Alice Martin", caller_number="201")))
        thread.start()
        invite = callee.receive_request()
        assert invite is not None and invite.startswith("INVITE sip:202@10.0.0.5")
        # It answers with its private Contact; the worker must get the public one.
        callee.reply(invite, 200, "OK", contact="sip:202@10.0.0.5:5060")
        thread.join()
    assert result["reply"].status == 200
    assert "@127.0.0.7:" in result["reply"].header("Contact")


def test_b_leg_to_unregistered_extension_gets_480(edge, workers):
    [worker] = workers(1)
    reply = worker.call_extension("202", caller_name="Alice Martin", caller_number="201")
    assert reply.status == 480


def test_phone_cannot_use_the_edge_as_a_relay(edge, workers):
    workers(1)
    with Caller(edge) as phone:
        phone.cseq += 1
        host, port = phone.local
        text = (
            f"BYE sip:victim@192.0.2.10:5060 SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP {host}:{port};branch=z9hG4bKrelay1;rport\r\n"
            "Max-Forwards: 70\r\nFrom: <sip:201@x>;tag=a\r\nTo: <sip:v@y>;tag=b\r\n"
            f"Call-ID: relay-test\r\nCSeq: 1 BYE\r\n"
            f"Route: <sip:{edge.bind}:{edge.sip_port};lr>\r\nContent-Length: 0\r\n\r\n"
        )
        phone.sock.sendto(text.encode(), phone.server)
        response = phone.final_response(3)
    assert response.status == 403


def test_other_methods_from_phones_get_a_clean_refusal(edge):
    with Caller(edge) as phone:
        for method in ("MESSAGE", "PUBLISH"):
            response = phone.request(method, f"sip:202@{edge.bind}:{edge.sip_port}", "201", f"m-{method}")
            assert response.status == 405, method
        # SUBSCRIBE is offered for the voicemail lamp only (message-summary): any other package is refused.
        response = phone.request("SUBSCRIBE", f"sip:202@{edge.bind}:{edge.sip_port}", "201", "m-SUBSCRIBE")
        assert (response.status, response.reason) == (489, "Bad Event")
        options = phone.request("OPTIONS", f"sip:{edge.bind}:{edge.sip_port}", "201", "ping")
        assert options.status == 200


def test_republishing_workers_keeps_their_busy_slots(edge, workers):
    [first] = workers(1)
    with Caller(edge) as phone:
        assert [phone.invite("202", PASSWORD_A, from_user="201").status for _ in range(2)] == [200, 200]
        # The pool is published again while calls are up: the full worker stays full.
        dispatcher.publish_workers(edge, [first.port])
        assert phone.invite("202", PASSWORD_A, from_user="201").status == 503

        # A new worker joins the pool and takes the next call.
        first, second = workers(1)
        assert phone.invite("202", PASSWORD_A, from_user="201").status == 200
        assert (len(first.invites), len(second.invites)) == (2, 1)


def test_unpublished_worker_gets_no_new_calls(edge, workers):
    first, second = workers(2)
    dispatcher.publish_workers(edge, [second.port])
    with Caller(edge) as phone:
        assert [phone.invite("202", PASSWORD_A, from_user="201").status for _ in range(2)] == [200, 200]
    assert (len(first.invites), len(second.invites)) == (0, 2)


def test_call_survives_a_worker_that_just_died(edge, workers):
    dead, alive = workers(2)
    dead.stop()
    # Whether or not the probes noticed yet, the call ends up on the live worker.
    with Caller(edge) as phone:
        responses = [phone.invite("202", PASSWORD_A, from_user="201", timeout=10) for _ in range(2)]
    assert [r.status for r in responses] == [200, 200]
    assert len(alive.invites) == 2


def test_when_loopback_is_banned_workers_are_still_served(edge, workers):
    # In lab mode phones share 127.0.0.1 with the workers: a ban must not cut the call core off.
    [worker] = workers(1)
    with Caller(edge) as phone:
        for _ in range(10):
            phone.register("201", "Wrong-Passw0rd-1")
        assert [b["ip"] for b in rpc.bans(edge)] == ["127.0.0.1"]
        assert phone.register("201", PASSWORD_A, timeout=1.0) is None
    reply = worker.call_extension("202", caller_name="Alice Martin", caller_number="201")
    assert reply is not None and reply.status == 480
