"""What the web UI and API call: read/apply network settings (with the confirmation window), DHCP, leases.

Apply safely: `apply_network(data)` validates the whole configuration (nothing applied on a ValidationError),
stores it, applies it live to the configured target and starts a confirmation window (`CONFIRM_TIMEOUT_S`, 60 s).
`confirm()` within the window keeps it; otherwise a timer in this process puts the previous settings back: store,
live interfaces, persistent files and DHCP server. The window is also written to `<run>/network-pending.json`
so a web process restarted inside it rolls back at once (`recover()`).

The live target is set once per process by `configure()`: a namespace (tests, lab LAN) or, on the image, the
namespace the process runs in. Unconfigured (plain lab mode), settings are stored and rendered but never
applied: the host's network is never touched.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from appliance import changes
from appliance.errors import Conflict, ValidationError
from appliance.store import database
from netconfig import PORTS, apply, dhcp, plan, validation
from netconfig.models import DhcpSettings, DhcpStaticLease, NetInterface, NetSettings
from netconfig.netns import CommandError, Target

log = logging.getLogger(__name__)

CONFIRM_TIMEOUT_S = 60.0
# A rollback that fails (store locked, a command timing out) is tried again after these pauses, the last one
# repeated for as long as it fails: the change stays pending (status() shows the error) with a timer, never
# pending without one. Confirming the current settings ends it too.
ROLLBACK_RETRY_S = (5.0, 15.0, 60.0)
PENDING_NAME = "network-pending.json"
APPLIED_NAME = "applied.json"  # the configuration live and kept (confirmed, or restored)


@dataclass
class _Runtime:
    target: Target | None = None
    voice: plan.VoicePorts = field(default_factory=plan.VoicePorts)
    http_port: int = 80
    timeout_s: float = CONFIRM_TIMEOUT_S
    lock: threading.RLock = field(default_factory=threading.RLock)
    pending: dict | None = None  # {"previous": {...}, "deadline": epoch, "addresses": [...]}
    timer: threading.Timer | None = None
    last_result: dict = field(default_factory=dict)


_rt = _Runtime()


def configure(target: Target | None, voice: plan.VoicePorts | None = None, http_port: int = 80,
              timeout_s: float = CONFIRM_TIMEOUT_S) -> None:
    """Where live changes go in this process (None: nowhere), and the confirmation window (tests shorten it)."""
    cancel_timer()
    _rt.target, _rt.http_port, _rt.timeout_s = target, http_port, timeout_s
    _rt.voice = voice or plan.VoicePorts()
    _rt.pending = None


def target() -> Target | None:
    return _rt.target


# -- store <-> dicts -----------------------------------------------------------------------------------------

def get_network() -> dict:
    s = NetSettings.get_by_id(1)
    rows = {row.name: row for row in NetInterface.select()}
    interfaces = {}
    for name in PORTS:
        row = rows.get(name)
        interfaces[name] = dict(validation.INTERFACE_DEFAULTS, dns=[]) if row is None else {
            "mode": row.mode, "address": row.address, "gateway": row.gateway, "dns": row.dns.split(),
            "mtu": row.mtu, "vlan": row.vlan}
    return {"scenario": s.scenario, "shaper": {"upload_kbit": s.shaper_upload_kbit,
                                               "download_kbit": s.shaper_download_kbit},
            "interfaces": interfaces, "revision": s.revision}


def _store_network(cfg: dict) -> int:
    s = NetSettings.get_by_id(1)
    s.scenario = cfg["scenario"]
    s.shaper_upload_kbit, s.shaper_download_kbit = cfg["shaper"]["upload_kbit"], cfg["shaper"]["download_kbit"]
    s.revision += 1
    s.updated_at = dt.datetime.utcnow()
    s.save()
    for name, iface in cfg["interfaces"].items():
        NetInterface.insert(name=name, mode=iface["mode"], address=iface["address"], gateway=iface["gateway"],
                            dns=" ".join(iface["dns"]), mtu=iface["mtu"], vlan=iface["vlan"]).on_conflict_replace(
        ).execute()
    return s.revision


def get_dhcp() -> dict:
    s = DhcpSettings.get_by_id(1)
    out = {key: getattr(s, key) for key in validation.DHCP_FIELDS if key != "static_leases"}
    out["enabled"], out["refuse_unknown"] = bool(s.enabled), bool(s.refuse_unknown)
    out["static_leases"] = [{"mac": row.mac, "address": row.address, "hostname": row.hostname}
                            for row in DhcpStaticLease.select().order_by(DhcpStaticLease.id)]
    out["revision"] = s.revision
    return out


def _store_dhcp(cfg: dict) -> None:
    s = DhcpSettings.get_by_id(1)
    for key, value in cfg.items():
        if key not in ("static_leases", "revision"):
            setattr(s, key, value)
    s.revision += 1
    s.updated_at = dt.datetime.utcnow()
    s.save()
    DhcpStaticLease.delete().execute()
    for lease in cfg["static_leases"]:
        DhcpStaticLease.create(**lease)


def _check_revision(expected: object, current: int) -> None:
    if expected is None:
        return
    if isinstance(expected, bool) or not isinstance(expected, int):
        raise ValidationError("revision", "must be an integer")
    if expected != current:
        raise Conflict("revision", "the settings were changed by someone else; reload and try again")


def _strip(cfg: dict) -> dict:
    return {k: v for k, v in cfg.items() if k != "revision"}


# -- network: apply, confirm, roll back ----------------------------------------------------------------------

def apply_network(data: object) -> dict:
    """Validate, store and apply; the change must be confirmed within the window. Returns status()."""
    with _rt.lock:
        if _rt.pending is not None:
            raise Conflict("pending", "a network change is waiting for its confirmation: confirm it or wait for "
                                      "the rollback first")
        with database.atomic():
            current = get_network()
            if isinstance(data, dict):
                _check_revision(data.get("revision"), current["revision"])
            cfg = validation.network(data, _strip(current))
            dhcp_cfg = _strip(get_dhcp())
            validation.dhcp_still_fits(dhcp_cfg, cfg)
            revision = _store_network(cfg)
        if _rt.target is None:
            _rt.last_result = _go_live(cfg, dhcp_cfg)
        else:
            previous = _read_applied() or {"network": _strip(current), "dhcp": dhcp_cfg}
            _apply_with_window(cfg, dhcp_cfg, previous, revision)
    changes.publish("network.applied", settings=cfg)
    return status()


def _apply_with_window(cfg: dict, dhcp_cfg: dict, previous: dict, revision: int) -> None:
    """Live now; kept only if confirmed before the window ends (the persistent files are written then)."""
    result = _go_live(cfg, dhcp_cfg, persist=False)
    if "error" in result:  # a command refused (e.g. a kernel without VLAN support): back at once
        _rt.pending = {"previous": previous, "deadline": time.time(), "addresses": [], "revision": revision}
        if rollback(f"could not be applied: {result['error']}"):
            raise Conflict("apply", f"the settings could not be applied ({result['error']}); the previous "
                                    "settings were restored")
        raise Conflict("apply", f"the settings could not be applied ({result['error']}) and restoring the "
                                "previous ones failed; trying again (see the network status)")
    _rt.pending = {"previous": previous, "deadline": time.time() + _rt.timeout_s, "addresses": _addresses(cfg),
                   "revision": revision}
    _write_pending()
    _rt.timer = threading.Timer(_rt.timeout_s, _timeout)
    _rt.timer.daemon = True
    _rt.timer.start()
    _rt.last_result = result


def check_stored_changes() -> bool:
    """Settings stored by another process (the serial/SSH console's "Set LAN1 address") are applied here, with
    the same confirmation window. True if a change was started."""
    with _rt.lock:
        if _rt.target is None or _rt.pending is not None:
            return False
        row = NetSettings.get_by_id(1)
        if row.revision == row.applied_revision:
            return False
        cfg, dhcp_cfg = _strip(get_network()), _strip(get_dhcp())
        previous = _read_applied() or {"network": cfg, "dhcp": dhcp_cfg}
        log.info("network settings stored by another process (revision %d): applying them", row.revision)
        try:
            _apply_with_window(cfg, dhcp_cfg, previous, row.revision)
        except Conflict as exc:
            log.error("%s", exc.message)
        return True


def _mark_applied(network: dict, dhcp_cfg: dict, revision: int) -> None:
    """`network` is live and kept: the image's persistent files, applied.json, applied_revision."""
    t = _rt.target
    if t is None:
        return
    apply.write_persistent(t.persist_root, network, _rt.voice)
    path = t.run_dir / APPLIED_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"network": network, "dhcp": dhcp_cfg}))
    NetSettings.update(applied_revision=revision).where(NetSettings.id == 1).execute()


