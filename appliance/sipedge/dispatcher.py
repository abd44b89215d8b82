"""Publish the call-core workers to Kamailio's dispatcher (set 1).

The list always holds every worker slot of settings (ports
worker_sip_port_base .. + worker_count_max - 1); slots without a published
worker are disabled. Publishing flips states over RPC instead of reloading
the list, because dispatcher.reload resets the per-worker call counters and
would let a full worker receive more calls.
"""

from __future__ import annotations

from pathlib import Path

from appliance.errors import SipEdgeError
from appliance.settings import Settings
from appliance.sipedge import config, rpc

SET_ID = 1
# Two dispatched calls per worker: with their B-legs that is the 4 legs a
# pjsua2 client build can hold.
CALLS_PER_WORKER = 2
FLAG_DISABLED = 4


def worker_uri(port: int) -> str:
    return f"sip:127.0.0.1:{port}"


def slot_ports(settings: Settings) -> list[int]:
    return [settings.worker_sip_port(i) for i in range(settings.worker_count_max)]


def render_list(settings: Settings, ports: list[int]) -> str:
    """dispatcher.list text: every slot, call-load attributes, unpublished ones disabled."""
    lines = [f"# {config.BANNER}: call-core worker slots, from appliance.sipedge.dispatcher",
             "# setid destination flags priority attrs"]
    for port in slot_ports(settings):
        flags = 0 if port in ports else FLAG_DISABLED
        # duid identifies the worker for call-load counting; maxload caps it.
        lines.append(f"{SET_ID} {worker_uri(port)} {flags} 0 duid=w{port};maxload={CALLS_PER_WORKER}")
    return "\n".join(lines) + "\n"


def write_list(settings: Settings, ports: list[int]) -> Path:
    """Write run/dispatcher.list for these published worker ports."""
    outside = sorted(set(ports) - set(slot_ports(settings)))
    if outside:
        raise SipEdgeError(f"worker ports {outside} are outside the worker port range of the settings")
    path = config.dispatcher_list_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    config.write_atomically(path, render_list(settings, ports))
    return path


def published_ports(settings: Settings) -> list[int]:
    """Ports enabled in the current run/dispatcher.list (none if there is no list)."""
    path = config.dispatcher_list_path(settings)
    if not path.exists():
        return []
    ports = []
    for line in path.read_text().splitlines():
        fields = line.split()
        if len(fields) >= 3 and not line.startswith("#") and fields[2] == "0":
            ports.append(int(fields[1].rsplit(":", 1)[1]))
    return [p for p in ports if p in slot_ports(settings)]


def publish_workers(settings: Settings, ports: list[int]) -> None:
    """Make exactly these workers eligible for new calls (file, and running Kamailio)."""
    write_list(settings, ports)
    try:
        current = {w["uri"]: w for w in workers(settings)}
    except rpc.RpcFault:
        raise
    except SipEdgeError:
        return  # not running: Kamailio reads the file when it starts
    wanted = {worker_uri(p) for p in ports}
    for uri, state in current.items():
        if uri in wanted and state["disabled"]:
            # Active at once; the OPTIONS probes take it out if it does not answer.
            rpc.call(settings, "dispatcher.set_state", "a", SET_ID, uri)
        elif uri not in wanted and not state["disabled"]:
            rpc.call(settings, "dispatcher.set_state", "d", SET_ID, uri)


def workers(settings: Settings) -> list[dict]:
    """Worker slots as Kamailio sees them: uri, active (answers probes), disabled, flags."""
    result = rpc.call(settings, "dispatcher.list") or {}
    rows = []
    for record in result.get("RECORDS", []):
        for target in record.get("SET", {}).get("TARGETS", []):
            dest = target.get("DEST", {})
            flags = dest.get("FLAGS", "")
            rows.append({"uri": dest.get("URI", ""), "active": flags.startswith("A"),
                         "disabled": flags.startswith("D"), "flags": flags})
    return rows
