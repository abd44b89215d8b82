"""Spoken phrases with numbers and dates in them (the static ones are system prompts).

Each phrase is spoken once by espeak-ng (appliance.callcore.prompts.generate) and cached under
storage.tts_cache, keyed by its text: "extension 2 0 1 is not available", "you have 2 new
messages", "message from 0 6 1 2..., received on 22 November at 10:30".
"""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

from appliance.settings import Settings
from appliance.voicemail import storage

LANGS = ("fr", "en", "de", "it")

TEMPLATES = {
    "unavailable": {
        "fr": "{who} n'est pas disponible.",
        "en": "{who} is not available.",
        "de": "{who} ist nicht erreichbar.",
        "it": "{who} non è disponibile.",
    },
    "busy": {
        "fr": "{who} est en ligne.",
        "en": "{who} is on the phone.",
        "de": "{who} telefoniert gerade.",
        "it": "{who} è al telefono.",
    },
    "extension": {
        "fr": "Le poste {digits}",
        "en": "Extension {digits}",
        "de": "Nebenstelle {digits}",
        "it": "L'interno {digits}",
    },
    "counts": {
        "fr": "Vous avez {new} nouveaux messages et {saved} messages sauvegardés.",
        "en": "You have {new} new messages and {saved} saved messages.",
        "de": "Sie haben {new} neue Nachrichten und {saved} gespeicherte Nachrichten.",
        "it": "Ha {new} nuovi messaggi e {saved} messaggi salvati.",
    },
    "header": {
        "fr": "Message de {caller}, reçu le {day} {month} à {time}.",
        "en": "Message from {caller}, received on {month} {day} at {time}.",
        "de": "Nachricht von {caller}, empfangen am {day}. {month} um {time}.",
        "it": "Messaggio da {caller}, ricevuto il {day} {month} alle {time}.",
    },
    "unknown": {"fr": "un numéro inconnu", "en": "an unknown number", "de": "unbekannt", "it": "numero sconosciuto"},
}
MONTHS = {
    "fr": "janvier février mars avril mai juin juillet août septembre octobre novembre décembre",
    "en": "January February March April May June July August September October November December",
    "de": "Januar Februar März April Mai Juni Juli August September Oktober November Dezember",
    "it": "gennaio febbraio marzo aprile maggio giugno luglio agosto settembre ottobre novembre dicembre",
}


def lang(language: str) -> str:
    return language if language in LANGS else "en"


def digits(number: str) -> str:
    """'0612' -> '0 6 1 2' (spoken one by one)."""
    return " ".join(c for c in number if c.isdigit() or c == "+")


def text(kind: str, language: str, **values) -> str:
    return TEMPLATES[kind][lang(language)].format(**values)


def who(number: str, name: str, language: str) -> str:
    return name if name and name != number else text("extension", language, digits=digits(number))


def header_text(caller: str, received: dt.datetime, language: str) -> str:
    language = lang(language)
    month = MONTHS[language].split()[received.month - 1]
    return text("header", language, caller=digits(caller) or TEMPLATES["unknown"][language], day=received.day,
                month=month, time=f"{received.hour}:{received.minute:02d}")


def speak(settings: Settings, phrase: str, language: str) -> Path:
    """The WAV of `phrase` spoken in `language` (generated once, then cached)."""
    from appliance.callcore import prompts

    language = lang(language)
    key = hashlib.sha1(phrase.encode()).hexdigest()[:20]
    path = storage.tts_cache(settings, language, key)
    if not path.exists():
        prompts.generate(path, phrase, language)
    return path
