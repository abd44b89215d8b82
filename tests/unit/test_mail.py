"""Mail: SMTP profiles (validation, password at rest, default), the outgoing queue and its sender
(backoff, giving up, on_sent), admin alerts for events — against a real SMTP server on loopback."""

from __future__ import annotations

import datetime as dt

import pytest

from appliance.errors import Conflict, NotFound, ValidationError
from appliance.events import log as events
from appliance.events.models import Event
from appliance.mail import outbox, profiles
from appliance.mail.models import MailProfile, MailQueue
from appliance.mail.sender import Sender
from tests.support.smtp import SmtpServer

SENT_CALLS: list[tuple] = []


def record_sent(queue_id, purpose, reference):  # an on_sent callback: module level, importable
    SENT_CALLS.append((queue_id, purpose, reference))


@pytest.fixture
def smtp():
    server = SmtpServer().start()
    yield server
    server.stop()


def _profile(smtp_server=None, **overrides) -> MailProfile:
    data = {"name": "office", "sender": "pbx@office.example", "sender_name": "Standard Dupont",
            "server": "127.0.0.1", "port": smtp_server.port if smtp_server else 2525, "security": "none",
            "helo": "pbx.office.example"}
    data.update(overrides)
    return profiles.create_profile(data)


class Clock:
    def __init__(self):
        self.now = dt.datetime.utcnow() + dt.timedelta(seconds=1)  # rows queued now are due

    def __call__(self):
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += dt.timedelta(seconds=seconds)


# -- profiles --------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("field", "value"), [
    ("name", "Bureau é"), ("name", "x" * 65), ("name", ""), ("sender", "not-an-address"),
    ("sender", "a@b@c"), ("sender", "x" * 250 + "@b.ch"), ("server", "smtp example.com"), ("server", ""),
    ("port", 0), ("port", 65536), ("port", "587a"), ("port", True), ("security", "ssl"), ("security", None),
    ("username", "a b"), ("password", "x" * 300), ("helo", "bad helo"), ("verify_tls", "yes"),
    ("description", "d" * 256), ("sender_name", "n" * 129), ("sender_name", 'Evil" <x@y>'),
    ("is_default", 1), ("unknown_field", 1), ("has_password", True),
])
def test_bad_profile_input_names_the_field(store, field, value):
    data = {"name": "office", "sender": "pbx@office.example", "server": "smtp.example.com"}
    data[field] = value
    with pytest.raises(ValidationError) as err:
        profiles.create_profile(data)
    assert err.value.field == field
    assert not MailProfile.select().exists()


def test_unicode_is_welcome_where_it_is_text(store):
    profile = _profile(sender_name="Éloïse Müller – 総機", description="Büro Zürich")
    assert profiles.to_public(profile)["sender_name"] == "Éloïse Müller – 総機"


def test_password_is_encrypted_at_rest_and_never_shown(store):
    profile = _profile(username="pbx@office.example", password="S3cret-pass")
    row = MailProfile.get_by_id(profile.id)
    assert row.password_enc and "S3cret-pass" not in row.password_enc
    public = profiles.to_public(row)
    assert public["has_password"] is True and "password" not in public and "password_enc" not in public
    assert "S3cret-pass" not in str(public)
    # "" keeps the stored password; null removes it (and then the user must go too)
    profiles.update_profile("office", {"password": "", "description": "kept"})
    assert MailProfile.get_by_id(profile.id).password_enc == row.password_enc
    with pytest.raises(ValidationError) as err:
        profiles.update_profile("office", {"password": None})
    assert err.value.field == "password"
    profiles.update_profile("office", {"password": None, "username": ""})
    assert MailProfile.get_by_id(profile.id).password_enc is None


def test_user_and_password_go_together(store):
    with pytest.raises(ValidationError) as err:
        _profile(username="pbx")
    assert err.value.field == "password"
    with pytest.raises(ValidationError) as err:
        _profile(password="secret")
    assert err.value.field == "username"


