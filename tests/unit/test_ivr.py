"""IVR trees: validation, storage, where they name things, and the runner driven by a scripted caller."""

from __future__ import annotations

import copy
import datetime as dt
import wave
from pathlib import Path

import pytest

from appliance.callcore import prompts
from appliance.callcore.channel import HungUp
from appliance.dialplan import ivr
from appliance.dialplan.call import DialplanCall, Goto, Stop
from appliance.dialplan.models import Procedure, current_revision
from appliance.dialplan.references import where_used
from appliance.errors import Conflict, NotFound, ValidationError
from appliance.sounds.models import Sound
from appliance.users import create_user
from tests.support import audio
from tests.support.fake_channel import FakeChannel

WAIT = "~"  # in a script: the caller presses nothing until the timeout
AHEAD = "^"  # in a script: the next key was pressed before the next prompt began (typed ahead)


class KeypadCaller(FakeChannel):
    """The caller's leg. `keys` is what the caller does, in order: digits, WAIT for a silence, AHEAD.

    collect_digits reads the keys like the call core does: it stops at max_digits, at the
    terminator, or at a WAIT (the timeout). With ivr.TYPE_AHEAD_S it returns only a key marked AHEAD
    (already pressed). When the script is over the caller hangs up.
    """

    def __init__(self, keys: str):
        super().__init__(caller="x", callee="x")
        self.keys = list(keys)

    def play(self, path, loop=False, wait=True, stop_on_digit=False):
        assert self._answered, "played before answering"
        assert stop_on_digit or Path(path).stem == "goodbye", "IVR prompts stop when the caller presses a key"
        super().play(path, loop, wait, stop_on_digit)

    def collect_digits(self, max_digits, timeout, terminator="#"):
        if timeout == ivr.TYPE_AHEAD_S:
            if self.keys[:1] == [AHEAD]:
                self.keys.pop(0)
                return self.keys.pop(0)
            return ""
        got = ""
        while len(got) < max_digits:
            if not self.keys:
                if got:
                    return got
                raise HungUp(self)
            key = self.keys.pop(0)
            if key == WAIT or (terminator and key in terminator):
                return got
            got += key
        return got

    def dial(self, *args, **kwargs):
        raise AssertionError("the IVR dials nobody itself")


class Steps:
    def __init__(self):
        self.steps = []

    def step(self, event, **data):
        self.steps.append((event, data))

    def ivr(self, action):
        return [data for event, data in self.steps if event == "ivr" and data["action"] == action]


