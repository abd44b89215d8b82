"""The files phones fetch at boot: GET /prov/<file> and /prov/t/<token>/<file> (the per-device link).

Public routes (a phone has no session); appliance.provisioning.server does its own digest
authentication, trusted ranges and bans. The provisioning URL for DHCP option 66 is
`http://<appliance>/prov/` (`provisioning_url`).
"""

from __future__ import annotations

import re

import bottle
from bottle import HTTPResponse, request

from appliance.provisioning import PREFIX, server
from webui import web

_TOKEN_IN_PATH = re.compile(r"^(/prov/t/)[^/]+(/.*)$")


def register(app: bottle.Bottle) -> None:
    app.route(PREFIX + "<path:path>", "GET", fetch, public=True)


def provisioning_url(host: str, port: int = 80, scheme: str = "http") -> str:
    """What DHCP option 66 should carry to point phones at this appliance."""
    return server.base_url(server.ProvRequest(path="", client_ip="", host=host, port=port, scheme=scheme))


def _host_and_port() -> tuple[str, int]:
    env = request.environ
    scheme = env.get("wsgi.url_scheme", "http")
    raw = env.get("HTTP_HOST") or env.get("SERVER_NAME", "127.0.0.1")
    m = re.match(r"^(\[[^\]]+\]|[^:]+)(?::(\d{1,5}))?$", raw.strip())
    if not m:
        return env.get("SERVER_NAME", "127.0.0.1"), int(env.get("SERVER_PORT") or 80)
    default = 443 if scheme == "https" else 80
    return m.group(1), int(m.group(2)) if m.group(2) else default


def fetch(path: str):
    env = request.environ
    host, port = _host_and_port()
    req = server.ProvRequest(
        path=path, client_ip=web.client_ip(), user_agent=request.get_header("User-Agent", "")[:512],
        host=host, port=port, scheme=env.get("wsgi.url_scheme", "http"),
        authorization=request.get_header("Authorization"), method=request.method if request.method != "HEAD" else "GET",
    )
    # The access log and the error log write the path: keep a link's secret token out of them, also when
    # handle() raises (redacted before, not after).
    m = _TOKEN_IN_PATH.match(request.path)
    if m:
        env["PATH_INFO"] = m.group(1) + "..." + m.group(2)
    answer = server.handle(req, web.settings())
    if answer.file is not None:
        return bottle.static_file(answer.file.name, root=str(answer.file.parent), mimetype=answer.content_type,
                                  download=False)
    headers = {"Content-Type": answer.content_type, **answer.headers}
    return HTTPResponse(answer.body, status=answer.status, headers=headers)
