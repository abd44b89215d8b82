"""Idle memory of the whole stack with its warm call-core pool (RSS and PSS)."""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from benchmarks.common import print_table, process_tree_memory, write_json
from tests.support.stack import Stack


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--settle", type=float, default=15.0, help="seconds to wait after start")
    parser.add_argument("--spare-workers", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        stack = Stack(Path(tmp), spare_workers=args.spare_workers).start()
        try:
            time.sleep(args.settle)
            memory = process_tree_memory(stack.process.pid)
        finally:
            stack.stop()
    rows = [("whole stack RSS (MiB)", memory["total_rss_mib"]), ("whole stack PSS (MiB)", memory["total_pss_mib"])]
    for name, entry in sorted(memory["by_process"].items()):
        rows.append((f"{name} x{entry['count']} RSS / PSS (MiB)", f"{entry['rss_mib']:.1f} / {entry['pss_mib']:.1f}"))
    print_table(f"Idle memory, {args.spare_workers} warm workers", rows)
    write_json("idle_memory", {"spare_workers": args.spare_workers, **memory})


if __name__ == "__main__":
    main()