def _wav(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(b"\0\0" * 1600)


@pytest.fixture
def plan(store):
    """Users with distinct surnames, prompt sounds, and procedures the IVR may go to."""
    for extension, first, last in (("201", "Alice", "Martin"), ("202", "Bruno", "Durand"),
                                   ("203", "Chloé", "Émery"), ("204", "Denis", "Dupont"),
                                   ("205", "Eva", "Dupuis"), ("310", "Franck", "Zola")):
        create_user({"extension": extension, "first_name": first, "last_name": last})
    for name in ("welcome", "english", "french", "names"):
        Sound.create(name=name, file=f"custom/{name}.wav")
        _wav(store.sounds_dir / "custom" / f"{name}.wav")
    for name in ("sales", "support", "closed", "operator"):
        Procedure.create(name=name)
    return store


@pytest.fixture
def caller(plan, monkeypatch):
    """make(keys) -> (call, phone); system prompts and spoken names are recorded by name, not generated."""
    monkeypatch.setattr(prompts, "prompt_path", lambda settings, name, language: (
        Path(f"/prompts/{language}/{name}.wav") if name in prompts.TEXTS else pytest.fail(f"no prompt {name}")))
    said: list[str] = []

    def fake_spoken(call, text):
        said.append(text)
        return Path(f"/tts/spoken-{len(said)}.wav")

    monkeypatch.setattr(ivr, "spoken", fake_spoken)

    def make(keys: str) -> tuple[DialplanCall, KeypadCaller]:
        phone = KeypadCaller(keys)
        call = DialplanCall(channel=phone, settings=plan, trace=Steps(), caller="0611223344", caller_name="",
                            called="700", user="", procedure="main", language="en",
                            now=lambda: dt.datetime.now(dt.UTC))
        call.data["said"] = said
        return call, phone

    return make


def action(procedure: str, number: str = "", label: str = "") -> dict:
    return {"type": "action", "procedure": procedure, "number": number, "label": label}


# The manual's example: 1 language, 2 department, 3 actions.
THREE_LEVELS = {
    "type": "menu", "label": "Language", "sound": "welcome", "repeats": 2, "timeout_s": 4,
    "on_timeout": {"procedure": "operator", "number": "100"},
    "children": {
        "1": {"type": "menu", "label": "English", "sound": "english", "return_key": "*",
              "children": {"1": action("support", "111"), "2": action("sales", "222")}},
        "2": {"type": "menu", "label": "Français", "sound": "french", "return_key": "*",
              "children": {"1": action("support", "123"), "2": action("sales", "224")}},
    },
}


def _create(tree: dict, name: str = "main-menu") -> None:
    ivr.create_ivr({"name": name, "tree": copy.deepcopy(tree)})


# -- running ------------------------------------------------------------------------------------------

def test_keys_walk_three_levels_to_an_action_with_its_number(caller):
    _create(THREE_LEVELS)
    call, phone = caller("12")
    outcome = ivr.run(call, "main-menu")
    assert outcome == Goto("sales", "222", by_caller=True)
    assert phone.answered
    assert phone.heard == ["welcome", "english"]
    assert [(s["node"], s["key"]) for s in call.trace.ivr("key")] == [("root", "1"), ("1", "2")]
    assert call.trace.ivr("action") == [{"ivr": "main-menu", "node": "1/2", "action": "action",
                                         "procedure": "sales", "number": "222"}]


def test_an_action_without_number_keeps_the_called_number(caller):
    _create({"children": {"5": action("operator")}})
    call, _ = caller("5")
    assert ivr.run(call, "main-menu") == Goto("operator", None, by_caller=True)


def test_silence_replays_the_prompt_repeats_times_then_goes_to_the_timeout_destination(caller):
    _create(THREE_LEVELS)
    call, phone = caller(WAIT + WAIT)
    assert ivr.run(call, "main-menu") == Goto("operator", "100", by_caller=True)
    assert phone.heard == ["welcome", "welcome"]
    assert [s["count"] for s in call.trace.ivr("timeout")] == [1, 2]


def test_silence_without_timeout_destination_says_goodbye_and_ends_the_call(caller):
    _create({"sound": "welcome", "repeats": 3, "children": {"1": action("sales")}})
    call, phone = caller(WAIT * 3)
    assert ivr.run(call, "main-menu") == Stop()
    assert phone.heard == ["welcome", "welcome", "welcome", "goodbye"]


def test_keys_typed_ahead_skip_the_prompts_they_answer(caller):
    _create(THREE_LEVELS)
    call, phone = caller("1" + AHEAD + "2")
    assert ivr.run(call, "main-menu") == Goto("sales", "222", by_caller=True)
    assert phone.heard == ["welcome"]
    assert call.trace.ivr("typed_ahead") == [{"ivr": "main-menu", "node": "1", "action": "typed_ahead", "key": "2"}]


def test_a_key_after_one_silence_still_counts(caller):
    _create(THREE_LEVELS)
    call, phone = caller(WAIT + "22")
    assert ivr.run(call, "main-menu") == Goto("sales", "224", by_caller=True)
    assert phone.heard == ["welcome", "welcome", "french"]


def test_invalid_key_says_invalid_choice_and_plays_the_menu_again(caller):
    _create(THREE_LEVELS)
    call, phone = caller("91" + "7" + "1")
    assert ivr.run(call, "main-menu") == Goto("support", "111", by_caller=True)
    assert phone.heard == ["welcome", "invalid_choice", "welcome", "english", "invalid_choice", "english"]
    assert [s["key"] for s in call.trace.ivr("invalid")] == ["9", "7"]


def test_invalid_key_goes_to_the_invalid_destination_when_there_is_one(caller):
    tree = copy.deepcopy(THREE_LEVELS)
    tree["on_invalid"] = {"procedure": "operator", "number": ""}
    _create(tree)
    call, phone = caller("#")
    assert ivr.run(call, "main-menu") == Goto("operator", None, by_caller=True)
    assert phone.heard == ["welcome"]


def test_endless_invalid_keys_end_with_goodbye(caller):
    _create(THREE_LEVELS)
    call, phone = caller("9" * ivr.MAX_INVALID)
    assert ivr.run(call, "main-menu") == Stop()
    assert phone.heard[-1] == "goodbye"
    assert phone.heard.count("invalid_choice") == ivr.MAX_INVALID - 1


def test_return_key_goes_back_to_the_parent_menu_which_starts_again(caller):
    _create(THREE_LEVELS)
    call, phone = caller("1*21")
    assert ivr.run(call, "main-menu") == Goto("support", "123", by_caller=True)
    assert phone.heard == ["welcome", "english", "welcome", "french"]
    assert [s["node"] for s in call.trace.ivr("return")] == ["root"]


def test_the_return_key_on_the_root_is_just_an_invalid_key(caller):
    _create(THREE_LEVELS)
    call, phone = caller("*22")
    assert ivr.run(call, "main-menu") == Goto("sales", "224", by_caller=True)
    assert phone.heard == ["welcome", "invalid_choice", "welcome", "french"]


def test_caller_hanging_up_in_a_menu_ends_the_ivr_with_hungup(caller):
    _create(THREE_LEVELS)
    call, _ = caller("1")
    with pytest.raises(HungUp):
        ivr.run(call, "main-menu")


def test_a_prompt_whose_file_is_gone_is_skipped_and_the_menu_still_works(caller, plan):
    _create(THREE_LEVELS)
    (plan.sounds_dir / "custom" / "english.wav").unlink()
    call, phone = caller("11")
    assert ivr.run(call, "main-menu") == Goto("support", "111", by_caller=True)
    assert phone.heard == ["welcome"]
    assert any(event == "error" and "english" in data["message"] for event, data in call.trace.steps)


def test_unknown_ivr_goes_on_with_the_next_application(caller):
    call, phone = caller("1")
    assert ivr.run(call, "nowhere") is None
    assert ("error", {"message": "there is no IVR named 'nowhere'"}) in call.trace.steps


# -- direct extension dialling --------------------------------------------------------------------------

DIRECT = {"sound": "welcome", "direct_dial": True, "children": {"2": action("sales"), "3": action("support")}}


def test_extension_dialled_during_the_prompt_goes_to_internal_with_that_number(caller):
    _create(DIRECT)
    call, phone = caller("202" + WAIT)
    assert ivr.run(call, "main-menu") == Goto("internal", "202", by_caller=True)
    assert phone.heard == ["welcome"]
    assert call.trace.ivr("direct_dial")[0]["number"] == "202"


def test_extension_dialled_and_hash_goes_at_once_to_the_configured_procedure(caller):
    _create({**DIRECT, "direct_dial_procedure": "operator"})
    call, _ = caller("310#")
    assert ivr.run(call, "main-menu") == Goto("operator", "310", by_caller=True)


def test_a_single_digit_that_starts_an_extension_is_still_a_menu_key(caller):
    _create(DIRECT)
    call, _ = caller("2" + WAIT)
    assert ivr.run(call, "main-menu") == Goto("sales", None, by_caller=True)


def test_digits_that_are_no_extension_are_an_invalid_choice(caller):
    _create(DIRECT)
    call, phone = caller("299" + WAIT + "3" + WAIT)
    assert ivr.run(call, "main-menu") == Goto("support", None, by_caller=True)
    assert phone.heard == ["welcome", "invalid_choice", "welcome"]
    assert call.trace.ivr("invalid")[0]["key"] == "299"


def test_without_direct_dial_the_first_digit_is_the_menu_key(caller):
    _create({**DIRECT, "direct_dial": False})
    call, _ = caller("202")
    assert ivr.run(call, "main-menu") == Goto("sales", None, by_caller=True)


# -- dial by name -----------------------------------------------------------------------------------------

BY_NAME = {"sound": "welcome", "children": {
    "9": {"type": "dial_by_name", "return_key": "*", "timeout_s": 3}, "1": action("sales")}}


def test_keypad_letters_fold_accents_and_skip_punctuation():
    assert ivr.keypad_digits("Martin") == "627846"
    assert ivr.keypad_digits("Émery") == "36379"
    assert ivr.keypad_digits("Müller") == "685537"
    assert ivr.keypad_digits("Le Gall-Ñúñez") == "534255" + "68639"
    assert ivr.keypad_digits("Strauß") == "7872877"
    assert ivr.fold("Œuvré d'Ängelo") == "OEUVREDANGELO"


def test_one_name_matching_is_said_and_dialled(caller):
    _create(BY_NAME)
    call, phone = caller("9" + "363#")      # É-M-E: Émery
    assert ivr.run(call, "main-menu") == Goto("internal", "203", by_caller=True)
    assert phone.heard == ["welcome", "dial_by_name", "spoken-1"]
    assert call.data["said"] == ["Connecting you to Chloé Émery."]
    assert call.trace.ivr("name_chosen")[0]["number"] == "203"


def test_the_name_keys_may_end_with_a_silence_instead_of_hash(caller):
    _create({"type": "dial_by_name", "procedure": "operator"})
    call, _ = caller("6278" + WAIT)
    assert ivr.run(call, "main-menu") == Goto("operator", "201", by_caller=True)


def test_several_names_matching_are_offered_as_a_list(caller):
    _create(BY_NAME)
    call, phone = caller("9" + "387#" + "2")   # D-U-P: Dupont, Dupuis (Durand is 387263: D-U-R also 387!)
    outcome = ivr.run(call, "main-menu")
    said = call.data["said"]
    assert said[0] == "For Denis Dupont, press 1. For Eva Dupuis, press 2. For Bruno Durand, press 3."
    assert outcome == Goto("internal", "205", by_caller=True)
    assert said[1] == "Connecting you to Eva Dupuis."


def test_no_name_matching_says_so_and_the_caller_tries_again(caller):
    _create(BY_NAME)
    call, phone = caller("9" + "999#" + "965#")   # nobody, then Z-O-L: Zola
    assert ivr.run(call, "main-menu") == Goto("internal", "310", by_caller=True)
    assert phone.heard == ["welcome", "dial_by_name", "no_name_matches", "dial_by_name", "spoken-1"]


def test_fewer_than_three_letters_is_an_invalid_choice(caller):
    _create(BY_NAME)
    call, phone = caller("9" + "38#" + "38726#")
    assert ivr.run(call, "main-menu") == Goto("internal", "202", by_caller=True)
    assert phone.heard[:4] == ["welcome", "dial_by_name", "invalid_choice", "dial_by_name"]


def test_first_names_match_only_when_asked(caller):
    _create({"type": "dial_by_name", "attempts": 1})
    call, phone = caller("3364#")          # D-E-N-I: Denis is a first name
    assert ivr.run(call, "main-menu") == Stop()
    assert phone.heard == ["dial_by_name", "no_name_matches", "goodbye"]
    _create({"type": "dial_by_name", "first_names": True}, name="with-first")
    call, _ = caller("3364#")
    assert ivr.run(call, "with-first") == Goto("internal", "204", by_caller=True)


def test_return_key_in_dial_by_name_goes_back_to_the_menu(caller):
    _create(BY_NAME)
    call, phone = caller("9*1")
    assert ivr.run(call, "main-menu") == Goto("sales", None, by_caller=True)
    assert phone.heard == ["welcome", "dial_by_name", "welcome"]


def test_dial_by_name_gives_up_after_its_attempts_back_to_the_parent(caller):
    tree = copy.deepcopy(BY_NAME)
    tree["children"]["9"]["attempts"] = 2
    _create(tree)
    call, phone = caller("9" + WAIT + "999#" + "1")
    assert ivr.run(call, "main-menu") == Goto("sales", None, by_caller=True)
    assert phone.heard == ["welcome", "dial_by_name", "dial_by_name", "no_name_matches", "welcome"]


def test_a_choice_outside_the_list_asks_again(caller):
    _create({"type": "dial_by_name", "attempts": 2, "on_timeout": {"procedure": "operator"}})
    call, _ = caller("387#" + "7" + "387#" + WAIT)
    assert ivr.run(call, "main-menu") == Goto("operator", None, by_caller=True)
    assert len(call.data["said"]) == 2   # the list, twice


def test_more_than_nine_matches_asks_for_more_letters(caller, plan):
    for i, letter in enumerate("abcdefghij"):
        create_user({"extension": f"40{i}", "first_name": "Paul", "last_name": f"Bernard{letter}"})
    _create({"type": "dial_by_name"})
    call, _ = caller("2376#" + "23762735#")   # B-E-R-N, then B-E-R-N-A-R-D-J
    assert ivr.run(call, "main-menu") == Goto("internal", "409", by_caller=True)
    assert call.data["said"] == ["Too many names match. Enter more letters, then hash.",
                                 "Connecting you to Paul Bernardj."]


def test_spoken_names_are_real_speech_made_once(plan):
    call = DialplanCall(channel=KeypadCaller(""), settings=plan, trace=Steps(), caller="", caller_name="",
                        called="", user="", procedure="main", language="fr", now=lambda: dt.datetime.now(dt.UTC))
    first = ivr.spoken(call, ivr.phrase(call, "connecting", name="Chloé Émery"))
    assert first.is_file() and not audio.is_silent(first)
    stamp = first.stat().st_mtime_ns
    again = ivr.spoken(call, "Je vous mets en relation avec Chloé Émery.")
    assert again == first and again.stat().st_mtime_ns == stamp


# -- validation -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("tree, field", [
    ({"children": {"1": {"type": "action"}}}, "tree.children.1.procedure"),
    ({"children": {"1": {"children": {"2": {"type": "action", "number": "12"}}}}},
     "tree.children.1.children.2.procedure"),
    ({"children": {"1": action("nowhere")}}, "tree.children.1.procedure"),
    ({"sound": "missing"}, "tree.sound"),
    ({"children": {"1": {"sound": "missing"}}}, "tree.children.1.sound"),
    ({"children": {"A": action("sales")}}, "tree.children.A"),
    ({"children": {"12": action("sales")}}, "tree.children.12"),
    ({"children": {"1": {"return_key": "*", "children": {"*": action("sales")}}}}, "tree.children.1.children.*"),
    ({"return_key": "*"}, "tree.return_key"),
    ({"children": {"1": {"return_key": "x"}}}, "tree.children.1.return_key"),
    ({"children": {"1": {"type": "dial_by_name", "return_key": "2"}}}, "tree.children.1.return_key"),
    ({"type": "action", "procedure": "sales"}, "tree.type"),
    ({"children": {"1": {"type": "queue"}}}, "tree.children.1.type"),
    ({"repeats": 0}, "tree.repeats"),
    ({"repeats": 11}, "tree.repeats"),
    ({"repeats": "three"}, "tree.repeats"),
    ({"timeout_s": 0}, "tree.timeout_s"),
    ({"timeout_s": 61}, "tree.timeout_s"),
    ({"children": {"9": {"type": "dial_by_name", "timeout_s": 31}}}, "tree.children.9.timeout_s"),
    ({"children": {"9": {"type": "dial_by_name", "attempts": 6}}}, "tree.children.9.attempts"),
    ({"on_timeout": {"procedure": "nowhere"}}, "tree.on_timeout.procedure"),
    ({"on_timeout": {"number": "100"}}, "tree.on_timeout.procedure"),
    ({"on_invalid": {"procedure": "sales", "number": "1a"}}, "tree.on_invalid.number"),
    ({"on_invalid": {"procedure": "sales", "queue": "x"}}, "tree.on_invalid.queue"),
    ({"direct_dial": "yes"}, "tree.direct_dial"),
    ({"direct_dial_procedure": "nowhere"}, "tree.direct_dial_procedure"),
    ({"colour": "blue"}, "tree.colour"),
    ({"children": {"1": {"type": "action", "procedure": "sales", "children": {}}}}, "tree.children.1.children"),
    ({"label": "x" * 65}, "tree.label"),
    ({"children": []}, "tree.children"),
    ("menu", "tree"),
])
def test_bad_trees_are_refused_naming_the_node_field(plan, tree, field):
    with pytest.raises(ValidationError) as caught:
        ivr.create_ivr({"name": "bad", "tree": tree})
    assert caught.value.field == field
    assert ivr.Ivr.select().count() == 0


