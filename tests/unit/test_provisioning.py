"""Provisioning: every vendor's files rendered and parsed back, file names and User-Agents per vendor,
who may fetch what (digest, trusted ranges, link, first contact, auto-add window, bans), and the
devices API's answers to bad input."""

from __future__ import annotations

import datetime as dt
import time
import xml.etree.ElementTree as ET

import pytest

from appliance.auth import sessions
from appliance.errors import ValidationError
from appliance.provisioning import digest, server, service
from appliance.provisioning.models import Device
from appliance.provisioning.vendors import BY_KEY, VENDORS, identify, match_file
from appliance.users import service as users
from tests.support.browser import STRONG, running_web

SIP_PASSWORD = "Sip-Secret-4711"
HOST = "10.135.0.1"
PHONE_IP = "10.135.0.50"

# One device per vendor: its MAC, the file it asks for, the User-Agent it sends.
PHONES = {
    "yealink": ("805ec0a1b2c3", "805ec0a1b2c3.cfg", "Yealink SIP-T46S 66.86.0.15 80:5e:c0:a1:b2:c3"),
    "snom": ("000413a1b2c3", "snomD785-000413A1B2C3.htm",
             "Mozilla/4.0 (compatible; snomD785-SIP 10.1.33.33 2010.12-00004-g9ba52f5 000413A1B2C3 SXM:0 UXM:0)"),
    "grandstream": ("c074ada1b2c3", "cfgc074ada1b2c3.xml",
                    "Grandstream Model HW GXP2170 SW 1.0.11.3 DevId c074ada1b2c3"),
    "polycom": ("0004f2a1b2c3", "0004f2a1b2c3-phone.cfg", "FileTransport PolycomVVX-VVX_411-UA/5.9.5.0614"),
    "fanvil": ("0c383ea1b2c3", "0c383ea1b2c3.cfg", "Fanvil X4U 2.12.1 0c383ea1b2c3"),
    "gigaset": ("7c2f80a1b2c3", "7C2F80A1B2C3.xml", "Gigaset N870 IP PRO/83.V2.11.0+build.a546b8d;7C2F80A1B2C3"),
}


# -- parsing configs back, the way each phone reads them ---------------------------------------------

def _yealink(text: str) -> dict:
    values = dict(line.split(" = ", 1) for line in text.splitlines() if " = " in line and not line.startswith("#"))
    return {"extension": values.get("account.1.user_name", ""), "password": values.get("account.1.password", ""),
            "server": values.get("account.1.sip_server.1.address", ""),
            "port": values.get("account.1.sip_server.1.port", ""), "enabled": values.get("account.1.enable"),
            "name": values.get("account.1.display_name", ""),
            "prov_user": values.get("static.auto_provision.server.username", ""),
            "prov_password": values.get("static.auto_provision.server.password", "")}


def _snom(text: str) -> dict:
    settings = ET.fromstring(text).find("phone-settings")
    get = lambda tag: (settings.findtext(tag) or "")  # noqa: E731
    outbound = get("user_outbound")
    server_host, _, rest = outbound.partition(":")
    return {"extension": get("user_name"), "password": get("user_pass"), "server": server_host,
            "port": rest.split(";")[0], "enabled": "1" if get("user_active") == "on" else "0",
            "name": get("user_realname"), "prov_user": get("http_user"), "prov_password": get("http_pass")}


def _grandstream(text: str) -> dict:
    config = ET.fromstring(text).find("config")
    get = lambda tag: (config.findtext(tag) or "")  # noqa: E731
    server_host, _, port = get("P47").partition(":")
    return {"extension": get("P35"), "password": get("P34"), "server": server_host, "port": port,
            "enabled": get("P271"), "name": get("P3"), "prov_user": get("P1360"), "prov_password": get("P1361")}


def _polycom(text: str) -> dict:
    root = ET.fromstring(text)
    reg = root.find("reg").attrib
    dev = root.find("device").attrib if root.find("device") is not None else {}
    return {"extension": reg.get("reg.1.address", ""), "password": reg.get("reg.1.auth.password", ""),
            "server": reg.get("reg.1.server.1.address", ""), "port": reg.get("reg.1.server.1.port", ""),
            "enabled": "1" if reg.get("reg.1.address") else "0", "name": reg.get("reg.1.displayName", ""),
            "prov_user": dev.get("device.prov.user", ""), "prov_password": dev.get("device.prov.password", "")}


def _fanvil(text: str) -> dict:
    root = ET.fromstring(text)
    line = root.find("sip/line")
    get = lambda tag: (line.findtext(tag) or "")  # noqa: E731
    return {"extension": get("PhoneNumber"), "password": get("RegisterPswd"), "server": get("RegisterAddr"),
            "port": get("RegisterPort"), "enabled": get("EnableReg"), "name": get("DisplayName"),
            "prov_user": root.findtext("ap/FlashUsername") or "", "prov_password": root.findtext("ap/FlashPassword") or ""}


def _gigaset(text: str) -> dict:
    items = {i.get("ID"): i.get("value", "").strip('"') for i in ET.fromstring(text).iter("SYMB_ITEM")}
    return {"extension": items.get("BS_IP_Data1.aucS_SIP_USER_ID_1", ""),
            "password": items.get("BS_IP_Data1.aucS_SIP_PASSWORD_1", ""),
            "server": items.get("BS_IP_Data1.aucS_SIP_SERVER_1", ""),
            "port": items.get("BS_IP_Data1.uiI_SIP_SERVER_PORT_1", ""),
            "enabled": items.get("BS_IP_Data1.ucB_SIP_ACCOUNT_IS_ACTIVE_1", ""),
            "name": items.get("BS_IP_Data1.aucS_SIP_DISPLAYNAME_1", ""),
            "prov_user": items.get("BS_IP_Data1.aucS_DATA_SERVER_USERNAME", ""),
            "prov_password": items.get("BS_IP_Data1.aucS_DATA_SERVER_PASSWORD", "")}