def test_port_defaults_follow_the_security_mode(store):
    assert profiles.create_profile({"name": "a", "sender": "a@x.ch", "server": "smtp.x.ch",
                                    "security": "tls"}).port == 465
    assert profiles.create_profile({"name": "b", "sender": "a@x.ch", "server": "smtp.x.ch"}).port == 587
    assert profiles.update_profile("b", {"security": "none"}).port == 25
    assert profiles.update_profile("b", {"port": 2525, "security": "starttls"}).port == 2525


def test_one_default_profile(store):
    first = _profile(name="first")
    second = _profile(name="second")
    assert MailProfile.get_by_id(first.id).is_default and not MailProfile.get_by_id(second.id).is_default
    profiles.update_profile("second", {"is_default": True})
    assert [p.name for p in MailProfile.select().where(MailProfile.is_default == True)] == ["second"]  # noqa: E712
    with pytest.raises(ValidationError) as err:
        profiles.update_profile("second", {"is_default": False})
    assert err.value.field == "is_default"
    profiles.delete_profile("second")
    assert profiles.default_profile().name == "first"


def test_duplicate_name_stale_revision_and_unknown_profile(store):
    profile = _profile()
    with pytest.raises(Conflict):
        _profile()
    profiles.update_profile("office", {"description": "one", "revision": profile.revision})
    with pytest.raises(Conflict) as err:
        profiles.update_profile("office", {"description": "two", "revision": profile.revision})
    assert err.value.field == "revision"
    with pytest.raises(ValidationError) as err:
        profiles.update_profile("office", {"name": "other"})
    assert err.value.field == "name"
    with pytest.raises(NotFound):
        profiles.delete_profile("nope")


def test_mail_settings_validate_the_admin_address(store):
    assert profiles.get_settings()["admin_address"] == ""
    with pytest.raises(ValidationError) as err:
        profiles.update_settings({"admin_address": "admin at office"})
    assert err.value.field == "admin_address"
    with pytest.raises(ValidationError) as err:
        profiles.update_settings({"alert_severity": "info"})
    assert err.value.field == "alert_severity"
    assert profiles.update_settings({"admin_address": "it@office.example"})["admin_address"] == "it@office.example"


# -- the test action -------------------------------------------------------------------------------------

def test_send_test_reports_success_with_the_servers_reply(store, smtp):
    _profile(smtp)
    result = profiles.send_test("office", {"to": "boss@office.example"})
    assert result["ok"] is True and result["code"] == 250 and "queued as" in result["message"]
    message = smtp.wait_for(1)[0]
    assert message["To"] == "boss@office.example"
    assert "Standard Dupont" in message["From"] and "pbx@office.example" in message["From"]
    assert "Test email" in message["Subject"]


def test_send_test_to_a_closed_port_says_network(store):
    server = SmtpServer()  # a port nobody listens on
    _profile(server)
    result = profiles.send_test("office", {"to": "boss@office.example"})
    assert result["ok"] is False and result["reason"] == "network" and "refused" in result["message"]


def test_send_test_to_an_unresolvable_server_says_dns(store):
    _profile(server="smtp.nonexistent.invalid")
    result = profiles.send_test("office", {"to": "boss@office.example"})
    assert result["ok"] is False and result["reason"] == "dns"


def test_send_test_refused_recipient_shows_the_code(store):
    server = SmtpServer(refuse=["ghost@office.example"]).start()
    try:
        _profile(server)
        result = profiles.send_test("office", {"to": "ghost@office.example"})
    finally:
        server.stop()
    assert result["reason"] == "recipient" and result["code"] == 550 and "ghost@office.example" in result["message"]


def test_send_test_bad_recipient_is_a_validation_error(store):
    _profile()
    with pytest.raises(ValidationError) as err:
        profiles.send_test("office", {"to": "nobody"})
    assert err.value.field == "to"


