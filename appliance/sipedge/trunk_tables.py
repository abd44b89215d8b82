"""Kamailio's trunk tables, rendered from the store into its own file `trunks.sqlite`.

- `uacreg` (uac module): one row per enabled trunk with register on. It holds
  the digest HA1 (`auth_ha1`, realm = provider domain, else the host name),
  never the password: the password stays encrypted in the store.
- `trunkmap` (htable): per trunk `out:<name>` (its settings for outbound calls,
  HA1 included), `src:<ip>[:<port>]` (addresses its calls come from: the host's
  and the IP-authentication list), `tok:<contact user>` (our registration's
  Contact user) and, for a dynamic trunk, `dyn:<auth user>`.

`render()` rewrites both from the store (at every Kamailio start, through
config.render); `sync()` also brings a running Kamailio up to date over RPC
(appliance.sipedge.reactions calls it when a trunk is saved or deleted).
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import sqlite3
from dataclasses import dataclass

from appliance.errors import ApplianceError, SipEdgeError
from appliance.settings import Settings

log = logging.getLogger(__name__)

REGISTER_EXPIRES_S = 300
# A CIDR in a trunk's IP-authentication list becomes one key per address: at most this many.
MAX_NETWORK_ADDRESSES = 1024
FIELD_FORBIDDEN = set("|\r\n\t ")


@dataclass(frozen=True)
class TrunkEdge:
    """What the edge uses of one trunk."""

    name: str
    host: str  # "name[:port]" or "dynamic"
    transport: str
    dynamic: bool
    register: bool
    auth_user: str
    realm: str
    ha1: str
    from_user: str
    caller_id: str
    domain: str  # From/To/R-URI domain towards the provider (with port when the host has one)
    max_calls: int
    contact_user: str  # our registration's Contact user: an unguessable per-trunk token
    keepalive: bool = False  # OPTIONS keep-alives (trunks that do not register)
    tls_verify: bool = True  # TLS: verify the provider's certificate (appliance.sipedge.tls)


def md5_ha1(user: str, realm: str, password: str) -> str:
    return hashlib.md5(f"{user}:{realm}:{password}".encode()).hexdigest()


def contact_user(name: str, password_enc: str | None) -> str:
    """Contact user of the trunk's registration. Providers send calls to it, so it must not be
    guessable (an INVITE to it is taken as the trunk's): derived from the encrypted password,
    which is random and secret, it changes with the password."""
    return "ap" + hashlib.sha256(f"{name}\0{password_enc or ''}".encode()).hexdigest()[:20]


def host_name(host: str) -> str:
    from appliance.trunks.dns import split_host

    return split_host(host)[0]


def edge_view(trunk, sip_domain: str) -> TrunkEdge | None:
    """The edge's view of a Trunk row; None if it cannot be used (disabled, or unusable values)."""
    from appliance.store import secrets
    from appliance.trunks.models import DYNAMIC

    if not trunk.enabled:
        return None
    dynamic = trunk.host == DYNAMIC
    password = ""
    if trunk.password_enc:
        try:
            password = secrets.decrypt(trunk.password_enc)
        except ApplianceError as exc:
            log.warning("trunk %s: password cannot be read (%s): no digest towards the provider", trunk.name, exc)
    if dynamic:
        domain = trunk.provider_domain or sip_domain
        realm = sip_domain
    else:
        domain = trunk.provider_domain or trunk.host
        realm = trunk.provider_domain or host_name(trunk.host)
    ha1 = md5_ha1(trunk.auth_user, realm, password) if trunk.auth_user and password else ""
    view = TrunkEdge(
        name=trunk.name, host=trunk.host, transport=trunk.transport if trunk.transport in ("udp", "tcp", "tls")
        else "udp", dynamic=dynamic, register=bool(trunk.register) and not dynamic and bool(ha1),
        auth_user=trunk.auth_user or "", realm=realm, ha1=ha1, from_user=trunk.from_user or "",
        caller_id=trunk.outbound_caller_id or "", domain=domain, max_calls=max(0, int(trunk.max_calls or 0)),
        contact_user=contact_user(trunk.name, trunk.password_enc), keepalive=bool(trunk.keepalive),
        tls_verify=bool(getattr(trunk, "tls_verify", True)),
    )
    fields = (view.host, view.auth_user, view.realm, view.from_user, view.caller_id, view.domain)
    if not view.host or any(FIELD_FORBIDDEN & set(f) for f in fields):
        log.warning("trunk %s has spaces or '|' in its host, users or domain: the edge ignores it", trunk.name)
        return None
    return view


def load_views() -> list[TrunkEdge]:
    from appliance.system import get_system_settings
    from appliance.trunks.models import Trunk

    sip_domain = get_system_settings().sip_domain
    views = [edge_view(t, sip_domain) for t in Trunk.select().order_by(Trunk.name)]
    return [v for v in views if v is not None]


def uacreg_row(view: TrunkEdge, settings: Settings) -> dict:
    """The uac module's registration row for a trunk (expires 0 would mean "do not register")."""
    proxy = f"sip:{view.host}" + (f";transport={view.transport}" if view.transport != "udp" else "")
    return {
        "l_uuid": view.contact_user, "l_username": view.name, "l_domain": "trunk",
        "r_username": view.auth_user, "r_domain": view.domain, "realm": view.realm,
        "auth_username": view.auth_user, "auth_password": "", "auth_ha1": view.ha1,
        "auth_proxy": proxy, "expires": REGISTER_EXPIRES_S, "flags": 0, "reg_delay": 0,
        "contact_addr": contact_addr(settings, view), "socket": "",
    }


def contact_addr(settings: Settings, view: TrunkEdge) -> str:
    """host:port of our registration's Contact; a TLS trunk's provider calls us back over TLS."""
    host = contact_host(settings, view)
    if view.transport == "tls" and settings.sip_tls_port:
        return f"{host}:{settings.sip_tls_port};transport=tls"
    if view.transport == "tcp":
        return f"{host}:{settings.sip_port};transport=tcp"
    return f"{host}:{settings.sip_port}"


def contact_host(settings: Settings, view: TrunkEdge) -> str:
    """Our address in the registration's Contact: the one we listen on, or when we listen on every
    address, the one the system routes towards the provider (no packet is sent to learn it)."""
    import socket

    from appliance.trunks import dns

    if settings.bind not in ("", "0.0.0.0"):
        return settings.bind
    try:
        target = dns.resolve(view.host, view.transport)[0]
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect((target.ip, target.port))
            return probe.getsockname()[0]
    except (dns.DnsFailure, OSError, IndexError):
        return settings.media_address


def source_keys(view: TrunkEdge, ip_auth: list) -> list[str]:
    """trunkmap keys of the addresses this trunk's calls come from."""
    from appliance.trunks import dns

    keys: list[str] = []
    if not view.dynamic:
        name, port = dns.split_host(view.host)
        for ip in dns.addresses(view.host, view.transport):
            if port or not ipaddress.ip_address(ip).is_loopback:
                # Phones and tests live on loopback too: a local provider is known by its port.
                keys += _address_keys(ip, port)
    for entry in ip_auth or []:
        text = str(entry).strip()
        try:
            if "/" in text:
                network = ipaddress.ip_network(text, strict=False)
                if network.num_addresses > MAX_NETWORK_ADDRESSES:
                    log.warning("trunk %s: network %s is too large for the edge, ignored", view.name, text)
                    continue
                for ip in network:
                    keys += _address_keys(str(ip), None)
                continue
            name, port = dns.split_host(text)
            ipaddress.ip_address(name)
        except ValueError:
            log.warning("trunk %s: %r is not an IP address or network, ignored", view.name, text)
            continue
        keys += _address_keys(name, port)
    return keys


def _address_keys(ip: str, port: int | None) -> list[str]:
    return [f"src:{ip}:{port}"] if port else [f"src:{ip}"]


def out_value(view: TrunkEdge) -> str:
    """route[TRUNK_SETTINGS] reads these fields by position."""
    return "|".join([
        view.host, view.transport, "1" if view.dynamic else "0", view.auth_user, view.realm, view.ha1,
        view.from_user, view.caller_id, view.domain, str(view.max_calls), view.contact_user,
    ])


def trunkmap_rows(views: list[TrunkEdge], ip_auth: dict[str, list]) -> dict[str, str]:
    rows: dict[str, str] = {}
    for view in views:
        rows[f"out:{view.name}"] = out_value(view)
        if view.dynamic:
            if view.auth_user:
                rows[f"dyn:{view.auth_user}"] = view.name
            continue
        if view.register:
            rows[f"tok:{view.contact_user}"] = view.name
        elif view.keepalive:
            rows[f"ping:{view.name}"] = "1"
        for key in source_keys(view, ip_auth.get(view.name, [])):
            rows.setdefault(key, view.name)
    return rows


def ensure_db(settings: Settings) -> None:
    """Create trunks.sqlite with the uac and htable schemas Kamailio's package ships, once."""
    from appliance.sipedge.config import kamailio_schema, trunks_db_path

    with sqlite3.connect(trunks_db_path(settings)) as db:
        if db.execute("SELECT 1 FROM sqlite_master WHERE name = 'uacreg'").fetchone():
            return
        standard, uac, htable = kamailio_schema("standard", "uac", "htable")
        htable = htable.replace("CREATE TABLE htable", "CREATE TABLE trunkmap").replace("'htable'", "'trunkmap'")
        db.executescript("\n".join([standard, uac, htable]))


def render(settings: Settings) -> dict[str, dict]:
    """Rewrite trunks.sqlite from the store; returns the uacreg rows by l_uuid."""
    from appliance.sipedge.config import trunks_db_path
    from appliance.trunks.models import Trunk

    ensure_db(settings)
    views = load_views()
    ip_auth = {t.name: t.ip_auth for t in Trunk.select(Trunk.name, Trunk.ip_auth)}
    registrations = {v.contact_user: uacreg_row(v, settings) for v in views if v.register}
    keys = trunkmap_rows(views, ip_auth)
    with sqlite3.connect(trunks_db_path(settings), timeout=10) as db:
        db.execute("DELETE FROM uacreg")
        for row in registrations.values():
            columns = ", ".join(row)
            db.execute(f"INSERT INTO uacreg ({columns}) VALUES ({', '.join('?' * len(row))})", list(row.values()))
        db.execute("DELETE FROM trunkmap")
        db.executemany("INSERT INTO trunkmap (key_name, key_type, value_type, key_value, expires) "
                       "VALUES (?, 0, 0, ?, 0)", sorted(keys.items()))
    return registrations


def rendered_registrations(settings: Settings) -> dict[str, dict]:
    """The uacreg rows currently in trunks.sqlite, by l_uuid."""
    from appliance.sipedge.config import trunks_db_path

    path = trunks_db_path(settings)
    if not path.exists():
        return {}
    with sqlite3.connect(path, timeout=10) as db:
        db.row_factory = sqlite3.Row
        try:
            return {r["l_uuid"]: {k: r[k] for k in r.keys() if k != "id"} for r in db.execute("SELECT * FROM uacreg")}
        except sqlite3.OperationalError:
            return {}


def sync(settings: Settings) -> None:
    """Render the tables and make the running Kamailio follow: new addresses and settings at once,
    registrations added, changed ones started again, removed ones unregistered."""
    from appliance.sipedge import rpc, tls

    before = rendered_registrations(settings)
    after = render(settings)
    tls_changed = tls.render(settings, changed=True) is not None
    try:
        rpc.call(settings, "htable.reload", "trunkmap")
        if tls_changed:
            # New TLS connections trust the certificates of the trunks with tls_verify off as they are now.
            try:
                rpc.call(settings, "tls.reload")
            except rpc.RpcFault as exc:
                log.warning("the SIP edge did not reload its TLS settings (%s): they apply at its next start", exc)
        loaded = {r.get("l_uuid"): r for r in (rpc.call(settings, "uac.reg_dump") or [])}
    except SipEdgeError as exc:
        log.info("SIP edge not running (%s): it loads the trunks when it starts", exc)
        return
    for uuid, record in loaded.items():
        if uuid in after:
            continue
        try:
            rpc.call(settings, "uac.reg_unregister", "l_uuid", uuid)
        except rpc.RpcFault:
            pass  # never registered: nothing to take back
        _forget(settings, record.get("l_username", ""))
        try:
            rpc.call(settings, "uac.reg_remove", uuid)
        except rpc.RpcFault:
            pass
    for uuid, row in after.items():
        if uuid in loaded and before.get(uuid) == row:
            continue
        _forget(settings, row["l_username"])
        rpc.call(settings, "uac.reg_refresh", uuid)


def _forget(settings: Settings, name: str) -> None:
    """A changed trunk starts afresh: no back-off, no old outcome."""
    from appliance.sipedge import rpc

    if not name:
        return
    for table, key in (("regbackoff", name), ("trunkreg", f"{name}::sent"), ("trunkreg", f"{name}::reply")):
        try:
            rpc.call(settings, "htable.delete", table, key)
        except rpc.RpcFault:
            pass
