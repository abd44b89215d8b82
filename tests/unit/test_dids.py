"""Inbound numbers (DIDs): which entry a called number reaches, and what a DID may point to."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from appliance.dialplan.models import CallGroup, Procedure, TimeRange, current_revision
from appliance.errors import Conflict, NotFound, ValidationError
from appliance.store import database
from appliance.system.service import update_system_settings
from appliance.trunks import dids
from appliance.trunks.dids import find_did, match_did
from appliance.trunks.service import create_trunk
from appliance.users import create_user


@dataclass
class D:
    number: str
    trunk: str | None = None


def _match(called: str, entries, trunk: str = "sip1", country_code: str = "41", national: str = "0",
           international: str = "00") -> str | None:
    found = match_did(called, trunk, entries, country_code, national, international)
    return None if found is None else f"{found.number}@{found.trunk or '*'}"


# -- matching (pure) ------------------------------------------------------------------------------

def test_an_exact_e164_entry_matches_the_number_in_any_written_form():
    entries = [D("+41445550100")]
    for called in ("+41445550100", "0041445550100", "0445550100", "+41 44 555 01 00", "044-555-01-00"):
        assert _match(called, entries) == "+41445550100@*", called
    assert _match("+41445550101", entries) is None
    assert _match("+33445550100", entries) is None


def test_trailing_digits_catch_the_number_whatever_precedes_them():
    entries = [D("2304024")]
    assert _match("+448452304024", entries, country_code="44") == "2304024@*"
    assert _match("08452304024", entries, country_code="44") == "2304024@*"
    assert _match("2304024", entries) == "2304024@*"
    assert _match("+448452304025", entries, country_code="44") is None


def test_the_longest_trailing_match_wins_whatever_the_order():
    entries = [D("24"), D("4024"), D("304024"), D("04024")]
    assert _match("+448452304024", entries, country_code="44") == "304024@*"
    assert _match("+448452304024", list(reversed(entries)), country_code="44") == "304024@*"
    assert _match("+448452399924", entries, country_code="44") == "24@*"


def test_a_range_in_national_form_matches_numbers_received_in_e164():
    entries = [D("0233456*")]
    assert _match("+41233456789", entries) == "0233456*@*"
    assert _match("0233456000", entries) == "0233456*@*"
    assert _match("0041233456123", entries) == "0233456*@*"
    assert _match("+41233457000", entries) is None
    # Another country's number with the same national digits is not in the range.
    assert _match("+33233456789", entries) is None


def test_ranges_in_e164_and_international_form_and_bare_digits():
    assert _match("0445550177", [D("+4144555*")]) == "+4144555*@*"
    assert _match("+41445550177", [D("004144555*")]) == "004144555*@*"
    # Bare digits (no prefix): what the provider sent, or the national significant number, starts so.
    assert _match("+41445550177", [D("44555*")]) == "44555*@*"
    assert _match("445550177", [D("44555*")]) == "44555*@*"
    assert _match("+41335550177", [D("44555*")]) is None


def test_exact_beats_a_longer_range_and_the_longest_range_wins():
    entries = [D("+41445*"), D("+4144555*"), D("+41445550100")]
    assert _match("+41445550100", entries) == "+41445550100@*"
    assert _match("+41445550199", entries) == "+4144555*@*"
    assert _match("+41445000000", entries) == "+41445*@*"


def test_trailing_digits_beat_a_range_of_the_same_length():
    entries = [D("44555*"), D("50100")]
    assert _match("+41445550100", entries) == "50100@*"  # 5 trailing digits vs a 5-digit range
    entries = [D("4455501*"), D("50100")]
    assert _match("+41445550100", entries) == "4455501*@*"  # a longer range is more precise


def test_entries_of_the_calls_trunk_come_before_entries_for_any_trunk():
    entries = [D("+41445550100"), D("0100", trunk="sip1"), D("+41445550199", trunk="sip2")]
    # The trunk's own (even a shorter trailing match) wins over an exact entry for any trunk.
    assert _match("+41445550100", entries, trunk="sip1") == "0100@sip1"
    assert _match("+41445550100", entries, trunk="sip2") == "+41445550100@*"
    # Another trunk's entries never match.
    assert _match("+41775550100", [D("0100", trunk="sip1")], trunk="sip2") is None


def test_without_a_country_code_numbers_compare_as_sent():
    entries = [D("+41445550100"), D("0445550*")]
    assert _match("0445550100", entries, country_code="") == "0445550*@*"
    assert _match("+41445550100", entries, country_code="") == "+41445550100@*"


def test_countries_without_a_national_prefix_and_north_american_prefixes():
    assert _match("0612345678", [D("+390612345678")], country_code="39", national="") == "+390612345678@*"
    assert _match("01141445550100", [D("+41445550100")], country_code="1", national="1",
                  international="011") == "+41445550100@*"


@pytest.mark.parametrize("called", ["", "anonymous", "+", "12ab", "sip:100@x", "*21#"])
def test_what_is_not_a_number_matches_nothing(called):
    assert match_did(called, "sip1", [D("100"), D("1*")], "41", "0", "00") is None


def test_no_entries_no_match():
    assert _match("+41445550100", []) is None


# -- the service --------------------------------------------------------------------------------

@pytest.fixture
def pbx(store):
    """A store with a user, a call group, a time range, a procedure and two trunks."""
    create_user({"extension": "200", "first_name": "Ann", "last_name": "Desk"})
    with database.atomic():
        CallGroup.create(name="sales", members=[{"extension": "200"}])
        TimeRange.create(name="office", intervals=[])
        Procedure.create(name="night")
    create_trunk({"name": "sip1", "host": "sip.example.com", "auth_user": "u1", "password": "secret-1",
                  "country_code": "41"})
    create_trunk({"name": "sip2", "host": "192.0.2.7:5070", "register": False, "ip_auth": ["192.0.2.7"]})
    return store


def _error(call, *args) -> tuple[str, str]:
    with pytest.raises(ValidationError) as err:
        call(*args)
    return err.value.field, err.value.message


@pytest.mark.parametrize("data, stored", [
    ({"number": "+41 44 555 01 00", "destination_kind": "user", "destination": "200"},
     ("+41445550100", "user", "200", "")),
    ({"number": "2304024", "destination_kind": "call_group", "destination": "sales", "trunk": "sip1"},
     ("2304024", "call_group", "sales", "")),
    ({"number": "0233456*", "destination_kind": "time_range", "destination": "office", "procedure": "night"},
     ("0233456*", "time_range", "office", "night")),
    ({"number": "+4144555*", "destination_kind": "voicemail", "destination": "200", "procedure": "night"},
     ("+4144555*", "voicemail", "200", "")),
    ({"number": "0445550111", "destination_kind": "external", "destination": "+41 79 123 45 67"},
     ("0445550111", "external", "+41791234567", "")),
    ({"number": "0445550112", "destination_kind": "procedure", "procedure": "night"},
     ("0445550112", "procedure", "", "night")),
    ({"number": "0445550113", "destination_kind": "procedure", "procedure": "night", "destination": "600"},
     ("0445550113", "procedure", "600", "night")),
])
def test_each_destination_kind_is_stored_with_what_it_uses(pbx, data, stored):
    before = current_revision()
    did = dids.create_did(data)
    assert (did.number, did.destination_kind, did.destination, did.procedure) == stored
    assert did.trunk == data.get("trunk")
    assert current_revision() == before + 1
    public = dids.to_public(dids.get_did(did.number))
    assert public["number"] == stored[0] and public["revision"] == 1


def test_an_ivr_destination_must_exist(pbx):
    from appliance.dialplan.models import Ivr

    assert _error(dids.create_did, {"number": "+41445550120", "destination_kind": "ivr",
                                    "destination": "menu"}) == ("destination", "there is no IVR 'menu'")
    with database.atomic():
        Ivr.create(name="menu", tree={})
    assert dids.create_did({"number": "+41445550120", "destination_kind": "ivr", "destination": "menu"})


def test_a_voicemail_destination_is_a_users_box_or_a_shared_box_and_leaves_a_message_there(pbx):
    from appliance.trunks.inbound import did_apps
    from appliance.voicemail.service import create_shared_box

    assert _error(dids.create_did, {"number": "+41445550130", "destination_kind": "voicemail",
                                    "destination": "870"})[0] == "destination"
    create_shared_box({"number": "870"})
    did = dids.create_did({"number": "+41445550130", "destination_kind": "voicemail", "destination": "870"})
    assert did_apps(did, "main") == [{"app": "voicemail", "box": "870", "greeting": "unavailable"}]


@pytest.mark.parametrize("data, field", [
    ({"destination_kind": "user", "destination": "200"}, "number"),
    ({"number": "+41445550100", "destination": "200"}, "destination_kind"),
    ({"number": "", "destination_kind": "user", "destination": "200"}, "number"),
    ({"number": "+", "destination_kind": "user", "destination": "200"}, "number"),
    ({"number": "1", "destination_kind": "user", "destination": "200"}, "number"),
    ({"number": "*", "destination_kind": "user", "destination": "200"}, "number"),
    ({"number": "12*3", "destination_kind": "user", "destination": "200"}, "number"),
    ({"number": "+4144' OR 1=1", "destination_kind": "user", "destination": "200"}, "number"),
    ({"number": "١٢٣٤٥", "destination_kind": "user", "destination": "200"}, "number"),
    ({"number": "1" * 21, "destination_kind": "user", "destination": "200"}, "number"),
    ({"number": "x" * 10000, "destination_kind": "user", "destination": "200"}, "number"),
    ({"number": 41445550100, "destination_kind": "user", "destination": "200"}, "number"),
    ({"number": "+41445550100", "destination_kind": "fax", "destination": "200"}, "destination_kind"),
    ({"number": "+41445550100", "destination_kind": "user", "destination": "999"}, "destination"),
    ({"number": "+41445550100", "destination_kind": "user"}, "destination"),
    ({"number": "+41445550100", "destination_kind": "user", "destination": 200}, "destination"),
    ({"number": "+41445550100", "destination_kind": "voicemail", "destination": "../200"}, "destination"),
    ({"number": "+41445550100", "destination_kind": "call_group", "destination": "nobody"}, "destination"),
    ({"number": "+41445550100", "destination_kind": "time_range", "destination": "office"}, "procedure"),
    ({"number": "+41445550100", "destination_kind": "time_range", "destination": "never",
      "procedure": "night"}, "destination"),
    ({"number": "+41445550100", "destination_kind": "procedure"}, "procedure"),
    ({"number": "+41445550100", "destination_kind": "procedure", "procedure": "nowhere"}, "procedure"),
    ({"number": "+41445550100", "destination_kind": "procedure", "procedure": "night",
      "destination": "1;drop"}, "destination"),
    ({"number": "+41445550100", "destination_kind": "external", "destination": "call me"}, "destination"),
    ({"number": "+41445550100", "destination_kind": "external", "destination": ""}, "destination"),
    ({"number": "+41445550100", "destination_kind": "user", "destination": "200", "trunk": "nope"}, "trunk"),
    ({"number": "+41445550100", "destination_kind": "user", "destination": "200", "trunk": 1}, "trunk"),
    ({"number": "+41445550100", "destination_kind": "user", "destination": "200",
      "description": "x" * 256}, "description"),
    ({"number": "+41445550100", "destination_kind": "user", "destination": "200",
      "description": "line\nbreak"}, "description"),
    ({"number": "+41445550100", "destination_kind": "user", "destination": "200", "colour": "red"}, "colour"),
    ({"number": "+41445550100", "destination_kind": "user", "destination": "200", "updated_at": "x"},
     "updated_at"),
])
def test_bad_input_names_the_field_and_stores_nothing(pbx, data, field):
    assert _error(dids.create_did, data)[0] == field
    assert dids.list_dids() == []


def test_a_body_that_is_not_an_object_is_refused(pbx):
    assert _error(dids.create_did, ["+41445550100"])[0] == "body"
    assert _error(dids.update_did, "+41445550100", "user")[0] == "body"


def test_a_number_is_unique_in_any_written_form(pbx):
    dids.create_did({"number": "+41445550100", "destination_kind": "user", "destination": "200"})
    field, message = _error(dids.create_did, {"number": "+41 44 555 01 00", "destination_kind": "call_group",
                                              "destination": "sales"})
    assert field == "number" and "+41445550100" in message


def test_update_checks_the_revision_keeps_the_number_and_empties_unused_fields(pbx):
    dids.create_did({"number": "+41445550100", "destination_kind": "time_range", "destination": "office",
                     "procedure": "night", "description": "Reception"})
    did = dids.update_did("+41445550100", {"revision": 1, "destination_kind": "user", "destination": "200"})
    assert (did.destination_kind, did.destination, did.procedure, did.description) == ("user", "200", "",
                                                                                         "Reception")
    assert did.revision == 2
    with pytest.raises(Conflict) as err:
        dids.update_did("+41445550100", {"revision": 1, "description": "Stale"})
    assert err.value.field == "revision"
    assert _error(dids.update_did, "+41445550100", {"number": "+41445550199"})[0] == "number"
    assert _error(dids.update_did, "+41445550100", {"revision": "2"})[0] == "revision"
    # The same number in another written form is "unchanged".
    assert dids.update_did("+41445550100", {"number": "+41 44 555 01 00", "description": "Desk"}).description == "Desk"
    assert dids.get_did("+41445550100").description == "Desk"


def test_delete_and_not_found(pbx):
    dids.create_did({"number": "2304024", "destination_kind": "user", "destination": "200"})
    before = current_revision()
    dids.delete_did("2304024")
    assert current_revision() == before + 1
    with pytest.raises(NotFound):
        dids.get_did("2304024")
    with pytest.raises(NotFound):
        dids.delete_did("2304024")
    with pytest.raises(NotFound):
        dids.update_did("2304024", {"description": "gone"})


def test_objects_a_did_points_to_cannot_be_deleted(pbx):
    from appliance.dialplan import references

    dids.create_did({"number": "+41445550100", "destination_kind": "call_group", "destination": "sales",
                     "trunk": "sip1"})
    dids.create_did({"number": "0233456*", "destination_kind": "time_range", "destination": "office",
                     "procedure": "night"})
    for kind, name in (("call_group", "sales"), ("trunk", "sip1"), ("time_range", "office"),
                       ("procedure", "night")):
        with pytest.raises(Conflict) as err:
            references.refuse_if_used(kind, name)
        assert "inbound number" in err.value.message


def test_find_did_uses_the_trunks_country_code_else_the_systems(pbx):
    dids.create_did({"number": "0445550*", "destination_kind": "user", "destination": "200"})
    dids.create_did({"number": "+33145550100", "destination_kind": "user", "destination": "200",
                     "trunk": "sip2"})
    # sip1 has country code 41: +41445550123 is in the national range 0445550*.
    assert find_did("+41445550123", "sip1").number == "0445550*"
    # sip2 has none: the system's country gives the calling code.
    update_system_settings({"country": "FR"})
    assert find_did("0145550100", "sip2").number == "+33145550100"
    assert find_did("+41445550123", "sip2") is None  # 41 is not France's code: no national range match
    update_system_settings({"country": "CH"})
    assert find_did("+41445550123", "sip2").number == "0445550*"
    # Without the prefixes given, match_did reads them from the store.
    assert match_did("0445550123", "sip1", dids.list_dids()).number == "0445550*"
