"""Request plumbing shared by the routes: identity, permission and CSRF checks, rendering, JSON errors.

Every route is wrapped by `GuardPlugin`: it needs `perm="<permission>"` (see
webui.permissions) or `public=True` in its route config, else nobody may
call it.
"""

from __future__ import annotations

import functools
import hmac
import json
import logging
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

import bottle
import peewee
from bottle import HTTPResponse, request, response

from appliance.auth import sessions
from appliance.auth.account import BadCredentials, LoginThrottled
from appliance.errors import Conflict, NotFound, SipEdgeError, ValidationError
from appliance.settings import Settings
from appliance.system.models import get_system_settings
from appliance.users.models import User
from webui import edge, i18n
from webui.permissions import allowed

log = logging.getLogger(__name__)

TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"
SESSION_COOKIE = "pbx_session"
LOGIN_CSRF_COOKIE = "pbx_login_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
# Largest request body the app reads (forms and JSON are far smaller).
MAX_BODY = 64 * 1024
# Routes allowed a larger body, (method, path regex matching the whole path) -> bytes; a routes module
# adds its own at register() (sound uploads, price-list CSVs).
BODY_ALLOWANCES: dict[tuple[str, str], int] = {}


def body_limit(method: str, path: str) -> int:
    for (allowed_method, pattern), limit in BODY_ALLOWANCES.items():
        if allowed_method == method and re.fullmatch(pattern, path):
            return limit
    return MAX_BODY
# Bodies up to this size are read and thrown away so the client gets a clean 413;
# cheroot refuses anything larger itself.
DRAIN_LIMIT = 4 * 1024 * 1024
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
SETTINGS_KEY = "appliance.settings"


@dataclass(slots=True)
class Identity:
    session: sessions.WebSession
    user: User
    via: str  # "cookie" or "bearer"


class ApiError(Exception):
    """An API answer other than success: status, machine-readable code, the field at fault."""

    def __init__(self, status: int, error: str, field: str | None = None, message: str | None = None):
        super().__init__(message or error)
        self.status = status
        self.error = error
        self.field = field
        self.message = message


# -- request facts ------------------------------------------------------------

def settings() -> Settings:
    return request.app.config[SETTINGS_KEY]


def is_api_request() -> bool:
    return request.path.startswith("/api/")


def client_ip() -> str:
    """The peer address (the appliance is reached directly: no proxy headers are trusted)."""
    return request.environ.get("REMOTE_ADDR") or "unknown"


def is_https() -> bool:
    return request.urlparts.scheme == "https"


def session_cookie() -> str:
    """The session cookie's name for this request's scheme. Over HTTPS it is Secure and named apart
    (`__Secure-` prefix): a browser never lets plain HTTP overwrite a Secure cookie of the same name, so a
    shared name would lock the HTTP login out after an HTTPS login."""
    return ("__Secure-" if is_https() else "") + SESSION_COOKIE


def login_csrf_cookie() -> str:
    return ("__Secure-" if is_https() else "") + LOGIN_CSRF_COOKIE


