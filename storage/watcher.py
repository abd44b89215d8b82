"""The storage daemon (a thread of the web process): block devices appearing and disappearing.

pyudev's netlink monitor (subsystem block) wakes it; it also looks every RESCAN_S seconds in case an
event was missed. Each look:
- notes which accepted devices are there (the Storage page shows what it saw, and when);
- lazily unmounts a mount whose device went away (a stick pulled out without being ejected);
- mounts a volume the appliance initialized as soon as it is plugged in again (by its UUID);
- compares which placed volumes are present: a volume holding data that goes away is an event
  `storage.missing` (alert), its return `storage.back`; meanwhile the kinds placed on it are written in
  the internal data folder (storage.placement.folder) and moved onto it once back (placement.sweep);
- appends finished calls to the call-history files (storage.history).
On the image udevd runs and the monitor listens to it (ID_BUS, ID_FS_*); in lab mode (no udevd) it
listens to the kernel's own events, which is enough to know when to look.
"""

from __future__ import annotations

import logging
import os
import threading
import time

from appliance.settings import Settings
from storage import devices, history, mounts, placement

log = logging.getLogger(__name__)

RESCAN_S = 10.0
POLL_S = 1.0

_current: StorageDaemon | None = None


def current() -> StorageDaemon | None:
    return _current


class StorageDaemon:
    def __init__(self, settings: Settings):
        self.settings = settings
        self.source = "udev" if os.path.exists("/run/udev/control") else "kernel"
        self.seen: dict[str, dict] = {}
        self.missing: dict[str, list[str]] = {}
        self.events = 0
        self.looks = 0
        self.last_look: float | None = None
        self.error = ""
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._monitor = None

    # -- lifecycle ---------------------------------------------------------------------------------------------
    def start(self) -> StorageDaemon:
        global _current
        try:
            import pyudev

            monitor = pyudev.Monitor.from_netlink(pyudev.Context(), source=self.source)
            monitor.filter_by("block")
            monitor.start()
            self._monitor = monitor
        except Exception as exc:  # noqa: BLE001 -- no netlink (a container): periodic looks only
            self.error = f"device events unavailable ({exc}); looking every {RESCAN_S:.0f} s"
            log.warning("storage: %s", self.error)
        self._thread = threading.Thread(target=self._run, name="storage-daemon", daemon=True)
        self._thread.start()
        _current = self
        return self

    def stop(self) -> None:
        global _current
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        if _current is self:
            _current = None

    def wake(self) -> None:
        """Look now (after the UI initialized or ejected something)."""
        self._wake.set()

    def _run(self) -> None:
        next_look = 0.0
        while not self._stop.is_set():
            event = None
            if self._monitor is not None:
                try:
                    event = self._monitor.poll(timeout=POLL_S)
                except Exception as exc:  # noqa: BLE001
                    log.warning("storage: device monitor failed: %s", exc)
                    self._monitor = None
            else:
                self._wake.wait(POLL_S)
            if event is not None:
                self.events += 1
                log.info("storage: %s %s", event.action, event.sys_name)
                # Events come in bursts (partitions, change after change): let them settle a moment.
                time.sleep(0.3)
                while self._monitor is not None and self._monitor.poll(timeout=0) is not None:
                    self.events += 1
            if event is not None or self._wake.is_set() or time.monotonic() >= next_look:
                self._wake.clear()
                try:
                    self.look()
                except Exception:  # noqa: BLE001 -- the daemon keeps going
                    log.exception("storage: look failed")
                next_look = time.monotonic() + RESCAN_S

    # -- one look --------------------------------------------------------------------------------------------------
    def look(self) -> None:
        from storage.models import Volume

        s = self.settings
        for point in mounts.stale_mounts(s):
            try:
                mounts.unmount(s, point.name, lazy=True)
                log.warning("storage: %s went away without being ejected; unmounted", point)
            except Exception as exc:  # noqa: BLE001
                log.warning("storage: stale mount %s not unmounted: %s", point, exc)
        found = devices.scan(s)
        now = time.time()
        names = {d.name for d in found}
        for name in set(self.seen) - names:
            log.info("storage: %s went away", name)
            del self.seen[name]
        known = {v.uuid: v for v in Volume.select()}
        for dev in found:
            if dev.name not in self.seen:
                log.info("storage: %s appeared (%s)", dev.name, devices.human(dev.size_bytes))
                self.seen[dev.name] = {"name": dev.name, "size_bytes": dev.size_bytes, "since": now}
            for vol in dev.volumes():
                volume = known.get(vol.uuid)
                if volume is not None and vol.fstype == "ext4" and not vol.mountpoint:
                    try:
                        mounts.mount(s, vol.path, volume.label, volume.uuid)
                        log.info("storage: %s mounted at %s", volume.label, mounts.mount_point(s, volume.label))
                    except Exception as exc:  # noqa: BLE001
                        log.warning("storage: %s not mounted: %s", volume.label, exc)
        self._missing_or_back()
        for kind in placement.KINDS:
            placement.sweep(s, kind)
        history.export(s)
        self.looks += 1
        self.last_look = now

    def _missing_or_back(self) -> None:
        from appliance.events.log import record

        missing = placement.missing_volumes(self.settings)
        for label, kinds in missing.items():
            if label not in self.missing:
                names = ", ".join(placement.KINDS[k][1].lower() for k in kinds)
                record("storage.missing", label, f"storage {label} is missing: {names} are written to the "
                                                 "internal data folder until it is back", kinds=kinds)
        for label, kinds in self.missing.items():
            if label not in missing:
                record("storage.back", label, f"storage {label} is back: new files go to it again", kinds=kinds)
        self.missing = missing

    def snapshot(self) -> dict:
        return {"running": self._thread is not None and self._thread.is_alive(), "source": self.source,
                "devices": sorted(self.seen.values(), key=lambda d: d["name"]), "events": self.events,
                "looks": self.looks, "last_look": self.last_look, "missing": sorted(self.missing),
                "error": self.error}
