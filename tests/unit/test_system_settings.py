"""System settings: validation of every field, the revision guard, HA1s follow the realm, "system.saved"."""

from __future__ import annotations

import hashlib

import pytest

from appliance import changes
from appliance.errors import Conflict, ValidationError
from appliance.system import get_system_settings
from appliance.system.service import update_system_settings
from appliance.users import create_user, get_user

GOOD = {"appliance_name": "Cabinet Dupont", "sip_domain": "pbx.example.com", "country": "CH",
        "timezone": "Europe/Zurich", "language": "de", "ring_timeout_s": 25, "ban_failures": 5,
        "ban_window_s": 120, "ban_minutes": 30}

BAD = [
    ("appliance_name", ""), ("appliance_name", "x" * 65), ("appliance_name", "a\nb"), ("appliance_name", 7),
    ("sip_domain", ""), ("sip_domain", "pbx_local"), ("sip_domain", "-pbx.local"), ("sip_domain", "a..b"),
    ("sip_domain", "1.2.3"), ("sip_domain", "::1"), ("sip_domain", "pbx.local\"; drop"), ("sip_domain", "a" * 64),
    ("country", "XX"), ("country", "FRA"), ("country", None),
    ("timezone", "Mars/Olympus"), ("timezone", "../../etc/passwd"), ("timezone", ""),
    ("language", "es"), ("language", ""),
    ("ring_timeout_s", 4), ("ring_timeout_s", 301), ("ring_timeout_s", "ten"), ("ring_timeout_s", True),
    ("ban_failures", 1), ("ban_failures", 1001), ("ban_failures", 2.5),
    ("ban_window_s", 9), ("ban_window_s", 3601),
    ("ban_minutes", 0), ("ban_minutes", 10081), ("ban_minutes", -5),
    ("flood_limit", 15), ("flood_limit", 65536), ("flood_limit", "many"),
    ("nonsense", 1), ("updated_at", "2020-01-01"), ("id", 2),
]


def test_good_settings_are_stored_and_the_revision_moves(store):
    before = get_system_settings().revision
    saved = update_system_settings(GOOD)
    again = get_system_settings()
    for field, value in GOOD.items():
        assert getattr(again, field) == value, field
    assert saved.revision == again.revision == before + 1


def test_form_text_numbers_and_case_are_normalised(store):
    saved = update_system_settings({"ring_timeout_s": " 45 ", "country": "be", "sip_domain": "PBX.Example.COM.",
                                    "appliance_name": "  Accueil  "})
    assert (saved.ring_timeout_s, saved.country, saved.sip_domain, saved.appliance_name) == \
        (45, "BE", "pbx.example.com", "Accueil")
    assert update_system_settings({"sip_domain": "192.168.1.10"}).sip_domain == "192.168.1.10"


@pytest.mark.parametrize("field,value", BAD, ids=[f"{f}={v!r}"[:40] for f, v in BAD])
def test_each_bad_field_is_refused_by_name_and_nothing_is_stored(store, field, value):
    before = get_system_settings().__data__.copy()
    with pytest.raises(ValidationError) as refused:
        update_system_settings({"appliance_name": "Changed too", field: value})
    assert refused.value.field == field
    assert get_system_settings().__data__ == before


def test_concurrent_edit_is_refused_with_conflict(store):
    revision = get_system_settings().revision
    update_system_settings({"appliance_name": "First", "revision": revision})
    with pytest.raises(Conflict):
        update_system_settings({"appliance_name": "Second", "revision": revision})
    assert get_system_settings().appliance_name == "First"


def test_when_sip_domain_changes_then_every_ha1_follows_the_new_realm(store):
    create_user({"extension": "100", "first_name": "Ann", "last_name": "Lee", "sip_password": "Secret-Pass-123"})
    update_system_settings({"sip_domain": "voice.example.org"})
    user = get_user("100")
    assert user.ha1 == hashlib.md5(b"100:voice.example.org:Secret-Pass-123").hexdigest()
    assert user.ha1b == hashlib.md5(b"100@voice.example.org:voice.example.org:Secret-Pass-123").hexdigest()


def test_when_saved_then_listeners_hear_what_changed_only(store):
    heard = []
    changes.subscribe("system.saved", lambda settings, changed: heard.append((settings.ban_failures, changed)))
    current = get_system_settings()
    update_system_settings({"ban_failures": 3, "ban_minutes": current.ban_minutes})
    update_system_settings({"ban_failures": 3})  # no change: nothing to tell
    assert heard == [(3, {"ban_failures"})]