def _read_applied() -> dict | None:
    if _rt.target is None:
        return None
    try:
        return json.loads((_rt.target.run_dir / APPLIED_NAME).read_text())
    except (OSError, ValueError):
        return None


def start() -> dict:
    """At process start with a target (image, lab LAN): finish a window a crashed process left, else put the
    last kept configuration live (no window: it is the one that was confirmed), start dnsmasq, and apply a
    change stored meanwhile by another process with a window."""
    if _rt.target is None:
        return {}
    recover()
    with _rt.lock:
        if _rt.pending is not None:
            return status()
        row = NetSettings.get_by_id(1)
        kept = _read_applied()
        if kept is None or row.applied_revision in (0, row.revision):
            cfg, dhcp_cfg = _strip(get_network()), _strip(get_dhcp())
            if _rt.target.netns is None:
                # the image: systemd-networkd configured the ports at boot from the persistent files
                _restart_dhcp(cfg, dhcp_cfg)
                _rt.last_result = {"applied": True, "missing": [], "degraded": [], "at_boot": True}
            else:
                _rt.last_result = _go_live(cfg, dhcp_cfg, persist=False)
            _mark_applied(cfg, dhcp_cfg, row.revision)
            return status()
        _rt.last_result = _go_live(kept["network"], _strip(get_dhcp()), persist=False)
    check_stored_changes()
    return status()


