"""The SIP edge with a real Kamailio: registration, digest auth, bans, scanners, reactions."""

from __future__ import annotations

import threading

import pytest

from appliance import changes
from appliance.errors import SipEdgeError
from appliance.sipedge import config, reactions, rpc
from appliance.store import close_store
from appliance.users import create_user, delete_user, update_user
from tests.support.kamailio import (
    Caller,
    SipClient,
    edge_settings,
    open_fresh_store,
    run_sipp,
    running_kamailio,
    write_users_csv,
)

PASSWORD_A = "Tr1cky-Horse-Battery"
PASSWORD_B = "Gl4ss-Window-Orange"


@pytest.fixture
def settings(tmp_path):
    settings = edge_settings(tmp_path / "data")
    # Small ban thresholds so the ban test stays short.
    open_fresh_store(settings, ban_failures=3, ban_window_s=60, ban_minutes=1)
    yield settings
    changes.unsubscribe_all()
    close_store()


@pytest.fixture
def edge(settings):
    with running_kamailio(settings):
        yield settings


def add_user(extension: str, password: str):
    user, _ = create_user({"extension": extension, "first_name": "Ada", "last_name": "Lovelace",
                           "sip_password": password})
    return user


def test_when_user_created_then_can_register_with_digest(edge, tmp_path):
    # Created while Kamailio already runs: the view is read live, no copy to sync.
    add_user("201", PASSWORD_A)
    with SipClient(edge) as phone:
        assert phone.register("201", PASSWORD_A).status == 200

    add_user("202", PASSWORD_B)
    csv = write_users_csv(tmp_path / "users.csv", [("201", PASSWORD_A), ("202", PASSWORD_B)])
    result = run_sipp(edge, "register_auth.xml", csv, calls=2)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert {r["extension"] for r in rpc.registrations(edge)} == {"201", "202"}


def test_registration_works_while_the_store_is_being_written(edge):
    # Kamailio reads the store (WAL) while the web UI writes to it.
    add_user("201", PASSWORD_A)
    created: list[str] = []
    stop = threading.Event()

    def write_constantly():
        number = 0
        while not stop.is_set() and number < 200:
            number += 1
            add_user(str(3000 + number), f"Wr1ter-Password-{number:04d}")
            created.append(str(3000 + number))
            update_user("201", {"first_name": f"Ada{number}"})

    writer = threading.Thread(target=write_constantly)
    writer.start()
    statuses = []
    try:
        with SipClient(edge) as phone:
            for _ in range(30):
                statuses.append(phone.register("201", PASSWORD_A).status)
                # The newest user, created a moment ago, registers at once.
                if created:
                    newest = created[-1]
                    statuses.append(phone.register(newest, f"Wr1ter-Password-{int(newest) - 3000:04d}").status)
    finally:
        stop.set()
        writer.join()
    assert len(statuses) > 40
    assert set(statuses) == {200}


def test_when_password_wrong_then_403_same_as_unknown_user(edge):
    add_user("201", PASSWORD_A)
    with SipClient(edge, source_ip="127.0.0.2") as phone:
        known_challenge = phone.register("201", None)
        unknown_challenge = phone.register("299", None)
        known_failure = phone.register("201", "Wrong-Passw0rd-1")
        unknown_failure = phone.register("299", "Wrong-Passw0rd-1")

    # Same challenge: same realm and parameters, same headers (SIPVicious svwar compares these).
    assert known_challenge.status == unknown_challenge.status == 401
    assert known_challenge.challenge().keys() == unknown_challenge.challenge().keys()
    assert known_challenge.challenge()["realm"] == unknown_challenge.challenge()["realm"] == "pbx.local"
    assert known_challenge.header_names() == unknown_challenge.header_names()
    # Same refusal.
    assert (known_failure.status, known_failure.reason) == (unknown_failure.status, unknown_failure.reason)
    assert known_failure.status == 403
    assert known_failure.header_names() == unknown_failure.header_names()


def test_when_ip_fails_auth_n_times_then_banned_and_unban_restores(edge):
    add_user("201", PASSWORD_A)
    with SipClient(edge, source_ip="127.0.0.3") as attacker, SipClient(edge, source_ip="127.0.0.4") as other:
        # Challenges without credentials are not failures.
        for _ in range(5):
            assert attacker.register("201", None).status == 401
        assert rpc.bans(edge) == []

        for _ in range(3):
            assert attacker.register("201", "Wrong-Passw0rd-1").status == 403
        # Banned: no answer at all, even with the right password.
        assert attacker.register("201", PASSWORD_A, timeout=1.0) is None
        [ban] = rpc.bans(edge)
        assert ban["ip"] == "127.0.0.3"
        assert ban["failures"] == 3
        assert 50 <= ban["expires"] <= 60

        # Other addresses are not affected.
        assert other.register("201", PASSWORD_A).status == 200

        rpc.unban(edge, "127.0.0.3")
        assert rpc.bans(edge) == []
        assert attacker.register("201", PASSWORD_A).status == 200


def test_unknown_users_count_towards_the_ban_too(edge):
    with SipClient(edge, source_ip="127.0.0.6") as scanner:
        for extension in ("300", "301", "302"):
            assert scanner.register(extension, "Guess-Passw0rd-1").status == 403
        assert scanner.register("303", None, timeout=1.0) is None
    assert [b["ip"] for b in rpc.bans(edge)] == ["127.0.0.6"]


