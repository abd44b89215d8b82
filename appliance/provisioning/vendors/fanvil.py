"""Fanvil (X-series, V-series, i-series door phones).

The phone asks for the common `f0<hardware id>.cfg` and then `<mac>.cfg` (lower-case MAC; the same name
as a Yealink's, told apart by the User-Agent, the device's known vendor or the MAC's OUI). Settings are
XML (<sysConf><sip><line index="1">...). User-Agent: "Fanvil X4U 2.12.1 0c383e123456".
"""

from __future__ import annotations

import re

from appliance.provisioning.vendors.base import Context, Vendor


class Fanvil(Vendor):
    key = "fanvil"
    name = "Fanvil"
    ouis = ("0c383e", "0c1105")
    ua_patterns = (
        re.compile(r"Fanvil\s+(?P<model>[\w-]+)\s+(?P<firmware>[\w.]+)\s+\(?(?P<mac>[0-9A-Fa-f]{12})\)?"),
        re.compile(r"Fanvil\s+(?P<model>[\w-]+)(?:\s+(?P<firmware>[\w.]+))?"),
    )
    device_files = (re.compile(r"(?P<mac>[0-9A-Fa-f]{12})\.cfg"),)
    common_files = (re.compile(r"(?i)f0(?P<model>[0-9a-z]+)\.cfg"),)
    device_template = "fanvil.xml.tpl"
    phonebook_template = "fanvil_phonebook.xml.tpl"
    content_type = "application/xml; charset=utf-8"
    sync_event = "check-sync"
    languages = {"fr": "fr", "en": "en", "de": "de", "it": "it"}
    codec_names = {"G722": "G722", "PCMA": "PCMA", "PCMU": "PCMU", "G729": "G729", "OPUS": "OPUS"}
    transports = {"udp": "0", "tcp": "1", "tls": "3"}

    def extra_values(self, ctx: Context) -> dict:
        return {"language": self.language_name(ctx.language), "codecs": self.codec_list(ctx),
                "transport": self.transports.get(ctx.sip_transport, "0")}
