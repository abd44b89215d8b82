import pytest

from appliance.auth import passwords
from appliance.auth.admin import ensure_admin, reset_admin_password
from appliance.errors import ValidationError
from appliance.users import User


def test_hash_verifies_only_the_right_password():
    stored = passwords.hash_password("Correct-Horse-9")
    assert passwords.verify_password("Correct-Horse-9", stored)
    assert not passwords.verify_password("correct-horse-9", stored)
    assert not passwords.verify_password("Correct-Horse-9", "garbage")


@pytest.mark.parametrize("weak", ["", "Short1a", "nouppercase123", "NOLOWERCASE123", "NoDigitsHereAtAll"])
def test_weak_passwords_are_refused(weak):
    with pytest.raises(ValidationError):
        passwords.check_strength(weak)


def test_generated_passwords_pass_the_policy():
    for _ in range(50):
        passwords.check_strength(passwords.generate_password())


def test_first_start_creates_admin_with_one_time_password_once(store):
    first = ensure_admin()
    admin = User.get(User.login == "admin")
    assert first and admin.must_change_password
    assert passwords.verify_password(first, admin.web_password_hash)
    assert ensure_admin() is None


def test_reset_admin_password_gives_a_new_one_time_password(store):
    first = ensure_admin()
    second = reset_admin_password()
    admin = User.get(User.login == "admin")
    assert second != first
    assert passwords.verify_password(second, admin.web_password_hash)
    assert not passwords.verify_password(first, admin.web_password_hash)
    assert admin.must_change_password
