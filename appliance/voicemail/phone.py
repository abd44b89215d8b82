"""The phone side of voicemail: leaving a message, and the listening menu.

Driven by the dialplan applications of appliance/dialplan/apps/voicemail.py, through the
Channel API only (answer, play, collect_digits, record).

Leaving a message: the box's greeting (its own recording, else "<name> is not available" and
"leave your message after the tone"); `#` skips the greeting, `*` logs in to the box; a beep,
then the recording until `#`, hang-up, the box's maximum length or what its quota still holds.
A full box tells the caller and stores nothing.

Listening (PIN asked; three wrong ones end the call):
    main menu     1 new messages, 2 saved messages, 0 mailbox options, * or # goodbye
    per message   5 replay, 4 previous, 6 next, 7 delete, 9 save, 3 call back, * main menu
    options       1 unavailable greeting, 2 busy greeting, 3 name, 4 change PIN, * back
"""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

from appliance.dialplan.call import DialplanCall, Goto, Stop
from appliance.errors import ValidationError
from appliance.voicemail import phrases, service, storage
from appliance.voicemail.models import Box, Message

log = logging.getLogger(__name__)

PIN_ATTEMPTS = 3
DIGIT_TIMEOUT_S = 6.0
MENU_TIMEOUTS = 2
GREETING_RECORD_MAX_S = 60
KEY_WAIT_S = 0.15      # after a prompt that stops on a key: read the key that stopped it


class _Exit(Exception):
    """The caller chose to leave (or stayed silent): say goodbye and hang up."""


