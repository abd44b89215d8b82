"""The SIP edge as the UI sees it: Kamailio's registrations and bans, or "unreachable".

Wraps `appliance.sipedge.rpc` so a page never fails because Kamailio is down
(or not built yet): the lookups return None, and the page says so.
"""

from __future__ import annotations

import logging
import threading
import time

from appliance.errors import SipEdgeError
from appliance.settings import Settings

log = logging.getLogger(__name__)

# The status strip is drawn on every page; one Kamailio query per this many seconds is plenty.
STATUS_CACHE_SECONDS = 2.0
_cache: dict[str, tuple[float, object]] = {}
_cache_lock = threading.Lock()


def _rpc():
    from appliance.sipedge import rpc  # written in parallel; absent means "unreachable"

    return rpc


def _query(name: str, settings: Settings):
    try:
        return getattr(_rpc(), name)(settings)
    except SipEdgeError as exc:
        log.info("SIP edge unreachable (%s): %s", name, exc)
    except ImportError:
        log.warning("appliance.sipedge.rpc is not available: SIP edge shown as unreachable")
    except Exception:
        log.exception("SIP edge query %s failed", name)
    return None


def registrations(settings: Settings, fresh: bool = False) -> list[dict] | None:
    """Current registrations, or None if Kamailio cannot be asked."""
    key = f"registrations:{settings.kamailio_rpc_url}"
    now = time.monotonic()
    if not fresh:
        with _cache_lock:
            hit = _cache.get(key)
        if hit and now - hit[0] < STATUS_CACHE_SECONDS:
            return hit[1]
    value = _query("registrations", settings)
    if value is not None:
        value = [dict(r) for r in value]
    with _cache_lock:
        _cache[key] = (now, value)
    return value


def registrations_by_extension(settings: Settings, fresh: bool = False) -> dict[str, list[dict]] | None:
    regs = registrations(settings, fresh=fresh)
    if regs is None:
        return None
    by_extension: dict[str, list[dict]] = {}
    for reg in regs:
        by_extension.setdefault(str(reg.get("extension", "")), []).append(reg)
    return by_extension


def bans(settings: Settings) -> list[dict] | None:
    """Banned source addresses, or None if Kamailio cannot be asked."""
    value = _query("bans", settings)
    return None if value is None else [dict(b) for b in value]


def forget_cache() -> None:
    with _cache_lock:
        _cache.clear()
