"""rootfs/ (the image's systemd units and default files) and image/build.sh.

- every unit passes `systemd-analyze verify` (in a scratch root: the host's units, ours, stub executables);
- every command line that runs `/usr/bin/appliance` parses with the real parser of appliance/cli.py (a renamed
  subcommand or flag breaks this test), with the image's data folder;
- each child of the lab-mode supervisor has its unit running the same entry point;
- the serial menu is on ttyS0 at 19200 (getty masked), the SSH menu on port 22 (sshd masked);
- the default network, chrony and shaper files are what netconfig renders for the factory settings;
- image/build.sh is valid bash (and shellcheck-clean where shellcheck is installed).
"""

from __future__ import annotations

import contextlib
import io
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from appliance import cli, supervisor
from appliance.settings import Settings

REPO = Path(__file__).resolve().parents[2]
ROOTFS = REPO / "rootfs"
UNIT_DIR = ROOTFS / "usr/lib/systemd/system"
MASK_DIR = ROOTFS / "etc/systemd/system"
UNIT_SUFFIXES = (".service", ".timer", ".path", ".target", ".socket")
UNITS = sorted(p for p in UNIT_DIR.iterdir() if p.suffix in UNIT_SUFFIXES)
EXEC_KEYS = ("ExecStartPre", "ExecStart", "ExecStartPost", "ExecReload", "ExecStop", "ExecStopPost")
APPLIANCE = "/usr/bin/appliance"
DATA_DIR = "/var/lib/appliance"


def parse_unit(path: Path) -> dict[str, dict[str, list[str]]]:
    """{section: {key: [values in order]}} (keys may repeat; comments and blank lines skipped)."""
    sections: dict[str, dict[str, list[str]]] = {}
    current = None
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], {})
            continue
        assert current is not None, f"{path.name}: {line!r} outside a section"
        key, _, value = line.partition("=")
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


def exec_lines(path: Path) -> list[tuple[str, list[str]]]:
    """[(key, argv)] of every Exec*= line, the systemd prefixes (-@:+!) taken off."""
    out = []
    for key, values in parse_unit(path).get("Service", {}).items():
        if key in EXEC_KEYS:
            for value in values:
                argv = shlex.split(value)
                argv[0] = argv[0].lstrip("-@:+!")
                out.append((key, argv))
    return out


def parse_appliance(argv: list[str]):
    """argv (without /usr/bin/appliance) through the real parser; a failure names the unit's mistake."""
    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err):
            return cli.build_parser().parse_args(argv)
    except SystemExit:
        pytest.fail(f"appliance {' '.join(argv)}: refused by appliance/cli.py: {err.getvalue().strip().splitlines()[-1]}")


def appliance_commands() -> dict[str, list[tuple[str, object]]]:
    """{unit name: [(Exec key, parsed args)]} of every line running the appliance."""
    out: dict[str, list[tuple[str, object]]] = {}
    for unit in UNITS:
        for key, argv in exec_lines(unit):
            if argv[0] == APPLIANCE:
                out.setdefault(unit.name, []).append((key, parse_appliance(argv[1:])))
    return out


def test_the_units_are_there():
    names = {p.name for p in UNITS}
    assert {"appliance.target", "appliance-prepare.service", "appliance-kamailio.service",
            "appliance-callcore.service", "appliance-web.service", "appliance-console-serial.service",
            "appliance-console-ssh.service", "appliance-backup.service", "appliance-backup.timer"} <= names


