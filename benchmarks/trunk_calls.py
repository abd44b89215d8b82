"""What a call to the public network costs: the toll-fraud guard alone, and call setup through a trunk.

Part 1, in process: median time of `appliance.fraud.guards.check_outbound` for a call it lets through
(every rule evaluated, the attempt written for the rate limits) and for one it refuses (country not on
the whitelist: an event written).

Part 2, real calls: SIPp as extension 100 calls at a fixed rate either 200 (an internal call: one
application) or 0145678901, which the `users` procedure sends out through a trunk: fraud guard, E.164,
the SIP edge authenticates to a fake provider (a second Kamailio with digest auth, on loopback), which
forwards the call to a SIPp UAS playing the public network. The rate limits of the guard are lifted for
the run (they would rightly refuse a load test).
"""

from __future__ import annotations

import argparse
import datetime as dt
import tempfile
import time
from pathlib import Path

from benchmarks.common import print_table, write_json
from benchmarks.dialplan import timed

TRUNK_PASSWORD = "Trunk-Secret-Kq7w"
ACCOUNT = "bench-customer"
REALM = "provider.test"
NO_LIMITS = {"calls_per_minute": 0, "calls_per_minute_per_user": 0, "max_calls_per_user": 0}


def guard_cost(tmp: Path) -> dict:
    from appliance.fraud import guards, service
    from appliance.settings import Settings
    from appliance.store import close_store, open_store, secrets

    settings = Settings(data_dir=tmp / "guard")
    open_store(settings)
    secrets.load_key(settings.secret_key_path)
    try:
        service.update_settings(NO_LIMITS)
        now = dt.datetime(2026, 11, 24, 10, 0, tzinfo=dt.UTC)
        allowed = timed(lambda: guards.check_outbound("100", "+33145678901", "national", now,
                                                      dialled="0145678901"), 400)
        refused = timed(lambda: guards.check_outbound("100", "+8811234567", "international", now,
                                                      dialled="008811234567"), 400)
        return {"allowed_median_us": round(allowed, 1), "refused_median_us": round(refused, 1)}
    finally:
        close_store()


def call_setup(tmp: Path, rate: int, seconds: int, hold_ms: int) -> dict:
    from appliance.sipedge import rpc
    from benchmarks import sipp_run
    from benchmarks.call_setup import FLOOD_LIMIT, PASSWORD, auth_field, summary
    from tests.support.ports import free_port_block
    from tests.support.provider import FakeProvider
    from tests.support.stack import Stack

    stack = Stack(tmp / "data", spare_workers=6, workers_max=48).start()
    ports = free_port_block(20)
    uas = sipp_run.start_uas(ports, ports + 10)
    provider = FakeProvider(tmp / "provider", user=ACCOUNT, password=TRUNK_PASSWORD, realm=REALM,
                            customer_port=stack.settings.sip_port).start()
    steps = {}
    try:
        api = stack.admin_api()
        stack.set_flood_limit(FLOOD_LIMIT)
        api.create_user("100", "Bench", "Caller", PASSWORD)
        api.create_user("200", "Bench", "Callee", PASSWORD)
        provider.forward_to(f"sip:pstn@127.0.0.1:{ports}")
        for method, path, body in (
            ("PUT", "/api/v1/settings", {"country": "FR"}),
            ("PUT", "/api/v1/fraud/settings", NO_LIMITS),
            ("POST", "/api/v1/trunks", {"name": "bench", "auth_user": ACCOUNT, "provider_domain": REALM,
                                        "host": provider.host, "password": TRUNK_PASSWORD, "register": True,
                                        "country_code": "33", "outbound_caller_id": "+33176747980"}),
            ("PUT", "/api/v1/dialplan/procedures/users", {"numbers": [
                {"number": "0X.", "apps": [{"app": "dial_trunk", "trunk": "bench"}]}]}),
        ):
            status, answer = api.request(method, path, body)
            assert status in (200, 201), (path, answer)
        deadline = time.monotonic() + 30
        while api.request("GET", "/api/v1/trunks/bench")[1]["live"]["state"] != "registered":
            assert time.monotonic() < deadline, "the trunk did not register"
            time.sleep(0.3)
        rpc.call(stack.settings, "ul.add", "location", "200", f"sip:200@127.0.0.1:{ports}",
                 3600, 1.0, "", 0, 0, 4294967295)
        callers = sipp_run.write_injection(tmp / "callers.csv", [("100", auth_field("100"))])
        sip = f"127.0.0.1:{stack.settings.sip_port}"
        for label, called in (("internal (200)", "200"), ("through the trunk (0145678901)", "0145678901")):
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
        provider.stop()
        stack.stop()
    return {"rate": rate, "calls_each": rate * seconds, "hold_ms": hold_ms, "steps": steps}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rate", type=int, default=20)
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--hold-ms", type=int, default=500)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        results = {"fraud_guard": guard_cost(tmp), "call_setup": call_setup(tmp, args.rate, args.seconds,
                                                                            args.hold_ms)}
    guard = results["fraud_guard"]
    rows = [("fraud guard, call allowed (median)", f"{guard['allowed_median_us']:,.0f} µs"),
            ("fraud guard, call refused (median)", f"{guard['refused_median_us']:,.0f} µs")]
    for label, s in results["call_setup"]["steps"].items():
        rows.append((f"{args.rate}/s, {label}: ok/failed", f"{s['successful']}/{s['failed']}"))
        rows.append((f"{args.rate}/s, {label}: INVITE→200 p50/p99", f"{s['p50_ms']:.0f}/{s['p99_ms']:.0f} ms"))
    print_table("Calls to the public network: fraud guard and call setup through a trunk", rows)
    write_json("trunk_calls", results)


if __name__ == "__main__":
    main()
