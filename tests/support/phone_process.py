"""A pjsua2 softphone driven by JSON lines on stdin; events and replies on stdout.

Run by `tests.support.phone.TestPhone`, one process per phone (a pjsua2
client build holds at most 4 calls and 8 accounts per process).

Requests:  {"id": 7, "cmd": "call", "uri": "sip:76@127.0.0.1:5100", ...}
Replies:   {"id": 7, "ok": true, "result": ...} or {"id": 7, "ok": false, "error": "..."}
Events:    {"event": "incoming" | "ringing" | "confirmed" | "disconnected" |
            "media" | "dtmf" | "registration", "call": <id>, ...}

Threads: the main thread owns pjsua2 and runs every command; pjsua2's own
worker thread (threadCnt=1) delivers callbacks, which only print events.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import queue
import re
import struct
import sys
import tempfile
import threading
import time
import traceback
import wave

import pjsua2 as pj

_out_lock = threading.Lock()
_stdout = sys.stdout


def emit(obj: dict) -> None:
    line = json.dumps(obj)
    with _out_lock:
        _stdout.write(line + "\n")
        _stdout.flush()


HEADER_RE = re.compile(r"^([A-Za-z0-9-]+)\s*:\s*(.*)$")
NAME_ADDR_RE = re.compile(r'^\s*(?:"([^"]*)"|([^<"]*?))\s*<\s*sips?:([^@;>]*)@')
URI_USER_RE = re.compile(r"sips?:([^@;>]*)@")


def parse_headers(whole_msg: str) -> dict[str, str]:
    headers: dict[str, str] = {}
    for line in whole_msg.split("\r\n")[1:]:
        if not line:
            break
        m = HEADER_RE.match(line)
        if m:
            headers.setdefault(m.group(1).lower(), m.group(2).strip())
    return headers


def split_name_number(name_addr: str) -> tuple[str, str]:
    m = NAME_ADDR_RE.match(name_addr or "")
    if m:
        return (m.group(1) or m.group(2) or "").strip(), m.group(3)
    m = URI_USER_RE.search(name_addr or "")
    return "", (m.group(1) if m else "")


def tone_wav(freq: int, directory: str) -> str:
    """A 1 s, 16 kHz sine at `freq` Hz (whole number of periods, so it loops cleanly)."""
    path = os.path.join(directory, f"tone_{freq}.wav")
    if not os.path.exists(path):
        rate = 16000
        frames = b"".join(
            struct.pack("<h", int(12000 * math.sin(2 * math.pi * freq * n / rate))) for n in range(rate)
        )
        with wave.open(path, "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(rate)
            w.writeframes(frames)
    return path


def wait_wav_closed(path: str, timeout: float = 3.0) -> bool:
    """True once the WAV header holds its final size (pjmedia writes it when the port is destroyed)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with open(path, "rb") as f:
                head = f.read(8)
            if len(head) == 8 and struct.unpack("<I", head[4:8])[0] > 0:
                return True
        except OSError:
            pass
        time.sleep(0.02)
    return False


