"""Run every benchmark in turn (`make bench`); each prints its table and writes benchmarks/out/*.json."""

from __future__ import annotations

import subprocess
import sys

BENCHMARKS = [
    "benchmarks.register_rate",
    "benchmarks.call_setup",
    "benchmarks.concurrent_calls",
    "benchmarks.idle_memory",
    "benchmarks.dialplan",
    "benchmarks.trunk_calls",
    "benchmarks.conference",
    "benchmarks.backup",
    "benchmarks.provisioning",
    "benchmarks.console",
]


def main() -> int:
    failed = []
    for module in BENCHMARKS:
        print(f"\n=== {module}", flush=True)
        if subprocess.run([sys.executable, "-m", module]).returncode != 0:
            failed.append(module)
    if failed:
        print("failed: " + ", ".join(failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
