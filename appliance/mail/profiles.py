"""SMTP client profiles, the mail settings and the "send test email" action (the service layer).

A profile: name (immutable slug), sender address and display name, server, port, security
(none | starttls | tls = implicit TLS), user and password (Fernet-encrypted at rest, never shown again:
the API says only `has_password`), HELO domain, verify_tls (off = accept a self-signed certificate)
and is_default. Exactly one profile is the default while any exists (the first one created; deleting
it promotes the oldest other one); mail queued without a profile name goes out with the default.

The mail settings (one row, the one home of the admin alert address): admin_address ("" = no event
e-mails) and alert_severity (warning: warnings and alerts are mailed; alert: alerts only).
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata

from appliance.dialplan.models import NAME_RE
from appliance.errors import Conflict, NotFound, ValidationError, reject_unknown_fields
from appliance.mail.addresses import check_address, check_host
from appliance.mail.models import SECURITY_MODES, MailProfile, MailQueue, MailSettings
from appliance.mail.smtp import Outcome, deliver
from appliance.store import database, secrets

DEFAULT_PORTS = {"none": 25, "starttls": 587, "tls": 465}
WRITABLE_FIELDS = ("name", "description", "sender", "sender_name", "server", "port", "security", "username",
                   "password", "helo", "verify_tls", "is_default")
READ_ONLY_FIELDS = ("revision", "updated_at", "has_password", "password_enc")
PASSWORD_MAX = 256
ALERT_SEVERITIES = ("warning", "alert")
_USER_RE = re.compile(r"^[^\s\x00-\x1f\x7f]{1,254}$")


# -- profiles --------------------------------------------------------------------------------------------

def list_profiles() -> list[MailProfile]:
    return list(MailProfile.select().order_by(MailProfile.name))


def get_profile(name: str) -> MailProfile:
    profile = MailProfile.get_or_none(MailProfile.name == name)
    if profile is None:
        raise NotFound("mail profile", name)
    return profile


def default_profile() -> MailProfile | None:
    return MailProfile.get_or_none(MailProfile.is_default == True)  # noqa: E712


def to_public(profile: MailProfile) -> dict:
    """The profile as the API shows it: never the password, only whether one is stored."""
    return {
        "name": profile.name, "description": profile.description, "sender": profile.sender,
        "sender_name": profile.sender_name, "server": profile.server, "port": profile.port,
        "security": profile.security, "username": profile.username, "has_password": bool(profile.password_enc),
        "helo": profile.helo, "verify_tls": profile.verify_tls, "is_default": profile.is_default,
        "revision": profile.revision,
        "updated_at": profile.updated_at.isoformat(timespec="seconds") + "Z" if profile.updated_at else None,
    }


def create_profile(data: dict) -> MailProfile:
    _reject_unknown(data)
    if "name" not in data:
        raise ValidationError("name", "is required")
    name = _name(data["name"])
    for field in ("sender", "server"):
        if field not in data:
            raise ValidationError(field, "is required")
    values = _validated(data)
    password = values.pop("password", None)
    if "port" not in values:
        values["port"] = DEFAULT_PORTS[values.get("security", "starttls")]
    with database.atomic():
        if MailProfile.select().where(MailProfile.name == name).exists():
            raise Conflict("name", f"a mail profile named {name} already exists")
        profile = MailProfile(name=name, revision=1, updated_at=dt.datetime.utcnow(), **values)
        _check_whole(profile, password)
        profile.password_enc = secrets.encrypt(password) if password else None
        if not MailProfile.select().where(MailProfile.is_default == True).exists():  # noqa: E712
            profile.is_default = True
        elif profile.is_default:
            _clear_default()
        profile.save(force_insert=True)
    return profile


def update_profile(name: str, data: dict) -> MailProfile:
    """Change some fields; `revision` refuses a concurrent edit; the name never changes.

    password: omitted or "" keeps the stored one; null removes it.
    """
    _reject_unknown(data)
    data = dict(data)
    expected = data.pop("revision", None)
    if "name" in data and data["name"] != name:
        raise ValidationError("name", "cannot be changed: create a new profile instead")
    data.pop("name", None)
    if data.get("password") == "":
        data.pop("password")
    remove_password = "password" in data and data["password"] is None
    values = _validated(data)
    password = values.pop("password", None)
    with database.atomic():
        profile = get_profile(name)
        _check_revision(profile, expected)
        if values.get("is_default") is False and profile.is_default:
            raise ValidationError("is_default", "make another profile the default instead")
        for field, value in values.items():
            setattr(profile, field, value)
        if "security" in values and "port" not in values and profile.port in DEFAULT_PORTS.values():
            profile.port = DEFAULT_PORTS[profile.security]
        if remove_password:
            profile.password_enc = None
        keep = password if password is not None else (None if remove_password else profile.password_enc)
        _check_whole(profile, keep)
        if password is not None:
            profile.password_enc = secrets.encrypt(password)
        if values.get("is_default") and not MailProfile.get_by_id(profile.id).is_default:
            _clear_default()
        profile.revision += 1
        profile.updated_at = dt.datetime.utcnow()
        profile.save()
    return profile


def delete_profile(name: str) -> None:
    """Delete; unsent mail naming it goes out with the default; the oldest other profile becomes the default."""
    with database.atomic():
        profile = get_profile(name)
        profile.delete_instance()
        MailQueue.update(profile=None).where((MailQueue.profile == name)
                                             & MailQueue.state.in_(("queued", "sending", "failed"))).execute()
        if profile.is_default:
            heir = MailProfile.select().order_by(MailProfile.id).first()
            if heir is not None:
                MailProfile.update(is_default=True).where(MailProfile.id == heir.id).execute()


def send_test(name: str, data: dict | None = None) -> dict:
    """Send a test e-mail now with profile `name` to data["to"] (default: the admin address, else the
    sender); returns {"ok", "reason", "code", "text", "message", "to"}: the server's answer, classified."""
    data = data or {}
    if not isinstance(data, dict):
        raise ValidationError("body", "must be a JSON object")
    for key in data:
        if key != "to":
            raise ValidationError(str(key)[:64], "is not a field of a test email")
    profile = get_profile(name)
    to = data.get("to") or get_settings()["admin_address"] or profile.sender
    to = check_address("to", to)
    import email.utils
    from email.message import EmailMessage
    from email.policy import SMTP

    try:
        from appliance.system.models import get_system_settings

        appliance_name = get_system_settings().appliance_name
    except Exception:  # the test mail does not depend on the system settings
        appliance_name = "PBX"
    message = EmailMessage(policy=SMTP)
    message["To"] = to
    message["Subject"] = f"Test email from {appliance_name} (profile {profile.name})"
    message["Date"] = email.utils.formatdate()
    message["Message-ID"] = email.utils.make_msgid(domain=profile.sender.rpartition("@")[2])
    message.set_content(f"This is a test email sent by {appliance_name} with the SMTP profile {profile.name} "
                        f"({profile.server}:{profile.port}, {profile.security}).\n")
    outcome: Outcome = deliver(profile, [to], message.as_bytes())
    return {**outcome.to_dict(), "to": to}


