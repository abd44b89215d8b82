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