def bearer_token() -> str | None:
    header = request.get_header("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return None


def identity() -> Identity | None:
    """Who is calling: the API accepts a bearer token (or the browser's cookie), pages only the cookie."""
    env = request.environ
    if "webui.identity" in env:
        return env["webui.identity"]
    found = None
    bearer = bearer_token() if is_api_request() else None
    if bearer is not None:
        row = sessions.find_session(bearer)
        if row is not None and row.kind == "api":
            found = Identity(row, row.user, "bearer")
    else:
        row = sessions.find_session(request.get_cookie(session_cookie()))
        if row is not None and row.kind == "web":
            found = Identity(row, row.user, "cookie")
    env["webui.identity"] = found
    return found


def current_user() -> User | None:
    ident = identity()
    return ident.user if ident else None


def language() -> str:
    env = request.environ
    if "webui.language" not in env:
        user = current_user()
        try:
            system_language = get_system_settings().language
        except Exception:  # the settings row is missing: fall back, do not break the page
            system_language = None
        env["webui.language"] = i18n.choose_language(
            user.language if user else None, request.get_header("Accept-Language"), system_language)
    return env["webui.language"]


def gettext(message: str) -> str:
    return i18n.translations(language()).gettext(message)


_ = gettext


# -- cookies and CSRF -----------------------------------------------------------

def set_session_cookie(token: str) -> None:
    response.set_cookie(session_cookie(), token, path="/", httponly=True, samesite="strict", secure=is_https())


def clear_session_cookie() -> None:
    response.set_cookie(session_cookie(), "", path="/", httponly=True, samesite="strict", secure=is_https(),
                        max_age=0, expires=0)


def login_csrf_token() -> str:
    """Double-submit token for the login form (there is no session yet)."""
    token = request.get_cookie(login_csrf_cookie())
    if not token or len(token) > 64:
        token = secrets.token_urlsafe(24)
    response.set_cookie(login_csrf_cookie(), token, path="/", httponly=True, samesite="strict", secure=is_https())
    return token


def tokens_match(expected: str | None, given: object) -> bool:
    return bool(expected) and isinstance(given, str) and hmac.compare_digest(expected.encode(), given.encode())


def form() -> bottle.FormsDict:
    """The submitted form with values decoded as UTF-8."""
    env = request.environ
    if "webui.form" not in env:
        decoded = bottle.FormsDict()
        decoded.recode_unicode = False
        for key, value in request.forms.allitems():
            decoded.append(_utf8(key), _utf8(value))
        env["webui.form"] = decoded
    return env["webui.form"]


def _utf8(text):
    """Bottle hands form fields over as latin-1; read them as UTF-8, never failing on bad bytes."""
    if not isinstance(text, str):
        return text
    return text.encode("latin1", "replace").decode("utf-8", "replace")


def apply_revision(data: dict, revision: str) -> None:
    """Put a form's hidden `revision` (the one the user read) into `data` for the service's conflict check."""
    if revision:
        if not revision.isdecimal():
            raise ValidationError("revision", "must be an integer")
        data["revision"] = int(revision)


def move_row(rows: list[dict], action: str, key: str, new_row: dict) -> bool:
    """A form's ordered rows (group members) after an "add" / "up:i" / "down:i" / "remove:i" button, in place.

    The server side of static/orderedlist.js, for browsers without JavaScript. `new_row` is added
    for "add" when its `key` is not listed yet. False when the action is none of these ("save").
    """
    verb, _sep, index_text = action.partition(":")
    if verb == "add":
        if new_row.get(key) and all(row[key] != new_row[key] for row in rows):
            rows.append(new_row)
        return True
    if verb in ("up", "down", "remove") and index_text.isdecimal() and int(index_text) < len(rows):
        index = int(index_text)
        if verb == "remove":
            del rows[index]
        else:
            other = index - 1 if verb == "up" else index + 1
            if 0 <= other < len(rows):
                rows[index], rows[other] = rows[other], rows[index]
        return True
    return False


def form_text(name: str) -> str:
    value = form().get(name, "")
    return value if isinstance(value, str) else ""


# -- rendering ------------------------------------------------------------------

_templates: dict[str, bottle.SimpleTemplate] = {}


def _template(name: str) -> bottle.SimpleTemplate:
    tpl = _templates.get(name)
    if tpl is None:
        tpl = _templates[name] = bottle.SimpleTemplate(name=name, lookup=[str(TEMPLATE_DIR)])
    return tpl


def status_strip() -> dict:
    """Appliance name, SIP edge up/down, registered phones, calls in progress."""
    from appliance.cdr import queries

    env = request.environ
    if "webui.status" not in env:
        regs = edge.registrations(settings())
        try:
            name = get_system_settings().appliance_name
        except peewee.PeeweeException:
            log.exception("cannot read the appliance name for the status strip")
            name = "PBX"
        env["webui.status"] = {
            "appliance_name": name,
            "sip_edge": "up" if regs is not None else "down",
            "registered": len({r.get("extension") for r in regs}) if regs is not None else None,
            "calls": queries.count_in_progress(),
        }
    return env["webui.status"]


def render(name: str, status: int = 200, **values) -> str:
    """Render a template with what every page needs (translations, user, CSRF field, status strip)."""
    ident = identity()
    user = ident.user if ident else None
    token = ident.session.csrf_token if ident and ident.via == "cookie" else ""
    page = {
        "_": gettext,
        "lang": language(),
        "user": user,
        "csrf_token": token,
        "can": lambda permission: user is not None and allowed(user.role, permission),
        "status": status_strip() if user is not None and allowed(user.role, "status.view")
        and not user.must_change_password else None,
        "active": "",
        "title": "",
        "errors": {},
        "notice": "",
        "refresh": 0,  # seconds between automatic reloads (calls in progress)
        "scripts": (),  # extra scripts from /static/ for this page (e.g. "dialplan.js")
    }
    page.update(values)
    response.status = status
    response.content_type = "text/html; charset=utf-8"
    return _template(name).render(**page)


def error_page(status: int, message: str) -> str:
    return render("error.tpl", status=status, title=str(status), message=message)


def message_for(exc: ValidationError | Conflict) -> str:
    """A validation message from an appliance package, translated when the catalog knows it."""
    return gettext(exc.message)


# -- JSON -------------------------------------------------------------------------

def json_body(data, status: int = 200) -> str:
    response.status = status
    response.content_type = "application/json"
    return json.dumps(data, ensure_ascii=False)


def json_error(status: int, error: str, field: str | None = None, message: str | None = None) -> str:
    body = {"error": error, "field": field}
    if message:
        body["message"] = message
    return json_body(body, status)


def read_json() -> object:
    """The request's JSON body; ApiError 415 if it is not JSON, 400 (field "body") if it does not parse."""
    ctype = (request.content_type or "").split(";")[0].strip().lower()
    if ctype != "application/json":
        raise ApiError(415, "unsupported_media_type", None, "send the body as application/json")
    raw = request.body.read()
    if len(raw) > MAX_BODY:
        raise ApiError(413, "payload_too_large", None, f"the body must be at most {MAX_BODY} bytes")
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise ApiError(400, "invalid", "body", "the body is not valid JSON") from None


def read_json_object(allowed_fields: tuple[str, ...] | None = None) -> dict:
    data = read_json()
    if not isinstance(data, dict):
        raise ApiError(400, "invalid", "body", "the body must be a JSON object")
    if allowed_fields is not None:
        for key in data:
            if key not in allowed_fields:
                raise ApiError(400, "invalid", str(key)[:64], f"{str(key)[:64]}: is not a known field")
    return data


# -- hooks and the guard plugin ---------------------------------------------------------

def _too_large(limit: int = MAX_BODY) -> HTTPResponse:
    if is_api_request():
        body = json.dumps({"error": "payload_too_large", "field": None,
                           "message": f"the body must be at most {limit} bytes"})
        return HTTPResponse(body, status=413, headers={"Content-Type": "application/json"})
    return HTTPResponse(error_page(413, _("What you sent is too large.")), status=413,
                        headers={"Content-Type": "text/html; charset=utf-8"})


def limit_body() -> None:
    """before_request hook: refuse bodies over MAX_BODY (or the route's allowance) with a clean 413."""
    limit = body_limit(request.method, request.path)
    length = request.content_length
    if length > limit:
        stream = request.environ.get("wsgi.input")
        if stream is not None and length <= DRAIN_LIMIT:
            remaining = length
            while remaining > 0:
                chunk = stream.read(min(65536, remaining))
                if not chunk:
                    break
                remaining -= len(chunk)
        raise _too_large(limit)
    if "chunked" in request.environ.get("HTTP_TRANSFER_ENCODING", "").lower():
        # Reading a chunked body to learn its size would store all of it first (before any permission
        # check): every client this appliance serves sends a Content-Length, so chunked bodies are refused.
        message = "send the body with a Content-Length (chunked transfer encoding is not accepted)"
        if is_api_request():
            raise HTTPResponse(json.dumps({"error": "length_required", "field": None, "message": message}),
                               status=411, headers={"Content-Type": "application/json"})
        raise HTTPResponse(error_page(411, _("Your browser sent the data in a form this appliance does not "
                                             "accept.")), status=411,
                           headers={"Content-Type": "text/html; charset=utf-8"})


SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; "
                               "form-action 'self'; base-uri 'none'",
}


