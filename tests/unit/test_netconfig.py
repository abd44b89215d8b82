"""netconfig without touching any network: validation, the tc plan, dnsmasq and networkd rendering, leases, and
the network/DHCP API and pages in plain lab mode (stored, never applied)."""

from __future__ import annotations

import copy
import time

import pytest

from appliance.auth import sessions
from appliance.errors import ValidationError
from appliance.users import create_user
from netconfig import dhcp, plan, validation
from tests.support.browser import STRONG, first_login, running_web

DHCP = {"enabled": True, "interface": "eth1", "range_start": "10.135.0.100", "range_end": "10.135.0.250",
        "lease_minutes": 1440, "max_leases": 150, "domain": "", "gateway": "", "dns1": "", "dns2": "", "ntp1": "",
        "ntp2": "", "wins1": "", "wins2": "", "refuse_unknown": False, "provisioning_name": "provisioning.pbx.lan",
        "static_leases": []}


def net(**changes) -> dict:
    return validation.network(changes, validation.default_network())


# -- validation ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("body, field", [
    ({"scenario": "bridge"}, "scenario"),
    ({"interfaces": {"eth0": {"mode": "static", "address": "192.0.2.10/24", "gateway": "198.51.100.1"}}},
     "interfaces.eth0.gateway"),
    ({"interfaces": {"eth0": {"mode": "static", "address": "192.0.2.10/24", "gateway": "192.0.2.10"}}},
     "interfaces.eth0.gateway"),
    ({"interfaces": {"eth1": {"address": "10.135.0.1/33"}}}, "interfaces.eth1.address"),
    ({"interfaces": {"eth1": {"address": "10.135.0.1/31"}}}, "interfaces.eth1.address"),
    ({"interfaces": {"eth1": {"address": "10.135.0.1"}}}, "interfaces.eth1.address"),
    ({"interfaces": {"eth1": {"address": "10.135.0.0/24"}}}, "interfaces.eth1.address"),
    ({"interfaces": {"eth1": {"address": "10.135.0.300/24"}}}, "interfaces.eth1.address"),
    ({"interfaces": {"eth1": {"mtu": 575}}}, "interfaces.eth1.mtu"),
    ({"interfaces": {"eth1": {"mtu": 9001}}}, "interfaces.eth1.mtu"),
    ({"interfaces": {"eth1": {"mtu": "big"}}}, "interfaces.eth1.mtu"),
    ({"interfaces": {"eth1": {"vlan": 4095}}}, "interfaces.eth1.vlan"),
    ({"interfaces": {"eth1": {"vlan": -1}}}, "interfaces.eth1.vlan"),
    ({"interfaces": {"eth1": {"dns": ["10.0.0.1", "nope"]}}}, "interfaces.eth1.dns.1"),
    ({"interfaces": {"eth1": {"mode": "bridge"}}}, "interfaces.eth1.mode"),
    ({"interfaces": {"eth9": {}}}, "interfaces.eth9"),
    ({"interfaces": {"eth0": {"mode": "off"}}}, "interfaces.eth0.mode"),
    ({"interfaces": {"eth2": {"mode": "static", "address": "10.135.0.2/16"}}}, "interfaces.eth2.address"),
    ({"scenario": "shared"}, "interfaces.eth1.mode"),
    ({"scenario": "shaper", "interfaces": {"eth2": {"mode": "static", "address": "172.16.0.1/24"}}},
     "interfaces.eth2.mode"),
    ({"scenario": "shaper", "interfaces": {"eth0": {"vlan": 10}}}, "interfaces.eth0.vlan"),
    ({"shaper": {"upload_kbit": 10}}, "shaper.upload_kbit"),
    ({"shaper": {"download_kbit": -5}}, "shaper.download_kbit"),
    ({"colour": "blue"}, "colour"),
])
def test_bad_network_settings_name_the_field(body, field):
    with pytest.raises(ValidationError) as err:
        validation.network(body, validation.default_network())
    assert err.value.field == field


