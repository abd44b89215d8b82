"""Grandstream (GXP, GRP, GXV, HT, WP).

The phone asks for `cfg<mac>.xml` (lower-case MAC; older firmware `cfg<mac>` without extension), and
for the common `cfg.xml` / `cfg<model>.xml`. Settings are P-values in XML
(<gs_provision><config><P47>...). User-Agent: "Grandstream Model HW GXP2170 SW 1.0.11.3 DevId
c074ad123456".
"""

from __future__ import annotations

import re

from appliance.provisioning.vendors.base import Context, Vendor


class Grandstream(Vendor):
    key = "grandstream"
    name = "Grandstream"
    ouis = ("000b82", "c074ad", "ec74d7")
    ua_patterns = (
        re.compile(r"Grandstream Model HW (?P<model>\w+)(?:\s+V[^ ]+)?\s+SW (?P<firmware>[^ ]+)"
                   r"(?:\s+DevId (?P<mac>[0-9A-Fa-f]{12}))?"),
        re.compile(r"Grandstream (?P<model>[A-Z]+\d+\w*)\b.*?(?:DevId (?P<mac>[0-9A-Fa-f]{12}))?$"),
    )
    device_files = (re.compile(r"cfg(?P<mac>[0-9A-Fa-f]{12})(?:\.xml)?"),)
    common_files = (re.compile(r"cfg\.xml"), re.compile(r"(?i)cfg(?P<model>(?:gxp|grp|gxv|ht|wp|dp|gac)\w*)\.xml"))
    device_template = "grandstream.xml.tpl"
    phonebook_template = "grandstream_phonebook.xml.tpl"
    content_type = "application/xml; charset=utf-8"
    sync_event = "check-sync"
    languages = {"fr": "fr", "en": "en", "de": "de", "it": "it"}
    # P57..P62: preferred vocoders 1..6 (payload numbers)
    codec_names = {"PCMU": "0", "PCMA": "8", "G722": "9", "G729": "18"}
    transports = {"udp": "0", "tcp": "1", "tls": "2"}

    def extra_values(self, ctx: Context) -> dict:
        return {
            "language": self.language_name(ctx.language),
            "codecs": self.codec_list(ctx),
            "codec_slots": (57, 58, 59, 60, 61, 62),
            "transport": self.transports.get(ctx.sip_transport, "0"),
            "server_path": ctx.prov_url.split("://", 1)[-1].rstrip("/"),
        }
