"""Network settings and the DHCP server, live, in network namespaces this module creates (never the host's).

- A "phone" namespace at the far end of a veth runs a real DHCP client (ISC dhclient) against the appliance's
  dnsmasq and gets an address in the range with option 66 (and 160) = the appliance's provisioning URL.
- The three scenarios applied to an "appliance" namespace whose ports eth0..eth3 are veths: what `ip` and `tc`
  report matches the settings; the WAN's DHCP client gets its address from an "upstream" router namespace.
- Not confirmed within the (shortened) window: the previous settings come back. Bad input changes nothing.
"""

from __future__ import annotations

import ipaddress
import re
import time

import pytest

from appliance.errors import Conflict, ValidationError
from netconfig import dhcp, service
from netconfig.netns import Target
from tests.support.netns import Namespaces

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def store(tmp_path):
    from appliance import changes
    from appliance.settings import Settings
    from appliance.store import close_store, open_store, secrets

    settings = Settings(data_dir=tmp_path / "data")
    open_store(settings)
    secrets.load_key(settings.secret_key_path)
    yield settings
    close_store()
    changes.unsubscribe_all()


@pytest.fixture
def lab(store, tmp_path):
    """appliance namespace with ports eth0..eth3 (veths), a phone on eth1, an upstream router on eth0."""
    with Namespaces() as ns:
        for short in ("ap", "phone", "up", "lan2", "lan3"):
            ns.add(short)
        ns.veth("ap", "eth0", "up", "wan")
        ns.veth("ap", "eth1", "phone", "eth0")
        ns.veth("ap", "eth2", "lan2", "eth0")
        ns.veth("ap", "eth3", "lan3", "eth0")
        ns.ip("up", "addr", "add", "198.51.100.1/24", "dev", "wan")
        target = Target(ns.name("ap"), tmp_path / "run", tmp_path / "image")
        service.configure(target, timeout_s=600)
        yield ns, target
        service.cancel_timer()
        dhcp.stop(target)
        from netconfig import apply

        apply.stop_dhcp_clients(target)
        service.configure(None)


def _dhclient(ns: Namespaces, tmp_path) -> str:
    conf = tmp_path / "dhclient.conf"
    conf.write_text("option poly-prov code 160 = text;\n"
                    "request subnet-mask, routers, domain-name-servers, ntp-servers, tftp-server-name, poly-prov;\n")
    leases, pid = tmp_path / "phone.leases", tmp_path / "phone.pid"
    try:
        ns.exec("phone", ["dhclient", "-1", "-cf", str(conf), "-lf", str(leases), "-pf", str(pid), "-sf", "/bin/true",
                          "eth0"], timeout=60)
    finally:
        if pid.exists():
            ns.exec("phone", ["kill", pid.read_text().strip()], check=False)
    return leases.read_text()


def _option(lease: str, name: str) -> str:
    m = re.search(rf"option {name} (.+);", lease)
    return m.group(1).strip('"') if m else ""


def test_phone_gets_an_address_in_the_range_and_the_provisioning_url(lab, tmp_path):
    ns, target = lab
    status = service.apply_network({"scenario": "separate"})
    assert status["pending"] and status["result"]["applied"]
    service.confirm("10.135.0.1")
    service.update_dhcp({"range_start": "10.135.0.50", "range_end": "10.135.0.60", "lease_minutes": 30,
                         "domain": "office.lan", "ntp2": "198.51.100.123"})
    lease = _dhclient(ns, tmp_path)
    address = re.search(r"fixed-address ([\d.]+);", lease).group(1)
    assert ipaddress.IPv4Address("10.135.0.50") <= ipaddress.IPv4Address(address) <= ipaddress.IPv4Address(
        "10.135.0.60")
    assert _option(lease, "tftp-server-name") == "http://10.135.0.1/prov/"
    assert _option(lease, "poly-prov") == "http://10.135.0.1/prov/"
    assert _option(lease, "routers") == "10.135.0.1"
    assert _option(lease, "domain-name-servers") == "10.135.0.1"
    assert _option(lease, "ntp-servers") == "10.135.0.1,198.51.100.123"
    assert _option(lease, "dhcp-lease-time") == "1800"
    # The leases table shows the phone; the provisioning name resolves to the appliance on LAN.
    leases = service.leases()
    assert [x["ip"] for x in leases] == [address]
    assert leases[0]["mac"] == ns.ip("phone", "link", "show", "eth0").stdout.split("link/ether ")[1].split()[0]
    ns.ip("phone", "addr", "add", f"{address}/24", "dev", "eth0")  # dhclient ran with a no-op script
    assert _resolve_via(ns, "10.135.0.1", "provisioning.pbx.lan") == "10.135.0.1"


