"""The web UI over HTTPS beside HTTP (`--https-port`; the image serves 443): the appliance's own certificate,
the same pages and API, and the session cookie marked Secure only over HTTPS."""

from __future__ import annotations

import http.client
import json
import ssl

import pytest

from appliance import certificates
from tests.support.ports import free_port_block
from tests.support.stack import Stack


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    port = free_port_block(1)
    lab = Stack(tmp_path_factory.mktemp("https") / "data", spare_workers=1,
                extra_args=("--https-port", str(port))).start()
    lab.https_port = port
    yield lab
    lab.stop()


def _verified_context(stack) -> ssl.SSLContext:
    """Trust exactly the appliance's certificate (as an installer who accepted it in the browser)."""
    return ssl.create_default_context(cafile=str(certificates.paths(stack.settings).certificate))


def _login(connection, password: str) -> http.client.HTTPResponse:
    body = json.dumps({"username": "admin", "password": password})
    connection.request("POST", "/api/v1/session", body=body, headers={"Content-Type": "application/json"})
    return connection.getresponse()


def test_the_banner_names_both_addresses_and_the_certificate_names_the_appliances_address(stack):
    assert any(f"https://127.0.0.1:{stack.https_port}/" in line for line in stack.output)
    connection = http.client.HTTPSConnection("127.0.0.1", stack.https_port, context=_verified_context(stack),
                                             timeout=10)
    connection.request("GET", "/")
    answer = connection.getresponse()
    assert answer.status == 303 and "/login" in answer.getheader("Location")
    subject = dict(item[0] for item in connection.sock.getpeercert()["subject"])
    assert subject["organizationName"] == certificates.SELF_MADE


def _form_login(connection, password: str) -> str:
    """The browser's way: the login page (its CSRF cookie), the form posted; the session cookie set."""
    import re
    import urllib.parse

    connection.request("GET", "/login")
    page = connection.getresponse()
    html = page.read().decode()
    csrf_cookie = page.getheader("Set-Cookie").split(";")[0]
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    form = urllib.parse.urlencode({"username": "admin", "password": password, "csrf_token": token})
    connection.request("POST", "/login", body=form, headers={"Content-Type": "application/x-www-form-urlencoded",
                                                              "Cookie": csrf_cookie})
    answer = connection.getresponse()
    answer.read()
    assert answer.status == 303, answer.status
    return answer.getheader("Set-Cookie")


def test_cookies_are_secure_and_named_apart_over_https_and_the_api_answers_there(stack):
    stack.admin_api()  # the forced first password change done
    from tests.support.stack import NEW_ADMIN_PASSWORD

    secure = http.client.HTTPSConnection("127.0.0.1", stack.https_port, context=_verified_context(stack), timeout=10)
    plain = http.client.HTTPConnection("127.0.0.1", stack.settings.http_port, timeout=10)
    secure_cookie = _form_login(secure, NEW_ADMIN_PASSWORD)
    assert secure_cookie.startswith("__Secure-pbx_session=") and "Secure" in secure_cookie and "HttpOnly" in secure_cookie
    # A browser cannot let plain HTTP overwrite a Secure cookie of the same name: the HTTP login has its own.
    plain_cookie = _form_login(plain, NEW_ADMIN_PASSWORD)
    assert plain_cookie.startswith("pbx_session=") and "Secure" not in plain_cookie
    for connection, cookie in ((secure, secure_cookie), (plain, plain_cookie)):
        connection.request("GET", "/users", headers={"Cookie": cookie.split(";")[0]})
        page = connection.getresponse()
        page.read()
        assert page.status == 200

    answer = _login(secure, NEW_ADMIN_PASSWORD)
    token = json.loads(answer.read())["token"]
    assert answer.status == 200
    # One appliance behind both: a user added over HTTPS is there over HTTP.
    body = json.dumps({"extension": "230", "first_name": "Ada", "last_name": "Secure"})
    secure.request("POST", "/api/v1/users", body=body, headers={"Authorization": f"Bearer {token}",
                                                                 "Content-Type": "application/json"})
    created = secure.getresponse()
    assert created.status == 201, created.read()
    created.read()
    status, users = stack.admin_api().request("GET", "/api/v1/users")
    assert status == 200 and "230" in [u["extension"] for u in users]


def test_a_client_that_does_not_trust_the_certificate_is_told_so(stack):
    strict = ssl.create_default_context()  # the system's CAs only: a self-signed certificate is refused
    connection = http.client.HTTPSConnection("127.0.0.1", stack.https_port, context=strict, timeout=10)
    with pytest.raises(ssl.SSLCertVerificationError):
        connection.request("GET", "/")


def test_phones_fetch_their_files_over_https_under_the_same_prefix(stack):
    """A phone given https://.../prov/ (or a provisioning link) gets the same files as over HTTP."""
    connection = http.client.HTTPSConnection("127.0.0.1", stack.https_port, context=_verified_context(stack),
                                             timeout=10)
    connection.request("GET", "/prov/y000000000028.cfg",
                       headers={"User-Agent": "Yealink SIP-T46S 66.86.0.15 80:5e:c0:aa:bb:09"})
    answer = connection.getresponse()
    body = answer.read().decode()
    assert answer.status == 200 and "static.auto_provision.server.url" in body
