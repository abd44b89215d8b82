"""Server-rendered pages on a real cheroot server: login, forced change, CSRF, roles, forms, i18n."""

from __future__ import annotations

import datetime as dt
import http.client
import io
import re
import urllib.parse

import pytest

from appliance.auth import sessions
from appliance.cdr import Cdr
from appliance.users import User, create_user
from tests.support.browser import STRONG, first_login, running_web


@pytest.fixture(scope="module")
def web(tmp_path_factory):
    running = running_web(tmp_path_factory.mktemp("webpages"))
    yield running
    running.stop()


@pytest.fixture(autouse=True)
def no_lockout():
    yield
    sessions.clear_failures("127.0.0.1")


@pytest.fixture(scope="module")
def admin(web):
    return first_login(web)


def _person(extension: str, role: str = "user", **extra) -> User:
    data = {"extension": extension, "first_name": "P" + extension, "last_name": "Test", "role": role,
            "web_password": STRONG, **extra}
    return create_user(data)[0]


def _client_as(web, extension: str, role: str):
    _person(extension, role)
    client = web.client()
    assert client.login(extension, STRONG).status == 303
    return client


def _field_error(page: str, field: str) -> str | None:
    match = re.search(rf'data-field="{field}"[^>]*>([^<]*)<', page)
    return match.group(1) if match else None


def _user_form(**fields) -> dict:
    base = {"extension": "", "first_name": "", "last_name": "", "email": "", "role": "user", "language": "en",
            "sip_password": "", "web_password": "", "action": "save"}
    base.update(fields)
    return base


# -- login, first login, sessions ---------------------------------------------------------------

def test_first_login_forces_a_password_change_before_anything_else(tmp_path):
    fresh = running_web(tmp_path / "data")
    try:
        client = fresh.client()
        assert client.get("/users").header("Location").endswith("/login?next=%2Fusers")
        response = client.login("admin", fresh.admin_password)
        assert response.status == 303 and response.header("Location").endswith("/password")
        for path in ("/users", "/calls", "/security/bans", "/", "/settings"):
            page = client.get(path)
            assert page.status == 303 and page.header("Location").endswith("/password"), path
        assert client.get("/password").status == 200

        weak = client.post_form("/password", {"current_password": fresh.admin_password,
                                              "new_password": "short", "confirm_password": "short"})
        assert weak.status == 400 and _field_error(weak.text, "new_password")
        differ = client.post_form("/password", {"current_password": fresh.admin_password,
                                                "new_password": STRONG, "confirm_password": STRONG + "x"})
        assert differ.status == 400 and _field_error(differ.text, "confirm_password")
        wrong = client.post_form("/password", {"current_password": "Not-The-One-1",
                                               "new_password": STRONG, "confirm_password": STRONG})
        assert wrong.status == 400 and _field_error(wrong.text, "current_password")

        done = client.post_form("/password", {"current_password": fresh.admin_password,
                                              "new_password": STRONG, "confirm_password": STRONG})
        assert done.status == 303 and "/users?changed=1" in done.header("Location")
        users = client.get("/users")
        assert users.status == 200 and "Your password has been changed." in client.get("/users?changed=1").text
        assert User.get(User.login == "admin").must_change_password is False
        # The one-time password no longer works.
        assert fresh.client().login("admin", fresh.admin_password).status == 401
    finally:
        fresh.stop()


def test_session_cookie_is_httponly_samesite_strict(web, admin):
    client = web.client()
    response = client.login("admin", STRONG)
    cookie = next(c for c in response.set_cookies() if c.startswith("pbx_session="))
    flags = [part.strip().lower() for part in cookie.split(";")]
    assert "httponly" in flags and "samesite=strict" in flags and "path=/" in flags
    assert "secure" not in flags  # plain HTTP here; see the HTTPS test below


def test_session_cookie_is_secure_over_https(web, admin):
    """Through the WSGI app directly, as cheroot's TLS adapter would call it."""
    from webui.app import create_app

    app = create_app(web.settings)
    token = web.client().csrf_token("/login")  # a login-form token: sent as cookie and field below
    body = urllib.parse.urlencode({"username": "admin", "password": STRONG, "csrf_token": token, "next": ""}).encode()
    environ = {"REQUEST_METHOD": "POST", "PATH_INFO": "/login", "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "443",
               "wsgi.url_scheme": "https", "wsgi.input": io.BytesIO(body), "wsgi.errors": io.StringIO(),
               "CONTENT_LENGTH": str(len(body)), "CONTENT_TYPE": "application/x-www-form-urlencoded",
               "HTTP_COOKIE": f"__Secure-pbx_login_csrf={token}", "REMOTE_ADDR": "127.0.0.1"}
    seen = {}
    b"".join(app(environ, lambda status, headers, exc_info=None: seen.update(status=status, headers=headers)))
    assert seen["status"].startswith("303")
    cookie = next(v for k, v in seen["headers"] if k == "Set-Cookie" and v.startswith("__Secure-pbx_session="))
    assert "secure" in [p.strip().lower() for p in cookie.split(";")]


