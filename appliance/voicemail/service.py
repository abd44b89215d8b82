"""Voicemail boxes and messages: validation, then one transaction, then files and MWI.

Used by the web UI (settings, the admin's view, the user portal) and by the phone side
(appliance.voicemail.phone, in the call-core workers). Every change of a box's message
counts ends with `changed(settings, box)`: MWI NOTIFY to its phones, best effort.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import subprocess
from pathlib import Path
from typing import BinaryIO

import peewee

from appliance.auth import passwords
from appliance.errors import Conflict, NotFound, ValidationError
from appliance.numbering import EXTENSION_RE, used_by
from appliance.settings import Settings
from appliance.store import database
from appliance.users.models import User
from appliance.voicemail import storage
from appliance.voicemail.models import EMAIL_MODES, FOLDERS, GREETING_KINDS, Box, Message, Subscription

log = logging.getLogger(__name__)

PIN_RE = re.compile(r"^[0-9]{4,8}$")
DEFAULT_QUOTA_MB = 30
DEFAULT_RETENTION_DAYS = 30
MAX_MESSAGE_S = (5, 3600)
QUOTA_MB = (1, 10240)
RETENTION_DAYS = (0, 3650)        # 0: keep messages until deleted
RING_SECONDS = (1, 300)
GREETING_UPLOAD_MAX_BYTES = 10 * 1024 * 1024
GREETING_MAX_S = 120
TTS_TEXT_MAX = 500
MIN_AUDIO_S = 0.3
# What a message costs before it is recorded: the call core records 16 kHz mono 16-bit.
BYTES_PER_SECOND = 32000
WAV_HEADER_BYTES = 44
NAME_MAX = 64
UPLOAD_TYPES = {".wav": None, ".mp3": "mp3", ".al": "al", ".alaw": "al"}
EDITABLE = ("name", "language", "enabled", "pin", "max_message_s", "quota_mb", "retention_days", "announce",
            "ring_seconds", "email_mode", "email_address")


# -- boxes ---------------------------------------------------------------------------------------

def get_box(number: str) -> Box:
    """The box numbered `number`: the user's with that extension (created on first use), else a shared one."""
    number = str(number)
    user = User.get_or_none(User.extension == number)
    if user is not None:
        return box_for_user(user)
    box = Box.get_or_none((Box.number == number) & Box.user.is_null())
    if box is None:
        raise NotFound("voicemail box", number)
    return box


def find_box(number: str) -> Box | None:
    """get_box, or None (unknown number, or a user's box that cannot take its number: logged)."""
    try:
        return get_box(number)
    except NotFound:
        return None
    except Conflict as exc:
        log.error("voicemail box %s: %s", number, exc.message)
        return None


def box_for_user(user: User) -> Box | None:
    """The user's own box, created with defaults on first use (None for a user without an extension).

    Its number follows the user's extension (a user whose extension changed keeps their box).
    """
    box = Box.get_or_none(Box.user == user.id)
    if box is not None:
        return _sync_number(box)
    if not user.extension:
        return None
    _free_number(user.extension)
    try:
        with database.atomic():
            # Off until the user or an admin turns it on: calls then go on ringing as before.
            return Box.create(number=user.extension, user=user.id, enabled=False, quota_mb=DEFAULT_QUOTA_MB,
                              retention_days=DEFAULT_RETENTION_DAYS,
                              email_address=user.email or "")
    except peewee.IntegrityError:
        # Another process created it meanwhile, or a shared box holds the number.
        box = Box.get_or_none(Box.user == user.id)
        if box is None:
            raise Conflict("number", f"a shared voicemail box already has the number {user.extension}") from None
        return box


def _sync_number(box: Box) -> Box:
    if box.user_id is not None:
        extension = box.user.extension
        if extension and extension != box.number:
            _free_number(extension)
            try:
                Box.update(number=extension).where(Box.id == box.id).execute()
                box.number = extension
            except peewee.IntegrityError:
                log.error("voicemail box of %s: the number %s is a shared box's", box.user.login, extension)
    return box


def _free_number(number: str) -> None:
    """A user's box still holding `number` though its user moved to another extension gives it up."""
    for stale in Box.select().where((Box.number == number) & Box.user.is_null(False)):
        if stale.user.extension != number:
            Box.update(number=f"u{stale.id}").where(Box.id == stale.id).execute()


