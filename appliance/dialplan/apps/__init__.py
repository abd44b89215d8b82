"""The dialplan applications: one table, filled by the modules of this package.

Each application declares its options (`Option`): that one declaration
drives validation (`validate_app`), the UI's form, the API's schema and the
"where is this used" search (options that name another object). Adding an
application is one decorated function in one module of this package.

An application is stored in a procedure as {"app": kind, <option>: value...}.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from appliance.dialplan.call import DialplanCall, Outcome
from appliance.errors import ValidationError

# Option types that name another dialplan object, and the model holding it.
REFERENCE_TYPES = ("procedure", "sound", "moh_class", "call_group", "ivr", "switch", "time_range", "trunk",
                   "trunk_group")
NUMBER_RE = re.compile(r"^[0-9*#+]{1,32}$")
EXTENSION_LIST_MAX = 50


@dataclass(frozen=True, slots=True)
class Option:
    """One option of an application.

    type: text | int | bool | choice | number (dial characters) | extensions (list of
          existing extensions) | one of REFERENCE_TYPES (the name of such an object).
    A `required` option must be given; otherwise `default` applies (None = unset).
    `when`: shown/used only when another option has one of these values {"option": (values)}.
    """

    name: str
    type: str
    label: str
    required: bool = False
    default: Any = None
    minimum: int | None = None
    maximum: int | None = None
    choices: tuple[str, ...] = ()
    help: str = ""
    when: dict[str, tuple] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class AppSpec:
    kind: str
    label: str
    options: tuple[Option, ...]
    run: Callable[[DialplanCall, dict], Outcome]
    help: str = ""


REGISTRY: dict[str, AppSpec] = {}


def application(kind: str, label: str, *options: Option, help: str = ""):
    """Register `run(call, options)` as the application `kind` (options as declared)."""

    def register(run: Callable[[DialplanCall, dict], Outcome]):
        if kind in REGISTRY:
            raise RuntimeError(f"dialplan application {kind} registered twice")
        REGISTRY[kind] = AppSpec(kind, label, tuple(options), run, help)
        return run

    return register


# A callable answering "does the object `name` of type `kind` exist?"
ReferenceCheck = Callable[[str, str], bool]


def validate_app(value: object, field_name: str, exists: ReferenceCheck) -> dict:
    """The application as it will be stored, or ValidationError naming `<field_name>.<option>`."""
    if not isinstance(value, dict):
        raise ValidationError(field_name, "must be an object with an 'app' kind and its options")
    kind = value.get("app")
    spec = REGISTRY.get(kind) if isinstance(kind, str) else None
    if spec is None:
        raise ValidationError(f"{field_name}.app", f"unknown application {kind!r}; known: "
                                                   + ", ".join(sorted(REGISTRY)))
    known = {o.name for o in spec.options}
    for name in value:
        if name != "app" and name not in known:
            raise ValidationError(f"{field_name}.{name}", f"is not an option of {kind}")
    clean: dict[str, Any] = {"app": kind}
    for option in spec.options:
        raw = value.get(option.name)
        if raw is None or raw == "" or raw == []:
            if option.required and _applies(option, clean):
                raise ValidationError(f"{field_name}.{option.name}", f"is required for {spec.label}")
            if option.default is not None:
                clean[option.name] = option.default
            continue
        clean[option.name] = _validate_option(option, raw, f"{field_name}.{option.name}", exists)
    return clean


def _applies(option: Option, values: dict) -> bool:
    return all(values.get(name) in allowed for name, allowed in option.when.items())


def _validate_option(option: Option, raw: object, where: str, exists: ReferenceCheck) -> Any:
    kind = option.type
    if kind == "text":
        if not isinstance(raw, str):
            raise ValidationError(where, "must be text")
        if len(raw) > (option.maximum or 255):
            raise ValidationError(where, f"is longer than {option.maximum or 255} characters")
        return raw.strip()
    if kind == "int":
        if isinstance(raw, bool) or not isinstance(raw, (int, str)) or not str(raw).strip().lstrip("-").isdigit():
            raise ValidationError(where, "must be a whole number")
        number = int(raw)
        if option.minimum is not None and number < option.minimum:
            raise ValidationError(where, f"must be at least {option.minimum}")
        if option.maximum is not None and number > option.maximum:
            raise ValidationError(where, f"must be at most {option.maximum}")
        return number
    if kind == "bool":
        if isinstance(raw, bool):
            return raw
        if raw in ("true", "1", "on", 1):
            return True
        if raw in ("false", "0", "off", 0):
            return False
        raise ValidationError(where, "must be true or false")
    if kind == "choice":
        if raw not in option.choices:
            raise ValidationError(where, "must be one of " + ", ".join(option.choices))
        return raw
    if kind == "number":
        if not isinstance(raw, str) or not NUMBER_RE.match(raw.strip()):
            raise ValidationError(where, "must be a number of up to 32 digits (and * # +)")
        return raw.strip()
    if kind == "extensions":
        items = raw.replace(",", " ").split() if isinstance(raw, str) else raw
        if not isinstance(items, list) or not items or not all(isinstance(i, str) for i in items):
            raise ValidationError(where, "must be a list of extensions")
        if len(items) > EXTENSION_LIST_MAX:
            raise ValidationError(where, f"at most {EXTENSION_LIST_MAX} extensions")
        for item in items:
            if not exists("extension", item):
                raise ValidationError(where, f"no user has the extension {item!r}")
        return list(dict.fromkeys(items))
    if kind in REFERENCE_TYPES:
        if not isinstance(raw, str) or not exists(kind, raw):
            raise ValidationError(where, f"there is no {kind.replace('_', ' ')} named {raw!r}")
        return raw
    raise AssertionError(f"option type {kind} of {option.name} is not handled")


def references(app: dict) -> list[tuple[str, str]]:
    """(type, name) of every object this stored application names (extensions included)."""
    spec = REGISTRY.get(app.get("app"))
    if spec is None:
        return []
    found = []
    for option in spec.options:
        value = app.get(option.name)
        if value is None:
            continue
        if option.type in REFERENCE_TYPES:
            found.append((option.type, value))
        elif option.type == "extensions":
            found.extend(("extension", v) for v in value)
    return found


def describe() -> list[dict]:
    """The applications and their options, for the UI's forms and the API."""
    return [{"app": spec.kind, "label": spec.label, "help": spec.help,
             "options": [{"name": o.name, "type": o.type, "label": o.label, "required": o.required,
                          "default": o.default, "minimum": o.minimum, "maximum": o.maximum,
                          "choices": list(o.choices), "help": o.help,
                          "when": {k: list(v) for k, v in o.when.items()}} for o in spec.options]}
            for spec in REGISTRY.values()]


# The modules that register applications (import order = order in the UI's list).
from appliance.dialplan.apps import basic, dial, branches, callgroup, ivr, switches, trunks, voicemail  # noqa: E402,F401,I001
from appliance.dialplan.apps import conference  # noqa: E402,F401,I001
