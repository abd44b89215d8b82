"""A three-level IVR through the real stack, navigated with DTMF from a registered test phone.

Configured through the API as an installer would (the manual's example):
level 1 chooses the language, level 2 the department, level 3 are actions
into the procedure "departments", whose numbers ring different users. The
IVR is number 700 of the "users" procedure (what phones' calls run). Prompts
are TTS sounds made through the sounds API. What is asserted is who rings
(the "incoming" event of that user's phone), and what the call's debug
trace says the caller did.
"""

from __future__ import annotations

import os
import time

import pytest

from tests.support import audio
from tests.support.browser import CHROMIUM, launch_chromium
from tests.support.stack import NEW_ADMIN_PASSWORD
from tests.support.stack_lab import StackLab, running_lab

PASSWORD = "Phone-Secret-Kq7w"
CALLER = "500"
# extension: (first name, last name, role in the IVR)
PEOPLE = {
    "500": ("Carl", "Appelant", "calls the IVR"),
    "201": ("Alice", "Martin", "English support (111)"),
    "202": ("Bruno", "Durand", "English sales (222)"),
    "203": ("Chloé", "Émery", "French support (333)"),
    "204": ("Denis", "Zola", "French sales (444)"),
    "205": ("Olga", "Petit", "operator: nobody chose (0)"),
}
TARGETS = ("201", "202", "203", "204", "205")
PROMPTS = {
    "ivr-welcome": "For English, press 1. Pour le français, tapez 2. To dial by name, press 9.",
    "ivr-english": "For support, press 1. For sales, press 2. To go back, press star.",
    "ivr-french": "Pour le support, tapez 1. Pour les ventes, tapez 2. Pour revenir, tapez étoile.",
}
TREE = {
    "type": "menu", "label": "Language", "sound": "ivr-welcome", "repeats": 2, "timeout_s": 2,
    "direct_dial": True, "on_timeout": {"procedure": "operator", "number": "0"},
    "children": {
        "1": {"type": "menu", "label": "English", "sound": "ivr-english", "return_key": "*", "timeout_s": 10,
              "children": {"1": {"type": "action", "label": "Support", "procedure": "departments", "number": "111"},
                           "2": {"type": "action", "label": "Sales", "procedure": "departments", "number": "222"}}},
        "2": {"type": "menu", "label": "Français", "sound": "ivr-french", "return_key": "*", "timeout_s": 10,
              "children": {"1": {"type": "action", "label": "Support", "procedure": "departments", "number": "333"},
                           "2": {"type": "action", "label": "Ventes", "procedure": "departments", "number": "444"}}},
        "9": {"type": "dial_by_name", "label": "Directory", "timeout_s": 4, "attempts": 2},
    },
}
# A first digit that starts an extension (2 -> 20x) waits this long for more digits at the root.
DIRECT_DIAL_WINDOW_S = 2.0