def list_boxes() -> list[Box]:
    """Every box: each phone user's (created on the way) and the shared ones."""
    for user in User.select().where(User.extension.is_null(False) & ~peewee.fn.EXISTS(
            Box.select(Box.id).where(Box.user == User.id))):
        box_for_user(user)
    return sorted((_sync_number(b) for b in Box.select()), key=lambda b: b.number)


def boxes_of(user: User) -> list[Box]:
    """The boxes `user` may read: their own, then the shared ones they subscribe to."""
    own = box_for_user(user)
    subscribed = [s.box for s in Subscription.select().where(Subscription.user == user.id)]
    return ([own] if own is not None else []) + [b for b in subscribed if own is None or b.id != own.id]


def user_may_read(user: User, box: Box) -> bool:
    return box.user_id == user.id or Subscription.select().where(
        (Subscription.user == user.id) & (Subscription.box == box.id)).exists()


def counts(box: Box) -> tuple[int, int]:
    """(new, old): unread messages and read ones (what MWI and the menus announce)."""
    rows = (Message.select(Message.read, peewee.fn.COUNT(Message.id).alias("n"))
            .where(Message.box == box.id).group_by(Message.read))
    found = {bool(r.read): r.n for r in rows}
    return found.get(False, 0), found.get(True, 0)


def used_bytes(settings: Settings, box: Box) -> int:
    return storage.used_bytes(settings, box.id)


def quota_bytes(box: Box) -> int:
    return box.quota_mb * 1024 * 1024


def box_dict(settings: Settings, box: Box, with_subscribers: bool = True) -> dict:
    new, old = counts(box)
    data = {
        "number": box.number,
        "shared": box.shared,
        "owner": box.user.extension if box.user_id is not None else None,
        "display_name": box.display_name,
        "name": box.name,
        "language": box.language,
        "enabled": box.enabled,
        "has_pin": bool(box.pin_hash),
        "max_message_s": box.max_message_s,
        "quota_mb": box.quota_mb,
        "retention_days": box.retention_days,
        "announce": box.announce,
        "ring_seconds": box.ring_seconds,
        "email_mode": box.email_mode,
        "email_address": box.email_address,
        "greetings": {kind: dict(box.greetings[kind]) for kind in GREETING_KINDS if kind in box.greetings},
        "new": new,
        "old": old,
        "used_bytes": used_bytes(settings, box),
        "quota_bytes": quota_bytes(box),
        "revision": box.revision,
    }
    if with_subscribers:
        data["subscribers"] = [s.user.extension for s in Subscription.select().where(Subscription.box == box.id)
                               if s.user.extension]
    return data


def create_shared_box(data: object) -> Box:
    """A shared box (no owner): users subscribe to it ("subscribers": [extensions]).

    A user's own box may have subscribers too (a secretary reading her boss's messages).
    """
    data = _object(data)
    unknown = set(data) - set(EDITABLE) - {"number", "subscribers"}
    if unknown:
        raise ValidationError(sorted(unknown)[0], "is not a field of a voicemail box")
    number = _box_number(data.get("number"))
    values = _validated(data)
    subscribers = _subscribers(data["subscribers"]) if "subscribers" in data else []
    try:
        with database.atomic():
            box = Box.create(number=number, **values)
            for user in subscribers:
                Subscription.create(box=box.id, user=user.id)
    except peewee.IntegrityError:
        raise ValidationError("number", f"a voicemail box numbered {number} already exists") from None
    return box


def update_box(number: str, data: object) -> Box:
    """Change a box's settings (a PUT with a stale "revision" is refused)."""
    data = _object(data)
    box = get_box(number)
    unknown = set(data) - set(EDITABLE) - {"revision", "subscribers"}
    if unknown:
        raise ValidationError(sorted(unknown)[0], "is not a field of a voicemail box")
    values = _validated(data, box)
    subscribers = _subscribers(data["subscribers"]) if "subscribers" in data else None
    if subscribers and box.user_id is not None and any(u.id == box.user_id for u in subscribers):
        raise ValidationError("subscribers", "the owner reads their own box already")
    with database.atomic():
        if "revision" in data:
            if str(data["revision"]) != str(box.revision):
                raise Conflict("revision", "this voicemail box was changed meanwhile: reload it")
        values["revision"] = box.revision + 1
        values["updated_at"] = dt.datetime.utcnow()
        Box.update(**values).where(Box.id == box.id).execute()
        if subscribers is not None:
            Subscription.delete().where(Subscription.box == box.id).execute()
            for user in subscribers:
                Subscription.create(box=box.id, user=user.id)
    return Box.get_by_id(box.id)