class Session:
    """One caller in front of one box."""

    def __init__(self, call: DialplanCall, box: Box | None = None):
        self.call = call
        self.channel = call.channel
        self.settings = call.settings
        self.box = box
        self.language = box.prompt_language if box is not None else call.language

    # -- sound helpers -------------------------------------------------------------------
    def ensure_answered(self) -> None:
        if not self.channel.answered:
            self.channel.answer()

    def prompt(self, name: str, interruptible: bool = True) -> str:
        """Play a system prompt; return the key that interrupted it ("" if none)."""
        return self.play(self.call_prompt(name), interruptible)

    def call_prompt(self, name: str) -> Path:
        from appliance.callcore import prompts

        return prompts.prompt_path(self.settings, name, self.language)

    def say(self, phrase: str, interruptible: bool = True) -> str:
        return self.play(phrases.speak(self.settings, phrase, self.language), interruptible)

    def play(self, path: Path, interruptible: bool = True) -> str:
        self.channel.play(str(path), stop_on_digit=interruptible)
        if not interruptible:
            return ""
        return self.channel.collect_digits(1, KEY_WAIT_S, terminator="")

    def ask(self, name: str, max_digits: int) -> str:
        """Play prompt `name` and read digits until `#` (keys pressed during the prompt count)."""
        first = self.prompt(name)
        if first == "#":
            return ""
        if first == "*":
            first = ""
        return first + self.channel.collect_digits(max_digits - len(first), DIGIT_TIMEOUT_S)

    def key(self, already: str = "", timeout: float = DIGIT_TIMEOUT_S) -> str:
        return already or self.channel.collect_digits(1, timeout, terminator="")

    def beep(self) -> None:
        from appliance.sounds import library

        self.channel.play(str(library.beep_path(self.settings)))

    def goodbye(self) -> Stop:
        if self.channel.is_up:
            self.prompt("goodbye", interruptible=False)
            self.channel.hangup()
        return Stop()

    # -- leaving a message ---------------------------------------------------------------
    def leave(self, kind: str) -> Stop | Goto | None:
        box = self.box
        self.ensure_answered()
        room = service.room_seconds(self.settings, box)
        if room < 1:
            log.info("voicemail box %s is full: caller %s told", box.number, self.call.caller)
            self.call.trace.step("voicemail", action="box_full", box=box.number)
            self.prompt("vm_box_full", interruptible=False)
            return self.goodbye()
        pressed = self.greeting(kind)
        if pressed == "*":
            self.call.trace.step("voicemail", action="login", box=box.number)
            return self.login(box)
        self.beep()
        tmp = storage.scratch(self.settings, box.id)
        try:
            recorded = tmp / "message.wav"
            self.call.trace.step("voicemail", action="record", box=box.number, max_seconds=round(room, 1))
            self.channel.record(str(recorded), max_seconds=room, stop_digits="#")
            message = service.store_message(self.settings, box, recorded, self.call.caller, self.call.caller_name,
                                            self.call.now())
        finally:
            storage.remove_scratch(tmp)
        self.call.trace.step("voicemail", action="stored" if message else "nothing_stored", box=box.number,
                             message=message.id if message else None)
        if self.channel.is_up:
            if message is not None:
                self.prompt("vm_message_saved_for", interruptible=False)
            return self.goodbye()
        return Stop()

    def greeting(self, kind: str) -> str:
        """Play the greeting; return "#" (skip), "*" (log in) or "" (played to the end)."""
        box = self.box
        own = service.greeting_file(self.settings, box, kind)
        if own is None and kind == "busy":
            own = service.greeting_file(self.settings, box, "unavailable")
        sequence: list[Path] = []
        if own is not None:
            sequence.append(own)
        else:
            name_file = service.greeting_file(self.settings, box, "name")
            template = "busy" if kind == "busy" else "unavailable"
            if name_file is not None:
                sequence.append(name_file)
                sequence.append(phrases.speak(self.settings, phrases.text(template, self.language, who=""),
                                              self.language))
            else:
                who = phrases.who(box.number, box.display_name, self.language)
                sequence.append(phrases.speak(self.settings, phrases.text(template, self.language, who=who),
                                              self.language))
            sequence.append(self.call_prompt("vm_leave_message"))
        for path in sequence:
            pressed = self.play(path)
            if pressed in ("#", "*"):
                return pressed
        return ""

    # -- logging in ------------------------------------------------------------------------
    def login(self, box: Box | None = None, ask_box: bool = False) -> Stop | Goto | None:
        """Box number (if asked) then PIN; three failures end the call."""
        self.ensure_answered()
        for _attempt in range(PIN_ATTEMPTS):
            if ask_box:
                number = self.ask("vm_enter_box", 8)
                box = service.find_box(number) if number else None
                if box is not None:
                    self.box = box
                    self.language = box.prompt_language
            if box is not None and not box.pin_hash and self.is_owner(box):
                return self.menu()  # no PIN yet: only from the owner's own phone
            pin = self.ask("vm_enter_pin", 8)
            if box is not None and box.pin_hash and service.check_pin(box, pin):
                self.call.trace.step("voicemail", action="logged_in", box=box.number)
                return self.menu()
            self.call.trace.step("voicemail", action="wrong_pin", box=box.number if box else None)
            self.prompt("vm_wrong_pin", interruptible=False)
        log.warning("voicemail: %d wrong PINs from %s (box %s)", PIN_ATTEMPTS, self.call.caller,
                    box.number if box else "?")
        from appliance.events.log import record

        record("voicemail.pin_failed", f"voicemail:{box.number if box else '?'}",
               f"{PIN_ATTEMPTS} wrong PINs (or box numbers) from {self.call.caller or 'an unknown caller'}; "
               "the call was ended", caller=self.call.caller, trunk=getattr(self.channel, "trunk", "") or "")
        return self.goodbye()

    def is_owner(self, box: Box) -> bool:
        return bool(self.call.user) and box.user_id is not None and box.user.extension == self.call.user

    # -- menus -----------------------------------------------------------------------------
    def menu(self) -> Stop | Goto | None:
        from appliance.voicemail import email

        email.settle(self.settings, self.box)
        service.purge_box(self.settings, self.box)
        service.changed(self.settings, self.box)   # a phone registered since the last change learns the state
        try:
            new, saved = self.folder_counts()
            pressed = self.say(phrases.text("counts", self.language, new=new, saved=saved))
            silent = 0
            while self.channel.is_up:
                pressed = self.key(pressed or self.prompt("vm_main_menu"))
                if pressed == "1":
                    outcome = self.browse("new")
                elif pressed == "2":
                    outcome = self.browse("saved")
                elif pressed == "0":
                    outcome = self.options()
                elif pressed in ("*", "#"):
                    raise _Exit
                elif pressed == "":
                    silent += 1
                    if silent >= MENU_TIMEOUTS:
                        raise _Exit
                    outcome = None
                else:
                    self.prompt("invalid_choice", interruptible=False)
                    outcome = None
                if outcome is not None:
                    return outcome
                pressed = ""
        except _Exit:
            return self.goodbye()
        return Stop()

    def folder_counts(self) -> tuple[int, int]:
        messages = service.list_messages(self.box)
        return (sum(1 for m in messages if m.folder == "new"), sum(1 for m in messages if m.folder == "saved"))

    def browse(self, folder: str) -> Stop | Goto | None:
        messages = service.list_messages(self.box, folder)
        if not messages:
            self.prompt("vm_no_messages", interruptible=False)
            return None
        index = 0
        silent = 0
        replay = True
        pressed = ""
        while self.channel.is_up:
            if index >= len(messages):
                self.prompt("vm_no_more", interruptible=False)
                return None
            message = messages[index]
            if replay:
                pressed = self.play_message(message)
                replay = False
            pressed = self.key(pressed or self.prompt("vm_message_menu"))
            if pressed == "5":
                replay = True
            elif pressed == "4":
                index, replay = max(0, index - 1), True
            elif pressed == "6":
                index, replay = index + 1, True
            elif pressed == "7":
                service.delete_message(self.settings, self.box, message)
                self.call.trace.step("voicemail", action="deleted", box=self.box.number, message=message.id)
                messages.pop(index)
                self.prompt("vm_deleted", interruptible=False)
                replay = True
            elif pressed == "9":
                service.mark(self.settings, self.box, message, folder="saved", read=True)
                self.call.trace.step("voicemail", action="saved", box=self.box.number, message=message.id)
                self.prompt("vm_saved", interruptible=False)
                if folder == "new":
                    messages.pop(index)
                else:
                    index += 1
                replay = True
            elif pressed == "3":
                outcome = self.call_back(message)
                if outcome is not None:
                    return outcome
            elif pressed == "*":
                return None
            elif pressed == "#":
                raise _Exit
            elif pressed == "":
                silent += 1
                if silent >= MENU_TIMEOUTS:
                    return None
            else:
                self.prompt("invalid_choice", interruptible=False)
            pressed = ""
        return Stop()

    def play_message(self, message: Message) -> str:
        """The header (if the box announces it), then the recording; marks it read."""
        if self.box.announce:
            from zoneinfo import ZoneInfo

            from appliance.system.models import get_system_settings

            received = message.received_at.replace(tzinfo=dt.UTC).astimezone(
                ZoneInfo(get_system_settings().timezone))
            pressed = self.say(phrases.header_text(message.caller, received, self.language))
            if pressed:
                return pressed
        try:
            path = service.message_file(self.settings, message)
        except Exception:  # noqa: BLE001 -- a file gone: say so through the menu, never crash the call
            log.error("voicemail message %d: file missing", message.id)
            return ""
        self.call.trace.step("voicemail", action="play", box=self.box.number, message=message.id)
        if not message.read:
            service.mark(self.settings, self.box, message, read=True)
        return self.play(path)

    def call_back(self, message: Message) -> Goto | None:
        """Call the caller back, as the box's owner, through the owner's procedure (phones only)."""
        if not self.call.user or not message.caller or not any(c.isdigit() for c in message.caller):
            self.prompt("not_allowed", interruptible=False)
            return None
        from appliance.users.models import User

        user = User.get_or_none(User.extension == self.call.user)
        procedure = user.dialplan if user is not None else self.call.procedure
        self.call.trace.step("voicemail", action="call_back", number=message.caller)
        return Goto(procedure, message.caller, by_caller=True)

    def options(self) -> None:
        silent = 0
        pressed = ""
        while self.channel.is_up:
            pressed = self.key(pressed or self.prompt("vm_options_menu"))
            if pressed in ("1", "2", "3"):
                self.record_greeting({"1": "unavailable", "2": "busy", "3": "name"}[pressed])
            elif pressed == "4":
                self.change_pin()
            elif pressed in ("*", "#"):
                return None
            elif pressed == "":
                silent += 1
                if silent >= MENU_TIMEOUTS:
                    return None
            else:
                self.prompt("invalid_choice", interruptible=False)
            pressed = ""
        return None

    def record_greeting(self, kind: str) -> None:
        self.prompt("record_after_tone", interruptible=False)
        self.beep()
        tmp = storage.scratch(self.settings, self.box.id)
        try:
            recorded = tmp / "greeting.wav"
            self.channel.record(str(recorded), max_seconds=GREETING_RECORD_MAX_S, stop_digits="#")
            if not self.channel.is_up:
                return
            try:
                service.recorded_greeting(self.settings, self.box, kind, recorded)
            except ValidationError:
                self.prompt("invalid_choice", interruptible=False)
                return
            self.call.trace.step("voicemail", action="greeting_recorded", box=self.box.number, kind=kind)
            self.prompt("vm_greeting_saved", interruptible=False)
        finally:
            storage.remove_scratch(tmp)

    def change_pin(self) -> None:
        first = self.ask("vm_new_pin", 9)
        second = self.ask("vm_pin_again", 9)
        if first != second or not service.PIN_RE.match(first):
            self.prompt("vm_pin_not_changed", interruptible=False)
            return
        service.set_pin(self.box, first)
        self.call.trace.step("voicemail", action="pin_changed", box=self.box.number)
        self.prompt("vm_pin_changed", interruptible=False)
