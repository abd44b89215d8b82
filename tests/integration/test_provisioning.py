"""Issue 6's provisioning, on the stack as `appliance run` starts it: a Yealink and a Snom ask for their
files (exact names and User-Agents those phones send) from unknown MACs, show up as new devices assigned to
nobody, get assigned through the API, fetch again with digest auth, and a test phone registers with the SIP
credentials parsed out of each file and calls the echo test (76) with audio."""

from __future__ import annotations

import http.client
import time
import xml.etree.ElementTree as ET

import pytest

from appliance.provisioning import digest
from tests.support import audio
from tests.support.phone import TestPhone
from tests.support.stack import Stack

YEALINK_MAC = "805ec0aabb01"
YEALINK_UA = "Yealink SIP-T46S 66.86.0.15 80:5e:c0:aa:bb:01"
SNOM_MAC = "000413aabb02"
SNOM_UA = "Mozilla/4.0 (compatible; snomD785-SIP 10.1.33.33 2010.12-00004-g9ba52f5 000413AABB02 SXM:0 UXM:0)"


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    s = Stack(tmp_path_factory.mktemp("provisioning") / "data").start()
    s.api = s.admin_api()
    yield s
    s.stop()


@pytest.fixture
def phones():
    opened = []

    def open_phone(name):
        phone = TestPhone(name)
        opened.append(phone)
        return phone

    yield open_phone
    for phone in opened:
        phone.close()


def get(stack, path, user_agent, authorization=None):
    """One GET as the phone sends it: (status, headers, body text)."""
    conn = http.client.HTTPConnection("127.0.0.1", stack.settings.http_port, timeout=10)
    headers = {"User-Agent": user_agent}
    if authorization:
        headers["Authorization"] = authorization
    conn.request("GET", path, headers=headers)
    resp = conn.getresponse()
    body = resp.read().decode()
    conn.close()
    return resp.status, resp.headers, body


def get_with_digest(stack, path, user_agent, username, password):
    status, headers, _body = get(stack, path, user_agent)
    assert status == 401 and headers["WWW-Authenticate"].startswith("Digest ")
    auth = digest.authorization(username, password, "GET", path, headers["WWW-Authenticate"])
    return get(stack, path, user_agent, auth)


def yealink_values(text):
    return dict(line.split(" = ", 1) for line in text.splitlines() if " = " in line and not line.startswith("#"))


def snom_values(text):
    settings = ET.fromstring(text).find("phone-settings")
    return {child.tag: (child.text or "") for child in settings}


def echo_test(stack, phone, tmp_path, name):
    phone.call(f"sip:76@127.0.0.1:{stack.settings.sip_port}")
    phone.play_tone(700)
    phone.record(tmp_path / f"{name}.wav")
    phone.wait_for("confirmed", 10)
    time.sleep(2.5)
    phone.stop_recording()
    phone.hangup()
    phone.wait_for("disconnected", 10)
    return audio.has_tone(tmp_path / f"{name}.wav", 700)


