"""Issue 6, shown end to end on LAN1 as `appliance run --lab-lan` makes it: two phones plugged into LAN1 (each a
network interface of its own in lan1-client, with a Yealink or Snom MAC) get an address and option 66 from the
appliance's DHCP server through a real DHCP client, fetch their files from the URL option 66 gave them (the
names and User-Agents those phones send), show up as new devices assigned to nobody, get assigned by the
installer (the API used from a laptop on LAN1, after the forced first password change), fetch again answering
the digest challenge, and a pjsua2 phone running in lan1-client on each phone's address registers to
10.135.0.1 with the SIP credentials read out of that file, calls the echo test (76) and hears itself.

Everything the phones and the installer send goes from lan1-client to 10.135.0.1: nothing uses loopback."""

from __future__ import annotations

import ipaddress
import time
import xml.etree.ElementTree as ET

import pytest

from netconfig import lablan
from tests.support import audio
from tests.support.netns import LabLanAppliance
from tests.support.phone import TestPhone

pytestmark = pytest.mark.timeout(240)

INSTALLER_PASSWORD = "Lan1-Installer-Passw0rd"
YEALINK = {"mac": "805ec0aabb01", "port": "yealink0", "table": 101, "ext": "400", "first": "Yann",
           "ua": "Yealink SIP-T46S 66.86.0.15 80:5e:c0:aa:bb:01"}
SNOM = {"mac": "000413aabb02", "port": "snom0", "table": 102, "ext": "401", "first": "Sophie",
        "ua": "Mozilla/4.0 (compatible; snomD785-SIP 10.1.33.33 2010.12-00004-g9ba52f5 000413AABB02 SXM:0 UXM:0)"}


def colon_mac(mac: str) -> str:
    return ":".join(mac[i:i + 2] for i in range(0, 12, 2))


def yealink_values(text: str) -> dict[str, str]:
    """A Yealink .cfg as the phone reads it: `key = value` lines, `#` comments."""
    values = {}
    for line in text.splitlines():
        if line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        values[key.strip()] = value.strip()
    return values


def snom_values(text: str) -> dict[str, str]:
    """A Snom XML settings file as the phone reads it (identity 1 for the idx settings)."""
    settings = ET.fromstring(text).find("phone-settings")
    return {child.tag: (child.text or "") for child in settings if child.get("idx") in (None, "1")}


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    # start() first waits for the machine's one lab LAN (flock /tmp/lablan.lock, as test_netconfig's lab does)
    lab = LabLanAppliance(tmp_path_factory.mktemp("lan-chain") / "lab").start()
    yield lab
    lab.stop()


@pytest.fixture
def lan_phones(lab):
    opened = []

    def open_phone(name: str, address: str) -> TestPhone:
        phone = TestPhone(name, bind_address=address, command_prefix=["ip", "netns", "exec", lablan.CLIENT_NS])
        opened.append(phone)
        return phone

    yield open_phone
    for phone in opened:
        phone.close()


def fetch(lab, phone: dict, url: str, digest: tuple[str, str] | None = None) -> dict:
    """A GET as the phone sends it: from its own address, with its User-Agent."""
    return lab.http(url, headers={"User-Agent": phone["ua"]}, source=phone["address"], digest=digest)


def registered_devices(installer, timeout: float = 10) -> dict[str, bool]:
    """The Devices list's "registered" column, once every device shows registered (or at the timeout)."""
    deadline = time.monotonic() + timeout
    while True:
        status, devices = installer.request("GET", "/api/v1/devices")
        assert status == 200, devices
        registered = {d["mac"]: d["registered"] for d in devices}
        if all(registered.values()) or time.monotonic() > deadline:
            return registered
        time.sleep(0.5)


def echo_test(phone: TestPhone, host: str, port: int, wav) -> bool:
    phone.call(f"sip:76@{host}:{port}")
    phone.play_tone(700)
    phone.record(wav)
    phone.wait_for("confirmed", 10)
    time.sleep(2.5)
    phone.stop_recording()
    phone.hangup()
    phone.wait_for("disconnected", 10)
    return audio.has_tone(wav, 700)


