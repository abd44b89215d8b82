"""The numbering plan's fixed facts: extension format and service numbers."""

from __future__ import annotations

import re

EXTENSION_RE = re.compile(r"^[0-9]{2,8}$")

# Numbers the call core answers itself; no extension may take them.
ECHO_TEST = "76"
# Toggle a dialplan switch by phone (voice prompts).
SWITCH_CODE = "93"
# Voicemail: listen to one's own box (PIN asked), its alias, and the "voicemail main" number
# (box number then PIN, from any phone or from outside through a DID).
VOICEMAIL_CODE = "*95"
VOICEMAIL_ALIAS = "999"
VOICEMAIL_MAIN = "*98"
SERVICE_NUMBERS = {ECHO_TEST: "echo test", SWITCH_CODE: "switch toggle", VOICEMAIL_ALIAS: "voicemail"}


def used_by(number: str, *, user_id: int | None = None, room_id: int | None = None,
            box_id: int | None = None) -> str:
    """What already answers `number` on this appliance ("" if nothing): a service number, a user's
    extension, a conference room or a shared voicemail box. The one check every numbered thing makes
    before taking a number; pass your own id to leave yourself out."""
    from appliance.conference.models import ConferenceRoom
    from appliance.users.models import User
    from appliance.voicemail.models import Box

    if number in SERVICE_NUMBERS:
        return f"the service number of the {SERVICE_NUMBERS[number]}"
    users = User.select(User.id, User.login).where(User.extension == number)
    if user_id is not None:
        users = users.where(User.id != user_id)
    user = users.first()
    if user is not None:
        return f"the extension of user {user.login}"
    rooms = ConferenceRoom.select(ConferenceRoom.id, ConferenceRoom.name).where(ConferenceRoom.number == number)
    if room_id is not None:
        rooms = rooms.where(ConferenceRoom.id != room_id)
    room = rooms.first()
    if room is not None:
        return f"the number of conference room {room.name}"
    boxes = Box.select(Box.id).where((Box.number == number) & Box.user.is_null())
    if box_id is not None:
        boxes = boxes.where(Box.id != box_id)
    if boxes.exists():
        return "the number of a shared voicemail box"
    return ""
