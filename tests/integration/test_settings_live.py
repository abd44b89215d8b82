"""System settings saved through the web API reach the real Kamailio at once, without a restart."""

from __future__ import annotations

import pytest

from appliance.sipedge import reactions, rpc
from appliance.system import get_system_settings
from appliance.users import create_user
from tests.support.browser import STRONG, running_web
from tests.support.kamailio import SipClient, edge_settings, run_sipp, running_kamailio, write_users_csv

PASSWORD = "Tr1cky-Horse-Battery"
WRONG = "Wrong-Passw0rd-1"


@pytest.fixture
def stack(tmp_path):
    """Web server (with the SIP edge's reactions) and Kamailio sharing one fresh store."""
    ports = edge_settings(tmp_path / "data")
    web = running_web(tmp_path / "data", sip_port=ports.sip_port, kamailio_rpc_port=ports.kamailio_rpc_port,
                      worker_sip_port_base=ports.worker_sip_port_base, worker_count_max=ports.worker_count_max)
    try:
        client = web.client()
        assert client.api("POST", "/api/v1/session/password", {
            "username": "admin", "current_password": web.admin_password, "new_password": STRONG}).status == 200
        assert client.api_login("admin", STRONG).status == 200
        create_user({"extension": "201", "first_name": "Ada", "last_name": "Lovelace", "sip_password": PASSWORD})
        with running_kamailio(web.settings) as kamailio:
            yield web, client, kamailio
    finally:
        web.stop()


def _put(client, **values) -> dict:
    response = client.api("PUT", "/api/v1/settings", values)
    assert response.status == 200, response.text
    return response.json()


def _fail(phone: SipClient, times: int) -> None:
    for _ in range(times):
        assert phone.register("201", WRONG).status == 403


def test_when_ban_failures_lowered_through_the_api_then_third_failure_bans_without_restart(stack):
    web, client, kamailio = stack
    settings = web.settings
    assert get_system_settings().ban_failures == 10
    with SipClient(settings, source_ip="127.0.0.21") as before:
        _fail(before, 3)
        assert before.register("201", PASSWORD).status == 200  # 3 of 10: not banned
    assert rpc.bans(settings) == []

    _put(client, ban_failures=3, ban_minutes=2)

    assert rpc.runtime_value(settings, "ban", "failures") == 3
    with SipClient(settings, source_ip="127.0.0.22") as attacker:
        _fail(attacker, 3)
        assert attacker.register("201", PASSWORD, timeout=1.0) is None
    [ban] = rpc.bans(settings)
    assert ban["ip"] == "127.0.0.22" and ban["failures"] == 3
    assert 110 <= ban["expires"] <= 120  # the new duration, 2 minutes
    assert kamailio.poll() is None  # the same Kamailio process all along
    assert rpc.call(settings, "core.uptime")["uptime"] >= 1


def test_failures_from_an_ended_window_no_longer_count(stack):
    web, client, _ = stack
    _put(client, ban_failures=3, ban_window_s=10)
    with SipClient(web.settings, source_ip="127.0.0.23") as phone:
        _fail(phone, 2)
        # Pretend the window started long ago: the next failure opens a new one.
        rpc.call(web.settings, "htable.seti", "authfirst", "127.0.0.23", 1)
        _fail(phone, 2)
        assert phone.register("201", PASSWORD).status == 200
    assert rpc.bans(web.settings) == []


def test_when_sip_domain_changed_then_phones_register_with_the_new_realm(stack, tmp_path):
    web, client, kamailio = stack
    with SipClient(web.settings, source_ip="127.0.0.24") as phone:
        assert phone.register("201", None).challenge()["realm"] == "pbx.local"

        _put(client, sip_domain="voice.example.org")

        assert phone.register("201", None).challenge()["realm"] == "voice.example.org"
        assert phone.register("201", PASSWORD).status == 200
    csv = write_users_csv(tmp_path / "users.csv", [("201", PASSWORD)])
    result = run_sipp(web.settings, "register_auth.xml", csv, calls=1)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert kamailio.poll() is None
    assert rpc.runtime_value(web.settings, "edge", "realm") == "voice.example.org"


def test_when_kamailio_refuses_a_runtime_value_then_a_restart_is_requested(stack, monkeypatch):
    web, _, _ = stack
    asked = []
    monkeypatch.setattr("appliance.supervisor.request_edge_restart", lambda s: asked.append(s) or True)
    system = get_system_settings()
    monkeypatch.setattr("appliance.sipedge.config.runtime_values",
                        lambda _: {"ban_failures": ("ban", "no_such_parameter", 3)})
    reactions.ApplySystemSettings(web.settings)(settings=system, changed={"ban_failures"})
    assert asked == [web.settings]


def test_when_kamailio_is_down_then_saving_still_works_and_the_next_start_uses_it(stack, tmp_path):
    web, client, kamailio = stack
    kamailio.terminate()
    kamailio.wait(10)
    _put(client, ban_failures=4, sip_domain="later.example.org")
    with running_kamailio(web.settings):
        assert rpc.runtime_value(web.settings, "ban", "failures") == 4
        with SipClient(web.settings, source_ip="127.0.0.25") as phone:
            assert phone.register("201", None).challenge()["realm"] == "later.example.org"
            assert phone.register("201", PASSWORD).status == 200