# -- the queue -------------------------------------------------------------------------------------------

def test_queue_refuses_bad_input_and_needs_a_profile(store, tmp_path):
    with pytest.raises(outbox.MailNotConfigured):
        outbox.queue("a@b.ch", "s", "b")
    _profile()
    for args, kwargs, field in [
        (("not an address", "s", "b"), {}, "to"), ((["a@b.ch", "bad"], "s", "b"), {}, "to.1"),
        (("a@b.ch", "two\nlines", "b"), {}, "subject"),
        (("a@b.ch", "s", "b"), {"attachments": [("m.wav", tmp_path / "missing.wav", "audio/wav")]},
         "attachments.0"),
        (("a@b.ch", "s", "b"), {"attachments": [("../m.wav", b"x", "audio/wav")]}, "attachments.0"),
        (("a@b.ch", "s", "b"), {"on_sent": lambda *a: None}, "on_sent"),
        (("a@b.ch", "s", "b"), {"on_sent": "no.such.module:fn"}, "on_sent"),
    ]:
        with pytest.raises(ValidationError) as err:
            outbox.queue(*args, **kwargs)
        assert err.value.field == field
    with pytest.raises(outbox.MailNotConfigured):
        outbox.queue("a@b.ch", "s", "b", profile="other")
    assert not MailQueue.select().exists()


def test_queued_mail_with_attachment_is_delivered_and_on_sent_called(store, smtp, tmp_path):
    _profile(smtp)
    wav = tmp_path / "msg0001.wav"
    wav.write_bytes(b"RIFF" + bytes(range(256)) * 40)
    SENT_CALLS.clear()
    queue_id = outbox.queue("anna@office.example", "Nouveau message vocal de 0791234567", "Durée: 12 s",
                            attachments=[("msg0001.wav", wav, "audio/wav")], purpose="voicemail",
                            reference="200/msg0001", on_sent=record_sent)
    assert outbox.status(queue_id)["state"] == "queued"
    assert Sender(clock=Clock()).run_once() == 1
    message = smtp.wait_for(1)[0]
    assert message["Subject"] == "Nouveau message vocal de 0791234567"
    [attachment] = list(message.iter_attachments())
    assert attachment.get_filename() == "msg0001.wav" and attachment.get_content_type() == "audio/wav"
    assert attachment.get_content() == wav.read_bytes()
    status = outbox.status(queue_id)
    assert status["state"] == "sent" and status["attempts"] == 1 and "queued as" in status["server_reply"]
    assert outbox.find("voicemail", "200/msg0001")[0]["id"] == queue_id
    assert SENT_CALLS == [(queue_id, "voicemail", "200/msg0001")]
    assert MailQueue.get_by_id(queue_id).message == b""  # the bytes go once sent


def test_server_down_retries_with_backoff_then_delivers(store):
    server = SmtpServer()
    _profile(server)
    clock = Clock()
    sender = Sender(backoff=(60, 300), clock=clock)
    queue_id = outbox.queue("anna@office.example", "Alerte", "texte")
    assert sender.run_once() == 1
    status = outbox.status(queue_id)
    assert status["state"] == "queued" and status["attempts"] == 1 and status["last_reason"] == "network"
    failure = Event.get(Event.kind == "mail.send_failed")
    assert failure.subject == f"mail:{queue_id}" and failure.details["reason"] == "network"
    assert sender.run_once() == 0  # not due before its backoff
    clock.advance(61)
    assert sender.run_once() == 1
    assert outbox.status(queue_id)["attempts"] == 2
    clock.advance(120)
    assert sender.run_once() == 0  # the second wait is 300 s
    server.start()
    try:
        clock.advance(200)
        assert sender.run_once() == 1
        assert outbox.status(queue_id)["state"] == "sent"
        assert server.wait_for(1)[0]["Subject"] == "Alerte"
    finally:
        server.stop()
    assert Event.select().where(Event.kind == "mail.send_failed").count() == 2


