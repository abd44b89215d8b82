"""Render kamailio.cfg from the store's system settings and the runtime settings."""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import string
import subprocess
from pathlib import Path

from appliance.errors import SipEdgeError
from appliance.settings import Settings
from appliance.system.validation import RANGES

TEMPLATE = Path(__file__).parent / "templates" / "kamailio.cfg.tmpl"
# Table definitions shipped by Debian's kamailio-sqlite-modules.
KAMAILIO_SQL_DIR = Path("/usr/share/kamailio/db_sqlite")
BANNER = "generated, do not edit"
# Requests per IP per 2 s before pike calls it a flood. Generous, because a
# DECT base or a media gateway registers many extensions from one address.
DEFAULT_FLOOD_LIMIT = 100
MAX_FLOOD_LIMIT = 65535
TRUNK_PING_S = 30
CANNOT_RUN = "cannot run kamailio -c (is the kamailio package installed?)"
# A realm lands inside quoted strings of the config: only hostname characters.
REALM_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$")
# Largest ban window and duration the system settings allow: the htables'
# cleanup delays (the routes themselves compare the stored times with the settings).
MAX_BAN_WINDOW_S = RANGES["ban_window_s"][1]
MAX_BAN_SECONDS = RANGES["ban_minutes"][1] * 60


class _Template(string.Template):
    """`%%{name}` placeholders: Kamailio's own syntax uses `$` everywhere."""

    delimiter = "%%"


def config_path(settings: Settings) -> Path:
    return settings.run_dir / "kamailio.cfg"


def dispatcher_list_path(settings: Settings) -> Path:
    return settings.run_dir / "dispatcher.list"


def trunks_db_path(settings: Settings) -> Path:
    """Kamailio's trunk tables (registrations to make, trunk addresses), rendered from the store."""
    return settings.data_dir / "trunks.sqlite"


def render(settings: Settings, *, flood_limit: int | None = None, log_level: int = 1,
           natping_interval_s: int = 30, trunk_ping_s: int | None = None) -> Path:
    """Write run/kamailio.cfg, check it with `kamailio -c`, keep the last good one.

    The keyword options exist for tests and benchmarks; the appliance uses the defaults.
    """
    from appliance.system import get_system_settings

    system = get_system_settings()
    if flood_limit is None:
        flood_limit = system.flood_limit
    text = render_text(settings, system, flood_limit=flood_limit, log_level=log_level,
                       natping_interval_s=natping_interval_s, trunk_ping_s=trunk_ping_s or TRUNK_PING_S)
    settings.run_dir.mkdir(parents=True, exist_ok=True)
    _ensure_dispatcher_list(settings)
    ensure_registrations_db(settings)
    # The trunks Kamailio registers, calls through and accepts calls from.
    from appliance.sipedge import trunk_tables

    trunk_tables.render(settings)
    # The appliance's certificate (made on first start) and the providers' verification.
    from appliance.sipedge import tls

    tls.render(settings)
    target = config_path(settings)
    previous = target.with_name(target.name + ".previous")
    if target.exists():
        shutil.copy2(target, previous)
    write_atomically(target, text)
    error = check(target)
    if error.startswith(CANNOT_RUN):
        raise SipEdgeError(error)
    if error:
        if previous.exists():
            os.replace(previous, target)
        else:
            target.unlink()
        raise SipEdgeError(f"generated kamailio.cfg is invalid, previous one kept: {error}")
    return target


