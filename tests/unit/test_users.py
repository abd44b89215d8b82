import hashlib

import pytest

from appliance import changes
from appliance.errors import NotFound, ValidationError
from appliance.system import get_system_settings
from appliance.users import User, create_user, delete_user, get_user, reveal_sip_password, update_user
from appliance.users.service import Conflict

ALICE = {"extension": "100", "first_name": "Alice", "last_name": "Martin", "email": "alice@example.com"}


def test_when_user_created_then_ha1_matches_password_and_realm(store):
    user, generated = create_user(dict(ALICE, sip_password="Secret-Pass-123"))
    realm = get_system_settings().sip_domain
    assert generated is None
    assert user.ha1 == hashlib.md5(f"100:{realm}:Secret-Pass-123".encode()).hexdigest()
    assert reveal_sip_password(user) == "Secret-Pass-123"


def test_when_no_sip_password_given_then_a_strong_one_is_generated(store):
    user, generated = create_user(dict(ALICE))
    assert generated and len(generated) >= 12
    assert reveal_sip_password(user) == generated


@pytest.mark.parametrize("data, field", [
    ({"extension": "abc"}, "extension"),
    ({"extension": "1"}, "extension"),
    ({"extension": "76"}, "extension"),
    ({"extension": True}, "extension"),
    ({"first_name": ""}, "first_name"),
    ({"first_name": "   "}, "first_name"),
    ({"last_name": "x" * 65}, "last_name"),
    ({"last_name": 'Robert"; DROP TABLE user;--<'}, "last_name"),
    ({"first_name": 42}, "first_name"),
    ({"email": "not-an-email"}, "email"),
    ({"role": "root"}, "role"),
    ({"language": "xx"}, "language"),
    ({"sip_password": "short"}, "sip_password"),
    ({"sip_password": 123456789012345}, "sip_password"),
    ({"sip_password": "alllowercase123"}, "sip_password"),
    ({"sip_password": "Abcdefgh100xyz"}, "sip_password"),  # contains the extension
    ({"nickname": "Al"}, "nickname"),
])
def test_bad_input_names_the_field_and_stores_nothing(store, data, field):
    with pytest.raises(ValidationError) as err:
        create_user(dict(ALICE, **data))
    assert err.value.field == field
    assert User.select().where(User.extension.is_null(False)).count() == 0


def test_duplicate_extension_and_email_are_refused(store):
    create_user(dict(ALICE))
    with pytest.raises(ValidationError) as err:
        create_user(dict(ALICE, email="other@example.com"))
    assert err.value.field == "extension"
    with pytest.raises(ValidationError) as err:
        create_user(dict(ALICE, extension="101", email="ALICE@example.com"))
    assert err.value.field == "email"


def test_unicode_and_sql_looking_names_are_stored_literally(store):
    user, _ = create_user(dict(ALICE, first_name="Zoë", last_name="O'Brien; DROP TABLE user"))
    assert get_user("100").last_name == "O'Brien; DROP TABLE user"
    assert user.display_name == "Zoë O'Brien; DROP TABLE user"


def test_when_extension_changes_then_ha1_follows(store):
    user, _ = create_user(dict(ALICE, sip_password="Secret-Pass-123"))
    updated = update_user("100", {"extension": "200"})
    realm = get_system_settings().sip_domain
    assert updated.ha1 == hashlib.md5(f"200:{realm}:Secret-Pass-123".encode()).hexdigest()
    assert updated.login == "200"
    with pytest.raises(NotFound):
        get_user("100")


def test_concurrent_edit_is_refused_with_conflict(store):
    user, _ = create_user(dict(ALICE))
    update_user("100", {"first_name": "Alicia", "revision": user.revision})
    with pytest.raises(Conflict):
        update_user("100", {"first_name": "Ally", "revision": user.revision})
    assert get_user("100").first_name == "Alicia"


def test_when_user_deleted_then_listeners_hear_it(store):
    heard = []
    changes.subscribe("user.deleted", lambda user: heard.append(user.extension))
    create_user(dict(ALICE))
    delete_user("100")
    assert heard == ["100"]
    with pytest.raises(NotFound):
        delete_user("100")


def test_an_extension_cannot_take_a_conference_room_or_a_shared_box_number(store):
    from appliance.conference import service as conferences
    from appliance.voicemail import service as voicemail

    conferences.create_room({"name": "board", "number": "850"})
    voicemail.create_shared_box({"number": "860"})
    for number, what in (("850", "conference room board"), ("860", "shared voicemail box")):
        with pytest.raises(ValidationError) as caught:
            create_user({"extension": number, "first_name": "New", "last_name": "Person"})
        assert caught.value.field == "extension" and what in caught.value.message
    with pytest.raises(ValidationError) as caught:
        conferences.create_room({"name": "other", "number": "860"})
    assert caught.value.field == "number" and "shared voicemail box" in caught.value.message