class Phone:
    def __init__(self, sip_port: int, rtp_port: int, codecs: list[str], log_level: int = 1,
                 bind_address: str = "127.0.0.1"):
        self.tmp = tempfile.mkdtemp(prefix="testphone-")
        self.bind_address = bind_address
        self.rtp_port = rtp_port
        self.ep = pj.Endpoint()
        self.ep.libCreate()
        cfg = pj.EpConfig()
        cfg.uaConfig.threadCnt = 1
        cfg.uaConfig.maxCalls = 4
        cfg.uaConfig.userAgent = "TestPhone"
        cfg.logConfig.level = log_level
        cfg.logConfig.consoleLevel = log_level
        cfg.logConfig.msgLogging = log_level >= 4
        cfg.medConfig.noVad = True
        cfg.medConfig.ecTailLen = 0
        # Keep the null sound device (the media clock) running while a call sends no audio:
        # an idle bridge closing it delays or loses RFC 4733 digits.
        cfg.medConfig.sndAutoCloseTime = -1
        self.ep.libInit(cfg)
        tcfg = pj.TransportConfig()
        tcfg.port = sip_port
        tcfg.boundAddress = bind_address
        self.transport = self.ep.transportCreate(pj.PJSIP_TRANSPORT_UDP, tcfg)
        try:
            tcp = pj.TransportConfig()
            tcp.port = sip_port
            tcp.boundAddress = bind_address
            self.tcp_transport = self.ep.transportCreate(pj.PJSIP_TRANSPORT_TCP, tcp)
        except pj.Error:
            self.tcp_transport = None
        self.ep.libStart()
        self.ep.audDevManager().setNullDev()
        wanted = {c.lower() for c in codecs}
        for info in self.ep.codecEnum2():
            name = info.codecId.split("/")[0].lower()
            prio = 0
            if name in wanted:
                prio = 250 - [c.lower() for c in codecs].index(name)
            self.ep.codecSetPriority(info.codecId, prio)
        self.accounts: dict[str, PhoneAccount] = {}
        self.calls: dict[int, PhoneCall] = {}
        self.tones: dict[int, pj.AudioMediaPlayer] = {}
        self.sip_port = sip_port
        self.add_local_account("local")

    # -- accounts -------------------------------------------------------
    def account_config(self, id_uri: str) -> pj.AccountConfig:
        acfg = pj.AccountConfig()
        acfg.idUri = id_uri
        acfg.mediaConfig.transportConfig.port = self.rtp_port
        acfg.mediaConfig.transportConfig.portRange = 40
        acfg.mediaConfig.transportConfig.boundAddress = self.bind_address
        acfg.natConfig.sdpNatRewriteUse = 0
        acfg.natConfig.contactRewriteUse = 0
        acfg.natConfig.viaRewriteUse = 0
        return acfg

    def add_local_account(self, name: str) -> None:
        acc = PhoneAccount(self, name)
        acc.create(self.account_config(f"sip:phone@{self.bind_address}:{self.sip_port}"), True)
        self.accounts[name] = acc

    def cmd_register(self, extension, password, registrar_host, registrar_port, transport="udp",
                     domain=None, account="main", expires=300):
        if account in self.accounts:
            self.accounts.pop(account).shutdown()
        domain = domain or registrar_host
        acfg = self.account_config(f"sip:{extension}@{domain}")
        acfg.regConfig.registrarUri = f"sip:{registrar_host}:{registrar_port};transport={transport}"
        acfg.regConfig.timeoutSec = expires
        acfg.regConfig.retryIntervalSec = 0
        acfg.sipConfig.proxies.append(f"sip:{registrar_host}:{registrar_port};transport={transport};lr")
        acfg.sipConfig.authCreds.append(pj.AuthCredInfo("digest", "*", str(extension), 0, password))
        acc = PhoneAccount(self, account)
        acc.create(acfg, False)
        self.accounts[account] = acc
        return account

    def cmd_unregister(self, account="main"):
        acc = self.accounts.get(account)
        if acc is None:
            raise ValueError(f"no account {account}")
        acc.setRegistration(False)
        return account

    def cmd_drop_account(self, account="main"):
        acc = self.accounts.pop(account, None)
        if acc is not None:
            acc.shutdown()

    # -- calls ----------------------------------------------------------
    def cmd_call(self, uri, account=None, headers=None):
        if account is None:
            account = "main" if "main" in self.accounts else "local"
        acc = self.accounts[account]
        call = PhoneCall(self, acc)
        call.sip = SipCall(acc, call)
        prm = pj.CallOpParam(True)
        for name, value in (headers or {}).items():
            h = pj.SipHeader()
            h.hName = name
            h.hValue = value
            prm.txOption.headers.append(h)
        self.calls[call.handle] = call
        try:
            call.sip.makeCall(uri, prm)
        except pj.Error:
            self.calls.pop(call.handle)
            call.sip = None
            raise
        return call.handle

    def _call(self, call):
        if call is None:
            live = [c for c in self.calls.values() if not c.ended]
            if not live:
                raise ValueError("no call")
            return live[-1]
        return self.calls[int(call)]

    def cmd_answer(self, code=200, call=None):
        prm = pj.CallOpParam()
        prm.statusCode = code
        self._call(call).answer(prm)

    def cmd_reject(self, code=486, call=None):
        prm = pj.CallOpParam()
        prm.statusCode = code
        self._call(call).hangup(prm)

    def cmd_hangup(self, call=None):
        prm = pj.CallOpParam()
        self._call(call).hangup(prm)

    def cmd_play_tone(self, freq, call=None):
        c = self._call(call)
        c.tone_freq = int(freq)
        c.connect_media()

    def cmd_record(self, path, call=None):
        c = self._call(call)
        c.stop_recording()
        rec = pj.AudioMediaRecorder()
        rec.createRecorder(path)
        c.recorder = rec
        c.recorder_path = path
        c.connect_media()

    def cmd_stop_recording(self, call=None):
        c = self._call(call) if call is not None else (list(self.calls.values())[-1] if self.calls else None)
        if c is not None:
            c.stop_recording()

    def cmd_send_dtmf(self, digits, call=None):
        prm = pj.CallSendDtmfParam()
        prm.digits = digits
        prm.method = pj.PJSUA_DTMF_METHOD_RFC2833
        self._call(call).sendDtmf(prm)

    def cmd_calls(self):
        return {str(k): {"ended": v.ended} for k, v in self.calls.items()}

    def tone_player(self, freq: int) -> pj.AudioMediaPlayer:
        if freq not in self.tones:
            p = pj.AudioMediaPlayer()
            p.createPlayer(tone_wav(freq, self.tmp))
            self.tones[freq] = p
        return self.tones[freq]

    def shutdown(self):
        for c in list(self.calls.values()):
            c.stop_recording()
        try:
            self.ep.hangupAllCalls()
        except pj.Error:
            pass
        self.calls.clear()
        self.tones.clear()
        for acc in list(self.accounts.values()):
            acc.shutdown()
        self.accounts.clear()
        self.ep.libDestroy()


