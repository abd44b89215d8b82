"""What the SIP edge does when users change: drop registrations that lost their right."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from appliance import changes
from appliance.errors import SipEdgeError
from appliance.settings import Settings
from appliance.sipedge import rpc

log = logging.getLogger(__name__)


def subscribe(settings: Settings) -> None:
    """Register this process's SIP edge reactions with appliance.changes (idempotent)."""
    changes.subscribe("user.deleted", DropDeletedUser(settings))
    changes.subscribe("user.saved", DropOldExtension(settings))


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


def _drop(settings: Settings, extension: str | None) -> None:
    if not extension:
        return
    try:
        rpc.drop_registrations(settings, extension)
    except SipEdgeError as exc:
        # Kamailio down: when it comes back its location table starts empty.
        log.warning("could not drop registrations of %s: %s", extension, exc)