access_log = logging.getLogger("webui.access")


def add_security_headers() -> None:
    """after_request hook: security headers, and one access-log line (path only: no query, no secrets)."""
    access_log.info("%s %s %s %s", client_ip(), request.method, request.path, response.status_code)
    for name, value in SECURITY_HEADERS.items():
        response.set_header(name, value)
    if not request.path.startswith("/static/"):
        response.set_header("Cache-Control", "no-store")


class GuardPlugin:
    """Checks identity, forced password change, permission and CSRF before any route runs,
    and turns the appliance's errors into API answers."""

    name = "guard"
    api = 2

    def apply(self, callback, route):
        config = route.config
        permission = config.get("perm")
        public = bool(config.get("public"))
        # Routes a user with a one-time password may still use (change it, log out).
        pending_ok = bool(config.get("pending_ok"))
        api = route.rule.startswith("/api/")

        @functools.wraps(callback)
        def guarded(*args, **kwargs):
            if api:
                return _guard_api(callback, args, kwargs, permission, public, pending_ok)
            return _guard_page(callback, args, kwargs, permission, public, pending_ok)

        return guarded


def _guard_page(callback, args, kwargs, permission, public, pending_ok):
    if not public:
        ident = identity()
        if ident is None:
            target = request.fullpath if request.method == "GET" else "/"
            return bottle.redirect("/login?" + bottle.urlencode({"next": target}), 303)
        if ident.user.must_change_password and not pending_ok:
            return bottle.redirect("/password", 303)
        if permission is None or not allowed(ident.user.role, permission):
            return error_page(403, _("You are not allowed to see this page."))
        if request.method in UNSAFE_METHODS and not tokens_match(ident.session.csrf_token, form().get(CSRF_FIELD)):
            return error_page(403, _("This form has expired or did not come from this appliance. "
                                     "Reload the page and try again."))
    try:
        return callback(*args, **kwargs)
    except NotFound:
        return error_page(404, _("This page or item does not exist (any more)."))


