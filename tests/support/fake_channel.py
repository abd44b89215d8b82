"""A scripted `Channel` for testing the dialplan engine without pjsua2, and a call to run through it.

It records what the dialplan did (`log`), answers `collect_digits` from a
list of scripted key presses, and `dial` from a function deciding the
outcome per target, so a test reads: "the caller presses 2, nobody answers
101, 102 answers".
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

from appliance.callcore.channel import Channel, DialOutcome, DialResult, HungUp
from appliance.dialplan.call import DialplanCall
from appliance.dialplan.trace import Trace
from appliance.settings import Settings


class FakeChannel(Channel):
    def __init__(self, caller: str = "100", callee: str = "200", digits: list[str] | None = None,
                 dial_outcome: Callable[[list[str], float], DialResult] | None = None, language: str = "en"):
        self.caller, self.caller_name, self.callee = caller, f"Caller {caller}", callee
        self.call_id, self.language = f"fake-{caller}-{callee}", language
        self.digits = list(digits or [])   # answers of successive collect_digits calls ("" = timeout)
        self.dial_outcome = dial_outcome or (lambda targets, timeout: DialResult(DialOutcome.NO_ANSWER, 408))
        self.log: list[tuple] = []
        self.heard: list[str] = []  # the files played, by name without extension
        self.dial_headers: list[dict] = []  # the extra SIP headers of each dial
        self.stopped = 0            # stop_playing calls
        self._up, self._answered = True, False
        self.hangup_code: int | None = None
        self.hangup_reason: str | None = None
        self.recording = ""          # the file being recorded by start_recording
        self.bridged_callbacks: list = []
        self.digit_callbacks: dict = {}

    # -- call control
    def ring(self):
        self.log.append(("ring",))

    def early_media(self):
        self._check()
        self.log.append(("early_media",))

    def answer(self):
        self._check()
        if not self._answered:
            self._answered = True
            self.log.append(("answer",))

    def hangup(self, code=None, reason=None):
        if self._up:
            self._up = False
            self.hangup_code, self.hangup_reason = code, reason
            self.log.append(("hangup", code))

    @property
    def is_up(self):
        return self._up

    @property
    def answered(self):
        return self._answered

    def on_hangup(self, callback):
        pass

    def wait_hangup(self, timeout=None):
        self.log.append(("wait", timeout))
        return None

    # -- media
    def play(self, path, loop=False, wait=True, stop_on_digit=False):
        self._check()
        self.log.append(("play", Path(path).stem))
        self.heard.append(Path(path).stem)

    def stop_playing(self):
        self.stopped += 1

    def collect_digits(self, max_digits, timeout, terminator="#"):
        self._check()
        pressed = self.digits.pop(0) if self.digits else ""
        self.log.append(("digits", pressed))
        return pressed

    def record(self, path, max_seconds, stop_digits="#"):
        return 0.0

    def echo(self, max_seconds=None):
        self.log.append(("echo",))

    def start_recording(self, path):
        self.log.append(("start_recording", str(path)))
        self.recording = str(path)

    def stop_recording(self):
        was, self.recording = self.recording, ""
        if was:
            self.log.append(("stop_recording", was))
        return bool(was)

    @property
    def is_recording(self):
        return bool(self.recording)

    def on_bridged(self, callback):
        self.bridged_callbacks.append(callback)

    def on_digits(self, sequence, callback):
        self.digit_callbacks[sequence] = callback

    # -- more legs
    def dial(self, target_uri, timeout, caller_name="", caller_number="", wait_end=True, headers=None):
        targets = [target_uri] if isinstance(target_uri, str) else list(target_uri)
        self.log.append(("dial", tuple(t.split(":")[1].split("@")[0] for t in targets), timeout, caller_number))
        self.dial_headers.append(dict(headers or {}))
        result = self.dial_outcome(targets, timeout)
        if result.answered:
            self._answered = True
            for callback in self.bridged_callbacks:
                callback(self, result)
        return result

    def bridge(self, other):
        pass

    def unbridge(self, other):
        pass

    def _check(self):
        if not self._up:
            raise HungUp(self)

    def events(self, kind: str) -> list[tuple]:
        return [entry for entry in self.log if entry[0] == kind]


def make_call(settings: Settings, channel: FakeChannel, procedure: str = "users", user: str = "100",
              now: dt.datetime | None = None) -> DialplanCall:
    moment = now or dt.datetime(2026, 11, 23, 10, 0, tzinfo=dt.UTC)
    return DialplanCall(channel=channel, settings=settings, trace=Trace(settings, channel.call_id),
                        caller=channel.caller, caller_name=channel.caller_name, called=channel.callee, user=user,
                        procedure=procedure, language=channel.language, now=lambda: moment)
