"""Placeholder: filled by the dialplan work (issue 3)."""

from __future__ import annotations

import bottle


def register(app: bottle.Bottle) -> None:
    pass
