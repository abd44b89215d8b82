"""The interface the dialplan drives a call through, with no pjsua2 in sight.

A `Channel` is one call leg as the dialplan sees it. The call core hands
the dialplan the caller's channel (the leg Kamailio dispatched to the
worker); `dial()` makes more legs. The dialplan of a call runs in one
Python thread of its own and calls the blocking methods below in order,
like a script: "answer, play this, read 4 digits, dial that".

Threading contract
    Every method must be called from the call's own thread (the thread the
    call core started the dialplan in). Methods block that thread only;
    other calls go on. Events of the call (digits, the caller hanging up,
    the far end ringing) are handled while a method blocks; between two
    methods they wait in a queue, none is lost.

Hang-up contract
    When the caller hangs up, the methods whose job is to talk to the
    caller (`play`, `collect_digits`, `ring`, `early_media`, `answer`)
    raise `HungUp`; the dialplan lets it propagate (the call core catches
    it) or catches it to clean up. Methods whose natural end is a hang-up
    return instead: `dial` returns `DialOutcome.CANCELLED`, `record`
    returns what was recorded (a voicemail left by a caller who hangs up
    is kept), `echo` and `wait_hangup` return. `hangup` on a channel
    already gone does nothing.

Fake it in tests of the dialplan engine: a subclass that records the
calls and answers from a script is enough.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from appliance.errors import CallCoreError


class HungUp(CallCoreError):
    """The caller (or the channel this method acts on) hung up while the method waited."""

    def __init__(self, channel: Channel):
        super().__init__(f"channel {channel.callee or channel.caller} hung up")
        self.channel = channel


class ChannelError(CallCoreError):
    """A channel operation is impossible in the call's current state (e.g. play before answer)."""


class DialOutcome(StrEnum):
    ANSWERED = "answered"        # a target answered; the legs were bridged
    BUSY = "busy"                # 486 or 600 from the target
    NO_ANSWER = "no_answer"      # rang until `timeout`, or 408
    UNAVAILABLE = "unavailable"  # 480/404/410: not registered, gone, do not disturb
    FAILED = "failed"            # any other failure, including no free leg in this worker
    CANCELLED = "cancelled"      # the caller hung up before an answer


@dataclass(slots=True)
class DialResult:
    """What `Channel.dial` did.

    `code`/`reason`: the SIP final response that decided it (200 when
    answered; 487 when cancelled; 408 for our own ring timeout).
    `peer`: the answering leg, a `Channel` (None unless answered).
    `ended_by`: once the bridged conversation is over (dial with
    wait_end=True): "caller" or "peer", whichever hung up first.
    `talk_seconds`: seconds from the answer to the end of the conversation.
    `target`: the URI of the target that answered ("" unless answered).
    """

    outcome: DialOutcome
    code: int
    reason: str = ""
    peer: Channel | None = None
    ended_by: str = ""
    talk_seconds: float = 0.0
    target: str = ""

    @property
    def answered(self) -> bool:
        return self.outcome is DialOutcome.ANSWERED


