"""The built-in `admin` account: no universal default password, ever.

On first start it gets a random one-time password that the supervisor prints
once; the first login must replace it.
"""

from __future__ import annotations

import datetime as dt

from appliance.auth import passwords
from appliance.store import database
from appliance.users.models import Role, User

ADMIN_LOGIN = "admin"


def ensure_admin() -> str | None:
    """Create `admin` if missing; return its one-time password, or None if it existed."""
    with database.atomic():
        if User.select().where(User.login == ADMIN_LOGIN).exists():
            return None
        password = passwords.generate_password(16)
        User.create(
            login=ADMIN_LOGIN, first_name="Administrator", role=Role.ADMIN, language="en",
            web_password_hash=passwords.hash_password(password), must_change_password=True,
        )
    return password


def reset_admin_password() -> str:
    """Give `admin` a new one-time password (to be changed at next login) and end its sessions."""
    from appliance.auth.sessions import end_sessions_of

    password = passwords.generate_password(16)
    with database.atomic():
        admin = User.get_or_none(User.login == ADMIN_LOGIN)
        if admin is None:
            admin = User(login=ADMIN_LOGIN, first_name="Administrator", role=Role.ADMIN, language="en")
        admin.web_password_hash = passwords.hash_password(password)
        admin.must_change_password = True
        admin.updated_at = dt.datetime.utcnow()
        admin.save()
        end_sessions_of(admin)
    return password
