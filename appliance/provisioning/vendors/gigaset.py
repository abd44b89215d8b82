"""Gigaset (N670/N870 IP PRO DECT, Maxwell desk phones).

The base asks for `<MAC>.xml` (upper-case MAC) at its provisioning server. Settings are
<ProviderFrame><Provider><SYMB_ITEM ID="BS_IP_Data1.aucS_SIP_USER_ID_1" value='"1001"'/> (string values
in double quotes inside the attribute). User-Agent: "Gigaset N870 IP PRO/83.V2.11.0+build.a546b8d;7C2F80123456".
"""

from __future__ import annotations

import re

from appliance.provisioning.vendors.base import Context, Vendor


def _quoted(value: str) -> str:
    return '"' + str(value).replace('"', "") + '"'


class Gigaset(Vendor):
    key = "gigaset"
    name = "Gigaset"
    ouis = ("7c2f80", "589ec6", "0001e3")
    ua_patterns = (
        re.compile(r"Gigaset\s+(?P<model>[\w]+(?:\s+IP(?:\s+PRO)?)?)[/ ](?P<firmware>[\w.+-]+)"
                   r"(?:;(?P<mac>[0-9A-Fa-f]{12}))?"),
        re.compile(r"Gigaset\s+(?P<model>[\w]+)"),
    )
    device_files = (re.compile(r"(?P<mac>[0-9A-Fa-f]{12})\.xml"),)
    device_template = "gigaset.xml.tpl"
    phonebook_template = "gigaset_phonebook.xml.tpl"
    content_type = "application/xml; charset=utf-8"
    sync_event = "check-sync"
    languages = {"fr": "3", "en": "1", "de": "0", "it": "4"}
    codec_names = {"G722": "G.722", "PCMA": "G.711 a law", "PCMU": "G.711 u law", "G729": "G.729"}
    transports = {"udp": "1", "tcp": "2", "tls": "3"}

    def extra_values(self, ctx: Context) -> dict:
        return {"language": self.language_name(ctx.language), "codecs": self.codec_list(ctx),
                "transport": self.transports.get(ctx.sip_transport, "1"), "q": _quoted}
