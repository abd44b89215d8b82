"""Conference rooms: participants per room and for the appliance, and the latency a link between workers adds.

Two parts (both by default):

link   Two processes, each a pjsua2 Endpoint with the call core's own link
       ports (appliance.callcore.conference OutPort / InPort) joined by a Unix
       datagram socket: a tone burst played into the first is timed at its
       OutPort and again when the second's InPort hands it to its bridge.
       Also the Python cost of each port's 20 ms callback.
rooms  The real stack and test phones (pjsua2, 4 calls per process): N
       participants dial one room (N = --sizes); three of them, spread over
       the room, play tones and three others record. A size passes when
       every participant is in, every listener hears all three speakers and
       no speaker hears itself. While the room is full the call core's CPU
       and memory are sampled.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import print_table, write_json

PASSWORD = "Conf-Bench-Pass-77"
CALLS_PER_PHONE = 4


# -- link: one side of the two-process experiment ----------------------------------------------------

def link_side(role: str, folder: str, bursts: int) -> None:
    """Run in a child process: role "a" plays bursts into an OutPort, "b" receives them with an InPort."""
    import array
    import collections
    import ctypes
    import math
    import os
    import socket
    import struct
    import threading
    import wave

    import pjsua2 as pj

    from appliance.callcore import conference as conf
    from appliance.conference import live

    ep = pj.Endpoint()
    ep.libCreate()
    cfg = pj.EpConfig()
    cfg.uaConfig.threadCnt = 1
    cfg.logConfig.level = 0
    cfg.logConfig.consoleLevel = 0
    cfg.medConfig.clockRate = 16000
    cfg.medConfig.sndClockRate = 16000
    cfg.medConfig.noVad = True
    ep.libInit(cfg)
    ep.libStart()
    ep.audDevManager().setNullDev()
    address_b = b"\0appliance-conf-bench-" + str(os.getppid()).encode()
    onsets: list[float] = []
    costs: list[float] = []

    def loud(data: bytes) -> bool:
        return max(abs(x) for x in array.array("h", data)[::7]) > 2000

    if role == "a":
        burst = os.path.join(folder, "burst.wav")
        with wave.open(burst, "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(16000)
            tone = b"".join(struct.pack("<h", int(12000 * math.sin(2 * math.pi * 1000 * n / 16000)))
                            for n in range(1600))
            w.writeframes((tone + bytes(2 * 6400)) * bursts)

        class TimedOut(conf.OutPort):
            prev = False

            def onFrameReceived(self, frame):
                stamp = time.time()  # before the frame leaves
                address, size = conf._vector_span(frame.buf)
                if size == conf.FRAME_BYTES:
                    now = loud(ctypes.string_at(address, size))
                    if now and not self.prev:
                        onsets.append(stamp)
                    self.prev = now
                t0 = time.perf_counter()
                super().onFrameReceived(frame)
                costs.append(time.perf_counter() - t0)

        tx = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        tx.setblocking(False)
        port = TimedOut(tx, live.AUDIO_HEADER.pack(live.AUDIO, 1, 0))
        port.createPort("out", conf.audio_format())
        port.peers = (address_b,)
        player = pj.AudioMediaPlayer()
        time.sleep(1.0)  # b is listening
        player.createPlayer(burst, pj.PJMEDIA_FILE_NO_LOOP)
        player.startTransmit(port)
        time.sleep(bursts * 0.5 + 0.5)
        player.stopTransmit(port)
        del player, port
    else:
        class TimedIn(conf.InPort):
            prev = False

            def onFrameRequested(self, frame):
                t0 = time.perf_counter()
                super().onFrameRequested(frame)
                costs.append(time.perf_counter() - t0)
                now = frame.type == pj.PJMEDIA_FRAME_TYPE_AUDIO and loud(
                    ctypes.string_at(conf._vector_span(self.vec)[0], conf.FRAME_BYTES))
                if now and not self.prev:
                    onsets.append(time.time())
                self.prev = now

        rx = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        rx.bind(address_b)
        port = TimedIn()
        port.createPort("in", conf.audio_format())
        port.inbox[0] = collections.deque(maxlen=8)
        sink = pj.AudioMediaRecorder()
        sink.createRecorder(os.path.join(folder, "b.wav"))
        port.startTransmit(sink)

        def receive():
            while True:
                data = rx.recv(2048)
                port.inbox[0].append(data[live.AUDIO_HEADER.size:])

        threading.Thread(target=receive, daemon=True).start()
        time.sleep(bursts * 0.5 + 2.5)
        port.stopTransmit(sink)
        del sink, port
    print(json.dumps({"onsets": onsets, "cost_us": 1e6 * statistics.median(costs) if costs else None}), flush=True)
    ep.libDestroy()
    os._exit(0)


def run_link(runs: int = 6, bursts: int = 10) -> dict:
    """Several runs: each pair of processes has its own phase between the two 20 ms clocks."""
    delays, out_costs, in_costs = [], [], []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as folder:
            argv = [sys.executable, "-m", "benchmarks.conference", "--link-side"]
            b = subprocess.Popen([*argv, "b", folder, str(bursts)], stdout=subprocess.PIPE, text=True)
            a = subprocess.Popen([*argv, "a", folder, str(bursts)], stdout=subprocess.PIPE, text=True)
            out_a, out_b = a.communicate(timeout=60), b.communicate(timeout=60)
        side_a = json.loads(out_a[0].strip().splitlines()[-1])
        side_b = json.loads(out_b[0].strip().splitlines()[-1])
        for ta in side_a["onsets"]:  # each burst sent, matched with its arrival (a missed one is skipped)
            arrived = [tb for tb in side_b["onsets"] if ta - 0.005 <= tb <= ta + 0.2]
            if arrived:
                delays.append(1000 * (arrived[0] - ta))
        out_costs.append(side_a["cost_us"])
        in_costs.append(side_b["cost_us"])
    delays.sort()
    return {"bursts": len(delays), "latency_ms": {
        "median": round(statistics.median(delays), 1), "min": round(delays[0], 1),
        "p90": round(delays[int(0.9 * (len(delays) - 1))], 1), "max": round(delays[-1], 1)},
        "out_port_cost_us": round(statistics.median(out_costs), 1),
        "in_port_cost_us": round(statistics.median(in_costs), 1)}


# -- rooms: the real stack and test phones -------------------------------------------------------------

ROOM_TONES = ((500, 900, 1400), (620, 1020, 1520), (740, 1140, 1640))  # per room: isolation is checked too


def parse_step(text: str) -> list[int]:
    """"30" -> one room of 30; "3x15" -> three rooms of 15 at once."""
    count, _, size = text.partition("x")
    return [int(size)] * int(count) if size else [int(count)]


def run_rooms(steps: list[list[int]], folder: Path) -> list[dict]:
    from benchmarks.concurrent_calls import measure
    from tests.support.phone import TestPhone
    from tests.support.stack import Stack

    biggest = max(sum(step) for step in steps)
    rooms = max(len(step) for step in steps)
    stack = Stack(folder / "data", spare_workers=4, workers_max=biggest // 2 + 8).start()
    phones: list[TestPhone] = []
    results = []
    try:
        stack.set_flood_limit(20000)
        api = stack.admin_api()
        for r in range(rooms):
            status, body = api.request("POST", "/api/v1/conferences", {
                "name": f"bench{r}", "number": str(880 + r), "max_participants": 200, "announce_count": False,
                "entry_tones": False, "exit_tones": False})
            assert status == 201, body
        phones = [TestPhone(f"conf{p}") for p in range((biggest + CALLS_PER_PHONE - 1) // CALLS_PER_PHONE)]
        seats = []  # (phone, account, extension)
        for i in range(biggest):
            extension = str(3000 + i)
            api.create_user(extension, "Conf", f"P{i}", PASSWORD)
            phone, account = phones[i // CALLS_PER_PHONE], f"a{i % CALLS_PER_PHONE}"
            assert phone.register(extension, PASSWORD, "127.0.0.1", stack.settings.sip_port, account=account) == 200
            seats.append((phone, account, extension))
        for step in steps:
            results.append(run_step(stack, api, seats, step, folder / "x".join(map(str, step)), measure))
    finally:
        for phone in phones:
            phone.close()
        stack.stop()
    return results


def run_step(stack, api, seats, sizes: list[int], folder: Path, measure) -> dict:
    """Rooms of `sizes` participants, all at once; three speakers and three listeners in each."""
    from tests.support import audio

    folder.mkdir(parents=True)
    plan = []  # per room: (name, number, calls, speakers {index: tone}, listeners)
    started = time.monotonic()
    offset = 0
    for r, n in enumerate(sizes):
        tones = ROOM_TONES[r]
        speakers = {0: tones[0], n // 2: tones[1], n - 1: tones[2]}
        listeners = sorted({1, n // 2 + 1, n - 2} - set(speakers))
        calls = []
        for i, (phone, account, _extension) in enumerate(seats[offset:offset + n]):
            cid = phone.call(f"sip:{880 + r}@127.0.0.1:{stack.settings.sip_port}", account=account)
            if i in speakers:
                phone.play_tone(speakers[i], call=cid)
            calls.append((phone, cid))
            phone.wait_for("confirmed", 20, call=cid)
        offset += n
        plan.append((f"bench{r}", calls, speakers, listeners))
    deadline = time.monotonic() + 60
    while True:
        states = [api.request("GET", f"/api/v1/conferences/{name}/live")[1] for name, *_ in plan]
        if all(st["count"] == n for st, n in zip(states, sizes, strict=True)) or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    join_s = time.monotonic() - started
    time.sleep(1.0)
    probes = [(r, i, calls[i]) for r, (_, calls, speakers, listeners) in enumerate(plan)
              for i in [*speakers, *listeners]]
    for r, i, (phone, cid) in probes:
        phone.record(folder / f"r{r}p{i}.wav", call=cid)
    sample = measure(stack, 6.0)
    for _r, _i, (phone, cid) in probes:
        phone.stop_recording(call=cid)

    def has(r, i, freq, share):
        return audio.has_tone(folder / f"r{r}p{i}.wav", freq, tolerance=20, min_share=share)

    heard = others = own = leaked = checks = pairs = 0
    for r, (_, _calls, speakers, listeners) in enumerate(plan):
        foreign = [f for q, tones in enumerate(ROOM_TONES[:len(plan)]) if q != r for f in tones]
        heard += sum(1 for i in listeners for f in speakers.values() if has(r, i, f, 0.1))
        checks += len(listeners) * len(speakers)
        others += sum(1 for i in speakers for j, g in speakers.items() if i != j and has(r, i, g, 0.1))
        pairs += len(speakers) * (len(speakers) - 1)
        own += sum(1 for i, f in speakers.items() if has(r, i, f, 0.02))
        leaked += sum(1 for i in [*speakers, *listeners] for f in foreign if has(r, i, f, 0.02))
    for _, calls, *_ in plan:
        for phone, cid in calls:
            phone.hangup(call=cid)
    for _, calls, *_ in plan:
        for phone, cid in calls:
            phone.wait_for("disconnected", 15, call=cid)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and any(
            api.request("GET", f"/api/v1/conferences/{name}/live")[1]["count"] for name, *_ in plan):
        time.sleep(0.2)
    workers = sample["memory"]["by_process"].get("appliance callcore", {})
    return {"rooms": sizes, "participants": sum(sizes), "in_rooms": sum(st["count"] for st in states),
            "workers": len({w for st in states for w in st["workers"]}),
            "join_seconds": round(join_s, 1),
            "listeners_hearing_each_speaker": f"{heard}/{checks}",
            "speakers_hearing_each_other": f"{others}/{pairs}",
            "speakers_hearing_themselves": own, "tones_leaking_between_rooms": leaked,
            "cpu_cores_all_processes": sample["cpu_cores_used"],
            "callcore_pss_mib": round(workers.get("pss_mib", 0), 1)}


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--link-side":
        link_side(sys.argv[2], sys.argv[3], int(sys.argv[4]))
        return
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="10,20,30,40,3x15",
                        help="steps, comma-separated: N (one room of N) or KxN (K rooms of N at once)")
    parser.add_argument("--only", choices=("link", "rooms"), help="run one part only")
    parser.add_argument("--keep", help="keep the stack's data directory (logs) here")
    args = parser.parse_args()
    results: dict = {}
    rows: list[tuple[str, object]] = []
    if args.only != "rooms":
        link = results["link"] = run_link()
        lat = link["latency_ms"]
        rows += [("link latency ms: median / p90 (min-max)",
                  f"{lat['median']} / {lat['p90']} ({lat['min']}-{lat['max']})"),
                 ("OutPort / InPort Python cost per 20 ms frame (us)",
                  f"{link['out_port_cost_us']} / {link['in_port_cost_us']}")]
    if args.only != "link":
        steps = [parse_step(s) for s in args.sizes.split(",")]
        if args.keep:
            rooms = results["rooms"] = run_rooms(steps, Path(args.keep))
        else:
            with tempfile.TemporaryDirectory() as tmp:
                rooms = results["rooms"] = run_rooms(steps, Path(tmp))
        for r in rooms:
            what = " + ".join(map(str, r["rooms"]))
            rows += [(f"{what}: in the rooms / workers", f"{r['in_rooms']} / {r['workers']}"),
                     (f"{what}: listeners hear speakers / speakers hear others / own / leaks",
                      f"{r['listeners_hearing_each_speaker']} / {r['speakers_hearing_each_other']} / "
                      f"{r['speakers_hearing_themselves']} / {r['tones_leaking_between_rooms']}"),
                     (f"{what}: CPU all processes (cores) / call-core PSS (MiB)",
                      f"{r['cpu_cores_all_processes']} / {r['callcore_pss_mib']}")]
    print_table("Conference rooms", rows)
    write_json("conference", results)


if __name__ == "__main__":
    main()
