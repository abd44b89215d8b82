"""A trunk over TLS: the real stack, a fake provider with a TLS listener and a self-signed certificate.

The trunk registers over TLS (its Contact asks the provider to call back over
TLS, to the appliance's own TLS listener and certificate), calls go out over
TLS with audio both ways, and a call from the public network comes in over
TLS. The provider's certificate is self-signed: a trunk that verifies it,
the default, cannot register; a trunk with `tls_verify` off has the
certificate its provider presents trusted, and registers.
"""

from __future__ import annotations

import time

import pytest

from tests.integration.test_trunk_calls import talk
from tests.support.phone import TestPhone
from tests.support.provider import FakeProvider
from tests.support.stack_lab import StackLab, running_lab

PASSWORD = "Phone-Secret-Xy9q"
TRUNK_PASSWORD = "Trunk-Secret-Tl5s"
ACCOUNT = "acme-tls"
REALM = "provider.test"


class Lab(StackLab):
    provider: FakeProvider
    pstn: TestPhone
    strict_state: dict

    def live(self, name: str) -> dict:
        return self.request("GET", f"/api/v1/trunks/{name}")["live"]

    def wait_state(self, name: str, state: str, timeout: float = 30) -> dict:
        deadline = time.monotonic() + timeout
        while (live := self.live(name))["state"] != state:
            assert time.monotonic() < deadline, f"trunk {name} is not {state}: {live}"
            time.sleep(0.3)
        return live


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    root = tmp_path_factory.mktemp("trunks-tls")
    pstn = TestPhone("pstn")
    holder: dict = {}

    def configure(lab: Lab) -> None:
        provider = FakeProvider(root / "provider", user=ACCOUNT, password=TRUNK_PASSWORD, realm=REALM,
                                customer_port=lab.stack.settings.sip_port, tls=True).start()
        holder["provider"] = provider
        provider.forward_to(f"sip:pstn@127.0.0.1:{pstn.sip_port}")
        lab.request("PUT", "/api/v1/settings", {"country": "FR", "timezone": "Europe/Paris"})
        common = {"auth_user": ACCOUNT, "provider_domain": REALM, "host": provider.host, "transport": "tls",
                  "password": TRUNK_PASSWORD, "register": True, "country_code": "33"}
        # Certificate checked (the default): the provider's self-signed certificate is refused.
        strict = lab.request("POST", "/api/v1/trunks", {"name": "acme-strict", **common})
        assert strict["tls_verify"] is True
        lab.strict_state = lab.wait_state("acme-strict", "failed")
        lab.request("DELETE", "/api/v1/trunks/acme-strict")
        trunk = lab.request("POST", "/api/v1/trunks", {"name": "acme", **common, "tls_verify": False,
                                                        "outbound_caller_id": "+33176747980"})
        assert trunk["tls_verify"] is False
        lab.request("POST", "/api/v1/dids", {"number": "+33176747983", "destination_kind": "user",
                                             "destination": "201"})
        lab.request("PUT", "/api/v1/dialplan/procedures/users", {"numbers": [
            {"number": "0X.", "apps": [{"app": "dial_trunk", "trunk": "acme"}]}]})

    try:
        with running_lab(Lab, root / "data", [("201", "Alice", "Martin")], PASSWORD, configure,
                         spare_workers=1) as lab:
            lab.provider, lab.pstn = holder["provider"], pstn
            yield lab
    finally:
        if "provider" in holder:
            holder["provider"].stop()
        pstn.close()


def test_the_trunk_registers_over_tls(lab):
    assert lab.wait_state("acme", "registered")["detail"] == "registered"
    assert lab.provider.seen("register_proto") == "tls"
    # The provider calls back over TLS, to the appliance's TLS port.
    contact = lab.provider.registered_contact()
    assert contact.endswith(f":{lab.stack.settings.sip_tls_port};transport=tls"), contact


def test_a_trunk_that_verifies_certificates_refuses_the_self_signed_one(lab):
    # The TLS handshake fails: no REGISTER reaches the provider, the edge reports no answer.
    assert lab.strict_state["reason"] == "network", lab.strict_state


def test_a_call_out_through_the_tls_trunk_is_answered_and_both_hear_each_other(lab, tmp_path):
    lab.wait_state("acme", "registered")
    alice = lab.phones["201"]
    since, call = lab.call("201", "0145678901")
    ring = lab.pstn.wait_for("incoming", 20)
    assert ring["t"] > since
    assert lab.provider.seen("invite_proto") == "tls"
    assert "+33145678901" in (lab.provider.seen("ruri") or "")
    lab.pstn.answer(200, call=ring["call"])
    alice.wait_for("confirmed", 10, call=call)
    talk(alice, call, lab.pstn, ring["call"], tmp_path)
    alice.hangup(call=call)
    lab.pstn.wait_for("disconnected", 10, call=ring["call"])
    cdr = [c for c in lab.stack.cdrs() if c["caller"] == "201"][-1]
    assert (cdr["direction"], cdr["trunk"], cdr["dialled"]) == ("outbound", "acme", "+33145678901")


def test_a_call_from_the_public_network_comes_in_over_tls_to_a_did(lab, tmp_path):
    lab.wait_state("acme", "registered")
    since = time.monotonic()
    call = lab.pstn.call(f"sip:+33176747983@127.0.0.1:{lab.provider.port}")
    ring = lab.wait_ring("201", since, timeout=20)
    lab.phones["201"].answer(200, call=ring["call"])
    lab.pstn.wait_for("confirmed", 10, call=call)
    talk(lab.pstn, call, lab.phones["201"], ring["call"], tmp_path)
    lab.pstn.hangup(call=call)
    lab.phones["201"].wait_for("disconnected", 10, call=ring["call"])
    cdr = [c for c in lab.stack.cdrs() if c["direction"] == "inbound"][-1]
    assert (cdr["trunk"], cdr["callee"]) == ("acme", "+33176747983")


def test_test_connection_follows_the_trunks_certificate_choice(lab):
    # The trunk that accepts its provider's self-signed certificate tests fine; the one that verifies does not.
    accepted = lab.request("POST", "/api/v1/trunks/acme/test")
    assert accepted["ok"] and accepted["result"] == "ok", accepted
    lab.request("POST", "/api/v1/trunks", {"name": "acme-check", "auth_user": ACCOUNT, "provider_domain": REALM,
                                           "host": lab.provider.host, "transport": "tls", "register": False,
                                           "password": TRUNK_PASSWORD})
    strict = lab.request("POST", "/api/v1/trunks/acme-check/test")
    lab.request("DELETE", "/api/v1/trunks/acme-check")
    assert not strict["ok"] and strict["result"] == "network" and "certificate" in strict["detail"], strict
