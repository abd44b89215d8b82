"""What the dialplan costs: evaluation alone, and call setup through a 10-application procedure.

Part 1, in process (no calls): the time to find a number in a compiled
dialplan (exact number, pattern among 500, through two included procedures,
default), to reload the compiled dialplan after a change, and to run a whole
10-application procedure with a scripted channel (store reads included).

Part 2, real calls: SIPp as extension 100 calls, at a fixed rate, either 200
directly (the generated `internal` procedure: one application) or 500, whose
procedure runs ten applications over two procedures (caller name, time-range
check, switch check, number rewrite, goto, mobility lookup, time-range check,
switch check, number rewrite, dial user 200). The difference of INVITE→200
latency is what the ten applications add to call setup.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from benchmarks.common import print_table, write_json

TEN_APPS_ENTRY = "500"


def ten_app_procedures() -> list[tuple[str, dict]]:
    """The procedures of the 10-application call, as (name, body) to create or update in order."""
    return [
        ("step2", {"name": "step2", "numbers": [{"number": "5XX", "apps": [
            {"app": "mobility"},
            {"app": "check_time", "time_range": "never", "procedure": "main"},
            {"app": "check_switch", "switch": "night", "on_procedure": "main"},
            {"app": "set_called", "number": "200"},
            {"app": "dial_users", "extensions": ["200"]}]}]}),
        ("users", {"numbers": [{"number": TEN_APPS_ENTRY, "apps": [
            {"app": "set_caller", "name": "Bench via 10 apps"},
            {"app": "check_time", "time_range": "never", "procedure": "main"},
            {"app": "check_switch", "switch": "night", "on_procedure": "main"},
            {"app": "set_called", "strip": 0, "prefix": ""},
            {"app": "goto", "procedure": "step2"}]}]}),
    ]


NEVER = {"name": "never", "intervals": [{"days": [0], "start": "03:00", "end": "03:01", "months": [2, 2],
                                         "month_days": [30, 30]}]}
NIGHT = {"name": "night", "code": 11, "states": 2}


def timed(fn, repeat: int) -> float:
    """Median microseconds of `fn()` over `repeat` runs (in batches, so the clock's cost does not count)."""
    batches = []
    per_batch = max(1, repeat // 20)
    for _ in range(20):
        start = time.perf_counter()
        for _ in range(per_batch):
            fn()
        batches.append((time.perf_counter() - start) / per_batch * 1e6)
    return statistics.median(batches)


def evaluation(tmp: Path) -> dict:
    from appliance.dialplan import engine, procedures, switches, timeranges
    from appliance.dialplan.engine import Snapshot
    from appliance.settings import Settings
    from appliance.store import close_store, open_store, secrets
    from appliance.users import create_user
    from tests.support.fake_channel import FakeChannel, make_call

    settings = Settings(data_dir=tmp / "eval")
    open_store(settings)
    secrets.load_key(settings.secret_key_path)
    try:
        create_user({"extension": "100", "first_name": "Bench", "last_name": "Caller"})
        create_user({"extension": "200", "first_name": "Bench", "last_name": "Callee"})
        # 500 numbers: exact ones, patterns of every kind, and includes two levels down.
        numbers = [{"number": f"0{n:04d}", "apps": [{"app": "hangup"}]} for n in range(250)]
        numbers += [{"number": f"9{n:02d}X.", "apps": [{"app": "hangup"}]} for n in range(100)]
        numbers += [{"number": f"[1-4]{n:02d}XX", "apps": [{"app": "hangup"}]} for n in range(100)]
        numbers += [{"number": f"8{n:02d}!", "apps": [{"app": "hangup"}]} for n in range(49)]
        numbers += [{"number": "default", "apps": [{"app": "hangup"}]}]
        procedures.create_procedure({"name": "deep", "numbers": [{"number": "77XX", "apps": [{"app": "hangup"}]}]})
        procedures.create_procedure({"name": "middle", "includes": ["deep"]})
        procedures.create_procedure({"name": "big", "numbers": numbers, "includes": ["middle", "internal"]})
        timeranges.create_time_range(NEVER)
        switches.create_switch(NIGHT)
        for name, body in ten_app_procedures():
            if name == "users":
                procedures.update_procedure(name, body)
            else:
                procedures.create_procedure(body)
        plan = Snapshot.load()
        lookups = {
            "exact number among 500": ("big", "00123"),
            "pattern among 500 (most specific)": ("big", "31234"),
            "two includes down": ("big", "7712"),
            "default (nothing matches)": ("big", "555555"),
        }
        results = {label: timed(lambda p=p, n=n: plan.lookup(p, n), 20000) for label, (p, n) in lookups.items()}
        results["reload after a change (500 numbers)"] = timed(Snapshot.load, 200)
        results["revision check per call (1 query)"] = timed(engine.snapshot, 2000)

        def ten_apps():
            channel = FakeChannel(caller="100", callee=TEN_APPS_ENTRY)
            call = make_call(settings, channel)
            engine.run(call, engine.snapshot())
            call.trace.close()
        results["10-application procedure, whole run"] = timed(ten_apps, 400)
        return {"median_us": {k: round(v, 2) for k, v in results.items()}}
    finally:
        close_store()


def call_setup(tmp: Path, rate: int, seconds: int, hold_ms: int) -> dict:
    from appliance.sipedge import rpc
    from benchmarks import sipp_run
    from benchmarks.call_setup import FLOOD_LIMIT, PASSWORD, auth_field, summary
    from tests.support.ports import free_port_block
    from tests.support.stack import Stack

    stack = Stack(tmp / "data", spare_workers=6, workers_max=48).start()
    ports = free_port_block(20)
    uas = sipp_run.start_uas(ports, ports + 10)
    steps = {}
    try:
        api = stack.admin_api()
        stack.set_flood_limit(FLOOD_LIMIT)
        api.create_user("100", "Bench", "Caller", PASSWORD)
        api.create_user("200", "Bench", "Callee", PASSWORD)
        assert api.request("POST", "/api/v1/dialplan/time-ranges", NEVER)[0] == 201
        assert api.request("POST", "/api/v1/dialplan/switches", NIGHT)[0] == 201
        for name, body in ten_app_procedures():
            method, path = ("PUT", f"/api/v1/dialplan/procedures/{name}") if name == "users" else (
                "POST", "/api/v1/dialplan/procedures")
            status, answer = api.request(method, path, body)
            assert status in (200, 201), answer
        rpc.call(stack.settings, "ul.add", "location", "200", f"sip:200@127.0.0.1:{ports}",
                 3600, 1.0, "", 0, 0, 4294967295)
        callers = sipp_run.write_injection(tmp / "callers.csv", [("100", auth_field("100"))])
        sip = f"127.0.0.1:{stack.settings.sip_port}"
        for label, called in (("internal (1 application)", "200"), ("10 applications", TEN_APPS_ENTRY)):
            result = sipp_run.run(sip, [
                "-sf", str(sipp_run.SCENARIOS / "uac_call_auth.xml"), "-inf", str(callers), "-s", called,
                "-r", str(rate), "-m", str(rate * seconds), "-d", str(hold_ms), "-p", str(ports + 3),
                "-mp", str(ports + 14), "-l", str(rate * 10),
            ], timeout=seconds * 4 + 60)
            steps[label] = summary(result)
            time.sleep(2)
    finally:
        uas.terminate()
        uas.wait()
        stack.stop()
    return {"rate": rate, "calls_each": rate * seconds, "hold_ms": hold_ms, "steps": steps}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rate", type=int, default=20, help="calls per second for part 2")
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--hold-ms", type=int, default=500)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        results = {"evaluation": evaluation(tmp), "call_setup": call_setup(tmp, args.rate, args.seconds,
                                                                           args.hold_ms)}
    rows = [(label, f"{us:,.1f} µs") for label, us in results["evaluation"]["median_us"].items()]
    for label, s in results["call_setup"]["steps"].items():
        rows.append((f"call setup {args.rate}/s, {label}: ok/failed", f"{s['successful']}/{s['failed']}"))
        rows.append((f"call setup {args.rate}/s, {label}: INVITE→200 p50/p99",
                     f"{s['p50_ms']:.0f}/{s['p99_ms']:.0f} ms"))
    print_table("Dialplan: evaluation (median) and call setup through 10 applications", rows)
    write_json("dialplan", results)


if __name__ == "__main__":
    main()
