"""What an application sees of the call it runs for, and what it answers.

An application is `run(call: DialplanCall, options: dict) -> Outcome`:
return `None` to go on with the next application, `Goto(...)` to continue
in another procedure, or `Stop(...)` when the call is over (the engine
hangs up whatever is still up). Applications talk to the caller only
through `call.channel` (appliance.callcore.channel.Channel), so the engine
is tested with a fake channel and runs with no pjsua2 import.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from appliance.settings import Settings

if TYPE_CHECKING:
    from appliance.callcore.channel import Channel, DialResult
    from appliance.dialplan.trace import Trace


@dataclass(slots=True)
class Goto:
    """Continue in `procedure` with `number` as the called number (None keeps the current one)."""

    procedure: str
    number: str | None = None
    # The caller chose this (IVR key, DISA digits): the engine's loop counter starts again.
    by_caller: bool = False


@dataclass(slots=True)
class Stop:
    """The call is over; `code`/`reason` is the SIP answer if the caller was never answered."""

    code: int | None = None
    reason: str | None = None


Outcome = Goto | Stop | None


@dataclass(slots=True)
class DialplanCall:
    """The state of one call while the dialplan runs it.

    caller / caller_name: what is presented to whoever the call reaches
        (applications may change them: "set caller name/number").
    called: the current called number (applications may change it).
    user: the extension of the calling user, "" for a call from a trunk.
    procedure: the procedure being run.
    language: of announcements for this caller.
    now: the current time (UTC, aware); tests inject it (Settings.clock_file).
    last_dial: the last dial's result, for the engine to end the call
        the way that dial ended when no application is left.
    """

    channel: Channel
    settings: Settings
    trace: Trace
    caller: str
    caller_name: str
    called: str
    user: str
    procedure: str
    language: str
    now: Callable[[], dt.datetime]
    last_dial: DialResult | None = None
    data: dict[str, Any] = field(default_factory=dict)

    def sound_path(self, name: str) -> Path:
        """Absolute path of the WAV of sound `name` (appliance.sounds.library decides the layout)."""
        from appliance.sounds import library as sounds

        return sounds.sound_path(self.settings, name, self.language)

    def prompt(self, name: str) -> Path:
        """A system announcement in the caller's language (appliance.callcore.prompts)."""
        from appliance.callcore import prompts

        return prompts.prompt_path(self.settings, name, self.language)

    def local_now(self) -> dt.datetime:
        """`now()` in the appliance's time zone (system settings)."""
        from zoneinfo import ZoneInfo

        from appliance.system.models import get_system_settings

        return self.now().astimezone(ZoneInfo(get_system_settings().timezone))
