"""The appliance serves time on LAN1 (issue 6: "NTP default: the appliance, which serves time on LAN with chrony").

`appliance run --lab-lan` runs chronyd inside LAN1's namespace (netconfig.lablan.chrony_command, configuration
from netconfig.plan.chrony_lab_conf): a device on LAN1 gets the appliance as NTP server from DHCP and asks it the
time with a real SNTP v4 request. In lab mode chronyd never sets the host's clock (-x), has no upstream server
(no traffic leaves the machine) and stops with the appliance.

Only one lab-LAN appliance runs per machine: run this module under `flock /tmp/lablan.lock`.
"""

from __future__ import annotations

import json
import sys
import time

import psutil

from netconfig import lablan
from tests.support.netns import LabLanAppliance, run

# A device's SNTP client (RFC 4330): a 48-byte request, version 4, mode 3 (client), our transmit time in it;
# prints the answer's fields and the host time when it arrived.
_SNTP = r"""
import json, socket, struct, sys, time
NTP_EPOCH = 2208988800
def ntp_time(data, at):
    seconds, fraction = struct.unpack_from("!II", data, at)
    return seconds - NTP_EPOCH + fraction / 2**32
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(3)
request = bytearray(48)
request[0] = (0 << 6) | (4 << 3) | 3
now = time.time()
struct.pack_into("!II", request, 40, int(now) + NTP_EPOCH, int((now % 1) * 2**32))
for attempt in range(5):
    s.sendto(request, (sys.argv[1], 123))
    try:
        data, peer = s.recvfrom(512)
        break
    except socket.timeout:
        continue
else:
    print(json.dumps({"error": "no answer"}))
    sys.exit(0)
received = time.time()
print(json.dumps({
    "peer": peer[0], "length": len(data), "leap": data[0] >> 6, "version": (data[0] >> 3) & 7, "mode": data[0] & 7,
    "stratum": data[1], "originate_echoed": data[24:32] == bytes(request[40:48]),
    "transmit": ntp_time(data, 40), "received_at": received}))
"""


def _chronyd_processes(marker: str) -> list[psutil.Process]:
    """chronyd processes whose command line names `marker` (this appliance's data folder)."""
    found = []
    for proc in psutil.process_iter(["name", "cmdline"]):
        try:
            cmdline = " ".join(proc.info["cmdline"] or [])
        except psutil.Error:
            continue
        if proc.info["name"] == "chronyd" and marker in cmdline:
            found.append(proc)
    return found


def _namespace_pids(name: str) -> set[int]:
    return {int(pid) for pid in run(["ip", "netns", "pids", name]).stdout.split()}


def test_a_device_on_lan1_gets_the_appliance_time_over_ntp(tmp_path):
    data = tmp_path / "lab"
    lab = LabLanAppliance(data).start()  # waits its turn: one lab LAN per machine
    try:
        # DHCP names the appliance as the LAN's NTP server
        lease = lab.dhcp_lease(tmp_path)
        assert lease["options"]["ntp-servers"] == "10.135.0.1"
        # chronyd runs inside LAN1's namespace, with its own files in the run folder, never setting the host clock
        ours = _chronyd_processes(str(data.resolve()))
        assert len(ours) == 1, ours
        assert ours[0].pid in _namespace_pids(lablan.APPLIANCE_NS)
        assert "-x" in ours[0].cmdline()
        conf = (data / "run" / lablan.CHRONY_DIR / "chronyd.conf").read_text().splitlines()
        assert "allow 10.135.0.0/24" in conf
        assert not [line for line in conf if line.split()[:1] in (["server"], ["pool"], ["peer"])]
        # a real SNTP request from the device: a server's answer with the host's time
        proc = lab.client([sys.executable, "-c", _SNTP, "10.135.0.1"], check=True)
        answer = json.loads(proc.stdout)
        assert answer.get("error") is None, answer
        assert answer["peer"] == "10.135.0.1"
        assert answer["length"] == 48
        assert answer["mode"] == 4  # server
        assert answer["version"] == 4
        assert 0 < answer["stratum"] < 16  # synchronised (its local clock at the local stratum), not "kiss of death"
        assert answer["leap"] != 3  # not "unsynchronised"
        assert answer["originate_echoed"]
        assert abs(answer["transmit"] - answer["received_at"]) < 5.0
        # the appliance stops: chronyd goes with it
        lab.stop()
        end = time.monotonic() + 10
        while _chronyd_processes(str(data.resolve())) and time.monotonic() < end:
            time.sleep(0.2)
        assert _chronyd_processes(str(data.resolve())) == []
    finally:
        lab.stop()