def test_good_network_settings_are_normalised():
    cfg = net(interfaces={"eth1": {"address": "10.135.1.1/255.255.255.0", "dns": "10.135.1.53, 9.9.9.9"},
                          "eth3": {"mode": "static", "address": "172.16.3.1/24", "vlan": "30", "mtu": "1400"}})
    assert cfg["interfaces"]["eth1"]["address"] == "10.135.1.1/24"
    assert cfg["interfaces"]["eth1"]["dns"] == ["10.135.1.53", "9.9.9.9"]
    assert cfg["interfaces"]["eth3"] == {"mode": "static", "address": "172.16.3.1/24", "gateway": "", "dns": [],
                                         "mtu": 1400, "vlan": 30}
    assert cfg["interfaces"]["eth0"]["mode"] == "dhcp"  # untouched default


@pytest.mark.parametrize("body, field", [
    ({"range_start": "10.135.1.10"}, "range_start"),  # outside the subnet
    ({"range_end": "10.135.0.255"}, "range_end"),  # broadcast
    ({"range_start": "10.135.0.200", "range_end": "10.135.0.100"}, "range_end"),
    ({"range_start": "10.135.0.1"}, "range_start"),  # the appliance's own address inside the range
    ({"gateway": "192.0.2.1"}, "gateway"),
    ({"lease_minutes": 1}, "lease_minutes"),
    ({"max_leases": 0}, "max_leases"),
    ({"domain": "bad domain"}, "domain"),
    ({"dns1": "10.135.0.999"}, "dns1"),
    ({"interface": "eth7"}, "interface"),
    ({"interface": "eth2"}, "interface"),  # off: no static address for the server
    ({"static_leases": [{"mac": "00:15:65:zz:00:01", "address": "10.135.0.20"}]}, "static_leases.0.mac"),
    ({"static_leases": [{"mac": "01:00:5e:00:00:01", "address": "10.135.0.20"}]}, "static_leases.0.mac"),
    ({"static_leases": [{"mac": "00:15:65:00:00:01", "address": "10.135.0.120"}]}, "static_leases.0.address"),
    ({"static_leases": [{"mac": "00:15:65:00:00:01", "address": "10.136.0.20"}]}, "static_leases.0.address"),
    ({"static_leases": [{"mac": "00:15:65:00:00:01", "address": "10.135.0.20"},
                        {"mac": "00:15:65:00:00:02", "address": "10.135.0.20"}]}, "static_leases.1.address"),
    ({"static_leases": [{"mac": "00:15:65:00:00:01", "address": "10.135.0.20", "hostname": "a b"}]},
     "static_leases.0.hostname"),
    ({"static_leases": [{"mac": "00:15:65:00:00:01", "address": "10.135.0.20", "hostname": "a\ndhcp-range=x"}]},
     "static_leases.0.hostname"),
    ({"domain": "office.example\nserver=8.8.8.8"}, "domain"),
])
def test_bad_dhcp_settings_name_the_field(body, field):
    with pytest.raises(ValidationError) as err:
        validation.dhcp(body, DHCP, net())
    assert err.value.field == field


def test_a_static_lease_host_name_is_stored_without_surrounding_blanks_or_a_final_newline():
    # A name kept with its "\n" would end the dnsmasq dhcp-host line early and start another one.
    for typed in ("desk-12\n", " Desk-12 ", "desk-12\r\n"):
        cfg = validation.dhcp({"static_leases": [{"mac": "00:15:65:00:00:01", "address": "10.135.0.20",
                                                  "hostname": typed}]}, DHCP, net())
        assert cfg["static_leases"][0]["hostname"] == "desk-12", repr(typed)