def start_watcher(interval_s: float = 2.0) -> threading.Thread:
    """A daemon thread calling check_stored_changes() every interval."""
    def loop() -> None:
        while True:
            time.sleep(interval_s)
            try:
                check_stored_changes()
            except Exception:
                log.exception("checking stored network changes failed")

    thread = threading.Thread(target=loop, name="netconfig-watch", daemon=True)
    thread.start()
    return thread


def _addresses(cfg: dict) -> list[str]:
    return [iface["address"].split("/")[0] for _, _, iface in plan.layer3(cfg) if iface["mode"] == "static"]


def _go_live(cfg: dict, dhcp_cfg: dict, persist: bool = True) -> dict:
    """Live interfaces and dnsmasq when there is a target (+ the persistent files when `persist`)."""
    t = _rt.target
    if t is None:
        return {"applied": False, "missing": [], "degraded": [],
                "message": "lab mode: settings saved, not applied (start with --lab-lan to apply them to LAN1)"}
    if persist:
        apply.write_persistent(t.persist_root, cfg, _rt.voice)
    try:
        result = apply.apply(t, cfg, _rt.voice)
    except CommandError as exc:
        result = {"missing": [], "degraded": [], "error": str(exc)}
    _restart_dhcp(cfg, dhcp_cfg)
    return {"applied": "error" not in result, **result}


def _restart_dhcp(cfg: dict, dhcp_cfg: dict) -> None:
    t = _rt.target
    if t is None:
        return
    port = cfg["interfaces"][dhcp_cfg["interface"]]
    if not dhcp_cfg["enabled"] or cfg["scenario"] == "shared" or port["mode"] != "static":
        dhcp.stop(t)
        return
    if dhcp_cfg["interface"] not in t.interfaces():
        dhcp.stop(t)
        return
    try:
        dhcp.start(t, dhcp.render(dhcp_cfg, cfg, t.run_dir, _rt.http_port), apply.upstream_dns(t, cfg))
    except RuntimeError as exc:
        log.error("%s", exc)


def confirm(host: str | None = None) -> dict:
    """Keep the pending change. `host`: the address the browser reached us at; an IP literal must be one the
    new configuration has (or was given by DHCP) — the proof that the new settings are reachable."""
    with _rt.lock:
        if _rt.pending is None:
            raise Conflict("pending", "no network change is waiting for confirmation")
        if host and _is_ip(host) and host not in _live_addresses() and host not in ("127.0.0.1",):
            wanted = ", ".join(_rt.pending["addresses"]) or "the WAN's DHCP address"
            raise Conflict("host", f"confirm from the new address ({wanted}), not {host}")
        cancel_timer()
        pending, _rt.pending = _rt.pending, None
        _pending_path().unlink(missing_ok=True)
        _mark_applied(_strip(get_network()), _strip(get_dhcp()), pending["revision"])
    return status()


def _is_ip(host: str) -> bool:
    import ipaddress

    try:
        ipaddress.IPv4Address(host)
    except ValueError:
        return False
    return True


def _live_addresses() -> set[str]:
    if _rt.target is None:
        return set()
    try:
        return {a.split("/")[0] for info in _rt.target.interfaces().values() for a in info["addresses"]}
    except Exception:
        return set()


def cancel_timer() -> None:
    if _rt.timer is not None:
        _rt.timer.cancel()
        _rt.timer = None


def _timeout() -> None:
    with _rt.lock:
        if _rt.pending is None:
            return
        rollback("not confirmed within the confirmation window")


