"""Login sessions (browser cookie or API bearer token) and login throttling.

Tokens are random; only their SHA-256 is stored, so a copy of the database
does not let anyone log in.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

import peewee

from appliance.store import BaseModel, database
from appliance.users.models import User

SESSION_LIFETIME = dt.timedelta(hours=8)
# Login throttle: this many failures from one source within the window lock it out.
LOGIN_FAILURES = 5
LOGIN_WINDOW = dt.timedelta(minutes=5)


class WebSession(BaseModel):
    token_hash = peewee.CharField(max_length=64, unique=True)
    user = peewee.ForeignKeyField(User, on_delete="CASCADE", backref="sessions")
    kind = peewee.CharField(max_length=8, default="web")  # web (cookie) or api (bearer)
    csrf_token = peewee.CharField(max_length=64)
    created_at = peewee.DateTimeField(default=dt.datetime.utcnow)
    last_seen_at = peewee.DateTimeField(default=dt.datetime.utcnow)
    expires_at = peewee.DateTimeField()

    class Meta:
        table_name = "web_session"


class AuthFailure(BaseModel):
    source = peewee.CharField(max_length=64)
    login = peewee.CharField(max_length=64, default="")
    at = peewee.DateTimeField(default=dt.datetime.utcnow)

    class Meta:
        table_name = "auth_failure"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(user: User, kind: str = "web") -> tuple[str, WebSession]:
    """Open a session; return the bearer/cookie token (shown once) and the row."""
    token = secrets.token_urlsafe(32)
    now = dt.datetime.utcnow()
    row = WebSession.create(
        token_hash=_digest(token), user=user, kind=kind, csrf_token=secrets.token_urlsafe(24),
        created_at=now, last_seen_at=now, expires_at=now + SESSION_LIFETIME,
    )
    return token, row


def find_session(token: str | None) -> WebSession | None:
    """The live session for a token, sliding its expiry; None if unknown or expired."""
    if not token or not isinstance(token, str) or len(token) > 256:
        return None
    row = WebSession.get_or_none(WebSession.token_hash == _digest(token))
    now = dt.datetime.utcnow()
    if row is None:
        return None
    if row.expires_at < now:
        row.delete_instance()
        return None
    if (now - row.last_seen_at) > dt.timedelta(minutes=1):
        WebSession.update(last_seen_at=now, expires_at=now + SESSION_LIFETIME).where(
            WebSession.id == row.id
        ).execute()
    return row


def end_session(token: str | None) -> None:
    if token:
        WebSession.delete().where(WebSession.token_hash == _digest(token)).execute()


def end_sessions_of(user: User) -> None:
    if user.id is not None:
        WebSession.delete().where(WebSession.user == user).execute()


def record_failure(source: str, login: str = "") -> None:
    with database.atomic():
        AuthFailure.create(source=source[:64], login=str(login)[:64])
        AuthFailure.delete().where(AuthFailure.at < dt.datetime.utcnow() - LOGIN_WINDOW * 4).execute()


def is_locked_out(source: str) -> bool:
    since = dt.datetime.utcnow() - LOGIN_WINDOW
    count = AuthFailure.select().where((AuthFailure.source == source[:64]) & (AuthFailure.at > since)).count()
    return count >= LOGIN_FAILURES


def clear_failures(source: str) -> None:
    AuthFailure.delete().where(AuthFailure.source == source[:64]).execute()