class Lab(StackLab):
    def call_ivr(self) -> tuple[float, int]:
        """Carl calls the IVR; returns once the IVR answered (its prompt is playing).

        The phone records what Carl hears: that also keeps the test phone's audio clock
        running, without which a pjsua2 phone that sends no audio may hold a digit back.
        """
        since = time.monotonic()
        phone = self.phones[CALLER]
        call = phone.call(f"sip:700@127.0.0.1:{self.stack.settings.sip_port}")
        self.heard = self.tmp / f"heard-{len(list(self.tmp.iterdir()))}.wav"
        phone.record(self.heard, call=call)
        phone.wait_for("confirmed", 10, call=call)
        return since, call

    def keys(self, digits: str, call: int, pause: float = 0.6) -> None:
        """Press keys one at a time, as a person does."""
        for digit in digits:
            self.phones[CALLER].send_dtmf(digit, call=call)
            time.sleep(pause)

    def rang(self, since: float) -> list[str]:
        return [ext for ext in TARGETS for e in self.phones[ext].saw("incoming") if e["t"] > since]

    def wait_ring(self, extension: str, since: float, timeout: float = 20) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = [e for e in self.phones[extension].saw("incoming") if e["t"] > since]
            if found:
                assert self.rang(since) == [extension], f"others rang too: {self.rang(since)}"
                assert found[0]["remote_number"] == CALLER
                return found[0]
            time.sleep(0.05)
        raise AssertionError(f"{extension} did not ring; rang: {self.rang(since)}; IVR steps: {self.ivr_steps()}")

    def ivr_steps(self) -> list[dict]:
        """The "ivr" steps of the caller's call in progress, from the debug trace API."""
        calls = [c for c in self.request("GET", "/api/v1/dialplan/traces")
                 if c["live"] and c["caller"] == CALLER and c["callee"] == "700"]
        assert len(calls) == 1, calls
        trace = self.request("GET", "/api/v1/dialplan/traces/" + calls[0]["call_id"])
        return [s for s in trace["steps"] if s["event"] == "ivr"]

    def end(self, call: int, extension: str, event: dict) -> None:
        """The caller hangs up while the user's phone rings; it stops ringing."""
        self.phones[CALLER].stop_recording(call=call)
        self.phones[CALLER].hangup(call=call)
        self.phones[CALLER].wait_for("disconnected", 10, call=call)
        self.phones[extension].wait_for("disconnected", 10, call=event["call"])


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    heard = tmp_path_factory.mktemp("ivr-heard")

    def configure(lab: Lab) -> None:
        lab.tmp = heard
        for name, text in PROMPTS.items():
            lab.request("POST", "/api/v1/sounds/tts", {"name": name, "text": text, "language": "en"}, 201)
        lab.request("POST", "/api/v1/dialplan/procedures", {
            "name": "departments", "description": "What the IVR's actions reach",
            "numbers": [{"number": number, "apps": [{"app": "dial_users", "extensions": [ext]}]}
                        for number, ext in (("111", "201"), ("222", "202"), ("333", "203"), ("444", "204"))]},
            201)
        lab.request("POST", "/api/v1/dialplan/procedures", {
            "name": "operator", "numbers": [{"number": "0", "apps": [{"app": "dial_users", "extensions": ["205"]}]}]},
            201)
        lab.request("POST", "/api/v1/dialplan/ivrs", {"name": "main-menu", "description": "Three levels",
                                                       "tree": TREE}, 201)
        lab.request("PUT", "/api/v1/dialplan/procedures/users", {"numbers": [
            {"number": "700", "comment": "IVR", "apps": [{"app": "ivr", "ivr": "main-menu"}]}]})

    people = [(ext, first, last) for ext, (first, last, _) in PEOPLE.items()]
    with running_lab(Lab, tmp_path_factory.mktemp("ivr") / "data", people, PASSWORD, configure) as lab:
        yield lab


def test_language_then_department_rings_that_departments_user(lab):
    since, call = lab.call_ivr()
    time.sleep(1.5)
    lab.keys("1", call, pause=1.5)             # English
    lab.keys("2", call)                        # sales
    event = lab.wait_ring("202", since)
    assert [(s["node"], s["key"]) for s in lab.ivr_steps() if s["action"] == "key"] == [("root", "1"), ("1", "2")]
    lab.end(call, "202", event)
    assert not audio.is_silent(lab.heard, skip_seconds=0.2)   # Carl heard the menus


def test_a_key_that_also_starts_extensions_is_still_the_menu_choice(lab):
    since, call = lab.call_ivr()
    lab.keys("2", call, pause=DIRECT_DIAL_WINDOW_S + 1)   # French: 2 also starts 201..205
    lab.keys("1", call)                                   # support
    lab.end(call, "203", lab.wait_ring("203", since))


def test_silence_plays_the_menu_again_then_goes_to_the_operator(lab):
    since, call = lab.call_ivr()
    event = lab.wait_ring("205", since, timeout=40)
    steps = lab.ivr_steps()
    assert [s["action"] for s in steps] == ["prompt", "timeout", "prompt", "timeout", "on_timeout"]
    lab.end(call, "205", event)


def test_invalid_key_then_the_caller_chooses_again(lab):
    since, call = lab.call_ivr()
    lab.keys("7", call, pause=1.5)
    lab.keys("11", call)
    event = lab.wait_ring("201", since)
    invalid = [s for s in lab.ivr_steps() if s["action"] == "invalid"]
    assert [(s["node"], s["key"]) for s in invalid] == [("root", "7")]
    lab.end(call, "201", event)