def _resolve_via(ns: Namespaces, server: str, name: str) -> str:
    """Ask the appliance's DNS directly (dnspython) from the phone namespace."""
    code = ("import dns.resolver,sys; r=dns.resolver.Resolver(configure=False); r.nameservers=[sys.argv[1]]; "
            "print(r.resolve(sys.argv[2], 'A')[0].to_text())")
    import sys

    return ns.exec("phone", [sys.executable, "-c", code, server, name], check=False).stdout.strip()


def test_refuse_unknown_clients_serves_only_static_leases(lab, tmp_path):
    ns, target = lab
    service.apply_network({"scenario": "separate"})
    service.confirm()
    mac = ns.ip("phone", "link", "show", "eth0").stdout.split("link/ether ")[1].split()[0]
    service.update_dhcp({"refuse_unknown": True, "static_leases": [
        {"mac": "00:15:65:00:00:01", "address": "10.135.0.20", "hostname": "other"}]})
    with pytest.raises(RuntimeError):  # dhclient -1 gives up: no offer for an unknown MAC
        _dhclient_quick(ns, tmp_path)
    service.update_dhcp({"static_leases": [{"mac": mac, "address": "10.135.0.21", "hostname": "deskphone"}]})
    lease = _dhclient(ns, tmp_path)
    assert "fixed-address 10.135.0.21;" in lease


def _dhclient_quick(ns: Namespaces, tmp_path) -> None:
    conf = tmp_path / "quick.conf"
    conf.write_text("timeout 6;\nretry 1;\n")
    pid = tmp_path / "quick.pid"
    try:
        ns.exec("phone", ["dhclient", "-1", "-cf", str(conf), "-lf", str(tmp_path / "quick.leases"), "-pf", str(pid),
                          "-sf", "/bin/true", "eth0"], timeout=30)
    finally:
        if pid.exists():
            ns.exec("phone", ["kill", pid.read_text().strip()], check=False)


