"""A caller in a conference room: PIN, limit, announcements, moderator keys (pure Python, via Channel).

Reached by the dialplan application "conference" (a room by name) and by
dialling a room's number (the generated `internal` procedure).

1. The call is answered. When the room has a PIN (or a moderator PIN), the
   caller hears "conf_enter_pin" and types it then #; the moderator PIN
   gives moderator rights; in a room with only a moderator PIN, # alone
   enters as a participant. Three wrong PINs: "conf_wrong_pin", goodbye,
   hang-up.
2. A room at its limit says "conf_full", a locked one "conf_locked" (a
   moderator still enters), then hangs up.
3. The caller hears how many are already in (announce_count), is put in the
   room, and everyone hears the entry tone (entry_tones).
4. During the conference a moderator's keys: 1 mute all (but moderators),
   2 unmute all, 3 lock the room, 4 unlock it (service.MODERATOR_KEYS).
5. On hang-up (or when removed from the API) the exit tone (exit_tones) is
   played to those left.
"""

from __future__ import annotations

import logging
import math
import struct
import wave
from pathlib import Path

from appliance.callcore.channel import HungUp
from appliance.conference import live, service
from appliance.conference.models import ConferenceRoom
from appliance.dialplan.call import DialplanCall, Stop

log = logging.getLogger(__name__)

PIN_TRIES = 3
PIN_TIMEOUT_S = 8.0
PIN_MAX = 16
COUNT_TEXTS = {
    "fr": "Participants déjà présents : {n}.",
    "en": "Participants already in the conference: {n}.",
    "de": "Bereits in der Konferenz: {n} Teilnehmer.",
    "it": "Partecipanti già presenti: {n}.",
}
# (frequency Hz, seconds) steps of the tones everyone hears when someone enters or leaves.
TONES = {"entry": ((880, 0.12), (1320, 0.12)), "exit": ((1320, 0.12), (880, 0.12))}
TONE_RATE = 16000


def run(call: DialplanCall, room_name: str) -> Stop:
    channel = call.channel
    room = ConferenceRoom.get_or_none(ConferenceRoom.name == room_name)
    if room is None:
        log.warning("conference room %s does not exist", room_name)
        return Stop(404, "Not Found")
    language = room.language or call.language
    channel.answer()
    moderator = ask_pin(call, room, language)
    if moderator is None:
        say(call, "goodbye", language)
        channel.hangup()
        return Stop()
    try:
        count = service.join(room.id, channel.call_id, channel.worker, call.caller, call.caller_name, moderator)
    except service.RoomFull:
        say(call, "conf_full", language)
        channel.hangup()
        return Stop()
    except service.RoomLocked:
        say(call, "conf_locked", language)
        channel.hangup()
        return Stop()
    log.info("%s entered conference %s (%d in it%s)", call.caller, room.name, count,
             ", moderator" if moderator else "")
    entered = False
    try:
        live.notify(call.settings, service.room_workers(room.id), room.id, skip=channel.worker)
        if room.announce_count:
            channel.play(str(count_prompt(call.settings, count - 1, language)))
        channel.conference_enter(room.id)
        entered = True
        if room.entry_tones:
            channel.conference_play(room.id, str(tone_path(call.settings, "entry")))
        while True:
            digit = channel.collect_digits(1, timeout=3600.0, terminator="")
            if moderator and digit in service.MODERATOR_KEYS:
                moderate(call, room, service.MODERATOR_KEYS[digit], language)
    except HungUp:
        pass
    finally:
        try:
            if entered and room.exit_tones:
                channel.conference_play(room.id, str(tone_path(call.settings, "exit")))
        finally:
            left = service.leave(channel.call_id)
            channel.conference_leave()
            if left is not None:
                live.notify(call.settings, left[1], left[0], skip=channel.worker)
            log.info("%s left conference %s", call.caller, room.name)
    return Stop()


def ask_pin(call: DialplanCall, room: ConferenceRoom, language: str) -> bool | None:
    """True for a moderator, False for a participant, None after PIN_TRIES wrong PINs."""
    if not room.pin and not room.moderator_pin:
        return False
    channel = call.channel
    for _ in range(PIN_TRIES):
        channel.play(str(prompt(call, "conf_enter_pin", language)), stop_on_digit=True)
        digits = channel.collect_digits(PIN_MAX, timeout=PIN_TIMEOUT_S)
        if room.moderator_pin and digits == room.moderator_pin:
            return True
        if digits == room.pin:  # "" enters a room that only has a moderator PIN
            return False
        call.trace.step("conference_wrong_pin", room=room.name)
        say(call, "conf_wrong_pin", language)
    return None


def moderate(call: DialplanCall, room: ConferenceRoom, action: str, language: str) -> None:
    settings = call.settings
    if action in ("mute_all", "unmute_all"):
        workers = service.set_all_muted(room.id, action == "mute_all")
        live.notify(settings, workers, room.id)
        say(call, "conf_muted_all" if action == "mute_all" else "conf_unmuted_all", language)
    else:
        service.set_locked(room.id, action == "lock")
        say(call, "conf_lock_on" if action == "lock" else "conf_lock_off", language)
    log.info("conference %s: %s by moderator %s", room.name, action, call.caller)


def prompt(call: DialplanCall, name: str, language: str) -> Path:
    from appliance.callcore.prompts import prompt_path

    return prompt_path(call.settings, name, language)


def say(call: DialplanCall, name: str, language: str) -> None:
    call.channel.play(str(prompt(call, name, language)))


def count_prompt(settings, others: int, language: str) -> Path:
    """"Participants already in the conference: N." (or "you are the first"), generated once per N."""
    from appliance.callcore import prompts

    lang = language if language in prompts.LANGUAGES else "en"
    if others <= 0:
        return prompts.prompt_path(settings, "conf_alone", lang)
    path = settings.sounds_dir / "system" / lang / f"conf_count_{others}.wav"
    if not path.exists():
        prompts.generate(path, COUNT_TEXTS[lang].format(n=others), lang)
    return path


def tone_path(settings, kind: str) -> Path:
    """The entry or exit tone (16 kHz WAV), written once."""
    path = settings.sounds_dir / "system" / f"conf_{kind}.wav"
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    frames = bytearray()
    for freq, seconds in TONES[kind]:
        count = int(TONE_RATE * seconds)
        for i in range(count):
            fade = min(1.0, i / 160, (count - i) / 160)
            frames += struct.pack("<h", int(9000 * fade * math.sin(2 * math.pi * freq * i / TONE_RATE)))
    tmp = path.with_suffix(".tmp")
    with wave.open(str(tmp), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(TONE_RATE)
        w.writeframes(bytes(frames))
    tmp.replace(path)
    return path
