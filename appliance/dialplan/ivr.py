"""IVR trees: the tree format, its validation, storage (CRUD), where a tree names other objects, and the runner.

An IVR is reached through the `ivr` application of a procedure. Its tree is
stored in `Ivr.tree` (JSON), normalized by `validate_tree`: every field of
every node is present, so the runner and the UI may rely on the shape.

Tree format
-----------
The root is a node of type "menu" (or "dial_by_name"). Nodes:

"menu" -- a sub-menu: plays its prompt and waits for a key.
    {"type": "menu", "label": "",         # label: free text for people (editor, trace)
     "sound": "",                         # Sound name of the prompt ("" = no prompt, just wait)
     "repeats": 3,                        # 1..10: times the prompt is played without an answer,
     "timeout_s": 5,                      # 1..60: seconds to wait for a key after each play;
                                          #   then `on_timeout`
     "return_key": "",                    # key going back to the parent menu ("" = none; never on the root)
     "direct_dial": false,                # the caller may dial an extension while the prompt plays
     "direct_dial_procedure": "",         # where dialled extensions go ("" = "internal": ring the user)
     "on_timeout": {"procedure": "", "number": ""},  # "" = say goodbye and hang up
     "on_invalid": {"procedure": "", "number": ""},  # "" = say "invalid choice" and play the prompt again
     "children": {"1": <node>, ...}}      # keys: one of 0-9 * # (never the return key)

"action" -- ends the IVR: the call continues in a procedure.
    {"type": "action", "label": "", "procedure": "<required>", "number": ""}
    number: the new called number in that procedure ("" keeps the current one).

"dial_by_name" -- the caller types the first letters of a surname on the keypad
    (2=ABC 3=DEF 4=GHI 5=JKL 6=MNO 7=PQRS 8=TUV 9=WXYZ; accents folded, spaces
    and punctuation skipped), at least 3 keys, then # (or waits `timeout_s`).
    {"type": "dial_by_name", "label": "",
     "sound": "",                 # prompt ("" = the system prompt "dial_by_name")
     "timeout_s": 5,              # 1..30: seconds between keys
     "attempts": 3,               # 1..5: searches (or silences) before giving up
     "first_names": false,        # also match first names (after the surnames)
     "procedure": "",             # where the chosen user's extension goes ("" = "internal": ring the user)
     "return_key": "",            # "" | "0" | "1" | "*": back to the parent menu (not on the root)
     "on_timeout": {"procedure": "", "number": ""}}  # after the attempts; "" = back to the parent
                                                     # menu, or goodbye on the root
    One match: its name is spoken (espeak-ng, cached) and the call goes to the
    user's extension. 2 to 9 matches: "for <name>, press 1; ..." and the caller
    picks one. More than 9: the caller is asked for more letters. None: "no
    name matches", and the caller tries again.

Menu keys
---------
A menu reads one key. `return_key` goes back to the parent menu (which
starts again: prompt, repeats). A key with a child enters it (an action
child ends the IVR). Any other key is invalid: `on_invalid` if set, else
"invalid choice" and the prompt again (after MAX_INVALID invalid keys in a
row: goodbye). With `direct_dial`, a first digit that starts some user's
extension waits DIRECT_DIAL_DIGIT_TIMEOUT seconds for more digits: several
digits forming an existing extension go to `direct_dial_procedure` with
that number; a single digit is a menu key as usual. A key pressed before a
prompt begins (typed ahead during the previous one) answers that prompt,
which is then not played.

Limits: MAX_DEPTH levels (the root is level 1), MAX_NODES nodes.
Every step is written to the call's trace as event "ivr" (node = "root" or
the keys from the root joined by "/", e.g. "1/2").
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import re
import subprocess
import unicodedata
from collections.abc import Callable
from pathlib import Path

import peewee

from appliance.dialplan.call import DialplanCall, Goto, Outcome, Stop
from appliance.dialplan.models import INTERNAL, NAME_RE, Ivr, bump_revision
from appliance.errors import NotFound, ValidationError
from appliance.store import database

log = logging.getLogger(__name__)

KEYS = "1234567890*#"
NODE_TYPES = ("menu", "action", "dial_by_name")
ROOT_TYPES = ("menu", "dial_by_name")
MAX_DEPTH = 8
MAX_NODES = 200
LABEL_MAX = 64
DESCRIPTION_MAX = 255
REPEATS = (1, 10)
MENU_TIMEOUT = (1, 60)
NAME_TIMEOUT = (1, 30)
ATTEMPTS = (1, 5)
NAME_RETURN_KEYS = ("0", "1", "*")
NUMBER_RE = re.compile(r"^[0-9*#+]{1,32}$")
# Seconds the caller has between the digits of an extension typed during a menu prompt.
DIRECT_DIAL_DIGIT_TIMEOUT = 2.0
EXTENSION_MAX_DIGITS = 8
# How long the runner looks for a key typed ahead before it starts a prompt (the call core then
# applies the events already received, so a key pressed a moment ago is not mistaken for silence).
TYPE_AHEAD_S = 0.05
# Invalid keys in a row at one menu (without on_invalid) before the IVR says goodbye.
MAX_INVALID = 5
NAME_MIN_DIGITS = 3
NAME_MAX_DIGITS = 16
MAX_CHOICES = 9
FIELDS = ("name", "description", "tree", "revision")

MENU_DEFAULTS = {"type": "menu", "label": "", "sound": "", "repeats": 3, "timeout_s": 5, "return_key": "",
                 "direct_dial": False, "direct_dial_procedure": "",
                 "on_timeout": {"procedure": "", "number": ""}, "on_invalid": {"procedure": "", "number": ""},
                 "children": {}}
ACTION_DEFAULTS = {"type": "action", "label": "", "procedure": "", "number": ""}
NAME_DEFAULTS = {"type": "dial_by_name", "label": "", "sound": "", "timeout_s": 5, "attempts": 3,
                 "first_names": False, "procedure": "", "return_key": "",
                 "on_timeout": {"procedure": "", "number": ""}}
DEFAULTS = {"menu": MENU_DEFAULTS, "action": ACTION_DEFAULTS, "dial_by_name": NAME_DEFAULTS}

# Keypad letters (ITU E.161).
KEYPAD = {letter: digit for digit, letters in {"2": "ABC", "3": "DEF", "4": "GHI", "5": "JKL", "6": "MNO",
                                                "7": "PQRS", "8": "TUV", "9": "WXYZ"}.items()
          for letter in letters}
# Letters that Unicode does not decompose into a base letter and an accent.
LIGATURES = {"ß": "SS", "Æ": "AE", "Œ": "OE", "Ø": "O", "Ł": "L", "Đ": "D", "Þ": "TH"}

# Phrases spoken at call time with the caller's name data (espeak-ng), per language.
PHRASES: dict[str, dict[str, str]] = {
    "connecting": {
        "fr": "Je vous mets en relation avec {name}.",
        "en": "Connecting you to {name}.",
        "de": "Ich verbinde Sie mit {name}.",
        "it": "La metto in contatto con {name}.",
    },
    "choice": {
        "fr": "Pour {name}, tapez {key}.",
        "en": "For {name}, press {key}.",
        "de": "Für {name} drücken Sie {key}.",
        "it": "Per {name}, prema {key}.",
    },
    "too_many": {
        "fr": "Trop de noms correspondent. Composez plus de lettres, puis dièse.",
        "en": "Too many names match. Enter more letters, then hash.",
        "de": "Zu viele Namen passen. Geben Sie mehr Buchstaben ein, dann Raute.",
        "it": "Troppi nomi corrispondono. Digiti più lettere, poi cancelletto.",
    },
}

# A callable answering "does the object `name` of type `kind` exist?" (appliance.dialplan.references.exists).
ReferenceCheck = Callable[[str, str], bool]


# -- validation -----------------------------------------------------------------------------

def default_tree() -> dict:
    """The tree of a new IVR: an empty root menu."""
    return _copy(MENU_DEFAULTS)


def _copy(node: dict) -> dict:
    return {k: (dict(v) if isinstance(v, dict) else v) for k, v in node.items()}


def validate_tree(tree: object, exists: ReferenceCheck | None = None, field: str = "tree") -> dict:
    """The tree as it will be stored (normalized), or ValidationError naming the dotted field at fault."""
    if exists is None:
        from appliance.dialplan.references import exists
    counter = [0]
    if not isinstance(tree, dict):
        raise ValidationError(field, "must be an object (the root node)")
    if tree.get("type", "menu") not in ROOT_TYPES:
        raise ValidationError(f"{field}.type", "the root must be a menu or a dial-by-name node")
    return _node(tree, field, 1, True, exists, counter)


def _node(node: object, where: str, depth: int, root: bool, exists: ReferenceCheck, counter: list[int]) -> dict:
    if not isinstance(node, dict):
        raise ValidationError(where, "must be an object (a node)")
    counter[0] += 1
    if counter[0] > MAX_NODES:
        raise ValidationError(where, f"an IVR has at most {MAX_NODES} nodes")
    kind = node.get("type", "menu")
    if kind not in NODE_TYPES:
        raise ValidationError(f"{where}.type", "must be one of " + ", ".join(NODE_TYPES))
    defaults = DEFAULTS[kind]
    for name in node:
        if name not in defaults:
            raise ValidationError(f"{where}.{str(name)[:32]}", f"is not a field of a {kind.replace('_', ' ')} node")
    clean = _copy(defaults)
    clean["label"] = _text(node.get("label"), f"{where}.label", LABEL_MAX)
    if kind == "action":
        clean["procedure"] = _reference(node.get("procedure"), f"{where}.procedure", "procedure", exists)
        if not clean["procedure"]:
            raise ValidationError(f"{where}.procedure", "is required: the procedure the call goes to")
        clean["number"] = _number(node.get("number"), f"{where}.number")
        return clean
    clean["sound"] = _reference(node.get("sound"), f"{where}.sound", "sound", exists)
    clean["return_key"] = _key(node.get("return_key"), f"{where}.return_key", allow_empty=True)
    if root and clean["return_key"]:
        raise ValidationError(f"{where}.return_key", "the root has no parent to return to")
    clean["on_timeout"] = _target(node.get("on_timeout"), f"{where}.on_timeout", exists)
    if kind == "dial_by_name":
        if clean["return_key"] and clean["return_key"] not in NAME_RETURN_KEYS:
            raise ValidationError(f"{where}.return_key", "must be 0, 1 or * (the other keys spell names)")
        clean["timeout_s"] = _int(node.get("timeout_s"), f"{where}.timeout_s", *NAME_TIMEOUT, NAME_DEFAULTS["timeout_s"])
        clean["attempts"] = _int(node.get("attempts"), f"{where}.attempts", *ATTEMPTS, NAME_DEFAULTS["attempts"])
        clean["first_names"] = _bool(node.get("first_names"), f"{where}.first_names")
        clean["procedure"] = _reference(node.get("procedure"), f"{where}.procedure", "procedure", exists)
        return clean
    clean["repeats"] = _int(node.get("repeats"), f"{where}.repeats", *REPEATS, MENU_DEFAULTS["repeats"])
    clean["timeout_s"] = _int(node.get("timeout_s"), f"{where}.timeout_s", *MENU_TIMEOUT, MENU_DEFAULTS["timeout_s"])
    clean["direct_dial"] = _bool(node.get("direct_dial"), f"{where}.direct_dial")
    clean["direct_dial_procedure"] = _reference(node.get("direct_dial_procedure"), f"{where}.direct_dial_procedure",
                                                "procedure", exists)
    clean["on_invalid"] = _target(node.get("on_invalid"), f"{where}.on_invalid", exists)
    children = node.get("children")
    if children is None:
        children = {}
    if not isinstance(children, dict):
        raise ValidationError(f"{where}.children", "must be an object: key -> node")
    if children and depth >= MAX_DEPTH:
        raise ValidationError(f"{where}.children", f"an IVR has at most {MAX_DEPTH} levels")
    clean_children = {}
    for key in sorted(children, key=lambda k: KEYS.index(k) if isinstance(k, str) and k in KEYS else 99):
        child_where = f"{where}.children.{str(key)[:8]}"
        if not isinstance(key, str) or len(key) != 1 or key not in KEYS:
            raise ValidationError(child_where, "the key must be one of 0-9, * or #")
        if key == clean["return_key"]:
            raise ValidationError(child_where, "this key is the menu's return key")
        clean_children[key] = _node(children[key], child_where, depth + 1, False, exists, counter)
    clean["children"] = clean_children
    return clean


def _text(value: object, where: str, maximum: int) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValidationError(where, "must be text")
    value = value.strip()
    if len(value) > maximum:
        raise ValidationError(where, f"is longer than {maximum} characters")
    return value


def _int(value: object, where: str, minimum: int, maximum: int, default: int) -> int:
    if value is None or value == "":
        return default
    if isinstance(value, bool) or not isinstance(value, (int, str)) or not str(value).strip().lstrip("-").isdigit():
        raise ValidationError(where, "must be a whole number")
    number = int(value)
    if number < minimum or number > maximum:
        raise ValidationError(where, f"must be between {minimum} and {maximum}")
    return number


def _bool(value: object, where: str) -> bool:
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    raise ValidationError(where, "must be true or false")


def _key(value: object, where: str, allow_empty: bool) -> str:
    if value is None or value == "":
        if allow_empty:
            return ""
        raise ValidationError(where, "is required")
    if not isinstance(value, str) or len(value) != 1 or value not in KEYS:
        raise ValidationError(where, "must be one key: 0-9, * or #")
    return value


def _number(value: object, where: str) -> str:
    if value is None or value == "":
        return ""
    if not isinstance(value, str) or not NUMBER_RE.match(value.strip()):
        raise ValidationError(where, "must be a number of up to 32 digits (and * # +)")
    return value.strip()


def _reference(value: object, where: str, kind: str, exists: ReferenceCheck) -> str:
    if value is None or value == "":
        return ""
    if not isinstance(value, str) or not exists(kind, value):
        raise ValidationError(where, f"there is no {kind} named {str(value)[:64]!r}")
    return value


def _target(value: object, where: str, exists: ReferenceCheck) -> dict:
    if value is None or value == "":
        return {"procedure": "", "number": ""}
    if not isinstance(value, dict):
        raise ValidationError(where, "must be an object {procedure, number}")
    for name in value:
        if name not in ("procedure", "number"):
            raise ValidationError(f"{where}.{str(name)[:32]}", "is not a field of a destination")
    target = {"procedure": _reference(value.get("procedure"), f"{where}.procedure", "procedure", exists),
              "number": _number(value.get("number"), f"{where}.number")}
    if target["number"] and not target["procedure"]:
        raise ValidationError(f"{where}.procedure", "is required when a number is given")
    return target


# -- where a tree names other objects ------------------------------------------------------

def node_label(path: tuple[str, ...] | list[str]) -> str:
    return "node " + "/".join(path) if path else "root"


def walk(tree: dict, path: tuple[str, ...] = ()):
    """(path, node) of every node, depth first, keys in keypad order."""
    if not isinstance(tree, dict):
        return
    yield path, tree
    for key, child in (tree.get("children") or {}).items():
        yield from walk(child, path + (key,))


def references(tree: dict, kind: str, name: str) -> list[str]:
    """Where the stored `tree` names the object (kind: procedure | sound | ivr), e.g. "node 1/2 (timeout)"."""
    places: list[str] = []
    for path, node in walk(tree):
        where = node_label(path)
        kind_of_node = node.get("type", "menu")
        if kind == "sound" and node.get("sound") == name:
            places.append(f"{where} (prompt)")
        if kind != "procedure":
            continue
        if kind_of_node == "action" and node.get("procedure") == name:
            places.append(f"{where} (action)")
        if kind_of_node == "dial_by_name" and node.get("procedure") == name:
            places.append(f"{where} (dial by name)")
        if node.get("direct_dial_procedure") == name:
            places.append(f"{where} (direct dial)")
        if (node.get("on_timeout") or {}).get("procedure") == name:
            places.append(f"{where} (timeout)")
        if (node.get("on_invalid") or {}).get("procedure") == name:
            places.append(f"{where} (invalid key)")
    return places


# -- storage ----------------------------------------------------------------------------------

def list_ivrs() -> list[Ivr]:
    return list(Ivr.select().order_by(Ivr.name))


def get_ivr(name: str) -> Ivr:
    row = Ivr.get_or_none(Ivr.name == str(name))
    if row is None:
        raise NotFound("IVR", str(name))
    return row


def to_public(row: Ivr, used_by: bool = True) -> dict:
    data = {"name": row.name, "description": row.description, "tree": row.tree, "revision": row.revision,
            "updated_at": row.updated_at.isoformat(timespec="seconds") + "Z" if row.updated_at else None}
    if used_by:
        from appliance.dialplan.references import where_used

        data["used_by"] = where_used("ivr", row.name)
    return data


def _check_body(data: object) -> dict:
    if not isinstance(data, dict):
        raise ValidationError("body", "must be a JSON object")
    for key in data:
        if key not in FIELDS:
            raise ValidationError(str(key)[:64], "is not a field of an IVR")
    return data


def create_ivr(data: dict) -> Ivr:
    """Create an IVR: {"name", "description"?, "tree"? (default: an empty root menu)}."""
    data = _check_body(data)
    name = data.get("name")
    if not isinstance(name, str) or not name:
        raise ValidationError("name", "is required")
    if not re.match(NAME_RE, name):
        raise ValidationError("name", "must be lower-case letters, digits, - or _ (up to 64, starting with a "
                                      "letter or digit)")
    description = _text(data.get("description"), "description", DESCRIPTION_MAX)
    tree = validate_tree(data["tree"]) if data.get("tree") is not None else default_tree()
    with database.atomic():
        if Ivr.select(Ivr.id).where(Ivr.name == name).exists():
            raise ValidationError("name", f"an IVR named {name} already exists")
        try:
            row = Ivr.create(name=name, description=description, tree=tree, revision=1)
        except peewee.IntegrityError:
            raise ValidationError("name", f"an IVR named {name} already exists") from None
        bump_revision()
    return row


def update_ivr(name: str, data: dict) -> Ivr:
    """Change the description and/or tree; `revision` (optional) refuses a concurrent edit (Conflict)."""
    from appliance.errors import Conflict

    data = dict(_check_body(data))
    expected = data.pop("revision", None)
    if "name" in data and data.pop("name") != name:
        raise ValidationError("name", "cannot be changed (create a new IVR instead)")
    values = {}
    if "description" in data:
        values["description"] = _text(data["description"], "description", DESCRIPTION_MAX)
    if "tree" in data:
        values["tree"] = validate_tree(data["tree"])
    with database.atomic():
        row = get_ivr(name)
        if expected is not None:
            if not isinstance(expected, int) or isinstance(expected, bool):
                raise ValidationError("revision", "must be an integer")
            if expected != row.revision:
                raise Conflict("revision", "this IVR was changed by someone else; reload and try again")
        for key, value in values.items():
            setattr(row, key, value)
        row.revision += 1
        row.updated_at = dt.datetime.utcnow()
        row.save()
        bump_revision()
    return row


def delete_ivr(name: str) -> None:
    """Delete an IVR no procedure uses (Conflict naming where it is used otherwise)."""
    from appliance.dialplan.references import refuse_if_used

    with database.atomic():
        row = get_ivr(name)
        refuse_if_used("ivr", name)
        row.delete_instance()
        bump_revision()


# -- names on the keypad ------------------------------------------------------------------

def fold(text: str) -> str:
    """Upper-case A-Z only: accents removed (é -> E), ligatures spelled out, everything else dropped."""
    out = []
    for char in text.upper():
        if char in LIGATURES:
            out.append(LIGATURES[char])
            continue
        for part in unicodedata.normalize("NFKD", char):
            if "A" <= part <= "Z":
                out.append(part)
    return "".join(out)


def keypad_digits(text: str) -> str:
    """The keys spelling `text` on a phone keypad ("Müller" -> "68553")."""
    return "".join(KEYPAD[c] for c in fold(text))


def find_by_name(digits: str, first_names: bool = False) -> list[tuple[str, str]]:
    """(extension, display name) of the users whose surname (or first name) starts with these keys.

    Surname matches first, ordered by surname then first name; then first-name matches.
    """
    from appliance.users.models import User

    users = list(User.select(User.extension, User.first_name, User.last_name)
                 .where(User.extension.is_null(False)).order_by(User.last_name, User.first_name, User.extension))
    found = [u for u in users if keypad_digits(u.last_name).startswith(digits)]
    if first_names:
        found += [u for u in users if u not in found and keypad_digits(u.first_name).startswith(digits)]
    return [(u.extension, " ".join(p for p in (u.first_name, u.last_name) if p) or u.extension) for u in found]


def extension_starts_with(prefix: str) -> bool:
    from appliance.users.models import User

    return User.select(User.id).where(User.extension.startswith(prefix) & (User.extension != prefix)).exists()


def spoken(call: DialplanCall, text: str) -> Path:
    """A WAV of `text` in the caller's language (espeak-ng), cached by language and text."""
    from appliance.callcore import prompts

    lang = call.language if call.language in prompts.LANGUAGES else "en"
    digest = hashlib.sha256(f"{lang}\n{text}".encode()).hexdigest()[:24]
    path = call.settings.sounds_dir / "cache" / "ivr" / f"{lang}-{digest}.wav"
    if not path.exists():
        prompts.generate(path, text, lang)
    return path


