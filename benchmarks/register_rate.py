"""REGISTER/s with digest auth for 2,000 extensions through the SIP edge, beside bare Kamailio.

Both Kamailios read the same store (the `subscriber` view, auth_db on SQLite).
"bare" is the raw ceiling: REGISTER -> www_authorize -> save, nothing else.
"edge" is the appliance's rendered kamailio.cfg (scanner filter, bans, NAT,
pike raised because SIPp sends everything from one address).
For each, SIPp runs tests/sipp/register_auth.xml at rising target rates; the
sustained rate is the highest one reached with zero failed registrations.

    .venv/bin/python -m benchmarks.register_rate [--seconds 10] [--rates 2000,4000,...]
"""

from __future__ import annotations

import argparse
import csv as csv_module
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

from appliance.sipedge.config import MAX_FLOOD_LIMIT
from benchmarks import common
from tests.support.kamailio import SIPP_DIR, edge_settings, open_fresh_store, running_kamailio, write_users_csv

EXTENSIONS = 2000
TARGET = 5000
DEFAULT_RATES = [2000, 4000, 5000, 6000, 7000, 8000, 9000, 10000]

BARE_CFG = """#!KAMAILIO
# Raw ceiling for the benchmark: digest REGISTER against the store, nothing else.
debug=0
log_stderror=yes
children=4
listen=udp:127.0.0.1:{sip_port}
listen=tcp:127.0.0.1:{rpc_port}
tcp_accept_no_cl=yes
loadmodule "jsonrpcs.so"
loadmodule "xhttp.so"
loadmodule "kex.so"
loadmodule "tm.so"
loadmodule "sl.so"
loadmodule "textops.so"
loadmodule "pv.so"
loadmodule "usrloc.so"
loadmodule "registrar.so"
loadmodule "db_sqlite.so"
loadmodule "auth.so"
loadmodule "auth_db.so"
modparam("jsonrpcs", "transport", 1)
modparam("db_sqlite", "db_set_readonly", "{db_path}")
modparam("auth_db", "db_url", "sqlite:///{db_path}")
modparam("auth_db", "calculate_ha1", 0)
modparam("auth_db", "password_column", "ha1")
modparam("auth_db", "use_domain", 0)
modparam("usrloc", "db_mode", 0)
request_route {{
    if (!is_method("REGISTER")) {{ sl_send_reply("405", "Method Not Allowed"); exit; }}
    if (!www_authorize("{realm}", "subscriber")) {{ www_challenge("{realm}", "0"); exit; }}
    if (!save("location")) sl_reply_error();
}}
event_route[xhttp:request] {{ jsonrpc_dispatch(); }}
"""


def create_extensions(count: int) -> list[tuple[str, str]]:
    from appliance.store import database
    from appliance.users import create_user

    users = []
    with database.atomic():
        for number in range(count):
            extension, password = str(10000 + number), f"Bench-Passw0rd-{number:05d}x"
            create_user({"extension": extension, "first_name": "Bench", "last_name": "User",
                         "sip_password": password})
            users.append((extension, password))
    return users


@contextmanager
def bare_kamailio(settings, realm: str):
    from appliance.sipedge import process

    cfg = settings.run_dir / "bare.cfg"
    cfg.write_text(BARE_CFG.format(sip_port=settings.sip_port, rpc_port=settings.kamailio_rpc_port,
                                   db_path=settings.db_path.resolve(), realm=realm))
    argv = ["kamailio", "-DD", "-E", "-f", str(cfg), "-P", str(settings.run_dir / "bare.pid"),
            "-Y", str(settings.run_dir), "-w", str(settings.run_dir), "-m", "64", "-M", "8"]
    log = open(settings.log_dir / "bare-kamailio.log", "ab")
    proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
    try:
        process.wait_ready(settings, timeout=15)
        yield proc
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()