def render_text(settings: Settings, system, *, flood_limit: int = DEFAULT_FLOOD_LIMIT, log_level: int = 1,
                natping_interval_s: int = 30, trunk_ping_s: int = TRUNK_PING_S) -> str:
    """The config text for these settings (no file written)."""
    realm = system.sip_domain
    if not REALM_RE.match(realm or ""):
        raise SipEdgeError(f"SIP domain {realm!r} is not a valid host name")
    if not 1 <= flood_limit <= MAX_FLOOD_LIMIT:
        # pike counts in 16 bits: a larger limit wraps round and floods are seen everywhere.
        raise SipEdgeError(f"flood limit must be between 1 and {MAX_FLOOD_LIMIT} requests per 2 s")
    live = runtime_values(system)
    values = {
        "banner": BANNER,
        "sip_domain": realm,
        "bind": settings.bind or "0.0.0.0",
        "sip_port": settings.sip_port,
        "tls_define": "#!define WITH_TLS" if settings.sip_tls_port else "# (no TLS port: TLS off)",
        "sip_tls_port": settings.sip_tls_port or 0,
        "tls_cfg": str((settings.run_dir / "tls.cfg").resolve()),
        "rpc_port": settings.kamailio_rpc_port,
        "worker_port_min": settings.worker_sip_port_base,
        "worker_port_max": settings.worker_sip_port_base + settings.worker_count_max - 1,
        "ban_failures": live["ban_failures"][2],
        "ban_window_s": live["ban_window_s"][2],
        "ban_seconds": live["ban_minutes"][2],
        "max_ban_window_s": MAX_BAN_WINDOW_S,
        "max_ban_seconds": MAX_BAN_SECONDS,
        "db_path": str(settings.db_path.resolve()),
        "registrations_db": str(settings.registrations_db_path.resolve()),
        "trunks_db": str(trunks_db_path(settings).resolve()),
        # Where providers reach our registrations (the Contact of the trunks' REGISTERs).
        "contact_addr": f"{settings.media_address}:{settings.sip_port}",
        # OPTIONS keep-alives to trunks that do not register.
        "trunk_ping_s": int(trunk_ping_s),
        "dispatcher_list": str(dispatcher_list_path(settings).resolve()),
        "flood_limit": int(flood_limit),
        # OPTIONS keepalives to phones behind NAT keep their NAT binding open.
        "natping_interval_s": int(natping_interval_s),
        "log_level": int(log_level),
        # Two cores on the appliance: a few UDP and TCP workers are plenty.
        "children": 4,
        "tcp_children": 2,
    }
    return _Template(TEMPLATE.read_text()).substitute(values)


def runtime_values(system) -> dict[str, tuple[str, str, int | str]]:
    """System setting -> (cfg group, cfg name, value) of the Kamailio parameters that change live.

    The template declares them (`ban.failures = ...`); the reactions set them over RPC.
    """
    return {
        "ban_failures": ("ban", "failures", max(1, int(system.ban_failures))),
        "ban_window_s": ("ban", "window_s", max(1, int(system.ban_window_s))),
        "ban_minutes": ("ban", "seconds", max(60, int(system.ban_minutes) * 60)),
        "sip_domain": ("edge", "realm", system.sip_domain),
    }


def check(path: Path) -> str:
    """Empty string when `kamailio -c` accepts the file, else its complaint."""
    try:
        result = subprocess.run(
            ["kamailio", "-c", "-f", str(path)],
            capture_output=True, text=True, timeout=30,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"{CANNOT_RUN}: {exc}"
    if result.returncode == 0:
        return ""
    lines = [line for line in result.stderr.splitlines() if "ERROR" in line or "CRITICAL" in line]
    return "\n".join(lines[-5:]) or result.stderr.strip()[-500:]


def ensure_registrations_db(settings: Settings) -> None:
    """Create Kamailio's registrations file with the schema its package ships, once."""
    path = settings.registrations_db_path
    with sqlite3.connect(path) as db:
        if not db.execute("SELECT 1 FROM sqlite_master WHERE name = 'location'").fetchone():
            db.executescript("\n".join(kamailio_schema("standard", "usrloc")))
        if not db.execute("SELECT 1 FROM sqlite_master WHERE name = 'trunk_location'").fetchone():
            # The contacts of dynamic trunks (other PBXs registered to us), apart from the phones'.
            usrloc = kamailio_schema("usrloc")[0]
            db.executescript(usrloc.replace("location", "trunk_location"))


def kamailio_schema(*names: str) -> list[str]:
    """The SQL scripts Kamailio's SQLite package ships for these modules."""
    try:
        return [(KAMAILIO_SQL_DIR / f"{name}-create.sql").read_text() for name in names]
    except OSError as exc:
        raise SipEdgeError(f"Kamailio's SQLite schema is missing ({exc}): is kamailio-sqlite-modules installed?") from exc


def _ensure_dispatcher_list(settings: Settings) -> None:
    # Kamailio needs the file at start; rewritten for the current worker range,
    # keeping the workers already published.
    from appliance.sipedge import dispatcher

    dispatcher.write_list(settings, dispatcher.published_ports(settings))


def write_atomically(path: Path, text: str) -> None:
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(temp, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(temp, path)