PARSERS = {"yealink": _yealink, "snom": _snom, "grandstream": _grandstream, "polycom": _polycom,
           "fanvil": _fanvil, "gigaset": _gigaset}


# -- fixtures ---------------------------------------------------------------------------------------------

class Clock:
    def __init__(self):
        self.now = dt.datetime(2026, 11, 22, 9, 0, 0)

    def __call__(self):
        return self.now


@pytest.fixture
def clock(monkeypatch):
    c = Clock()
    monkeypatch.setattr(service, "now", c)
    return c


@pytest.fixture
def prov(store, clock):
    users.create_user({"extension": "201", "first_name": "Zoé", "last_name": "O'Brien & Co",
                       "sip_password": SIP_PASSWORD})
    yield store
    service.flush_seen()
    server.forget_cache()
    sessions.clear_failures(PHONE_IP)


def fetch(settings, filename, ua="", ip=PHONE_IP, auth=None, token=None):
    path = f"t/{token}/{filename}" if token else filename
    return server.handle(server.ProvRequest(path=path, client_ip=ip, user_agent=ua, host=HOST, port=80,
                                            authorization=auth), settings)


def fetch_with_digest(settings, filename, username, password, ua="", ip=PHONE_IP):
    challenge = fetch(settings, filename, ua, ip)
    assert challenge.status == 401, challenge.body
    auth = digest.authorization(username, password, "GET", "/prov/" + filename, challenge.headers["WWW-Authenticate"])
    return fetch(settings, filename, ua, ip, auth=auth)


def add(mac, vendor, user=None, ranges=None):
    data = {"mac": mac, "vendor": vendor}
    if user:
        data["user"] = user
    if ranges:
        data["trusted_ranges"] = ranges
    return service.create_device(data)


# -- every vendor: its config parsed back --------------------------------------------------------------

@pytest.mark.parametrize("vendor", sorted(PHONES))
def test_an_assigned_phone_gets_its_account_in_its_vendors_format(prov, vendor):
    mac, filename, ua = PHONES[vendor]
    _device, password = add(mac, vendor, user="201")
    answer = fetch_with_digest(prov, filename, mac, password, ua)
    assert answer.status == 200
    config = PARSERS[vendor](answer.body.decode())
    assert config["extension"] == "201" and config["password"] == SIP_PASSWORD
    assert config["server"] == HOST and config["port"] == str(prov.sip_port)
    assert config["enabled"] == "1" and config["name"] == "Zoé O'Brien & Co"
    assert config["prov_user"] == mac and config["prov_password"] == password
    if vendor == "yealink":
        assert _yealink_raw(answer.body.decode())["static.auto_provision.repeat.minutes"] == "1440"
    service.flush_seen()
    device = Device.get(Device.mac == mac)
    assert device.ip == PHONE_IP and device.vendor == vendor and device.last_file == filename


@pytest.mark.parametrize("vendor", sorted(PHONES))
def test_a_phone_assigned_to_nobody_gets_no_account_and_no_sip_secret(prov, vendor):
    mac, filename, ua = PHONES[vendor]
    _device, password = add(mac, vendor)
    answer = fetch_with_digest(prov, filename, mac, password, ua)
    assert answer.status == 200
    text = answer.body.decode()
    config = PARSERS[vendor](text)
    assert config["extension"] == "" and config["password"] == "" and config["enabled"] == "0"
    assert SIP_PASSWORD not in text and "201" not in text.replace(mac, "")
    if vendor == "yealink":  # it checks again every few minutes: assigned, it gets its account without a reboot
        assert _yealink_raw(text)["static.auto_provision.repeat.minutes"] == "5"


@pytest.mark.parametrize("vendor,filename", [
    ("yealink", "y000000000028.cfg"), ("yealink", "y000000000000.boot"), ("snom", "snomD785.htm"),
    ("grandstream", "cfg.xml"), ("grandstream", "cfggxp2170.xml"), ("polycom", "000000000000.cfg"),
    ("polycom", "sip.cfg"), ("fanvil", "f0X4U.cfg"),
])
def test_common_files_are_served_to_anyone_and_hold_no_secret(prov, vendor, filename):
    add(PHONES[vendor][0], vendor, user="201")
    answer = fetch(prov, filename, PHONES[vendor][2], ip="192.0.2.77")
    assert answer.status == 200 and answer.headers == {}
    text = answer.body.decode()
    assert SIP_PASSWORD not in text and "password = " + SIP_PASSWORD not in text
    if "xml" in answer.content_type:
        ET.fromstring(text)
    assert HOST in text or "CONFIG_FILES" in text or "include:config" in text  # where to go next


def test_the_phonebook_in_each_vendors_format_lists_users_and_contacts(prov):
    service.create_contact({"name": "Plumber & Sons", "number": "+33123456789"})
    for vendor in VENDORS:
        mac = PHONES[vendor.key][0]
        device, _ = add(mac, vendor.key, user="201")
        answer = fetch(prov, "phonebook.xml", token=service.link_token(device))
        assert answer.status == 200, vendor.key
        root = ET.fromstring(answer.body.decode())
        texts = [t.strip() for t in root.itertext() if t.strip()]
        assert "201" in texts and "+33123456789" in texts, (vendor.key, texts)
    assert fetch(prov, "phonebook.xml").status == 404  # only through a device's link


# -- file names and User-Agents ------------------------------------------------------------------------