def test_wrong_password_is_401_and_keeps_the_login_typed(web, admin):
    response = web.client().login("admin", "Wrong-Password-1")
    assert response.status == 401
    assert "Wrong login or password." in response.text
    assert 'value="admin"' in response.text


def test_login_is_throttled_per_source_address(web, admin):
    client = web.client()
    for _ in range(sessions.LOGIN_FAILURES):
        assert client.login("admin", "Wrong-Password-1").status == 401
    response = client.login("admin", STRONG)
    assert response.status == 429 and "Too many failed logins" in response.text
    assert "pbx_session" not in client.cookies


def test_login_form_without_its_csrf_token_is_refused(web, admin):
    client = web.client()
    client.get("/login")
    response = client.post_form("/login", {"username": "admin", "password": STRONG, "csrf_token": "forged"})
    assert response.status == 403 and "pbx_session" not in client.cookies


def test_logout_ends_the_session(web, admin):
    client = web.client()
    assert client.login("admin", STRONG).status == 303
    old_cookie = client.cookies["pbx_session"]
    assert client.post_form("/logout", {}).status == 303
    client.cookies["pbx_session"] = old_cookie
    assert client.get("/users").status == 303  # back to the login page


def test_login_next_never_leaves_the_appliance(web, admin):
    client = web.client()
    client.get("/login")
    response = client.post_form("/login", {"username": "admin", "password": STRONG, "next": "//evil.example/x"})
    assert response.header("Location").endswith("/users")
    client2 = web.client()
    response = client2.post_form("/login", {"username": "admin", "password": STRONG, "next": "/calls/history"})
    assert response.header("Location").endswith("/calls/history")


# -- CSRF and roles -------------------------------------------------------------------------------

def test_forms_without_a_valid_csrf_token_are_refused_and_change_nothing(web, admin):
    before = User.select().count()
    for token in (None, "", "forged-token"):
        fields = _user_form(extension="300", first_name="Csrf", last_name="Victim")
        if token is not None:
            fields["csrf_token"] = token
        response = admin.post_form("/users/new", fields, csrf=False)
        assert response.status == 403
    assert User.select().count() == before
    # A token from another session does not work either.
    other = web.client()
    other.login("admin", STRONG)
    stolen = other.csrf_token()
    response = admin.post_form("/users/new", _user_form(extension="300", first_name="A", last_name="B",
                                                        csrf_token=stolen))
    assert response.status == 403 and User.select().count() == before


def test_user_role_sees_only_its_portal(web, admin):
    client = _client_as(web, "310", "user")
    assert client.get("/").header("Location").endswith("/portal")
    portal = client.get("/portal")
    assert portal.status == 200 and "310" in portal.text
    for path in ("/users", "/users/new", "/users/310/edit", "/calls", "/calls/history", "/calls/history.csv",
                 "/security/bans", "/trunks", "/devices", "/dialplan", "/settings"):
        assert client.get(path).status == 403, path
    response = client.post_form("/users/310/delete", {})
    assert response.status == 403 and User.get_or_none(User.extension == "310") is not None


def test_technician_sees_users_and_calls_but_cannot_manage_users(web, admin):
    client = _client_as(web, "311", "technician")
    users = client.get("/users")
    assert users.status == 200 and "/users/new" not in users.text and "Show SIP password" not in users.text
    assert client.get("/calls").status == 200 and client.get("/security/bans").status == 200
    assert client.get("/users/new").status == 403
    assert client.post_form("/users/311/delete", {}).status == 403
    assert client.post_form("/users/311/sip-password", {}).status == 403


def test_every_route_declares_a_permission_or_is_public(web):
    from webui.app import create_app
    from webui.permissions import PERMISSIONS

    for route in create_app(web.settings).routes:
        if route.config.get("public"):
            # /prov/: phones fetch their configuration there with their own digest credentials.
            assert route.rule.startswith(("/login", "/static/", "/api/v1/session", "/api/v1/openapi", "/prov/")), \
                route.rule
        else:
            assert route.config.get("perm") in PERMISSIONS, route.rule


# -- users through the forms -------------------------------------------------------------------------

