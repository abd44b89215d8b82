"""Shared by the benchmarks: a printed table, a JSON file, and the machine they ran on."""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
from pathlib import Path

import psutil

OUT_DIR = Path(__file__).resolve().parent / "out"


def machine() -> dict:
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
    }


def print_table(title: str, rows: list[tuple[str, object]]) -> None:
    width = max(len(name) for name, _ in rows)
    print(f"\n{title}")
    print("-" * (width + 24))
    for name, value in rows:
        shown = f"{value:,.1f}" if isinstance(value, float) else str(value)
        print(f"{name.ljust(width)}  {shown}")


def write_json(name: str, results: dict) -> Path:
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    path = OUT_DIR / f"{name}.json"
    payload = {"benchmark": name, "when": dt.datetime.utcnow().isoformat(timespec="seconds") + "Z",
               "machine": machine(), "results": results}
    path.write_text(json.dumps(payload, indent=2))
    print(f"\nwritten: {path}")
    return path


def process_tree_memory(root_pid: int) -> dict:
    """RSS and PSS (MiB) of a process and all its descendants, per process name."""
    root = psutil.Process(root_pid)
    per_name: dict[str, dict] = {}
    total_rss = total_pss = 0
    for proc in [root] + root.children(recursive=True):
        try:
            info = proc.memory_full_info()
            name = _label(proc)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        entry = per_name.setdefault(name, {"count": 0, "rss_mib": 0.0, "pss_mib": 0.0})
        entry["count"] += 1
        entry["rss_mib"] += info.rss / 2**20
        entry["pss_mib"] += info.pss / 2**20
        total_rss += info.rss
        total_pss += info.pss
    return {"total_rss_mib": total_rss / 2**20, "total_pss_mib": total_pss / 2**20, "by_process": per_name}


def _label(proc: psutil.Process) -> str:
    cmd = proc.cmdline()
    if "serve" in cmd:
        return f"appliance {cmd[cmd.index('serve') + 1]}"
    if cmd and cmd[0].endswith("kamailio"):
        return "kamailio"
    if "appliance.cli" in cmd and "run" in cmd:
        return "appliance supervisor"
    return proc.name()
