"""The `appliance` command: run the stack, and local administration."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from appliance.settings import Settings


def _settings(args: argparse.Namespace) -> Settings:
    values = {"data_dir": Path(args.data_dir).resolve()}
    if getattr(args, "image", False):
        values.update(_image_values(values["data_dir"]))
    for flag in ("bind", "http_port", "https_port", "sip_port", "sip_tls_port", "kamailio_rpc_port", "worker_sip_port_base",
                 "rtp_port_base", "spare_workers", "worker_count_max", "clock_file"):
        value = getattr(args, flag, None)
        if value is not None:
            values[flag] = value
    return Settings(**values)


def _image_values(data_dir: Path) -> dict:
    """`--image` (the systemd units in rootfs/): not lab mode; the web UI on port 80 and SIP on LAN1's stored
    address, as `run --lab-lan` has them in its namespace (the factory default before the first start)."""
    import ipaddress

    from netconfig import lablan, validation

    address = validation.default_network()["interfaces"]["eth1"]["address"]
    if Settings(data_dir=data_dir).db_path.exists():
        address = lablan.stored_lan_address(Settings(data_dir=data_dir))
    return {"lab": False, "http_port": 80, "https_port": 443, "bind": str(ipaddress.IPv4Interface(address).ip)}


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{value} is not between 1 and 65535")
    return value


def _tls_port(text: str) -> int:
    return 0 if text.strip() == "0" else _port(text)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="appliance", description="On-premise PBX appliance")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--data-dir", default="var", help="where the store, logs and sounds live (default ./var)")
    common.add_argument("--image", action="store_true", help="the image's settings (its systemd units): not lab "
                        "mode, web UI on port 80 and SIP on LAN1's address")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", parents=[common], help="start the whole stack (lab mode) and supervise it")
    run.add_argument("--bind", help="address for the web UI and SIP (default 127.0.0.1)")
    run.add_argument("--http-port", type=_port, help="web UI port (default 8080)")
    run.add_argument("--https-port", type=_port, help="web UI over HTTPS too, on this port (default: HTTP only)")
    run.add_argument("--sip-port", type=_port, help="SIP port, UDP and TCP (default 5060)")
    run.add_argument("--sip-tls-port", type=_tls_port,
                     help="SIP over TLS port (default 5061 with SIP on 5060, else none; 0: no TLS)")
    run.add_argument("--kamailio-rpc-port", type=_port, help="Kamailio JSON-RPC port on loopback (default 5090)")
    run.add_argument("--worker-sip-port-base", type=_port, help="first call-core worker SIP port (default 5100)")
    run.add_argument("--rtp-port-base", type=_port, help="first RTP port of the call core (default 20000)")
    run.add_argument("--spare-workers", type=int, help="idle call-core workers kept warm (default 4)")
    run.add_argument("--worker-count-max", type=int, help="most call-core workers at once (default 64)")
    # Tests inject the dialplan's clock (time ranges) through this file.
    run.add_argument("--clock-file", help=argparse.SUPPRESS)
    run.add_argument("--lab-lan", action="store_true",
                     help="put LAN1 in a network namespace (web UI on port 80 and SIP on 5060 at 10.135.0.1, "
                          "DHCP server); devices: ip netns exec lan1-client ... (root)")

    sub.add_parser("prompts", parents=[common],
                   help="generate the system announcements in fr/en/de/it (the image build runs it)")
    sub.add_parser("reset-admin-password", parents=[common],
                   help="print a new one-time password for admin (local, root)")
    from appliance.backup.cli import add_parser as add_backup_parser

    add_backup_parser(sub, common)
    from serialconsole.cli import add_parser as add_console_parser

    add_console_parser(sub, common)

    serve = sub.add_parser("serve", parents=[common], help=argparse.SUPPRESS)
    # prepare, kamailio-config, kamailio: the supervisor's own steps, one per systemd unit on the image (rootfs/)
    serve.add_argument("service", choices=("web", "callcore", "prepare", "kamailio-config", "kamailio"))
    # The supervisor passes its settings; the image's units pass --image --data-dir instead.
    serve.add_argument("--settings-json")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "run" and args.image:  # not lab mode: the web process would apply network settings to the host
        parser.error("run is lab mode; --image is for the image's systemd units (rootfs/)")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    if args.command == "run":
        from appliance.supervisor import Supervisor

        settings, lan = _settings(args), None
        if args.lab_lan:
            from netconfig.lablan import lab_lan_settings

            settings, lan = lab_lan_settings(settings, args.http_port is not None, args.sip_port is not None)
        return Supervisor(settings, lab_lan=lan).run()
    if args.command == "reset-admin-password":
        return _reset_admin_password(_settings(args))
    if args.command == "backup":
        from appliance.backup.cli import run as run_backup

        return run_backup(args, _settings(args))
    if args.command == "console":
        from serialconsole.cli import run as run_console

        return run_console(args, _settings(args))
    if args.command == "prompts":
        from appliance.sounds.library import build_system_prompts

        settings = _settings(args)
        settings.ensure_dirs()
        build_system_prompts(settings)
        print(f"system prompts in {settings.sounds_dir / 'system'}")
        return 0
    if args.command == "serve":
        return _serve(args.service, Settings.from_json(args.settings_json) if args.settings_json else _settings(args))
    return 2


def _reset_admin_password(settings: Settings) -> int:
    from appliance.auth.admin import reset_admin_password
    from appliance.store import open_store, secrets

    if not settings.db_path.exists():
        print(f"no appliance data in {settings.data_dir}: nothing to reset", file=sys.stderr)
        return 1
    open_store(settings)
    secrets.load_key(settings.secret_key_path)
    password = reset_admin_password()
    print(f"admin password: {password}")
    print("It is a one-time password: the next login must set a new one.")
    return 0


def _serve(service: str, settings: Settings) -> int:
    if service == "web":
        from webui.server import serve

        serve(settings)
    elif service == "callcore":
        from appliance.callcore.pool import run_pool

        run_pool(settings)
    elif service == "prepare":  # store, secrets, admin account, kamailio.cfg: before every other unit
        from appliance.supervisor import Supervisor

        password = Supervisor(settings).prepare()
        if password:
            print(f"admin password: {password} (one-time: log in as admin with it and choose your own)", flush=True)
    elif service == "kamailio-config":  # before each start of Kamailio, as the supervisor does
        from appliance.sipedge.config import render
        from appliance.store import open_store, secrets

        open_store(settings)
        secrets.load_key(settings.secret_key_path)
        try:
            render(settings)
        except Exception as exc:  # noqa: BLE001 -- Kamailio then starts with the last good one
            print(f"kamailio.cfg not rendered again, keeping the previous one: {exc}", file=sys.stderr)
            return 1
    else:  # kamailio: the supervisor's command line, exec'd (systemd watches Kamailio itself)
        import os

        from appliance.sipedge.process import kamailio_command

        argv = kamailio_command(settings)
        os.execvp(argv[0], argv)
    return 0


if __name__ == "__main__":
    sys.exit(main())
