"""Provider presets: what a trunk form is filled with when the admin picks a provider.

One table, one entry per provider; adding a provider is adding an entry.
A preset fills the fields of a new trunk that the admin did not give
(appliance.trunks.service): host (with its port), transport, registration,
keep-alive, codecs, the header that carries the called number and the
country code. Credentials are never part of a preset.

The values are the providers' published defaults as far as they are public;
where a provider gives each customer their own host (Twilio, Orange) the
host is left empty and the notes say where to find it. Always check with the
provider: the notes say so where a value is a sensible default rather than
the provider's documented one.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class Preset:
    key: str
    label: str
    host: str = ""  # "host" or "host:port"; "" = the admin fills it in
    transport: str = "udp"
    register: bool = True  # False: IP authentication (the provider knows our address)
    keepalive: bool = True
    codecs: tuple[str, ...] = ("PCMA", "PCMU", "G722")
    called_header: str = "ruri"  # ruri | to | pcpid | diversion (appliance.trunks.models.CALLED_HEADERS)
    country_code: str = ""
    notes: str = ""
    # Field names the admin is asked to fill (the form highlights them).
    asks: tuple[str, ...] = field(default=("auth_user", "password"))

    @property
    def auth(self) -> str:
        return "register" if self.register else "ip"

    def to_public(self) -> dict:
        data = asdict(self)
        data["codecs"] = list(self.codecs)
        data["asks"] = list(self.asks)
        data["auth"] = self.auth
        return data


PRESETS: tuple[Preset, ...] = (
    Preset("generic", "Generic SIP provider", host="", notes=(
        "Fill in the host (host:port), the credentials and the codecs your provider gave you."),
        asks=("host", "auth_user", "password")),
    Preset("swisscom", "Swisscom Smart Business Connect", host="sip.swisscom.ch:5060", country_code="41",
           codecs=("PCMA", "G722", "PCMU"), notes=(
               "Registration with the SIP username and password from the Swisscom customer centre. "
               "Some contracts use a customer-specific host or TLS: check with the provider.")),
    Preset("sunrise", "Sunrise Business Voice", host="sip.sunrise.ch:5060", country_code="41",
           codecs=("PCMA", "G722", "PCMU"), notes=(
               "Registration with the credentials from Sunrise; check with the provider which header "
               "carries the called number on multi-number trunks.")),
    Preset("iway", "iWay SIP-Trunk", host="sip.iway.ch:5060", country_code="41",
           codecs=("PCMA", "G722", "PCMU"), notes="Registration with the SIP account from the iWay portal."),
    Preset("salt", "Salt Business Voice", host="sip.salt.ch:5060", country_code="41",
           codecs=("PCMA", "G722", "PCMU"), notes="Registration; check the host and ports with the provider."),
    Preset("twilio", "Twilio Elastic SIP Trunking", host="", register=False, keepalive=True,
           codecs=("PCMU", "PCMA"), notes=(
               "IP authentication: enter your termination URI (<yours>.pstn.twilio.com) as host and allow "
               "this appliance's public address in Twilio's IP access control list. Add Twilio's signalling "
               "address ranges under IP authentication (check with the provider for your region). Numbers "
               "are sent and received in E.164 (+...)."),
           asks=("host", "ip_auth")),
    Preset("telnyx", "Telnyx", host="sip.telnyx.com:5060", register=False, codecs=("PCMA", "PCMU", "G722"),
           notes=("IP authentication by default: add Telnyx's signalling addresses under IP authentication and "
                  "this appliance's address in the Telnyx portal. A credentials connection registers "
                  "instead: switch registration on and give the username and password."),
           asks=("ip_auth",)),
    Preset("sip2sip", "sip2sip.info (free test service)", host="sip2sip.info:5060",
           codecs=("PCMA", "PCMU", "G722"), notes=(
               "Free SIP accounts for testing: registration with the account from the sip2sip.info "
               "portal. Calls only between SIP addresses, not to the public network.")),
    Preset("ovh", "OVHcloud SIP trunk", host="siptrunk.ovh.net:5060", country_code="33",
           codecs=("PCMA", "PCMU", "G722"), notes=(
               "Registration with the line number and password from the OVHcloud manager; the manager "
               "shows the registrar of your line: check with the provider.")),
    Preset("orange_business", "Orange Business (Business Talk / SIP trunk)", host="", register=False,
           country_code="33", codecs=("PCMA", "G722", "PCMU"), called_header="to", notes=(
               "Usually delivered over a dedicated access with IP authentication: Orange gives the session "
               "border controller's address (host) and the addresses to allow. Check with the provider."),
           asks=("host", "ip_auth")),
    Preset("peoplefone", "peoplefone", host="sip.peoplefone.ch:5060", country_code="41",
           codecs=("PCMA", "G722", "PCMU"), notes="Registration with the SIP credentials from the peoplefone portal."),
    Preset("sipgate", "sipgate trunking", host="sipgate.de:5060", country_code="49",
           codecs=("PCMA", "PCMU", "G722"), notes="Registration with the SIP-ID and password from sipgate."),
)

BY_KEY: dict[str, Preset] = {p.key: p for p in PRESETS}
DEFAULT = "generic"


def get(key: str) -> Preset | None:
    return BY_KEY.get(key)


def defaults(key: str) -> dict:
    """The trunk fields a preset fills (appliance.trunks.service uses the ones the admin did not give)."""
    preset = BY_KEY[key]
    values = {"transport": preset.transport, "register": preset.register, "keepalive": preset.keepalive,
              "codecs": list(preset.codecs), "called_header": preset.called_header,
              "country_code": preset.country_code}
    if preset.host:
        values["host"] = preset.host
    return values