def test_network_change_must_keep_the_dhcp_range_in_the_lan():
    with pytest.raises(ValidationError) as err:
        validation.dhcp_still_fits(DHCP, net(interfaces={"eth1": {"address": "10.135.1.1/24"}}))
    assert err.value.field == "interfaces.eth1.address"
    validation.dhcp_still_fits({**DHCP, "enabled": False}, net(interfaces={"eth1": {"address": "10.135.1.1/24"}}))


# -- the plan ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("first, last", [(20000, 22559), (5060, 5061), (1, 65535), (10000, 10000), (3, 1000)])
def test_port_masks_cover_the_range_exactly(first, last):
    covered = set()
    for value, mask in plan.port_masks(first, last):
        block = 0x10000 - mask
        assert value % block == 0
        covered |= set(range(value, value + block))
    assert covered == set(range(first, last + 1))


def test_shaper_plan_puts_voice_first():
    cfg = net(scenario="shaper", shaper={"upload_kbit": 2000, "download_kbit": 8000}, interfaces={})
    steps = plan.tc_plan(cfg, plan.VoicePorts(sip=(5060,), rtp_first=20000, rtp_last=20039))
    lines = [s.line for s in steps]
    assert lines[0] == "qdisc replace dev eth0 root handle 1: htb default 20 r2q 1"
    assert "class add dev eth0 parent 1:1 classid 1:10 htb rate 1200kbit ceil 2000kbit prio 0" in lines
    assert "class add dev eth0 parent 1:1 classid 1:20 htb rate 800kbit ceil 2000kbit prio 1" in lines
    assert "qdisc add dev eth0 parent 1:10 handle 10: fq_codel" in lines
    sip = [s for s in steps if "sport 5060 0xffff" in s.line][0]
    assert "flowid 1:10" in sip.line and "pedit" not in sip.line  # marked at the source, tc only classifies
    rtp = [s.line for s in steps if "match ip protocol 17 0xff match ip sport" in s.line]
    assert len(rtp) == len(plan.port_masks(20000, 20039))
    assert any("match ip tos 0xb8 0xfc flowid 1:10" in line for line in lines)
    assert "qdisc add dev eth0 handle ffff: ingress" in lines
    assert lines[-1].startswith("filter add dev eth0 parent ffff: protocol ip prio 9 u32 match u32 0 0 police rate "
                                "8000kbit")
    assert any("dport 5060 0xffff action pass" in line for line in lines)  # voice is not policed


def test_no_tc_outside_the_shaper_scenario_or_without_limits():
    assert plan.tc_plan(net(), plan.VoicePorts()) == []
    assert plan.tc_plan(net(scenario="shaper"), plan.VoicePorts()) == []


def test_ip_commands_build_the_bridge_and_vlans():
    cfg = net(scenario="shaper", interfaces={"eth0": {"mode": "static", "address": "192.0.2.10/24",
                                                      "gateway": "192.0.2.1", "mtu": 1400},
                                             "eth3": {"mode": "static", "address": "172.16.3.1/24", "vlan": 30}})
    cmds = plan.ip_commands(cfg, {"eth0", "eth1", "eth2", "eth3"})
    assert ["link", "add", "wbr0", "type", "bridge", "stp_state", "0", "forward_delay", "0"] in cmds
    assert ["link", "set", "eth0", "mtu", "1400", "master", "wbr0", "up"] in cmds
    assert ["link", "set", "eth2", "mtu", "1400", "master", "wbr0", "up"] in cmds
    assert ["addr", "add", "192.0.2.10/24", "dev", "wbr0"] in cmds
    assert ["route", "replace", "default", "via", "192.0.2.1", "dev", "wbr0", "metric", "100"] in cmds
    assert ["link", "add", "link", "eth3", "name", "eth3.30", "type", "vlan", "id", "30"] in cmds
    assert ["addr", "add", "172.16.3.1/24", "dev", "eth3.30"] in cmds
    assert ["addr", "add", "10.135.0.1/24", "dev", "eth1"] in cmds
    # a namespace with only eth1 (the lab LAN): nothing for the missing ports
    only = plan.ip_commands(net(), {"eth1"})
    assert all("eth0" not in c and "eth2" not in c for c in only)