def phrase(call: DialplanCall, which: str, **values) -> str:
    from appliance.callcore import prompts

    lang = call.language if call.language in prompts.LANGUAGES else "en"
    return PHRASES[which][lang].format(**values)


# -- the runner -------------------------------------------------------------------------------

class _Back:
    """Go back to the parent menu."""


BACK = _Back()


def run(call: DialplanCall, name: str) -> Outcome:
    """Run the IVR `name` for `call` (answers it); returns where the call goes next (Goto/Stop)."""
    row = Ivr.get_or_none(Ivr.name == name)
    if row is None:
        call.trace.step("error", message=f"there is no IVR named {name!r}")
        return None
    if not call.channel.answered:
        call.channel.answer()
    return IvrRun(call, name, row.tree).run()


class IvrRun:
    """One caller walking one tree."""

    def __init__(self, call: DialplanCall, name: str, tree: dict):
        self.call = call
        self.name = name
        self.tree = tree
        self.start_procedure = call.procedure

    def step(self, path: tuple[str, ...], action: str, **details) -> None:
        self.call.trace.step("ivr", ivr=self.name, node="/".join(path) or "root", action=action, **details)

    def run(self) -> Outcome:
        stack: list[tuple[dict, tuple[str, ...]]] = [(self.tree, ())]
        while True:
            node, path = stack[-1]
            if node.get("type", "menu") == "dial_by_name":
                result = self.dial_by_name(node, path, has_parent=len(stack) > 1)
            else:
                result = self.menu(node, path)
            if result is BACK:
                stack.pop()
                self.step(stack[-1][1], "return")
                continue
            if isinstance(result, str):
                child = node["children"][result]
                child_path = path + (result,)
                if child.get("type") == "action":
                    number = child.get("number") or None
                    self.step(child_path, "action", procedure=child["procedure"], number=number or "")
                    return Goto(child["procedure"], number, by_caller=True)
                stack.append((child, child_path))
                continue
            return result

    # -- playing and reading ------------------------------------------------------------------
    def play(self, path: Path | str | None) -> None:
        if path:
            self.call.channel.play(str(path), stop_on_digit=True)

    def prompt_of(self, node: dict, system_prompt: str | None = None) -> Path | None:
        if node.get("sound"):
            try:
                return self.call.sound_path(node["sound"])
            except NotFound as exc:  # deleted behind the IVR's back, or its file is gone: go on without it
                log.error("IVR %s: %s", self.name, exc)
                self.call.trace.step("error", message=f"sound {node['sound']} cannot be played: {exc}")
        return self.call.prompt(system_prompt) if system_prompt else None

    def prompt_then_key(self, node: dict, path: tuple[str, ...], system_prompt: str | None, timeout: float) -> str:
        """A key the caller typed ahead (before this prompt began), else play the prompt and wait for one key."""
        channel = self.call.channel
        key = channel.collect_digits(1, TYPE_AHEAD_S, terminator="")
        if key:
            self.step(path, "typed_ahead", key=key)
            return key
        self.step(path, "prompt", sound=node.get("sound") or system_prompt or "", label=node.get("label") or "")
        self.play(self.prompt_of(node, system_prompt))
        return channel.collect_digits(1, timeout, terminator="")

    def goodbye(self, path: tuple[str, ...], why: str) -> Stop:
        self.step(path, "goodbye", reason=why)
        self.call.channel.play(str(self.call.prompt("goodbye")))
        return Stop()

    def target(self, path: tuple[str, ...], target: dict, why: str) -> Goto:
        number = target.get("number") or None
        self.step(path, why, procedure=target["procedure"], number=number or "")
        return Goto(target["procedure"], number, by_caller=True)

    # -- a menu --------------------------------------------------------------------------------
    def menu(self, node: dict, path: tuple[str, ...]):
        """A child key to enter, BACK, or the IVR's outcome."""
        channel = self.call.channel
        children = node.get("children") or {}
        timeouts = invalid = 0
        while True:
            key = self.prompt_then_key(node, path, None, float(node.get("timeout_s") or 5))
            if not key:
                timeouts += 1
                self.step(path, "timeout", count=timeouts)
                if timeouts < (node.get("repeats") or 1):
                    continue
                target = node.get("on_timeout") or {}
                if target.get("procedure"):
                    return self.target(path, target, "on_timeout")
                return self.goodbye(path, "timeout")
            if node.get("direct_dial") and key.isdigit() and extension_starts_with(key):
                more = channel.collect_digits(EXTENSION_MAX_DIGITS - 1, DIRECT_DIAL_DIGIT_TIMEOUT, terminator="#")
                if more:
                    digits = key + more
                    from appliance.dialplan.engine import extension_exists

                    if extension_exists(digits):
                        procedure = node.get("direct_dial_procedure") or INTERNAL
                        self.step(path, "direct_dial", number=digits, procedure=procedure)
                        return Goto(procedure, digits, by_caller=True)
                    self.step(path, "invalid", key=digits, reason="no such extension")
                    invalid += 1
                    result = self.invalid(node, path, invalid)
                    if result is not None:
                        return result
                    continue
            if key == node.get("return_key"):
                self.step(path, "key", key=key, to="parent")
                return BACK
            if key in children:
                self.step(path, "key", key=key, to=children[key].get("type", "menu"))
                return key
            self.step(path, "invalid", key=key)
            invalid += 1
            result = self.invalid(node, path, invalid)
            if result is not None:
                return result

    def invalid(self, node: dict, path: tuple[str, ...], count: int) -> Outcome:
        target = node.get("on_invalid") or {}
        if target.get("procedure"):
            return self.target(path, target, "on_invalid")
        if count >= MAX_INVALID:
            return self.goodbye(path, "too many invalid keys")
        self.call.channel.play(str(self.call.prompt("invalid_choice")), stop_on_digit=True)
        return None

    # -- dial by name ----------------------------------------------------------------------
    def dial_by_name(self, node: dict, path: tuple[str, ...], has_parent: bool):
        channel = self.call.channel
        timeout = float(node.get("timeout_s") or 5)
        return_key = node.get("return_key") or ""
        attempts = node.get("attempts") or 3
        tries = 0
        while tries < attempts:
            tries += 1
            first = self.prompt_then_key(node, path, "dial_by_name", timeout)
            if not first:
                self.step(path, "timeout", count=tries)
                continue
            if first == return_key and has_parent:
                self.step(path, "key", key=first, to="parent")
                return BACK
            digits = "" if first == "#" else first + channel.collect_digits(NAME_MAX_DIGITS - 1, timeout, "#")
            letters = "".join(d for d in digits if d in "23456789")
            if len(letters) < NAME_MIN_DIGITS or letters != digits:
                self.step(path, "invalid", key=digits, reason=f"at least {NAME_MIN_DIGITS} letter keys (2-9)")
                channel.play(str(self.call.prompt("invalid_choice")), stop_on_digit=True)
                continue
            matches = find_by_name(digits, bool(node.get("first_names")))
            self.step(path, "name_search", key=digits, matches=[ext for ext, _ in matches][:20])
            if not matches:
                channel.play(str(self.call.prompt("no_name_matches")), stop_on_digit=True)
                continue
            if len(matches) > MAX_CHOICES:
                self.play(self.spoken(phrase(self.call, "too_many")))
                continue
            if len(matches) == 1:
                return self.connect(node, path, *matches[0])
            choice = self.choose(matches, timeout)
            if choice is None:
                self.step(path, "invalid", reason="no choice in the list")
                continue
            return self.connect(node, path, *matches[choice])
        target = node.get("on_timeout") or {}
        if target.get("procedure"):
            return self.target(path, target, "on_timeout")
        if has_parent:
            self.step(path, "give_up", to="parent")
            return BACK
        return self.goodbye(path, "no name chosen")

    def choose(self, matches: list[tuple[str, str]], timeout: float) -> int | None:
        text = " ".join(phrase(self.call, "choice", name=name, key=i) for i, (_, name) in enumerate(matches, 1))
        self.play(self.spoken(text))
        key = self.call.channel.collect_digits(1, timeout, terminator="")
        if key.isdigit() and 1 <= int(key) <= len(matches):
            return int(key) - 1
        return None

    def connect(self, node: dict, path: tuple[str, ...], extension: str, name: str) -> Goto:
        procedure = node.get("procedure") or INTERNAL
        self.step(path, "name_chosen", number=extension, name=name, procedure=procedure)
        self.play(self.spoken(phrase(self.call, "connecting", name=name)))
        return Goto(procedure, extension, by_caller=True)

    def spoken(self, text: str) -> Path | str:
        """TTS of `text`; if it cannot be made (no espeak-ng), log it and say nothing rather than end the call."""
        try:
            return spoken(self.call, text)
        except (OSError, subprocess.SubprocessError) as exc:
            log.error("IVR %s: cannot speak %r: %s", self.name, text, exc)
            self.call.trace.step("error", message=f"text to speech failed: {exc}")
            return ""
