"""A pjsua2 softphone for tests, run in its own process (tests/support/phone_process.py).

    phone = TestPhone()
    phone.register("100", "secret", "127.0.0.1", 5060)      # -> 200
    phone.call("sip:101@pbx.local")
    phone.wait_for("ringing", 5)                            # {"code": 180, ...}
    phone.play_tone(700); phone.record(tmp / "a.wav")
    phone.wait_for("confirmed", 5)
    phone.hangup(); phone.close()

Every method blocks until the phone process has done it, and raises
`PhoneError` with what the phone saw if it fails or times out. Several
accounts and calls (up to pjsua2's 4 per process) are addressed with the
optional `account=` and `call=` arguments; without them the last call is meant.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from tests.support.ports import free_phone_port_block

ROOT = Path(__file__).resolve().parents[2]


class PhoneError(AssertionError):
    """The phone did not do or see what the test expected."""


class TestPhone:
    __test__ = False  # not a pytest test class

    def __init__(self, name: str = "phone", codecs: str = "PCMA,PCMU,G722", python: str | None = None,
                 log_path: str | None = None, log_level: int = 1, bind_address: str | None = None,
                 command_prefix: Sequence[str] = ()):
        """Start the phone process. log_path/log_level: keep pjsua2's log (5 shows SIP messages).
        bind_address: SIP and RTP bound there instead of 127.0.0.1; command_prefix: what the phone process is
        run under, e.g. ["ip", "netns", "exec", "lan1-client"] for a phone on another host's network."""
        self.name = name
        self.log_path = log_path
        block = free_phone_port_block(48)
        self.sip_port = block
        self.rtp_port = block + 2
        self.events: list[dict] = []
        self._consumed: set[int] = set()
        self._cond = threading.Condition()
        self._replies: dict[int, dict] = {}
        self._next_id = 0
        self._lock = threading.Lock()
        self.last_call: int | None = None
        env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1")
        self.bind_address = bind_address or "127.0.0.1"
        self.proc = subprocess.Popen(
            [*command_prefix, python or sys.executable, "-m", "tests.support.phone_process",
             "--sip-port", str(self.sip_port), "--rtp-port", str(self.rtp_port), "--codecs", codecs,
             "--log-level", str(log_level), *(("--bind-address", bind_address) if bind_address else ())],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True, cwd=str(ROOT), env=env,
        )
        self._stderr: list[str] = []
        threading.Thread(target=self._read_stdout, daemon=True).start()
        threading.Thread(target=self._read_stderr, daemon=True).start()
        self.wait_for("ready", 20)

    # -- plumbing -------------------------------------------------------
    def _read_stdout(self) -> None:
        for line in self.proc.stdout:
            try:
                msg = json.loads(line)
            except ValueError:
                self._stderr.append(line)
                continue
            with self._cond:
                if "event" in msg:
                    msg["t"] = time.monotonic()
                    self.events.append(msg)
                else:
                    self._replies[msg["id"]] = msg
                self._cond.notify_all()
        with self._cond:
            self.events.append({"event": "exited"})
            self._cond.notify_all()

    def _read_stderr(self) -> None:
        log = open(self.log_path, "a") if self.log_path else None
        for line in self.proc.stderr:
            self._stderr.append(line)
            del self._stderr[:-200]
            if log:
                log.write(line)
                log.flush()

    def _request(self, cmd: str, timeout: float = 10, **args):
        with self._lock:
            self._next_id += 1
            rid = self._next_id
            args = {k: v for k, v in args.items() if v is not None}
            self.proc.stdin.write(json.dumps({"id": rid, "cmd": cmd, **args}) + "\n")
            self.proc.stdin.flush()
        deadline = time.monotonic() + timeout
        with self._cond:
            while rid not in self._replies:
                left = deadline - time.monotonic()
                if left <= 0 or self.proc.poll() is not None:
                    raise PhoneError(f"{self.name}: no reply to {cmd} {args}; {self._seen()}")
                self._cond.wait(min(left, 0.5))
            reply = self._replies.pop(rid)
        if not reply["ok"]:
            raise PhoneError(f"{self.name}: {cmd} failed: {reply['error']}\n{reply.get('trace', '')}")
        return reply["result"]

    def _seen(self) -> str:
        events = [{k: v for k, v in e.items() if k not in ("headers", "t")} for e in self.events[-15:]]
        return f"events seen: {events}; stderr: {''.join(self._stderr[-10:])[-1500:]}"

    # -- events ---------------------------------------------------------
    def wait_for(self, event: str, timeout: float = 10, **match) -> dict:
        """Next unconsumed event named `event` (and with these field values).

        Names: ready, registration, incoming (remote_name, remote_number,
        headers), ringing (code 180 or 183), confirmed, media, dtmf (digit),
        disconnected (code, reason), state, mwi (account, waiting, new, old: a
        message-summary NOTIFY).
        """
        if "call" not in match and event in ("ringing", "confirmed", "disconnected", "media", "dtmf") \
                and self.last_call is not None:
            match["call"] = self.last_call
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for i, e in enumerate(self.events):
                    if i in self._consumed or e["event"] != event:
                        continue
                    if all(e.get(k) == v for k, v in match.items()):
                        self._consumed.add(i)
                        if event == "incoming":
                            self.last_call = e["call"]
                        return e
                left = deadline - time.monotonic()
                if left <= 0:
                    raise PhoneError(f"{self.name}: no {event} {match} within {timeout}s; {self._seen()}")
                self._cond.wait(min(left, 0.5))

    def saw(self, event: str, **match) -> list[dict]:
        """Every event so far named `event` with these field values (consumed or not)."""
        with self._cond:
            return [e for e in self.events if e["event"] == event and all(e.get(k) == v for k, v in match.items())]

    # -- registration ---------------------------------------------------
    def register(self, extension: str, password: str, registrar_host: str, registrar_port: int,
                 transport: str = "udp", domain: str | None = None, account: str = "main",
                 timeout: float = 10) -> int:
        """Register; return the final SIP status (200, or 401/403/... on failure)."""
        self._request("register", extension=str(extension), password=password, registrar_host=registrar_host,
                      registrar_port=int(registrar_port), transport=transport, domain=domain, account=account)
        deadline = time.monotonic() + timeout
        while True:
            ev = self.wait_for("registration", max(0.1, deadline - time.monotonic()), account=account)
            if ev["code"] // 100 != 1:
                return ev["code"]

    def unregister(self, account: str = "main", timeout: float = 10) -> int:
        self._request("unregister", account=account)
        return self.wait_for("registration", timeout, account=account)["code"]

    # -- calls ------------------------------------------------------------
    def call(self, uri: str, headers: dict[str, str] | None = None, account: str | None = None) -> int:
        """Send an INVITE; returns the call id (also remembered as the current call)."""
        self.last_call = self._request("call", uri=uri, headers=headers, account=account)
        return self.last_call

    def answer(self, code: int = 200, call: int | None = None) -> None:
        self._request("answer", code=code, call=self._cid(call))

    def reject(self, code: int = 486, call: int | None = None) -> None:
        self._request("reject", code=code, call=self._cid(call))

    def hangup(self, call: int | None = None) -> None:
        self._request("hangup", call=self._cid(call))

    def play_tone(self, freq_hz: int, call: int | None = None) -> None:
        """Send a continuous sine of freq_hz on the call (now, or as soon as its media is up)."""
        self._request("play_tone", freq=int(freq_hz), call=self._cid(call))

    def record(self, path, call: int | None = None) -> None:
        """Record what the phone hears on the call into a WAV file."""
        self._request("record", path=str(path), call=self._cid(call))

    def stop_recording(self, call: int | None = None) -> None:
        self._request("stop_recording", call=self._cid(call))

    def send_dtmf(self, digits: str, call: int | None = None) -> None:
        """Send RFC 4733 digits."""
        self._request("send_dtmf", digits=digits, call=self._cid(call))

    def received_dtmf(self, call: int | None = None) -> str:
        cid = self._cid(call)
        return "".join(e["digit"] for e in self.saw("dtmf", call=cid))

    def _cid(self, call: int | None) -> int | None:
        return self.last_call if call is None else call

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                self.proc.stdin.write(json.dumps({"cmd": "quit"}) + "\n")
                self.proc.stdin.flush()
                self.proc.wait(10)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait(5)

    def __enter__(self) -> TestPhone:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
