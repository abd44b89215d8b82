"""Create, change and delete users: validation, then one transaction, then side effects."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import unicodedata

import peewee

from appliance import changes
from appliance.auth import passwords
from appliance.dialplan.references import refuse_if_used
from appliance.errors import Conflict, NotFound, ValidationError
from appliance.numbering import EXTENSION_RE, SERVICE_NUMBERS, used_by
from appliance.store import database, secrets
from appliance.system.models import LANGUAGES, get_system_settings
from appliance.users.models import ROLES, User

EDITABLE_FIELDS = (
    "extension", "first_name", "last_name", "email", "role", "language",
    "sip_password", "web_password", "dialplan", "mobile", "caller_id_mode", "caller_id_number",
    "recording_mode",
)
# What the called party sees when this user calls out through a trunk (appliance.trunks.outbound).
CALLER_ID_MODES = ("appliance", "custom", "anonymous", "transparent")
MOBILE_RE = re.compile(r"^\+?[0-9]{6,20}$")
NAME_MAX = 64
EMAIL_MAX = 254
EMAIL_RE = re.compile(r"^[^@\s\"<>(),;:\\]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$")
# Characters that would break a SIP display name or a config file.
NAME_FORBIDDEN = set('"<>\\')


def list_users(search: str = "") -> list[User]:
    query = User.select().where(User.extension.is_null(False)).order_by(User.extension)
    if search:
        like = f"%{search}%"
        query = query.where(
            User.extension.contains(search) | User.first_name ** like | User.last_name ** like | User.email ** like
        )
    return list(query)


def get_user(extension: str) -> User:
    user = User.get_or_none(User.extension == str(extension))
    if user is None:
        raise NotFound("user", str(extension))
    return user


def create_user(data: dict) -> tuple[User, str | None]:
    """Create a phone user. Returns the user and the SIP password if one was generated."""
    _reject_unknown(data)
    for required in ("extension", "first_name", "last_name"):
        if required not in data:
            raise ValidationError(required, "is required")
    values = _validated(data, current=None)
    generated = None
    if "sip_password" not in values:
        generated = passwords.generate_password(16)
        values["sip_password"] = generated
    with database.atomic():
        _check_unique(values, current=None)
        user = User(login=values["extension"], revision=1)
        _apply(user, values)
        try:
            user.save(force_insert=True)
        except peewee.IntegrityError as exc:
            raise _integrity_to_validation(exc) from exc
    changes.publish("user.saved", user=user, previous_extension=None)
    return user, generated


def update_user(extension: str, data: dict) -> User:
    """Change some fields of a user; `revision` (optional) guards against concurrent edits."""
    data = dict(data)
    expected_revision = data.pop("revision", None)
    _reject_unknown(data)
    with database.atomic():
        user = get_user(extension)
        if expected_revision is not None:
            if not isinstance(expected_revision, int) or isinstance(expected_revision, bool):
                raise ValidationError("revision", "must be an integer")
            if expected_revision != user.revision:
                raise Conflict("revision", "this user was changed by someone else; reload and try again")
        values = _validated(data, current=user)
        _check_unique(values, current=user)
        previous_extension = user.extension
        if values.get("extension", previous_extension) != previous_extension and previous_extension:
            refuse_if_used("extension", previous_extension)
        if "extension" in values and user.login == previous_extension:
            user.login = values["extension"]
        _apply(user, values)
        user.revision += 1
        user.updated_at = dt.datetime.utcnow()
        try:
            user.save()
        except peewee.IntegrityError as exc:
            raise _integrity_to_validation(exc) from exc
    changes.publish("user.saved", user=user, previous_extension=previous_extension)
    return user


def delete_user(extension: str) -> None:
    with database.atomic():
        user = get_user(extension)
        refuse_if_used("extension", user.extension)
        user.delete_instance()
    changes.publish("user.deleted", user=user)


def reveal_sip_password(user: User) -> str | None:
    return secrets.decrypt(user.sip_password_enc) if user.sip_password_enc else None


def set_sip_password(user: User, password: str) -> None:
    """Store the SIP password encrypted and the HA1 hashes Kamailio checks."""
    realm = get_system_settings().sip_domain
    user.sip_password_enc = secrets.encrypt(password)
    user.ha1 = hashlib.md5(f"{user.extension}:{realm}:{password}".encode()).hexdigest()
    user.ha1b = hashlib.md5(f"{user.extension}@{realm}:{realm}:{password}".encode()).hexdigest()


def rehash_all_sip_passwords() -> None:
    """Recompute every HA1 after the SIP domain (the digest realm) changed."""
    with database.atomic():
        for user in User.select().where(User.sip_password_enc.is_null(False)):
            set_sip_password(user, secrets.decrypt(user.sip_password_enc))
            user.save()


# -- validation ---------------------------------------------------------------

def _reject_unknown(data: dict) -> None:
    if not isinstance(data, dict):
        raise ValidationError("body", "must be a JSON object")
    for key in data:
        if key not in EDITABLE_FIELDS:
            raise ValidationError(str(key)[:64], "is not a field of a user")


def _validated(data: dict, current: User | None) -> dict:
    values: dict = {}
    if "extension" in data:
        values["extension"] = _extension(data["extension"])
    for field in ("first_name", "last_name"):
        if field in data:
            values[field] = _name(field, data[field])
    if "email" in data:
        values["email"] = _email(data["email"])
    if "role" in data:
        values["role"] = _choice("role", data["role"], ROLES)
    if "language" in data:
        values["language"] = _choice("language", data["language"], LANGUAGES)
    if "dialplan" in data:
        values["dialplan"] = _procedure(data["dialplan"])
    if "mobile" in data:
        values["mobile"] = _mobile(data["mobile"])
    if "caller_id_mode" in data:
        values["caller_id_mode"] = _choice("caller_id_mode", data["caller_id_mode"], CALLER_ID_MODES)
    if "caller_id_number" in data:
        values["caller_id_number"] = _mobile(data["caller_id_number"], "caller_id_number")
    if "recording_mode" in data:
        from appliance.recordings.models import MODES as RECORDING_MODES

        values["recording_mode"] = _choice("recording_mode", data["recording_mode"], RECORDING_MODES)
    mode = values.get("caller_id_mode", current.caller_id_mode if current else "appliance")
    number = values.get("caller_id_number", current.caller_id_number if current else "")
    if mode == "custom" and not number:
        raise ValidationError("caller_id_number", "is required when the caller ID is a custom number")
    extension = values.get("extension") or (current.extension if current else "")
    if "sip_password" in data and data["sip_password"] not in (None, ""):
        values["sip_password"] = passwords.check_strength(data["sip_password"], "sip_password", forbidden=extension)
    elif "sip_password" in data and current is None:
        pass  # empty on create: one is generated
    elif "sip_password" in data:
        raise ValidationError("sip_password", "must not be empty")
    if "web_password" in data and data["web_password"] not in (None, ""):
        values["web_password"] = passwords.check_strength(data["web_password"], "web_password", forbidden=extension)
    return values


def _extension(value: object) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise ValidationError("extension", "must be a number of 2 to 8 digits")
    text = str(value).strip()
    if not EXTENSION_RE.match(text):
        raise ValidationError("extension", "must be a number of 2 to 8 digits")
    if text in SERVICE_NUMBERS:
        raise ValidationError("extension", f"{text} is reserved for the {SERVICE_NUMBERS[text]}")
    return text


def _procedure(value: object) -> str:
    from appliance.dialplan.references import exists

    if not isinstance(value, str) or not value.strip():
        raise ValidationError("dialplan", "must name a dialplan procedure")
    if not exists("procedure", value.strip()):
        raise ValidationError("dialplan", f"there is no procedure named {value.strip()!r}")
    return value.strip()


def _mobile(value: object, field: str = "mobile") -> str:
    """A public phone number as people type it; stored without spaces, dots or dashes."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValidationError(field, "must be text")
    text = "".join(value.split()).replace("-", "").replace(".", "")
    if text and not MOBILE_RE.match(text):
        raise ValidationError(field, "must be a phone number: digits, optionally starting with +")
    return text