def delete_box(settings: Settings, number: str, confirm: bool = False) -> None:
    """Delete a shared box, or empty a user's (its settings go back to defaults), with its files.

    A box holding messages is only deleted with confirm=True (else Conflict "confirm": the UI asks).
    """
    box = get_box(number)
    held = Message.select().where(Message.box == box.id).count()
    if held and not confirm:
        raise Conflict("confirm", f"the voicemail box {box.number} holds {held} message(s): "
                                  "confirm to delete them too")
    with database.atomic():
        Box.delete().where(Box.id == box.id).execute()
    storage.remove_box_files(settings, box.id)
    log.info("voicemail box %s deleted (%d messages)", box.number, held)
    if box.user_id is not None:
        _notify_mwi(settings, [box.user.extension])


def _object(data: object) -> dict:
    if not isinstance(data, dict):
        raise ValidationError("body", "must be a JSON object")
    return data


def _box_number(value: object) -> str:
    text = str(value).strip() if isinstance(value, (str, int)) and not isinstance(value, bool) else ""
    if not text:
        raise ValidationError("number", "is required")
    if not EXTENSION_RE.match(text):
        raise ValidationError("number", "must be 2 to 8 digits")
    taken = used_by(text)
    if taken:
        raise ValidationError("number", f"{text} is already {taken}")
    return text


def _subscribers(value: object) -> list[User]:
    items = value.replace(",", " ").split() if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
        raise ValidationError("subscribers", "must be a list of extensions")
    users = []
    for position, ext in enumerate(dict.fromkeys(items)):
        user = User.get_or_none(User.extension == ext)
        if user is None:
            raise ValidationError(f"subscribers.{position}", f"no user has the extension {ext!r}")
        users.append(user)
    return users


def _validated(data: dict, box: Box | None = None) -> dict:
    from appliance.callcore.prompts import LANGUAGES

    values: dict = {}
    if "name" in data:
        name = data["name"]
        if not isinstance(name, str) or len(name.strip()) > NAME_MAX or any(c in name for c in '"<>\\'):
            raise ValidationError("name", f"must be text of at most {NAME_MAX} characters, without \" < > \\")
        values["name"] = name.strip()
    if "language" in data:
        if data["language"] not in ("", *LANGUAGES):
            raise ValidationError("language", "must be one of " + ", ".join(LANGUAGES) + " (or empty)")
        values["language"] = data["language"]
    for field in ("enabled", "announce"):
        if field in data:
            values[field] = _bool(field, data[field])
    if "pin" in data and data["pin"] not in (None, ""):
        values["pin_hash"] = passwords.hash_password(check_pin_format(data["pin"]))
    for field, (low, high) in (("max_message_s", MAX_MESSAGE_S), ("quota_mb", QUOTA_MB),
                               ("retention_days", RETENTION_DAYS), ("ring_seconds", RING_SECONDS)):
        if field in data:
            values[field] = _int(field, data[field], low, high)
    mode = data.get("email_mode", box.email_mode if box is not None else "none")
    if "email_mode" in data and mode not in EMAIL_MODES:
        raise ValidationError("email_mode", "must be one of " + ", ".join(EMAIL_MODES))
    if "email_mode" in data:
        values["email_mode"] = mode
    if "email_address" in data:
        address = data["email_address"]
        if address is None:
            address = ""
        if not isinstance(address, str):
            raise ValidationError("email_address", "must be an email address")
        address = address.strip()
        if address:
            from appliance.users.service import EMAIL_MAX, EMAIL_RE

            if len(address) > EMAIL_MAX or not EMAIL_RE.match(address):
                raise ValidationError("email_address", "is not a valid email address")
        values["email_address"] = address
    address = values.get("email_address", box.email_address if box is not None else "")
    if mode != "none" and not address:
        raise ValidationError("email_address", "is required to send voicemail by email")
    return values


def check_pin_format(pin: object, field: str = "pin") -> str:
    if isinstance(pin, int) and not isinstance(pin, bool):
        raise ValidationError(field, "must be text (a PIN may start with 0)")
    if not isinstance(pin, str) or not PIN_RE.match(pin):
        raise ValidationError(field, "must be 4 to 8 digits")
    return pin


def _bool(field: str, value: object) -> bool:
    if isinstance(value, bool):
        return value
    if value in ("true", "1", "on", 1):
        return True
    if value in ("false", "0", "off", 0, ""):
        return False
    raise ValidationError(field, "must be true or false")