def _wait(predicate, timeout: float = 20.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    return predicate()


def test_three_scenarios_as_ip_and_tc_report_them(lab, tmp_path):
    ns, target = lab
    # The upstream router serves DHCP on the WAN (the appliance's own dnsmasq code, in the "up" namespace).
    up_target = Target(ns.name("up"), tmp_path / "up-run", tmp_path / "up-image")
    net_up = {"scenario": "separate", "interfaces": {"wan": {"mode": "static", "address": "198.51.100.1/24", "vlan": None,
                                                              "gateway": "", "dns": [], "mtu": 1500}}}
    up_dhcp = {"enabled": True, "interface": "wan", "range_start": "198.51.100.100", "range_end": "198.51.100.110",
               "lease_minutes": 60, "max_leases": 10, "domain": "", "gateway": "", "dns1": "198.51.100.53", "dns2": "",
               "ntp1": "", "ntp2": "", "wins1": "", "wins2": "", "refuse_unknown": False, "provisioning_name": "",
               "static_leases": []}
    dhcp.start(up_target, dhcp.render(up_dhcp, net_up, up_target.run_dir), [])
    try:
        # 1. shared voice and data: eth0 DHCP client only, the others down.
        with pytest.raises(ValidationError) as err:
            service.apply_network({"scenario": "shared", "interfaces": {"eth1": {"mode": "off"}}})
        assert err.value.field == "scenario"  # the DHCP server still runs on eth1: turn it off first
        service.update_dhcp({"enabled": False})
        service.apply_network({"scenario": "shared", "interfaces": {"eth1": {"mode": "off"}}})
        wan = _wait(lambda: ns.addresses("ap", "eth0"))
        assert wan and ipaddress.IPv4Interface(wan[0]).ip in ipaddress.IPv4Network("198.51.100.96/27")
        assert "default via 198.51.100.1 dev eth0" in ns.ip("ap", "route").stdout
        assert ns.addresses("ap", "eth1") == []
        assert "state DOWN" in ns.ip("ap", "link", "show", "eth1").stdout or \
            ",UP" not in ns.ip("ap", "link", "show", "eth1").stdout
        service.confirm()

        # 2. separate: eth0 static WAN with VLAN-less gateway, eth1 LAN 10.135.1.1/24 (the manual's example), MTU.
        service.apply_network({"scenario": "separate", "interfaces": {
            "eth0": {"mode": "static", "address": "198.51.100.10/24", "gateway": "198.51.100.1", "mtu": 1400},
            "eth1": {"mode": "static", "address": "10.135.1.1/24"},
            "eth3": {"mode": "static", "address": "172.16.3.1/24"}}})
        assert ns.addresses("ap", "eth0") == ["198.51.100.10/24"]
        assert "mtu 1400" in ns.ip("ap", "link", "show", "eth0").stdout
        assert ns.addresses("ap", "eth1") == ["10.135.1.1/24"]
        assert ns.addresses("ap", "eth3") == ["172.16.3.1/24"]
        assert "default via 198.51.100.1 dev eth0" in ns.ip("ap", "route").stdout
        assert ns.exec("up", ["ping", "-c", "1", "-W", "2", "198.51.100.10"], check=False).returncode == 0
        service.confirm("198.51.100.10")

        # 3. separate with traffic shaper: wbr0 = eth0 + eth2 with eth0's settings; limits on the WAN port.
        service.apply_network({"scenario": "shaper", "shaper": {"upload_kbit": 2000, "download_kbit": 8000},
                               "interfaces": {"eth3": {"mode": "off"}}})
        assert ns.addresses("ap", "wbr0") == ["198.51.100.10/24"]
        assert ns.addresses("ap", "eth0") == []
        for port in ("eth0", "eth2"):
            assert "master wbr0" in ns.ip("ap", "link", "show", port).stdout
        assert "bridge" in ns.ip("ap", "-d", "link", "show", "wbr0").stdout
        qdiscs = ns.tc("ap", "qdisc", "show", "dev", "eth0")
        assert re.search(r"qdisc htb 1: root .*default 0x20", qdiscs)
        assert "qdisc ingress ffff:" in qdiscs
        assert re.search(r"qdisc (fq_codel|pfifo) 10: parent 1:10", qdiscs)
        classes = ns.tc("ap", "class", "show", "dev", "eth0")
        assert re.search(r"class htb 1:1 root .*rate 2Mbit ceil 2Mbit", classes)
        assert re.search(r"class htb 1:10 parent 1:1 .*prio 0 rate 1200Kbit ceil 2Mbit", classes)
        assert re.search(r"class htb 1:20 parent 1:1 .*prio 1 rate 800Kbit ceil 2Mbit", classes)
        filters = ns.tc("ap", "filter", "show", "dev", "eth0", "parent", "1:")
        assert "flowid 1:10" in filters
        assert "match 13c40000/ffff0000 at 20" in filters  # source port 5060 -> voice class
        assert "match 00b80000/00fc0000 at 0" in filters  # DSCP EF already marked -> voice class
        assert ns.exec("up", ["ping", "-c", "1", "-W", "2", "198.51.100.10"], check=False).returncode == 0
        service.confirm("198.51.100.10")
        # The image's persistent configuration says the same.
        files = {p.name: p.read_text() for p in (tmp_path / "image" / "etc/systemd/network").iterdir()}
        assert "Kind=bridge" in files["05-appliance-wbr0.netdev"]
        assert "Address=198.51.100.10/24" in files["20-appliance-wbr0.network"]
        assert "Bridge=wbr0" in files["10-appliance-eth2.network"]
        assert "htb" in (tmp_path / "image" / "etc/appliance/traffic-shaper.tc").read_text()
    finally:
        dhcp.stop(up_target)


def test_not_confirmed_the_previous_settings_come_back(lab):
    ns, target = lab
    service.apply_network({"scenario": "separate"})
    service.confirm()
    before = service.get_network()
    service.configure(target, timeout_s=2)
    # the DHCP range must follow the subnet: turn the server off for this change
    service.update_dhcp({"enabled": False})
    status = service.apply_network({"interfaces": {"eth1": {"address": "10.135.9.1/24"},
                                                   "eth2": {"mode": "static", "address": "172.16.2.1/24"}}})
    assert status["pending"] and status["confirm_addresses"]
    assert ns.addresses("ap", "eth1") == ["10.135.9.1/24"]
    assert ns.addresses("ap", "eth2") == ["172.16.2.1/24"]
    with pytest.raises(Conflict):
        service.confirm("10.135.0.1")  # not the new address
    assert _wait(lambda: ns.addresses("ap", "eth1") == ["10.135.0.1/24"], timeout=30)
    assert ns.addresses("ap", "eth2") == []
    after = service.get_network()
    assert after["interfaces"] == before["interfaces"] and not service.status()["pending"]
    assert "rolled_back" in service.status()["result"]


def test_a_change_stored_by_the_console_is_applied_with_the_same_window(lab):
    """The serial/SSH console stores LAN1's new address (no target in its process); the web process applies it
    with the confirmation window, and rolls it back when nobody confirms, without looping."""
    ns, target = lab
    service.configure(target, timeout_s=2)
    service.start()  # process start: the stored configuration goes live and is kept
    assert ns.addresses("ap", "eth1") == ["10.135.0.1/24"]
    service.update_dhcp({"enabled": False})
    service.configure(None)  # the console's process
    from serialconsole import network as console_network

    console_network.store_lan1("10.135.7.1/24")
    service.configure(target, timeout_s=2)
    assert service.check_stored_changes() is True
    assert ns.addresses("ap", "eth1") == ["10.135.7.1/24"] and service.status()["pending"]
    assert _wait(lambda: not service.status()["pending"], timeout=30)
    assert ns.addresses("ap", "eth1") == ["10.135.0.1/24"]
    assert service.get_network()["interfaces"]["eth1"]["address"] == "10.135.0.1/24"
    assert service.check_stored_changes() is False  # the restored settings are the kept ones
    # confirmed this time: kept, and the image's files follow
    service.configure(None)
    console_network.store_lan1("10.135.7.1/24")
    service.configure(target, timeout_s=600)
    assert service.check_stored_changes() is True
    service.confirm("10.135.7.1")
    assert ns.addresses("ap", "eth1") == ["10.135.7.1/24"] and not service.status()["pending"]
    assert "Address=10.135.7.1/24" in (target.persist_root / "etc/systemd/network/10-appliance-eth1.network").read_text()
    assert service.check_stored_changes() is False


def test_vlan_is_applied_or_refused_whole_by_the_kernel(lab):
    """A VLAN port: live as `ethN.V` where the kernel has 8021q; on a kernel without it the apply is refused
    as a whole (409 naming "apply") and the previous settings are live and stored again."""
    ns, target = lab
    service.apply_network({"scenario": "separate"})
    service.confirm()
    before = service.get_network()["interfaces"]
    try:
        service.apply_network({"interfaces": {"eth3": {"mode": "static", "address": "172.16.3.1/24", "vlan": 30}}})
    except Conflict as exc:
        assert exc.field == "apply" and "previous settings were restored" in exc.message
        assert service.get_network()["interfaces"] == before and not service.status()["pending"]
        assert ns.addresses("ap", "eth3") == [] and ns.addresses("ap", "eth1") == ["10.135.0.1/24"]
        assert "eth3.30" not in ns.ip("ap", "link").stdout
    else:
        assert ns.addresses("ap", "eth3.30") == ["172.16.3.1/24"]
        assert "vlan protocol 802.1Q id 30" in ns.ip("ap", "-d", "link", "show", "eth3.30").stdout


def test_bad_input_changes_nothing(lab):
    ns, target = lab
    service.apply_network({"scenario": "separate"})
    service.confirm()
    stored, dhcp_before = service.get_network(), service.get_dhcp()
    live = ns.ip("ap", "-4", "-o", "addr").stdout
    conf = (target.run_dir / dhcp.CONF_NAME).read_text()
    bad_network = [
        ({"interfaces": {"eth0": {"mode": "static", "address": "198.51.100.10/24", "gateway": "203.0.113.1"}}},
         "interfaces.eth0.gateway"),
        ({"interfaces": {"eth1": {"address": "10.135.0.1/31"}}}, "interfaces.eth1.address"),
        ({"interfaces": {"eth1": {"mtu": 20000}}}, "interfaces.eth1.mtu"),
        ({"interfaces": {"eth2": {"mode": "static", "address": "172.16.0.1/24", "vlan": 4095}}},
         "interfaces.eth2.vlan"),
        ({"interfaces": {"eth1": {"address": "10.135.0.150/24"}}}, "interfaces.eth1.address"),  # inside the range
    ]
    for body, field in bad_network:
        with pytest.raises(ValidationError) as err:
            service.apply_network(body)
        assert err.value.field == field, body
    bad_dhcp = [
        ({"range_start": "10.135.1.10"}, "range_start"),  # outside the subnet
        ({"range_start": "10.135.0.1"}, "range_start"),  # contains the appliance's own address
        ({"static_leases": [{"mac": "00:15:65:zz:00:01", "address": "10.135.0.20"}]}, "static_leases.0.mac"),
        ({"static_leases": [{"mac": "00:15:65:00:00:01", "address": "10.135.0.120"}]}, "static_leases.0.address"),
        ({"gateway": "198.51.100.1"}, "gateway"),
    ]
    for body, field in bad_dhcp:
        with pytest.raises(ValidationError) as err:
            service.update_dhcp(body)
        assert err.value.field == field, body
    assert service.get_network() == stored and service.get_dhcp() == dhcp_before
    assert ns.ip("ap", "-4", "-o", "addr").stdout == live
    assert (target.run_dir / dhcp.CONF_NAME).read_text() == conf
    assert not service.status()["pending"]


# -- appliance run --lab-lan --------------------------------------------------------------------------------------

_SIP_PROBE = ("import socket\n"
              "s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); s.settimeout(3); s.bind(('',0))\n"
              "p=s.getsockname()[1]\n"
              "m=('OPTIONS sip:10.135.0.1 SIP/2.0\\r\\nVia: SIP/2.0/UDP 10.135.0.9:%d;branch=z9hG4bKlab1\\r\\n'\n"
              "   'From: <sip:probe@lab>;tag=1\\r\\nTo: <sip:10.135.0.1>\\r\\nCall-ID: lab-lan-probe\\r\\n'\n"
              "   'CSeq: 1 OPTIONS\\r\\nMax-Forwards: 70\\r\\nContent-Length: 0\\r\\n\\r\\n') % p\n"
              "s.sendto(m.encode(),('10.135.0.1',5060)); print(s.recvfrom(4000)[0].split(b'\\r\\n')[0].decode())")
_HTTP_GET = ("import http.client\n"
             "c=http.client.HTTPConnection('10.135.0.1',80,timeout=3); c.request('GET','/')\n"
             "r=c.getresponse(); print(r.status, r.getheader('Location'))")


def _namespaces() -> set[str]:
    from netconfig.netns import list_namespaces

    return set(list_namespaces())


def test_lab_lan_is_what_a_device_on_lan1_sees_and_is_removed_even_after_a_crash(tmp_path):
    import os
    import sys

    from tests.support.netns import LabLanAppliance

    lab = LabLanAppliance(tmp_path / "lab").start()  # waits its turn: one lab LAN per machine
    try:
        assert {"appliance-lan1", "lan1-client"} <= _namespaces()
        assert lab.admin_password
        # a device plugged into LAN1: DHCP with option 66, the web UI on port 80, SIP on 5060
        lease = lab.dhcp_lease(tmp_path)
        assert lease["options"]["tftp-server-name"] == "http://10.135.0.1/prov/"
        assert lease["options"]["routers"] == "10.135.0.1"
        assert ipaddress.IPv4Address(lease["address"]) in ipaddress.IPv4Network("10.135.0.0/24")
        assert lab.client([sys.executable, "-c", _HTTP_GET]).stdout.split() == ["303", "http://10.135.0.1/login?next=%2F"]
        assert lab.client([sys.executable, "-c", _SIP_PROBE]).stdout.strip() == "SIP/2.0 200 OK"
        assert lease["address"] in (tmp_path / "lab" / "run" / "net" / dhcp.LEASES_NAME).read_text()
        # crash: the supervisor killed outright leaves the namespaces (and dnsmasq) behind ...
        lab.kill()
        assert {"appliance-lan1", "lan1-client"} <= _namespaces()
        # ... and the next start removes them and builds fresh ones
        lab.start()
        assert lab.client(["ip", "-4", "-o", "addr", "show", "dev", "eth0"]).stdout.strip() == ""  # a new veth
    finally:
        lab.stop()
    assert not {"appliance-lan1", "lan1-client"} & _namespaces()
    assert not os.path.exists("/etc/netns/lan1-client")


# -- the pages in a browser (headless Chromium), applying to a test namespace ----------------------------------

@pytest.fixture
def browser_lab(tmp_path):
    import os

    from tests.support.browser import CHROMIUM, first_login, running_web

    if not os.path.exists(CHROMIUM):
        pytest.fail("Debian's chromium is not installed (make deps-test)")
    web = running_web(tmp_path / "data")
    first_login(web)
    with Namespaces() as ns:
        ns.add("ap")
        ns.add("phone")
        ns.veth("ap", "eth1", "phone", "eth0")
        target = Target(ns.name("ap"), tmp_path / "run", tmp_path / "image")
        service.configure(target, http_port=web.settings.http_port, timeout_s=600)
        service.start()
        try:
            yield web, ns, target
        finally:
            service.cancel_timer()
            dhcp.stop(target)
            service.configure(None)
            web.stop()


def test_network_page_apply_confirm_and_rollback_in_a_browser(browser_lab):
    from playwright.sync_api import expect, sync_playwright

    from tests.support.browser import ARTIFACTS, STRONG, launch_chromium

    web, ns, target = browser_lab
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = launch_chromium(p)
        page = browser.new_context(locale="en-US").new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(web.url + "/login")
        page.fill("#username", "admin")
        page.fill("#password", STRONG)
        page.click("button[type=submit]:has-text('Log in')")
        page.goto(web.url + "/settings/network")
        row = page.locator("tr[data-port=eth1]")
        expect(row.locator("td.live")).to_have_text("10.135.0.1/24")
        # bad input: the error names the field, nothing is applied
        row.locator("input[name=gateway]").fill("192.168.1.1")
        page.click("#apply-button")
        expect(page.locator("#network-error")).to_contain_text("interfaces.eth1.gateway")
        assert not service.status()["pending"]
        # apply: the countdown shows; confirm keeps it
        row.locator("input[name=gateway]").fill("")
        row.locator("input[name=mtu]").fill("1400")
        page.click("#apply-button")
        expect(page.locator("#pending")).to_be_visible()
        assert "mtu 1400" in ns.ip("ap", "link", "show", "eth1").stdout
        page.screenshot(path=str(ARTIFACTS / "network-confirm.png"))
        page.click("#confirm-button")
        expect(page.locator("#pending")).to_be_hidden()
        assert not service.status()["pending"]
        # not confirmed: the page sees the previous settings come back by themselves
        service.configure(target, http_port=web.settings.http_port, timeout_s=3)
        page.goto(web.url + "/settings/network")
        page.locator("tr[data-port=eth1] input[name=mtu]").fill("1300")
        page.click("#apply-button")
        expect(page.locator("#pending")).to_be_visible()
        expect(page.locator("#rolled-back")).to_be_visible(timeout=30000)
        expect(page.locator("tr[data-port=eth1] input[name=mtu]")).to_have_value("1400")
        assert "mtu 1400" in ns.ip("ap", "link", "show", "eth1").stdout
        page.goto(web.url + "/settings/dhcp")
        expect(page.locator("#provisioning-url")).to_have_text(f"http://10.135.0.1:{web.settings.http_port}/prov/")
        page.fill("#range_start", "10.136.0.10")
        page.click("#dhcp-form button[type=submit]")
        expect(page.locator("#dhcp-error")).to_contain_text("range_start")
        page.fill("#range_start", "10.135.0.110")
        page.click("#dhcp-form button[type=submit]")
        expect(page.locator("#dhcp-saved")).to_be_visible()
        browser.close()
    assert errors == [], errors
    assert service.get_dhcp()["range_start"] == "10.135.0.110"
