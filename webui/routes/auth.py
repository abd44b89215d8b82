"""Log in, log out, change one's own password (forced after a one-time password)."""

from __future__ import annotations

import bottle

from appliance.auth import sessions
from appliance.auth.account import BadCredentials, LoginThrottled, authenticate, change_password
from appliance.errors import ValidationError
from webui import web
from webui.permissions import home_for
from webui.web import _


def register(app: bottle.Bottle) -> None:
    app.route("/login", "GET", login_form, public=True)
    app.route("/login", "POST", login, public=True)
    app.route("/logout", "POST", logout, perm="account.self", pending_ok=True)
    app.route("/password", "GET", password_form, perm="account.self", pending_ok=True)
    app.route("/password", "POST", password_change, perm="account.self", pending_ok=True)


def _safe_next(target: str) -> str | None:
    """Only paths on this appliance (no //host, no scheme) may be redirected to."""
    if target.startswith("/") and not target.startswith("//") and "\\" not in target and len(target) < 512:
        return target
    return None


def _login_page(status: int = 200, username: str = "", error: str = "", next_url: str = "") -> str:
    return web.render("login.tpl", status=status, title=_("Log in"), username=username, error=error,
                      next_url=next_url, login_csrf=web.login_csrf_token())


def login_form():
    user = web.current_user()
    if user is not None:
        return bottle.redirect("/password" if user.must_change_password else home_for(user.role), 303)
    return _login_page(next_url=bottle.request.query.getunicode("next", "") or "")


def login():
    username = web.form_text("username").strip()
    next_url = web.form_text("next")
    if not web.tokens_match(bottle.request.get_cookie(web.login_csrf_cookie()), web.form().get(web.CSRF_FIELD)):
        return _login_page(403, username, _("This form has expired. Please try again."), next_url)
    try:
        user = authenticate(username, web.form_text("password"), web.client_ip())
    except LoginThrottled:
        bottle.response.set_header("Retry-After", str(int(sessions.LOGIN_WINDOW.total_seconds())))
        return _login_page(429, username, _("Too many failed logins from your address. Wait a few minutes."),
                           next_url)
    except BadCredentials:
        return _login_page(401, username, _("Wrong login or password."), next_url)
    old = bottle.request.get_cookie(web.session_cookie())
    if old:
        sessions.end_session(old)
    token, _row = sessions.start_session(user, "web")
    web.set_session_cookie(token)
    if user.must_change_password:
        return bottle.redirect("/password", 303)
    return bottle.redirect(_safe_next(next_url) or home_for(user.role), 303)


def logout():
    sessions.end_session(bottle.request.get_cookie(web.session_cookie()))
    web.clear_session_cookie()
    return bottle.redirect("/login", 303)


def _password_page(status: int = 200, errors: dict | None = None) -> str:
    user = web.current_user()
    return web.render("password.tpl", status=status, title=_("Change your password"), errors=errors or {},
                      forced=user.must_change_password)


def password_form():
    return _password_page()


def password_change():
    user = web.current_user()
    new = web.form_text("new_password")
    if new != web.form_text("confirm_password"):
        return _password_page(400, {"confirm_password": _("The two new passwords differ.")})
    try:
        user = change_password(user.login, web.form_text("current_password"), new, web.client_ip())
    except LoginThrottled:
        return _password_page(429, {"current_password": _("Too many failed attempts. Wait a few minutes.")})
    except BadCredentials:
        return _password_page(400, {"current_password": _("This is not your current password.")})
    except ValidationError as exc:
        return _password_page(400, {exc.field: web.message_for(exc)})
    # change_password ended every session of the user: open a fresh one for this browser.
    token, _row = sessions.start_session(user, "web")
    web.set_session_cookie(token)
    return bottle.redirect(home_for(user.role) + "?changed=1", 303)
