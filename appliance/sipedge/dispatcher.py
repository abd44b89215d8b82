"""Publish the call-core workers to Kamailio's dispatcher (set 1)."""

from __future__ import annotations

from appliance.errors import SipEdgeError
from appliance.settings import Settings
from appliance.sipedge import config, rpc

SET_ID = 1
# Two dispatched calls per worker: with their B-legs that is the 4 legs a
# pjsua2 client build can hold.
CALLS_PER_WORKER = 2


def render_list(ports: list[int]) -> str:
    """dispatcher.list text: one line per worker, call-load attributes included."""
    lines = [f"# {config.BANNER}: call-core workers, from appliance.sipedge.dispatcher"]
    for port in sorted(set(ports)):
        # duid identifies the worker for call-load counting; maxload caps it.
        lines.append(f"{SET_ID} sip:127.0.0.1:{port} 0 0 duid=w{port};maxload={CALLS_PER_WORKER}")
    return "\n".join(lines) + "\n"


def publish_workers(settings: Settings, ports: list[int]) -> None:
    """Write run/dispatcher.list and make a running Kamailio reload it."""
    settings.run_dir.mkdir(parents=True, exist_ok=True)
    config._write_atomically(config.dispatcher_list_path(settings), render_list(ports))
    try:
        rpc.call(settings, "dispatcher.reload")
    except rpc.RpcFault:
        raise
    except SipEdgeError:
        pass  # not running: Kamailio reads the file when it starts


def workers(settings: Settings) -> list[dict]:
    """Workers as Kamailio sees them: uri, active (answers probes), raw flags."""
    result = rpc.call(settings, "dispatcher.list") or {}
    rows = []
    for record in result.get("RECORDS", []):
        for target in record.get("SET", {}).get("TARGETS", []):
            dest = target.get("DEST", {})
            flags = dest.get("FLAGS", "")
            rows.append({"uri": dest.get("URI", ""), "active": flags.startswith("A"), "flags": flags})
    return rows