@pytest.mark.parametrize("vendor,filename,mac", [
    ("yealink", "805ec0a1b2c3.cfg", "805ec0a1b2c3"), ("yealink", "805EC0A1B2C3.cfg", "805ec0a1b2c3"),
    ("yealink", "805ec0a1b2c3.boot", "805ec0a1b2c3"),
    ("snom", "snomD785-000413A1B2C3.htm", "000413a1b2c3"), ("snom", "snom320-000413a1b2c3.htm", "000413a1b2c3"),
    ("grandstream", "cfgc074ada1b2c3.xml", "c074ada1b2c3"), ("grandstream", "cfgC074ADA1B2C3.xml", "c074ada1b2c3"),
    ("grandstream", "cfgc074ada1b2c3", "c074ada1b2c3"),
    ("polycom", "0004f2a1b2c3.cfg", "0004f2a1b2c3"), ("polycom", "0004F2A1B2C3-phone.cfg", "0004f2a1b2c3"),
    ("fanvil", "0c383ea1b2c3.cfg", "0c383ea1b2c3"), ("fanvil", "0C383EA1B2C3.cfg", "0c383ea1b2c3"),
    ("gigaset", "7C2F80A1B2C3.xml", "7c2f80a1b2c3"), ("gigaset", "7c2f80a1b2c3.xml", "7c2f80a1b2c3"),
])
def test_each_vendors_file_names_with_upper_or_lower_case_mac(vendor, filename, mac):
    found = match_file(filename, ua_vendor=vendor)
    assert found is not None and found.vendor.key == vendor and found.kind == "device" and found.mac == mac
    # Without a User-Agent, the MAC's OUI tells the vendors sharing a file name apart.
    assert match_file(filename).vendor.key == vendor


def test_a_name_several_vendors_use_goes_to_the_known_vendor_of_that_mac():
    assert match_file("0c383ea1b2c3.cfg", known_vendor=lambda mac: "yealink").vendor.key == "yealink"
    assert match_file("0c383ea1b2c3.cfg", ua_vendor="yealink").vendor.key == "yealink"
    assert match_file("000000000000.cfg").kind == "common"
    for bad in ("../etc/passwd", "805ec0a1b2c.cfg", "snom.htm", "cfg.txt", "index.html"):
        assert match_file(bad) is None, bad


@pytest.mark.parametrize("vendor", sorted(PHONES))
def test_each_vendors_user_agent_names_vendor_model_firmware(vendor):
    found = identify(PHONES[vendor][2])
    assert found is not None and found.vendor == vendor and found.model and found.firmware
    if vendor != "polycom":  # Poly puts the MAC in the file name only
        assert found.mac == PHONES[vendor][0]
    assert identify("curl/8.4.0") is None and identify("") is None


def test_the_vendor_table_is_the_only_place_naming_vendors():
    assert [v.key for v in VENDORS] == ["yealink", "snom", "grandstream", "polycom", "fanvil", "gigaset"]
    for vendor in VENDORS:
        assert BY_KEY[vendor.key] is vendor and vendor.device_files and vendor.sync_event and vendor.reboot_event
    assert BY_KEY["snom"].reboot_event == "check-sync;reboot=true"


# -- who may fetch a device's file ----------------------------------------------------------------------

def test_a_wrong_digest_password_is_refused_and_repeated_failures_ban_the_address(prov):
    mac, filename, ua = PHONES["yealink"]
    _device, password = add(mac, "yealink", user="201")
    for _ in range(sessions.LOGIN_FAILURES):
        answer = fetch_with_digest(prov, filename, mac, "not-the-password", ua)
        assert answer.status == 401 and SIP_PASSWORD.encode() not in answer.body
        assert answer.headers["WWW-Authenticate"].startswith("Digest ")
    banned = fetch(prov, filename, ua)
    assert banned.status == 403 and SIP_PASSWORD.encode() not in banned.body
    from appliance.events.models import Event

    assert [e.subject for e in Event.select().where(Event.kind == "provisioning.ip_banned")] == [PHONE_IP]
    assert fetch(prov, "y000000000028.cfg", ua).status == 403  # banned for everything
    other = fetch_with_digest(prov, filename, mac, password, ua, ip="10.135.0.51")
    assert other.status == 200  # only the failing address
    sessions.clear_failures(PHONE_IP)
    server.forget_cache()  # the ban check is cached for a second
    assert fetch_with_digest(prov, filename, mac, password, ua).status == 200


def test_a_digest_answer_for_another_device_or_a_replayed_uri_is_refused(prov):
    mac, filename, ua = PHONES["yealink"]
    add(mac, "yealink", user="201")
    other_mac = "805ec0a1b2c4"
    _other, other_password = add(other_mac, "yealink")
    assert fetch_with_digest(prov, filename, other_mac, other_password, ua).status == 401
    challenge = fetch(prov, f"{other_mac}.cfg", ua)
    auth = digest.authorization(other_mac, other_password, "GET", f"/prov/{other_mac}.cfg",
                                challenge.headers["WWW-Authenticate"])
    assert fetch(prov, f"{other_mac}.cfg", ua, auth=auth).status == 200
    assert fetch(prov, filename, ua, auth=auth).status == 401


def _digest_with_ha1(h1: str, uri: str, www_authenticate: str, username: str, nc: str = "00000001") -> str:
    """An Authorization header computed from an HA1 (what an attacker can do when the stored HA1 is known)."""
    import hashlib

    nonce = digest.parse("Digest " + www_authenticate[7:])["nonce"]
    h2 = hashlib.md5(f"GET:{uri}".encode()).hexdigest()
    response = hashlib.md5(f"{h1}:{nonce}:{nc}:abcd:auth:{h2}".encode()).hexdigest()
    return (f'Digest username="{username}", realm="provisioning", nonce="{nonce}", uri="{uri}", '
            f'response="{response}", qop=auth, nc={nc}, cnonce="abcd", algorithm=MD5')


def test_a_device_whose_stored_hash_is_empty_is_refused_to_anyone_knowing_its_mac(prov):
    mac, filename, ua = PHONES["yealink"]
    add(mac, "yealink", user="201")
    Device.update(prov_ha1="").where(Device.mac == mac).execute()  # secrets blanked (restored without them)
    challenge = fetch(prov, filename, ua)
    auth = _digest_with_ha1("", "/prov/" + filename, challenge.headers["WWW-Authenticate"], mac)
    answer = fetch(prov, filename, ua, auth=auth)
    assert answer.status == 401 and SIP_PASSWORD.encode() not in answer.body
    assert digest.check(digest.parse(auth), "GET", "") == "bad"
    sessions.clear_failures(PHONE_IP)