def test_networkd_files_for_each_scenario():
    shared = plan.networkd_files(validation.network({"scenario": "shared", "interfaces": {"eth1": {"mode": "off"}}},
                                                    validation.default_network()))
    assert "DHCP=ipv4" in shared["10-appliance-eth0.network"]
    assert "ActivationPolicy=down" in shared["10-appliance-eth1.network"]
    separate = plan.networkd_files(net(interfaces={"eth3": {"mode": "static", "address": "172.16.3.1/24",
                                                            "vlan": 30, "dns": ["172.16.3.53"]}}))
    assert "Address=10.135.0.1/24" in separate["10-appliance-eth1.network"]
    assert "VLAN=eth3.30" in separate["10-appliance-eth3.network"]
    assert "Kind=vlan" in separate["15-appliance-eth3.30.netdev"] and "Id=30" in separate["15-appliance-eth3.30.netdev"]
    assert "DNS=172.16.3.53" in separate["20-appliance-eth3.30.network"]
    shaper = plan.networkd_files(net(scenario="shaper"))
    assert "Kind=bridge" in shaper["05-appliance-wbr0.netdev"]
    assert "Bridge=wbr0" in shaper["10-appliance-eth0.network"]
    assert "DHCP=ipv4" in shaper["20-appliance-wbr0.network"]


def _tree(root) -> dict:
    return {str(f.relative_to(root)): f.read_text() for f in sorted(root.rglob("*")) if f.is_file()}


def test_persistent_files_replace_the_previous_set_and_a_crash_half_way_keeps_a_complete_set(tmp_path, monkeypatch):
    from netconfig import apply

    voice = plan.VoicePorts()
    separate = net(interfaces={"eth3": {"mode": "static", "address": "172.16.3.1/24", "vlan": 30}})
    shaper = net(scenario="shaper")
    foreign = tmp_path / plan.NETWORKD_DIR / "99-admin-own.network"
    foreign.parent.mkdir(parents=True)
    foreign.write_text("[Match]\nName=eth9\n")
    written = apply.write_persistent(tmp_path, separate, voice)
    before = _tree(tmp_path)
    netdir = plan.NETWORKD_DIR + "/"
    assert {netdir + n for n in plan.networkd_files(separate)} | {plan.SHAPER_FILE, plan.CHRONY_FILE,
                                                                   netdir + "99-admin-own.network"} == set(before)
    assert len(written) == len(before) - 1 and all(before[netdir + n] for n in plan.networkd_files(separate))
    assert oct((tmp_path / netdir / "10-appliance-eth1.network").stat().st_mode & 0o777) == "0o644"

    real_replace, calls = apply.os.replace, []

    def power_cut_after_the_first(src, dst):
        calls.append(dst)
        if len(calls) > 1:
            raise OSError("power cut")
        real_replace(src, dst)

    monkeypatch.setattr(apply.os, "replace", power_cut_after_the_first)
    with pytest.raises(OSError):
        apply.write_persistent(tmp_path, shaper, voice)
    monkeypatch.undo()
    after = _tree(tmp_path)
    new_files = plan.networkd_files(shaper)
    assert set(before) <= set(after)  # nothing removed
    assert {n.removeprefix(netdir) for n in set(after) - set(before)} <= set(new_files)  # no temporary file left
    for name, text in after.items():  # each file whole: the old one, or (the one renamed) the new one
        assert text == before.get(name) or text == new_files.get(name.removeprefix(netdir)), name
    apply.write_persistent(tmp_path, shaper, voice)  # the next write completes the switch
    final = _tree(tmp_path)
    assert {n.removeprefix(netdir) for n in final if n.startswith(netdir)} == set(new_files) | {"99-admin-own.network"}
    assert "15-appliance-eth3.30.netdev" not in {n.removeprefix(netdir) for n in final}