def test_depth_and_size_are_limited(plan):
    deep: dict = {"children": {}}
    node = deep
    for _ in range(ivr.MAX_DEPTH - 1):
        node["children"]["1"] = {"children": {}}
        node = node["children"]["1"]
    ivr.create_ivr({"name": "deep-ok", "tree": copy.deepcopy(deep)})
    node["children"]["1"] = action("sales")
    with pytest.raises(ValidationError) as caught:
        ivr.create_ivr({"name": "too-deep", "tree": deep})
    assert caught.value.field == "tree" + ".children.1" * (ivr.MAX_DEPTH - 1) + ".children"

    wide = {"children": {k: {"children": {j: action("sales") for j in ivr.KEYS}} for k in ivr.KEYS}}
    assert sum(1 for _ in ivr.walk(wide)) < ivr.MAX_NODES
    third = {"children": {k: copy.deepcopy(wide) for k in ivr.KEYS}}
    with pytest.raises(ValidationError) as caught:
        ivr.create_ivr({"name": "too-big", "tree": third})
    assert "at most" in caught.value.message


def test_stored_tree_has_every_field_filled_in(plan):
    row = ivr.create_ivr({"name": "filled", "tree": {"children": {"1": action("sales"),
                                                                  "#": {"type": "dial_by_name"}}}})
    assert row.tree["repeats"] == 3 and row.tree["timeout_s"] == 5 and row.tree["return_key"] == ""
    assert row.tree["on_timeout"] == {"procedure": "", "number": ""}
    assert list(row.tree["children"]) == ["1", "#"]
    assert row.tree["children"]["#"] == ivr.NAME_DEFAULTS


