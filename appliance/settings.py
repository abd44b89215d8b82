"""Runtime settings: ports, paths and mode. The only place that decides them.

Everything the process needs to know about where things live comes from one
`Settings` object built by the CLI (flags) or by tests (free ports); nothing
else reads the environment.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path


@dataclass(slots=True, frozen=True)
class Settings:
    data_dir: Path = Path("var")
    # Address the SIP edge and web UI listen on; phones and browsers reach it.
    bind: str = "127.0.0.1"
    http_port: int = 8080
    # The web UI over HTTPS too (certificate made on first start, appliance.certificates); 0: HTTP only.
    # Phones keep fetching their files over HTTP (option 66) on http_port.
    https_port: int = 0
    sip_port: int = 5060
    # SIP over TLS (trunks to providers, phones). None: 5061 beside the standard 5060, else no
    # TLS listener (a second appliance or a test on other ports picks its own); 0: no TLS.
    sip_tls_port: int | None = None
    # Kamailio's JSON-RPC over HTTP, loopback only.
    kamailio_rpc_port: int = 5090
    # Call-core workers: worker N listens on 127.0.0.1:worker_sip_port_base + N
    # and takes RTP ports from rtp_port_base + N * rtp_ports_per_worker.
    worker_sip_port_base: int = 5100
    worker_count_max: int = 64
    rtp_port_base: int = 20000
    rtp_ports_per_worker: int = 40
    # Warm pool: workers kept running with no call at all. Four take a burst of
    # 8 new calls at once (2 each) with no wait at the edge; each idle worker
    # costs ~9-12 MiB PSS and ~0.6 % of a core (measured, docs/NOTES.md).
    spare_workers: int = 4
    lab: bool = True
    # Tests only: a file holding an ISO date-time the dialplan takes as "now"
    # (time ranges) instead of the clock, so tests inject time, never wait for it.
    clock_file: str = ""

    def __post_init__(self) -> None:
        if self.sip_tls_port is None:
            object.__setattr__(self, "sip_tls_port", 5061 if self.sip_port == 5060 else 0)

    # -- derived paths -------------------------------------------------
    @property
    def db_path(self) -> Path:
        return self.data_dir / "appliance.sqlite"

    @property
    def registrations_db_path(self) -> Path:
        """Kamailio's own SQLite file: the registrations it keeps across restarts."""
        return self.data_dir / "registrations.sqlite"

    @property
    def secret_key_path(self) -> Path:
        return self.data_dir / "secret.key"

    @property
    def run_dir(self) -> Path:
        """Generated configs, sockets and pid files; recreated at every start."""
        return self.data_dir / "run"

    @property
    def log_dir(self) -> Path:
        return self.data_dir / "log"

    @property
    def sounds_dir(self) -> Path:
        return self.data_dir / "sounds"

    @property
    def kamailio_rpc_url(self) -> str:
        return f"http://127.0.0.1:{self.kamailio_rpc_port}/RPC"

    @property
    def media_address(self) -> str:
        """Address workers put in SDP: the one phones reach the appliance on."""
        return self.bind if self.bind not in ("0.0.0.0", "") else "127.0.0.1"

    def worker_sip_port(self, index: int) -> int:
        return self.worker_sip_port_base + index

    def worker_rtp_port(self, index: int) -> int:
        return self.rtp_port_base + index * self.rtp_ports_per_worker

    # -- passing to child processes ---------------------------------------
    def to_json(self) -> str:
        values = dataclasses.asdict(self)
        values["data_dir"] = str(self.data_dir)
        return json.dumps(values)

    @classmethod
    def from_json(cls, text: str) -> Settings:
        values = json.loads(text)
        values["data_dir"] = Path(values["data_dir"])
        return cls(**values)

    def ensure_dirs(self) -> None:
        for path in (self.data_dir, self.run_dir, self.log_dir, self.sounds_dir):
            path.mkdir(parents=True, exist_ok=True)