def test_when_user_deleted_then_registration_dropped_and_refused(edge):
    reactions.subscribe(edge)
    add_user("201", PASSWORD_A)
    with SipClient(edge) as phone:
        assert phone.register("201", PASSWORD_A).status == 200
        assert [r["extension"] for r in rpc.registrations(edge)] == ["201"]

        delete_user("201")

        assert rpc.registrations(edge) == []
        assert phone.register("201", PASSWORD_A).status == 403


def test_when_extension_changed_then_old_registration_dropped(edge):
    reactions.subscribe(edge)
    add_user("201", PASSWORD_A)
    with SipClient(edge) as phone:
        assert phone.register("201", PASSWORD_A).status == 200
        update_user("201", {"extension": "205"})
        assert rpc.registrations(edge) == []
        assert phone.register("201", PASSWORD_A).status == 403
        assert phone.register("205", PASSWORD_A).status == 200


def test_phone_behind_nat_gets_keepalives(settings):
    add_user("201", PASSWORD_A)
    with running_kamailio(settings, natping_interval_s=1):
        with Caller(settings, source_ip="127.0.0.8", advertise=("192.168.1.20", 5060)) as phone:
            assert phone.register("201", PASSWORD_A).status == 200
            keepalive = phone.receive_request(timeout=5)
    assert keepalive is not None and keepalive.startswith("OPTIONS ")


def test_probing_extensions_with_options_or_invite_reveals_nothing(edge):
    add_user("201", PASSWORD_A)
    with Caller(edge, source_ip="127.0.0.9") as prober:
        for method in ("OPTIONS", "INVITE"):
            uri = f"sip:{{}}@{edge.bind}:{edge.sip_port}"
            known = prober.request(method, uri.format("201"), "201", f"k-{method}")
            unknown = prober.request(method, uri.format("299"), "299", f"u-{method}")
            assert (known.status, known.reason) == (unknown.status, unknown.reason), method
            assert known.header_names() == unknown.header_names(), method


def test_scanner_user_agent_dropped(edge):
    add_user("201", PASSWORD_A)
    for agent in ("friendly-scanner", "sipvicious", "SIPVicious svwar 0.3.4", "sipcli/v1.8", "VaxSIPUserAgent/3.1"):
        with SipClient(edge, user_agent=agent) as scanner:
            assert scanner.register("201", None, timeout=0.5) is None, agent
    with SipClient(edge, user_agent="Yealink SIP-T46U 66.86.0.15") as phone:
        assert phone.register("201", None).status == 401


def test_registrations_report_contact_agent_and_source(edge):
    add_user("201", PASSWORD_A)
    with SipClient(edge, source_ip="127.0.0.5", user_agent="Yealink SIP-T46U 66.86.0.15") as phone:
        assert phone.register("201", PASSWORD_A, expires=600).status == 200
        [registration] = rpc.registrations(edge)
    assert registration["extension"] == "201"
    assert registration["contact"].startswith("sip:201@127.0.0.5:")
    assert registration["user_agent"] == "Yealink SIP-T46U 66.86.0.15"
    assert registration["source_ip"] == "127.0.0.5"
    assert 590 <= registration["expires"] <= 600


def test_register_over_tcp_is_accepted(edge, tmp_path):
    add_user("201", PASSWORD_A)
    csv = write_users_csv(tmp_path / "users.csv", [("201", PASSWORD_A)])
    result = run_sipp(edge, "register_auth.xml", csv, calls=1, extra=["-t", "t1"])
    assert result.returncode == 0, result.stdout[-2000:]
    [registration] = rpc.registrations(edge)
    assert "transport=TCP" in registration["contact"]


def test_when_kamailio_down_then_rpc_raises_clear_error(settings):
    with pytest.raises(SipEdgeError, match="unreachable"):
        rpc.registrations(settings)


def test_rpc_refuses_http_on_the_sip_port(edge):
    import urllib.error
    import urllib.request

    url = f"http://127.0.0.1:{edge.sip_port}/RPC"
    request = urllib.request.Request(url, data=b'{"jsonrpc":"2.0","method":"core.version","id":1}')
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=3)
    assert refused.value.code == 403


def test_when_template_broken_then_previous_config_kept(settings, tmp_path, monkeypatch):
    good = config.render(settings).read_text()
    broken = tmp_path / "broken.tmpl"
    broken.write_text(config.TEMPLATE.read_text().replace("request_route {", "request_route { this is not cfg;"))
    monkeypatch.setattr(config, "TEMPLATE", broken)
    with pytest.raises(SipEdgeError, match="invalid"):
        config.render(settings)
    assert config.config_path(settings).read_text() == good
    assert "generated, do not edit" in good


def test_ban_expiry_comes_from_system_settings(edge):
    # Rendered with ban_minutes=1 (see the fixture): 60 s.
    text = config.config_path(edge).read_text()
    assert "ban.seconds = 60 " in text
    assert "ban.failures = 3 " in text
    assert rpc.runtime_value(edge, "ban", "seconds") == 60