def test_gives_up_after_a_day_and_retry_now_requeues(store, smtp):
    dead = SmtpServer()
    _profile(dead)
    clock = Clock()
    sender = Sender(backoff=(3600,), give_up_after=3 * 3600, clock=clock)
    queue_id = outbox.queue("anna@office.example", "Alerte", "texte")
    for _ in range(4):
        sender.run_once()
        clock.advance(3600)
    status = outbox.status(queue_id)
    assert status["state"] == "failed" and status["attempts"] == 4
    gave_up = Event.get(Event.kind == "mail.gave_up")
    assert gave_up.severity == "alert" and gave_up.subject == f"mail:{queue_id}"
    assert sender.run_once() == 0  # given up: no more attempts by itself
    profiles.update_profile("office", {"port": smtp.port})
    assert outbox.retry(queue_id)["state"] == "queued"
    assert sender.run_once() == 1
    assert outbox.status(queue_id)["state"] == "sent"
    with pytest.raises(Conflict):
        outbox.retry(queue_id)


def test_retry_now_of_a_mail_the_sender_claimed_meanwhile_is_a_conflict_not_a_second_send(store, monkeypatch):
    _profile()
    queue_id = outbox.queue("anna@office.example", "Alerte", "texte")
    real_get = MailQueue.get_or_none

    def sender_claims_it_meanwhile(*args, **kwargs):
        row = real_get(*args, **kwargs)
        MailQueue.update(state="sending").where(MailQueue.id == queue_id).execute()
        return row

    monkeypatch.setattr(MailQueue, "get_or_none", sender_claims_it_meanwhile)
    with pytest.raises(Conflict) as refused:
        outbox.retry(queue_id)
    assert refused.value.field == "state"
    monkeypatch.undo()
    assert outbox.status(queue_id)["state"] == "sending"  # left to the sender that holds it


def test_recording_a_sent_mail_survives_a_briefly_locked_store(store, smtp, monkeypatch, caplog):
    import peewee

    from appliance.mail import sender as sender_module

    _profile(smtp)
    monkeypatch.setattr(sender_module, "FINAL_WRITE_PAUSE_S", 0)
    queue_id = outbox.queue("anna@office.example", "s", "b")
    real_update = MailQueue.update
    failures = {"left": 2}

    class LockedOnce:
        def __init__(self, query):
            self.query = query

        def where(self, *args):
            self.query = self.query.where(*args)
            return self

        def execute(self):
            if failures["left"]:
                failures["left"] -= 1
                raise peewee.OperationalError("database is locked")
            return self.query.execute()

    def update(*args, **kwargs):
        query = real_update(*args, **kwargs)
        return LockedOnce(query) if kwargs.get("state") == "sent" else query

    monkeypatch.setattr(MailQueue, "update", update)
    assert Sender(clock=Clock()).run_once() == 1
    monkeypatch.undo()
    assert outbox.status(queue_id)["state"] == "sent" and len(smtp.messages) == 1
    # Still locked after every try: said loudly, and the row is not claimed as sent silently.
    queue_id = outbox.queue("anna@office.example", "s2", "b")
    failures["left"] = sender_module.FINAL_WRITE_TRIES
    monkeypatch.setattr(sender_module, "FINAL_WRITE_PAUSE_S", 0)
    monkeypatch.setattr(MailQueue, "update", update)
    with caplog.at_level("WARNING"), pytest.raises(peewee.OperationalError):
        Sender(clock=Clock()).run_once()
    monkeypatch.undo()
    assert outbox.status(queue_id)["state"] == "sending"
    assert any(r.levelname == "CRITICAL" and f"mail {queue_id}" in r.getMessage() for r in caplog.records)


