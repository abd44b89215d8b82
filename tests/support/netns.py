"""Network namespaces for tests: created with unique names, every one removed at teardown (even on failure).

    with Namespaces() as ns:
        ns.add("ap")                       # -> the real name, e.g. "t1234-ap"
        ns.veth("ap", "eth1", "phone", "eth0")
        ns.addr("ap", "eth1", "10.135.0.1/24")
        ns.exec("phone", ["udhcpc", ...])

Only namespaces and veths this object made are touched; the host's own interfaces never are.
"""

from __future__ import annotations

import os
import subprocess

from netconfig.netns import delete_namespace, private_resolv_conf
from tests.support.stack import StackApi


def run(argv: list[str], check: bool = True, timeout: float = 30) -> subprocess.CompletedProcess:
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)}: {proc.stderr.strip()}")
    return proc


class Namespaces:
    def __init__(self, prefix: str | None = None):
        self.prefix = prefix or f"t{os.getpid() % 100000}"
        self.names: dict[str, str] = {}

    def __enter__(self) -> Namespaces:
        return self

    def __exit__(self, *exc) -> None:
        self.cleanup()

    def name(self, short: str) -> str:
        return self.names[short]

    def add(self, short: str) -> str:
        real = f"{self.prefix}-{short}"
        delete_namespace(real)  # left over from a crashed run
        private_resolv_conf(real)  # a DHCP client's script run there never rewrites the host's resolv.conf
        self.names[short] = real
        run(["ip", "netns", "add", real])
        run(["ip", "-n", real, "link", "set", "lo", "up"])
        return real

    def veth(self, ns_a: str, if_a: str, ns_b: str, if_b: str, up: bool = True) -> None:
        a, b = self.names[ns_a], self.names[ns_b]
        run(["ip", "-n", a, "link", "add", if_a, "type", "veth", "peer", "name", if_b, "netns", b])
        if up:
            run(["ip", "-n", a, "link", "set", if_a, "up"])
            run(["ip", "-n", b, "link", "set", if_b, "up"])

    def ip(self, short: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return run(["ip", "-n", self.names[short], *args], check=check)

    def tc(self, short: str, *args: str) -> str:
        return run(["tc", "-n", self.names[short], *args]).stdout

    def exec(self, short: str, argv: list[str], check: bool = True, timeout: float = 30) -> subprocess.CompletedProcess:
        return run(["ip", "netns", "exec", self.names[short], *argv], check=check, timeout=timeout)

    def addresses(self, short: str, dev: str) -> list[str]:
        out = self.ip(short, "-4", "-o", "addr", "show", "dev", dev, check=False).stdout
        return [line.split()[3] for line in out.splitlines() if " inet " in line]

    def cleanup(self) -> None:
        for real in list(self.names.values()):
            delete_namespace(real)
        self.names.clear()


# -- one lab LAN per machine -------------------------------------------------------------------------------------

LAB_LOCK = "/tmp/lablan.lock"


def _lock_holder_pids(path: str) -> set[int]:
    """Pids that hold a flock(2) lock on `path` (from /proc/locks: the process that placed it)."""
    try:
        st = os.stat(path)
        with open("/proc/locks") as f:
            lines = f.read().splitlines()
    except OSError:
        return set()
    key = f"{os.major(st.st_dev):02x}:{os.minor(st.st_dev):02x}:{st.st_ino}"
    return {int(parts[4]) for parts in map(str.split, lines)
            if len(parts) >= 6 and parts[1] == "FLOCK" and parts[5] == key}


def _ancestors() -> set[int]:
    pids, pid = set(), os.getpid()
    while pid > 1:
        try:
            with open(f"/proc/{pid}/stat") as f:
                stat = f.read()
        except OSError:
            break
        pid = int(stat.rsplit(")", 1)[1].split()[1])
        pids.add(pid)
    return pids


def lab_lan_lock() -> int:
    """Wait for the machine's one lab LAN: an exclusive flock on /tmp/lablan.lock (the same lock a developer takes
    with `flock /tmp/lablan.lock pytest ...`), returned as an open fd; close it to release. When an ancestor of
    this process already holds that lock (the run was started under `flock`), the processes of that run (xdist
    workers) serialise on /tmp/lablan.lock.inner instead, since waiting for the ancestor would never end."""
    import fcntl

    fd = os.open(LAB_LOCK, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return fd
        except BlockingIOError:
            pass
        if _lock_holder_pids(LAB_LOCK) & _ancestors():
            os.close(fd)
            fd = os.open(LAB_LOCK + ".inner", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
        fcntl.flock(fd, fcntl.LOCK_EX)
        return fd
    except BaseException:
        os.close(fd)
        raise


# -- `appliance run --lab-lan` for tests -------------------------------------------------------------------------

_HTTP_PROBE = ("import http.client,sys\n"
               "c=http.client.HTTPConnection(sys.argv[1],80,timeout=3); c.request('GET','/')\n"
               "r=c.getresponse(); print(r.status, r.getheader('Location'))")


def parse_dhclient_lease(text: str) -> dict:
    """The last lease of an ISC dhclient lease file: {"address": ..., "options": {name: value}}."""
    import re

    block = text.rsplit("lease {", 1)[-1]
    address = re.search(r"fixed-address ([\d.]+);", block)
    options = {m.group(1): m.group(2).strip('"') for m in re.finditer(r"option ([\w-]+) (.+);", block)}
    return {"address": address.group(1) if address else "", "options": options}


class LabLanAppliance:
    """The whole appliance started with `appliance run --lab-lan` (a subprocess), and a device on LAN1.

        lab = LabLanAppliance(tmp_path / "lab").start()
        lease = lab.dhcp_lease(tmp_path)          # real dhclient in lan1-client; its address is set there
        lab.client([sys.executable, "script.py"])  # anything a device on LAN1 runs
        lab.stop()

    Only one can run per machine (the namespace names are fixed: appliance-lan1, lan1-client)."""

    address = "10.135.0.1"

    def __init__(self, data_dir, extra_args: tuple[str, ...] = ("--spare-workers", "1")):
        from pathlib import Path

        self.data_dir = Path(data_dir)
        self.extra_args = extra_args
        self.proc: subprocess.Popen | None = None
        self._lock_fd: int | None = None

    @property
    def url(self) -> str:
        return f"http://{self.address}"

    @property
    def output(self) -> str:
        try:
            return (self.data_dir / "supervisor.out").read_text()
        except OSError:
            return ""

    @property
    def admin_password(self) -> str:
        import re

        m = re.search(r"admin password: (\S+)", self.output)
        return m.group(1) if m else ""

    def start(self, timeout: float = 60) -> LabLanAppliance:
        if self._lock_fd is None:
            self._lock_fd = lab_lan_lock()  # held until stop(): xdist may run two lab-LAN modules at once
        try:
            return self._start(timeout)
        except BaseException:
            self.stop()
            raise

    def _start(self, timeout: float) -> LabLanAppliance:
        import sys
        import time

        self.data_dir.mkdir(parents=True, exist_ok=True)
        with open(self.data_dir / "supervisor.out", "a") as out:
            self.proc = subprocess.Popen([sys.executable, "-m", "appliance.cli", "run", "--lab-lan", "--data-dir",
                                          str(self.data_dir), *self.extra_args], stdout=out,
                                         stderr=subprocess.STDOUT, start_new_session=True)
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                break
            if self._ready():
                return self
            time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"the lab LAN appliance did not come up:\n{self.output[-2000:]}")

    def _ready(self) -> bool:
        """This run's web UI answers on LAN1 (asked from the appliance's side: the client may have no address
        yet; and not a killed run's web server still stopping: this run owns the lab LAN)."""
        import json
        import sys

        from netconfig import lablan

        try:
            owner = json.loads(lablan.OWNER_FILE.read_text())["pid"]
        except (OSError, ValueError, KeyError):
            return False
        if owner != self.proc.pid:
            return False
        probe = run(["ip", "netns", "exec", lablan.APPLIANCE_NS, sys.executable, "-c", _HTTP_PROBE, self.address],
                    check=False, timeout=10)
        return probe.stdout.startswith("303")

    def client(self, argv: list[str], check: bool = False, timeout: float = 30) -> subprocess.CompletedProcess:
        from netconfig import lablan

        return run(["ip", "netns", "exec", lablan.CLIENT_NS, *argv], check=check, timeout=timeout)

    def dhcp_lease(self, work_dir, request: str = "subnet-mask, routers, domain-name-servers, ntp-servers, "
                                                    "tftp-server-name, poly-prov", interface: str = "eth0") -> dict:
        """A real DHCP exchange from lan1-client (ISC dhclient, no-op script: nothing of the host is touched);
        the leased address is then set on the client's `interface`. {"address", "options"} (option 160 as
        poly-prov)."""
        from pathlib import Path

        work = Path(work_dir)
        stem = "lab-dhclient" if interface == "eth0" else f"lab-dhclient-{interface}"
        conf, leases, pid = work / f"{stem}.conf", work / f"{stem}.leases", work / f"{stem}.pid"
        conf.write_text(f"option poly-prov code 160 = text;\nrequest {request};\n")
        try:
            self.client(["dhclient", "-1", "-cf", str(conf), "-lf", str(leases), "-pf", str(pid), "-sf", "/bin/true",
                         interface], check=True, timeout=60)
        finally:
            if pid.exists():
                self.client(["kill", pid.read_text().strip()])
        lease = parse_dhclient_lease(leases.read_text())
        mask = lease["options"].get("subnet-mask", "255.255.255.0")
        self.client(["ip", "addr", "replace", f"{lease['address']}/{mask}", "dev", interface], check=True)
        return lease

    def device_port(self, work_dir, interface: str, mac: str, table: int) -> dict:
        """A device of its own on LAN1 (a phone with its MAC): a macvlan of lan1-client's eth0 with `mac`, its
        address from a real DHCP exchange (dhcp_lease), and routing so that what is sent from that address
        leaves through that interface (policy table `table`: several devices share lan1-client)."""
        import ipaddress

        self.client(["sysctl", "-q", "-w", "net.ipv4.conf.all.arp_ignore=1", "net.ipv4.conf.all.arp_announce=2"],
                    check=True)
        self.client(["ip", "link", "add", "link", "eth0", "name", interface, "address", mac, "type", "macvlan",
                     "mode", "bridge"], check=True)
        self.client(["ip", "link", "set", interface, "up"], check=True)
        lease = self.dhcp_lease(work_dir, interface=interface)
        mask = lease["options"].get("subnet-mask", "255.255.255.0")
        net = ipaddress.IPv4Network(f"{lease['address']}/{mask}", strict=False)
        self.client(["ip", "route", "replace", str(net), "dev", interface, "src", lease["address"], "table",
                     str(table)], check=True)
        self.client(["ip", "rule", "add", "from", lease["address"], "table", str(table)], check=True)
        return lease

    def http(self, url: str, method: str = "GET", headers: dict | None = None, body: str | None = None,
             digest: tuple[str, str] | None = None, source: str | None = None, timeout: float = 10) -> dict:
        """One HTTP request sent from lan1-client (Python's urllib; with `digest`, its HTTP digest client
        answers a 401 challenge; `source`: the local address to send from, e.g. a device_port's). {"status",
        "headers" (lower-case names), "body", "challenges" (the WWW-Authenticate headers of the 401 answers)}."""
        import json
        import sys

        req = {"url": url, "method": method, "headers": headers or {}, "body": body,
               "digest": list(digest) if digest else None, "source": source, "timeout": timeout}
        proc = subprocess.run(["ip", "netns", "exec", _client_ns(), sys.executable, "-c", _CLIENT_HTTP],
                              input=json.dumps(req), capture_output=True, text=True, timeout=timeout + 20)
        if proc.returncode != 0:
            raise RuntimeError(f"{method} {url} from lan1-client: {proc.stderr.strip()[-2000:]}")
        return json.loads(proc.stdout)

    def api(self) -> LabLanApi:
        """An API client sending from lan1-client, not logged in."""
        return LabLanApi(self)

    def admin_api(self, new_password: str) -> LabLanApi:
        """An API client (from lan1-client) logged in as admin, after the forced first password change."""
        api = LabLanApi(self)
        status, answer = api.request("POST", "/api/v1/session/password", {
            "username": "admin", "current_password": self.admin_password, "new_password": new_password})
        if status not in (200, 204):
            raise RuntimeError(f"admin's first password change: {status} {answer}")
        api.login("admin", new_password)
        return api

    def kill(self) -> None:
        """A crash: the supervisor killed outright (its children get SIGTERM; the namespaces stay)."""
        import os
        import signal

        if self.proc and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        try:
            if self.proc and self.proc.poll() is None:
                self.proc.terminate()
                try:
                    self.proc.wait(30)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
        finally:
            if self._lock_fd is not None:
                os.close(self._lock_fd)
                self._lock_fd = None


def _client_ns() -> str:
    from netconfig import lablan

    return lablan.CLIENT_NS


# Run in lan1-client by LabLanAppliance.http: one request from stdin (JSON), the answer on stdout (JSON).
_CLIENT_HTTP = """
import functools, http.client, json, sys, urllib.error, urllib.request
req = json.loads(sys.stdin.read())
challenges = []
class Digest(urllib.request.HTTPDigestAuthHandler):
    def http_error_401(self, r, fp, code, msg, headers):
        challenges.append(headers.get("WWW-Authenticate", ""))
        return super().http_error_401(r, fp, code, msg, headers)
class FromSource(urllib.request.HTTPHandler):
    def http_open(self, r):
        return self.do_open(functools.partial(http.client.HTTPConnection, source_address=(req["source"], 0)), r)
handlers = [urllib.request.ProxyHandler({})] + ([FromSource()] if req["source"] else [])
if req["digest"]:
    mgr = urllib.request.HTTPPasswordMgrWithDefaultRealm()
    mgr.add_password(None, req["url"], *req["digest"])
    handlers.append(Digest(mgr))
opener = urllib.request.build_opener(*handlers)
data = req["body"].encode() if req["body"] is not None else None
r = urllib.request.Request(req["url"], data=data, method=req["method"], headers=req["headers"])
try:
    with opener.open(r, timeout=req["timeout"]) as resp:
        status, headers, body = resp.status, resp.headers, resp.read()
except urllib.error.HTTPError as err:
    status, headers, body = err.code, err.headers, err.read()
print(json.dumps({"status": status, "headers": {k.lower(): v for k, v in headers.items()},
                  "body": body.decode("utf-8", "replace"), "challenges": challenges}))
"""


class LabLanApi(StackApi):
    """The appliance's JSON API as a laptop on LAN1 uses it (every request sent from lan1-client to
    http://10.135.0.1); a bearer token after login(). request() -> (status, decoded JSON or text)."""

    def __init__(self, lab: LabLanAppliance):
        super().__init__(lab.url)
        self.lab = lab

    def send(self, method: str, path: str, data: bytes | None, content_type: str) -> tuple[int, object]:
        import json

        headers = {"Content-Type": content_type} if data is not None else {}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        answer = self.lab.http(self.base_url + path, method, headers, data.decode() if data is not None else None)
        try:
            return answer["status"], json.loads(answer["body"]) if answer["body"] else None
        except ValueError:
            return answer["status"], answer["body"]
