"""What every vendor module provides, and the data a template is rendered with.

A vendor is a small class: the file names its phones request (regexes, with the MAC's case), how its
User-Agent reads (model, firmware, MAC), its config, common-file and phonebook templates, and its
NOTIFY events for re-provisioning and rebooting. Vendors are listed in `VENDORS`
(appliance.provisioning.vendors); nothing else names them.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from functools import cache, lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import bottle

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


@dataclass(frozen=True)
class Identity:
    """What a User-Agent says about the phone."""

    vendor: str
    model: str = ""
    firmware: str = ""
    mac: str = ""


@dataclass(frozen=True)
class FileMatch:
    """A requested file name understood: whose, which kind (common | device | phonebook), for which MAC."""

    vendor: Vendor
    kind: str
    name: str
    mac: str = ""
    model: str = ""


@dataclass(frozen=True)
class Account:
    extension: str
    auth_user: str
    password: str
    display_name: str
    label: str


@dataclass(frozen=True)
class PhonebookEntry:
    name: str
    number: str
    first_name: str = ""
    last_name: str = ""
    company: str = ""
    mobile: str = ""
    internal: bool = True


@dataclass
class Context:
    """Everything a template may use. `account` is None for a device assigned to nobody (and for common
    files, which also carry no provisioning credentials)."""

    file: str
    server_host: str
    sip_port: int
    sip_domain: str
    prov_url: str
    language: str = "en"
    timezone: str = "UTC"
    ntp_server: str = ""
    codecs: tuple[str, ...] = ("G722", "PCMA", "PCMU")
    sip_transport: str = "udp"
    mac: str = ""
    model: str = ""
    prov_username: str = ""
    prov_password: str = ""
    phonebook_url: str = ""
    account: Account | None = None
    firmware_url: str = ""
    appliance_name: str = "PBX"
    waiting_text: str = "Not assigned"
    extra: dict = field(default_factory=dict)

    @property
    def poll_minutes(self) -> int:
        """How often the phone checks for a new config: every few minutes while it waits to be assigned
        (it gets its account soon after the installer assigns it, without a reboot), else daily."""
        return 5 if self.mac and self.account is None else 1440

    @property
    def utc_offset_hours(self) -> float:
        return utc_offset(self.timezone).total_seconds() / 3600

    @property
    def utc_offset_seconds(self) -> int:
        return int(utc_offset(self.timezone).total_seconds())

    @property
    def posix_tz(self) -> str:
        return posix_tz(self.timezone)


class Vendor:
    key = ""  # stable id stored on the device: "yealink"
    name = ""  # shown: "Yealink"
    ouis: tuple[str, ...] = ()  # first 6 hex digits of its MACs (lower case)
    ua_patterns: tuple[re.Pattern, ...] = ()  # named groups: model, firmware, mac (each optional)
    common_files: tuple[re.Pattern, ...] = ()  # served to anyone, even before the phone is known
    device_files: tuple[re.Pattern, ...] = ()  # group "mac": the device's own config
    phonebook_files: tuple[re.Pattern, ...] = ()  # vendor-named phonebook files (group "mac")
    device_template = ""
    common_template = ""
    phonebook_template = ""
    content_type = "text/plain; charset=utf-8"
    phonebook_content_type = "application/xml; charset=utf-8"
    sync_event = "check-sync;reboot=false"
    reboot_event = "check-sync;reboot=true"
    languages: dict[str, str] = {}
    codec_names: dict[str, str] = {}

    # -- recognising ------------------------------------------------------------
    def identify(self, user_agent: str) -> Identity | None:
        for pattern in self.ua_patterns:
            m = pattern.search(user_agent or "")
            if m:
                groups = m.groupdict()
                raw_mac = re.sub(r"[^0-9A-Fa-f]", "", groups.get("mac") or "").lower()
                return Identity(self.key, (groups.get("model") or "")[:64], (groups.get("firmware") or "")[:64],
                                raw_mac if len(raw_mac) == 12 else "")
        return None

    def match(self, filename: str) -> FileMatch | None:
        for kind, patterns in (("device", self.device_files), ("phonebook", self.phonebook_files),
                               ("common", self.common_files)):
            for pattern in patterns:
                m = pattern.fullmatch(filename)
                if m:
                    groups = m.groupdict()
                    mac = (groups.get("mac") or "").lower()
                    if mac == "000000000000":
                        continue
                    return FileMatch(self, kind, filename, mac, groups.get("model") or "")
        return None

    def model_from_file(self, match: FileMatch) -> str:
        return match.model

    # -- rendering --------------------------------------------------------------
    def render_device(self, ctx: Context) -> str:
        return render(self.device_template, ctx=ctx, v=self, **self.extra_values(ctx))

    def render_common(self, ctx: Context) -> str:
        return render(self.common_template or self.device_template, ctx=ctx, v=self, **self.extra_values(ctx))

    def render_phonebook(self, entries: list[PhonebookEntry], title: str = "Company") -> str:
        return render(self.phonebook_template, entries=entries, title=title, v=self)

    def extra_values(self, ctx: Context) -> dict:
        """Vendor-specific values a template needs beyond the context (language names, codec ids)."""
        return {}

    def language_name(self, language: str) -> str:
        return self.languages.get(language, self.languages.get("en", "English"))

    def codec_list(self, ctx: Context) -> list[str]:
        return [self.codec_names[c] for c in ctx.codecs if c in self.codec_names]


def render(template_name: str, **values) -> str:
    return _template(template_name).render(**values)


@cache
def _template(name: str) -> bottle.SimpleTemplate:
    return bottle.SimpleTemplate(source=(TEMPLATES / name).read_text(encoding="utf-8"), noescape=False)


def one_line(text: str) -> str:
    """A value safe on one line of a key = value file."""
    return re.sub(r"[\r\n\t]+", " ", str(text)).strip()


def utc_offset(timezone: str) -> dt.timedelta:
    """The zone's standard (winter) offset: phones apply their own summer time rules."""
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        return dt.timedelta(0)
    january = dt.datetime(2026, 1, 15, 12, tzinfo=zone).utcoffset()
    july = dt.datetime(2026, 7, 15, 12, tzinfo=zone).utcoffset()
    return min(january, july)


@lru_cache(maxsize=64)
def posix_tz(timezone: str) -> str:
    """The POSIX TZ rule ("CET-1CEST,M3.5.0,M10.5.0/3") from the footer of the system's tzdata file."""
    for base in ("/usr/share/zoneinfo",):
        path = Path(base) / timezone
        try:
            if ".." in timezone or not path.is_file():
                continue
            footer = path.read_bytes().rstrip(b"\n").rsplit(b"\n", 1)[-1]
            text = footer.decode("ascii")
            if text and re.fullmatch(r"[\x20-\x7e]+", text):
                return text
        except (OSError, UnicodeDecodeError):
            continue
    hours = -int(utc_offset(timezone).total_seconds() // 3600)
    return f"UTC{hours:+d}" if hours else "UTC0"