def test_every_unit_passes_systemd_analyze_verify(tmp_path):
    root = tmp_path / "root"
    # the host's units (sysinit.target, multi-user.target, chrony.service, ...), then ours laid over
    shutil.copytree("/usr/lib/systemd/system", root / "usr/lib/systemd/system", symlinks=True)
    shutil.copytree(ROOTFS, root, symlinks=True, dirs_exist_ok=True)
    for unit in UNITS:  # stubs for the programs the units run (verify checks they are executable)
        for _, argv in exec_lines(unit):
            assert argv[0].startswith("/"), f"{unit.name}: {argv[0]} is not an absolute path"
            stub = root / argv[0].lstrip("/")
            stub.parent.mkdir(parents=True, exist_ok=True)
            stub.write_text("#!/bin/sh\n")
            stub.chmod(0o755)
    ours = [str(root / "usr/lib/systemd/system" / unit.name) for unit in UNITS]
    proc = subprocess.run(["systemd-analyze", "verify", "--man=no", "--generators=no", f"--root={root}", *ours],
                          capture_output=True, text=True, timeout=120)
    output = (proc.stdout + proc.stderr).strip()
    assert proc.returncode == 0 and output == "", output


def test_every_appliance_command_line_exists_in_the_cli():
    commands = appliance_commands()
    assert commands, "no unit runs the appliance"
    for unit, lines in commands.items():
        for key, args in lines:
            assert args.data_dir == DATA_DIR, f"{unit} {key}: --data-dir {args.data_dir}"
            assert args.image, f"{unit} {key}: without --image (lab mode settings on the image)"


def _units_running(command: str, service: str | None = None) -> list[str]:
    return [unit for unit, lines in appliance_commands().items() for key, args in lines
            if key == "ExecStart" and args.command == command
            and (service is None or getattr(args, "service", None) == service)]


def test_each_child_of_the_supervisor_has_its_unit_running_the_same_entry_point():
    sup = supervisor.Supervisor(Settings(data_dir=Path(DATA_DIR)))
    sup.build_children()
    assert [c.name for c in sup.children] == ["kamailio", "callcore", "web"]
    for child in sup.children:
        assert _units_running("serve", child.name) == [f"appliance-{child.name}.service"], child.name
    # Kamailio's config is rendered before each start (the supervisor's before_restart), then it runs itself
    kamailio = dict((key, args) for key, args in appliance_commands()["appliance-kamailio.service"])
    assert kamailio["ExecStartPre"].service == "kamailio-config"
    # prepare() once, before every other service that opens the store
    assert _units_running("serve", "prepare") == ["appliance-prepare.service"]
    for unit in UNITS:
        if unit.name in appliance_commands() and unit.name != "appliance-prepare.service":
            deps = parse_unit(unit)["Unit"]
            assert "appliance-prepare.service" in " ".join(deps.get("Requires", [])), unit.name
            assert "appliance-prepare.service" in " ".join(deps.get("After", [])), unit.name
    # the scheduled backup: the same command the supervisor starts when one is due, from a timer
    backup = appliance_commands()["appliance-backup.service"][0][1]
    assert (backup.command, backup.backup_command) == ("backup", "run-scheduled")
    assert (UNIT_DIR / "appliance-backup.timer").exists()


def test_the_target_wants_every_long_running_unit_and_restart_requests_name_real_units():
    wanted = " ".join(parse_unit(UNIT_DIR / "appliance.target")["Unit"]["Wants"]).split()
    started_by_others = {"appliance-backup.service", "appliance-chrony-reload.service", "appliance.target"}
    for unit in UNITS:
        if unit.name not in started_by_others:
            assert unit.name in wanted, f"appliance.target does not want {unit.name}"
    for name in wanted:
        assert (UNIT_DIR / name).exists() or Path("/usr/lib/systemd/system", name).exists(), name
    for name in supervisor.EDGE_UNITS + supervisor.ALL_UNITS:
        assert (UNIT_DIR / name).exists(), name
        assert "appliance.target" in parse_unit(UNIT_DIR / name)["Unit"]["PartOf"]
    # restarted forever, like the supervisor restarts its children
    for name in supervisor.ALL_UNITS:
        sections = parse_unit(UNIT_DIR / name)
        assert sections["Service"]["Restart"] == ["on-failure"]
        assert sections["Unit"]["StartLimitIntervalSec"] == ["0"]


def _masked(name: str) -> bool:
    path = MASK_DIR / name
    return path.is_symlink() and str(path.readlink()) == "/dev/null"