# -- storage ------------------------------------------------------------------------------------------

def test_create_without_tree_gets_an_empty_root_menu_and_moves_the_dialplan_revision(plan):
    before = current_revision()
    row = ivr.create_ivr({"name": "reception", "description": "Front desk"})
    assert row.tree == ivr.default_tree()
    assert current_revision() == before + 1
    assert ivr.to_public(row)["used_by"] == []


@pytest.mark.parametrize("data, field", [
    ({}, "name"), ({"name": "Bad Name"}, "name"), ({"name": "x", "colour": 1}, "colour"),
    ({"name": "x", "description": "d" * 256}, "description"), ({"name": "x", "description": 3}, "description"),
])
def test_create_refuses_bad_fields(plan, data, field):
    with pytest.raises(ValidationError) as caught:
        ivr.create_ivr(data)
    assert caught.value.field == field


def test_names_are_unique_and_immutable_and_revisions_refuse_stale_edits(plan):
    ivr.create_ivr({"name": "reception"})
    with pytest.raises(ValidationError) as caught:
        ivr.create_ivr({"name": "reception"})
    assert caught.value.field == "name"
    with pytest.raises(ValidationError):
        ivr.update_ivr("reception", {"name": "other"})
    before = current_revision()
    row = ivr.update_ivr("reception", {"revision": 1, "tree": THREE_LEVELS, "description": "Desk"})
    assert (row.revision, row.description, row.tree["children"]["2"]["label"]) == (2, "Desk", "Français")
    assert current_revision() == before + 1
    with pytest.raises(Conflict) as stale:
        ivr.update_ivr("reception", {"revision": 1, "description": "late"})
    assert stale.value.field == "revision"
    assert ivr.get_ivr("reception").description == "Desk"
    with pytest.raises(ValidationError) as bad:
        ivr.update_ivr("reception", {"tree": {"children": {"1": {"type": "action"}}}})
    assert bad.value.field == "tree.children.1.procedure"
    assert ivr.get_ivr("reception").revision == 2
    with pytest.raises(NotFound):
        ivr.update_ivr("nowhere", {})