def test_unknown_phones_are_added_assigned_provisioned_and_call_the_echo_test(stack, phones, tmp_path):
    api = stack.api
    for ext, first in (("400", "Yann"), ("401", "Sophie")):
        status, _ = api.request("POST", "/api/v1/users", {"extension": ext, "first_name": first, "last_name": "Lab"})
        assert status == 201  # SIP password generated and never shown here: the phones learn it from their file

    # Closed by default: an unknown phone gets nothing and is not listed.
    assert get(stack, f"/prov/{YEALINK_MAC}.cfg", YEALINK_UA)[0] == 404
    status, settings = api.request("PUT", "/api/v1/provisioning", {"auto_add": True})
    assert status == 200 and settings["auto_add_open"] and settings["provisioning_url"].endswith("/prov/")

    # Boot: the common files first (served before the phone is known), then the device's own file.
    status, _, common = get(stack, "/prov/y000000000028.cfg", YEALINK_UA)
    assert status == 200 and "static.auto_provision.server.url" in common
    status, _, yealink_first = get(stack, f"/prov/{YEALINK_MAC}.cfg", YEALINK_UA)
    assert status == 200
    status, _, snom_common = get(stack, "/prov/snomD785.htm", SNOM_UA)
    assert status == 200 and "snomD785-{mac}.htm" in snom_values(snom_common)["setting_server"]
    status, _, snom_first = get(stack, "/prov/snomD785-000413AABB02.htm", SNOM_UA)
    assert status == 200

    # Not assigned: no account, no SIP credentials, the phone shows that it waits.
    y = yealink_values(yealink_first)
    assert y["account.1.enable"] == "0" and y["account.1.user_name"] == "" and y["account.1.password"] == ""
    s = snom_values(snom_first)
    assert s["user_active"] == "off" and s["user_name"] == "" and s["user_pass"] == ""
    status, devices = api.request("GET", "/api/v1/devices")
    assert status == 200
    listed = {d["mac"]: d for d in devices}
    assert set(listed) == {YEALINK_MAC, SNOM_MAC}
    assert (listed[YEALINK_MAC]["vendor"], listed[YEALINK_MAC]["model"], listed[YEALINK_MAC]["firmware"]) == \
        ("yealink", "T46S", "66.86.0.15")
    assert (listed[SNOM_MAC]["vendor"], listed[SNOM_MAC]["model"]) == ("snom", "D785")
    assert all(d["user"] is None and d["registered"] is False and d["ip"] == "127.0.0.1" for d in devices)

    # The first contact taught each phone its provisioning credentials; without them it is challenged now.
    assert get(stack, f"/prov/{YEALINK_MAC}.cfg", YEALINK_UA)[0] == 401
    assert get(stack, "/prov/snomD785-000413AABB02.htm", SNOM_UA)[0] == 401

    # The installer assigns them.
    for mac, ext in ((YEALINK_MAC, "400"), (SNOM_MAC, "401")):
        status, device = api.request("PUT", f"/api/v1/devices/{mac}", {"user": ext})
        assert status == 200 and device["user"] == ext

    # Next fetch, with digest auth: the full config.
    path = f"/prov/{YEALINK_MAC}.cfg"
    status, _, yealink_cfg = get_with_digest(stack, path, YEALINK_UA, y["static.auto_provision.server.username"],
                                             y["static.auto_provision.server.password"])
    assert status == 200
    y = yealink_values(yealink_cfg)
    path = "/prov/snomD785-000413AABB02.htm"
    status, _, snom_cfg = get_with_digest(stack, path, SNOM_UA, s["http_user"], s["http_pass"])
    assert status == 200
    s = snom_values(snom_cfg)

    # Each phone registers with what its file says, and hears itself in the echo test.
    yealink = phones("yealink")
    assert y["account.1.enable"] == "1" and y["account.1.user_name"] == "400"
    assert yealink.register(y["account.1.user_name"], y["account.1.password"], y["account.1.sip_server.1.address"],
                            int(y["account.1.sip_server.1.port"])) == 200
    assert echo_test(stack, yealink, tmp_path, "yealink"), "the Yealink-provisioned phone did not hear itself"

    snom = phones("snom")
    host, _, rest = s["user_outbound"].partition(":")
    assert s["user_active"] == "on" and s["user_name"] == "401"
    assert snom.register(s["user_name"], s["user_pass"], host, int(rest.split(";")[0])) == 200
    assert echo_test(stack, snom, tmp_path, "snom"), "the Snom-provisioned phone did not hear itself"

    # Registered now, and reachable for re-provisioning.
    status, devices = api.request("GET", "/api/v1/devices")
    assert all(d["registered"] is True for d in devices), devices
    status, sent = api.request("POST", f"/api/v1/devices/{SNOM_MAC}/actions", {"action": "resync"})
    assert status == 200 and sent == {"action": "resync", "event": "check-sync;reboot=false", "sent": 1}


def test_refused_fetches_leak_nothing_and_a_wrong_password_repeated_bans_the_address(stack):
    api = stack.api
    api.request("PUT", "/api/v1/provisioning", {"auto_add": False})
    status, created = api.request("POST", "/api/v1/devices", {"mac": "80:5E:C0:AA:BB:03", "user": "400",
                                                            "trusted_ranges": ["10.135.0.0/24"]})
    assert status == 201
    # From 127.0.0.1, outside its trusted ranges: refused even with the right password.
    path = "/prov/805ec0aabb03.cfg"
    ua = "Yealink SIP-T31G 124.85.0.40 80:5e:c0:aa:bb:03"
    status, _, body = get(stack, path, ua)
    assert status == 403 and "account.1.password" not in body
    # An unassigned device that is reachable gets a config with no account; a reboot needs a registration.
    assert api.request("PUT", "/api/v1/devices/805ec0aabb03", {"user": None, "trusted_ranges": []})[0] == 200
    status, _, body = get_with_digest(stack, path, ua, "805ec0aabb03", created["provisioning_password"])
    assert status == 200 and yealink_values(body)["account.1.password"] == ""
    status, answer = api.request("POST", "/api/v1/devices/805ec0aabb03/actions", {"action": "reboot"})
    assert status == 409 and answer["field"] == "device"
    # Wrong passwords: challenged each time, then the address is banned from provisioning.
    for _ in range(5):
        status, _, body = get_with_digest(stack, path, ua, "805ec0aabb03", "wrong-password")
        assert status == 401 and "account.1" not in body
    assert get(stack, path, ua)[0] == 403
    assert get(stack, "/prov/y000000000028.cfg", ua)[0] == 403
