"""Mail on the real appliance (`appliance run`) with real SMTP servers on loopback (aiosmtpd):
the test email action's answers (success, authentication failed, network, STARTTLS and implicit TLS
with a self-signed certificate), an alert event mailed to the admin by the web process's sender,
and a mail queued while the server is down, retried and delivered once it is up."""

from __future__ import annotations

import time

import pytest

from appliance.events import log as events
from appliance.store import close_store, open_store, secrets
from tests.support.smtp import SmtpServer
from tests.support.stack import Stack

ADMIN = "it@dupont.example"


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    running = Stack(tmp_path_factory.mktemp("mail") / "data", spare_workers=1).start()
    # This process writes events into the appliance's store as a call-core worker does.
    open_store(running.settings)
    secrets.load_key(running.settings.secret_key_path)
    yield running
    close_store()
    running.stop()


@pytest.fixture(scope="module")
def api(stack):
    return stack.admin_api()


@pytest.fixture(scope="module")
def server():
    smtp = SmtpServer().start()
    yield smtp
    smtp.stop()


def _profile(api, name: str, port: int, **fields) -> dict:
    body = {"name": name, "sender": "pbx@dupont.example", "sender_name": "Cabinet Dupont",
            "server": "127.0.0.1", "port": port, "security": "none", "helo": "pbx.dupont.example", **fields}
    status, created = api.request("POST", "/api/v1/mail/profiles", body)
    assert status == 201, created
    return created


def _test(api, name: str, to: str = "boss@dupont.example") -> dict:
    status, result = api.request("POST", f"/api/v1/mail/profiles/{name}/test", {"to": to})
    assert status == 200, result
    return result