def test_a_recipient_refused_for_good_is_given_up_at_once(store):
    server = SmtpServer(refuse=["ghost@office.example"]).start()
    try:
        _profile(server)
        queue_id = outbox.queue("ghost@office.example", "s", "b")
        Sender(clock=Clock()).run_once()
    finally:
        server.stop()
    status = outbox.status(queue_id)
    assert status["state"] == "failed" and status["last_reason"] == "recipient" and "550" in status["last_error"]


def test_a_row_left_sending_by_a_crash_is_queued_again(store, smtp):
    _profile(smtp)
    queue_id = outbox.queue("anna@office.example", "s", "b")
    MailQueue.update(state="sending").where(MailQueue.id == queue_id).execute()
    sender = Sender(poll_s=0.05).start()
    try:
        smtp.wait_for(1)
    finally:
        sender.stop()
    assert outbox.status(queue_id)["state"] == "sent"


def test_deleting_a_profile_sends_its_queued_mail_with_the_default(store, smtp):
    _profile(smtp, name="main")
    _profile(SmtpServer(), name="other")
    queue_id = outbox.queue("anna@office.example", "s", "b", profile="other")
    profiles.delete_profile("other")
    Sender(clock=Clock()).run_once()
    assert outbox.status(queue_id)["state"] == "sent"


# -- admin alerts ----------------------------------------------------------------------------------------

def test_an_alert_event_is_mailed_to_the_admin_and_marked_emailed(store, smtp):
    _profile(smtp)
    profiles.update_settings({"admin_address": "it@office.example"})
    event = events.record("fraud.budget_exceeded", "outbound", "Daily budget of 50.00 CHF exceeded", spent=51.2)
    [row] = outbox.find("event", str(event.id))
    assert row["state"] == "queued"
    Sender(clock=Clock()).run_once()
    message = smtp.wait_for(1)[0]
    assert message["To"] == "it@office.example"
    assert "fraud.budget_exceeded" in message["Subject"] and "ALERT" in message["Subject"]
    body = message.get_content()
    assert f"Event #{event.id}" in body and "Daily budget of 50.00 CHF exceeded" in body and "51.2" in body
    assert Event.get_by_id(event.id).emailed is True


def test_which_events_are_mailed(store, smtp):
    info = events.record("trunk.registered", "t1", "up")
    _profile(smtp)
    warning_without_address = events.record("trunk.unreachable", "t1", "down")
    profiles.update_settings({"admin_address": "it@office.example"})
    info = events.record("trunk.registered", "t1", "up")
    mail_failure = events.record("mail.send_failed", "mail:1", "failed")
    warning = events.record("trunk.unreachable", "t1", "down")
    profiles.update_settings({"alert_severity": "alert"})
    second_warning = events.record("trunk.unreachable", "t1", "down")
    queued = {row.reference for row in MailQueue.select()}
    assert queued == {str(warning.id)}
    assert not {str(e.id) for e in (info, mail_failure, warning_without_address, second_warning)} & queued


# -- the pages (a real cheroot server in this process) ---------------------------------------------------

def _field_error(page: str, field: str) -> str | None:
    import re

    match = re.search(rf'data-field="{field}"[^>]*>([^<]*)<', page)
    return match.group(1) if match else None


