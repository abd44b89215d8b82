"""Web passwords: scrypt hashes, the strength policy, one-time passwords."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import string

from appliance.errors import ValidationError

MIN_LENGTH = 12
MAX_LENGTH = 128
_N, _R, _P = 2**14, 8, 1


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    return f"scrypt${_N}${_R}${_P}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def verify_password(password: str, stored: str | None) -> bool:
    if not stored or not isinstance(password, str):
        return False
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        computed = hashlib.scrypt(
            password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p),
            dklen=len(base64.b64decode(digest)),
        )
    except ValueError:
        return False
    return hmac.compare_digest(computed, base64.b64decode(digest))


def check_strength(password: object, field: str = "password", forbidden: str = "") -> str:
    """Return the password if it meets the policy, else raise naming the field."""
    if password is None or password == "":
        raise ValidationError(field, "is required")
    if not isinstance(password, str):
        raise ValidationError(field, "must be text")
    if len(password) < MIN_LENGTH:
        raise ValidationError(field, f"must be at least {MIN_LENGTH} characters long")
    if len(password) > MAX_LENGTH:
        raise ValidationError(field, f"must be at most {MAX_LENGTH} characters long")
    if not any(c.islower() for c in password):
        raise ValidationError(field, "must contain a lower-case letter")
    if not any(c.isupper() for c in password):
        raise ValidationError(field, "must contain an upper-case letter")
    if not any(c.isdigit() for c in password):
        raise ValidationError(field, "must contain a digit")
    if any(ord(c) < 32 or ord(c) == 127 for c in password):
        raise ValidationError(field, "must not contain control characters")
    if forbidden and forbidden in password:
        raise ValidationError(field, "must not contain the extension or login")
    return password


def generate_password(length: int = 16) -> str:
    """A random password that always passes `check_strength`."""
    alphabet = string.ascii_letters + string.digits
    while True:
        candidate = "".join(secrets.choice(alphabet) for _ in range(length))
        try:
            return check_strength(candidate)
        except ValidationError:
            continue