class PhoneAccount(pj.Account):
    def __init__(self, phone: Phone, name: str):
        super().__init__()
        self.phone = phone
        self.name = name

    def onRegState(self, prm):
        info = self.getInfo()
        emit({"event": "registration", "account": self.name, "code": prm.code, "reason": prm.reason,
              "expires": prm.expiration, "active": info.regIsActive})

    def onIncomingCall(self, prm):
        call = PhoneCall(self.phone, self)
        call.sip = SipCall(self, call, prm.callId)
        self.phone.calls[call.handle] = call
        headers = parse_headers(prm.rdata.wholeMsg)
        name, number = split_name_number(headers.get("from", headers.get("f", "")))
        pai = headers.get("p-asserted-identity")
        emit({"event": "incoming", "call": call.handle, "account": self.name,
              "remote_uri": headers.get("from", ""), "remote_name": name, "remote_number": number,
              "pai": pai, "headers": headers})

    def onMwiInfo(self, prm):  # noqa: N802 (pjsua2's name)
        """A message-summary NOTIFY (RFC 3842), solicited or not: an "mwi" event with its counts."""
        text = prm.rdata.wholeMsg
        body = text.split("\r\n\r\n", 1)[1] if "\r\n\r\n" in text else ""
        fields = {}
        for line in body.splitlines():
            key, _, value = line.partition(":")
            fields[key.strip().lower()] = value.strip()
        voice = fields.get("voice-message", "").split(" ")[0]
        new, _, old = voice.partition("/")
        emit({"event": "mwi", "account": self.name, "waiting": fields.get("messages-waiting", "") == "yes",
              "new": int(new) if new.isdigit() else None, "old": int(old) if old.isdigit() else None,
              "account_uri": fields.get("message-account", ""), "body": body})

    def shutdown(self):
        try:
            self.shutdown_done = True
            super().shutdown()
        except pj.Error:
            pass


STATE_NAMES = {
    pj.PJSIP_INV_STATE_CALLING: "calling",
    pj.PJSIP_INV_STATE_INCOMING: "incoming",
    pj.PJSIP_INV_STATE_EARLY: "early",
    pj.PJSIP_INV_STATE_CONNECTING: "connecting",
    pj.PJSIP_INV_STATE_CONFIRMED: "confirmed",
    pj.PJSIP_INV_STATE_DISCONNECTED: "disconnected",
}


_handles = itertools.count()


class PhoneCall:
    """One call of the phone, by a handle unique for the phone's life (pjsua2 reuses call ids)."""

    def __init__(self, phone: Phone, acc: PhoneAccount):
        self.phone = phone
        self.acc = acc
        self.handle = next(_handles)
        self.sip: SipCall | None = None
        self.tone_freq: int | None = None
        self.recorder: pj.AudioMediaRecorder | None = None
        self.recorder_path = ""
        self.ended = False
        self._linked: set[str] = set()

    def require_sip(self) -> SipCall:
        if self.sip is None:
            raise ValueError(f"call {self.handle} has ended")
        return self.sip

    def answer(self, prm):
        self.require_sip().answer(prm)

    def hangup(self, prm):
        self.require_sip().hangup(prm)

    def sendDtmf(self, prm):  # noqa: N802 (pjsua2's name)
        self.require_sip().sendDtmf(prm)

    def audio(self):
        sip = self.sip
        if sip is None:
            return None
        try:
            info = sip.getInfo()
        except pj.Error:
            return None
        for i, mi in enumerate(info.media):
            if mi.type == pj.PJMEDIA_TYPE_AUDIO and mi.status == pj.PJSUA_CALL_MEDIA_ACTIVE:
                try:
                    return sip.getAudioMedia(i)
                except pj.Error:
                    return None  # not bridged yet: onCallMediaState connects it
        return None

    def connect_media(self):
        med = self.audio()
        if med is None:
            return
        if self.tone_freq is not None and f"tone{self.tone_freq}" not in self._linked:
            self.phone.tone_player(self.tone_freq).startTransmit(med)
            self._linked.add(f"tone{self.tone_freq}")
        if self.recorder is not None and "rec" not in self._linked:
            med.startTransmit(self.recorder)
            self._linked.add("rec")

    def stop_recording(self):
        """Stop and close the WAV file (pjmedia closes it asynchronously: wait for its header)."""
        if self.recorder is not None:
            path = self.recorder_path
            med = self.audio()
            if med is not None:
                try:
                    med.stopTransmit(self.recorder)
                except pj.Error:
                    pass
            self.recorder = None  # the destructor queues the close of the WAV file
            self._linked.discard("rec")
            wait_wav_closed(path)