def _wait(predicate, what: str, timeout: float = 30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


# -- bad input -------------------------------------------------------------------------------------

BAD = [
    ("sender", "pbx-at-dupont"), ("sender", "pbx@dupont..example"), ("port", 0), ("port", 70000),
    ("port", "abc"), ("security", "ssl3"), ("server", "smtp server.example"), ("server", "s" * 300),
    ("description", "d" * 5000), ("sender_name", "n" * 500), ("name", "Boîte-à-lettres"), ("name", "x" * 100),
    ("password", "p" * 1000), ("helo", "h" * 300), ("verify_tls", "no"),
]


@pytest.mark.parametrize(("field", "value"), BAD, ids=[f"{f}={str(v)[:12]}" for f, v in BAD])
def test_bad_profile_input_is_a_400_naming_the_field(api, field, value):
    body = {"name": "bad", "sender": "pbx@dupont.example", "server": "smtp.dupont.example", field: value}
    status, error = api.request("POST", "/api/v1/mail/profiles", body)
    assert status == 400 and error["field"] == field, error
    assert api.request("GET", "/api/v1/mail/profiles/bad")[0] == 404


def test_bad_admin_address_and_test_recipient_are_400s(api, server):
    status, error = api.request("PUT", "/api/v1/mail/settings", {"admin_address": "it at dupont"})
    assert status == 400 and error["field"] == "admin_address"
    _profile(api, "checks", server.port)
    status, error = api.request("POST", "/api/v1/mail/profiles/checks/test", {"to": "nobody"})
    assert status == 400 and error["field"] == "to"
    assert api.request("DELETE", "/api/v1/mail/profiles/checks")[0] == 204


# -- the test email action -------------------------------------------------------------------------

def test_test_email_is_delivered_and_the_servers_reply_shown(api, server):
    created = _profile(api, "office", server.port)
    assert created["is_default"] is True and created["has_password"] is False
    before = len(server.messages)
    result = _test(api, "office")
    assert result["ok"] is True and result["code"] == 250 and "queued as" in result["message"], result
    message = server.wait_for(before + 1)[-1]
    assert message["To"] == "boss@dupont.example" and "Test email" in message["Subject"]
    assert "Cabinet Dupont" in message["From"]


def test_wrong_password_reports_authentication_failed_with_the_servers_answer(api):
    with SmtpServer(auth={"pbx": "right-password"}) as smtp:
        _profile(api, "authed", smtp.port, username="pbx", password="wrong-password")
        result = _test(api, "authed")
        assert result["ok"] is False and result["reason"] == "auth" and result["code"] == 535, result
        assert "authentication failed" in result["message"]
        status, _ = api.request("PUT", "/api/v1/mail/profiles/authed", {"password": "right-password"})
        assert status == 200
        assert _test(api, "authed")["ok"] is True
        assert smtp.wait_for(1)[0]["Subject"].startswith("Test email")
    _, listed = api.request("GET", "/api/v1/mail/profiles/authed")
    assert listed["has_password"] is True and "password" not in listed


def test_unreachable_port_reports_network(api):
    nobody = SmtpServer()  # a free port, never started
    _profile(api, "nowhere", nobody.port)
    result = _test(api, "nowhere")
    assert result["ok"] is False and result["reason"] == "network" and "refused" in result["message"], result


@pytest.mark.parametrize("mode", ["starttls", "tls"])
def test_starttls_and_implicit_tls_with_a_self_signed_certificate(api, mode):
    with SmtpServer(auth={"pbx": "s3cret"}, tls=mode) as smtp:
        _profile(api, f"secure-{mode}", smtp.port, security=mode, username="pbx", password="s3cret")
        refused = _test(api, f"secure-{mode}")  # the certificate is verified by default
        assert refused["ok"] is False and refused["reason"] == "tls" and "self-signed" in refused["message"]
        status, _ = api.request("PUT", f"/api/v1/mail/profiles/secure-{mode}", {"verify_tls": False})
        assert status == 200
        result = _test(api, f"secure-{mode}")
        assert result["ok"] is True and result["code"] == 250, result
        assert smtp.wait_for(1)[0]["To"] == "boss@dupont.example"


# -- alerts and the queue (delivered by the web process's sender) ----------------------------------

def test_an_alert_event_is_mailed_to_the_admin(api, server):
    status, settings = api.request("PUT", "/api/v1/mail/settings", {"admin_address": ADMIN})
    assert status == 200 and settings["admin_address"] == ADMIN
    status, _ = api.request("PUT", "/api/v1/mail/profiles/office", {"is_default": True})
    assert status == 200
    before = len(server.messages)
    event = events.record("call.emergency", "201", "Emergency call from 201 to 112", destination="112")
    message = server.wait_for(before + 1, timeout=30)[-1]
    assert message["To"] == ADMIN and "call.emergency" in message["Subject"]
    body = message.get_content()
    assert f"Event #{event.id}" in body and "Emergency call from 201 to 112" in body

    def emailed():
        _, rows = api.request("GET", "/api/v1/events?kind=call.emergency")
        return [row for row in rows if row["id"] == event.id and row["emailed"]]

    _wait(emailed, "the event marked emailed")


def test_with_the_server_down_the_mail_stays_queued_is_retried_and_arrives(api):
    later = SmtpServer()  # its port is closed until started below
    _profile(api, "flaky", later.port)
    assert api.request("PUT", "/api/v1/mail/profiles/flaky", {"is_default": True})[0] == 200
    event = events.record("fraud.budget_exceeded", "outbound", "Daily outbound budget exceeded")

    def failed_once():
        _, queue = api.request("GET", "/api/v1/mail/queue")
        rows = [row for row in queue if row["purpose"] == "event" and row["reference"] == str(event.id)]
        return rows[0] if rows and rows[0]["attempts"] >= 1 else None

    row = _wait(failed_once, "a first failed attempt")
    assert row["state"] == "queued" and row["last_reason"] == "network" and row["next_attempt_at"], row
    _, failures = api.request("GET", "/api/v1/events?kind=mail.send_failed")
    assert any(f["subject"] == f"mail:{row['id']}" and f["details"]["reason"] == "network" for f in failures)
    with later:
        status, retried = api.request("POST", f"/api/v1/mail/queue/{row['id']}/retry")
        assert status == 200 and retried["state"] == "queued"
        message = later.wait_for(1, timeout=30)[0]
        assert f"Event #{event.id}" in message.get_content()
        _wait(lambda: api.request("GET", f"/api/v1/mail/queue/{row['id']}")[1]["state"] == "sent", "state sent")
    status, error = api.request("POST", f"/api/v1/mail/queue/{row['id']}/retry")
    assert status == 409