class Channel(abc.ABC):
    """One call leg, driven by the dialplan. See the module docstring for threads and hang-ups.

    Identity (read-only attributes, set by the call core):
        caller       -- the calling number: the caller's extension for internal
                        calls (Kamailio's authenticated X-AP-Caller)
        caller_name  -- display name to present with it ("" if unknown)
        callee       -- the number dialled (request-URI user)
        call_id      -- a unique id of this leg (its SIP Call-ID)
        language     -- language of announcements for this caller ("fr", "en", ...)
        trunk        -- the trunk the call came in on (Kamailio's X-AP-Trunk), "" from a phone
        headers      -- the INVITE's headers, lower-case names (what a trunk sent: To, Diversion...)
    """

    caller: str
    caller_name: str
    callee: str
    call_id: str
    language: str
    trunk: str = ""
    headers: dict = {}  # noqa: RUF012 -- read-only default; the call core sets each channel's own

    # -- call control ----------------------------------------------------
    @abc.abstractmethod
    def ring(self) -> None:
        """Send 180 Ringing to the caller (no media). Returns at once."""

    @abc.abstractmethod
    def early_media(self) -> None:
        """Send 183 Session Progress with SDP; returns once audio flows (play works after it)."""

    @abc.abstractmethod
    def answer(self) -> None:
        """Answer with 200 OK; returns once audio flows. Does nothing if already answered."""

    @abc.abstractmethod
    def hangup(self, code: int | None = None, reason: str | None = None) -> None:
        """End this leg: the final response `code` (default 480) if not answered yet, else BYE.

        Returns once the leg is gone (or after a short grace). No effect on a
        leg already gone.
        """

    @property
    @abc.abstractmethod
    def is_up(self) -> bool:
        """True until this leg is disconnected (by either side)."""

    @property
    @abc.abstractmethod
    def answered(self) -> bool:
        """True once this leg was answered (200 sent for the caller, received for a dialled leg)."""

    @abc.abstractmethod
    def on_hangup(self, callback: Callable[[Channel], None]) -> None:
        """Call `callback(channel)` in the call's thread when this leg disconnects."""

    @abc.abstractmethod
    def wait_hangup(self, timeout: float | None = None) -> Channel | None:
        """Block until this leg or a leg bridged with it hangs up; return that leg (None on timeout)."""

    # -- media -------------------------------------------------------------
    @abc.abstractmethod
    def play(self, path: str, loop: bool = False, wait: bool = True, stop_on_digit: bool = False) -> None:
        """Play a WAV file (16 kHz or 8 kHz mono 16-bit) to this leg.

        Needs audio: call `answer()` or `early_media()` first (ChannelError
        otherwise). wait=True blocks until the file ends (or, with
        stop_on_digit, until the caller presses a key: the digit stays
        available to `collect_digits`). loop=True repeats until
        `stop_playing()`, and then wait must be False.
        """

    @abc.abstractmethod
    def stop_playing(self) -> None:
        """Stop every file playing to this leg. Returns at once."""

    @abc.abstractmethod
    def collect_digits(self, max_digits: int, timeout: float, terminator: str = "#") -> str:
        """Read up to `max_digits` DTMF digits (RFC 4733) from this leg.

        Returns when `max_digits` were read, the terminator was pressed (it is
        not included) or `timeout` seconds passed without a new digit (first
        digit included). Digits pressed earlier (during a prompt) count.
        Returns "" on timeout with nothing pressed.
        """

    @abc.abstractmethod
    def record(self, path: str, max_seconds: float, stop_digits: str = "#") -> float:
        """Record what this leg says into a WAV file; return the seconds recorded.

        Ends after `max_seconds`, on one of `stop_digits`, or when the leg
        hangs up (what was said is kept).
        """

    @abc.abstractmethod
    def echo(self, max_seconds: float | None = None) -> None:
        """Send this leg's audio back to it until it hangs up (or max_seconds)."""

    @abc.abstractmethod
    def start_recording(self, path: str) -> None:
        """Record the conversation of this leg into a WAV file: what it says and what every leg
        bridged with it says, now and after later bridges, until `stop_recording` or the end of the
        call (the file is then complete). Returns at once; ChannelError if already recording."""

    @abc.abstractmethod
    def stop_recording(self) -> bool:
        """Stop `start_recording` and close its file; False if nothing was being recorded."""

    @property
    @abc.abstractmethod
    def is_recording(self) -> bool:
        """True between `start_recording` and its end."""

    # -- more legs ----------------------------------------------------------
    @abc.abstractmethod
    def on_bridged(self, callback: Callable[[Channel, DialResult], None]) -> None:
        """Call `callback(channel, result)` in the call's thread each time `dial` bridges this leg
        with the target that answered (before the conversation)."""

    @abc.abstractmethod
    def on_digits(self, sequence: str, callback: Callable[[Channel], None]) -> None:
        """While this leg is bridged with another, call `callback(channel)` in the call's thread
        whenever its user keys `sequence` (e.g. "*1"). The digits still reach the other side."""

    @abc.abstractmethod
    def dial(self, target_uri: str | Sequence[str], timeout: float, caller_name: str = "",
             caller_number: str = "", wait_end: bool = True, headers: dict[str, str] | None = None) -> DialResult:
        """Call one target (or several at once, first to answer wins) on behalf of this leg.

        `headers`: extra SIP headers for the SIP edge (X-AP-Trunk: send it out on that trunk,
        X-AP-Privacy: id for an anonymous caller).

        Presents `caller_name`/`caller_number` to the target. While the target
        rings, 180 and early media (183) are relayed to this leg; on answer
        this leg is answered if it was not, and the two are bridged (audio
        and RFC 4733 digits both ways). Blocks until the outcome is known,
        and with wait_end=True (default) on through the conversation until
        either side hangs up (the other leg is left up: hang it up or go on).
        With wait_end=False it returns at the answer with `result.peer`
        bridged, for the dialplan to manage. Never raises HungUp: a caller who
        hangs up while it rings gives DialOutcome.CANCELLED.
        """

    @abc.abstractmethod
    def bridge(self, other: Channel) -> None:
        """Connect audio and digits of this leg and `other` both ways. Returns at once."""

    @abc.abstractmethod
    def unbridge(self, other: Channel) -> None:
        """Undo `bridge`. Returns at once."""

    # -- conference rooms (not abstract: a fake channel need not have them) ------------------
    worker: str = ""  # the call-core worker holding this leg ("w3"): where the room's store rows say it is

    def conference_enter(self, room_id: int) -> None:
        """Put this (answered) leg into room `room_id`: it hears the room, the room hears it unless muted.

        Who is in the room, and muted, is read from the store (appliance.conference):
        write the participant's row first (appliance.conference.service.join).
        """
        raise ChannelError("this call core has no conference bridge")

    def conference_leave(self) -> None:
        """Take this leg out of its room (no effect if it is in none)."""
        return None

    def conference_play(self, room_id: int, path: str, wait: bool = True) -> None:
        """Play a WAV file to everyone in the room (entry and exit tones)."""
        return None

    def conference_refresh(self, room_id: int) -> None:
        """Re-read the room's state from the store now (after a mute or a lock from this call)."""
        return None