class SipCall(pj.Call):
    """The pjsua2 side of a PhoneCall, dropped in its DISCONNECTED callback.

    A pj.Call collected later would hang up whichever new call got its id.
    """

    def __init__(self, acc: PhoneAccount, call: PhoneCall, call_id=pj.PJSUA_INVALID_ID):
        super().__init__(acc, call_id)
        self.call = call

    def onCallState(self, prm):
        info = self.getInfo()
        name = STATE_NAMES.get(info.state, str(info.state))
        cid = self.call.handle
        if info.state == pj.PJSIP_INV_STATE_EARLY and info.role == pj.PJSIP_ROLE_UAC:
            emit({"event": "ringing", "call": cid, "code": info.lastStatusCode, "reason": info.lastReason})
        elif info.state == pj.PJSIP_INV_STATE_CONFIRMED:
            emit({"event": "confirmed", "call": cid, "code": info.lastStatusCode})
        elif info.state == pj.PJSIP_INV_STATE_DISCONNECTED:
            self.call.ended = True
            emit({"event": "disconnected", "call": cid, "code": info.lastStatusCode, "reason": info.lastReason,
                  "connect_s": info.connectDuration.sec})
            self.call.sip = None
        else:
            emit({"event": "state", "call": cid, "state": name, "code": info.lastStatusCode})

    def onCallMediaState(self, prm):
        info = self.getInfo()
        active = any(
            mi.type == pj.PJMEDIA_TYPE_AUDIO and mi.status == pj.PJSUA_CALL_MEDIA_ACTIVE for mi in info.media
        )
        if active:
            self.call._linked.clear()
            self.call.connect_media()
        emit({"event": "media", "call": self.call.handle, "active": active})

    def onDtmfDigit(self, prm):
        emit({"event": "dtmf", "call": self.call.handle, "digit": prm.digit})


def main() -> int:
    import argparse

    parser = argparse.ArgumentParser()
    parser.add_argument("--sip-port", type=int, required=True)
    parser.add_argument("--rtp-port", type=int, required=True)
    parser.add_argument("--codecs", default="PCMA,PCMU,G722")
    parser.add_argument("--log-level", type=int, default=1, help="pjsua2 log level on stderr (5: SIP messages)")
    parser.add_argument("--bind-address", default="127.0.0.1", help="the address SIP and RTP are bound to")
    args = parser.parse_args()
    commands: queue.Queue = queue.Queue()

    def reader():
        for line in sys.stdin:
            line = line.strip()
            if line:
                commands.put(json.loads(line))
        commands.put(None)

    phone = Phone(args.sip_port, args.rtp_port, args.codecs.split(","), args.log_level, args.bind_address)
    threading.Thread(target=reader, daemon=True).start()
    emit({"event": "ready", "sip_port": args.sip_port})
    while True:
        req = commands.get()
        if req is None or req.get("cmd") == "quit":
            break
        rid = req.pop("id", None)
        cmd = req.pop("cmd")
        try:
            result = getattr(phone, "cmd_" + cmd)(**req)
            emit({"id": rid, "ok": True, "result": result})
        except Exception as exc:  # reported to the test, which raises
            emit({"id": rid, "ok": False, "error": f"{type(exc).__name__}: {exc}",
                  "trace": traceback.format_exc()})
    phone.shutdown()
    emit({"event": "closed"})
    return 0


if __name__ == "__main__":
    # pjsua2 logs to stdout at level >0 before our config applies; keep stdout for JSON.
    _stdout = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    sys.exit(main())
