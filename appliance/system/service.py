"""Change the system settings: validation, one transaction, then side effects."""

from __future__ import annotations

import datetime as dt

from appliance import changes
from appliance.errors import Conflict, ValidationError
from appliance.store import database
from appliance.system import validation
from appliance.system.models import SystemSettings, get_system_settings

EDITABLE_FIELDS = tuple(validation.CHECKS)


def update_system_settings(data: dict) -> SystemSettings:
    """Change some settings; `revision` (optional) refuses a concurrent edit. Publishes "system.saved"."""
    if not isinstance(data, dict):
        raise ValidationError("body", "must be a JSON object")
    data = dict(data)
    expected_revision = data.pop("revision", None)
    for key in data:
        if key not in EDITABLE_FIELDS:
            raise ValidationError(str(key)[:64], "is not a system setting")
    values = {field: validation.CHECKS[field](value) for field, value in data.items()}
    with database.atomic():
        system = get_system_settings()
        _check_revision(system, expected_revision)
        national = values.get("national_prefix", system.national_prefix)
        if national and national == values.get("international_prefix", system.international_prefix):
            raise ValidationError("national_prefix" if "national_prefix" in values else "international_prefix",
                                  "the national and international prefixes must differ")
        changed = {field for field, value in values.items() if getattr(system, field) != value}
        if changed:
            for field in changed:
                setattr(system, field, values[field])
            system.revision += 1
            system.updated_at = dt.datetime.utcnow()
            system.save()
            if "sip_domain" in changed:
                # The digest realm is part of every HA1: recompute them all with the new one.
                from appliance.users.service import rehash_all_sip_passwords

                rehash_all_sip_passwords()
                from appliance.trunks.service import rehash_dynamic_trunks

                rehash_dynamic_trunks()
    if changed:
        changes.publish("system.saved", settings=system, changed=changed)
    return system


def _check_revision(system: SystemSettings, expected: object) -> None:
    if expected is None:
        return
    if isinstance(expected, bool) or not isinstance(expected, int):
        raise ValidationError("revision", "must be an integer")
    if expected != system.revision:
        raise Conflict("revision", "the settings were changed by someone else; reload and try again")