def test_a_device_whose_stored_secret_cannot_be_decrypted_is_refused_and_reported_not_a_500(prov):
    from appliance.events.models import Event

    mac, filename, ua = PHONES["yealink"]
    device, _password = add(mac, "yealink", user="201", ranges=["10.135.0.0/24"])
    Device.update(prov_password_enc="not-a-fernet-token").where(Device.mac == mac).execute()
    answer = fetch(prov, filename, ua)  # inside its trusted ranges: would be served
    assert answer.status in (401, 403) and SIP_PASSWORD.encode() not in answer.body
    assert b"reset" in answer.body
    assert fetch(prov, filename, ua).status in (401, 403)
    service.flush_seen()
    events = list(Event.select().where(Event.kind == "device.credentials_unreadable"))
    assert [e.subject for e in events] == [mac] and "reset" in events[0].message
    service.reset_password(mac)  # the fix the event asks for
    assert fetch(prov, filename, ua).status == 200


def test_a_digest_answer_must_name_the_path_asked_for_and_cannot_be_replayed(prov):
    mac, filename, ua = PHONES["yealink"]
    _device, password = add(mac, "yealink", user="201")
    www = fetch(prov, filename, ua).headers["WWW-Authenticate"]
    for_other_path = digest.authorization(mac, password, "GET", "/prov/y000000000028.cfg", www)
    answer = fetch(prov, filename, ua, auth=for_other_path)
    assert answer.status == 401 and SIP_PASSWORD.encode() not in answer.body
    sessions.clear_failures(PHONE_IP)
    server.forget_cache()
    www = fetch(prov, filename, ua).headers["WWW-Authenticate"]
    auth = digest.authorization(mac, password, "GET", "/prov/" + filename, www)
    assert fetch(prov, filename, ua, auth=auth).status == 200
    replayed = fetch(prov, filename, ua, auth=auth)  # the same header again (captured on the wire)
    assert replayed.status == 401 and SIP_PASSWORD.encode() not in replayed.body
    assert "stale=true" in replayed.headers["WWW-Authenticate"]  # a real phone just answers the new nonce
    next_count = digest.authorization(mac, password, "GET", "/prov/" + filename, www, nc=2)
    assert fetch(prov, filename, ua, auth=next_count).status == 200  # the same nonce with a higher nc is fine
    assert fetch(prov, filename, ua, auth=next_count).status == 401
    absolute = digest.authorization(mac, password, "GET", f"http://{HOST}/prov/{filename}", www, nc=3)
    assert fetch(prov, filename, ua, auth=absolute).status == 200  # absolute form (through a proxy)
    # Phones challenged in the same second get different nonces: each one's first answer (nc=1) counts.
    assert digest.make_nonce(1_800_000_000) != digest.make_nonce(1_800_000_000)
    for _ in range(3):
        assert fetch_with_digest(prov, filename, mac, password, ua).status == 200


def test_nonce_counts_are_forgotten_after_the_nonce_lifetime_and_stay_bounded(monkeypatch):
    digest.forget_counts()
    monkeypatch.setattr(digest, "MAX_TRACKED", 100)
    start = time.time()
    params = lambda nonce: {"username": "u", "nonce": nonce, "uri": "/prov/a.cfg", "qop": "auth",  # noqa: E731
                            "nc": "00000001", "cnonce": "c"}
    h1 = digest.ha1("u", "pw")

    def answer(nonce, at):
        p = params(nonce)
        p["response"] = digest.parse(digest.authorization("u", "pw", "GET", "/prov/a.cfg",
                                                          f'Digest nonce="{nonce}"', cnonce="c"))["response"]
        return digest.check(p, "GET", h1, now=at, path="/prov/a.cfg")

    first = digest.make_nonce(start)
    assert answer(first, start) == "ok" and answer(first, start) == "replay"
    later = start + digest.NONCE_LIFETIME + 60
    nonces = [digest.make_nonce(later + i) for i in range(250)]  # a boot storm: one nonce a second
    for nonce in nonces:
        assert answer(nonce, later + 250) == "ok"
    assert len(digest._used) <= 100 and first not in digest._used  # pruned: it is stale anyway
    assert answer(first, later + 250) == "stale"
    # Evicted to stay bounded: refused (a fresh challenge), never accepted a second time.
    assert answer(nonces[0], later + 250) == "replay" and answer(nonces[-1], later + 250) == "replay"
    digest.forget_counts()


def test_an_address_outside_the_trusted_ranges_is_refused_even_with_the_right_password(prov):
    mac, filename, ua = PHONES["snom"]
    _device, password = add(mac, "snom", user="201", ranges=["10.135.0.0/24"])
    outside = fetch_with_digest(prov, filename, mac, password, ua, ip="192.0.2.10") \
        if fetch(prov, filename, ua, ip="192.0.2.10").status == 401 else fetch(prov, filename, ua, ip="192.0.2.10")
    assert outside.status == 403 and SIP_PASSWORD.encode() not in outside.body
    inside = fetch(prov, filename, ua, ip="10.135.0.99")  # inside its ranges: no password needed
    assert inside.status == 200 and _snom(inside.body.decode())["password"] == SIP_PASSWORD