def test_serial_menu_on_ttys0_at_19200_and_ssh_menu_on_port_22():
    serial_units = _units_running("console")
    assert sorted(serial_units) == ["appliance-console-serial.service", "appliance-console-ssh.service"]
    serial = appliance_commands()["appliance-console-serial.service"][0][1]
    assert (serial.serial, serial.baud, serial.ssh_port) == ("/dev/ttyS0", 19200, None)
    assert serial.appliance_mode  # reboot and shut down really do
    unit = parse_unit(UNIT_DIR / "appliance-console-serial.service")["Unit"]
    assert unit["BindsTo"] == ["dev-ttyS0.device"]
    assert "serial-getty@ttyS0.service" in unit["Conflicts"]
    assert _masked("serial-getty@ttyS0.service")

    ssh = appliance_commands()["appliance-console-ssh.service"][0][1]
    # No --ssh-bind: the appliance's own address (LAN1's with --image), like the web UI: never the WAN.
    assert (ssh.ssh_port, ssh.ssh_bind, ssh.serial, ssh.image) == (22, None, None, True)
    assert ssh.appliance_mode
    assert _masked("ssh.service") and _masked("ssh.socket")
    # Debian's own Kamailio service (its packaged config on 5060) never starts beside ours
    assert _masked("kamailio.service")


def test_image_settings_are_not_lab_mode_and_listen_on_lan1(tmp_path):
    args = cli.build_parser().parse_args(["serve", "web", "--image", "--data-dir", str(tmp_path / "fresh")])
    settings = cli._settings(args)
    assert (settings.lab, settings.http_port, settings.bind, settings.sip_port) == (False, 80, "10.135.0.1", 5060)
    assert not (tmp_path / "fresh").exists()  # settings alone never create a store
    lab = cli._settings(cli.build_parser().parse_args(["serve", "web", "--data-dir", str(tmp_path / "lab")]))
    assert lab.lab


def test_image_settings_follow_lan1s_stored_address(store):
    from netconfig.models import NetInterface

    NetInterface.insert(name="eth1", mode="static", address="192.168.50.2/24", gateway="", dns="", mtu=1500,
                        vlan=None).on_conflict_replace().execute()
    args = cli.build_parser().parse_args(["console", "--ssh-port", "22", "--image", "--data-dir",
                                          str(store.data_dir)])
    assert cli._settings(args).bind == "192.168.50.2"


def test_lab_mode_run_refuses_the_image_settings():
    with pytest.raises(SystemExit) as exc, contextlib.redirect_stderr(io.StringIO()):
        cli.main(["run", "--image", "--data-dir", "/nonexistent"])
    assert exc.value.code == 2


def test_default_network_chrony_and_shaper_files_are_what_netconfig_renders(tmp_path):
    from netconfig import apply, plan, validation

    written = apply.write_persistent(tmp_path, validation.default_network(), plan.VoicePorts())
    for path in written:
        relative = path.relative_to(tmp_path)
        ours = ROOTFS / relative
        assert ours.exists(), f"rootfs/{relative} missing"
        assert ours.read_text() == path.read_text(), f"rootfs/{relative} differs from what netconfig renders"
    rendered = {p.relative_to(tmp_path) for p in written}
    ours_net = {p.relative_to(ROOTFS) for p in (ROOTFS / plan.NETWORKD_DIR).iterdir()}
    assert ours_net <= rendered
    chrony = (ROOTFS / plan.CHRONY_FILE).read_text().splitlines()
    assert "allow 10.135.0.0/24" in chrony and "local stratum 10" in chrony


def test_image_build_script_is_valid_bash():
    script = REPO / "image/build.sh"
    proc = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr
    if shutil.which("shellcheck"):
        proc = subprocess.run(["shellcheck", str(script)], capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0, proc.stdout
    text = script.read_text()
    assert "sync-in $repo/rootfs /" in text
    assert "RUN_DEBS" in text
