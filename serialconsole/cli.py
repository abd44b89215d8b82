"""`appliance console`: the RS-232 menu, the SSH menu, or both in one process.

    appliance console --serial /dev/ttyS0 [--baud 19200]
    appliance console --ssh-port 22 [--ssh-bind ADDRESS]
    appliance console --serial /dev/ttyS0 --ssh-port 22

Like every subcommand it takes --data-dir. `appliance.cli` only adds the
parser (`add_parser`) and hands over (`run`).
"""

from __future__ import annotations

import argparse
import sys
import threading

from appliance.settings import Settings


def add_parser(sub, common: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser = sub.add_parser("console", parents=[common],
                            help="serial (RS-232) and/or SSH console menu")
    parser.add_argument("--serial", metavar="DEVICE", help="serial port of the RS-232 menu, e.g. /dev/ttyS0")
    parser.add_argument("--baud", type=int, default=19200, help="serial speed (default 19200, 8N1)")
    parser.add_argument("--ssh-port", type=int, metavar="N", help="serve the SSH menu on this port (22 on the image)")
    parser.add_argument("--ssh-bind", help="address of the SSH menu (default: the appliance's address, 127.0.0.1 "
                        "in lab mode, LAN1's with --image)")
    parser.add_argument("--kamailio-rpc-port", type=int,
                        help="the SIP edge's JSON-RPC port on loopback, as given to appliance run (default 5090)")
    parser.add_argument("--no-boot-menu", action="store_true", help="serial: go straight to the login prompt")
    parser.add_argument("--boot-menu-seconds", type=float, default=5.0, help=argparse.SUPPRESS)
    parser.add_argument("--idle-timeout", type=float, default=300.0, help="seconds without input before a "
                        "session ends (default 300)")
    parser.add_argument("--appliance-mode", action="store_true",
                        help="reboot and shut down really do (the image); default: lab mode, they only say so")
    return parser


def run(args: argparse.Namespace, settings: Settings) -> int:
    if not args.serial and not args.ssh_port:
        print("appliance console: give --serial DEVICE and/or --ssh-port N", file=sys.stderr)
        return 2
    if args.baud not in (1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200):
        print(f"appliance console: unsupported speed {args.baud}", file=sys.stderr)
        return 2
    if args.ssh_port is not None and not 0 <= args.ssh_port <= 65535:
        print(f"appliance console: {args.ssh_port} is not a port number", file=sys.stderr)
        return 2
    from appliance.store import open_store, secrets
    from serialconsole.app import Console
    from serialconsole.system import SystemActions

    if not settings.db_path.exists():
        print(f"appliance console: no appliance data in {settings.data_dir}", file=sys.stderr)
        return 1
    open_store(settings)
    secrets.load_key(settings.secret_key_path)
    console = Console(settings=settings, system=SystemActions(lab=not args.appliance_mode),
                      idle_timeout=args.idle_timeout, boot_menu_s=args.boot_menu_seconds)
    ssh_server = None
    if args.ssh_port is not None:
        from serialconsole.ssh import SshConsole

        ssh_bind = args.ssh_bind or settings.bind
        ssh_server = SshConsole(console, args.ssh_port, ssh_bind).listen()
        print(f"SSH console on {ssh_bind}:{ssh_server.port}", flush=True)
        if not args.serial:
            try:
                ssh_server.serve_forever()
            except KeyboardInterrupt:
                pass
            return 0
        threading.Thread(target=ssh_server.serve_forever, daemon=True, name="ssh-console").start()
    from serialconsole import serial_port

    print(f"serial console on {args.serial} at {args.baud} 8N1", flush=True)
    try:
        return serial_port.run(console, args.serial, args.baud, boot=not args.no_boot_menu)
    except KeyboardInterrupt:
        return 0
    except OSError as exc:
        print(f"appliance console: cannot open {args.serial}: {exc}", file=sys.stderr)
        return 1
    finally:
        if ssh_server is not None:
            ssh_server.stop()