def test_mail_pages_for_an_admin_a_technician_and_a_user(tmp_path, smtp):
    from appliance.users import create_user
    from tests.support.browser import STRONG, first_login, running_web

    web = running_web(tmp_path / "web")
    try:
        admin = first_login(web)
        page = admin.get("/settings/mail")
        assert page.status == 200 and 'id="no-profiles"' in page.text and 'id="add-profile"' in page.text
        form = {"name": "office", "description": "", "sender": "pbx@office.example", "sender_name": "Büro Zürich",
                "server": "127.0.0.1", "port": "99999", "security": "none", "username": "", "password": "",
                "helo": "", "verify_tls": "1"}
        bad = admin.post_form("/settings/mail/profiles/new", form)
        assert bad.status == 400 and _field_error(bad.text, "port")
        bad = admin.post_form("/settings/mail/profiles/new", {**form, "port": "25", "sender": "nobody"})
        assert bad.status == 400 and _field_error(bad.text, "sender")
        created = admin.post_form("/settings/mail/profiles/new", {**form, "port": str(smtp.port)})
        assert created.status == 303 and created.header("Location").endswith("/settings/mail?created=office")
        page = admin.get("/settings/mail?created=office")
        assert 'data-profile="office"' in page.text and "Büro Zürich" in page.text

        tested = admin.post_form("/settings/mail/profiles/office/test", {"to": "boss@office.example"})
        assert tested.status == 200 and 'id="test-result"' in tested.text and 'data-ok="1"' in tested.text
        assert "queued as" in tested.text
        assert smtp.wait_for(1)[0]["To"] == "boss@office.example"

        edit = admin.get("/settings/mail/profiles/office/edit")
        assert edit.status == 200 and 'value="Büro Zürich"' in edit.text
        revision = MailProfile.get(MailProfile.name == "office").revision
        saved = admin.post_form("/settings/mail/profiles/office/edit",
                                {**form, "port": str(smtp.port), "username": "pbx", "password": "pw-1",
                                 "revision": str(revision)})
        assert saved.status == 303
        stored = MailProfile.get(MailProfile.name == "office")
        assert stored.password_enc and "pw-1" not in admin.get("/settings/mail/profiles/office/edit").text

        settings = admin.post_form("/settings/mail/settings", {"admin_address": "it at office", "alert_severity":
                                                               "warning"})
        assert settings.status == 400 and _field_error(settings.text, "admin_address")
        assert admin.post_form("/settings/mail/settings", {"admin_address": "it@office.example",
                                                           "alert_severity": "alert"}).status == 303

        create_user({"extension": "411", "first_name": "Tech", "last_name": "Nician", "role": "technician",
                     "web_password": STRONG})
        create_user({"extension": "412", "first_name": "Plain", "last_name": "User", "role": "user",
                     "web_password": STRONG})
        technician = web.client()
        assert technician.login("411", STRONG).status == 303
        page = technician.get("/settings/mail")
        assert page.status == 200 and 'id="read-only"' in page.text and 'id="add-profile"' not in page.text
        assert technician.post_form("/settings/mail/profiles/office/test", {"to": "x@office.example"}).status == 403
        assert technician.api_login("411", STRONG).status == 200
        assert technician.api("GET", "/api/v1/mail/profiles").status == 200
        assert technician.api("DELETE", "/api/v1/mail/profiles/office").status == 403
        user = web.client()
        assert user.login("412", STRONG).status == 303
        assert user.get("/settings/mail").status == 403

        confirm = admin.get("/settings/mail/profiles/office/delete")
        assert confirm.status == 200 and 'id="confirm-delete"' in confirm.text
        assert admin.post_form("/settings/mail/profiles/office/delete", {}).status == 303
        assert not MailProfile.select().exists()
    finally:
        web.stop()


def test_a_flood_of_warnings_is_not_a_flood_of_mails(store, smtp, monkeypatch):
    from appliance.mail import alerts

    _profile(smtp)
    profiles.update_settings({"admin_address": "it@office.example"})
    first = events.record("fraud.blocked", "201", "call to +882 refused")
    again = events.record("fraud.blocked", "201", "call to +882 refused")
    other_user = events.record("fraud.blocked", "202", "call to +882 refused")
    emergencies = [events.record("call.emergency", "201", "112") for _ in range(2)]
    queued = {row.reference for row in MailQueue.select()}
    assert queued == {str(e.id) for e in (first, other_user, *emergencies)}
    assert str(again.id) not in queued and Event.get_by_id(again.id) is not None  # still in the log

    monkeypatch.setattr(alerts, "MAX_PER_HOUR", MailQueue.select().count())
    capped = events.record("call.emergency", "203", "112")
    assert not outbox.find("event", str(capped.id))
