"""Boot storm: 1,000 phones fetching their configs at once from the web server (`python -m webui`).

Each simulated phone (asyncio, one HTTP/1.1 keep-alive connection) does what a Yealink does at boot:
the common file `y000000000028.cfg`, then its own `<mac>.cfg` (401 digest challenge), then the same with
its digest answer (200, its account). Two storms:

- `assigned`: 1,000 devices known and assigned to 1,000 users (digest auth, SIP password decrypted per
  config);
- `auto-add`: 1,000 unknown MACs while auto-add is open (each first request creates its device, the
  phone gets the "not assigned" config and its provisioning credentials once).

Reported: time until every phone has its config, p50/p99 of a phone's whole boot sequence and of a
single request, errors. Target (issue 6): all served within 10 s on this machine.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from benchmarks.common import print_table, write_json

UA = "Yealink SIP-T46S 66.86.0.15 {mac}"


def prepare(data_dir: Path, phones: int) -> list[tuple[str, str]]:
    """A store with `phones` users and devices assigned to them; returns (mac, provisioning password)."""
    from appliance.provisioning import service
    from appliance.settings import Settings
    from appliance.store import database, open_store, secrets
    from appliance.users import service as users

    settings = Settings(data_dir=data_dir)
    settings.ensure_dirs()
    open_store(settings)
    secrets.load_key(settings.secret_key_path)
    creds = []
    with database.atomic():
        for i in range(phones):
            ext = str(2000 + i)
            users.create_user({"extension": ext, "first_name": "Bench", "last_name": f"P{i}",
                               "sip_password": f"Bench-Sip-{i:05d}x"})
            mac = f"805ec0{i:06x}"
            _device, password = service.create_device({"mac": mac, "vendor": "yealink", "user": ext})
            creds.append((mac, password))
    return creds


def open_auto_add(data_dir: Path) -> None:
    from appliance.provisioning import service
    from appliance.settings import Settings
    from appliance.store import open_store, secrets

    settings = Settings(data_dir=data_dir)
    settings.ensure_dirs()
    open_store(settings)
    secrets.load_key(settings.secret_key_path)
    service.set_auto_add(True)


class Connection:
    """One phone's HTTP/1.1 connection; reopened when the server closed an idle keep-alive one (cheroot keeps
    only a few idle connections open, as a phone would see)."""

    def __init__(self, port: int, connect_times: list):
        self.port = port
        self.reader = self.writer = None
        self.reconnects = 0
        self.connect_times = connect_times

    async def request(self, path: str, ua: str, auth: str | None = None):
        for attempt in range(3):
            if self.writer is None:
                t = time.perf_counter()
                self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
                self.connect_times.append(time.perf_counter() - t)
                if attempt:
                    self.reconnects += 1
            try:
                return await _request(self.reader, self.writer, self.port, path, ua, auth)
            except (ConnectionError, asyncio.IncompleteReadError, EOFError):
                self.writer.close()
                self.writer = None
        raise RuntimeError(f"{path}: the server kept closing the connection")

    def close(self):
        if self.writer is not None:
            self.writer.close()


async def _request(reader, writer, port: int, path: str, ua: str, auth: str | None = None):
    head = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUser-Agent: {ua}\r\n"
    if auth:
        head += f"Authorization: {auth}\r\n"
    writer.write((head + "\r\n").encode())
    await writer.drain()
    status_line = await reader.readline()
    if not status_line:
        raise EOFError("connection closed")
    status = int(status_line.split()[1])
    headers = {}
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b""):
            break
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    body = await reader.readexactly(int(headers.get("content-length", "0")))
    return status, headers, body


async def phone(port: int, mac: str, password: str | None, request_times: list, errors: list,
                reconnects: list, connect_times: list) -> float | None:
    """One phone's boot; returns its duration (s) or None if it did not get its config."""
    from appliance.provisioning import digest

    ua = UA.format(mac=":".join(mac[i:i + 2] for i in range(0, 12, 2)))
    start = time.perf_counter()
    try:
        conn = Connection(port, connect_times)
        t = time.perf_counter()
        status, _, _ = await conn.request("/prov/y000000000028.cfg", ua)
        request_times.append(time.perf_counter() - t)
        if status != 200:
            raise RuntimeError(f"common file: {status}")
        path = f"/prov/{mac}.cfg"
        t = time.perf_counter()
        status, headers, body = await conn.request(path, ua)
        request_times.append(time.perf_counter() - t)
        if password is not None:
            if status != 401:
                raise RuntimeError(f"no challenge: {status}")
            auth = digest.authorization(mac, password, "GET", path, headers["www-authenticate"])
            t = time.perf_counter()
            status, _, body = await conn.request(path, ua, auth)
            request_times.append(time.perf_counter() - t)
            if status != 200 or b"account.1.password = Bench-Sip-" not in body:
                raise RuntimeError(f"config: {status}")
        elif status != 200 or b"account.1.enable = 0" not in body:
            raise RuntimeError(f"auto-add config: {status}")
        conn.close()
        reconnects.append(conn.reconnects)
        return time.perf_counter() - start
    except (OSError, RuntimeError, asyncio.IncompleteReadError, ValueError, IndexError) as exc:
        errors.append(str(exc))
        return None


