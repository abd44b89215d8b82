"""Run the web UI on cheroot's threaded WSGI server (never Bottle's development server)."""

from __future__ import annotations

import logging
import signal
import threading
from pathlib import Path

from cheroot import wsgi

from appliance.settings import Settings
from webui import web
from webui.app import create_app

log = logging.getLogger(__name__)

THREADS = 16
# Connections waiting to be accepted. After a power cut every phone asks for its file at once: with cheroot's
# 64 the kernel drops SYNs and phones retry after 1 s, 3 s... (boot storm of 1,000 phones: 10-15 s, connect
# p99 4-5 s; with 1,024: under 8 s, connect p99 0.2 s: benchmarks/RESULTS.md).
LISTEN_BACKLOG = 1024
# Cheroot refuses bodies over this itself; the app answers a clean 413 above web.MAX_BODY.
SERVER_BODY_LIMIT = web.DRAIN_LIMIT


def open_backends(settings: Settings) -> None:
    """Connect this process to the store and the secret key, and subscribe the SIP edge's reactions."""
    from appliance.store import open_store, secrets

    open_store(settings)
    secrets.load_key(settings.secret_key_path)
    try:
        from appliance.sipedge import reactions
    except ImportError:
        log.warning("appliance.sipedge.reactions not available: user changes will not reach Kamailio")
        return
    reactions.subscribe(settings)


class WebServer:
    """The app on a cheroot server: `start()` binds and serves in a thread, `stop()` shuts down.

    With `certificate` and `private_key` (PEM files) it serves HTTPS; the session
    cookie is then marked Secure.
    """

    def __init__(self, settings: Settings, threads: int = THREADS, certificate: Path | None = None,
                 private_key: Path | None = None, port: int | None = None, app=None):
        self.settings = settings
        app = app if app is not None else create_app(settings)
        port = settings.http_port if port is None else port
        self.server = wsgi.Server((settings.bind, port), app, numthreads=threads,
                                  server_name="appliance", request_queue_size=LISTEN_BACKLOG, timeout=30, shutdown_timeout=5)
        # Past the largest body a route accepts (sound uploads), cheroot refuses the request itself.
        self.server.max_request_body_size = max([SERVER_BODY_LIMIT, *web.BODY_ALLOWANCES.values()])
        self.tls = certificate is not None
        if certificate is not None:
            from cheroot.ssl.builtin import BuiltinSSLAdapter

            self.server.ssl_adapter = BuiltinSSLAdapter(str(certificate), str(private_key))
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.server.bind_addr[:2]
        return f"{'https' if self.tls else 'http'}://{host}:{port}"

    def start(self) -> WebServer:
        self.server.prepare()  # listening once this returns
        self._thread = threading.Thread(target=self.server.serve, name="webui-server", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.stop()
        if self._thread is not None:
            self._thread.join(timeout=10)


def serve(settings: Settings, certificate: Path | None = None, private_key: Path | None = None) -> None:
    """Serve until SIGTERM or Ctrl-C; the supervisor runs this as a child process.

    HTTPS when given a certificate and key (PEM); plain HTTP otherwise (lab mode).
    """
    open_backends(settings)
    from appliance.trunks.edge import StateWatcher

    # One process of the appliance writes trunk state changes to the event log: this one.
    watcher = StateWatcher(settings).start()
    # ... and delivers the outgoing mail queue (rows queued by any process; retries with backoff).
    from appliance.mail.sender import start_sender, stop_sender

    start_sender()
    from appliance.sipedge.bans import BanWatcher

    ban_watcher = BanWatcher(settings).start()
    from appliance.voicemail.mwi import MwiWatcher

    # ... and lights a phone's message lamp as soon as it registers (counts change: appliance.voicemail).
    mwi_watcher = MwiWatcher(settings).start()
    from storage.watcher import StorageDaemon

    # ... and watches USB storage (devices appearing and disappearing, a placed volume missing or back).
    storage_daemon = StorageDaemon(settings).start()
    app = create_app(settings)
    # HTTPS first: once HTTP answers (what the supervisor and tests wait for), both do.
    secure = _https_server(settings, app) if settings.https_port and certificate is None else None
    server = WebServer(settings, certificate=certificate, private_key=private_key, app=app).start()
    log.info("web UI listening on %s", server.url)
    stop = threading.Event()
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        log.info("web UI stopping")
        server.stop()
        if secure is not None:
            secure.stop()
        watcher.stop()
        stop_sender()
        ban_watcher.stop()
        mwi_watcher.stop()
        storage_daemon.stop()


def _https_server(settings: Settings, app) -> WebServer | None:
    """The same app over HTTPS on settings.https_port, with the appliance's certificate (self-signed, made on
    first start and again when the SIP domain or address changes; the SIP edge's TLS uses the same files)."""
    from appliance import certificates
    from appliance.system import get_system_settings

    try:
        files = certificates.ensure(settings, certificates.names_for(settings, get_system_settings().sip_domain))
        server = WebServer(settings, certificate=files.certificate, private_key=files.key, port=settings.https_port,
                           app=app).start()
    except Exception as exc:  # noqa: BLE001 -- HTTP goes on serving; the log says why HTTPS does not
        log.error("web UI over HTTPS not started: %s", exc)
        return None
    log.info("web UI listening on %s", server.url)
    return server


def main(settings: Settings) -> None:
    serve(settings)
