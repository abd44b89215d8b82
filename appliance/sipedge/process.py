"""How to run Kamailio in the foreground, and how to know it is ready."""

from __future__ import annotations

import time

from appliance.errors import SipEdgeError
from appliance.settings import Settings
from appliance.sipedge import config

# Megabytes. Enough for thousands of registrations and transactions on a
# small box; Debian's defaults (64 MB shm, 8 MB pkg per process) are larger.
SHM_MB = 64
PKG_MB = 8


def kamailio_command(settings: Settings) -> list[str]:
    """argv for Kamailio in the foreground, logging to stderr, state under run_dir."""
    run_dir = settings.run_dir.resolve()
    return [
        "kamailio",
        "-DD",  # stay in the foreground so the supervisor owns the process
        "-E",  # log to stderr: the supervisor collects it
        "-f", str(config.config_path(settings).resolve()),
        "-P", str(run_dir / "kamailio.pid"),
        "-Y", str(run_dir),  # runtime files here, not /run/kamailio (no systemd)
        "-w", str(run_dir),
        "-m", str(SHM_MB),
        "-M", str(PKG_MB),
    ]


def wait_ready(settings: Settings, timeout: float = 10.0) -> None:
    """Return once Kamailio answers JSON-RPC; SipEdgeError after `timeout` seconds."""
    from appliance.sipedge import rpc

    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            rpc.call(settings, "core.version")
            return
        except SipEdgeError as exc:
            last_error = exc
            time.sleep(0.1)
    raise SipEdgeError(f"Kamailio not ready after {timeout:.0f} s: {last_error}")
