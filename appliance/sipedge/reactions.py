"""What the SIP edge does when users or system settings change.

Users: drop the registrations that lost their right. Trunks: render Kamailio's
trunk tables again and make it follow (registrations, addresses, settings;
appliance.sipedge.trunk_tables.sync). System settings: set the
runtime parameters of the running Kamailio over RPC (ban thresholds, digest
realm); if it refuses (a config from older software), ask the supervisor to
render the config again and restart Kamailio. If Kamailio is down, nothing to
do: its config is rendered from the store before every start.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from appliance import changes
from appliance.errors import SipEdgeError
from appliance.settings import Settings
from appliance.sipedge import config, rpc

log = logging.getLogger(__name__)

# System settings Kamailio reads only at start: changing one restarts it.
RESTART_FIELDS = {"flood_limit"}


def subscribe(settings: Settings) -> None:
    """Register this process's SIP edge reactions with appliance.changes (idempotent)."""
    changes.subscribe("user.deleted", DropDeletedUser(settings))
    changes.subscribe("user.saved", DropOldExtension(settings))
    changes.subscribe("system.saved", ApplySystemSettings(settings))
    changes.subscribe("trunk.saved", SyncTrunks(settings))
    changes.subscribe("trunk.deleted", SyncTrunks(settings))
    # A new SIP domain is the realm and domain of the dynamic trunks.
    changes.subscribe("system.saved", SyncTrunks(settings))


# Listeners are frozen dataclasses: equal for equal settings, so subscribing
# twice does not drop registrations twice.
@dataclass(frozen=True)
class DropDeletedUser:
    settings: Settings

    def __call__(self, user, **_) -> None:
        _drop(self.settings, user.extension)


@dataclass(frozen=True)
class DropOldExtension:
    settings: Settings

    def __call__(self, user, previous_extension=None, **_) -> None:
        # The old extension's phones must not keep receiving its calls.
        if previous_extension and previous_extension != user.extension:
            _drop(self.settings, previous_extension)


@dataclass(frozen=True)
class ApplySystemSettings:
    settings: Settings

    def __call__(self, settings, changed, **_) -> None:
        # `settings` is the saved SystemSettings row; self.settings the runtime Settings.
        live = config.runtime_values(settings)
        if changed & RESTART_FIELDS:
            # pike reads its threshold only when Kamailio starts.
            _restart(self.settings)
        try:
            for field in sorted(set(changed) & live.keys()):
                group, name, value = live[field]
                rpc.set_runtime_value(self.settings, group, name, value)
                log.info("SIP edge: %s.%s = %r applied live", group, name, value)
        except rpc.RpcFault as exc:
            log.warning("SIP edge refused a runtime value (%s): restarting it with a new config", exc)
            _restart(self.settings)
        except SipEdgeError as exc:
            log.info("SIP edge not running (%s): it reads the settings when it starts", exc)


@dataclass(frozen=True)
class SyncTrunks:
    settings: Settings

    def __call__(self, **_) -> None:
        from appliance.sipedge import trunk_tables

        try:
            trunk_tables.sync(self.settings)
        except SipEdgeError as exc:
            log.warning("SIP edge did not take the trunk change (%s): it applies at its next start", exc)


def _restart(settings: Settings) -> None:
    from appliance.supervisor import request_edge_restart

    if not request_edge_restart(settings):
        log.warning("no supervisor to restart Kamailio: the new settings apply at its next start")


def _drop(settings: Settings, extension: str | None) -> None:
    if not extension:
        return
    try:
        rpc.drop_registrations(settings, extension)
    except SipEdgeError as exc:
        # Kamailio down: when it comes back its location table starts empty.
        log.warning("could not drop registrations of %s: %s", extension, exc)
