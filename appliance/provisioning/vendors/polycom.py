"""Poly / Polycom (VVX, SoundPoint IP, Edge E).

The phone asks for its master file `<mac>.cfg` (lower-case MAC), falling back to the default master
`000000000000.cfg`; the master lists the configuration files to fetch next: `<mac>-phone.cfg` (its
account) and `sip.cfg` (shared settings). It also reads `<mac>-directory.xml` (contacts) and uploads logs
(`<mac>-app.log`, refused). Settings are XML attributes (<polycomConfig><reg reg.1.address=...>).
User-Agent: "FileTransport PolycomVVX-VVX_411-UA/5.9.5.0614".
"""

from __future__ import annotations

import re

from appliance.provisioning.vendors.base import Context, Vendor, render


class Polycom(Vendor):
    key = "polycom"
    name = "Poly"
    ouis = ("0004f2", "64167f", "482567")
    ua_patterns = (re.compile(r"FileTransport Polycom\w*?-(?P<model>\w*?)-UA/(?P<firmware>[\d.]+)"),
                   re.compile(r"PolycomVVX-(?P<model>\w+)"))
    device_files = (re.compile(r"(?P<mac>[0-9A-Fa-f]{12})-phone\.cfg"), re.compile(r"(?P<mac>[0-9A-Fa-f]{12})\.cfg"))
    phonebook_files = (re.compile(r"(?P<mac>[0-9A-Fa-f]{12})-directory\.xml"),)
    common_files = (re.compile(r"000000000000\.cfg"), re.compile(r"sip\.cfg"))
    device_template = "polycom_phone.cfg.tpl"
    phonebook_template = "polycom_directory.xml.tpl"
    content_type = "application/xml; charset=utf-8"
    sync_event = "check-sync"
    languages = {"fr": "French_France", "en": "English_United_Kingdom", "de": "German_Germany",
                 "it": "Italian_Italy"}
    codec_names = {"G722": "G722", "PCMA": "G711A", "PCMU": "G711Mu", "G729": "G729AB", "OPUS": "OPUS"}
    transports = {"udp": "UDPOnly", "tcp": "TCPOnly", "tls": "TLS"}

    def extra_values(self, ctx: Context) -> dict:
        codecs = self.codec_list(ctx)
        attrs = "".join(f' voice.codecPref.{c}="{i}"' for i, c in enumerate(codecs, 1))
        return {"language": self.language_name(ctx.language), "transport": self.transports.get(ctx.sip_transport),
                "codec_attrs": attrs}

    def render_device(self, ctx: Context) -> str:
        if not ctx.file.endswith("-phone.cfg"):
            return render("polycom_master.cfg.tpl", ctx=ctx)
        return super().render_device(ctx)

    def render_common(self, ctx: Context) -> str:
        if ctx.file == "sip.cfg":
            return render("polycom_sip.cfg.tpl", ctx=ctx, **self.extra_values(ctx))
        return render("polycom_master.cfg.tpl", ctx=ctx)