async def storm(port: int, creds: list[tuple[str, str | None]]) -> dict:
    request_times: list[float] = []
    errors: list[str] = []
    reconnects: list[int] = []
    connect_times: list[float] = []
    start = time.perf_counter()
    durations = await asyncio.gather(*(phone(port, mac, pw, request_times, errors, reconnects, connect_times)
                                       for mac, pw in creds))
    wall = time.perf_counter() - start
    done = sorted(d for d in durations if d is not None)
    req = sorted(request_times)

    def pct(values, p):
        return values[min(len(values) - 1, int(len(values) * p))] * 1000 if values else 0.0

    return {"phones": len(creds), "served": len(done), "errors": len(errors), "error_samples": errors[:5],
            "all_served_s": round(wall, 3), "phone_p50_ms": round(pct(done, 0.5), 1),
            "phone_p99_ms": round(pct(done, 0.99), 1), "request_p50_ms": round(pct(req, 0.5), 1),
            "request_p99_ms": round(pct(req, 0.99), 1), "requests": len(req),
            "requests_per_s": round(len(req) / wall, 1) if wall else 0.0,
            "request_mean_ms": round(statistics.mean(req) * 1000, 1) if req else 0.0,
            "reconnects": sum(reconnects), "connect_p50_ms": round(pct(sorted(connect_times), 0.5), 1),
            "connect_p99_ms": round(pct(sorted(connect_times), 0.99), 1)}


# `--backlog N`: the same web server with a listen backlog of N instead of its own (what-if for tuning).
_LAUNCH_WITH_BACKLOG = """
import signal, sys, threading
from pathlib import Path
from appliance.settings import Settings
from webui.server import WebServer, open_backends
settings = Settings(data_dir=Path(sys.argv[1]), http_port=int(sys.argv[2]))
open_backends(settings)
server = WebServer(settings)
server.server.request_queue_size = int(sys.argv[3])
server.start()
stop = threading.Event()
signal.signal(signal.SIGTERM, lambda *a: stop.set())
stop.wait()
server.stop()
"""


def run_server(data_dir: Path, backlog: int = 0) -> tuple[subprocess.Popen, int]:
    from tests.support.ports import free_port

    port = free_port()
    log = (data_dir / "web.log").open("w")
    if backlog:
        argv = [sys.executable, "-c", _LAUNCH_WITH_BACKLOG, str(data_dir), str(port), str(backlog)]
    else:
        argv = [sys.executable, "-m", "webui", "--data-dir", str(data_dir), "--http-port", str(port)]
    proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, cwd=Path(__file__).resolve().parents[1])
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/prov/y000000000028.cfg", timeout=2).read()
            return proc, port
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("the web server did not start")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--phones", type=int, default=1000)
    parser.add_argument("--backlog", type=int, default=0,
                        help="run the web server with this listen backlog instead of its own (what-if)")
    args = parser.parse_args(argv)
    results = {}
    with tempfile.TemporaryDirectory(prefix="bench-prov-") as tmp:
        assigned_dir, auto_dir = Path(tmp) / "assigned", Path(tmp) / "auto"
        # Each store is prepared in its own process (the store module holds one database per process).
        for target, code in ((assigned_dir, "prepare"), (auto_dir, "open_auto_add")):
            subprocess.run([sys.executable, "-c", f"import sys, json; from pathlib import Path; "
                            f"from benchmarks.provisioning import {code}; "
                            f"r = {code}(Path(sys.argv[1]){', ' + str(args.phones) if code == 'prepare' else ''}); "
                            f"Path(sys.argv[1], 'creds.json').write_text(json.dumps(r or []))", str(target)],
                           check=True, cwd=Path(__file__).resolve().parents[1])
        import json

        creds = [tuple(c) for c in json.loads((assigned_dir / "creds.json").read_text())]
        for name, data_dir, phones in (
            ("assigned", assigned_dir, creds),
            ("auto-add", auto_dir, [(f"805ec1{i:06x}", None) for i in range(args.phones)]),
        ):
            proc, port = run_server(data_dir, args.backlog)
            try:
                results[name] = asyncio.run(storm(port, phones))
            finally:
                proc.terminate()
                proc.wait(10)
            if results[name]["errors"]:
                lines = (data_dir / "web.log").read_text(errors="replace").splitlines()
                results[name]["server_errors"] = [line for line in lines if "ERROR" in line or "Error" in line][:5]
    for name, r in results.items():
        print_table(f"Boot storm, {name}: {r['phones']} phones at once (3 requests each; auto-add: 2)", [
            ("served / errors", f"{r['served']} / {r['errors']}"),
            ("all served (s)", r["all_served_s"]),
            ("a phone's boot p50 / p99 (ms)", f"{r['phone_p50_ms']} / {r['phone_p99_ms']}"),
            ("one request p50 / p99 (ms)", f"{r['request_p50_ms']} / {r['request_p99_ms']}"),
            ("requests/s", r["requests_per_s"]),
            ("reconnects (server closed an idle keep-alive)", r["reconnects"]),
            ("TCP connect p50 / p99 (ms)", f"{r['connect_p50_ms']} / {r['connect_p99_ms']}"),
        ])
        if r["error_samples"]:
            print("errors, e.g.:", r["error_samples"], r.get("server_errors"))
    write_json("provisioning" + (f"-backlog{args.backlog}" if args.backlog else ""),
               {"phones": args.phones, "backlog": args.backlog or "server default", "cpu_count": os.cpu_count(),
                "storms": results})
    ok = all(r["errors"] == 0 for r in results.values())
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
