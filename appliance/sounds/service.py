"""Sounds: upload, text-to-speech, recording by phone, delete; music-on-hold classes.

Every sound ends up as a WAV the call core plays as is (16 kHz mono 16-bit,
appliance.sounds.library), whatever it came from:

    upload      .wav (PCM or A-law/µ-law WAV), .mp3, .al/.alaw (raw A-law, 8 kHz),
                at most UPLOAD_MAX_BYTES, converted with sox;
    tts         text spoken by espeak-ng in fr/en/de/it (appliance.callcore.prompts);
    recording   the appliance calls a phone, which records after the tone
                (`start_recording`, then `record_job` runs in the call core).

A sound is a prompt (played by applications) or a music-on-hold track of a
class. Names follow the dialplan's rule (NAME_RE) and are unique. Deleting
a sound or a class still used by the dialplan is refused (409 naming where).
Configuration writes move the dialplan revision (bump_revision).
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import BinaryIO

import peewee

from appliance.callcore import prompts
from appliance.dialplan.models import NAME_RE, bump_revision
from appliance.dialplan.references import refuse_if_used
from appliance.errors import Conflict, NotFound, ValidationError
from appliance.settings import Settings
from appliance.sounds import library
from appliance.sounds.models import MohClass, Sound
from appliance.store import database

log = logging.getLogger(__name__)

UPLOAD_MAX_BYTES = 10 * 1024 * 1024
# sox's input type per file extension (None: read the WAV header); raw A-law is 8 kHz mono.
UPLOAD_TYPES: dict[str, str | None] = {".wav": None, ".mp3": "mp3", ".al": "al", ".alaw": "al"}
KINDS = ("prompt", "moh")
ORIGINS = ("upload", "tts", "recording")
DESCRIPTION_MAX = 255
TTS_TEXT_MAX = 1000
RECORD_MAX_S = 120
MIN_AUDIO_S = 0.3
NAME_PATTERN = re.compile(NAME_RE)
# What the called phone shows when the appliance calls to record a sound.
RECORD_CALLER_NAME = "Sound recording"
RECORD_CALLER_NUMBER = "sounds"


# -- reading ----------------------------------------------------------------------------------

def list_sounds() -> list[Sound]:
    return list(Sound.select().order_by(Sound.kind.desc(), Sound.moh_class, Sound.name))


def get_sound(name: str) -> Sound:
    row = Sound.get_or_none(Sound.name == str(name))
    if row is None:
        raise NotFound("sound", str(name)[:64])
    return row


def sound_dict(row: Sound) -> dict:
    return {"name": row.name, "description": row.description, "kind": row.kind,
            "moh_class": row.moh_class if row.kind == "moh" else None, "origin": row.origin,
            "language": row.language, "tts_text": row.tts_text, "duration_s": round(row.duration_s, 2),
            "size_bytes": row.size_bytes,
            "created_at": row.created_at.isoformat(timespec="seconds") + "Z" if row.created_at else None}


def list_moh_classes() -> list[dict]:
    """Every class with its track count (the generated track of "default" included)."""
    counts = dict(Sound.select(Sound.moh_class, peewee.fn.COUNT(Sound.id)).where(Sound.kind == "moh")
                  .group_by(Sound.moh_class).tuples())
    return [{"name": c.name, "description": c.description,
             "tracks": counts.get(c.name, 0) + (1 if c.name == library.DEFAULT_CLASS else 0)}
            for c in MohClass.select().order_by(MohClass.name)]


# -- validation -----------------------------------------------------------------------------------

def _text(data: dict, field: str, maximum: int, default: str = "") -> str:
    value = data.get(field, default)
    if value is None:
        return default
    if not isinstance(value, str):
        raise ValidationError(field, "must be text")
    value = value.strip()
    if len(value) > maximum:
        raise ValidationError(field, f"is longer than {maximum} characters")
    return value


def _new_name(data: dict) -> str:
    name = data.get("name")
    if name is None or name == "":
        raise ValidationError("name", "is required")
    if not isinstance(name, str) or not NAME_PATTERN.match(name):
        raise ValidationError("name", "must be 1 to 64 lower-case letters, digits, - or _, starting with a "
                                      "letter or digit")
    if Sound.select(Sound.id).where(Sound.name == name).exists():
        raise ValidationError("name", f"a sound named {name!r} already exists")
    return name


def _kind_and_class(data: dict) -> tuple[str, str | None]:
    kind = data.get("kind") or "prompt"
    if kind not in KINDS:
        raise ValidationError("kind", "must be prompt or moh")
    moh_class = data.get("moh_class") or None
    if kind == "prompt":
        if moh_class is not None:
            raise ValidationError("moh_class", "is only for music on hold (kind moh)")
        return kind, None
    moh_class = moh_class or library.DEFAULT_CLASS
    if not isinstance(moh_class, str) or not MohClass.select(MohClass.id).where(MohClass.name == moh_class).exists():
        raise ValidationError("moh_class", f"there is no music class named {str(moh_class)[:64]!r}")
    return kind, moh_class


def _language(data: dict, field: str = "language", required: bool = False) -> str:
    value = data.get(field) or ""
    if not value and not required:
        return ""
    if value not in prompts.LANGUAGES:
        raise ValidationError(field, "must be one of " + ", ".join(prompts.LANGUAGES))
    return value


def _check_fields(data: object, allowed: tuple[str, ...]) -> dict:
    if not isinstance(data, dict):
        raise ValidationError("body", "must be an object")
    for key in data:
        if key not in allowed:
            raise ValidationError(str(key)[:64], "is not a known field")
    return data


# -- creating -----------------------------------------------------------------------------------

UPLOAD_FIELDS = ("name", "description", "kind", "moh_class", "language")
TTS_FIELDS = ("name", "description", "kind", "moh_class", "language", "text")


def upload_sound(settings: Settings, data: dict, filename: str, stream: BinaryIO | bytes | None) -> Sound:
    """A sound from an uploaded file (see UPLOAD_TYPES); ValidationError "file" when it cannot be used."""
    data = _check_fields(data, UPLOAD_FIELDS)
    name = _new_name(data)
    description = _text(data, "description", DESCRIPTION_MAX)
    kind, moh_class = _kind_and_class(data)
    language = _language(data)
    if stream is None or not filename:
        raise ValidationError("file", "is required: choose a sound file")
    suffix = Path(str(filename)).suffix.lower()
    if suffix not in UPLOAD_TYPES:
        raise ValidationError("file", "must be a .wav, .mp3, .al or .alaw file (got "
                                      f"{suffix or 'no extension'})")
    file_type = UPLOAD_TYPES[suffix]
    if file_type == "mp3" and "mp3" not in library.sox_formats():
        raise ValidationError("file", "MP3 files cannot be read on this appliance (sox has no MP3 support: "
                                      "install libsox-fmt-mp3); upload a WAV file instead")
    with _scratch(settings) as tmp:
        source = tmp / f"upload{suffix}"
        size = _save_stream(stream, source)
        if size == 0:
            raise ValidationError("file", "is empty")
        converted = tmp / "converted.wav"
        try:
            library.convert(source, converted, file_type, rate=8000 if file_type == "al" else None)
        except library.SoxError as exc:
            what = {"mp3": "MP3", "al": "raw A-law"}.get(file_type or "", "WAV")
            raise ValidationError("file", f"cannot be read as {what} audio ({exc.message})") from None
        return _store(settings, name, converted, description=description, kind=kind, moh_class=moh_class,
                      origin="upload", language=language)


def create_tts(settings: Settings, data: dict) -> Sound:
    """A sound spoken by espeak-ng from `text` in `language`."""
    data = _check_fields(data, TTS_FIELDS)
    name = _new_name(data)
    description = _text(data, "description", DESCRIPTION_MAX)
    kind, moh_class = _kind_and_class(data)
    language = _language(data, required=True)
    text = _text(data, "text", TTS_TEXT_MAX)
    if not text:
        raise ValidationError("text", "is required: type what the voice should say")
    with _scratch(settings) as tmp:
        spoken = tmp / "tts.wav"
        try:
            prompts.generate(spoken, text, language)
        except (OSError, subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
            log.error("text-to-speech failed: %s", exc)
            raise ValidationError("text", "could not be spoken (espeak-ng or sox failed: see the log)") from None
        return _store(settings, name, spoken, description=description, kind=kind, moh_class=moh_class,
                      origin="tts", language=language, tts_text=text)


def store_recording(settings: Settings, name: str, recorded: Path, description: str, language: str) -> Sound:
    """A prompt from what a phone recorded (the call core's WAV), converted like an upload."""
    _new_name({"name": name})
    with _scratch(settings) as tmp:
        converted = tmp / "converted.wav"
        try:
            library.convert(recorded, converted)
        except library.SoxError as exc:
            raise ValidationError("recording", f"cannot be read ({exc.message})") from None
        return _store(settings, name, converted, description=description, kind="prompt", moh_class=None,
                      origin="recording", language=language)


def _store(settings: Settings, name: str, wav: Path, *, description: str, kind: str, moh_class: str | None,
           origin: str, language: str, tts_text: str = "") -> Sound:
    """Move a converted WAV into place and write its row (one transaction); the file goes if the row fails."""
    seconds = library.duration(wav)
    if seconds < MIN_AUDIO_S:
        field = {"upload": "file", "tts": "text", "recording": "recording"}[origin]
        raise ValidationError(field, "holds no audio" if origin != "recording"
                              else "nothing was recorded (hang up or press # after speaking)")
    relative = library.custom_file(name) if kind == "prompt" else library.moh_file(moh_class, name)
    target = settings.sounds_dir / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(wav, target)
    try:
        with database.atomic():
            row = Sound.create(name=name, description=description, kind=kind, moh_class=moh_class, origin=origin,
                               language=language, tts_text=tts_text, file=relative, duration_s=seconds,
                               size_bytes=target.stat().st_size)
            bump_revision()
    except peewee.IntegrityError:
        target.unlink(missing_ok=True)
        raise ValidationError("name", f"a sound named {name!r} already exists") from None
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    log.info("sound %s saved (%s, %s, %.1f s)", name, kind, origin, seconds)
    return row


class _scratch:
    """A temporary directory beside the sounds (same file system: files move into place atomically)."""

    def __init__(self, settings: Settings):
        self.base = settings.sounds_dir / "tmp"

    def __enter__(self) -> Path:
        self.base.mkdir(parents=True, exist_ok=True)
        self.path = Path(tempfile.mkdtemp(dir=self.base))
        return self.path

    def __exit__(self, *exc) -> None:
        shutil.rmtree(self.path, ignore_errors=True)


def _save_stream(stream: BinaryIO | bytes, target: Path) -> int:
    """Copy the upload to `target`; ValidationError as soon as it is over UPLOAD_MAX_BYTES."""
    if isinstance(stream, (bytes, bytearray)):
        if len(stream) > UPLOAD_MAX_BYTES:
            raise _too_large()
        target.write_bytes(stream)
        return len(stream)
    size = 0
    with open(target, "wb") as out:
        while True:
            chunk = stream.read(256 * 1024)
            if not chunk:
                break
            size += len(chunk)
            if size > UPLOAD_MAX_BYTES:
                raise _too_large()
            out.write(chunk)
    return size


def _too_large() -> ValidationError:
    return ValidationError("file", f"is larger than {UPLOAD_MAX_BYTES // (1024 * 1024)} MB")


# -- changing and deleting ------------------------------------------------------------------------

def update_sound(name: str, data: dict) -> Sound:
    """Change the description (the only editable field: the audio itself is replaced by a new sound)."""
    data = _check_fields(data, ("description",))
    row = get_sound(name)
    if "description" in data:
        description = _text(data, "description", DESCRIPTION_MAX)
        if description != row.description:
            with database.atomic():
                Sound.update(description=description).where(Sound.id == row.id).execute()
                bump_revision()
            row.description = description
    return row


def delete_sound(settings: Settings, name: str) -> None:
    """Delete a sound and its file; Conflict naming where the dialplan still uses it."""
    row = get_sound(name)
    with database.atomic():
        refuse_if_used("sound", row.name)
        Sound.delete().where(Sound.id == row.id).execute()
        bump_revision()
    try:
        (settings.sounds_dir / row.file).unlink(missing_ok=True)
    except OSError:
        log.exception("sound %s deleted; its file %s could not be removed", name, row.file)


def create_moh_class(data: dict) -> MohClass:
    data = _check_fields(data, ("name", "description"))
    name = data.get("name")
    if not name:
        raise ValidationError("name", "is required")
    if not isinstance(name, str) or not NAME_PATTERN.match(name):
        raise ValidationError("name", "must be 1 to 64 lower-case letters, digits, - or _, starting with a "
                                      "letter or digit")
    description = _text(data, "description", DESCRIPTION_MAX)
    try:
        with database.atomic():
            row = MohClass.create(name=name, description=description)
            bump_revision()
    except peewee.IntegrityError:
        raise ValidationError("name", f"a music class named {name!r} already exists") from None
    return row


def delete_moh_class(settings: Settings, name: str) -> None:
    """Delete an empty music class no procedure uses; "default" always stays."""
    row = MohClass.get_or_none(MohClass.name == str(name))
    if row is None:
        raise NotFound("music class", str(name)[:64])
    if row.name == library.DEFAULT_CLASS:
        raise Conflict("name", "the default music class cannot be deleted")
    with database.atomic():
        refuse_if_used("moh_class", row.name)
        tracks = Sound.select().where((Sound.kind == "moh") & (Sound.moh_class == row.name)).count()
        if tracks:
            raise Conflict("name", f"music class {row.name} still holds {tracks} track(s): delete them first")
        MohClass.delete().where(MohClass.id == row.id).execute()
        bump_revision()
    shutil.rmtree(settings.sounds_dir / "moh" / row.name, ignore_errors=True)


# -- recording by phone ------------------------------------------------------------------------------

RECORD_FIELDS = ("name", "extension", "description")


def start_recording(settings: Settings, data: dict) -> str:
    """Have the appliance call `extension` to record prompt `name`; returns the job id to follow.

    The phone rings; when answered it hears "record after the tone", a beep,
    and what is said until # or hang-up (at most RECORD_MAX_S) becomes the
    sound. Follow it with appliance.callcore.originate.job_status.
    CallCoreError when the call core cannot place the call now.
    """
    from appliance.callcore import originate
    from appliance.users.models import User

    data = _check_fields(data, RECORD_FIELDS)
    name = _new_name(data)
    description = _text(data, "description", DESCRIPTION_MAX)
    extension = data.get("extension")
    if not extension:
        raise ValidationError("extension", "is required: the phone the appliance should call")
    if not isinstance(extension, str) or not User.select(User.id).where(User.extension == extension).exists():
        raise ValidationError("extension", f"no user has the extension {str(extension)[:32]!r}")
    return originate.originate(settings, extension, "record_sound", caller_name=RECORD_CALLER_NAME,
                               caller_number=RECORD_CALLER_NUMBER, name=name, description=description)


def record_job(job, channel) -> dict:
    """In the call core, once the called phone answered: prompt, beep, record, store the sound."""
    from appliance.callcore.channel import HungUp

    settings = job.settings
    name = job.params["name"]
    channel.play(str(prompts.prompt_path(settings, "record_after_tone", job.language)))
    channel.play(str(library.beep_path(settings)))
    job.update("recording")
    with _scratch(settings) as tmp:
        recorded = tmp / "recorded.wav"
        seconds = channel.record(str(recorded), max_seconds=RECORD_MAX_S, stop_digits="#")
        job.update("saving", recorded_s=round(seconds, 1))
        if not recorded.exists():
            raise ValidationError("recording", "nothing was recorded")
        row = store_recording(settings, name, recorded, job.params.get("description") or "", job.language)
    if channel.is_up:
        try:
            channel.play(str(prompts.prompt_path(settings, "goodbye", job.language)))
        except HungUp:
            pass
    return {"sound": row.name, "duration_s": round(row.duration_s, 2)}