def rollback(reason: str) -> bool:
    """Put the previous network settings back: store, interfaces, persistent files, DHCP server.

    True when done (or nothing was pending). If a step raises, the change stays pending with the error and a
    timer trying again (ROLLBACK_RETRY_S), the failure is logged and recorded (event network.rollback_failed,
    once per change): never a pending change without a timer, which would keep unconfirmed settings live and
    refuse every later apply until a restart."""
    with _rt.lock:
        pending = _rt.pending
        if pending is None:
            return True
        cancel_timer()
        log.warning("network settings rolled back: %s", reason)
        try:
            previous = pending["previous"]
            with database.atomic():
                revision = _store_network(previous["network"])
            result = _go_live(previous["network"], _strip(get_dhcp()), persist=False)
            _mark_applied(previous["network"], _strip(get_dhcp()), revision)
        except Exception as exc:  # noqa: BLE001 -- database locked, subprocess.TimeoutExpired, OSError, ...
            _rollback_failed(pending, reason, exc)
            return False
        _rt.pending = None
        _pending_path().unlink(missing_ok=True)
        _rt.last_result = {**result, "rolled_back": reason}
    changes.publish("network.rolled_back", reason=reason)
    return True


def _rollback_failed(pending: dict, reason: str, exc: Exception) -> None:
    attempts = pending.get("rollback_attempts", 0) + 1
    delay = ROLLBACK_RETRY_S[min(attempts - 1, len(ROLLBACK_RETRY_S) - 1)]
    error = f"{type(exc).__name__}: {exc}"
    log.error("rolling back the network settings (%s) failed, attempt %d: %s; trying again in %.0f s",
              reason, attempts, error, delay, exc_info=exc)
    pending.update(rollback_attempts=attempts, rollback_error=error[:300], deadline=time.time() + delay)
    if attempts == 1:
        from appliance.events.log import record

        record("network.rollback_failed", "network",
               f"The unconfirmed network settings could not be rolled back ({error[:200]}); trying again "
               "until it works. Confirm the current settings to keep them instead.", reason=reason)
    try:
        _write_pending()
    except OSError:
        log.exception("network: the pending change could not be written down")
    _rt.timer = threading.Timer(delay, _timeout)
    _rt.timer.daemon = True
    _rt.timer.start()


def _pending_path() -> Path:
    return (_rt.target.run_dir if _rt.target else Path("/nonexistent")) / PENDING_NAME


def _write_pending() -> None:
    path = _pending_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(_rt.pending))


def recover() -> None:
    """At process start: a change left unconfirmed by a previous process is rolled back (or its window resumed)."""
    if _rt.target is None:
        return
    path = _pending_path()
    try:
        pending = json.loads(path.read_text())
    except (OSError, ValueError):
        return
    with _rt.lock:
        _rt.pending = pending
        remaining = pending["deadline"] - time.time()
        if remaining <= 0:
            rollback("the web process restarted after the confirmation window")
            return
        _rt.timer = threading.Timer(remaining, _timeout)
        _rt.timer.daemon = True
        _rt.timer.start()


def status() -> dict:
    with _rt.lock:
        pending = _rt.pending
        out = {"live": _rt.target is not None, "pending": pending is not None, "seconds_left": None,
               "confirm_addresses": [], "result": _rt.last_result}
        if pending:
            out["seconds_left"] = max(0, round(pending["deadline"] - time.time()))
            out["confirm_addresses"] = pending["addresses"]
            if pending.get("rollback_error"):  # the window ended, putting the previous settings back failed
                out["rollback_failed"] = pending["rollback_error"]
                out["rollback_attempts"] = pending["rollback_attempts"]
    return out


def live_interfaces() -> dict:
    """What the target's interfaces look like now (netifaces), {} without a target."""
    if _rt.target is None:
        return {}
    try:
        return _rt.target.interfaces()
    except Exception as exc:
        log.warning("interfaces not read: %s", exc)
        return {}


# -- DHCP server -----------------------------------------------------------------------------------------------

def update_dhcp(data: object) -> dict:
    """Validate against the current network, store, and restart dnsmasq with the new settings."""
    with database.atomic():
        current = get_dhcp()
        if isinstance(data, dict):
            _check_revision(data.get("revision"), current["revision"])
        net = _strip(get_network())
        cfg = validation.dhcp(data, _strip(current), net)
        _store_dhcp(cfg)
    _restart_dhcp(net, cfg)
    changes.publish("dhcp.saved", settings=cfg)
    return get_dhcp()


def dhcp_info() -> dict:
    """Effective values the clients get (defaults filled in), the provisioning URL, whether dnsmasq runs."""
    cfg, net = get_dhcp(), get_network()
    port = net["interfaces"].get(cfg["interface"], {})
    me = plan.lan_address(net, cfg["interface"])
    return {"address": me, "provisioning_url": dhcp.provisioning_url(me, _rt.http_port) if me else "",
            "effective": {"gateway": cfg["gateway"] or me, "dns1": cfg["dns1"] or me, "ntp1": cfg["ntp1"] or me},
            "running": bool(_rt.target and dhcp.running(_rt.target)), "interface_mode": port.get("mode", "")}


def leases() -> list[dict]:
    if _rt.target is None:
        return []
    return dhcp.read_leases(_rt.target.run_dir / dhcp.LEASES_NAME)


