"""The web UI on a real cheroot server for tests, an HTTP client that keeps cookies, and Chromium.

`running_web(data_dir)` starts the web server in this process on a free
loopback port with a fresh store (Kamailio absent unless the settings say
otherwise: pages then show "SIP edge unreachable"). `HttpClient` speaks plain
http.client so tests see exactly what a browser or tool gets.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import re
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

from appliance import changes
from appliance.auth.admin import ensure_admin
from appliance.settings import Settings
from appliance.store import close_store
from tests.support.ports import free_port

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
STRONG = "Correct-Horse-42"


@dataclass
class RunningWeb:
    settings: Settings
    server: object
    admin_password: str

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.settings.http_port}"

    def client(self) -> HttpClient:
        return HttpClient("127.0.0.1", self.settings.http_port)

    def stop(self) -> None:
        self.server.stop()
        close_store()
        changes.unsubscribe_all()


def running_web(data_dir: Path, **overrides) -> RunningWeb:
    """Fresh store + admin with a one-time password + web server on a free port, in this process."""
    from webui.server import WebServer, open_backends

    values = {"data_dir": data_dir, "bind": "127.0.0.1", "http_port": free_port(),
              "kamailio_rpc_port": free_port()}
    values.update(overrides)
    settings = Settings(**values)
    open_backends(settings)
    password = ensure_admin()
    server = WebServer(settings).start()
    return RunningWeb(settings, server, password)


@dataclass
class Response:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def json(self):
        return json.loads(self.body)

    def header(self, name: str) -> str | None:
        return self.headers.get(name)

    def set_cookies(self) -> list[str]:
        return self.headers.get_all("Set-Cookie") or []


@dataclass
class HttpClient:
    host: str
    port: int
    cookies: dict[str, str] = field(default_factory=dict)
    token: str | None = None

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None) -> Response:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
        all_headers = {"Accept-Language": "en"}
        if self.cookies:
            all_headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if self.token:
            all_headers["Authorization"] = f"Bearer {self.token}"
        all_headers.update(headers or {})
        try:
            conn.request(method, path, body=body, headers=all_headers)
            raw = conn.getresponse()
            response = Response(raw.status, raw.headers, raw.read())
        finally:
            conn.close()
        for cookie in response.set_cookies():
            name, _, rest = cookie.partition("=")
            value = rest.split(";", 1)[0]
            if value in ("", '""') or "max-age=0" in cookie.lower():
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value
        return response

    # -- JSON API --------------------------------------------------------------
    def api(self, method: str, path: str, data=None, raw: bytes | None = None,
            content_type: str = "application/json") -> Response:
        body = raw if raw is not None else (json.dumps(data).encode() if data is not None else None)
        headers = {"Content-Type": content_type} if body is not None else {}
        return self.request(method, path, body, headers)

    def api_login(self, username: str, password: str) -> Response:
        response = self.api("POST", "/api/v1/session", {"username": username, "password": password})
        if response.status == 200:
            self.token = response.json()["token"]
        return response

    # -- pages -------------------------------------------------------------------
    def get(self, path: str) -> Response:
        return self.request("GET", path)

    def post_form(self, path: str, fields: dict, csrf: bool = True) -> Response:
        fields = dict(fields)
        if csrf and "csrf_token" not in fields:
            fields["csrf_token"] = self.csrf_token(path)
        body = urllib.parse.urlencode(fields).encode()
        return self.request("POST", path, body, {"Content-Type": "application/x-www-form-urlencoded"})

    def csrf_token(self, path: str = "/password") -> str:
        """The CSRF token forms must carry: the login form's for /login, else the session's."""
        page = self.get("/login" if path == "/login" else "/password")
        match = re.search(r'name="csrf_token" value="([^"]*)"', page.text)
        assert match, f"no csrf_token for {path}: {page.status} {page.text[:300]}"
        return match.group(1)

    def login(self, username: str, password: str) -> Response:
        return self.post_form("/login", {"username": username, "password": password, "next": ""})


def first_login(web: RunningWeb, new_password: str = STRONG) -> HttpClient:
    """Log in as admin with the one-time password and replace it; returns the logged-in client."""
    client = web.client()
    client.login("admin", web.admin_password)
    response = client.post_form("/password", {"current_password": web.admin_password,
                                              "new_password": new_password, "confirm_password": new_password})
    assert response.status == 303, response.text[:500]
    return client


@contextlib.contextmanager
def admin_web(data_dir: Path):
    """A web server whose admin has chosen STRONG: (running, the admin's page client, an API client with a
    bearer token). Stopped on exit."""
    running = running_web(data_dir)
    try:
        admin = first_login(running)
        api = running.client()
        assert api.api_login("admin", STRONG).status == 200
        yield running, admin, api
    finally:
        running.stop()


def browser_login(page, base_url: str, password: str = STRONG) -> None:
    """Log in as admin in a Playwright page (the password already chosen)."""
    page.goto(base_url + "/login")
    page.fill("#username", "admin")
    page.fill("#password", password)
    page.click("button[type=submit]:has-text('Log in')")
    page.wait_for_load_state("networkidle")


def launch_chromium(playwright):
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
