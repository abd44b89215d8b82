"""System health (the Info page, /api/v1/system/health): host figures from psutil, the appliance's
services (serialconsole.services: state and restart through the supervisor, one home), and a check
of the ports the appliance needs (from Settings).

A port is
- "ok": the appliance listens on it (or, for the RTP range, nothing else holds a port of it);
- "in_use": another program holds it (named with its pid): the appliance cannot take it;
- "not_listening": nothing listens although the appliance should (a service is down);
- "free": nobody listens and the appliance is not running (nothing wrong by itself);
- "blocked": a firewall rule on this host drops or rejects it (nft or iptables rules naming the port).
"""

from __future__ import annotations

import os
import re
import socket
import time

import psutil

from appliance.settings import Settings
from storage.commands import CommandFailed, run

_primed = False


def _cpu_percent() -> float:
    """Since the previous call (the first call measures 0.2 s)."""
    global _primed
    if not _primed:
        _primed = True
        return psutil.cpu_percent(interval=0.2)
    return psutil.cpu_percent(interval=None)


def required_ports(settings: Settings) -> list[dict]:
    ports = [
        {"name": "SIP", "protocol": "udp", "port": settings.sip_port},
        {"name": "SIP", "protocol": "tcp", "port": settings.sip_port},
    ]
    if settings.sip_tls_port:
        ports.append({"name": "SIP over TLS", "protocol": "tcp", "port": settings.sip_tls_port})
    ports.append({"name": "Web UI", "protocol": "tcp", "port": settings.http_port})
    ports.append({"name": "SIP edge control (loopback)", "protocol": "tcp", "port": settings.kamailio_rpc_port})
    last = settings.rtp_port_base + settings.worker_count_max * settings.rtp_ports_per_worker - 1
    ports.append({"name": "RTP (voice)", "protocol": "udp", "port": settings.rtp_port_base, "last_port": last})
    return ports


def appliance_pids(settings: Settings) -> set[int]:
    from serialconsole.services import main_processes

    pids = {os.getpid()}          # the web process answering this is the appliance too
    for top in main_processes(settings):
        pids.add(top.pid)
        try:
            pids |= {p.pid for p in top.children(recursive=True)}
        except psutil.Error:
            pass
    return pids


def _sockets() -> list:
    try:
        return psutil.net_connections(kind="inet")
    except (psutil.Error, OSError):
        return []


def _owner(pid: int | None) -> str:
    if not pid:
        return "another program"
    try:
        return f"{psutil.Process(pid).name()} (pid {pid})"
    except psutil.Error:
        return f"pid {pid}"


def firewall_rules() -> str:
    """The host's firewall rules as text (nft, then iptables), '' when neither is there or readable."""
    texts = []
    for argv in (["nft", "list", "ruleset"], ["iptables-save"], ["ip6tables-save"]):
        try:
            texts.append(run(argv, timeout=10))
        except CommandFailed:
            continue
    return "\n".join(texts)


_RANGE = r"(\d+)(?:[-:](\d+))?"


def blocked_by(rules: str, protocol: str, port: int) -> str:
    """The first rule line that drops or rejects `protocol` traffic to `port`, '' if none."""
    for line in rules.splitlines():
        low = line.lower()
        if not re.search(r"\b(drop|reject)\b", low):
            continue
        if protocol not in low:
            continue
        for match in re.finditer(r"(?:dport|--dport|--dports)\s+\{?\s*([0-9,:\- ]+)", low):
            for part in re.split(r"[,\s]+", match.group(1).strip()):
                m = re.fullmatch(_RANGE, part)
                if m and int(m.group(1)) <= port <= int(m.group(2) or m.group(1)):
                    return line.strip()
    return ""


def check_ports(settings: Settings, running: bool | None = None) -> list[dict]:
    ours = appliance_pids(settings)
    running = len(ours) > 1 if running is None else running
    socks = _sockets()
    rules = firewall_rules()
    rows = []
    for req in required_ports(settings):
        first, last = req["port"], req.get("last_port", req["port"])
        kind = socket.SOCK_DGRAM if req["protocol"] == "udp" else socket.SOCK_STREAM
        holders = [c for c in socks if c.type == kind and c.laddr and first <= c.laddr.port <= last
                   and (kind == socket.SOCK_DGRAM or c.status == psutil.CONN_LISTEN)]
        mine = [c for c in holders if c.pid in ours]
        foreign = [c for c in holders if c.pid not in ours]
        row = dict(req, state="", detail="")
        rule = blocked_by(rules, req["protocol"], first)
        if rule:
            row.update(state="blocked", detail=f"firewall rule: {rule[:200]}")
        elif foreign:
            owners = sorted({_owner(c.pid) for c in foreign})
            where = f"{len(foreign)} port(s) of the range" if last != first else "the port"
            row.update(state="in_use", detail=f"{where} held by {', '.join(owners[:3])}")
        elif last != first:
            row.update(state="ok", detail=f"{first}-{last}: {len(mine)} in use by calls, none by another program")
        elif mine:
            row.update(state="ok", detail=f"listening ({_owner(mine[0].pid)})")
        elif running:
            row.update(state="not_listening", detail="the appliance should listen here: see the services")
        else:
            row.update(state="free", detail="nobody listens (the appliance is not running)")
        rows.append(row)
    return rows


def _disk(path) -> dict:
    try:
        usage = psutil.disk_usage(str(path))
    except OSError:
        return {"path": str(path), "total_bytes": None, "used_bytes": None, "free_bytes": None, "percent": None}
    return {"path": str(path), "total_bytes": usage.total, "used_bytes": usage.used, "free_bytes": usage.free,
            "percent": usage.percent}


def health(settings: Settings) -> dict:
    from serialconsole.services import main_processes, status

    memory = psutil.virtual_memory()
    swap = psutil.swap_memory()
    load = os.getloadavg()
    now = time.time()
    try:  # since the first of the appliance's processes started
        starts = [p.create_time() for p in main_processes(settings)]
        appliance_uptime = int(now - min(starts)) if starts else None
    except psutil.Error:
        appliance_uptime = None
    disks = [dict(_disk(settings.data_dir), name="data")]
    from storage import mounts
    from storage.models import Volume

    try:
        for volume in Volume.select().order_by(Volume.label):
            if mounts.is_present(settings, volume.label, volume.uuid):
                disks.append(dict(_disk(mounts.mount_point(settings, volume.label)), name=volume.label))
    except Exception:  # noqa: BLE001 -- the page shows what it can
        pass
    return {
        "cpu": {"percent": _cpu_percent(), "count": psutil.cpu_count() or 1},
        "memory": {"total_bytes": memory.total, "available_bytes": memory.available, "used_bytes": memory.used,
                   "percent": memory.percent, "swap_total_bytes": swap.total, "swap_used_bytes": swap.used},
        "load": {"1": round(load[0], 2), "5": round(load[1], 2), "15": round(load[2], 2)},
        "uptime": {"system_s": int(now - psutil.boot_time()), "appliance_s": appliance_uptime},
        "disks": disks,
        "services": status(settings),
        "ports": check_ports(settings),
        "storage_missing": _missing(settings),
        "links": {"banned_ips": "/security/bans", "events": "/security/events", "storage": "/settings/storage"},
    }


def _missing(settings: Settings) -> list[str]:
    from storage.placement import missing_volumes

    try:
        return sorted(missing_volumes(settings))
    except Exception:  # noqa: BLE001 -- the page shows what it can
        return []
