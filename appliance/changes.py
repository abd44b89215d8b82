"""Side effects of configuration changes, in one place.

Services publish what changed after their transaction commits
(`publish("user.deleted", user=...)`); each process subscribes the
reactions it is able to carry out (the web server subscribes the SIP edge's
reactions, for instance). Routes and models never do side effects.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable

log = logging.getLogger(__name__)

_listeners: dict[str, list[Callable[..., None]]] = defaultdict(list)


def subscribe(event: str, listener: Callable[..., None]) -> None:
    if listener not in _listeners[event]:
        _listeners[event].append(listener)


def unsubscribe_all() -> None:
    _listeners.clear()


def publish(event: str, **details) -> None:
    """Run every listener of `event`; a failing listener is logged, not raised:
    the change is already committed and the others must still run."""
    for listener in list(_listeners[event]):
        try:
            listener(**details)
        except Exception:
            log.exception("reaction to %s failed in %s", event, getattr(listener, "__name__", listener))