def test_delete_is_refused_while_a_procedure_runs_the_ivr(plan):
    _create(THREE_LEVELS)
    users = Procedure.get(Procedure.name == "users")
    users.numbers = [{"number": "700", "comment": "", "apps": [{"app": "ivr", "ivr": "main-menu"}]}]
    users.save()
    with pytest.raises(Conflict) as caught:
        ivr.delete_ivr("main-menu")
    assert "procedure users, number 700" in caught.value.message
    users.numbers = []
    users.save()
    ivr.delete_ivr("main-menu")
    with pytest.raises(NotFound):
        ivr.get_ivr("main-menu")


def test_where_used_names_the_nodes_using_a_procedure_or_sound(plan):
    tree = copy.deepcopy(THREE_LEVELS)
    tree["children"]["2"]["on_invalid"] = {"procedure": "sales", "number": ""}
    tree["children"]["3"] = {"type": "dial_by_name", "procedure": "sales", "sound": "names"}
    tree["direct_dial"], tree["direct_dial_procedure"] = True, "sales"
    _create(tree)
    assert where_used("procedure", "sales") == [
        "IVR main-menu, root (direct dial)", "IVR main-menu, node 1/2 (action)",
        "IVR main-menu, node 2 (invalid key)", "IVR main-menu, node 2/2 (action)",
        "IVR main-menu, node 3 (dial by name)"]
    assert where_used("procedure", "operator") == ["IVR main-menu, root (timeout)"]
    assert where_used("sound", "french") == ["IVR main-menu, node 2 (prompt)"]
    assert where_used("sound", "names") == ["IVR main-menu, node 3 (prompt)"]
    assert ivr.references(ivr.get_ivr("main-menu").tree, "ivr", "main-menu") == []