def test_user_crud_through_the_forms(web, admin):
    new = admin.get("/users/new")
    generated = re.search(r'name="sip_password" value="([^"]+)"', new.text).group(1)
    assert len(generated) >= 12

    regenerated = admin.post_form("/users/new", _user_form(extension="320", first_name="Léa", action="generate"))
    assert regenerated.status == 200
    fresh = re.search(r'name="sip_password" value="([^"]+)"', regenerated.text).group(1)
    assert fresh != generated and 'value="Léa"' in regenerated.text
    assert User.get_or_none(User.extension == "320") is None

    created = admin.post_form("/users/new", _user_form(extension="320", first_name="Léa", last_name="Dupont",
                                                       email="lea@example.com", sip_password=fresh))
    assert created.status == 303 and "created=320" in created.header("Location")
    listing = admin.get("/users?q=Dupont")
    assert 'data-extension="320"' in listing.text and "Léa" in listing.text

    edit = admin.get("/users/320/edit")
    revision = re.search(r'name="revision" value="(\d+)"', edit.text).group(1)
    saved = admin.post_form("/users/320/edit", _user_form(extension="320", first_name="Léa", last_name="Martin",
                                                          email="lea@example.com", revision=revision))
    assert saved.status == 303
    user = User.get(User.extension == "320")
    assert user.last_name == "Martin"
    from appliance.users import reveal_sip_password
    assert reveal_sip_password(user) == fresh  # empty SIP password on edit keeps it

    shown = admin.post_form("/users/320/sip-password", {})
    assert shown.status == 200 and fresh in shown.text

    confirm = admin.get("/users/320/delete")
    assert confirm.status == 200 and "cannot be undone" in confirm.text
    assert admin.post_form("/users/320/delete", {}).status == 303
    assert User.get_or_none(User.extension == "320") is None
    assert admin.get("/users/320/edit").status == 404


def test_created_without_sip_password_shows_the_generated_one_once(web, admin):
    page = admin.post_form("/users/new", _user_form(extension="321", first_name="Gen", last_name="Erated"))
    assert page.status == 200
    secret = re.search(r'id="secret">([^<]+)<', page.text).group(1)
    from appliance.users import reveal_sip_password
    assert reveal_sip_password(User.get(User.extension == "321")) == secret


FORM_BAD_INPUTS = [
    ("non-numeric extension", {"extension": "abc"}, "extension"),
    ("duplicate extension", {"extension": "330"}, "extension"),
    ("empty first name", {"first_name": ""}, "first_name"),
    ("10 kB name", {"last_name": "y" * 10240}, "last_name"),
    ("HTML in a name", {"first_name": "<img src=x onerror=alert(1)>"}, "first_name"),
    ("weak SIP password", {"sip_password": "12345"}, "sip_password"),
    ("bad email", {"email": "not-an-email"}, "email"),
    ("unknown role", {"role": "superuser"}, "role"),
]


@pytest.mark.parametrize("label, change, field", FORM_BAD_INPUTS, ids=[b[0] for b in FORM_BAD_INPUTS])
def test_bad_form_input_rerenders_with_the_message_next_to_the_field(web, admin, label, change, field):
    if User.get_or_none(User.extension == "330") is None:
        _person("330")
    before = User.select().count()
    fields = _user_form(**{"extension": "331", "first_name": "Ann", "last_name": "Lee", **change})
    response = admin.post_form("/users/new", fields)
    assert response.status == 400
    assert _field_error(response.text, field), response.text[-2000:]
    assert User.select().count() == before
    # What was typed is kept (escaped), except that nothing raw reaches the page.
    value = change.get(field, "")
    if field in ("extension", "first_name", "last_name", "email") and value and len(value) < 100:
        escaped = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;") \
            .replace("'", "&#039;")
        assert f'value="{escaped}"' in response.text
    assert "<img src=x" not in response.text


def test_sql_and_html_looking_names_are_stored_literally_and_rendered_escaped(web, admin):
    evil = "O'Brien & Sons'); DROP TABLE user;--"
    response = admin.post_form("/users/new", _user_form(extension="340", first_name="Bob", last_name=evil))
    assert response.status in (200, 303)
    assert User.get(User.extension == "340").last_name == evil
    listing = admin.get("/users?q=340")
    assert "O&#039;Brien &amp; Sons&#039;); DROP TABLE user;--" in listing.text
    search = admin.get("/users?q=" + urllib.parse.quote("<script>alert(1)</script>"))
    assert search.status == 200 and "<script>alert(1)" not in search.text
    assert "&lt;script&gt;" in search.text


