"""`appliance backup create|inspect|restore|support-bundle`: scripts and technicians.

Exit status 0 when done, 1 when refused (the reason on stderr, nothing changed), 2 for bad usage.
Passphrases never on the command line (other users see it in `ps`): `--passphrase-file FILE`
(first line; "-" reads standard input), else the APPLIANCE_BACKUP_PASSPHRASE environment variable,
else a prompt when a terminal is attached.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from pathlib import Path

from appliance.backup import archive, bundle
from appliance.backup.errors import BackupRefused
from appliance.settings import Settings

PASSPHRASE_ENV = "APPLIANCE_BACKUP_PASSPHRASE"


def add_parser(sub, common: argparse.ArgumentParser) -> None:
    backup = sub.add_parser("backup", parents=[common], help="back up, inspect and restore the configuration")
    actions = backup.add_subparsers(dest="backup_command", required=True)
    secret = argparse.ArgumentParser(add_help=False)
    secret.add_argument("--passphrase-file", metavar="FILE",
                        help=f"read the passphrase from FILE's first line ('-': standard input); "
                             f"else ${PASSPHRASE_ENV}, else a prompt")

    create = actions.add_parser("create", parents=[common, secret], help="write a backup archive")
    create.add_argument("--output", "-o", required=True, metavar="FILE", help="the archive to write ('-': stdout)")
    for part in archive.OPTIONAL_PARTS:
        create.add_argument(f"--{part}", action="store_true", help=f"include the {part}")
    create.add_argument("--all", action="store_true", help="include every optional part")
    create.add_argument("--no-secrets", action="store_true",
                        help="leave out the secret key and every password, hash and PIN (no passphrase needed)")

    inspect = actions.add_parser("inspect", parents=[common, secret], help="say what an archive holds")
    inspect.add_argument("file", metavar="FILE")
    inspect.add_argument("--quick", action="store_true", help="read the manifest only (no full verification)")
    inspect.add_argument("--json", action="store_true", help="print JSON")

    restore = actions.add_parser("restore", parents=[common, secret],
                                 help="replace the configuration with an archive's (verified first)")
    restore.add_argument("file", metavar="FILE")
    restore.add_argument("--json", action="store_true", help="print JSON")

    scheduled = actions.add_parser("run-scheduled", parents=[common],
                                   help="make the scheduled backup if it is due (the supervisor or a timer runs it)")
    scheduled.add_argument("--force", action="store_true", help="make it now even if it is not due")

    support = actions.add_parser("support-bundle", parents=[common],
                                 help="configuration and logs with every secret removed (tar.gz)")
    support.add_argument("--output", "-o", required=True, metavar="FILE")


def read_passphrase(args: argparse.Namespace, confirm: bool = False) -> str | None:
    if args.passphrase_file:
        if args.passphrase_file == "-":
            return sys.stdin.readline().rstrip("\r\n")
        try:
            text = Path(args.passphrase_file).read_text()
        except OSError as exc:
            raise BackupRefused("invalid", f"cannot read the passphrase file: {exc.strerror}") from None
        return text.splitlines()[0] if text.strip("\r\n") else ""
    if os.environ.get(PASSPHRASE_ENV):
        return os.environ[PASSPHRASE_ENV]
    if sys.stdin.isatty():
        first = getpass.getpass("Passphrase: ")
        if confirm and getpass.getpass("Passphrase again: ") != first:
            raise BackupRefused("invalid", "the two passphrases differ")
        return first
    return None


def _open_store(settings: Settings) -> None:
    """Open the store when there is one: where voicemail and recordings live is kept in it (storage.placement)."""
    from appliance.errors import ApplianceError
    from appliance.store import open_store

    if settings.db_path.exists():
        try:
            open_store(settings)
        except (ApplianceError, OSError) as exc:  # a newer or damaged store: the default folders
            print(f"note: the store cannot be opened ({exc}): default folders assumed", file=sys.stderr)


def run(args: argparse.Namespace, settings: Settings) -> int:
    if args.backup_command in ("create", "restore", "support-bundle"):
        _open_store(settings)
    if args.backup_command == "run-scheduled":
        return _run_scheduled(args, settings)
    try:
        if args.backup_command == "create":
            return _create(args, settings)
        if args.backup_command == "inspect":
            return _inspect(args)
        if args.backup_command == "restore":
            return _restore(args, settings)
        if args.backup_command == "support-bundle":
            return _write(args.output, lambda out: bundle.support_bundle(settings, out), "support bundle")
    except BackupRefused as exc:
        print(f"refused ({exc.reason}): {exc.message}", file=sys.stderr)
        return 1
    return 2


def _write(output: str, make, what: str) -> int:
    """Write to a temporary name beside `output`, renamed into place only when complete."""
    if output == "-":
        result = make(sys.stdout.buffer)
        sys.stdout.buffer.flush()
        return 0
    target = Path(output)
    partial = target.with_name(f".{target.name}.partial")
    try:
        with open(partial, "wb") as out:
            result = make(out)
            out.flush()
            os.fsync(out.fileno())
        os.replace(partial, target)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise BackupRefused("storage", f"cannot write {target}: {exc.strerror}") from None
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    size = target.stat().st_size
    print(f"{what} written: {target} ({size:,} bytes)", file=sys.stderr)
    if hasattr(result, "missing") and result.missing:
        print(f"note: {len(result.missing)} file(s) deleted while the backup ran were left out", file=sys.stderr)
    return 0


def _create(args: argparse.Namespace, settings: Settings) -> int:
    parts = list(archive.OPTIONAL_PARTS) if args.all else [p for p in archive.OPTIONAL_PARTS if getattr(args, p)]
    secrets = not args.no_secrets
    passphrase = read_passphrase(args, confirm=True) if secrets or args.passphrase_file else None
    if not settings.db_path.exists():
        raise BackupRefused("invalid", f"no appliance data in {settings.data_dir}")
    return _write(args.output, lambda out: archive.create_backup(settings, out, parts, passphrase, secrets),
                  "backup")


def _needs_passphrase(path: str) -> bool:
    from appliance.backup.container import read_header

    with archive.opened(path) as f:
        return read_header(f)["encrypted"]


def _inspect(args: argparse.Namespace) -> int:
    passphrase = read_passphrase(args) if _needs_passphrase(args.file) else None
    with archive.opened(args.file) as f:
        info = archive.inspect_archive(f, passphrase, verify=not args.quick)
    if args.json:
        print(json.dumps(info, indent=1))
    else:
        print("\n".join(format_info(info)))
    return 0


def format_info(info: dict) -> list[str]:
    summary = info.get("summary") or {}
    lines = [
        f"created at:      {info['created_at']}",
        f"software:        {info['app_version']} (schema {info['schema_version']}; this appliance: "
        f"{info['software_schema_version']}{', will be migrated' if info['migrates'] else ''})",
        f"appliance:       {summary.get('appliance_name', '?')} ({summary.get('sip_domain', '?')})",
        f"parts:           {', '.join(info['parts'])}",
        f"secrets:         {'included (encrypted archive)' if info['secrets'] else 'not included'}",
        "contents:        " + ", ".join(f"{summary.get(k, 0)} {k.replace('_', ' ')}" for k in (
            "users", "trunks", "inbound_numbers", "procedures", "sounds", "voicemail_boxes", "voicemail_messages",
            "recordings", "calls")),
    ]
    if info.get("verified"):
        files = info.get("files") or {}
        lines.append("files:           " + ", ".join(f"{p} {v['files']} ({v['bytes']:,} bytes)"
                                                     for p, v in sorted(files.items())))
        lines.append("verified:        every checksum matches")
    else:
        lines.append("verified:        no (manifest only)")
    return lines


def _restore(args: argparse.Namespace, settings: Settings) -> int:
    from appliance.backup.restore import restore_backup
    from appliance.supervisor import request_full_restart

    passphrase = read_passphrase(args) if _needs_passphrase(args.file) else None
    with archive.opened(args.file) as f:
        result = restore_backup(settings, f, passphrase)
    restarted = request_full_restart(settings)
    public = result.to_public()
    public["restarted"] = restarted
    if args.json:
        print(json.dumps(public, indent=1))
        return 0
    print(f"restored the backup of {public['created_at']} (software {public['app_version']})")
    if result.migrated_from is not None:
        print(f"migrated from schema {result.migrated_from} to {archive.software_schema_version()}")
    print("now: " + ", ".join(f"{result.summary.get(k, 0)} {k.replace('_', ' ')}"
                              for k in ("users", "trunks", "sounds", "voicemail_messages", "recordings", "calls")))
    if result.previous:
        print(f"the previous configuration is kept in {result.previous}")
    for warning in result.warnings:
        print(f"warning: {warning}")
    services = ", ".join(result.restart)
    if restarted:
        print(f"restarting: {services} (the running appliance was asked to restart them)")
    else:
        print(f"must restart: {services} (start the appliance: appliance run, or its services on the image)")
    return 0


def _run_scheduled(args: argparse.Namespace, settings: Settings) -> int:
    from appliance.backup import schedule
    from appliance.store import open_store, secrets

    if not settings.db_path.exists():
        print(f"no appliance data in {settings.data_dir}", file=sys.stderr)
        return 1
    open_store(settings)
    secrets.load_key(settings.secret_key_path)
    outcome = schedule.run_due(settings, force=args.force)
    if outcome is None:
        print("no scheduled backup is due")
        return 0
    if outcome["status"] == "busy":  # another run holds the lock: nothing failed (the timer comes back)
        print(outcome["message"])
        return 0
    print(f"scheduled backup {outcome['status']}: {outcome['message']}")
    return 0 if outcome["status"] == "ok" else 1