# -- API and pages (a real web server; keep these last: they hold the store for the module) -------------

@pytest.fixture(scope="module")
def web(tmp_path_factory):
    from tests.support.browser import STRONG, first_login, running_web

    running = running_web(tmp_path_factory.mktemp("ivrweb"))
    running.browser = first_login(running, STRONG)
    running.api = running.client()
    assert running.api.api_login("admin", STRONG).status == 200
    Sound.create(name="welcome", file="custom/welcome.wav")
    yield running
    running.stop()


def test_api_create_read_change_and_delete_an_ivr(web):
    api = web.api
    created = api.api("POST", "/api/v1/dialplan/ivrs", {"name": "reception", "description": "Desk"})
    assert created.status == 201
    assert created.header("Location") == "/api/v1/dialplan/ivrs/reception"
    body = created.json()
    assert (body["name"], body["revision"], body["tree"]["type"], body["used_by"]) == ("reception", 1, "menu", [])

    assert api.api("POST", "/api/v1/dialplan/procedures", {"name": "sales"}).status == 201
    tree = {"sound": "welcome", "children": {"1": {"type": "action", "procedure": "sales", "number": "222"},
                                             "2": {"type": "menu", "return_key": "*"}}}
    saved = api.api("PUT", "/api/v1/dialplan/ivrs/reception", {"tree": tree, "revision": 1})
    assert saved.status == 200, saved.text
    assert saved.json()["tree"]["children"]["1"]["number"] == "222"
    assert saved.json()["revision"] == 2

    stale = api.api("PUT", "/api/v1/dialplan/ivrs/reception", {"description": "late", "revision": 1})
    assert stale.status == 409 and stale.json()["field"] == "revision"

    listed = api.api("GET", "/api/v1/dialplan/ivrs")
    assert [i["name"] for i in listed.json()] == ["reception"]
    assert api.api("GET", "/api/v1/dialplan/ivrs/reception").json()["description"] == "Desk"
    assert api.api("GET", "/api/v1/dialplan/ivrs/nowhere").status == 404

    users = api.api("GET", "/api/v1/dialplan/procedures/users").json()
    numbers = [{"number": "700", "apps": [{"app": "ivr", "ivr": "reception"}]}]
    assert api.api("PUT", "/api/v1/dialplan/procedures/users",
                   {"numbers": numbers, "revision": users["revision"]}).status == 200
    refused = api.api("DELETE", "/api/v1/dialplan/ivrs/reception")
    assert refused.status == 409
    assert "procedure users, number 700" in refused.json()["message"]
    assert api.api("GET", "/api/v1/dialplan/ivrs/reception").json()["used_by"] == [
        "procedure users, number 700, application 1"]
    in_use = api.api("DELETE", "/api/v1/dialplan/procedures/sales")
    assert in_use.status == 409 and "IVR reception, node 1 (action)" in in_use.json()["message"]

    users = api.api("GET", "/api/v1/dialplan/procedures/users").json()
    api.api("PUT", "/api/v1/dialplan/procedures/users", {"numbers": [], "revision": users["revision"]})
    assert api.api("DELETE", "/api/v1/dialplan/ivrs/reception").status == 204
    assert api.api("GET", "/api/v1/dialplan/ivrs/reception").status == 404


