"""The JSON API on a real cheroot server: contract, roles, bad input (Kamailio absent)."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import sys
import threading

import pytest

from appliance.auth import sessions
from appliance.cdr import Cdr
from appliance.users import User
from tests.support.browser import STRONG, running_web

ALICE = {"extension": "200", "first_name": "Alice", "last_name": "Martin", "email": "alice@example.com"}


@pytest.fixture(scope="module")
def web(tmp_path_factory):
    running = running_web(tmp_path_factory.mktemp("webapi"))
    client = running.client()
    assert client.api("POST", "/api/v1/session/password", {
        "username": "admin", "current_password": running.admin_password, "new_password": STRONG}).status == 200
    yield running
    running.stop()


@pytest.fixture(autouse=True)
def no_lockout():
    """Tests share one source address: start each with no failed logins."""
    yield
    sessions.clear_failures("127.0.0.1")


@pytest.fixture
def admin(web):
    client = web.client()
    assert client.api_login("admin", STRONG).status == 200
    return client


def _count_users() -> int:
    return User.select().count()


def _login_as(web, admin, extension: str, role: str):
    admin.api("POST", "/api/v1/users", {"extension": extension, "first_name": role.title(), "last_name": "Test",
                                        "role": role, "web_password": STRONG})
    client = web.client()
    assert client.api_login(extension, STRONG).status == 200
    return client


# -- sessions and first login ---------------------------------------------------------

def test_when_admin_has_one_time_password_then_session_is_refused_until_changed(tmp_path):
    fresh = running_web(tmp_path / "data")
    try:
        client = fresh.client()
        response = client.api("POST", "/api/v1/session", {"username": "admin", "password": fresh.admin_password})
        assert response.status == 403
        assert response.json()["error"] == "password_change_required"
        assert "token" not in response.json()

        weak = client.api("POST", "/api/v1/session/password", {
            "username": "admin", "current_password": fresh.admin_password, "new_password": "alllowercase12"})
        assert weak.status == 400 and weak.json()["field"] == "new_password"

        ok = client.api("POST", "/api/v1/session/password", {
            "username": "admin", "current_password": fresh.admin_password, "new_password": STRONG})
        assert ok.status == 200
        assert client.api("POST", "/api/v1/session", {"username": "admin", "password": fresh.admin_password}).status == 401
        response = client.api_login("admin", STRONG)
        assert response.status == 200 and response.json()["token"]
        assert client.api("GET", "/api/v1/users").status == 200
    finally:
        fresh.stop()


def test_bad_credentials_get_401_and_unknown_token_gets_401(web):
    client = web.client()
    response = client.api("POST", "/api/v1/session", {"username": "admin", "password": "Wrong-Password-1"})
    assert response.status == 401 and response.json()["error"] == "bad_credentials"
    client.token = "not-a-token"
    response = client.api("GET", "/api/v1/users")
    assert response.status == 401 and response.json()["error"] == "unauthorized"


def test_when_too_many_failures_then_login_is_throttled_with_429(web):
    client = web.client()
    for _ in range(sessions.LOGIN_FAILURES):
        assert client.api("POST", "/api/v1/session", {"username": "admin", "password": "Nope-nope-123"}).status == 401
    # Even the right password is refused while the source is locked out.
    response = client.api("POST", "/api/v1/session", {"username": "admin", "password": STRONG})
    assert response.status == 429 and response.json()["error"] == "too_many_requests"
    assert response.header("Retry-After")


def test_logout_ends_the_token(web, admin):
    assert admin.api("DELETE", "/api/v1/session").status == 200
    assert admin.api("GET", "/api/v1/users").status == 401


# -- roles ------------------------------------------------------------------------------

def test_user_role_token_gets_403_on_users_and_everything_admin(web, admin):
    client = _login_as(web, admin, "210", "user")
    for method, path in [("GET", "/api/v1/users"), ("GET", "/api/v1/users/210"), ("GET", "/api/v1/cdr"),
                         ("GET", "/api/v1/calls"), ("GET", "/api/v1/registrations"), ("GET", "/api/v1/bans"),
                         ("GET", "/api/v1/users/210/sip_password")]:
        response = client.api(method, path)
        assert response.status == 403, path
        assert response.json()["error"] == "forbidden"
    assert client.api("POST", "/api/v1/users", dict(ALICE, extension="219")).status == 403
    assert client.api("DELETE", "/api/v1/users/210").status == 403
    assert User.get_or_none(User.extension == "219") is None


def test_technician_reads_users_but_cannot_change_them_or_reveal_passwords(web, admin):
    client = _login_as(web, admin, "211", "technician")
    assert client.api("GET", "/api/v1/users").status == 200
    assert client.api("GET", "/api/v1/users/211/sip_password").status == 403
    assert client.api("POST", "/api/v1/users", dict(ALICE, extension="218")).status == 403
    assert client.api("PUT", "/api/v1/users/211", {"role": "admin"}).status == 403
    assert User.get(User.extension == "211").role == "technician"


@pytest.mark.parametrize("method, path", [
    ("GET", "/api/v1/users"), ("POST", "/api/v1/users"), ("GET", "/api/v1/users/200"),
    ("PUT", "/api/v1/users/200"), ("DELETE", "/api/v1/users/200"), ("GET", "/api/v1/users/200/sip_password"),
    ("GET", "/api/v1/registrations"), ("GET", "/api/v1/calls"), ("GET", "/api/v1/cdr"), ("GET", "/api/v1/bans"),
    ("DELETE", "/api/v1/bans/192.0.2.1"), ("GET", "/api/v1/status"), ("DELETE", "/api/v1/session"),
    ("GET", "/api/v1/settings"), ("PUT", "/api/v1/settings"),
])
def test_every_api_call_without_credentials_gets_401_json(web, method, path):
    response = web.client().api(method, path, {} if method in ("POST", "PUT") else None)
    assert response.status == 401
    assert response.header("Content-Type").startswith("application/json")
    assert response.json()["error"] == "unauthorized"


# -- users CRUD ----------------------------------------------------------------------------

def test_user_crud_with_generated_sip_password_shown_once(web, admin):
    created = admin.api("POST", "/api/v1/users", ALICE)
    assert created.status == 201, created.text
    body = created.json()
    assert body["extension"] == "200" and len(body["sip_password"]) >= 12
    assert created.header("Location") == "/api/v1/users/200"

    fetched = admin.api("GET", "/api/v1/users/200").json()
    assert fetched["first_name"] == "Alice" and "sip_password" not in fetched
    assert all("sip_password" not in u for u in admin.api("GET", "/api/v1/users").json())
    assert [u["extension"] for u in admin.api("GET", "/api/v1/users?search=Martin").json()] == ["200"]

    revealed = admin.api("GET", "/api/v1/users/200/sip_password").json()
    assert revealed == {"extension": "200", "sip_password": body["sip_password"]}

    changed = admin.api("PUT", "/api/v1/users/200", {"last_name": "Durand", "sip_password": "New-Sip-Pass-99"})
    assert changed.status == 200 and changed.json()["last_name"] == "Durand"
    assert admin.api("GET", "/api/v1/users/200/sip_password").json()["sip_password"] == "New-Sip-Pass-99"

    assert admin.api("DELETE", "/api/v1/users/200").status == 204
    missing = admin.api("GET", "/api/v1/users/200")
    assert missing.status == 404 and missing.json()["error"] == "not_found"
    assert admin.api("DELETE", "/api/v1/users/200").status == 404


def test_admin_cannot_delete_itself(web, admin):
    admin_user = User.get(User.login == "admin")
    admin_user.extension = "299"
    admin_user.save()
    try:
        response = admin.api("DELETE", "/api/v1/users/299")
        assert response.status == 409
        assert User.get_or_none(User.login == "admin") is not None
    finally:
        admin_user.extension = None
        admin_user.save()


def test_concurrent_edit_gets_409(web, admin):
    admin.api("POST", "/api/v1/users", dict(ALICE, extension="220", email="c220@example.com"))
    revision = admin.api("GET", "/api/v1/users/220").json()["revision"]
    first = admin.api("PUT", "/api/v1/users/220", {"first_name": "Anne", "revision": revision})
    assert first.status == 200
    second = admin.api("PUT", "/api/v1/users/220", {"first_name": "Agnès", "revision": revision})
    assert second.status == 409
    assert second.json()["error"] == "conflict" and second.json()["field"] == "revision"
    assert admin.api("GET", "/api/v1/users/220").json()["first_name"] == "Anne"


@pytest.mark.parametrize("name", ["Zoë", "Łukasz", "李小龙", "Ангелина", "Søren 🎧", "José-María"])
def test_unicode_names_are_stored_and_returned_exactly(web, admin, name):
    extension = str(230 + ["Zoë", "Łukasz", "李小龙", "Ангелина", "Søren 🎧", "José-María"].index(name))
    response = admin.api("POST", "/api/v1/users", {"extension": extension, "first_name": name, "last_name": name})
    assert response.status == 201, response.text
    assert admin.api("GET", f"/api/v1/users/{extension}").json()["first_name"] == name


def test_sql_injection_in_a_name_is_stored_literally(web, admin):
    evil = "Robert'); DROP TABLE user;--"
    response = admin.api("POST", "/api/v1/users", {"extension": "240", "first_name": "Bobby", "last_name": evil})
    assert response.status == 201
    assert admin.api("GET", "/api/v1/users/240").json()["last_name"] == evil
    assert admin.api("GET", "/api/v1/users?search=" + "%27%29%3B%20DROP").status == 200
    assert _count_users() > 1


BAD_INPUTS = [
    ("duplicate extension", {"extension": "250"}, "extension"),
    ("non-numeric extension", {"extension": "12a"}, "extension"),
    ("extension as a list", {"extension": ["251"]}, "extension"),
    ("extension as a float", {"extension": 25.5}, "extension"),
    ("empty first name", {"first_name": ""}, "first_name"),
    ("blank last name", {"last_name": "   "}, "last_name"),
    ("missing last name", {"last_name": None}, "last_name"),
    ("name as a number", {"first_name": 42}, "first_name"),
    ("name as an object", {"first_name": {"a": 1}}, "first_name"),
    ("10 kB name", {"first_name": "x" * 10240}, "first_name"),
    ("HTML in a name", {"last_name": "<script>alert(1)</script>"}, "last_name"),
    ("SQL quote in email", {"email": "a'--@example.com; DROP TABLE user"}, "email"),
    ("weak SIP password", {"sip_password": "password"}, "sip_password"),
    ("SIP password without digit", {"sip_password": "NoDigitsHereAtAll"}, "sip_password"),
    ("SIP password as a number", {"sip_password": 123456789012}, "sip_password"),
    ("unknown role", {"role": "root"}, "role"),
    ("role as a list", {"role": ["admin"]}, "role"),
    ("unknown language", {"language": "tlh"}, "language"),
    ("unknown field", {"is_admin": True}, "is_admin"),
    ("control characters", {"first_name": "Al\x00ice"}, "first_name"),
]


@pytest.mark.parametrize("label, change, field", BAD_INPUTS, ids=[b[0] for b in BAD_INPUTS])
def test_bad_user_input_is_a_400_naming_the_field_and_stores_nothing(web, admin, label, change, field):
    if User.get_or_none(User.extension == "250") is None:
        assert admin.api("POST", "/api/v1/users", {"extension": "250", "first_name": "Dup", "last_name": "Licate"}).status == 201
    before = _count_users()
    data = {"extension": "252", "first_name": "Eve", "last_name": "Smith", **change}
    if change.get("last_name", "") is None:
        del data["last_name"]
    response = admin.api("POST", "/api/v1/users", data)
    assert response.status == 400, response.text
    body = response.json()
    assert body["field"] == field and body["error"] == "invalid"
    assert _count_users() == before
    # An update with the same bad value is refused too, and changes nothing.
    update = {k: v for k, v in change.items() if v is not None}
    if update and label != "duplicate extension":
        original = admin.api("GET", "/api/v1/users/250").json()
        response = admin.api("PUT", "/api/v1/users/250", update)
        assert response.status == 400 and response.json()["field"] == field
        assert admin.api("GET", "/api/v1/users/250").json() == original


def test_changing_an_extension_to_a_taken_one_is_a_400(web, admin):
    admin.api("POST", "/api/v1/users", {"extension": "253", "first_name": "A", "last_name": "B"})
    admin.api("POST", "/api/v1/users", {"extension": "254", "first_name": "C", "last_name": "D"})
    response = admin.api("PUT", "/api/v1/users/254", {"extension": "253"})
    assert response.status == 400 and response.json()["field"] == "extension"
    assert admin.api("GET", "/api/v1/users/254").json()["first_name"] == "C"


@pytest.mark.parametrize("raw, content_type, status, field", [
    (b"{not json", "application/json", 400, "body"),
    (b"[1, 2, 3]", "application/json", 400, "body"),
    (b'"a string"', "application/json", 400, "body"),
    (b"\xff\xfe\x00", "application/json", 400, "body"),
    (b"extension=300", "application/x-www-form-urlencoded", 415, None),
    (b"{}", "text/plain", 415, None),
])
def test_bodies_that_are_not_a_json_object_are_refused(web, admin, raw, content_type, status, field):
    before = _count_users()
    response = admin.api("POST", "/api/v1/users", raw=raw, content_type=content_type)
    assert response.status == status
    assert response.json()["field"] == field
    assert _count_users() == before


def test_a_1_mb_body_gets_413_json_and_the_server_keeps_working(web, admin):
    before = _count_users()
    huge = json.dumps({"extension": "260", "first_name": "x" * (1024 * 1024), "last_name": "Big"}).encode()
    response = admin.api("POST", "/api/v1/users", raw=huge)
    assert response.status == 413
    assert response.json()["error"] == "payload_too_large"
    assert _count_users() == before
    assert admin.api("GET", "/api/v1/users").status == 200


def test_a_chunked_body_is_refused_before_it_is_read(web):
    """Unauthenticated and unbounded: the server must not store it to learn its size."""
    import http.client
    import time

    conn = http.client.HTTPConnection("127.0.0.1", web.settings.http_port, timeout=10)
    conn.putrequest("POST", "/api/v1/users")
    conn.putheader("Transfer-Encoding", "chunked")
    conn.putheader("Content-Type", "application/json")
    conn.endheaders()
    chunk = b"x" * 65536
    sent = 0
    try:
        for _ in range(64):  # 4 MiB offered; the answer comes first
            conn.send(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            sent += len(chunk)
            time.sleep(0)
    except OSError:
        pass  # the server closed the connection: it did not read on
    response = conn.getresponse()
    assert response.status == 411
    assert json.loads(response.read())["error"] == "length_required"
    conn.close()


def test_unknown_api_paths_and_methods_answer_json(web, admin):
    response = admin.api("GET", "/api/v1/nothing-here")
    assert response.status == 404 and response.json()["error"] == "not_found"
    response = admin.api("PATCH", "/api/v1/users")
    assert response.status == 405 and response.json()["error"] == "method_not_allowed"


def test_a_real_bug_answers_json_500_without_traceback(web):
    """Call the WSGI app directly with a route that fails, as a bug would."""
    from webui.app import create_app

    app = create_app(web.settings)
    app.route("/api/v1/boom", "GET", lambda: 1 / 0, public=True)
    status = {}
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/api/v1/boom", "SERVER_NAME": "127.0.0.1",
               "SERVER_PORT": "80", "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(b""),
               "wsgi.errors": io.StringIO(), "REMOTE_ADDR": "127.0.0.1"}
    body = b"".join(app(environ, lambda s, h, exc_info=None: status.update(line=s, headers=h)))
    assert status["line"].startswith("500")
    assert json.loads(body)["error"] == "internal_error"
    assert b"Traceback" not in body and b"ZeroDivision" not in body


# -- SIP edge (Kamailio absent here) and calls --------------------------------------------

def test_when_kamailio_is_down_then_edge_calls_answer_503_json(web, admin):
    for path in ("/api/v1/registrations", "/api/v1/bans"):
        response = admin.api("GET", path)
        assert response.status == 503 and response.json()["error"] == "sip_edge_unreachable"
    assert admin.api("DELETE", "/api/v1/bans/192.0.2.7").status == 503
    assert admin.api("DELETE", "/api/v1/bans/not-an-ip").json()["field"] == "ip"
    status = admin.api("GET", "/api/v1/status").json()
    assert status["sip_edge"] == "down" and status["registered"] is None


def _cdr(call_id, caller, callee, start, disposition="answered", end=True, billsec=30):
    Cdr.create(call_id=call_id, caller=caller, callee=callee, start=start,
               answer=start if disposition == "answered" else None,
               end=start + dt.timedelta(seconds=billsec) if end else None, billsec=billsec if end else 0,
               disposition=disposition if end else "in_progress")


def test_calls_and_cdr_with_filters(web, admin):
    Cdr.delete().execute()
    t0 = dt.datetime(2026, 3, 1, 10, 0, 0)
    _cdr("a1", "100", "101", t0)
    _cdr("a2", "101", "102", t0 + dt.timedelta(days=1), "busy", billsec=0)
    _cdr("a3", "100", "102", t0 + dt.timedelta(days=2), "no_answer", billsec=0)
    _cdr("live", "103", "100", dt.datetime.utcnow(), end=False)

    calls = admin.api("GET", "/api/v1/calls").json()
    assert [c["call_id"] for c in calls] == ["live"] and calls[0]["end"] is None

    everything = admin.api("GET", "/api/v1/cdr").json()
    assert [c["call_id"] for c in everything] == ["a3", "a2", "a1"]
    assert set(everything[0]) >= {"caller", "callee", "start", "answer", "end", "billsec", "disposition"}
    assert [c["call_id"] for c in admin.api("GET", "/api/v1/cdr?caller=100").json()] == ["a3", "a1"]
    assert [c["call_id"] for c in admin.api("GET", "/api/v1/cdr?disposition=busy").json()] == ["a2"]
    assert [c["call_id"] for c in admin.api("GET", "/api/v1/cdr?from=2026-03-02&to=2026-03-02").json()] == ["a2"]
    assert admin.api("GET", "/api/v1/cdr?limit=1").json()[0]["call_id"] == "a3"

    for query, field in [("from=yesterday", "from"), ("disposition=maybe", "disposition"), ("limit=0", "limit"),
                         ("from=2026-03-03&to=2026-03-01", "to"), ("colour=red", "colour")]:
        response = admin.api("GET", "/api/v1/cdr?" + query)
        assert response.status == 400 and response.json()["field"] == field, query


# -- the contract document and the server ------------------------------------------------------

def test_every_api_route_is_in_the_openapi_document_and_nothing_else(web, admin):
    from webui.app import create_app

    document = web.client().api("GET", "/api/v1/openapi.json").json()
    assert document["openapi"].startswith("3.")
    documented = {(path, method.upper()) for path, item in document["paths"].items()
                  for method in item if method != "parameters"}
    app = create_app(web.settings)
    routed = {(re.sub(r"<(\w+)(:[^>]*)?>", r"{\1}", route.rule), route.method)
              for route in app.routes if route.rule.startswith("/api/")}
    assert routed == documented


def test_cheroot_serves_concurrent_requests(web, admin):
    results = []

    def fetch():
        client = web.client()
        client.token = admin.token
        results.append(client.api("GET", "/api/v1/users").status)

    threads = [threading.Thread(target=fetch) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert results == [200] * 20


def test_security_headers_on_api_answers(web, admin):
    response = admin.api("GET", "/api/v1/users")
    assert response.header("X-Content-Type-Options") == "nosniff"
    assert response.header("Cache-Control") == "no-store"


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))


def test_parallel_edits_of_one_revision_give_one_success_and_409s_never_500(web, admin):
    admin.api("POST", "/api/v1/users", {"extension": "270", "first_name": "Race", "last_name": "Condition"})
    revision = admin.api("GET", "/api/v1/users/270").json()["revision"]
    statuses = []
    barrier = threading.Barrier(8)

    def edit(n):
        client = web.client()
        client.token = admin.token
        barrier.wait()
        statuses.append(client.api("PUT", "/api/v1/users/270", {"first_name": f"Writer{n}",
                                                                 "revision": revision}).status)

    threads = [threading.Thread(target=edit, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(statuses) == [200] + [409] * 7
    assert admin.api("GET", "/api/v1/users/270").json()["revision"] == revision + 1


def test_parallel_creates_all_succeed(web, admin):
    statuses = []

    def create(n):
        client = web.client()
        client.token = admin.token
        statuses.append(client.api("POST", "/api/v1/users", {"extension": str(2800 + n), "first_name": "P",
                                                              "last_name": str(n)}).status)

    threads = [threading.Thread(target=create, args=(n,)) for n in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert statuses == [201] * 12
