"""Voice and signalling leave the appliance marked for priority (DSCP), seen on the wire: RTP from the call
core EF (46), SIP from the edge CS3 (24); the test phone's own packets are unmarked, so the capture tells
them apart. Captured with a packet socket on loopback (AF_PACKET), no tool in between."""

from __future__ import annotations

import socket
import struct
import threading
import time

import pytest

from tests.support import audio
from tests.support.phone import TestPhone
from tests.support.stack import Stack

PASSWORD = "Voice-Prio-2026"
ETH_P_ALL = 0x0003
EF, CS3 = 46, 24


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    s = Stack(tmp_path_factory.mktemp("dscp") / "data", spare_workers=1).start()
    s.api = s.admin_api()
    yield s
    s.stop()


class LoopbackCapture:
    """UDP packets on lo: (source port, destination port, DSCP) of each."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        self.sock.bind(("lo", 0))
        self.sock.settimeout(0.2)
        self.seen: list[tuple[int, int, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(5)
        self.sock.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                frame, address = self.sock.recvfrom(65535)
            except TimeoutError:
                continue
            if address[2] == socket.PACKET_OUTGOING:
                continue  # on lo every packet is seen twice: once going out, once coming in
            ip = frame[14:]  # lo frames carry an Ethernet header
            if len(ip) < 28 or ip[0] >> 4 != 4 or ip[9] != socket.IPPROTO_UDP:
                continue
            header = (ip[0] & 0x0F) * 4
            source, destination = struct.unpack("!HH", ip[header:header + 4])
            self.seen.append((source, destination, ip[1] >> 2))


def test_the_appliances_voice_is_marked_ef_and_its_signalling_cs3(stack, tmp_path):
    s = stack.settings
    rtp = range(s.rtp_port_base, s.rtp_port_base + s.worker_count_max * s.rtp_ports_per_worker)
    stack.api.create_user("120", "Quality", "Voice", PASSWORD)
    phone = TestPhone("qos")
    try:
        with LoopbackCapture() as capture:
            assert phone.register("120", PASSWORD, "127.0.0.1", s.sip_port) == 200
            phone.call(f"sip:76@127.0.0.1:{s.sip_port}")
            phone.play_tone(700)
            phone.record(tmp_path / "echo.wav")
            phone.wait_for("confirmed", 10)
            time.sleep(2)
            phone.stop_recording()
            phone.hangup()
            phone.wait_for("disconnected", 10)
    finally:
        phone.close()
    assert audio.has_tone(tmp_path / "echo.wav", 700)  # the call really carried voice

    voice_out = [dscp for src, dst, dscp in capture.seen if src in rtp and dst not in rtp]
    sip_out = [dscp for src, dst, dscp in capture.seen if src == s.sip_port and dst not in rtp]
    voice_in = [dscp for src, dst, dscp in capture.seen if dst in rtp and src not in rtp]
    assert len(voice_out) > 50 and set(voice_out) == {EF}, set(voice_out)
    assert sip_out and set(sip_out) == {CS3}, set(sip_out)
    assert voice_in and set(voice_in) == {0}   # the phone's packets: not marked by anyone on the way
