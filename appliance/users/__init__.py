"""Users: extensions, names, roles, web and SIP credentials."""

from appliance.users.models import ROLES, Role, User
from appliance.users.service import (
    create_user,
    delete_user,
    get_user,
    list_users,
    reveal_sip_password,
    update_user,
)

__all__ = [
    "ROLES", "Role", "User", "create_user", "delete_user", "get_user",
    "list_users", "reveal_sip_password", "update_user",
]
