"""UI text through gettext: catalogs, language choice, and the tiny catalog tools.

Catalogs live in webui/locale/<lang>/LC_MESSAGES/webui.po and are compiled to
.mo with `python -m webui.i18n compile` (pure Python, no gettext tools
needed); `python -m webui.i18n update` also extracts new strings from the
code and templates into both .po files first. Both the .po and the .mo files
are committed; a unit test checks they are in step.
"""

from __future__ import annotations

import ast
import gettext
import re
import struct
import sys
from functools import cache
from pathlib import Path

DOMAIN = "webui"
PACKAGE_DIR = Path(__file__).resolve().parent
LOCALE_DIR = PACKAGE_DIR / "locale"
UI_LANGUAGES = ("en", "fr")
DEFAULT_LANGUAGE = "en"


def N_(message: str) -> str:
    """Mark a string for extraction without translating it now."""
    return message


# Messages raised by the appliance packages that the UI shows; marked here so
# the extractor puts them in the catalogs.
APPLIANCE_MESSAGES = (
    N_("is required"),
    N_("must not be empty"),
    N_("must be text"),
    N_("must be a number of 2 to 8 digits"),
    N_("is already in use"),
    N_("is not a valid email address"),
    N_("must be at least 12 characters long"),
    N_("must be at most 128 characters long"),
    N_("must be at most 64 characters long"),
    N_("must contain a lower-case letter"),
    N_("must contain an upper-case letter"),
    N_("must contain a digit"),
    N_("must not contain control characters"),
    N_("must not contain the extension or login"),
    N_("must differ from the current password"),
    N_('must not contain control characters or any of " < > \\'),
    N_("this user was changed by someone else; reload and try again"),
    N_("wrong login or password"),
    N_("too many failed logins; wait a few minutes"),
    N_("must not be before from"),
    # System settings (appliance.system.validation).
    N_("is not a system setting"),
    N_("must be a domain name such as pbx.example.com or an IPv4 address"),
    N_("must be a two-letter ISO 3166 country code such as FR or CH"),
    N_("must be a time zone such as Europe/Paris"),
    N_("must be one of fr, en, de, it"),
    N_("must be a whole number from 5 to 300"),
    N_("must be a whole number from 2 to 1000"),
    N_("must be a whole number from 10 to 3600"),
    N_("must be a whole number from 1 to 10080"),
    N_("must be an integer"),
    N_("the settings were changed by someone else; reload and try again"),
    # Roles and call results shown as words.
    N_("admin"), N_("technician"), N_("user"),
    N_("in_progress"), N_("answered"), N_("busy"), N_("no_answer"), N_("failed"), N_("cancelled"),
    # Shown through _(value) in templates: event severities (events.tpl), voicemail greeting sources
    # (voicemail_settings.tpl), service and port states (health.tpl; "in_use" is shown as "in use").
    N_("info"), N_("warning"), N_("alert"),
    N_("recorded"), N_("uploaded"), N_("tts"),
    N_("running"), N_("stopped"), N_("unknown"),
    N_("ok"), N_("free"), N_("in use"), N_("blocked"), N_("not listening"),
)


@cache
def translations(language: str) -> gettext.NullTranslations:
    return gettext.translation(DOMAIN, str(LOCALE_DIR), languages=[language], fallback=True)


def translate_message(language: str, message: str) -> str:
    """Translate a message that came from an appliance package, if the catalog knows it."""
    return translations(language).gettext(message)


def parse_accept_language(header: str | None) -> list[str]:
    """Primary language tags from an Accept-Language header, best first."""
    weighted = []
    for index, part in enumerate((header or "").split(",")[:20]):
        pieces = part.strip().split(";")
        tag = pieces[0].strip().lower()
        if not tag or tag == "*":
            continue
        quality = 1.0
        for param in pieces[1:]:
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if quality > 0:
            weighted.append((-quality, index, tag.split("-")[0]))
    return [tag for _, _, tag in sorted(weighted)]


def choose_language(user_language: str | None, accept_language: str | None, system_language: str | None) -> str:
    """The user's setting, then the browser's Accept-Language, then the appliance's language."""
    if user_language in UI_LANGUAGES:
        return user_language
    for tag in parse_accept_language(accept_language):
        if tag in UI_LANGUAGES:
            return tag
    if system_language in UI_LANGUAGES:
        return system_language
    return DEFAULT_LANGUAGE


# -- catalog tools ------------------------------------------------------------

_CALL_RE = re.compile(r"""\bN?_\(\s*(?P<q>["'])(?P<s>(?:\\.|(?!(?P=q)).)*)(?P=q)\s*\)""")


