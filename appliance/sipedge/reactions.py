"""What the SIP edge does when users change: drop registrations that lost their right."""

from __future__ import annotations

import logging

from appliance import changes
from appliance.errors import SipEdgeError
from appliance.settings import Settings
from appliance.sipedge import rpc

log = logging.getLogger(__name__)


def subscribe(settings: Settings) -> None:
    """Register this process's SIP edge reactions with appliance.changes."""

    def on_user_deleted(user, **_):
        _drop(settings, user.extension)

    def on_user_saved(user, previous_extension=None, **_):
        # The old extension's phones must not keep receiving calls.
        if previous_extension and previous_extension != user.extension:
            _drop(settings, previous_extension)

    changes.subscribe("user.deleted", on_user_deleted)
    changes.subscribe("user.saved", on_user_saved)


def _drop(settings: Settings, extension: str | None) -> None:
    if not extension:
        return
    try:
        rpc.drop_registrations(settings, extension)
    except SipEdgeError as exc:
        # Kamailio down: when it comes back its location table starts empty.
        log.warning("could not drop registrations of %s: %s", extension, exc)