# -- mail settings ---------------------------------------------------------------------------------------

def get_settings() -> dict:
    row = MailSettings.get_or_none(MailSettings.id == 1) or MailSettings.create(id=1)
    return {"admin_address": row.admin_address, "alert_severity": row.alert_severity, "revision": row.revision}


def update_settings(data: dict) -> dict:
    if not isinstance(data, dict):
        raise ValidationError("body", "must be a JSON object")
    for key in data:
        if key not in ("admin_address", "alert_severity", "revision"):
            raise ValidationError(str(key)[:64], "is not a mail setting")
    values = {}
    if "admin_address" in data:
        values["admin_address"] = check_address("admin_address", data["admin_address"], required=False)
    if "alert_severity" in data:
        if data["alert_severity"] not in ALERT_SEVERITIES:
            raise ValidationError("alert_severity", "must be one of " + ", ".join(ALERT_SEVERITIES))
        values["alert_severity"] = data["alert_severity"]
    with database.atomic():
        row = MailSettings.get_or_none(MailSettings.id == 1) or MailSettings.create(id=1)
        _check_revision(row, data.get("revision"), what="the mail settings")
        for field, value in values.items():
            setattr(row, field, value)
        row.revision += 1
        row.save()
    return get_settings()


# -- validation ------------------------------------------------------------------------------------------