def test_a_failing_rollback_is_retried_shown_and_recorded_never_left_pending_without_a_timer(store, tmp_path,
                                                                                             monkeypatch):
    import subprocess
    import threading

    from appliance.events.models import Event
    from netconfig import service
    from netconfig.netns import Target

    calls = []
    rolled_back = threading.Event()

    def go_live(cfg, dhcp_cfg, persist=True):
        calls.append(cfg["interfaces"]["eth1"]["mtu"])
        if len(calls) == 2:  # the first rollback attempt: dnsmasq does not answer in time
            raise subprocess.TimeoutExpired(["dnsmasq"], 30)
        if len(calls) == 3:
            rolled_back.set()
        return {"applied": True, "missing": [], "degraded": []}

    monkeypatch.setattr(service, "_go_live", go_live)
    monkeypatch.setattr(service, "ROLLBACK_RETRY_S", (0.3,))
    service.configure(Target(None, tmp_path / "run", tmp_path / "root"), timeout_s=0.05)
    try:
        before = service.get_network()["interfaces"]["eth1"]["mtu"]
        service.apply_network({"interfaces": {"eth1": {"mtu": 1400}}})
        for _ in range(200):  # the window ends, the first rollback attempt fails
            if len(calls) >= 2:
                break
            time.sleep(0.01)
        with service._rt.lock:
            status = service.status()
            if not rolled_back.is_set():
                assert status["pending"] and "TimeoutExpired" in status["rollback_failed"]
                assert service._rt.timer is not None and service._rt.timer.is_alive()
        failed = Event.get(Event.kind == "network.rollback_failed")
        assert failed.severity == "alert" and "TimeoutExpired" in failed.message
        assert rolled_back.wait(10)  # tried again by its timer
        for _ in range(200):
            if not service.status()["pending"]:
                break
            time.sleep(0.01)
        status = service.status()
        assert status["pending"] is False and status["result"]["rolled_back"] and "rollback_failed" not in status
        assert service.get_network()["interfaces"]["eth1"]["mtu"] == before != 1400
        service.apply_network({"interfaces": {"eth1": {"mtu": 1300}}})  # not a 409
        service.confirm()
    finally:
        service.configure(None)


def test_chrony_serves_time_to_the_lan_subnets_not_the_wan():
    conf = plan.chrony_conf(net(interfaces={"eth0": {"mode": "static", "address": "198.51.100.10/24"},
                                            "eth3": {"mode": "static", "address": "172.16.3.1/24"}}))
    assert "allow 10.135.0.0/24" in conf and "allow 172.16.3.0/24" in conf
    assert "198.51.100" not in conf and "local stratum 10" in conf


# -- dnsmasq -------------------------------------------------------------------------------------------------

def test_dnsmasq_conf_sends_the_provisioning_url_and_defaults_to_the_appliance(tmp_path):
    cfg = validation.dhcp({"domain": "office.lan", "wins1": "10.135.0.5", "ntp2": "192.0.2.123", "refuse_unknown": True,
                           "static_leases": [{"mac": "00-15-65-AA-BB-CC", "address": "10.135.0.20",
                                              "hostname": "Reception"}]}, DHCP, net())
    conf = dhcp.render(cfg, net(), tmp_path)
    lines = conf.splitlines()
    assert "interface=eth1" in lines
    assert "dhcp-range=set:lan,10.135.0.100,10.135.0.250,255.255.255.0,86400" in lines
    assert "dhcp-lease-max=150" in lines
    assert 'dhcp-option=tag:lan,66,"http://10.135.0.1/prov/"' in lines
    assert 'dhcp-option=tag:lan,160,"http://10.135.0.1/prov/"' in lines
    assert "dhcp-option=tag:lan,option:router,10.135.0.1" in lines
    assert "dhcp-option=tag:lan,option:dns-server,10.135.0.1" in lines
    assert "dhcp-option=tag:lan,option:ntp-server,10.135.0.1,192.0.2.123" in lines
    assert "dhcp-option=tag:lan,option:netbios-ns,10.135.0.5" in lines
    assert "dhcp-option=tag:lan,option:domain-name,office.lan" in lines
    assert "address=/provisioning.pbx.lan/10.135.0.1" in lines
    assert "dhcp-host=00:15:65:aa:bb:cc,10.135.0.20,reception" in lines
    assert "dhcp-ignore=tag:!known" in lines
    # lab mode without --lab-lan: the web UI's port is in the URL
    assert 'dhcp-option=tag:lan,66,"http://10.135.0.1:8080/prov/"' in dhcp.render(cfg, net(), tmp_path, 8080)