@pytest.mark.parametrize("body, field", [
    ({"name": "bad", "tree": {"children": {"1": {"type": "action"}}}}, "tree.children.1.procedure"),
    ({"name": "bad", "tree": {"children": {"1": {"return_key": "#", "children": {"#": {"type": "menu"}}}}}},
     "tree.children.1.children.#"),
    ({"name": "bad", "tree": {"sound": "nope"}}, "tree.sound"),
    ({"name": "Bad"}, "name"),
    ({"name": "bad", "extra": 1}, "extra"),
])
def test_api_refuses_a_bad_ivr_naming_the_field(web, body, field):
    response = web.api.api("POST", "/api/v1/dialplan/ivrs", body)
    assert response.status == 400
    assert response.json()["field"] == field
    assert web.api.api("GET", "/api/v1/dialplan/ivrs/bad").status == 404


def test_api_paths_are_in_the_openapi_document(web):
    doc = web.api.api("GET", "/api/v1/openapi.json").json()
    assert set(doc["paths"]["/api/v1/dialplan/ivrs"]) == {"get", "post"}
    assert {"get", "put", "delete"} <= set(doc["paths"]["/api/v1/dialplan/ivrs/{name}"])
    assert "IvrNode" in doc["components"]["schemas"]


def test_pages_list_the_ivrs_and_open_the_editor_with_its_tree_and_choices(web):
    web.api.api("POST", "/api/v1/dialplan/ivrs", {"name": "night-menu", "description": "After hours",
                                                   "tree": {"sound": "welcome"}})
    page = web.browser.get("/dialplan/ivr")
    assert page.status == 200
    assert 'href="/dialplan/ivr/night-menu"' in page.text and "After hours" in page.text
    assert 'src="/static/ivr.js"' in page.text
    editor = web.browser.get("/dialplan/ivr/night-menu")
    assert editor.status == 200
    assert 'id="ivr-data"' in editor.text and '"sound": "welcome"' in editor.text
    assert '"sounds": ["welcome"]' in editor.text and '"editable": true' in editor.text
    assert web.browser.get("/dialplan/ivr/nowhere").status == 404


def test_a_name_made_to_break_out_of_the_data_block_stays_inside_it(web):
    web.api.api("POST", "/api/v1/dialplan/ivrs", {"name": "quoted", "description": "</script><b>x</b>"})
    editor = web.browser.get("/dialplan/ivr/quoted")
    assert editor.status == 200
    assert "</script><b>" not in editor.text