def _clear_default() -> None:
    MailProfile.update(is_default=False).where(MailProfile.is_default == True).execute()  # noqa: E712


def _check_revision(row, expected: object, what: str = "this mail profile") -> None:
    if expected is None:
        return
    if isinstance(expected, bool) or not isinstance(expected, int):
        raise ValidationError("revision", "must be an integer")
    if expected != row.revision:
        raise Conflict("revision", f"{what} was changed by someone else; reload and try again")


def _reject_unknown(data: object) -> None:
    reject_unknown_fields(data, "mail profile", WRITABLE_FIELDS, READ_ONLY_FIELDS)


def _name(value: object) -> str:
    if not isinstance(value, str) or not re.match(NAME_RE, value.strip()):
        raise ValidationError("name", "must be 1 to 64 characters: lower-case letters, digits, - and _, "
                                      "starting with a letter or digit")
    return value.strip()


def _text(field: str, value: object, maximum: int) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValidationError(field, "must be text")
    text = unicodedata.normalize("NFC", value.strip())
    if len(text) > maximum:
        raise ValidationError(field, f"must be at most {maximum} characters long")
    if not text.isprintable():
        raise ValidationError(field, "must not contain control characters")
    return text


def _port(value: object) -> int:
    if isinstance(value, str) and value.strip().isdecimal():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
        raise ValidationError("port", "must be a port number from 1 to 65535")
    return value


def _security(value: object) -> str:
    text = value.strip().lower() if isinstance(value, str) else None
    if text not in SECURITY_MODES:
        raise ValidationError("security", "must be one of " + ", ".join(SECURITY_MODES)
                              + " (tls = implicit TLS, usually port 465)")
    return text


def _username(value: object) -> str:
    text = _text("username", value, 254)
    if text and not _USER_RE.match(text):
        raise ValidationError("username", "must not contain spaces")
    return text


def _password(value: object) -> str:
    if not isinstance(value, str):
        raise ValidationError("password", "must be text")
    if len(value) > PASSWORD_MAX:
        raise ValidationError("password", f"must be at most {PASSWORD_MAX} characters long")
    if not value.isprintable():
        raise ValidationError("password", "must not contain control characters")
    return value


def _bool(field: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise ValidationError(field, "must be true or false")
    return value


def _sender_name(value: object) -> str:
    text = _text("sender_name", value, 128)
    if any(c in text for c in '"<>\\'):
        raise ValidationError("sender_name", 'must not contain " < > or \\')
    return text


def _validated(data: dict) -> dict:
    checks = {
        "description": lambda v: _text("description", v, 255),
        "sender": lambda v: check_address("sender", v), "sender_name": _sender_name,
        "server": lambda v: check_host("server", v), "port": _port, "security": _security,
        "username": _username, "password": _password, "helo": lambda v: check_host("helo", v, required=False),
        "verify_tls": lambda v: _bool("verify_tls", v), "is_default": lambda v: _bool("is_default", v),
    }
    values = {}
    for field, check in checks.items():
        if field in data and not (field == "password" and data[field] is None):
            values[field] = check(data[field])
    return values


def _check_whole(profile: MailProfile, password) -> None:
    if profile.username and not password:
        raise ValidationError("password", "is required when a user is set")
    if password and not profile.username:
        raise ValidationError("username", "is required when a password is set")