def test_concurrent_edit_through_the_form_is_a_409(web, admin):
    _person("350")
    revision = re.search(r'name="revision" value="(\d+)"', admin.get("/users/350/edit").text).group(1)
    first = admin.post_form("/users/350/edit", _user_form(extension="350", first_name="One", last_name="Test",
                                                          revision=revision))
    assert first.status == 303
    second = admin.post_form("/users/350/edit", _user_form(extension="350", first_name="Two", last_name="Test",
                                                           revision=revision))
    assert second.status == 409 and "changed by someone else" in second.text
    assert User.get(User.extension == "350").first_name == "One"


def test_a_1_mb_form_gets_413_and_nothing_is_stored(web, admin):
    before = User.select().count()
    response = admin.post_form("/users/new", _user_form(extension="360", first_name="z" * (1024 * 1024),
                                                        last_name="Big"))
    assert response.status == 413
    assert User.select().count() == before
    assert admin.get("/users").status == 200


# -- Kamailio absent, status strip, placeholders -------------------------------------------------------

def test_when_kamailio_is_down_pages_say_so_and_still_work(web, admin):
    users = admin.get("/users")
    assert users.status == 200
    assert 'id="edge-unreachable"' in users.text and "SIP edge unreachable" in users.text
    assert 'data-registered="unknown"' in users.text
    assert 'class="edge down"' in users.text
    bans = admin.get("/security/bans")
    assert bans.status == 200 and 'id="edge-unreachable"' in bans.text
    unban = admin.post_form("/security/bans/192.0.2.9/unban", {})
    assert unban.status == 503 and "SIP edge unreachable" in unban.text
    assert admin.post_form("/security/bans/nonsense/unban", {}).status == 400


def test_status_strip_and_main_menu_on_every_admin_page(web, admin):
    page = admin.get("/calls")
    for label in ("Users", "Trunks", "Devices", "Dialplan", "Settings"):
        assert f">{label}</a>" in page.text
    assert 'id="status-strip"' in page.text and 'data-status="calls"' in page.text


# -- calls -------------------------------------------------------------------------------------------

def test_calls_in_progress_history_filters_and_csv(web, admin):
    Cdr.delete().execute()
    t0 = dt.datetime(2026, 4, 1, 9, 0, 0)
    Cdr.create(call_id="h1", caller="100", callee="101", start=t0, answer=t0, end=t0 + dt.timedelta(seconds=42),
               billsec=42, disposition="answered")
    Cdr.create(call_id="h2", caller="=HYPERLINK(1)", callee="102", start=t0 + dt.timedelta(days=1),
               end=t0 + dt.timedelta(days=1), disposition="busy")
    Cdr.create(call_id="live", caller="105", callee="106", start=dt.datetime.utcnow())

    calls = admin.get("/calls")
    assert "105" in calls.text and "ringing" in calls.text
    history = admin.get("/calls/history")
    assert "101" in history.text and "102" in history.text and "106" not in history.text
    only_busy = admin.get("/calls/history?disposition=busy")
    assert "102" in only_busy.text and ">101<" not in only_busy.text
    dated = admin.get("/calls/history?from=2026-04-01&to=2026-04-01")
    assert "101" in dated.text and "102" not in dated.text
    bad = admin.get("/calls/history?from=someday")
    assert bad.status == 400 and _field_error(bad.text, "from")

    csv_page = admin.get("/calls/history.csv?caller=100")
    assert csv_page.status == 200 and csv_page.header("Content-Type").startswith("text/csv")
    lines = csv_page.text.strip().splitlines()
    assert lines[0].startswith("call_id,caller") and len(lines) == 2 and lines[1].startswith("h1,100,")
    everything = admin.get("/calls/history.csv").text
    assert "'=HYPERLINK(1)" in everything  # never a live formula in a spreadsheet


# -- language, errors, headers -------------------------------------------------------------------------