def run_step(settings, csv: Path, rate: int, seconds: float) -> dict:
    """One SIPp run at `rate` for `seconds`; the per-second statistics give the sustained rate."""
    calls = int(rate * seconds)
    with tempfile.TemporaryDirectory() as tmp:
        argv = ["sipp", f"{settings.bind}:{settings.sip_port}", "-sf", str(SIPP_DIR / "register_auth.xml"),
                "-inf", str(csv), "-r", str(rate), "-m", str(calls), "-i", "127.0.0.1", "-p", "0",
                "-l", str(rate * 2), "-nostdin", "-trace_stat", "-fd", "1", "-trace_rtt", "-rtt_freq", "1000",
                "-timeout", f"{int(seconds * 3 + 10)}s", "-timeout_error"]
        subprocess.run(argv, cwd=tmp, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=seconds * 3 + 40)
        stats = next(Path(tmp).glob("*_.csv"))
        with stats.open() as f:
            rows = list(csv_module.DictReader(f, delimiter=";"))
    last = rows[-1]
    successful, failed = int(last["SuccessfulCall(C)"]), int(last["FailedCall(C)"])
    # Whole one-second periods while SIPp was still sending: the steady state.
    per_second = [int(r["SuccessfulCall(P)"]) for r in rows[1:-1]][1:-1]
    steady = sum(per_second) / len(per_second) if per_second else 0.0
    return {"target_per_s": rate, "sustained_per_s": round(steady, 1), "successful": successful,
            "failed": failed, "lost": calls - successful - failed}


def ladder(settings, csv: Path, rates: list[int], seconds: float) -> list[dict]:
    """Run each target rate; stop after the first one that is not clean."""
    steps = []
    for rate in rates:
        step = run_step(settings, csv, rate, seconds)
        steps.append(step)
        print(f"  target {rate:>6}/s  sustained {step['sustained_per_s']:>8.1f}/s  "
              f"failed {step['failed']}  lost {step['lost']}", flush=True)
        if not clean(step):
            break
        time.sleep(1)
    return steps


def clean(step: dict) -> bool:
    return step["failed"] == 0 and step["lost"] == 0 and step["sustained_per_s"] >= 0.95 * step["target_per_s"]


def sustained(steps: list[dict]) -> float:
    """Highest steady rate of a step with zero failed or lost registrations."""
    return max((s["sustained_per_s"] for s in steps if clean(s)), default=0.0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="duration of each step")
    parser.add_argument("--rates", default=",".join(map(str, DEFAULT_RATES)))
    parser.add_argument("--extensions", type=int, default=EXTENSIONS)
    args = parser.parse_args(argv)
    rates = [int(r) for r in args.rates.split(",")]

    from appliance.store import close_store
    from appliance.system import get_system_settings

    with tempfile.TemporaryDirectory(prefix="register-rate-") as tmp:
        settings = edge_settings(Path(tmp) / "data")
        open_fresh_store(settings)
        settings.log_dir.mkdir(parents=True, exist_ok=True)
        print(f"creating {args.extensions} extensions...", flush=True)
        users = create_extensions(args.extensions)
        csv = write_users_csv(Path(tmp) / "users.csv", users)
        realm = get_system_settings().sip_domain

        print("bare Kamailio + auth_db (raw ceiling):", flush=True)
        with bare_kamailio(settings, realm):
            bare = ladder(settings, csv, rates, args.seconds)
        print("appliance SIP edge (rendered kamailio.cfg):", flush=True)
        # All SIPp traffic comes from one address: pike would rightly call it a
        # flood at the appliance's limit, so it runs with the highest one.
        with running_kamailio(settings, flood_limit=MAX_FLOOD_LIMIT, log_level=0):
            edge = ladder(settings, csv, rates, args.seconds)
        close_store()

    results = {
        "extensions": args.extensions, "step_seconds": args.seconds, "target_per_s": TARGET,
        "edge_sustained_per_s": sustained(edge), "bare_sustained_per_s": sustained(bare),
        "edge_steps": edge, "bare_steps": bare,
    }
    common.print_table("REGISTER with digest auth, 2,000 extensions (zero failures)", [
        ("appliance SIP edge, REGISTER/s", results["edge_sustained_per_s"]),
        ("bare Kamailio + auth_db, REGISTER/s", results["bare_sustained_per_s"]),
        ("target, REGISTER/s", float(TARGET)),
    ])
    common.write_json("register_rate", results)
    return 0 if results["edge_sustained_per_s"] >= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