def test_leases_are_read_with_the_vendor_from_the_oui(tmp_path):
    future = int(time.time()) + 3600
    (tmp_path / "leases").write_text(
        f"{future} 00:15:65:aa:bb:cc 10.135.0.120 SIP-T46U 01:00:15:65:aa:bb:cc\n"
        f"{future} 00:04:13:11:22:33 10.135.0.101 * *\n"
        f"{int(time.time()) - 10} 00:04:13:11:22:44 10.135.0.102 old *\n"
        "garbage line\n")
    leases = dhcp.read_leases(tmp_path / "leases")
    assert [(x["ip"], x["vendor"], x["hostname"]) for x in leases] == [
        ("10.135.0.101", "Snom", ""), ("10.135.0.120", "Yealink", "SIP-T46U")]
    assert leases[1]["mac"] == "00:15:65:aa:bb:cc" and leases[1]["expires"].endswith("+00:00")


# -- API and pages (plain lab mode: stored, rendered, never applied) --------------------------------------------

@pytest.fixture(scope="module")
def web(tmp_path_factory):
    running = running_web(tmp_path_factory.mktemp("webnet"))
    yield running
    running.stop()


@pytest.fixture
def no_lockout(web):
    yield
    sessions.clear_failures("127.0.0.1")


@pytest.fixture(scope="module")
def admin(web):
    client = first_login(web)
    assert client.api_login("admin", STRONG).status == 200
    return client


@pytest.fixture(scope="module")
def technician(web, admin):
    create_user({"extension": "250", "first_name": "Tech", "last_name": "Nician", "role": "technician",
                 "web_password": STRONG})
    client = web.client()
    assert client.login("250", STRONG).status == 303
    assert client.api_login("250", STRONG).status == 200
    return client


def test_api_bad_input_is_a_400_naming_the_field_and_nothing_changes(admin, no_lockout):
    before = admin.api("GET", "/api/v1/network").json()["settings"]
    for body, field in [
        ({"interfaces": {"eth0": {"mode": "static", "address": "192.0.2.10/24", "gateway": "10.0.0.1"}}},
         "interfaces.eth0.gateway"),
        ({"interfaces": {"eth1": {"vlan": 5000}}}, "interfaces.eth1.vlan"),
        ({"interfaces": {"eth1": {"address": "10.135.0.200/24"}}}, "interfaces.eth1.address"),
    ]:
        response = admin.api("PUT", "/api/v1/network", body)
        assert response.status == 400 and response.json()["field"] == field, body
    dhcp_before = admin.api("GET", "/api/v1/dhcp").json()
    for body, field in [({"range_start": "10.135.1.10"}, "range_start"),
                        ({"static_leases": [{"mac": "nope", "address": "10.135.0.20"}]}, "static_leases.0.mac"),
                        ({"range_start": "10.135.0.10", "range_end": "10.135.0.30",
                          "static_leases": [{"mac": "00:15:65:00:00:01", "address": "10.135.0.20"}]},
                         "static_leases.0.address")]:
        response = admin.api("PUT", "/api/v1/dhcp", body)
        assert response.status == 400 and response.json()["field"] == field, body
    assert admin.api("GET", "/api/v1/network").json()["settings"] == before
    assert admin.api("GET", "/api/v1/dhcp").json() == dhcp_before