def extract() -> list[str]:
    """Every msgid used in webui's Python files and templates, in first-seen order."""
    found: dict[str, None] = {}
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant)
                    and isinstance(node.args[0].value, str)):
                func = node.func
                name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
                if name in ("_", "N_", "gettext"):
                    found.setdefault(node.args[0].value, None)
    for path in sorted((PACKAGE_DIR / "templates").glob("*.tpl")):
        for match in _CALL_RE.finditer(path.read_text(encoding="utf-8")):
            found.setdefault(ast.literal_eval(match.group("q") + match.group("s") + match.group("q")), None)
    for text in appliance_labels():
        found.setdefault(text, None)
    return list(found)


def appliance_labels() -> list[str]:
    """Labels the appliance declares and the UI shows: dialplan applications, their options, group strategies,
    inbound-number destinations, trunk presets and the data kinds of the storage page."""
    from appliance.dialplan import apps, callgroups
    from appliance.trunks import dids, presets
    from storage import placement

    texts = list(callgroups.STRATEGY_LABELS.values()) + list(dids.KIND_LABELS.values())
    texts += [label for _folder, label in placement.KINDS.values()]
    for preset in presets.BY_KEY.values():
        texts += [preset.label, preset.notes]
    for spec in apps.REGISTRY.values():
        texts += [spec.label, spec.help]
        for option in spec.options:
            texts += [option.label, option.help]
    return [t for t in texts if t]


def _po_quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t") + '"'


def read_po(path: Path) -> dict[str, str]:
    """msgid -> msgstr of a .po file (single-line and continued strings; no plurals or contexts)."""
    entries: dict[str, str] = {}
    msgid = msgstr = None
    current = None

    def flush():
        if msgid is not None and msgstr is not None:
            entries[msgid] = msgstr

    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("msgid "):
            flush()
            msgid, msgstr, current = ast.literal_eval(line[6:]), None, "id"
        elif line.startswith("msgstr "):
            msgstr, current = ast.literal_eval(line[7:]), "str"
        elif line.startswith('"'):
            if current == "id":
                msgid += ast.literal_eval(line)
            else:
                msgstr += ast.literal_eval(line)
    flush()
    return entries


def write_po(path: Path, language: str, entries: dict[str, str]) -> None:
    header = (
        f"Language: {language}\\n"
        "MIME-Version: 1.0\\n"
        "Content-Type: text/plain; charset=UTF-8\\n"
        "Content-Transfer-Encoding: 8bit\\n"
    )
    lines = [f"# Web UI messages ({language}). Edit msgstr; run `python -m webui.i18n update`.",
             'msgid ""', f'msgstr "{header}"', ""]
    for msgid, msgstr in entries.items():
        if msgid == "":
            continue
        lines += [f"msgid {_po_quote(msgid)}", f"msgstr {_po_quote(msgstr)}", ""]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines), encoding="utf-8")


def compile_mo(entries: dict[str, str]) -> bytes:
    """GNU .mo bytes for the given catalog (untranslated entries left out)."""
    catalog = {k: v for k, v in entries.items() if v}
    keys = sorted(catalog)
    ids = b""
    strs = b""
    offsets = []
    for key in keys:
        k, v = key.encode(), catalog[key].encode()
        offsets.append((len(ids), len(k), len(strs), len(v)))
        ids += k + b"\0"
        strs += v + b"\0"
    count = len(keys)
    keystart = 7 * 4 + 16 * count
    valuestart = keystart + len(ids)
    koffsets, voffsets = [], []
    for o1, l1, o2, l2 in offsets:
        koffsets += [l1, o1 + keystart]
        voffsets += [l2, o2 + valuestart]
    output = struct.pack("Iiiiiii", 0x950412DE, 0, count, 7 * 4, 7 * 4 + count * 8, 0, 0)
    output += struct.pack(f"{len(koffsets)}i", *koffsets) if koffsets else b""
    output += struct.pack(f"{len(voffsets)}i", *voffsets) if voffsets else b""
    return output + ids + strs


def po_path(language: str) -> Path:
    return LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"


def catalog_with_header(language: str) -> dict[str, str]:
    entries = read_po(po_path(language))
    entries[""] = f"Language: {language}\nMIME-Version: 1.0\nContent-Type: text/plain; charset=UTF-8\n"
    return entries


def compile_all() -> None:
    for language in UI_LANGUAGES:
        mo = po_path(language).with_suffix(".mo")
        mo.write_bytes(compile_mo(catalog_with_header(language)))


def update_all() -> list[str]:
    """Merge newly extracted msgids into every .po (English = identity); return the French ones missing."""
    msgids = extract()
    missing = []
    for language in UI_LANGUAGES:
        path = po_path(language)
        old = read_po(path) if path.exists() else {}
        merged = {}
        for msgid in msgids:
            value = old.get(msgid, "")
            if language == "en" and not value:
                value = msgid
            if not value:
                missing.append(msgid)
            merged[msgid] = value
        write_po(path, language, merged)
    compile_all()
    return missing


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "compile"
    if command == "update":
        missing = update_all()
        for msgid in missing:
            print(f"untranslated: {msgid}")
        return 0
    if command == "compile":
        compile_all()
        return 0
    print("usage: python -m webui.i18n [update|compile]", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