def test_an_old_nonce_with_the_right_answer_is_challenged_again_as_stale(prov):
    mac, filename, ua = PHONES["snom"]
    _device, password = add(mac, "snom", user="201")
    old = f'Digest realm="provisioning", nonce="{digest.make_nonce(time.time() - 600)}", qop="auth"'
    auth = digest.authorization(mac, password, "GET", "/prov/" + filename, old)
    answer = fetch(prov, filename, ua, auth=auth)
    assert answer.status == 401 and "stale=true" in answer.headers["WWW-Authenticate"]
    assert sessions.is_locked_out(PHONE_IP) is False
    forged = f'Digest realm="provisioning", nonce="{int(time.time()):x}-{"0" * 32}", qop="auth"'
    auth = digest.authorization(mac, password, "GET", "/prov/" + filename, forged)
    assert fetch(prov, filename, ua, auth=auth).status == 401


def test_the_secret_link_serves_its_device_only(prov):
    mac, filename, ua = PHONES["grandstream"]
    device, _password = add(mac, "grandstream", user="201")
    token = service.link_token(device)
    answer = fetch(prov, filename, ua, ip="203.0.113.5", token=token)
    assert answer.status == 200 and _grandstream(answer.body.decode())["password"] == SIP_PASSWORD
    assert f"{HOST}/prov/t/{token}" in answer.body.decode()  # the phone keeps using its link
    assert fetch(prov, "cfgc074ada1b2c4.xml", ua, ip="203.0.113.5", token=token).status == 403
    assert fetch(prov, filename, ua, ip="203.0.113.5", token="x" * 32).status == 404
    _, new_token = service.reset_link(mac)
    assert fetch(prov, filename, ua, ip="203.0.113.5", token=token).status == 404
    assert fetch(prov, filename, ua, ip="203.0.113.5", token=new_token).status == 200
    sessions.clear_failures("203.0.113.5")


def test_auto_add_creates_unknown_phones_unassigned_for_two_hours_then_closes(prov, clock):
    mac, filename, ua = PHONES["yealink"]
    assert fetch(prov, filename, ua).status == 404  # closed by default
    assert Device.select().count() == 0
    service.set_auto_add(True)
    first = fetch(prov, filename, ua)
    assert first.status == 200
    config = _yealink(first.body.decode())
    assert config["enabled"] == "0" and config["password"] == "" and SIP_PASSWORD not in first.body.decode()
    device = Device.get(Device.mac == mac)
    assert (device.vendor, device.model, device.firmware, device.user) == ("yealink", "T46S", "66.86.0.15", None)
    service.flush_seen()
    from appliance.events.models import Event

    added = Event.get(Event.kind == "device.added")
    assert added.subject == mac and PHONE_IP in added.message
    # The first contact taught the phone its provisioning credentials; a second anonymous fetch is challenged.
    assert config["prov_user"] == mac and digest.ha1(mac, config["prov_password"]) == device.prov_ha1
    assert fetch(prov, filename, ua).status == 401
    assert fetch_with_digest(prov, filename, mac, config["prov_password"], ua).status == 200
    clock.now += dt.timedelta(hours=1, minutes=59)
    assert fetch(prov, "805ec0a1b2c9.cfg", "Yealink SIP-T31G 124.85.0.40 80:5e:c0:a1:b2:c9").status == 200
    clock.now += dt.timedelta(minutes=2)
    assert not service.auto_add_open()
    assert fetch(prov, "805ec0a1b2ca.cfg", "Yealink SIP-T31G 124.85.0.40 80:5e:c0:a1:b2:ca").status == 404
    assert Device.select().count() == 2


def test_two_simultaneous_first_contacts_hand_the_credentials_out_once(prov, monkeypatch):
    mac, filename, ua = PHONES["yealink"]
    add(mac, "yealink", user="201")  # added by MAC: its credentials not delivered yet
    service.set_auto_add(True)
    real_open, answers, raced = service.first_contact_open, [], []

    def open_while_another_request_arrives(device):
        is_open = real_open(device)
        if not raced:  # the second request runs between this one's check and its write
            raced.append(True)
            answers.append(fetch(prov, filename, ua, ip="10.135.0.51"))
        return is_open

    monkeypatch.setattr(service, "first_contact_open", open_while_another_request_arrives)
    answers.append(fetch(prov, filename, ua))
    with_credentials = [a for a in answers if a.status == 200]
    assert len(with_credentials) == 1 and _yealink(with_credentials[0].body.decode())["prov_password"]
    assert sorted(a.status for a in answers) == [200, 401]
    assert Device.get(Device.mac == mac).credentials_delivered


def test_after_a_password_reset_the_old_password_stops_working(prov):
    mac, filename, ua = PHONES["fanvil"]
    _device, old = add(mac, "fanvil", user="201")
    assert fetch_with_digest(prov, filename, mac, old, ua).status == 200
    _device, new = service.reset_password(mac)
    assert new != old
    assert fetch_with_digest(prov, filename, mac, old, ua).status == 401
    answer = fetch_with_digest(prov, filename, mac, new, ua)
    assert answer.status == 200 and _fanvil(answer.body.decode())["password"] == SIP_PASSWORD
    sessions.clear_failures(PHONE_IP)


def test_an_unassigned_then_assigned_device_gets_the_account_at_its_next_fetch(prov):
    mac, filename, ua = PHONES["polycom"]
    _device, password = add(mac, "polycom")
    assert _polycom(fetch_with_digest(prov, filename, mac, password, ua).body.decode())["enabled"] == "0"
    service.update_device(mac, {"user": "201"})
    assert _polycom(fetch_with_digest(prov, filename, mac, password, ua).body.decode())["password"] == SIP_PASSWORD
    service.update_device(mac, {"user": None})
    assert SIP_PASSWORD.encode() not in fetch_with_digest(prov, filename, mac, password, ua).body


@pytest.mark.parametrize("path", ["../../etc/passwd", "t/short/805ec0a1b2c3.cfg", "a/b.cfg", "x" * 300, ""])
def test_odd_paths_get_404(prov, path):
    assert fetch(prov, path).status == 404


# -- service validation ----------------------------------------------------------------------------------