def _name(field: str, value: object) -> str:
    if not isinstance(value, str):
        raise ValidationError(field, "must be text")
    text = unicodedata.normalize("NFC", value.strip())
    if not text:
        raise ValidationError(field, "must not be empty")
    if len(text) > NAME_MAX:
        raise ValidationError(field, f"must be at most {NAME_MAX} characters long")
    if any(unicodedata.category(c).startswith("C") for c in text) or NAME_FORBIDDEN & set(text):
        raise ValidationError(field, 'must not contain control characters or any of " < > \\')
    return text


def _email(value: object) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ValidationError("email", "must be text")
    text = value.strip().lower()
    if len(text) > EMAIL_MAX or not EMAIL_RE.match(text):
        raise ValidationError("email", "is not a valid email address")
    return text


def _choice(field: str, value: object, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise ValidationError(field, "must be one of " + ", ".join(allowed))
    return str(value)


def _check_unique(values: dict, current: User | None) -> None:
    others = User.select()
    if current is not None:
        others = others.where(User.id != current.id)
    if "extension" in values:
        if others.where((User.extension == values["extension"]) | (User.login == values["extension"])).exists():
            raise ValidationError("extension", f"{values['extension']} is already in use")
        taken = used_by(values["extension"], user_id=current.id if current is not None else None)
        if taken:
            raise ValidationError("extension", f"{values['extension']} is {taken}")
    if values.get("email"):
        if others.where(User.email == values["email"]).exists():
            raise ValidationError("email", f"{values['email']} is already used by another user")


def _apply(user: User, values: dict) -> None:
    for field in ("extension", "first_name", "last_name", "email", "role", "language", "dialplan", "mobile",
                  "caller_id_mode", "caller_id_number", "recording_mode"):
        if field in values:
            setattr(user, field, values[field])
    if "sip_password" in values:
        set_sip_password(user, values["sip_password"])
    elif "extension" in values and user.sip_password_enc:
        # The digest username is the extension, so its HA1 changes with it.
        set_sip_password(user, secrets.decrypt(user.sip_password_enc))
    if "web_password" in values:
        user.web_password_hash = passwords.hash_password(values["web_password"])


def _integrity_to_validation(exc: peewee.IntegrityError) -> ValidationError:
    message = str(exc)
    for field in ("extension", "email", "login"):
        if f"user.{field}" in message:
            return ValidationError("extension" if field == "login" else field, "is already in use")
    return ValidationError("body", "conflicts with existing data")
