"""Trunks and trunk groups: validation of every field, presets, the API by role, the pages.

Everything here shares one in-process web server and its store (module
scoped, Kamailio absent): each test uses names of its own.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
import threading

import pytest

from appliance import changes
from appliance.dialplan.models import Procedure, current_revision
from appliance.errors import Conflict, NotFound, ValidationError
from appliance.store import database, secrets
from appliance.system.models import get_system_settings
from appliance.system.service import update_system_settings
from appliance.trunks import groups, presets, service
from appliance.trunks.models import Trunk
from tests.support.browser import STRONG, first_login, running_web

PASSWORD = "Pr0vider-Secret!"


@pytest.fixture(scope="module")
def web(tmp_path_factory):
    running = running_web(tmp_path_factory.mktemp("trunks"))
    # Kamailio is absent here: the SIP edge's reaction to a trunk change would wait for its RPC on every
    # save. What is tested here is the configuration; the edge has tests of its own.
    for event in ("trunk.saved", "trunk.deleted", "system.saved"):
        changes._listeners[event][:] = [listener for listener in changes._listeners[event]
                                        if type(listener).__name__ != "SyncTrunks"]
    yield running
    running.stop()


@pytest.fixture(scope="module")
def browser(web):
    return first_login(web)


@pytest.fixture(scope="module")
def admin(web, browser):
    api = web.client()
    assert api.api_login("admin", STRONG).status == 200
    return api


_names = itertools.count(1)


def _name() -> str:
    return f"t{next(_names)}"


def _trunk(**extra) -> Trunk:
    data = {"name": _name(), "host": "sip.example.com", "auth_user": "user1", "password": PASSWORD, **extra}
    return service.create_trunk(data)


def _field_of(data: dict) -> str:
    with pytest.raises(ValidationError) as err:
        service.create_trunk(data)
    return err.value.field


def _login_as(web, admin, extension: str, role: str):
    response = admin.api("POST", "/api/v1/users", {"extension": extension, "first_name": role.title(),
                                                    "last_name": "Test", "role": role, "web_password": STRONG})
    assert response.status == 201, response.text
    client = web.client()
    assert client.api_login(extension, STRONG).status == 200
    return client


# -- presets ----------------------------------------------------------------------------------------

def test_the_required_providers_each_have_a_preset_with_valid_values():
    for key in ("swisscom", "sunrise", "iway", "salt", "twilio", "telnyx", "sip2sip", "ovh", "orange_business",
                "generic"):
        assert presets.get(key) is not None, key
    assert len({p.key for p in presets.PRESETS}) == len(presets.PRESETS)
    for preset in presets.PRESETS:
        values = presets.defaults(preset.key)
        assert values["transport"] in ("udp", "tcp", "tls")
        assert values["codecs"] and set(values["codecs"]) <= set(service.CODECS), preset.key
        assert values["called_header"] in ("ruri", "to", "pcpid", "diversion")
        if "host" in values:
            assert service._host(values["host"]) == values["host"], preset.key
        assert preset.notes, preset.key
    assert presets.get("swisscom").country_code == "41" and presets.get("swisscom").register
    assert not presets.get("twilio").register and presets.get("twilio").auth == "ip"


def test_a_preset_fills_only_the_fields_not_given(web):
    trunk = service.create_trunk({"name": _name(), "preset": "swisscom", "auth_user": "+41445550100",
                                  "password": PASSWORD, "codecs": ["G722"]})
    assert (trunk.host, trunk.transport, trunk.register, trunk.country_code) == ("sip.swisscom.ch:5060", "udp",
                                                                                  True, "41")
    assert trunk.codecs == ["G722"] and trunk.preset == "swisscom"
    twilio = service.create_trunk({"name": _name(), "preset": "twilio", "host": "acme.pstn.twilio.com",
                                   "ip_auth": ["54.172.60.0/30"]})
    assert (twilio.register, twilio.codecs, twilio.password_enc) == (False, ["PCMU", "PCMA"], None)
    # A preset without a host needs one.
    assert _field_of({"name": _name(), "preset": "twilio"}) == "host"
    assert _field_of({"name": _name(), "preset": "nowhere", "host": "x.example.com"}) == "preset"


# -- validation --------------------------------------------------------------------------------------

def test_create_stores_every_field_and_moves_the_dialplan_revision(web):
    before = current_revision()
    name = _name()
    service.create_trunk({
        "name": name, "title": "Main line", "auth_user": "acme@x", "from_user": "+41445550100",
        "provider_domain": "Voip.Example.COM.", "host": "Sip.Example.com:5080", "password": PASSWORD,
        "register": True, "keepalive": False, "transport": "TCP", "codecs": ["g722", "PCMA"], "max_calls": "8",
        "country_code": "+41", "inbound_procedure": "main", "outbound_caller_id": "+41 44 555 01 00",
        "called_header": "to", "ip_auth": ["192.0.2.0/24", "2001:db8::1"], "price_list": None, "enabled": False})
    assert current_revision() == before + 1
    public = service.to_public(service.get_trunk(name))
    assert {k: public[k] for k in ("title", "auth_user", "from_user", "provider_domain", "host", "register",
                                   "keepalive", "transport", "codecs", "max_calls", "country_code",
                                   "outbound_caller_id", "called_header", "ip_auth", "enabled", "revision",
                                   "has_password", "dynamic")} == {
        "title": "Main line", "auth_user": "acme@x", "from_user": "+41445550100",
        "provider_domain": "voip.example.com", "host": "sip.example.com:5080", "register": True,
        "keepalive": False, "transport": "tcp", "codecs": ["G722", "PCMA"], "max_calls": 8, "country_code": "41",
        "outbound_caller_id": "+41445550100", "called_header": "to", "ip_auth": ["192.0.2.0/24", "2001:db8::1"],
        "enabled": False, "revision": 1, "has_password": True, "dynamic": False}
    assert PASSWORD not in json.dumps(public) and "password_enc" not in public and "ha1" not in public
    stored = service.get_trunk(name)
    assert PASSWORD not in stored.password_enc and service.password_of(stored) == PASSWORD
    assert stored.ha1 is None  # only a dynamic trunk needs one


def test_the_title_defaults_to_the_name(web):
    trunk = _trunk()
    assert trunk.title == trunk.name


@pytest.mark.parametrize("host, stored", [
    ("sip.example.com", "sip.example.com"),
    ("SIP.Example.com.:5060", "sip.example.com:5060"),
    ("192.0.2.10", "192.0.2.10"),
    ("192.0.2.10:5070", "192.0.2.10:5070"),
    ("[2001:db8::10]:5060", "[2001:db8::10]:5060"),
    ("[2001:DB8:0::10]", "[2001:db8::10]"),
    ("2001:db8::10", "[2001:db8::10]"),
    ("Dynamic", "dynamic"),
    ("localhost", "localhost"),
])
def test_host_accepts_names_addresses_and_ports(web, host, stored):
    extra = {"register": False} if stored == "dynamic" else {}
    assert _trunk(host=host, **extra).host == stored


@pytest.mark.parametrize("host", [
    "", "   ", "sip.example.com:0", "sip.example.com:65536", "sip.example.com:50a", "sip.example.com:",
    "192.0.2.300", "1.2.3", "[2001:db8::10", "[not-v6]:5060", "2001:db8:::1", "sip_bad!.com", "-a.example.com",
    "a..example.com", "exämple.com", "sip.example.com/path", "sip.example.com; reboot", "a" * 300,
    "sip.example.com:5060:1", "user@sip.example.com", "sip.example.com\n5060",
])
def test_bad_hosts_are_refused(web, host):
    assert _field_of({"name": _name(), "host": host, "auth_user": "u", "password": PASSWORD}) == "host"


@pytest.mark.parametrize("data, field", [
    ({"host": "sip.example.com", "auth_user": "u", "password": PASSWORD}, "name"),
    ({"name": "Bad Name", "host": "sip.example.com"}, "name"),
    ({"name": "-x", "host": "sip.example.com"}, "name"),
    ({"name": "x" * 65, "host": "sip.example.com"}, "name"),
    ({"name": "trünk", "host": "sip.example.com"}, "name"),
    ({"name": 12, "host": "sip.example.com"}, "name"),
    ({"name": "presets", "host": "sip.example.com", "register": False}, "name"),
    ({"name": "ok1"}, "host"),
    ({"name": "ok1", "host": 5060}, "host"),
    ({"name": "ok1", "host": "sip.example.com", "title": "x" * 129}, "title"),
    ({"name": "ok1", "host": "sip.example.com", "title": "a\tb"}, "title"),
    ({"name": "ok1", "host": "sip.example.com", "title": '<script>"'}, "title"),
    ({"name": "ok1", "host": "sip.example.com", "title": 5}, "title"),
    ({"name": "ok1", "host": "sip.example.com", "password": PASSWORD}, "auth_user"),
    ({"name": "ok1", "host": "sip.example.com", "auth_user": "u"}, "password"),
    ({"name": "ok1", "host": "sip.example.com", "auth_user": "u", "password": ""}, "password"),
    ({"name": "ok1", "host": "sip.example.com", "auth_user": "u", "password": 1234}, "password"),
    ({"name": "ok1", "host": "sip.example.com", "auth_user": "u", "password": "x" * 129}, "password"),
    ({"name": "ok1", "host": "sip.example.com", "auth_user": "u", "password": "line\nbreak"}, "password"),
    ({"name": "ok1", "host": "sip.example.com", "auth_user": "u", "password": " padded "}, "password"),
    ({"name": "ok1", "host": "sip.example.com", "auth_user": "a b", "password": PASSWORD}, "auth_user"),
    ({"name": "ok1", "host": "sip.example.com", "auth_user": 'u";drop', "password": PASSWORD}, "auth_user"),
    ({"name": "ok1", "host": "sip.example.com", "auth_user": "ü", "password": PASSWORD}, "auth_user"),
    ({"name": "ok1", "host": "sip.example.com", "auth_user": "u" * 65, "password": PASSWORD}, "auth_user"),
    ({"name": "ok1", "host": "sip.example.com", "register": False, "from_user": "a@b"}, "from_user"),
    ({"name": "ok1", "host": "sip.example.com", "register": False, "from_user": "<sip:x>"}, "from_user"),
    ({"name": "ok1", "host": "sip.example.com", "register": False, "provider_domain": "bad domain"},
     "provider_domain"),
    ({"name": "ok1", "host": "sip.example.com", "register": False, "provider_domain": "x" * 254},
     "provider_domain"),
    ({"name": "ok1", "host": "sip.example.com", "register": "yes"}, "register"),
    ({"name": "ok1", "host": "sip.example.com", "register": False, "keepalive": 1}, "keepalive"),
    ({"name": "ok1", "host": "sip.example.com", "register": False, "enabled": None}, "enabled"),
    ({"name": "ok1", "host": "sip.example.com", "register": False, "transport": "sctp"}, "transport"),
    ({"name": "ok1", "host": "sip.example.com", "register": False, "transport": ["udp"]}, "transport"),
    ({"name": "ok1", "host": "sip.example.com", "register": False, "codecs": []}, "codecs"),
    ({"name": "ok1", "host": "sip.example.com", "register": False, "codecs": "PCMA"}, "codecs"),
    ({"name": "ok1", "host": "sip.example.com", "register": False, "codecs": ["PCMA", "G729"]}, "codecs.1"),
    ({"name": "ok1", "host": "sip.example.com", "register": False, "codecs": ["PCMA", "pcma"]}, "codecs.1"),
    ({"name": "ok1", "host": "sip.example.com", "register": False, "codecs": [None]}, "codecs.0"),
    ({"name": "ok1", "host": "sip.example.com", "register": False, "max_calls": -1}, "max_calls"),
    ({"name": "ok1", "host": "sip.example.com", "register": False, "max_calls": 10001}, "max_calls"),
    ({"name": "ok1", "host": "sip.example.com", "register": False, "max_calls": 2.5}, "max_calls"),
    ({"name": "ok1", "host": "sip.example.com", "register": False, "max_calls": True}, "max_calls"),
    ({"name": "ok1", "host": "sip.example.com", "register": False, "max_calls": "٣"}, "max_calls"),
    ({"name": "ok1", "host": "sip.example.com", "register": False, "country_code": "0041"}, "country_code"),
    ({"name": "ok1", "host": "sip.example.com", "register": False, "country_code": "4155"}, "country_code"),
    ({"name": "ok1", "host": "sip.example.com", "register": False, "country_code": "CH"}, "country_code"),
    ({"name": "ok1", "host": "sip.example.com", "register": False, "country_code": "٤١"}, "country_code"),
    ({"name": "ok1", "host": "sip.example.com", "register": False, "inbound_procedure": "nowhere"},
     "inbound_procedure"),
    ({"name": "ok1", "host": "sip.example.com", "register": False, "inbound_procedure": ""}, "inbound_procedure"),
    ({"name": "ok1", "host": "sip.example.com", "register": False, "inbound_procedure": "main' --"},
     "inbound_procedure"),
    ({"name": "ok1", "host": "sip.example.com", "register": False, "outbound_caller_id": "anonymous"},
     "outbound_caller_id"),
    ({"name": "ok1", "host": "sip.example.com", "register": False, "outbound_caller_id": "+41" + "1" * 31},
     "outbound_caller_id"),
    ({"name": "ok1", "host": "sip.example.com", "register": False, "called_header": "from"}, "called_header"),
    ({"name": "ok1", "host": "sip.example.com", "register": False, "ip_auth": "192.0.2.1"}, "ip_auth"),
    ({"name": "ok1", "host": "sip.example.com", "register": False, "ip_auth": ["192.0.2.1", "bad"]},
     "ip_auth.1"),
    ({"name": "ok1", "host": "sip.example.com", "register": False, "ip_auth": ["192.0.2.1/24"]}, "ip_auth.0"),
    ({"name": "ok1", "host": "sip.example.com", "register": False, "ip_auth": ["192.0.2.1", "192.0.2.1/32"]},
     "ip_auth.1"),
    ({"name": "ok1", "host": "sip.example.com", "register": False, "ip_auth": [f"192.0.2.{i}" for i in range(65)]},
     "ip_auth"),
    ({"name": "ok1", "host": "sip.example.com", "register": False, "ip_auth": [7]}, "ip_auth.0"),
    ({"name": "ok1", "host": "sip.example.com", "register": False, "price_list": "nope"}, "price_list"),
    ({"name": "ok1", "host": "sip.example.com", "register": False, "price_list": 3}, "price_list"),
    ({"name": "ok1", "host": "dynamic", "register": True, "auth_user": "u", "password": PASSWORD}, "register"),
    ({"name": "ok1", "host": "dynamic", "register": False, "password": PASSWORD}, "auth_user"),
    ({"name": "ok1", "host": "dynamic", "register": False, "auth_user": "u"}, "password"),
    ({"name": "ok1", "host": "192.0.2.9", "register": False, "transport": "tls"}, "provider_domain"),
    ({"name": "ok1", "host": "sip.example.com", "register": False, "colour": "red"}, "colour"),
    ({"name": "ok1", "host": "sip.example.com", "register": False, "password_enc": "x"}, "password_enc"),
    ({"name": "ok1", "host": "sip.example.com", "register": False, "ha1": "x"}, "ha1"),
    ({"name": "ok1", "host": "sip.example.com", "register": False, "has_password": True}, "has_password"),
])
def test_bad_input_names_the_field_and_stores_nothing(web, data, field):
    assert _field_of(data) == field
    with pytest.raises(NotFound):
        service.get_trunk("ok1")


def test_a_body_that_is_not_an_object_is_refused(web):
    assert _field_of(["name"]) == "body"
    with pytest.raises(ValidationError) as err:
        service.update_trunk("anything", "text")
    assert err.value.field == "body"


def test_an_ip_auth_trunk_needs_no_credentials_and_normalises_its_addresses(web):
    trunk = _trunk(auth_user="", password=None, register=False, ip_auth=[" 192.0.2.1 ", "192.0.2.0/28",
                                                                        "2001:db8::/32", "2001:db8::5/128"])
    assert trunk.ip_auth == ["192.0.2.1", "192.0.2.0/28", "2001:db8::/32", "2001:db8::5"]
    assert not trunk.password_enc


def test_tls_to_an_address_is_accepted_with_the_providers_domain(web):
    trunk = _trunk(host="192.0.2.9:5061", transport="tls", provider_domain="sip.example.com")
    assert (trunk.transport, trunk.host) == ("tls", "192.0.2.9:5061")


def test_a_second_trunk_with_the_same_name_is_refused(web):
    trunk = _trunk()
    assert _field_of({"name": trunk.name, "host": "other.example.com", "register": False}) == "name"
    assert service.get_trunk(trunk.name).host == "sip.example.com"


def test_a_price_list_that_exists_is_accepted(web):
    from appliance.prices.models import PriceList

    with database.atomic():
        PriceList.create(name="swiss")
    assert _trunk(price_list="swiss").price_list == "swiss"


# -- passwords and the dynamic trunk's HA1 ---------------------------------------------------------------

def test_a_dynamic_trunk_keeps_the_ha1_of_login_realm_and_password(web):
    realm = get_system_settings().sip_domain
    trunk = _trunk(host="dynamic", register=False, auth_user="branch")
    assert trunk.ha1 == hashlib.md5(f"branch:{realm}:{PASSWORD}".encode()).hexdigest()
    # A new login recomputes it with the stored password.
    trunk = service.update_trunk(trunk.name, {"auth_user": "branch2"})
    assert trunk.ha1 == hashlib.md5(f"branch2:{realm}:{PASSWORD}".encode()).hexdigest()
    # Leaving dynamic drops it.
    trunk = service.update_trunk(trunk.name, {"host": "pbx2.example.com", "register": True})
    assert trunk.ha1 is None and service.password_of(trunk) == PASSWORD


def test_a_dynamic_trunk_does_not_register_unless_told_and_then_it_is_refused(web):
    assert _trunk(host="dynamic").register is False
    with pytest.raises(ValidationError) as err:
        service.update_trunk(_trunk(host="dynamic").name, {"register": True})
    assert err.value.field == "register"
    registering = _trunk()
    with pytest.raises(ValidationError) as err:
        service.update_trunk(registering.name, {"host": "dynamic"})
    assert err.value.field == "host"


def test_a_new_sip_domain_rehashes_dynamic_trunks(web):
    trunk = _trunk(host="dynamic", register=False, auth_user="site")
    old = get_system_settings().sip_domain
    try:
        update_system_settings({"sip_domain": "pbx.example.org"})
        ha1 = service.get_trunk(trunk.name).ha1
        assert ha1 == hashlib.md5(f"site:pbx.example.org:{PASSWORD}".encode()).hexdigest()
    finally:
        update_system_settings({"sip_domain": old})


def test_update_keeps_the_password_when_none_or_empty_is_given_and_null_removes_it(web):
    trunk = _trunk()
    token = trunk.password_enc
    trunk = service.update_trunk(trunk.name, {"password": "", "title": "Kept"})
    assert service.password_of(trunk) == PASSWORD and trunk.title == "Kept"
    trunk = service.update_trunk(trunk.name, {"password": "An0ther-secret"})
    assert service.password_of(trunk) == "An0ther-secret" and trunk.password_enc != token
    # A registering trunk cannot lose its password; an IP-authenticated one can.
    with pytest.raises(ValidationError) as err:
        service.update_trunk(trunk.name, {"password": None})
    assert err.value.field == "password"
    trunk = service.update_trunk(trunk.name, {"password": None, "register": False, "ip_auth": ["192.0.2.1"]})
    assert trunk.password_enc is None and trunk.ha1 is None


# -- update, concurrency, delete -------------------------------------------------------------------------

def test_update_checks_the_revision_never_renames_and_keeps_the_other_fields(web):
    trunk = _trunk(max_calls=4, country_code="33")
    before = current_revision()
    trunk = service.update_trunk(trunk.name, {"revision": 1, "max_calls": 6, "name": trunk.name})
    assert (trunk.max_calls, trunk.country_code, trunk.revision) == (6, "33", 2)
    assert current_revision() == before + 1
    with pytest.raises(Conflict) as err:
        service.update_trunk(trunk.name, {"revision": 1, "max_calls": 9})
    assert err.value.field == "revision"
    with pytest.raises(ValidationError) as err:
        service.update_trunk(trunk.name, {"name": "renamed"})
    assert err.value.field == "name"
    with pytest.raises(ValidationError) as err:
        service.update_trunk(trunk.name, {"revision": "2"})
    assert err.value.field == "revision"
    with pytest.raises(ValidationError) as err:
        service.update_trunk(trunk.name, {"codecs": ["G729"]})
    assert err.value.field == "codecs.0"
    stored = service.get_trunk(trunk.name)
    assert (stored.max_calls, stored.revision, stored.codecs) == (6, 2, ["PCMA", "PCMU", "G722"])
    with pytest.raises(NotFound):
        service.update_trunk("no-such-trunk", {"title": "x"})


def test_concurrent_edits_with_the_same_revision_one_wins_the_other_gets_a_conflict(web):
    trunk = _trunk()
    outcomes: list[str] = []
    barrier = threading.Barrier(4)

    def edit(title: str) -> None:
        barrier.wait()
        try:
            service.update_trunk(trunk.name, {"revision": 1, "title": title})
            outcomes.append("saved")
        except Conflict:
            outcomes.append("conflict")

    threads = [threading.Thread(target=edit, args=(f"title {i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["conflict", "conflict", "conflict", "saved"]
    assert service.get_trunk(trunk.name).revision == 2


def test_saved_and_deleted_are_published_after_the_commit(web):
    seen: list[tuple[str, str, int]] = []

    def on_saved(trunk):
        # The listener runs after the commit: the stored row already has the new values.
        seen.append(("saved", trunk.name, Trunk.get(Trunk.name == trunk.name).revision))

    def on_deleted(trunk):
        seen.append(("deleted", trunk.name, Trunk.select().where(Trunk.name == trunk.name).count()))

    changes.subscribe("trunk.saved", on_saved)
    changes.subscribe("trunk.deleted", on_deleted)
    try:
        trunk = _trunk()
        service.update_trunk(trunk.name, {"title": "x"})
        with pytest.raises(ValidationError):
            service.update_trunk(trunk.name, {"host": ""})
        service.delete_trunk(trunk.name)
    finally:
        changes._listeners["trunk.saved"].remove(on_saved)
        changes._listeners["trunk.deleted"].remove(on_deleted)
    assert seen == [("saved", trunk.name, 1), ("saved", trunk.name, 2), ("deleted", trunk.name, 0)]


def test_delete_is_refused_while_a_procedure_group_or_did_uses_the_trunk(web):
    from appliance.trunks import dids

    trunk = _trunk()
    with database.atomic():
        Procedure.create(name=f"out-{trunk.name}", numbers=[
            {"number": "0.", "apps": [{"app": "dial_trunk", "trunk": trunk.name}]}])
    group = groups.create_group({"name": f"g-{trunk.name}", "members": [trunk.name]})
    dids.create_did({"number": f"+4144{next(_names):07d}", "destination_kind": "procedure", "procedure": "main",
                     "trunk": trunk.name})
    with pytest.raises(Conflict) as err:
        service.delete_trunk(trunk.name)
    message = err.value.message
    assert f"procedure out-{trunk.name}, number 0., application 1" in message
    assert f"trunk group {group.name}" in message and "inbound number" in message
    assert service.get_trunk(trunk.name)


def test_delete_removes_the_trunk_and_moves_the_revision(web):
    trunk = _trunk()
    before = current_revision()
    service.delete_trunk(trunk.name)
    assert current_revision() == before + 1
    with pytest.raises(NotFound):
        service.get_trunk(trunk.name)
    with pytest.raises(NotFound):
        service.delete_trunk(trunk.name)


def test_a_procedure_a_trunk_routes_to_cannot_be_deleted(web):
    from appliance.dialplan.procedures import delete_procedure

    with database.atomic():
        Procedure.create(name="inbound-x")
    trunk = _trunk(inbound_procedure="inbound-x")
    with pytest.raises(Conflict) as err:
        delete_procedure("inbound-x")
    assert f"trunk {trunk.name}" in err.value.message


# -- trunk groups ----------------------------------------------------------------------------------

def test_a_group_keeps_its_members_in_order_with_strip_prepend_and_limits(web):
    first, second = _trunk(), _trunk()
    before = current_revision()
    group = groups.create_group({"name": _name(), "failover_delay_s": "5", "description": "LCR", "members": [
        {"trunk": second.name, "strip": 1, "prepend": "+41", "max_calls": 2}, first.name]})
    assert group.members == [{"trunk": second.name, "strip": 1, "prepend": "+41", "max_calls": 2},
                             {"trunk": first.name, "strip": 0, "prepend": "", "max_calls": 0}]
    assert group.failover_delay_s == 5 and current_revision() == before + 1
    assert groups.dialled_through(group.members[0], "0445550100") == "+41445550100"
    assert groups.dialled_through(group.members[1], "0445550100") == "0445550100"
    public = groups.to_public(groups.get_group(group.name))
    assert public["members"][0]["trunk"] == second.name and public["revision"] == 1


@pytest.mark.parametrize("members, field", [
    ([], "members"),
    ("t1", "members"),
    (["nope"], "members.0.trunk"),
    ([{"strip": 1}], "members.0.trunk"),
    ([{"trunk": "TRUNK"}], "members.0.trunk"),
    ([5], "members.0"),
    ([{"trunk": "%s", "strip": -1}], "members.0.strip"),
    ([{"trunk": "%s", "strip": 21}], "members.0.strip"),
    ([{"trunk": "%s", "strip": "two"}], "members.0.strip"),
    ([{"trunk": "%s", "prepend": "abc"}], "members.0.prepend"),
    ([{"trunk": "%s", "prepend": "1" * 17}], "members.0.prepend"),
    ([{"trunk": "%s", "prepend": "0'; --"}], "members.0.prepend"),
    ([{"trunk": "%s", "max_calls": -1}], "members.0.max_calls"),
    ([{"trunk": "%s", "max_calls": False}], "members.0.max_calls"),
    ([{"trunk": "%s", "weight": 1}], "members.0.weight"),
    (["%s", "%s"], "members.1.trunk"),
])
def test_bad_group_members_name_the_field(web, members, field):
    trunk = _trunk()
    if isinstance(members, list):
        members = [json.loads(json.dumps(m).replace("%s", trunk.name)) for m in members]
    with pytest.raises(ValidationError) as err:
        groups.create_group({"name": "bad-group", "members": members})
    assert err.value.field == field
    with pytest.raises(NotFound):
        groups.get_group("bad-group")


@pytest.mark.parametrize("data, field", [
    ({"members": ["%s"]}, "name"),
    ({"name": "Bad Name", "members": ["%s"]}, "name"),
    ({"name": "ok-group"}, "members"),
    ({"name": "ok-group", "members": ["%s"], "failover_delay_s": 301}, "failover_delay_s"),
    ({"name": "ok-group", "members": ["%s"], "failover_delay_s": -1}, "failover_delay_s"),
    ({"name": "ok-group", "members": ["%s"], "description": "x" * 256}, "description"),
    ({"name": "ok-group", "members": ["%s"], "description": 7}, "description"),
    ({"name": "ok-group", "members": ["%s"], "colour": "red"}, "colour"),
    ({"name": "ok-group", "members": ["%s"], "revision": 1, "updated_at": "x"}, "updated_at"),
])
def test_bad_group_fields_name_the_field(web, data, field):
    trunk = _trunk()
    data = json.loads(json.dumps(data).replace("%s", trunk.name))
    with pytest.raises(ValidationError) as err:
        groups.create_group(data)
    assert err.value.field == field


def test_at_most_20_trunks_in_a_group(web):
    names = [_trunk(register=False, auth_user="", password=None).name for _ in range(21)]
    assert len(groups.create_group({"name": _name(), "members": names[:20]}).members) == 20
    with pytest.raises(ValidationError) as err:
        groups.create_group({"name": _name(), "members": names})
    assert err.value.field == "members"


def test_group_update_revision_name_and_delete_while_used(web):
    trunk = _trunk()
    group = groups.create_group({"name": _name(), "members": [trunk.name]})
    group = groups.update_group(group.name, {"revision": 1, "failover_delay_s": 3})
    assert group.revision == 2 and group.members[0]["trunk"] == trunk.name
    with pytest.raises(Conflict):
        groups.update_group(group.name, {"revision": 1, "failover_delay_s": 4})
    with pytest.raises(ValidationError) as err:
        groups.update_group(group.name, {"name": "other"})
    assert err.value.field == "name"
    with database.atomic():
        Procedure.create(name=f"lcr-{group.name}", numbers=[
            {"number": "00.", "apps": [{"app": "trunk_group", "trunk_group": group.name}]}])
    with pytest.raises(Conflict) as err:
        groups.delete_group(group.name)
    assert f"procedure lcr-{group.name}" in err.value.message
    Procedure.delete().where(Procedure.name == f"lcr-{group.name}").execute()
    groups.delete_group(group.name)
    with pytest.raises(NotFound):
        groups.get_group(group.name)


# -- general dialling settings -----------------------------------------------------------------------

@pytest.mark.parametrize("data, field", [
    ({"national_prefix": "a"}, "national_prefix"),
    ({"national_prefix": "00000"}, "national_prefix"),
    ({"national_prefix": 0}, "national_prefix"),
    ({"international_prefix": ""}, "international_prefix"),
    ({"international_prefix": "+"}, "international_prefix"),
    ({"national_prefix": "00"}, "national_prefix"),
    ({"international_prefix": "0"}, "international_prefix"),
])
def test_dialling_prefixes_are_validated(web, data, field):
    with pytest.raises(ValidationError) as err:
        update_system_settings(data)
    assert err.value.field == field
    system = get_system_settings()
    assert (system.national_prefix, system.international_prefix) == ("0", "00")


def test_dialling_prefixes_are_saved(web):
    try:
        system = update_system_settings({"national_prefix": "1", "international_prefix": "011"})
        assert (system.national_prefix, system.international_prefix) == ("1", "011")
        assert update_system_settings({"national_prefix": ""}).national_prefix == ""
    finally:
        update_system_settings({"national_prefix": "0", "international_prefix": "00"})


# -- API -----------------------------------------------------------------------------------------------

def test_api_create_read_update_delete_never_shows_the_password(admin):
    response = admin.api("POST", "/api/v1/trunks", {"name": "api-sip", "preset": "sunrise", "auth_user": "acme",
                                                    "password": PASSWORD})
    assert response.status == 201, response.text
    assert response.header("Location") == "/api/v1/trunks/api-sip"
    body = response.json()
    assert body["host"] == "sip.sunrise.ch:5060" and body["has_password"] is True
    # Kamailio is not running here: the edge says so rather than pretending.
    assert body["live"]["state"] in ("unregistered", "unknown") and "detail" in body["live"]
    for method, path in (("GET", "/api/v1/trunks"), ("GET", "/api/v1/trunks/api-sip")):
        answer = admin.api(method, path)
        assert answer.status == 200 and PASSWORD not in answer.text
        assert "password_enc" not in answer.text and '"ha1"' not in answer.text
    stored = Trunk.get(Trunk.name == "api-sip").password_enc
    assert stored and stored not in admin.api("GET", "/api/v1/trunks").text

    answer = admin.api("PUT", "/api/v1/trunks/api-sip", {"revision": 1, "max_calls": 4, "password": ""})
    assert answer.status == 200 and answer.json()["max_calls"] == 4 and answer.json()["revision"] == 2
    assert PASSWORD not in answer.text
    stale = admin.api("PUT", "/api/v1/trunks/api-sip", {"revision": 1, "max_calls": 5})
    assert stale.status == 409 and stale.json()["field"] == "revision"
    bad = admin.api("PUT", "/api/v1/trunks/api-sip", {"transport": "carrier-pigeon"})
    assert bad.status == 400 and bad.json()["field"] == "transport" and bad.json()["error"] == "invalid"
    assert admin.api("DELETE", "/api/v1/trunks/api-sip").status == 204
    assert admin.api("GET", "/api/v1/trunks/api-sip").status == 404
    assert admin.api("DELETE", "/api/v1/trunks/api-sip").status == 404


def test_api_bad_bodies(admin):
    assert admin.api("POST", "/api/v1/trunks", raw=b"{not json").status == 400
    assert admin.api("POST", "/api/v1/trunks", raw=b"name=x", content_type="text/plain").status == 415
    response = admin.api("POST", "/api/v1/trunks", ["x"])
    assert response.status == 400 and response.json()["field"] == "body"
    response = admin.api("POST", "/api/v1/trunks", {"name": "x" * 70, "host": "a.example.com"})
    assert response.status == 400 and response.json()["field"] == "name"
    response = admin.api("POST", "/api/v1/trunks", raw=b'{"name": "' + b"x" * 70000 + b'"}')
    assert response.status == 413


def test_api_presets_list_every_preset(admin):
    response = admin.api("GET", "/api/v1/trunks/presets")
    assert response.status == 200
    keys = [p["key"] for p in response.json()]
    assert keys == [p.key for p in presets.PRESETS]
    swisscom = next(p for p in response.json() if p["key"] == "swisscom")
    assert swisscom["host"] == "sip.swisscom.ch:5060" and swisscom["auth"] == "register"


def test_api_test_connection_says_it_is_not_available_without_the_edges_trunk_support(admin, monkeypatch):
    import webui.routes.trunks as routes

    service.create_trunk({"name": "api-test", "host": "sip.example.com", "register": False})
    monkeypatch.setattr(routes, "_trunk_edge", lambda: None)
    response = admin.api("POST", "/api/v1/trunks/api-test/test")
    assert response.status == 503 and response.json()["error"] == "not_available"
    assert "not installed" in response.json()["message"]
    assert admin.api("POST", "/api/v1/trunks/nope/test").status == 404


def test_api_test_connection_passes_on_the_edges_answer_without_secrets(admin, browser, monkeypatch):
    import types

    import webui.routes.trunks as routes

    service.create_trunk({"name": "api-test2", "host": "sip.example.com", "auth_user": "u", "password": PASSWORD})
    calls = []

    def test_connection(settings, trunk):
        calls.append((type(settings).__name__, trunk.name))
        return {"ok": False, "result": "credentials", "detail": "the provider refused the auth user or password",
                "code": 403, "target": "192.0.2.1:5060", "method": "REGISTER", "password": PASSWORD}

    def registration_states(settings):
        return {"api-test2": {"trunk": "api-test2", "state": "failed", "reason": "credentials", "code": 401,
                              "detail": "the provider refused the auth user or password", "retry_in": 60}}

    fake = types.SimpleNamespace(test_connection=test_connection, registration_states=registration_states,
                                 calls_in_use=lambda settings, name: 2)
    monkeypatch.setattr(routes, "_trunk_edge", lambda: fake)
    response = admin.api("POST", "/api/v1/trunks/api-test2/test")
    assert response.status == 200 and PASSWORD not in response.text
    assert response.json() == {"trunk": "api-test2", "ok": False, "result": "credentials", "code": 403,
                               "detail": "the provider refused the auth user or password",
                               "target": "192.0.2.1:5060", "method": "REGISTER"}
    assert calls == [("Settings", "api-test2")]
    live = admin.api("GET", "/api/v1/trunks/api-test2").json()["live"]
    assert live == {"state": "failed", "reason": "credentials", "code": 401, "retry_in": 60, "channels": 2,
                    "detail": "the provider refused the auth user or password"}
    # The page shows the same: the state, why, and the calls up on the trunk.
    page = browser.get("/trunks")
    row = page.text.split('<tr data-trunk="api-test2">')[1].split("</tr>")[0]
    assert 'data-state="failed"' in row and ">credentials<" in row
    assert "the provider refused the auth user or password" in row and ">2<" in row
    tested = browser.post_form("/trunks/api-test2/test", {})
    assert 'id="test-result"' in tested.text and "(credentials)" in tested.text and PASSWORD not in tested.text


def test_api_dids_and_groups(admin):
    service.create_trunk({"name": "api-g1", "host": "a.example.com", "register": False})
    response = admin.api("POST", "/api/v1/dids", {"number": "+41445550100", "destination_kind": "procedure",
                                                  "procedure": "main", "trunk": "api-g1"})
    assert response.status == 201, response.text
    assert response.header("Location") == "/api/v1/dids/%2B41445550100"
    assert response.json()["kind"] == "exact"
    assert admin.api("GET", "/api/v1/dids/%2B41445550100").json()["trunk"] == "api-g1"
    assert admin.api("GET", "/api/v1/dids/+41445550100").status == 200
    response = admin.api("PUT", "/api/v1/dids/%2B41445550100", {"revision": 1, "description": "Hotline"})
    assert response.status == 200 and response.json()["description"] == "Hotline"
    response = admin.api("POST", "/api/v1/dids", {"number": "0233*", "destination_kind": "user",
                                                  "destination": "999"})
    assert response.status == 400 and response.json()["field"] == "destination"
    listed = [d["number"] for d in admin.api("GET", "/api/v1/dids").json()]
    assert "+41445550100" in listed and "0233*" not in listed

    response = admin.api("POST", "/api/v1/trunk-groups", {"name": "api-lcr", "members": [
        {"trunk": "api-g1", "strip": 1, "prepend": "0041"}]})
    assert response.status == 201, response.text
    assert admin.api("GET", "/api/v1/trunk-groups/api-lcr").json()["members"][0]["prepend"] == "0041"
    response = admin.api("PUT", "/api/v1/trunk-groups/api-lcr", {"members": [{"trunk": "api-g1", "strip": 99}]})
    assert response.status == 400 and response.json()["field"] == "members.0.strip"
    # The trunk is used by the DID and the group: 409 names both.
    response = admin.api("DELETE", "/api/v1/trunks/api-g1")
    assert response.status == 409 and "trunk group api-lcr" in response.json()["message"]
    assert admin.api("DELETE", "/api/v1/trunk-groups/api-lcr").status == 204
    assert admin.api("DELETE", "/api/v1/dids/%2B41445550100").status == 204
    assert admin.api("DELETE", "/api/v1/trunks/api-g1").status == 204


def test_technician_reads_and_tests_but_cannot_change_and_a_user_sees_nothing(web, admin, monkeypatch):
    import types

    import webui.routes.trunks as routes

    fake = types.SimpleNamespace(test_connection=lambda settings, trunk: {"ok": True, "result": "ok"},
                                 registration_states=lambda settings: {})
    monkeypatch.setattr(routes, "_trunk_edge", lambda: fake)
    service.create_trunk({"name": "role-t", "host": "a.example.com", "auth_user": "u", "password": PASSWORD})
    tech = _login_as(web, admin, "271", "technician")
    for path in ("/api/v1/trunks", "/api/v1/trunks/role-t", "/api/v1/trunks/presets", "/api/v1/dids",
                 "/api/v1/trunk-groups"):
        response = tech.api("GET", path)
        assert response.status == 200, path
        assert PASSWORD not in response.text
    assert tech.api("POST", "/api/v1/trunks/role-t/test").json() == {"trunk": "role-t", "ok": True, "result": "ok"}
    for method, path, body in (("POST", "/api/v1/trunks", {"name": "by-tech", "host": "x.example.com"}),
                               ("PUT", "/api/v1/trunks/role-t", {"title": "tech"}),
                               ("DELETE", "/api/v1/trunks/role-t", None),
                               ("POST", "/api/v1/dids", {"number": "+41445559999", "destination_kind": "user"}),
                               ("POST", "/api/v1/trunk-groups", {"name": "x", "members": ["role-t"]})):
        response = tech.api(method, path, body)
        assert response.status == 403 and response.json()["error"] == "forbidden", path
    assert service.get_trunk("role-t").title == "role-t"

    user = _login_as(web, admin, "272", "user")
    for method, path in (("GET", "/api/v1/trunks"), ("GET", "/api/v1/trunks/role-t"),
                         ("GET", "/api/v1/trunks/presets"), ("POST", "/api/v1/trunks/role-t/test"),
                         ("GET", "/api/v1/dids"), ("GET", "/api/v1/trunk-groups")):
        assert user.api(method, path).status == 403, path
    anonymous = web.client()
    assert anonymous.api("GET", "/api/v1/trunks").status == 401


def test_every_trunk_api_route_is_documented(web):
    from webui.openapi import document

    paths = document()["paths"]
    for path in ("/api/v1/trunks", "/api/v1/trunks/presets", "/api/v1/trunks/{name}", "/api/v1/trunks/{name}/test",
                 "/api/v1/dids", "/api/v1/dids/{number}", "/api/v1/trunk-groups", "/api/v1/trunk-groups/{name}"):
        assert path in paths, path
    schemas = document()["components"]["schemas"]
    assert "password" not in schemas["Trunk"]["properties"]
    assert schemas["TrunkWrite"]["properties"]["password"]["writeOnly"] is True


# -- pages -----------------------------------------------------------------------------------------------

def _csrf(page_text: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]*)"', page_text).group(1)


def test_pages_add_a_trunk_with_a_preset_edit_it_and_delete_it(browser):
    page = browser.get("/trunks")
    assert page.status == 200 and 'id="no-trunks"' in page.text or 'id="trunks"' in page.text
    form = browser.get("/trunks/new?preset=iway")
    assert form.status == 200 and 'value="sip.iway.ch:5060"' in form.text
    # "Fill in from the provider" without JavaScript: the form comes back with the preset's values.
    filled = browser.post_form("/trunks/new", {"action": "preset", "preset": "salt", "name": "page-t",
                                               "host": "", "codec_1": "PCMU"})
    assert filled.status == 200 and 'value="sip.salt.ch:5060"' in filled.text and 'value="page-t"' in filled.text
    fields = {"action": "save", "preset": "salt", "name": "page-t", "title": "Salt line", "host": "sip.salt.ch",
              "transport": "udp", "register": "1", "keepalive": "1", "auth_user": "acme", "password": PASSWORD,
              "codec_1": "PCMA", "codec_2": "G722", "codec_3": "", "max_calls": "4", "country_code": "41",
              "inbound_procedure": "main", "called_header": "ruri", "ip_auth": "", "price_list": "",
              "enabled": "1", "outbound_caller_id": "", "from_user": "", "provider_domain": ""}
    bad = browser.post_form("/trunks/new", dict(fields, host="bad host!"))
    assert bad.status == 400 and 'data-field="host"' in bad.text
    assert PASSWORD not in bad.text  # never echoed back, even after an error
    saved = browser.post_form("/trunks/new", fields)
    assert saved.status == 303, saved.text[:400]
    trunk = service.get_trunk("page-t")
    assert (trunk.title, trunk.codecs, trunk.max_calls, trunk.keepalive) == ("Salt line", ["PCMA", "G722"], 4, True)
    listing = browser.get("/trunks")
    assert 'data-trunk="page-t"' in listing.text and "Salt line" in listing.text
    assert "Test connection" in listing.text and PASSWORD not in listing.text

    edit = browser.get("/trunks/page-t/edit")
    assert edit.status == 200 and PASSWORD not in edit.text and secrets.decrypt(trunk.password_enc) == PASSWORD
    assert trunk.password_enc not in edit.text and 'id="password-stored"' in edit.text
    revision = re.search(r'name="revision" value="(\d+)"', edit.text).group(1)
    changed = dict(fields, revision=revision, password="", keepalive="", ip_auth="192.0.2.1\n192.0.2.0/24",
                   max_calls="6")
    changed.pop("name")
    response = browser.post_form("/trunks/page-t/edit", changed)
    assert response.status == 303, response.text[:400]
    trunk = service.get_trunk("page-t")
    assert (trunk.keepalive, trunk.max_calls, trunk.ip_auth) == (False, 6, ["192.0.2.1", "192.0.2.0/24"])
    assert service.password_of(trunk) == PASSWORD  # empty password field: kept
    stale = browser.post_form("/trunks/page-t/edit", changed)
    assert stale.status == 409 and 'id="form-error"' in stale.text
    bad_ip = browser.post_form("/trunks/page-t/edit", dict(changed, revision=str(trunk.revision),
                                                           ip_auth="192.0.2.1\n10.0.0.1/8"))
    assert bad_ip.status == 400 and "10.0.0.1/8" in bad_ip.text and 'data-field="ip_auth"' in bad_ip.text

    assert browser.get("/trunks/page-t/delete").status == 200
    gone = browser.post_form("/trunks/page-t/delete", {})
    assert gone.status == 303
    with pytest.raises(NotFound):
        service.get_trunk("page-t")


def test_page_test_connection_without_javascript_says_it_is_not_available(browser, monkeypatch):
    import webui.routes.trunks as routes

    service.create_trunk({"name": "page-test", "host": "a.example.com", "register": False})
    monkeypatch.setattr(routes, "_trunk_edge", lambda: None)
    page = browser.post_form("/trunks/page-test/test", {})
    assert page.status == 200 and 'id="test-result"' in page.text and "not installed" in page.text
    assert 'id="state-unknown"' in page.text


def test_pages_dids_and_trunk_groups(browser):
    service.create_trunk({"name": "page-g1", "host": "a.example.com", "register": False})
    service.create_trunk({"name": "page-g2", "host": "b.example.com", "register": False})
    assert browser.get("/trunks/dids").status == 200
    form = browser.get("/trunks/dids/new")
    assert form.status == 200 and 'name="dest_user"' in form.text
    fields = {"number": "0445550*", "trunk": "", "description": "Office", "destination_kind": "procedure",
              "procedure": "main", "dest_number": "", "dest_user": "", "dest_call_group": "", "dest_ivr": "",
              "dest_time_range": "", "dest_external": ""}
    bad = browser.post_form("/trunks/dids/new", dict(fields, destination_kind="external", dest_external="abc"))
    assert bad.status == 400 and 'data-field="dest_external"' in bad.text
    assert browser.post_form("/trunks/dids/new", fields).status == 303
    listing = browser.get("/trunks/dids")
    assert 'data-did="0445550*"' in listing.text and "Office" in listing.text
    edit = browser.get("/trunks/dids/0445550%2A/edit")
    assert edit.status == 200 and "0445550*" in edit.text
    revision = re.search(r'name="revision" value="(\d+)"', edit.text).group(1)
    response = browser.post_form("/trunks/dids/0445550%2A/edit", dict(fields, revision=revision, trunk="page-g1"))
    assert response.status == 303
    assert browser.post_form("/trunks/dids/0445550%2A/delete", {}).status == 303

    # A trunk group: add two trunks with the buttons, move the second up, save.
    values = {"name": "page-lcr", "description": "", "failover_delay_s": "0"}
    step = browser.post_form("/trunks/groups/new", dict(values, action="add", add_member="page-g1"))
    assert step.status == 200 and 'value="page-g1"' in step.text
    body = [("csrf_token", _csrf(step.text)), ("name", "page-lcr"), ("description", ""),
            ("failover_delay_s", "2"), ("member_trunk", "page-g1"), ("member_strip", "0"),
            ("member_prepend", ""), ("member_max_calls", "0"), ("member_trunk", "page-g2"),
            ("member_strip", "1"), ("member_prepend", "+41"), ("member_max_calls", "3"), ("action", "up:1")]
    import urllib.parse

    moved = browser.request("POST", "/trunks/groups/new", urllib.parse.urlencode(body).encode(),
                            {"Content-Type": "application/x-www-form-urlencoded"})
    assert moved.status == 200
    assert moved.text.index('value="page-g2"') < moved.text.index('value="page-g1"')
    body[-1] = ("action", "save")
    saved = browser.request("POST", "/trunks/groups/new", urllib.parse.urlencode(body).encode(),
                            {"Content-Type": "application/x-www-form-urlencoded"})
    assert saved.status == 303, saved.text[:300]
    group = groups.get_group("page-lcr")
    assert group.members[1] == {"trunk": "page-g2", "strip": 1, "prepend": "+41", "max_calls": 3}
    assert group.failover_delay_s == 2
    assert 'data-group="page-lcr"' in browser.get("/trunks/groups").text
    refused = browser.post_form("/trunks/page-g1/delete", {})
    assert refused.status == 409 and "trunk group page-lcr" in refused.text
    assert browser.post_form("/trunks/groups/page-lcr/delete", {}).status == 303


def test_technician_sees_the_pages_without_edit_links_and_a_user_is_refused(web, admin):
    client = web.client()
    _login_as(web, admin, "273", "technician")
    assert client.login("273", STRONG).status == 303
    page = client.get("/trunks")
    assert page.status == 200 and 'id="add-trunk"' not in page.text
    for path in ("/trunks/dids", "/trunks/groups"):
        assert client.get(path).status == 200, path
    for path in ("/trunks/new", "/trunks/dids/new", "/trunks/groups/new"):
        assert client.get(path).status == 403, path
    user = web.client()
    _login_as(web, admin, "274", "user")
    assert user.login("274", STRONG).status == 303
    for path in ("/trunks", "/trunks/dids", "/trunks/groups"):
        assert user.get(path).status == 403, path


def test_settings_page_shows_and_saves_the_dialling_prefixes(browser):
    page = browser.get("/settings")
    assert page.status == 200 and 'name="national_prefix"' in page.text and 'name="international_prefix"' in page.text
    system = get_system_settings()
    fields = {name: str(getattr(system, name)) for name in (
        "appliance_name", "sip_domain", "country", "timezone", "language", "ring_timeout_s", "ban_failures",
        "ban_window_s", "ban_minutes", "flood_limit")}
    fields["revision"] = str(system.revision)
    try:
        bad = browser.post_form("/settings", dict(fields, national_prefix="x", international_prefix="00"))
        assert bad.status == 400 and 'data-field="national_prefix"' in bad.text
        # A form without the prefixes keeps them.
        assert browser.post_form("/settings", fields).status == 303
        assert get_system_settings().international_prefix == "00"
        fields["revision"] = str(get_system_settings().revision)
        ok = browser.post_form("/settings", dict(fields, national_prefix="0", international_prefix="011"))
        assert ok.status == 303
        assert get_system_settings().international_prefix == "011"
    finally:
        update_system_settings({"national_prefix": "0", "international_prefix": "00"})


# -- TLS: the certificate check per trunk, the appliance's own certificate -----------------------


def test_a_tls_trunk_verifies_the_providers_certificate_unless_told_not_to(web):
    trunk = _trunk(host="sip.example.com", transport="tls")
    assert service.to_public(trunk)["tls_verify"] is True
    relaxed = service.update_trunk(trunk.name, {"tls_verify": False})
    assert service.to_public(relaxed)["tls_verify"] is False
    assert _field_of({"name": "ok1", "host": "sip.example.com", "register": False, "tls_verify": "no"}) == "tls_verify"


def test_the_new_trunk_form_offers_the_certificate_check_ticked_and_the_list_tells_when_it_is_off(browser):
    form = browser.get("/trunks/new")
    assert re.search(r'<input type="checkbox" id="tls_verify" name="tls_verify" value="1" checked', form.text)
    relaxed = _trunk(host="pbx.example.com:5061", transport="tls", tls_verify=False)
    strict = _trunk(host="sip.example.com:5061", transport="tls")
    rows = {name: re.search(rf'data-trunk="{name}".*?</tr>', browser.get("/trunks").text, re.S).group(0)
            for name in (relaxed.name, strict.name)}
    assert "certificate accepted as presented" in rows[relaxed.name]
    assert "certificate accepted as presented" not in rows[strict.name]


def test_the_appliance_makes_its_own_certificate_once_key_private_names_in_it(tmp_path, monkeypatch):
    import os

    from cryptography import x509

    from appliance import certificates
    from appliance.settings import Settings

    settings = Settings(data_dir=tmp_path)
    files = certificates.ensure(settings, ["pbx.example.com", "127.0.0.1"])
    assert os.stat(files.key).st_mode & 0o777 == 0o600
    cert = x509.load_pem_x509_certificate(files.certificate.read_bytes())
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["pbx.example.com"]
    assert [str(a) for a in san.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]
    # Same names: the same certificate; a new SIP domain: a new one.
    assert certificates.ensure(settings, ["pbx.example.com"]).certificate.read_bytes() == files.certificate.read_bytes()
    certificates.ensure(settings, ["voice.example.com", "127.0.0.1"])
    renewed = x509.load_pem_x509_certificate(files.certificate.read_bytes())
    assert renewed.serial_number != cert.serial_number
    # A certificate the administrator put there is never replaced, even without the names.
    other = certificates.CertificateFiles(tmp_path / "o.crt", tmp_path / "o.key")
    monkeypatch.setattr(certificates, "SELF_MADE", "Example Corp")
    certificates.make_self_signed(other, ["admin.example.com"])
    monkeypatch.undo()
    installed = other.certificate.read_bytes()
    files.certificate.write_bytes(installed)
    files.key.write_bytes(other.key.read_bytes())
    certificates.ensure(settings, ["voice.example.com"])
    assert files.certificate.read_bytes() == installed


def test_tls_listens_on_5061_beside_5060_and_stays_off_on_other_ports_unless_given():
    from appliance.cli import _settings, build_parser
    from appliance.settings import Settings

    assert Settings().sip_tls_port == 5061
    assert Settings(sip_port=6060).sip_tls_port == 0
    assert Settings(sip_port=6060, sip_tls_port=6061).sip_tls_port == 6061
    args = build_parser().parse_args(["run", "--sip-port", "6060", "--sip-tls-port", "6062"])
    assert _settings(args).sip_tls_port == 6062
    assert _settings(build_parser().parse_args(["run", "--sip-tls-port", "0"])).sip_tls_port == 0


def test_tls_cfg_verifies_providers_against_the_system_and_the_trusted_trunk_certificates(tmp_path):
    from appliance.settings import Settings
    from appliance.sipedge import tls

    settings = Settings(data_dir=tmp_path, sip_tls_port=5061)
    text = tls.render_text(settings, "pbx.example.com", None)
    client = text.split("[client:default]")[1]
    assert "verify_certificate = yes" in client and "ca_path = /etc/ssl/certs" in client
    assert "ca_list" not in client
    trusted = tmp_path / "trusted.pem"
    assert f"ca_list = {trusted}" in tls.render_text(settings, "pbx.example.com", trusted)