@pytest.mark.parametrize("text,expected", [
    ("00:15:65:AA:BB:CC", "001565aabbcc"), ("00-15-65-aa-bb-cc", "001565aabbcc"), ("001565AABBCC", "001565aabbcc"),
    ("0015.65aa.bbcc", "001565aabbcc"), (" 00:15:65:aa:bb:cc ", "001565aabbcc"),
])
def test_mac_addresses_are_normalised(text, expected):
    from appliance.provisioning import macs

    assert macs.normalise(text) == expected


# -- the API ----------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def web(tmp_path_factory):
    running = running_web(tmp_path_factory.mktemp("prov-web"))
    client = running.client()
    assert client.api("POST", "/api/v1/session/password", {
        "username": "admin", "current_password": running.admin_password, "new_password": STRONG}).status == 200
    yield running
    running.stop()


@pytest.fixture
def admin(web):
    client = web.client()
    assert client.api_login("admin", STRONG).status == 200
    if client.api("GET", "/api/v1/users/300").status == 404:
        assert client.api("POST", "/api/v1/users", {"extension": "300", "first_name": "Ann", "last_name": "Lee",
                                                    "sip_password": SIP_PASSWORD}).status == 201
    yield client
    for device in client.api("GET", "/api/v1/devices").json():
        client.api("DELETE", f"/api/v1/devices/{device['mac']}")
    sessions.clear_failures("127.0.0.1")


@pytest.mark.parametrize("body,field", [
    ({"mac": "00:15:65:zz:bb:cc"}, "mac"),
    ({"mac": "0015.65aa"}, "mac"),
    ({"mac": "ff:ff:ff:ff:ff:ff"}, "mac"),
    ({"mac": 1234}, "mac"),
    ({}, "mac"),
    ({"mac": "00:15:65:aa:bb:cc", "user": "999"}, "user"),
    ({"mac": "00:15:65:aa:bb:cc", "vendor": "nokia"}, "vendor"),
    ({"mac": "00:15:65:aa:bb:cc", "trusted_ranges": ["10.0.0.0/33"]}, "trusted_ranges.0"),
    ({"mac": "00:15:65:aa:bb:cc", "trusted_ranges": ["10.0.0.0/8", "nonsense"]}, "trusted_ranges.1"),
    ({"mac": "00:15:65:aa:bb:cc", "label": "<script>"}, "label"),
    ({"mac": "00:15:65:aa:bb:cc", "colour": "red"}, "colour"),
])
def test_bad_input_is_a_400_naming_the_field_and_adds_nothing(web, admin, body, field):
    answer = admin.api("POST", "/api/v1/devices", body)
    assert answer.status == 400 and answer.json()["field"] == field, answer.text
    assert admin.api("GET", "/api/v1/devices").json() == []


def test_a_duplicate_mac_in_another_notation_is_a_400_on_mac(web, admin):
    assert admin.api("POST", "/api/v1/devices", {"mac": "00:15:65:aa:bb:cc"}).status == 201
    answer = admin.api("POST", "/api/v1/devices", {"mac": "001565AABBCC"})
    assert answer.status == 400 and answer.json()["field"] == "mac"
    assert len(admin.api("GET", "/api/v1/devices").json()) == 1


def test_assign_to_an_unknown_user_is_a_400_on_user_and_changes_nothing(web, admin):
    assert admin.api("POST", "/api/v1/devices", {"mac": "00:15:65:aa:bb:cc", "user": "300"}).status == 201
    answer = admin.api("PUT", "/api/v1/devices/001565aabbcc", {"user": "999"})
    assert answer.status == 400 and answer.json()["field"] == "user"
    assert admin.api("GET", "/api/v1/devices/001565aabbcc").json()["user"] == "300"
    assert admin.api("PUT", "/api/v1/devices/001565aabbcc", {"user": None}).json()["user"] is None
    assert admin.api("GET", "/api/v1/devices/00:00:00:00:00:01").status == 404
    assert admin.api("PUT", "/api/v1/provisioning", {"auto_add": "yes"}).json()["field"] == "auto_add"
    assert admin.api("POST", "/api/v1/devices/001565aabbcc/actions", {"action": "explode"}).json()["field"] == "action"


def test_the_devices_api_shows_the_password_once_and_fetches_work_over_http(web, admin, caplog):
    created = admin.api("POST", "/api/v1/devices", {"mac": "80:5E:C0:A1:B2:C3", "user": "300"})
    assert created.status == 201
    data = created.json()
    password, link = data["provisioning_password"], data["provisioning_link"]
    assert data["vendor"] == "yealink" and data["user"] == "300" and link.startswith(f"{web.url}/prov/t/")
    listed = admin.api("GET", "/api/v1/devices").json()
    assert "provisioning_password" not in listed[0] and "provisioning_link" not in listed[0]
    assert listed[0]["registered"] is None  # no Kamailio in this test: unknown, not "no"
    client = web.client()
    ua = {"User-Agent": PHONES["yealink"][2]}
    challenge = client.request("GET", "/prov/805ec0a1b2c3.cfg", headers=ua)
    assert challenge.status == 401
    auth = digest.authorization("805ec0a1b2c3", password, "GET", "/prov/805ec0a1b2c3.cfg",
                                challenge.header("WWW-Authenticate"))
    answer = client.request("GET", "/prov/805ec0a1b2c3.cfg", headers={**ua, "Authorization": auth})
    assert answer.status == 200 and _yealink(answer.text)["password"] == SIP_PASSWORD
    assert _yealink(answer.text)["server"] == "127.0.0.1"
    reset = admin.api("POST", "/api/v1/devices/805ec0a1b2c3/password").json()
    assert reset["provisioning_password"] != password
    with caplog.at_level("INFO", logger="webui.access"):
        assert client.request("GET", link[len(web.url):] + "805ec0a1b2c3.cfg", headers=ua).status == 200
    token = link.rstrip("/").rsplit("/", 1)[1]
    assert "/prov/t/.../805ec0a1b2c3.cfg" in caplog.text and token not in caplog.text
    browser = web.client()
    assert browser.login("admin", STRONG).status == 303
    page = browser.get("/devices")
    assert page.status == 200 and "80:5E:C0:A1:B2:C3" in page.text and "/prov/" in page.text
    settings = admin.api("PUT", "/api/v1/provisioning", {"auto_add": True}).json()
    assert settings["auto_add_open"] is True and settings["provisioning_url"] == f"{web.url}/prov/"
    assert admin.api("PUT", "/api/v1/provisioning", {"auto_add": False}).json()["auto_add_open"] is False


