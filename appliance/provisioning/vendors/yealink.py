"""Yealink (T3x/T4x/T5x, W-series DECT bases).

The phone asks for `y0000000000NN.cfg` (NN: its hardware family, common to the model), then `<mac>.cfg`
(lower-case MAC); recent firmware first asks for `y000000000000.boot` / `<mac>.boot`, which include
both. Settings are `key = value` lines (`account.1.*`). User-Agent: "Yealink SIP-T46S 66.86.0.15
80:5e:c0:12:34:56".
"""

from __future__ import annotations

import re

from appliance.provisioning.vendors.base import Context, FileMatch, Vendor, one_line, render


class Yealink(Vendor):
    key = "yealink"
    name = "Yealink"
    ouis = ("001565", "805ec0", "249ad8", "44dbd2", "805e0c")
    ua_patterns = (
        re.compile(r"[Yy]ealink\s+(?:SIP(?: VP)?-)?(?P<model>[\w]+)\s+(?P<firmware>[\d.]+)\s+"
                   r"(?P<mac>[0-9A-Fa-f]{2}(?::[0-9A-Fa-f]{2}){5})"),
        re.compile(r"[Yy]ealink[\s-]+(?:SIP(?: VP)?-)?(?P<model>[\w]+)\s+(?P<firmware>[\d.]+)"),
    )
    common_files = (re.compile(r"(?i)y0000000000(?P<model>[0-9a-z]{2})\.cfg"),
                    re.compile(r"(?i)y000000000000\.boot"))
    device_files = (re.compile(r"(?P<mac>[0-9A-Fa-f]{12})\.cfg"), re.compile(r"(?P<mac>[0-9A-Fa-f]{12})\.boot"))
    phonebook_files = ()
    device_template = "yealink.cfg.tpl"
    phonebook_template = "yealink_phonebook.xml.tpl"
    languages = {"fr": "French", "en": "English", "de": "German", "it": "Italian"}
    codec_names = {"G722": "g722", "PCMA": "pcma", "PCMU": "pcmu", "G729": "g729", "OPUS": "opus"}
    transports = {"udp": "0", "tcp": "1", "tls": "2"}

    def extra_values(self, ctx: Context) -> dict:
        hours = ctx.utc_offset_hours
        return {
            "one_line": one_line,
            "language": self.language_name(ctx.language),
            "codecs": self.codec_list(ctx),
            "transport": self.transports.get(ctx.sip_transport, "0"),
            "tz_hours": f"{hours:+g}",
        }

    def render_device(self, ctx: Context) -> str:
        if ctx.file.lower().endswith(".boot"):
            return render("yealink.boot.tpl", ctx=ctx, common="y000000000000.cfg", one_line=one_line)
        return super().render_device(ctx)

    def render_common(self, ctx: Context) -> str:
        if ctx.file.lower().endswith(".boot"):
            return render("yealink.boot.tpl", ctx=ctx, common="y000000000000.cfg", one_line=one_line)
        return super().render_common(ctx)

    def model_from_file(self, match: FileMatch) -> str:
        return ""  # NN is a hardware family, not a model name
