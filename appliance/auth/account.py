"""Logging in and changing one's own web password, with the login throttle.

The web UI and the JSON API both call these, so the rules (throttle per
source address, forced change of a one-time password, strength policy)
live in one place.
"""

from __future__ import annotations

import datetime as dt

from appliance.auth import passwords, sessions
from appliance.errors import ApplianceError, ValidationError
from appliance.store import database
from appliance.users.models import User

# Verified against when the login is unknown, so both cases cost the same time.
_DUMMY_HASH = passwords.hash_password("not a real password, only for timing")


class LoginThrottled(ApplianceError):
    """Too many failed logins from this source address recently."""


class BadCredentials(ApplianceError):
    """Unknown login or wrong password (deliberately not saying which)."""


def authenticate(login: object, password: object, source: str) -> User:
    """The user with these credentials; raises LoginThrottled or BadCredentials.

    A failure is recorded against `source`; success clears its failures. The
    caller decides what to do with `user.must_change_password`.
    """
    if sessions.is_locked_out(source):
        raise LoginThrottled("too many failed logins; wait a few minutes")
    login_text = login if isinstance(login, str) else ""
    user = User.get_or_none(User.login == login_text[:64]) if login_text else None
    ok = passwords.verify_password(password if isinstance(password, str) else "",
                                   user.web_password_hash if user and user.web_password_hash else _DUMMY_HASH)
    if user is None or not user.web_password_hash or not ok:
        sessions.record_failure(source, login_text)
        raise BadCredentials("wrong login or password")
    sessions.clear_failures(source)
    return user


def change_password(login: object, current: object, new: object, source: str) -> User:
    """Replace a user's web password after checking the current one; ends every session of the user."""
    user = authenticate(login, current, source)
    new_password = passwords.check_strength(new, "new_password", forbidden=user.login)
    if new_password == current:
        raise ValidationError("new_password", "must differ from the current password")
    with database.atomic():
        user.web_password_hash = passwords.hash_password(new_password)
        user.must_change_password = False
        user.updated_at = dt.datetime.utcnow()
        user.save()
        sessions.end_sessions_of(user)
    return user
