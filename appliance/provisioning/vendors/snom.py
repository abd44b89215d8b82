"""Snom (D7xx, 3xx/7xx).

With option 66 the phone asks for `snom<model>.htm` (common to a model, e.g. `snomD785.htm`), which
points it at its own `snom<model>-<MAC>.htm` (upper-case MAC). Settings are XML
(<settings><phone-settings>, one element per setting, `idx` for the identity). User-Agent:
"Mozilla/4.0 (compatible; snomD785-SIP 10.1.33.33 2010.12-00004-g9ba52f5 000413922D24 SXM:0 UXM:0)".
"""

from __future__ import annotations

import re

from appliance.provisioning.vendors.base import Context, Vendor


class Snom(Vendor):
    key = "snom"
    name = "Snom"
    ouis = ("000413",)
    ua_patterns = (
        re.compile(r"\bsnom(?P<model>\w+)-SIP\s+(?P<firmware>[\d.]+)\s+\S+\s+(?P<mac>[0-9A-Fa-f]{12})\b"),
        re.compile(r"\bsnom(?P<model>\w+)-SIP\s+(?P<firmware>[\d.]+)"),
    )
    device_files = (re.compile(r"snom(?P<model>\w+)-(?P<mac>[0-9A-Fa-f]{12})\.htm"),)
    common_files = (re.compile(r"snom(?P<model>\w+)\.htm"),)
    device_template = "snom.xml.tpl"
    phonebook_template = "snom_phonebook.xml.tpl"
    content_type = "application/xml; charset=utf-8"
    languages = {"fr": "Francais", "en": "English", "de": "Deutsch", "it": "Italiano"}
    codec_names = {"G722": "g722", "PCMA": "pcma", "PCMU": "pcmu", "G729": "g729", "OPUS": "opus"}

    def extra_values(self, ctx: Context) -> dict:
        return {"language": self.language_name(ctx.language), "codecs": self.codec_list(ctx)}