def test_phones_on_lan1_get_dhcp_and_option_66_provision_register_and_call_the_echo_test(lab, lan_phones,
                                                                                         tmp_path):
    # The installer's laptop on LAN1 (lan1-client's eth0, address by DHCP): the admin's one-time password must
    # be changed before anything else.
    laptop = lab.dhcp_lease(tmp_path)
    assert laptop["options"]["routers"] == "10.135.0.1"
    installer = lab.api()
    status, answer = installer.request("POST", "/api/v1/session", {"username": "admin",
                                                                   "password": lab.admin_password})
    assert (status, answer["error"]) == (403, "password_change_required"), answer
    installer = lab.admin_api(INSTALLER_PASSWORD)
    for phone in (YEALINK, SNOM):
        status, user = installer.request("POST", "/api/v1/users", {"extension": phone["ext"],
                                                                   "first_name": phone["first"], "last_name": "Lan"})
        assert status == 201 and user["sip_password"], user
        phone["sip_password"] = user["sip_password"]  # generated: the phone only learns it from its file
    status, prov = installer.request("PUT", "/api/v1/provisioning", {"auto_add": True})
    assert status == 200 and prov["auto_add_open"] and prov["provisioning_url"] == "http://10.135.0.1/prov/"
    status, dhcp_settings = installer.request("GET", "/api/v1/dhcp")
    assert status == 200
    first = ipaddress.IPv4Address(dhcp_settings["range_start"])
    last = ipaddress.IPv4Address(dhcp_settings["range_end"])

    # Plugged in: each phone (its own MAC) asks DHCP, gets an address in the range, and option 66.
    for phone in (YEALINK, SNOM):
        lease = lab.device_port(tmp_path, phone["port"], colon_mac(phone["mac"]), phone["table"])
        phone["address"] = lease["address"]
        assert first <= ipaddress.IPv4Address(lease["address"]) <= last, lease
        assert lease["options"]["tftp-server-name"] == prov["provisioning_url"], lease
        assert lease["options"]["routers"] == "10.135.0.1"
        phone["prov"] = lease["options"]["tftp-server-name"]
    assert YEALINK["address"] != SNOM["address"]
    status, leases = installer.request("GET", "/api/v1/dhcp/leases")
    assert status == 200
    assert {(lease["mac"], lease["vendor"], lease["ip"]) for lease in leases} >= {
        (colon_mac(YEALINK["mac"]), "Yealink", YEALINK["address"]), (colon_mac(SNOM["mac"]), "Snom", SNOM["address"])}

    # Yealink boot: its model's common file, then its own <mac>.cfg, from the URL of option 66.
    answer = fetch(lab, YEALINK, YEALINK["prov"] + "y000000000028.cfg")
    assert answer["status"] == 200
    assert yealink_values(answer["body"])["static.auto_provision.server.url"] == YEALINK["prov"]
    answer = fetch(lab, YEALINK, YEALINK["prov"] + f"{YEALINK['mac']}.cfg")
    assert answer["status"] == 200
    y = yealink_values(answer["body"])
    # Snom boot: snom<model>.htm names its own file, where the phone puts its upper-case MAC for {mac}.
    answer = fetch(lab, SNOM, SNOM["prov"] + "snomD785.htm")
    assert answer["status"] == 200
    own = snom_values(answer["body"])["setting_server"]
    assert own == SNOM["prov"] + "snomD785-{mac}.htm"
    snom_url = own.replace("{mac}", SNOM["mac"].upper())
    answer = fetch(lab, SNOM, snom_url)
    assert answer["status"] == 200
    s = snom_values(answer["body"])

    # Not assigned yet: no account in either file, and both listed as new devices from their LAN1 addresses.
    assert (y["account.1.enable"], y["account.1.user_name"], y["account.1.password"]) == ("0", "", "")
    assert (s["user_active"], s["user_name"], s["user_pass"]) == ("off", "", "")
    status, devices = installer.request("GET", "/api/v1/devices")
    assert status == 200
    listed = {d["mac"]: d for d in devices}
    assert set(listed) == {YEALINK["mac"], SNOM["mac"]}
    assert (listed[YEALINK["mac"]]["vendor"], listed[YEALINK["mac"]]["model"]) == ("yealink", "T46S")
    assert (listed[SNOM["mac"]]["vendor"], listed[SNOM["mac"]]["model"]) == ("snom", "D785")
    for phone in (YEALINK, SNOM):
        device = listed[phone["mac"]]
        assert device["user"] is None and device["registered"] is False and device["ip"] == phone["address"]

    # Known now: a fetch without credentials is challenged (HTTP digest).
    for phone, url in ((YEALINK, YEALINK["prov"] + f"{YEALINK['mac']}.cfg"), (SNOM, snom_url)):
        answer = fetch(lab, phone, url)
        assert answer["status"] == 401 and answer["headers"]["www-authenticate"].startswith("Digest "), answer

    # The installer assigns each phone to its user.
    for phone in (YEALINK, SNOM):
        status, device = installer.request("PUT", f"/api/v1/devices/{phone['mac']}", {"user": phone["ext"]})
        assert status == 200 and device["user"] == phone["ext"], device

    # Next fetch: the phone answers the digest challenge with the credentials its first file gave it.
    answer = fetch(lab, YEALINK, YEALINK["prov"] + f"{YEALINK['mac']}.cfg",
                   digest=(y["static.auto_provision.server.username"], y["static.auto_provision.server.password"]))
    assert answer["status"] == 200 and len(answer["challenges"]) == 1, answer
    y = yealink_values(answer["body"])
    answer = fetch(lab, SNOM, snom_url, digest=(s["http_user"], s["http_pass"]))
    assert answer["status"] == 200 and len(answer["challenges"]) == 1, answer
    s = snom_values(answer["body"])

    # The SIP account, read out of each file as the phone reads it.
    assert y["account.1.enable"] == "1" and y["account.1.user_name"] == YEALINK["ext"] and y["account.1.password"]
    yealink_sip = (y["account.1.user_name"], y["account.1.password"], y["account.1.sip_server.1.address"],
                   int(y["account.1.sip_server.1.port"]))
    assert s["user_active"] == "on" and s["user_name"] == SNOM["ext"] and s["user_pass"]
    outbound, _, params = s["user_outbound"].partition(";")
    host, _, port = outbound.partition(":")
    assert params == "transport=udp"
    snom_sip = (s["user_name"], s["user_pass"], host, int(port))
    assert yealink_sip[2:] == snom_sip[2:] == ("10.135.0.1", 5060)
    assert (yealink_sip[1], snom_sip[1]) == (YEALINK["sip_password"], SNOM["sip_password"])

    # A phone in lan1-client on each phone's address registers with exactly those credentials ...
    yealink = lan_phones("yealink", YEALINK["address"])
    assert yealink.register(*yealink_sip) == 200
    snom = lan_phones("snom", SNOM["address"])
    assert snom.register(*snom_sip, domain=s["user_host"]) == 200
    # ... from its own LAN1 address: the Devices list (which asks Kamailio at most every 2 s) shows both
    # registered, matching each registration's source address with the address the device fetched from.
    assert registered_devices(installer) == {YEALINK["mac"]: True, SNOM["mac"]: True}
    status, registrations = installer.request("GET", "/api/v1/registrations")
    assert {(r["extension"], r["source_ip"]) for r in registrations} == {
        (YEALINK["ext"], YEALINK["address"]), (SNOM["ext"], SNOM["address"])}, registrations
    # ... and hears itself in the echo test: RTP both ways between lan1-client and 10.135.0.1.
    assert echo_test(yealink, *yealink_sip[2:], tmp_path / "yealink.wav"), "the Yealink did not hear itself"
    assert echo_test(snom, *snom_sip[2:], tmp_path / "snom.wav"), "the Snom did not hear itself"