def test_api_in_plain_lab_mode_stores_without_touching_the_host(admin, no_lockout):
    settings = admin.api("GET", "/api/v1/network").json()["settings"]
    response = admin.api("PUT", "/api/v1/network", {"revision": settings["revision"], "interfaces": {
        "eth2": {"mode": "static", "address": "172.16.2.1/24"}}})
    assert response.status == 200
    status = response.json()
    assert status["live"] is False and status["pending"] is False and status["result"]["applied"] is False
    assert admin.api("GET", "/api/v1/network").json()["settings"]["interfaces"]["eth2"]["address"] == "172.16.2.1/24"
    stale = admin.api("PUT", "/api/v1/network", {"revision": settings["revision"], "scenario": "separate"})
    assert stale.status == 409
    assert admin.api("POST", "/api/v1/network/confirm").status == 409  # nothing pending
    info = admin.api("GET", "/api/v1/dhcp").json()
    assert info["provisioning_url"] == f"http://10.135.0.1:{admin.port}/prov/"
    saved = admin.api("PUT", "/api/v1/dhcp", {"domain": "office.lan", "static_leases": [
        {"mac": "00:15:65:00:00:01", "address": "10.135.0.20", "hostname": "desk"}]})
    assert saved.status == 200 and saved.json()["static_leases"] == [
        {"mac": "001565000001", "address": "10.135.0.20", "hostname": "desk"}]
    assert admin.api("GET", "/api/v1/dhcp/leases").json() == []


def test_technician_reads_but_cannot_apply(technician, no_lockout):
    assert technician.api("GET", "/api/v1/network").status == 200
    assert technician.api("GET", "/api/v1/dhcp/leases").status == 200
    assert technician.api("PUT", "/api/v1/network", {"scenario": "separate"}).status == 403
    assert technician.api("PUT", "/api/v1/dhcp", {"domain": "x.lan"}).status == 403
    assert technician.api("POST", "/api/v1/network/confirm").status == 403
    page = technician.get("/settings/network")
    assert page.status == 200 and 'id="read-only"' in page.text and 'id="apply-button"' not in page.text


def test_pages_show_settings_and_leases(admin, no_lockout, web):
    page = admin.get("/settings/network")
    assert page.status == 200
    assert 'value="10.135.0.1/24"' in page.text and 'id="apply-button"' in page.text and 'id="not-live"' in page.text
    assert "/settings/dhcp" in page.text  # the tab
    dhcp_page = admin.get("/settings/dhcp")
    assert dhcp_page.status == 200 and "/prov/" in dhcp_page.text and 'id="leases"' in dhcp_page.text
    lease_file = web.settings.run_dir / "net" / dhcp.LEASES_NAME
    assert not lease_file.exists()  # plain lab mode: no dnsmasq, nothing under run/net


def test_the_page_says_when_putting_the_previous_settings_back_failed(admin, no_lockout, monkeypatch):
    from netconfig import service as net_service

    status = {**net_service.status(), "pending": True, "seconds_left": 0, "confirm_addresses": ["10.135.0.1"],
              "rollback_failed": "dnsmasq did not start in time", "rollback_attempts": 2}
    monkeypatch.setattr(net_service, "status", lambda: status)
    page = admin.get("/settings/network")
    shown = page.text.split('id="rollback-failed"', 1)[1].split("</p>", 1)[0]
    assert "hidden" not in shown.split(">", 1)[0] and "dnsmasq did not start in time" in shown


def test_copy_of_defaults_is_not_shared():
    a = validation.default_network()
    b = copy.deepcopy(a)
    a["interfaces"]["eth0"]["dns"].append("1.1.1.1")
    assert validation.default_network() == b
