"""Concurrent bridged G.711 calls through the appliance, audio checked both ways.

Test phones (pjsua2, 4 calls per process) place N calls between 2N
extensions; every caller and callee plays its own tone, so a recording that
holds the other side's exact frequency proves that call's audio, and no
other, crossed the B2BUA in that direction. While all calls are up, CPU and
memory (RSS and PSS) of the appliance's processes are sampled. Beside it,
the raw ceiling: the same phones calling each other directly, same run.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import psutil

from benchmarks.common import print_table, process_tree_memory, write_json
from tests.support import audio
from tests.support.phone import TestPhone
from tests.support.stack import Stack

PASSWORD = "Load-Test-Pass-77"
CALLS_PER_PHONE = 2  # two outgoing + two incoming legs: a phone process's 4 calls


def caller_tone(i: int) -> int:
    return 300 + 25 * i


def callee_tone(i: int) -> int:
    return 1700 + 25 * i


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=50)
    parser.add_argument("--hold", type=float, default=12.0, help="seconds every call stays up together")
    parser.add_argument("--skip-direct", action="store_true", help="skip the phone-to-phone ceiling")
    args = parser.parse_args()
    results: dict = {"calls": args.calls}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        phones = [TestPhone(f"load{p}") for p in range((args.calls + CALLS_PER_PHONE - 1) // CALLS_PER_PHONE)]
        try:
            if not args.skip_direct:
                results["direct"] = run_calls(phones, args, tmp / "direct", via=None)
            stack = Stack(tmp / "data", spare_workers=4, workers_max=args.calls // 2 + 8).start()
            try:
                # Every phone is on 127.0.0.1: raise the flood threshold before they register.
                stack.set_flood_limit(20000)
                results["appliance"] = run_calls(phones, args, tmp / "appliance", via=stack)
            finally:
                stack.stop()
        finally:
            for phone in phones:
                phone.close()
    report(results)


def run_calls(phones: list[TestPhone], args, folder: Path, via: Stack | None) -> dict:
    folder.mkdir(parents=True)
    legs = []  # (index, caller phone, caller account, callee phone, callee account)
    for i in range(args.calls):
        phone = phones[i // CALLS_PER_PHONE]
        slot = i % CALLS_PER_PHONE
        legs.append((i, phone, f"c{slot}", phones[(i // CALLS_PER_PHONE + 1) % len(phones)], f"e{slot}"))
    if via is not None:
        api = via.admin_api()
        for i, *_ in legs:
            api.create_user(str(1000 + i), "Caller", f"N{i}", PASSWORD)
            api.create_user(str(2000 + i), "Callee", f"N{i}", PASSWORD)
        for i, caller, c_acc, callee, e_acc in legs:
            assert caller.register(str(1000 + i), PASSWORD, "127.0.0.1", via.settings.sip_port, account=c_acc) == 200
            assert callee.register(str(2000 + i), PASSWORD, "127.0.0.1", via.settings.sip_port, account=e_acc) == 200

    started = time.monotonic()
    calls = []
    for i, caller, c_acc, callee, _e_acc in legs:
        uri = (f"sip:{2000 + i}@127.0.0.1:{via.settings.sip_port}" if via
               else f"sip:{2000 + i}@127.0.0.1:{callee.sip_port}")
        cid = caller.call(uri, account=c_acc if via else None)
        incoming = callee.wait_for("incoming", 15)
        callee.play_tone(callee_tone(i), call=incoming["call"])
        callee.record(folder / f"callee{i}.wav", call=incoming["call"])
        callee.answer(200, call=incoming["call"])
        caller.play_tone(caller_tone(i), call=cid)
        caller.record(folder / f"caller{i}.wav", call=cid)
        caller.wait_for("confirmed", 15, call=cid)
        calls.append((i, caller, cid, callee, incoming["call"]))
        time.sleep(0.1)
    setup_s = time.monotonic() - started

    sample = measure(via, args.hold) if via else {"note": "phones only"}
    if not via:
        time.sleep(args.hold)
    for _i, caller, cid, callee, eid in calls:
        caller.stop_recording(call=cid)
        callee.stop_recording(call=eid)
        caller.hangup(call=cid)
    for _i, _caller, _cid, callee, eid in calls:
        callee.wait_for("disconnected", 15, call=eid)
    both_ways = sum(
        1 for i, *_ in calls
        if audio.has_tone(folder / f"caller{i}.wav", callee_tone(i), tolerance=8, min_share=0.5)
        and audio.has_tone(folder / f"callee{i}.wav", caller_tone(i), tolerance=8, min_share=0.5)
    )
    if via is not None:
        for _i, caller, c_acc, callee, e_acc in legs:
            caller.unregister(account=c_acc)
            callee.unregister(account=e_acc)
    return {"established": len(calls), "audio_both_ways": both_ways, "setup_seconds": round(setup_s, 1), **sample}


def measure(stack: Stack, seconds: float) -> dict:
    """CPU share and memory of the appliance's processes while every call is up."""
    root = psutil.Process(stack.process.pid)

    def cpu_by_process() -> dict[int, float]:
        out = {}
        for proc in [root] + root.children(recursive=True):
            try:
                t = proc.cpu_times()
                out[proc.pid] = t.user + t.system
            except psutil.Error:
                continue
        return out

    time.sleep(2)
    before, t0 = cpu_by_process(), time.monotonic()
    time.sleep(max(1.0, seconds - 2))
    after, t1 = cpu_by_process(), time.monotonic()
    used = sum(after[p] - before.get(p, after[p]) for p in after)
    memory = process_tree_memory(stack.process.pid)
    return {"cpu_cores_used": round(used / (t1 - t0), 3), "memory": memory}


def report(results: dict) -> None:
    n = results["calls"]
    rows = []
    for name in ("direct", "appliance"):
        if name not in results:
            continue
        r = results[name]
        rows.append((f"{name}: calls established / audio both ways", f"{r['established']} / {r['audio_both_ways']}"))
    app = results["appliance"]
    workers = app["memory"]["by_process"].get("appliance callcore", {})
    rows += [
        ("appliance CPU, all processes (cores)", app["cpu_cores_used"]),
        ("appliance CPU per call (% of a core)", round(100 * app["cpu_cores_used"] / max(1, n), 2)),
        ("call-core processes", workers.get("count", 0)),
        ("call-core RSS / PSS total (MiB)", f"{workers.get('rss_mib', 0):.0f} / {workers.get('pss_mib', 0):.0f}"),
        ("RSS / PSS per call, call core (MiB)",
         f"{workers.get('rss_mib', 0) / n:.1f} / {workers.get('pss_mib', 0) / n:.1f}"),
        ("whole stack RSS / PSS (MiB)", f"{app['memory']['total_rss_mib']:.0f} / {app['memory']['total_pss_mib']:.0f}"),
        ("machine load (1 min)", round(psutil.getloadavg()[0], 2)),
    ]
    print_table(f"{n} concurrent bridged G.711 calls", rows)
    write_json("concurrent_calls", results)


if __name__ == "__main__":
    main()
