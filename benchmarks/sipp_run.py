"""Running SIPp from benchmarks: one bounded run, its statistics and response times."""

from __future__ import annotations

import csv
import statistics
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

SCENARIOS = Path(__file__).resolve().parent / "sipp"


@dataclass(slots=True)
class SippResult:
    successful: int
    failed: int
    elapsed_s: float
    rtt_ms: list[float]

    @property
    def rate(self) -> float:
        return self.successful / self.elapsed_s if self.elapsed_s else 0.0

    def percentile(self, p: float) -> float:
        if not self.rtt_ms:
            return float("nan")
        ordered = sorted(self.rtt_ms)
        return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]

    @property
    def median_ms(self) -> float:
        return statistics.median(self.rtt_ms) if self.rtt_ms else float("nan")


def start_uas(port: int, media_port: int) -> subprocess.Popen:
    """A SIPp phone answering every INVITE on 127.0.0.1:port (sipp/uas_answer.xml)."""
    return subprocess.Popen(
        ["sipp", "-sf", str(SCENARIOS / "uas_answer.xml"), "-i", "127.0.0.1", "-p", str(port),
         "-mp", str(media_port), "-nostdin"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )


def run(target: str, args: list[str], timeout: float, debug: bool = False) -> SippResult:
    """Run SIPp as a client against target (host:port) until it ends; -m must bound it."""
    with tempfile.TemporaryDirectory() as tmp:
        argv = ["sipp", target, "-i", "127.0.0.1", "-nostdin", "-trace_stat", "-fd", "1", "-trace_screen",
                "-trace_rtt", "-rtt_freq", "1", *args]
        done = subprocess.run(argv, cwd=tmp, capture_output=True, text=True, timeout=timeout)
        if not list(Path(tmp).glob("*_.csv")):
            raise RuntimeError(f"SIPp did not run ({done.returncode}): {done.stderr[-1500:] or done.stdout[-1500:]}")
        result = _read(Path(tmp))
        if debug or result.successful == 0:
            print(f"sipp {' '.join(argv)} exited {done.returncode}; files: {[p.name for p in Path(tmp).iterdir()]}")
            for screen in Path(tmp).glob("*_screen.log"):
                print(screen.read_text()[-4000:])
        return result


def _read(folder: Path) -> SippResult:
    stats = next(p for p in folder.glob("*_.csv"))
    with stats.open() as f:
        rows = list(csv.DictReader(f, delimiter=";"))
    last = rows[-1]
    elapsed = _seconds(last["ElapsedTime(C)"])
    rtt: list[float] = []
    for path in folder.glob("*_rtt.csv"):
        with path.open() as f:
            for row in csv.DictReader(f, delimiter=";"):
                if row.get("rtd_no") == "1":
                    rtt.append(float(row["response_time_ms"]))
    return SippResult(int(last["SuccessfulCall(C)"]), int(last["FailedCall(C)"]), elapsed, rtt)


def _seconds(text: str) -> float:
    # SIPp writes HH:MM:SS or HH:MM:SS:microseconds
    parts = text.split(":")
    h, m, s = int(parts[0]), int(parts[1]), int(parts[2])
    micro = int(parts[3]) if len(parts) > 3 else 0
    return h * 3600 + m * 60 + s + micro / 1e6


def write_injection(path: Path, rows: list[tuple[str, ...]]) -> Path:
    path.write_text("SEQUENTIAL\n" + "".join(";".join(r) + "\n" for r in rows))
    return path