def test_language_follows_the_user_then_accept_language(web, admin):
    anonymous = web.client()
    french = anonymous.request("GET", "/login", headers={"Accept-Language": "fr-CH, fr;q=0.9, en;q=0.5"})
    assert "Connexion" in french.text and 'lang="fr"' in french.text
    english = anonymous.request("GET", "/login", headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert "Log in" in english.text and 'lang="en"' in english.text

    user = _person("370", "technician", language="fr")
    client = web.client()
    client.login(user.login, STRONG)
    page = client.request("GET", "/users", headers={"Accept-Language": "en"})
    assert "Utilisateurs" in page.text and "Frontal SIP injoignable" in page.text


def test_unknown_pages_get_a_404_page_with_security_headers(web, admin):
    page = admin.get("/no/such/page")
    assert page.status == 404 and "does not exist" in page.text
    assert page.header("X-Frame-Options") == "DENY"
    assert "default-src 'self'" in page.header("Content-Security-Policy")
    assert admin.get("/static/app.css").status == 200


def test_catalogs_are_complete_and_compiled():
    from webui import i18n

    msgids = i18n.extract()
    french = i18n.read_po(i18n.po_path("fr"))
    assert [m for m in msgids if not french.get(m)] == []
    for language in i18n.UI_LANGUAGES:
        compiled = i18n.po_path(language).with_suffix(".mo").read_bytes()
        assert compiled == i18n.compile_mo(i18n.catalog_with_header(language)), \
            f"run python -m webui.i18n compile ({language})"


def test_call_history_pages_through_long_lists(web, admin):
    Cdr.delete().execute()
    t0 = dt.datetime(2026, 5, 1, 8, 0, 0)
    for i in range(205):
        start = t0 + dt.timedelta(minutes=i)
        Cdr.create(call_id=f"p{i}", caller="100", callee=f"{1000 + i}", start=start, end=start,
                   disposition="no_answer")
    first = admin.get("/calls/history?caller=100")
    assert ">1204<" in first.text and ">1004<" not in first.text
    older = re.search(r'href="([^"]*offset=200[^"]*)"', first.text).group(1).replace("&amp;", "&")
    second = admin.get(older)
    assert ">1004<" in second.text and ">1204<" not in second.text and "Newer calls" in second.text
    assert admin.get("/calls").text.count('http-equiv="refresh"') == 1


def test_csv_export_has_every_matching_call(web, admin):
    from appliance.cdr import queries

    Cdr.delete().execute()
    t0 = dt.datetime(2026, 6, 1, 8, 0, 0)
    total = queries.HISTORY_LIMIT_MAX + 5
    Cdr.insert_many([{"call_id": f"c{i}", "caller": "100", "callee": "101", "start": t0 + dt.timedelta(seconds=i),
                      "end": t0 + dt.timedelta(seconds=i), "disposition": "answered"} for i in range(total)]).execute()
    lines = admin.get("/calls/history.csv").text.strip().splitlines()
    assert len(lines) == total + 1


def test_a_real_bug_on_a_page_shows_an_error_page_without_traceback(web):
    from webui.app import create_app

    app = create_app(web.settings)
    app.route("/boom", "GET", lambda: {}["missing"], public=True)
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/boom", "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "80",
               "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(b""), "wsgi.errors": io.StringIO(),
               "REMOTE_ADDR": "127.0.0.1", "HTTP_ACCEPT_LANGUAGE": "en"}
    seen = {}
    body = b"".join(app(environ, lambda status, headers, exc_info=None: seen.update(status=status)))
    assert seen["status"].startswith("500")
    assert b"has been logged" in body and b"Traceback" not in body and b"KeyError" not in body


def test_a_form_with_invalid_utf8_is_handled_not_a_500(web, admin):
    token = admin.csrf_token()
    body = f"csrf_token={token}&extension=380&first_name=%FF%FE&last_name=Bytes&role=user&language=en".encode()
    response = admin.request("POST", "/users/new", body, {"Content-Type": "application/x-www-form-urlencoded"})
    assert response.status in (200, 303, 400)


def test_over_https_the_session_cookie_is_secure(tmp_path):
    """A real TLS server with a throwaway self-signed certificate."""
    import ssl

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    from appliance.settings import Settings
    from appliance.store import database, open_store
    from tests.support.ports import free_port
    from webui.server import WebServer

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now)
            .not_valid_after(now + dt.timedelta(days=1)).sign(key, hashes.SHA256()))
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))

    settings = Settings(data_dir=tmp_path / "data", http_port=free_port())
    previous = database.obj  # the module's server keeps its own store: put it back afterwards
    open_store(settings)
    server = WebServer(settings, certificate=cert_path, private_key=key_path).start()
    try:
        context = ssl.create_default_context(cafile=str(cert_path))
        context.check_hostname = False
        conn = http.client.HTTPSConnection("127.0.0.1", settings.http_port, context=context, timeout=10)
        conn.request("GET", "/login")
        response = conn.getresponse()
        response.read()
        assert response.status == 200
        cookie = next(c for c in response.headers.get_all("Set-Cookie") if c.startswith("__Secure-pbx_login_csrf="))
        assert "secure" in [p.strip().lower() for p in cookie.split(";")]
        conn.close()
    finally:
        server.stop()
        database.initialize(previous)