def _int(field: str, value: object, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, str)) or not str(value).strip().isdecimal():
        raise ValidationError(field, "must be a whole number")
    number = int(value)
    if not low <= number <= high:
        raise ValidationError(field, f"must be between {low} and {high}")
    return number


# -- PIN -----------------------------------------------------------------------------------------

def set_pin(box: Box, pin: str) -> None:
    check_pin_format(pin)
    Box.update(pin_hash=passwords.hash_password(pin), revision=Box.revision + 1,
               updated_at=dt.datetime.utcnow()).where(Box.id == box.id).execute()
    box.pin_hash = Box.get_by_id(box.id).pin_hash


def check_pin(box: Box, pin: str) -> bool:
    return bool(pin) and passwords.verify_password(pin, box.pin_hash)


# -- greetings -----------------------------------------------------------------------------------

def _greeting_kind(kind: str) -> str:
    if kind not in GREETING_KINDS:
        raise ValidationError("kind", "must be one of " + ", ".join(GREETING_KINDS))
    return kind


def greeting_file(settings: Settings, box: Box, kind: str) -> Path | None:
    """The box's own greeting of `kind`, if it has one."""
    if kind not in box.greetings:
        return None
    path = storage.greeting_path(settings, box.id, kind)
    return path if path.is_file() else None


def _set_greeting(settings: Settings, box: Box, kind: str, wav: Path, source: str, text: str = "") -> None:
    from appliance.sounds import library

    seconds = library.duration(wav)
    if seconds < MIN_AUDIO_S:
        raise ValidationError({"uploaded": "file", "tts": "text", "recorded": "recording"}[source], "holds no audio")
    if seconds > GREETING_MAX_S:
        raise ValidationError({"uploaded": "file", "tts": "text", "recorded": "recording"}[source],
                              f"is longer than {GREETING_MAX_S} seconds")
    storage.place(wav, storage.greeting_path(settings, box.id, kind))
    with database.atomic():
        current = Box.get_by_id(box.id)
        greetings = dict(current.greetings)
        greetings[kind] = {"source": source, "text": text}
        Box.update(greetings=greetings, revision=Box.revision + 1,
                   updated_at=dt.datetime.utcnow()).where(Box.id == box.id).execute()
    box.greetings = greetings


def upload_greeting(settings: Settings, box: Box, kind: str, filename: str,
                    stream: BinaryIO | bytes | None) -> None:
    """A greeting from an uploaded audio file (WAV, MP3, A-law), converted with sox."""
    from appliance.sounds import library

    _greeting_kind(kind)
    if stream is None or not filename:
        raise ValidationError("file", "is required: choose a sound file")
    suffix = Path(str(filename)).suffix.lower()
    if suffix not in UPLOAD_TYPES:
        raise ValidationError("file", f"must be a .wav, .mp3, .al or .alaw file (got {suffix or 'no extension'})")
    file_type = UPLOAD_TYPES[suffix]
    tmp = storage.scratch(settings, box.id)
    try:
        source = tmp / f"upload{suffix}"
        size = _save_stream(stream, source)
        if size == 0:
            raise ValidationError("file", "is empty")
        converted = tmp / "converted.wav"
        try:
            library.convert(source, converted, file_type, rate=8000 if file_type == "al" else None)
        except library.SoxError as exc:
            raise ValidationError("file", f"cannot be read as audio ({exc.message})") from None
        _set_greeting(settings, box, kind, converted, "uploaded")
    finally:
        storage.remove_scratch(tmp)