def _guard_api(callback, args, kwargs, permission, public, pending_ok):
    try:
        if not public:
            ident = identity()
            if ident is None:
                response.set_header("WWW-Authenticate", 'Bearer realm="appliance"')
                raise ApiError(401, "unauthorized", None, "log in first: POST /api/v1/session")
            if ident.via == "cookie" and request.method in UNSAFE_METHODS and not tokens_match(
                    ident.session.csrf_token, request.get_header(CSRF_HEADER)):
                raise ApiError(403, "csrf_token_invalid", None, f"send the session's {CSRF_HEADER} header")
            if ident.user.must_change_password and not pending_ok:
                raise ApiError(403, "password_change_required")
            if permission is None or not allowed(ident.user.role, permission):
                raise ApiError(403, "forbidden", None, "your role does not allow this")
        return callback(*args, **kwargs)
    except ApiError as exc:
        return json_error(exc.status, exc.error, exc.field, exc.message)
    except ValidationError as exc:
        return json_error(400, "invalid", exc.field, f"{exc.field}: {exc.message}")
    except Conflict as exc:
        return json_error(409, "conflict", exc.field, exc.message)
    except NotFound as exc:
        return json_error(404, "not_found", None, str(exc))
    except LoginThrottled as exc:
        response.set_header("Retry-After", str(int(sessions.LOGIN_WINDOW.total_seconds())))
        return json_error(429, "too_many_requests", None, str(exc))
    except BadCredentials as exc:
        return json_error(401, "bad_credentials", None, str(exc))
    except SipEdgeError as exc:
        return json_error(503, "sip_edge_unreachable", None, str(exc) or "SIP edge unreachable")