def test_return_key_goes_back_to_the_language_menu(lab):
    since, call = lab.call_ivr()
    lab.keys("1*", call)                                  # English, then back
    lab.keys("2", call, pause=DIRECT_DIAL_WINDOW_S + 1)   # French
    lab.keys("2", call)                                   # sales
    event = lab.wait_ring("204", since)
    steps = lab.ivr_steps()
    assert [(s["node"], s.get("key")) for s in steps if s["action"] in ("key", "return")] == [
        ("root", "1"), ("1", "*"), ("root", None), ("root", "2"), ("2", "2")]
    lab.end(call, "204", event)


def test_an_extension_dialled_while_the_welcome_prompt_plays_rings_that_user(lab):
    since, call = lab.call_ivr()
    lab.keys("204", call, pause=0.3)      # the welcome prompt lasts several seconds
    event = lab.wait_ring("204", since)
    steps = lab.ivr_steps()
    assert [s["number"] for s in steps if s["action"] == "direct_dial"] == ["204"]
    assert not [s for s in steps if s["action"] == "timeout"]
    lab.end(call, "204", event)


@pytest.mark.parametrize("letters, extension", [("36379", "203"), ("965", "204"), ("6278", "201")])
def test_dial_by_name_rings_the_user_whose_surname_was_typed(lab, letters, extension):
    since, call = lab.call_ivr()                 # É-M-E-R-Y, Z-O-L, M-A-R-T
    lab.keys("9", call, pause=1.0)
    lab.keys(letters + "#", call, pause=0.3)
    event = lab.wait_ring(extension, since, timeout=30)
    chosen = [s for s in lab.ivr_steps() if s["action"] == "name_chosen"]
    assert [s["number"] for s in chosen] == [extension]
    lab.end(call, extension, event)


# -- the tree editor in a browser ----------------------------------------------------------------------------

@pytest.mark.browser
@pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian's chromium is not installed")
def test_editor_builds_a_tree_shows_the_error_at_its_node_and_saves(lab):
    from playwright.sync_api import expect, sync_playwright

    url = lab.stack.web_url
    with sync_playwright() as p:
        browser = launch_chromium(p)
        page = browser.new_context(locale="en-US").new_page()
        try:
            page.goto(url + "/login")
            page.fill("#username", "admin")
            page.fill("#password", NEW_ADMIN_PASSWORD)
            page.click("button[type=submit]:has-text('Log in')")
            page.goto(url + "/dialplan/ivr")
            expect(page.locator("#ivrs tr[data-name='main-menu']")).to_contain_text("procedure users, number 700")

            page.fill("#ni-name", "web-made")
            page.fill("#ni-description", "Made in the browser")
            page.click("#new-ivr button[type=submit]")
            page.wait_for_url("**/dialplan/ivr/web-made")

            # Root: a prompt, then a sub-node under key 1 left without its procedure.
            page.select_option("#ivr-f-sound", "ivr-welcome")
            page.select_option("#ivr-add-key", "1")
            page.select_option("#ivr-add-type", "action")
            page.click("#ivr-add")
            page.click("#ivr-save")
            error = page.locator("[data-error-for='procedure']")
            expect(error).to_be_visible()
            expect(error).to_have_text("is required: the procedure the call goes to")
            expect(page.locator("[data-node='1'][data-has-error]")).to_be_visible()

            page.select_option("#ivr-f-procedure", "departments")
            page.fill("#ivr-f-number", "111")
            page.click("#ivr-save")
            expect(page.locator("#ivr-saved")).to_be_visible()
        finally:
            browser.close()
    saved = lab.request("GET", "/api/v1/dialplan/ivrs/web-made")
    assert saved["description"] == "Made in the browser"
    assert saved["tree"]["sound"] == "ivr-welcome"
    assert saved["tree"]["children"]["1"] | {"label": ""} == {
        "type": "action", "label": "", "procedure": "departments", "number": "111"}
    lab.request("DELETE", "/api/v1/dialplan/ivrs/web-made", expect=204)