def tts_greeting(settings: Settings, box: Box, kind: str, text: object, language: str = "") -> None:
    from appliance.callcore import prompts

    _greeting_kind(kind)
    if not isinstance(text, str) or not text.strip():
        raise ValidationError("text", "is required: type what the voice should say")
    if len(text) > TTS_TEXT_MAX:
        raise ValidationError("text", f"is longer than {TTS_TEXT_MAX} characters")
    language = language or box.prompt_language
    if language not in prompts.LANGUAGES:
        raise ValidationError("language", "must be one of " + ", ".join(prompts.LANGUAGES))
    tmp = storage.scratch(settings, box.id)
    try:
        spoken = tmp / "tts.wav"
        try:
            prompts.generate(spoken, text.strip(), language)
        except (OSError, subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
            log.error("voicemail greeting text-to-speech failed: %s", exc)
            raise ValidationError("text", "could not be spoken (espeak-ng or sox failed: see the log)") from None
        _set_greeting(settings, box, kind, spoken, "tts", text.strip())
    finally:
        storage.remove_scratch(tmp)


def recorded_greeting(settings: Settings, box: Box, kind: str, recorded: Path) -> None:
    """A greeting the owner recorded from the phone (the call core's WAV, already 16 kHz)."""
    _set_greeting(settings, box, _greeting_kind(kind), recorded, "recorded")


def delete_greeting(settings: Settings, box: Box, kind: str) -> None:
    _greeting_kind(kind)
    with database.atomic():
        current = Box.get_by_id(box.id)
        greetings = {k: v for k, v in current.greetings.items() if k != kind}
        Box.update(greetings=greetings, revision=Box.revision + 1).where(Box.id == box.id).execute()
    box.greetings = greetings
    storage.greeting_path(settings, box.id, kind).unlink(missing_ok=True)


def _save_stream(stream: BinaryIO | bytes, target: Path) -> int:
    """Copy the upload to `target`; ValidationError as soon as it is over the limit."""
    too_large = ValidationError("file", f"is larger than {GREETING_UPLOAD_MAX_BYTES // (1024 * 1024)} MB")
    if isinstance(stream, (bytes, bytearray)):
        if len(stream) > GREETING_UPLOAD_MAX_BYTES:
            raise too_large
        target.write_bytes(stream)
        return len(stream)
    size = 0
    with open(target, "wb") as out:
        while True:
            chunk = stream.read(256 * 1024)
            if not chunk:
                break
            size += len(chunk)
            if size > GREETING_UPLOAD_MAX_BYTES:
                raise too_large
            out.write(chunk)
    return size


# -- messages ------------------------------------------------------------------------------------

def room_seconds(settings: Settings, box: Box) -> float:
    """How many seconds of message still fit in the box's quota (0: full), capped by max_message_s.

    Messages past the box's retention go first.
    """
    purge_box(settings, box)
    free = quota_bytes(box) - used_bytes(settings, box) - WAV_HEADER_BYTES
    return max(0.0, min(float(box.max_message_s), free / BYTES_PER_SECOND))


def store_message(settings: Settings, box: Box, recorded: Path, caller: str, caller_name: str,
                  received_at: dt.datetime, urgent: bool = False) -> Message | None:
    """Move a finished recording into the box; None when it holds no audio or does not fit the quota."""
    from appliance.sounds import library

    seconds = library.duration(recorded) if recorded.is_file() else 0.0
    if seconds < MIN_AUDIO_S:
        recorded.unlink(missing_ok=True)
        return None
    size = recorded.stat().st_size
    if used_bytes(settings, box) + size > quota_bytes(box):
        log.warning("voicemail box %s: a message of %d bytes does not fit the quota", box.number, size)
        recorded.unlink(missing_ok=True)
        return None
    relative = storage.new_message_file(box.id)
    target = storage.message_path(settings, relative)
    storage.place(recorded, target)
    try:
        with database.atomic():
            message = Message.create(box=box.id, folder="new", read=False, urgent=urgent, caller=caller[:64],
                                     caller_name=caller_name[:128], received_at=_naive_utc(received_at),
                                     duration=round(seconds, 1), size_bytes=size, file=relative)
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    log.info("voicemail box %s: new message %d from %s (%.1f s)", box.number, message.id, caller, seconds)
    changed(settings, box)
    try:
        from appliance.voicemail import email

        email.on_new_message(settings, box, message)
    except Exception:  # noqa: BLE001 -- a message is never lost because email failed
        log.exception("voicemail box %s: email of message %d failed", box.number, message.id)
    return message


def _naive_utc(when: dt.datetime) -> dt.datetime:
    if when.tzinfo is not None:
        when = when.astimezone(dt.UTC).replace(tzinfo=None)
    return when


def list_messages(box: Box, folder: str | None = None) -> list[Message]:
    query = Message.select().where(Message.box == box.id)
    if folder:
        query = query.where(Message.folder == folder)
    return list(query.order_by(Message.urgent.desc(), Message.received_at, Message.id))


def get_message(box: Box, message_id: int | str) -> Message:
    try:
        key = int(message_id)
    except (TypeError, ValueError):
        raise NotFound("voicemail message", str(message_id)) from None
    message = Message.get_or_none((Message.id == key) & (Message.box == box.id))
    if message is None:
        raise NotFound("voicemail message", str(message_id))
    return message


def message_dict(message: Message) -> dict:
    return {
        "id": message.id,
        "folder": message.folder,
        "read": message.read,
        "urgent": message.urgent,
        "caller": message.caller,
        "caller_name": message.caller_name,
        "received_at": message.received_at.replace(tzinfo=dt.UTC).isoformat(),
        "duration": message.duration,
        "size_bytes": message.size_bytes,
        "email_state": message.email_state,
    }


def message_file(settings: Settings, message: Message) -> Path:
    path = storage.message_path(settings, message.file)
    if not path.is_file():
        raise NotFound("voicemail message file", str(message.id))
    return path


def update_message(settings: Settings, box: Box, message: Message, data: object) -> Message:
    """Mark read/unread, move between folders, flag urgent."""
    data = _object(data)
    unknown = set(data) - {"read", "folder", "urgent"}
    if unknown:
        raise ValidationError(sorted(unknown)[0], "is not a field of a message (read, folder, urgent)")
    values = {}
    for field in ("read", "urgent"):
        if field in data:
            values[field] = _bool(field, data[field])
    if "folder" in data:
        if data["folder"] not in FOLDERS:
            raise ValidationError("folder", "must be one of " + ", ".join(FOLDERS))
        values["folder"] = data["folder"]
    if values:
        Message.update(**values).where(Message.id == message.id).execute()
        changed(settings, box)
    return Message.get_by_id(message.id)


def mark(settings: Settings, box: Box, message: Message, **values) -> None:
    Message.update(**values).where(Message.id == message.id).execute()
    for key, value in values.items():
        setattr(message, key, value)
    changed(settings, box)


def delete_message(settings: Settings, box: Box, message: Message, notify: bool = True) -> None:
    Message.delete().where(Message.id == message.id).execute()
    try:
        storage.message_path(settings, message.file).unlink(missing_ok=True)
    except ValueError:
        log.error("voicemail message %d: file %r outside the voicemail folder", message.id, message.file)
    log.info("voicemail box %s: message %d deleted", box.number, message.id)
    if notify:
        changed(settings, box)


def purge_box(settings: Settings, box: Box, now: dt.datetime | None = None) -> int:
    """Delete the box's messages older than its retention (0 days: kept); return how many went."""
    if box.retention_days <= 0:
        return 0
    cutoff = _naive_utc(now or dt.datetime.now(dt.UTC)) - dt.timedelta(days=box.retention_days)
    old = list(Message.select().where((Message.box == box.id) & (Message.received_at < cutoff)))
    for message in old:
        delete_message(settings, box, message, notify=False)
    if old:
        log.info("voicemail box %s: %d message(s) older than %d days purged", box.number, len(old),
                 box.retention_days)
        changed(settings, box)
    return len(old)


def purge(settings: Settings, now: dt.datetime | None = None) -> int:
    """Retention for every box, and the folders of boxes that no longer exist; return messages purged.

    Run when a box is used (a message left, a login, the web pages): no scheduler needed.
    """
    gone = sum(purge_box(settings, box, now) for box in Box.select().where(Box.retention_days > 0))
    root = storage.root(settings)
    if root.is_dir():
        known = {str(row[0]) for row in Box.select(Box.id).tuples()}
        for folder in root.iterdir():
            if folder.is_dir() and folder.name.isdecimal() and folder.name not in known:
                storage.remove_box_files(settings, int(folder.name))
    return gone


# -- message waiting -----------------------------------------------------------------------------

def mwi_targets(box: Box) -> list[str]:
    """The extensions whose phones show this box's message-waiting light: its owner and subscribers."""
    targets = [box.user.extension] if box.user_id is not None and box.user.extension else []
    for sub in Subscription.select().where(Subscription.box == box.id):
        if sub.user.extension and sub.user.extension not in targets:
            targets.append(sub.user.extension)
    return targets


def changed(settings: Settings, box: Box) -> None:
    """The box's counts may have changed: tell the phones of its owner and subscribers (background)."""
    _notify_mwi(settings, mwi_targets(box))


def summary_for(user: User) -> tuple[int, int]:
    """(new, old) a user's phones show: their own box (if it exists) and the shared ones they subscribe to.

    Never creates a box (the MWI thread calls it, also right after a box was deleted).
    """
    boxes = list(Box.select().where(Box.user == user.id))
    boxes += [s.box for s in Subscription.select().where(Subscription.user == user.id)]
    new = old = 0
    for seen in {b.id: b for b in boxes}.values():
        n, o = counts(seen)
        new, old = new + n, old + o
    return new, old


def _notify_mwi(settings: Settings, extensions: list[str]) -> None:
    from appliance.voicemail import mwi

    mwi.notify_async(settings, extensions)