def test_a_link_token_is_in_no_log_line_when_serving_it_fails(web, admin, caplog, monkeypatch):
    created = admin.api("POST", "/api/v1/devices", {"mac": "80:5E:C0:A1:B2:C3", "user": "300"}).json()
    link = created["provisioning_link"]
    token = link.rstrip("/").rsplit("/", 1)[1]

    def broken(req, settings):
        raise RuntimeError("database is locked")

    monkeypatch.setattr(server, "handle", broken)
    with caplog.at_level("INFO"):
        answer = web.client().request("GET", link[len(web.url):] + "805ec0a1b2c3.cfg")
    assert answer.status == 500 and token not in answer.text
    assert "/prov/t/.../805ec0a1b2c3.cfg" in caplog.text  # the access log line and the error log name the path
    for record in caplog.records:
        assert token not in record.getMessage() and token not in str(record.exc_text or "")


def test_a_technician_assigns_phones_and_a_user_cannot_see_them(web, admin):
    for ext, role in (("310", "technician"), ("311", "user")):
        admin.api("POST", "/api/v1/users", {"extension": ext, "first_name": role.title(), "last_name": "T",
                                            "role": role, "web_password": STRONG})
    assert admin.api("POST", "/api/v1/devices", {"mac": "00:15:65:aa:bb:cc"}).status == 201
    tech = web.client()
    assert tech.api_login("310", STRONG).status == 200
    assert tech.api("PUT", "/api/v1/devices/001565aabbcc", {"user": "300"}).status == 200
    user = web.client()
    assert user.api_login("311", STRONG).status == 200
    assert user.api("GET", "/api/v1/devices").status == 403
    browser = web.client()
    browser.login("311", STRONG)
    assert browser.get("/devices").status == 403


def test_a_technician_never_gets_what_opens_a_users_sip_password_and_an_admin_does(web, admin):
    admin.api("POST", "/api/v1/users", {"extension": "312", "first_name": "Tech", "last_name": "Nician",
                                        "role": "technician", "web_password": STRONG})
    tech = web.client()
    assert tech.api_login("312", STRONG).status == 200
    created = tech.api("POST", "/api/v1/devices", {"mac": "80:5E:C0:A1:B2:C3", "user": "300"})
    assert created.status == 201
    assert "provisioning_password" not in created.json() and "provisioning_link" not in created.json()
    shown = tech.api("GET", "/api/v1/devices/805ec0a1b2c3")
    assert shown.status == 200 and "provisioning_link" not in shown.json()
    assert tech.api("POST", "/api/v1/devices/805ec0a1b2c3/password").status == 403
    assert tech.api("POST", "/api/v1/devices/805ec0a1b2c3/link").status == 403
    for method, path in (("PUT", "/api/v1/devices/805ec0a1b2c3"), ("POST", "/api/v1/devices")):
        body = {"trusted_ranges": ["127.0.0.0/8"]} | ({"mac": "80:5E:C0:A1:B2:C4"} if method == "POST" else {})
        refused = tech.api(method, path, body)
        assert refused.status == 403 and refused.json()["field"] == "trusted_ranges"
    assert tech.api("GET", "/api/v1/devices/805ec0a1b2c3").json()["trusted_ranges"] == []
    # Still an installer: list, assign, unassign (re-provision/reboot need a registered phone: 409 here).
    assert tech.api("GET", "/api/v1/devices").status == 200
    assert tech.api("PUT", "/api/v1/devices/805ec0a1b2c3", {"user": None}).json()["user"] is None
    assert tech.api("PUT", "/api/v1/devices/805ec0a1b2c3", {"user": "300"}).json()["user"] == "300"
    assert tech.api("POST", "/api/v1/devices/805ec0a1b2c3/actions", {"action": "resync"}).status != 403
    browser = web.client()
    assert browser.login("312", STRONG).status == 303
    page = browser.get("/devices").text
    assert "80:5E:C0:A1:B2:C3" in page and "data-action=\"reboot\"" in page
    assert "data-reset-password" not in page and "data-show-link" not in page and "data-password" not in page
    assert 'name="trusted_ranges"' not in page
    # The administrator sees and resets them.
    link = admin.api("GET", "/api/v1/devices/805ec0a1b2c3").json()["provisioning_link"]
    assert "/prov/t/" in link
    assert admin.api("POST", "/api/v1/devices/805ec0a1b2c3/password").json()["provisioning_password"]
    assert admin.api("POST", "/api/v1/devices/805ec0a1b2c3/link").json()["provisioning_link"] != link
    assert admin.api("PUT", "/api/v1/devices/805ec0a1b2c3", {"trusted_ranges": ["10.0.0.0/8"]}).status == 200
    page = web.client()
    assert page.login("admin", STRONG).status == 303
    text = page.get("/devices").text
    assert "data-reset-password" in text and "data-show-link" in text and 'name="trusted_ranges"' in text


# -- firmware ---------------------------------------------------------------------------------------------

def _multipart(fields: dict, filename: str | None, content: bytes) -> tuple[bytes, str]:
    boundary = "----provtest7d2f"
    parts = []
    for name, value in fields.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
    if filename is not None:
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
                     f"Content-Type: application/octet-stream\r\n\r\n".encode() + content + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def _upload(admin, fields, filename, content):
    body, ctype = _multipart(fields, filename, content)
    return admin.request("POST", "/api/v1/firmware", body, {"Content-Type": ctype,
                                                            "Authorization": f"Bearer {admin.token}"})


