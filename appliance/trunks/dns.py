"""Where a provider's SIP service is: RFC 3263 (NAPTR, then SRV, then A) with dnspython.

`resolve("sip.example.com", "udp")` gives the addresses to try, in order. A name
that does not resolve raises DnsFailure: the UI reports it as a DNS problem,
not as a network one. IP literals and names from /etc/hosts ("localhost") need
no DNS.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

import dns.exception
import dns.resolver

LIFETIME_S = 3.0
DEFAULT_PORTS = {"udp": 5060, "tcp": 5060, "tls": 5061}
SRV_PREFIX = {"udp": "_sip._udp", "tcp": "_sip._tcp", "tls": "_sips._tcp"}
NAPTR_SERVICE = {"udp": "SIP+D2U", "tcp": "SIP+D2T", "tls": "SIPS+D2T"}


class DnsFailure(Exception):
    """The name does not resolve (no such name, no address, or no DNS server answered)."""


@dataclass(frozen=True)
class Target:
    ip: str
    port: int
    transport: str


def split_host(host: str) -> tuple[str, int | None]:
    """"host[:port]" (IPv6 in brackets) -> (host, port or None)."""
    host = host.strip()
    if host.startswith("["):
        name, _, rest = host[1:].partition("]")
        return name, int(rest[1:]) if rest.startswith(":") and rest[1:].isdigit() else None
    if host.count(":") == 1:
        name, _, port = host.partition(":")
        return name, int(port) if port.isdigit() else None
    return host, None


def is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def resolve(host: str, transport: str = "udp", *, lifetime: float = LIFETIME_S) -> list[Target]:
    """The provider's addresses for `host` ("name[:port]"), best first; DnsFailure if none."""
    name, port = split_host(host)
    if not name:
        raise DnsFailure("no host name")
    if is_ip(name):
        return [Target(name, port or DEFAULT_PORTS[transport], transport)]
    hosts = _from_hosts_file(name)
    if hosts:
        return [Target(ip, port or DEFAULT_PORTS[transport], transport) for ip in hosts]
    resolver = dns.resolver.Resolver()
    resolver.lifetime = lifetime
    if port is None:
        # RFC 3263: NAPTR says which SRV name to use for the transport; without it, the usual SRV name.
        srv_name = _naptr_srv(resolver, name, transport) or f"{SRV_PREFIX[transport]}.{name}"
        targets = _srv(resolver, srv_name, transport)
        if targets:
            return targets
    return [Target(ip, port or DEFAULT_PORTS[transport], transport) for ip in _addresses(resolver, name)]


def addresses(host: str, transport: str = "udp") -> list[str]:
    """Every IP address the provider may send from or be reached at (for recognising its calls)."""
    try:
        return sorted({t.ip for t in resolve(host, transport)})
    except DnsFailure:
        return []


def _from_hosts_file(name: str) -> list[str]:
    try:
        with open("/etc/hosts") as f:
            lines = f.read().splitlines()
    except OSError:
        return []
    found = []
    for line in lines:
        fields = line.split("#", 1)[0].split()
        if len(fields) >= 2 and name.lower() in (f.lower() for f in fields[1:]) and is_ip(fields[0]):
            if ipaddress.ip_address(fields[0]).version == 4:
                found.append(fields[0])
    return found


def _naptr_srv(resolver: dns.resolver.Resolver, name: str, transport: str) -> str | None:
    try:
        answer = resolver.resolve(name, "NAPTR")
    except dns.resolver.NXDOMAIN as exc:
        raise DnsFailure(f"{name} does not exist") from exc
    except (dns.resolver.NoAnswer, dns.resolver.NoNameservers):
        return None
    except dns.exception.Timeout as exc:
        raise DnsFailure(f"no DNS server answered for {name}") from exc
    wanted = NAPTR_SERVICE[transport].lower()
    records = sorted(answer, key=lambda r: (r.order, r.preference))
    for record in records:
        if record.service.decode().lower() == wanted and record.flags.decode().lower() == "s":
            return record.replacement.to_text().rstrip(".")
    return None


def _srv(resolver: dns.resolver.Resolver, srv_name: str, transport: str) -> list[Target]:
    try:
        answer = resolver.resolve(srv_name, "SRV")
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer, dns.resolver.NoNameservers):
        return []
    except dns.exception.Timeout as exc:
        raise DnsFailure(f"no DNS server answered for {srv_name}") from exc
    targets = []
    for record in sorted(answer, key=lambda r: (r.priority, -r.weight)):
        target = record.target.to_text().rstrip(".")
        if target in ("", "."):
            continue
        try:
            ips = _addresses(resolver, target)
        except DnsFailure:
            continue
        targets += [Target(ip, record.port, transport) for ip in ips]
    return targets


def _addresses(resolver: dns.resolver.Resolver, name: str) -> list[str]:
    try:
        answer = resolver.resolve(name, "A")
    except dns.resolver.NXDOMAIN as exc:
        raise DnsFailure(f"{name} does not exist") from exc
    except dns.resolver.NoAnswer as exc:
        raise DnsFailure(f"{name} has no IPv4 address") from exc
    except (dns.resolver.NoNameservers, dns.exception.Timeout) as exc:
        raise DnsFailure(f"no DNS server answered for {name}") from exc
    except dns.exception.DNSException as exc:
        raise DnsFailure(f"{name}: {exc}") from exc
    return [r.address for r in answer]
