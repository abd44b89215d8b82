"""Extension-to-extension call setup through Kamailio and the B2BUA, at stepped rates.

SIPp plays extension 100 (digest auth) calling 200; 200 is a SIPp UAS whose
contact is registered with the appliance. Each call: INVITE, 407, INVITE with
credentials, 200 (the worker has called 200 and been answered), ACK, hold, BYE.
200's contact is put into the registrar over RPC (a SIPp UAS cannot register itself).
Beside it, the raw ceiling of the load generator: SIPp calling a SIPp UAS
directly, at the same rate, in the same run.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from appliance.sipedge import rpc
from benchmarks import sipp_run
from benchmarks.common import print_table, write_json
from tests.support.ports import free_port_block
from tests.support.stack import Stack

PASSWORD = "Bench-Pass-2024x"
FLOOD_LIMIT = 20000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rates", default="20,40,60", help="calls per second, comma separated")
    parser.add_argument("--seconds", type=int, default=15, help="duration of each step")
    parser.add_argument("--hold-ms", type=int, default=500, help="how long each call stays up")
    parser.add_argument("--debug", action="store_true", help="print SIPp's screens")
    args = parser.parse_args()
    rates = [int(r) for r in args.rates.split(",")]
    results = {"hold_ms": args.hold_ms, "steps": []}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        stack = Stack(tmp / "data", spare_workers=6, workers_max=48).start()
        ports = free_port_block(20)
        # SIPp binds its media port and the two above it: keep them apart.
        uas = sipp_run.start_uas(ports, ports + 10)
        try:
            api = stack.admin_api()
            # All the load comes from one address: raise the flood threshold.
            stack.set_flood_limit(FLOOD_LIMIT)
            api.create_user("100", "Bench", "Caller", PASSWORD)
            api.create_user("200", "Bench", "Callee", PASSWORD)
            sip = f"127.0.0.1:{stack.settings.sip_port}"
            # The UAS cannot send a REGISTER from its own port, and the edge stores
            # the source address of a REGISTER as the contact, so place it directly.
            rpc.call(stack.settings, "ul.add", "location", "200", f"sip:200@127.0.0.1:{ports}",
                     3600, 1.0, "", 0, 0, 4294967295)
            callers = sipp_run.write_injection(tmp / "callers.csv", [("100", auth_field("100"))])
            for rate in rates:
                total = rate * args.seconds
                through = sipp_run.run(sip, [
                    "-sf", str(sipp_run.SCENARIOS / "uac_call_auth.xml"), "-inf", str(callers), "-s", "200",
                    "-r", str(rate), "-m", str(total), "-d", str(args.hold_ms), "-p", str(ports + 3),
                    "-mp", str(ports + 14), "-l", str(rate * 10),
                ], timeout=args.seconds * 4 + 60, debug=args.debug)
                time.sleep(2)
                ceiling = sipp_run.run(f"127.0.0.1:{ports}", [
                    "-sn", "uac", "-s", "200", "-r", str(rate), "-m", str(total), "-d", str(args.hold_ms),
                    "-p", str(ports + 3), "-mp", str(ports + 14),
                ], timeout=args.seconds * 4 + 60)
                results["steps"].append({
                    "target_rate": rate, "calls": total,
                    "appliance": summary(through), "sipp_direct": summary(ceiling),
                })
                time.sleep(2)
        finally:
            uas.terminate()
            uas.wait()
            stack.stop()
    rows = []
    for step in results["steps"]:
        a, c = step["appliance"], step["sipp_direct"]
        rows.append((f"{step['target_rate']} calls/s: ok/failed", f"{a['successful']}/{a['failed']}"
                     f"   (direct {c['successful']}/{c['failed']})"))
        rows.append((f"{step['target_rate']} calls/s: INVITE→200 p50/p99 ms",
                     f"{a['p50_ms']:.0f}/{a['p99_ms']:.0f}   (direct {c['p50_ms']:.0f}/{c['p99_ms']:.0f})"))
    print_table("Call setup through Kamailio + B2BUA (SIPp direct = load generator ceiling)", rows)
    write_json("call_setup", results)


def auth_field(extension: str) -> str:
    # SIPp expands no field inside its authentication keyword: the file carries it whole.
    return f"[authentication username={extension} password={PASSWORD}]"


def summary(result: sipp_run.SippResult) -> dict:
    return {"successful": result.successful, "failed": result.failed, "achieved_rate": round(result.rate, 1),
            "p50_ms": result.median_ms, "p99_ms": result.percentile(99)}


if __name__ == "__main__":
    main()