@pytest.mark.parametrize("fields,filename,field", [
    ({"vendor": "nokia", "model": "T46S"}, "fw.rom", "vendor"),
    ({"vendor": "yealink", "model": "T46S/../x"}, "fw.rom", "model"),
    ({"vendor": "yealink", "model": "T46S"}, None, "file"),
    ({"vendor": "yealink", "model": "T46S"}, "notes.txt", "file"),
    ({"vendor": "yealink", "model": "T46S", "colour": "red"}, "fw.rom", "colour"),
])
def test_bad_firmware_uploads_are_a_400_naming_the_field(web, admin, fields, filename, field):
    answer = _upload(admin, fields, filename, b"\x00firmware")
    assert answer.status == 400 and answer.json()["field"] == field, answer.text
    assert admin.api("GET", "/api/v1/firmware").json() == []


def test_uploaded_firmware_is_offered_to_matching_phones_that_do_not_run_it(web, admin):
    blob = bytes(range(256)) * 4096
    answer = _upload(admin, {"vendor": "yealink", "model": "T46S", "version": "66.86.0.20"}, "T46S-66.86.0.20.rom",
                     blob)
    assert answer.status == 201, answer.text
    row = answer.json()
    assert row["filename"] == "yealink-T46S-66.86.0.20.rom" and row["size_bytes"] == len(blob)
    client = web.client()
    ua = {"User-Agent": PHONES["yealink"][2]}
    link = admin.api("POST", "/api/v1/devices", {"mac": PHONES["yealink"][0], "user": "300"}).json()[
        "provisioning_link"][len(web.url):]
    config = _yealink_raw(client.request("GET", link + "805ec0a1b2c3.cfg", headers=ua).text)
    assert config["static.firmware.url"] == f"{web.url}/prov/firmware/yealink-T46S-66.86.0.20.rom"
    download = client.request("GET", "/prov/firmware/yealink-T46S-66.86.0.20.rom", headers=ua)
    assert download.status == 200 and download.body == blob
    assert client.request("GET", "/prov/firmware/other.rom", headers=ua).status == 404
    # Once the phone reports that version, it is not offered again; another model is never offered it.
    ua_new = {"User-Agent": "Yealink SIP-T46S 66.86.0.20 80:5e:c0:a1:b2:c3"}
    assert "static.firmware.url" not in _yealink_raw(client.request("GET", link + "805ec0a1b2c3.cfg",
                                                                    headers=ua_new).text)
    admin.api("PUT", "/api/v1/provisioning", {"auto_add": True})
    assert admin.api("POST", "/api/v1/phonebook/contacts", {"name": "Plumber", "number": "+33123456789"}).status == 201
    browser = web.client()
    browser.login("admin", STRONG)
    page = browser.get("/devices")
    assert page.status == 200 and "yealink-T46S-66.86.0.20.rom" in page.text and "+33123456789" in page.text
    assert 'data-open="1"' in page.text and "80:5E:C0:A1:B2:C3" in page.text
    admin.api("PUT", "/api/v1/provisioning", {"auto_add": False})
    for contact in admin.api("GET", "/api/v1/phonebook/contacts").json():
        assert admin.api("DELETE", f"/api/v1/phonebook/contacts/{contact['id']}").status == 204
    assert admin.api("DELETE", f"/api/v1/firmware/{row['id']}").status == 204
    assert client.request("GET", "/prov/firmware/yealink-T46S-66.86.0.20.rom", headers=ua).status == 404


@pytest.mark.parametrize("data, field", [
    ({"vendor": "yealink", "model": "T46S\n"}, "model"),
    ({"vendor": "yealink", "model": "T46S", "version": "66.86.0.15\n"}, "version"),
])
def test_a_firmware_model_or_version_ending_in_a_newline_is_refused(store, data, field):
    import io

    from appliance.provisioning import firmware

    with pytest.raises(ValidationError) as refused:
        firmware.upload(store, data, "fw.rom", io.BytesIO(b"firmware"))
    assert refused.value.field == field
    assert not firmware.directory(store).exists() or list(firmware.directory(store).iterdir()) == []


def test_two_uploads_of_one_model_at_once_do_not_mix_and_a_broken_one_leaves_no_file(store):
    import io

    from appliance.provisioning import firmware

    first_content = b"A" * (1 << 20) + b"A-end"
    second_content = b"B" * 1000

    class SlowClient(io.BytesIO):
        """The first upload: while it is half-read, a second upload of the same model completes."""

        def __init__(self):
            super().__init__(first_content)
            self.reads = 0

        def read(self, size=-1):
            self.reads += 1
            if self.reads == 2:
                firmware.upload(store, {"vendor": "yealink", "model": "T46S", "version": "2"}, "b.rom",
                                io.BytesIO(second_content))
            return super().read(size)

    row = firmware.upload(store, {"vendor": "yealink", "model": "T46S", "version": "1"}, "a.rom", SlowClient())
    folder = firmware.directory(store)
    assert (folder / row.filename).read_bytes() == first_content  # the last one done wins, whole
    assert sorted(p.name for p in folder.iterdir()) == [row.filename]  # the replaced one and no temporary file

    class Disconnected(io.BytesIO):
        def read(self, size=-1):
            if self.tell():
                raise OSError("client went away")
            return super().read(size)

    with pytest.raises(OSError):
        firmware.upload(store, {"vendor": "snom", "model": "D785"}, "x.bin", Disconnected(b"x" * (3 << 20)))
    assert sorted(p.name for p in folder.iterdir()) == [row.filename]


def _yealink_raw(text: str) -> dict:
    return dict(line.split(" = ", 1) for line in text.splitlines() if " = " in line and not line.startswith("#"))
