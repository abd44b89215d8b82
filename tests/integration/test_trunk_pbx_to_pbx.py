"""Two appliances trunked together (the manual's PBX-to-PBX test): one `dynamic`, one registering.

Head office ("hq", appliance A) has a trunk `branch` whose host is `dynamic`:
the branch office's appliance (B) registers to it with the trunk's auth user
and password. B's trunk `hq` points at A's SIP port and registers. Each side
routes the other's extensions (2xx at A, 3xx at B) through its trunk, and
each trunk's inbound procedure rings the local extensions (it includes
`internal`). Everything is configured through each appliance's admin API.
Run twice: over UDP, and over TLS (the head office's self-signed certificate
accepted by the branch's trunk, `tls_verify` off).
"""

from __future__ import annotations

import time
from contextlib import ExitStack

import pytest

from tests.integration.test_trunk_calls import talk
from tests.support.stack_lab import StackLab, running_lab

PASSWORD = "Phone-Secret-Xy9q"
TRUNK_USER, TRUNK_PASSWORD = "branch-pbx", "Branch-Trunk-Secret-4t"
HQ_DOMAIN, BRANCH_DOMAIN = "hq.pbx.test", "branch.pbx.test"


class Lab(StackLab):
    def trunk_live(self, name: str) -> dict:
        return self.request("GET", f"/api/v1/trunks/{name}")["live"]

    def wait_registered(self, name: str, timeout: float = 30) -> dict:
        deadline = time.monotonic() + timeout
        while (live := self.trunk_live(name))["state"] != "registered":
            assert time.monotonic() < deadline, f"trunk {name} did not register: {live}"
            time.sleep(0.3)
        return live

    def newest_cdr(self, **match) -> dict:
        """The newest closed CDR with these values (waits for the call core to close it)."""
        deadline = time.monotonic() + 10
        while True:
            rows = [c for c in self.stack.cdrs() if c["end"] is not None
                    and all(c[k] == v for k, v in match.items())]
            if rows:
                return rows[-1]
            assert time.monotonic() < deadline, f"no closed CDR with {match}: {self.stack.cdrs()}"
            time.sleep(0.2)


def configure_hq(lab: Lab) -> None:
    lab.request("PUT", "/api/v1/settings", {"sip_domain": HQ_DOMAIN})
    lab.request("POST", "/api/v1/dialplan/procedures", {"name": "from-branch", "includes": ["internal"]})
    lab.request("POST", "/api/v1/trunks", {
        "name": "branch", "title": "Branch office", "host": "dynamic", "auth_user": TRUNK_USER,
        "password": TRUNK_PASSWORD, "inbound_procedure": "from-branch"})
    lab.request("PUT", "/api/v1/dialplan/procedures/users", {"numbers": [
        {"number": "3XX", "apps": [{"app": "dial_trunk", "trunk": "branch"}]}]})


def configure_branch(hq_settings, transport: str):
    def configure(lab: Lab) -> None:
        lab.request("PUT", "/api/v1/settings", {"sip_domain": BRANCH_DOMAIN})
        lab.request("POST", "/api/v1/dialplan/procedures", {"name": "from-hq", "includes": ["internal"]})
        port = hq_settings.sip_tls_port if transport == "tls" else hq_settings.sip_port
        lab.request("POST", "/api/v1/trunks", {
            "name": "hq", "title": "Head office", "host": f"127.0.0.1:{port}", "register": True,
            "transport": transport, "tls_verify": False,
            "auth_user": TRUNK_USER, "password": TRUNK_PASSWORD, "provider_domain": HQ_DOMAIN,
            "inbound_procedure": "from-hq"})
        lab.request("PUT", "/api/v1/dialplan/procedures/users", {"numbers": [
            {"number": "2XX", "apps": [{"app": "dial_trunk", "trunk": "hq"}]}]})
    return configure


@pytest.fixture(scope="module", params=["udp", "tls"])
def pbxs(request, tmp_path_factory):
    root = tmp_path_factory.mktemp(f"pbx-to-pbx-{request.param}")
    with ExitStack() as stack:
        hq = stack.enter_context(running_lab(Lab, root / "hq", [("201", "Alice", "Martin")], PASSWORD,
                                             configure_hq, spare_workers=1))
        branch = stack.enter_context(running_lab(Lab, root / "branch", [("301", "Bruno", "Durand")], PASSWORD,
                                                 configure_branch(hq.stack.settings, request.param),
                                                 spare_workers=1))
        yield hq, branch


def test_the_branch_registers_to_the_head_office_and_both_show_it(pbxs):
    hq, branch = pbxs
    assert branch.wait_registered("hq")["detail"] == "registered"
    live = hq.wait_registered("branch")
    assert live["detail"] == "the other PBX is registered" and live["expires_in"] > 0


def test_a_branch_extension_calls_a_head_office_extension_through_the_trunk(pbxs, tmp_path):
    hq, branch = pbxs
    branch.wait_registered("hq")
    since, call = branch.call("301", "201")
    ring = hq.wait_ring("201", since, timeout=20)
    # The head office shows the branch extension as the caller.
    assert "301" in ring["headers"].get("from", "")
    hq.phones["201"].answer(200, call=ring["call"])
    branch.phones["301"].wait_for("confirmed", 10, call=call)
    talk(branch.phones["301"], call, hq.phones["201"], ring["call"], tmp_path)
    branch.phones["301"].hangup(call=call)
    hq.phones["201"].wait_for("disconnected", 10, call=ring["call"])
    out = branch.newest_cdr(caller="301", trunk="hq")
    assert (out["direction"], out["call_class"], out["dialled"]) == ("outbound", "internal", "201")
    assert out["billsec"] > 0
    inbound = hq.newest_cdr(trunk="branch", direction="inbound")
    assert (inbound["caller"], inbound["callee"]) == ("301", "201")
    assert inbound["billsec"] > 0


def test_a_head_office_extension_calls_the_branch_through_the_dynamic_trunk(pbxs, tmp_path):
    hq, branch = pbxs
    hq.wait_registered("branch")
    since, call = hq.call("201", "301")
    ring = branch.wait_ring("301", since, timeout=20)
    assert "201" in ring["headers"].get("from", "")
    branch.phones["301"].answer(200, call=ring["call"])
    hq.phones["201"].wait_for("confirmed", 10, call=call)
    talk(hq.phones["201"], call, branch.phones["301"], ring["call"], tmp_path)
    branch.phones["301"].hangup(call=ring["call"])
    hq.phones["201"].wait_for("disconnected", 10, call=call)
    out = hq.newest_cdr(caller="201", trunk="branch")
    assert (out["direction"], out["call_class"], out["dialled"]) == ("outbound", "internal", "301")
    inbound = branch.newest_cdr(trunk="hq", direction="inbound")
    assert (inbound["caller"], inbound["callee"]) == ("201", "301")
    assert inbound["billsec"] > 0
