"""The console itself: boot menu, login, and the main menu, the same for RS-232 and SSH.

Main menu (entry 1 and 5 where the manuals put them for SSH):

   1  Call-core console (registrations, calls, trunks, reload, debug level)
   2  Network status
   3  Set LAN1 address                       admin
   4  Ping
   5  System log (last lines, then follow)
   6  Event log
   7  Services: status and restart            restart: admin
   8  Reboot                                  admin
   9  Shut down                               admin
  10  Shell                                   super admin (the built-in admin)
  11  My SSH public keys (this account's authorized keys)
   0  Log out
"""

from __future__ import annotations

import ipaddress
import logging
import time
from dataclasses import dataclass, field

from appliance.events.log import record
from appliance.settings import Settings
from serialconsole import callcore_console, logs, network, recovery, services
from serialconsole.menu import Entry, Menu, Session, needs_admin, needs_super_admin, run_menu
from serialconsole.system import SystemActions, run_pty
from serialconsole.terminal import Disconnected, Terminal

log = logging.getLogger(__name__)

BOOT_MENU_S = 5.0


@dataclass
class Console:
    """What every session of one console process shares."""

    settings: Settings
    system: SystemActions = field(default_factory=SystemActions)
    idle_timeout: float = 300.0
    boot_menu_s: float = BOOT_MENU_S


def banner(term: Terminal, console: Console) -> None:
    from appliance.system.models import get_system_settings

    try:
        name = get_system_settings().appliance_name
    except Exception:
        name = "PBX"
    term.say("")
    term.say(f"{name} - appliance console")


# -- main menu ---------------------------------------------------------------------------------

def main_menu() -> Menu:
    return Menu("Main menu", [
        Entry("1", "Call-core console (registrations, calls, trunks, reload, debug)", callcore_console.open_console),
        Entry("2", "Network status", network_status),
        Entry("3", "Set LAN1 address", set_lan1, needs_admin),
        Entry("4", "Ping", ping),
        Entry("5", "System log (last lines, then follow)", logs.follow),
        Entry("6", "Event log", logs.events),
        Entry("7", "Services: status and restart", services_menu),
        Entry("8", "Reboot", reboot, needs_admin),
        Entry("9", "Shut down", shutdown, needs_admin),
        Entry("10", "Shell (super admin only)", shell, needs_super_admin),
        Entry("11", "My SSH public keys", ssh_keys),
    ])


def ssh_keys(session: Session) -> None:
    """List, add and remove the public keys this account logs in with over SSH."""
    from appliance.errors import ValidationError
    from serialconsole import keys

    term = session.term
    while True:
        lines = keys.keys_of(session.login)
        term.say(f"SSH public keys of {session.login}: {len(lines)}")
        for number, line in enumerate(lines, 1):
            kind, blob, comment = (line.split(None, 2) + ["", ""])[:3]
            term.say(f"{number:>3}  {kind} ...{blob[-16:]} {comment}"[: term.width])
        choice = term.read_line("a: add a key, d N: delete key N, Enter: back: ")
        if not choice:
            return
        if choice == "a":
            line = term.read_line("Paste the public key (one line): ", max_length=8192)
            if not line:
                continue
            try:
                keys.set_keys(session.login, "\n".join(lines + [line]))
            except ValidationError as exc:
                term.say(f"Not added: {exc.message}.")
                continue
            term.say("Key added.")
        elif choice.startswith("d") and choice[1:].strip().isdecimal():
            number = int(choice[1:].strip())
            if not 1 <= number <= len(lines):
                term.say(f"No key {number}.")
                continue
            keys.set_keys(session.login, "\n".join(lines[: number - 1] + lines[number:]))
            term.say(f"Key {number} removed.")
        else:
            term.say("Type a, d followed by a number, or press Enter.")


def network_status(session: Session) -> None:
    term = session.term
    lan = network.lan1()
    address = lan["address"] if lan["mode"] == "static" else lan["mode"]
    term.say(f"LAN1 (eth1) configured: {address}   scenario: {lan['scenario']}")
    if lan["revision"] > 1 and lan["applied_revision"] < lan["revision"]:
        term.say("The stored network settings have not been applied and confirmed live yet "
                 "(netconfig applies them with a 60 s confirmation window).")
    lab = session.context.system.lab
    term.say("")
    term.say("Interfaces of this machine" + (" (lab mode: read-only, not managed)" if lab else "") + ":")
    term.table(("name", "state", "addresses", "speed"), network.host_interfaces())


def set_lan1(session: Session) -> None:
    from appliance.errors import ApplianceError, ValidationError

    term = session.term
    lan = network.lan1()
    current = lan["address"] if lan["mode"] == "static" else lan["mode"]
    term.say(f"LAN1 is {current}. Give the new address with its prefix length.")
    address = term.ask("New LAN1 address (e.g. 10.135.0.1/24, Enter cancels): ", network.parse_lan_address)
    if address is None:
        term.say("Nothing changed.")
        return
    if address == current:
        term.say(f"LAN1 already is {address}: nothing to change.")
        return
    if not term.confirm("yes", f"LAN1 will change from {current} to {address}. Phones and browsers on LAN1 "
                               "must then use the new address."):
        return
    try:
        network.store_lan1(address)
    except ValidationError as exc:
        term.say(f"Not saved: {exc.field}: {exc.message}.")
        return
    except ApplianceError as exc:
        term.say(f"Not saved: {exc}.")
        return
    record("console.network_changed", "eth1", f"LAN1 set to {address} (was {current}) by {session.login} on "
           f"the {session.transport} console", by=session.login, via=session.transport, address=address)
    term.say(f"Saved: LAN1 -> {address}.")
    term.say("Applying it is netconfig's job: it sets the address live, then keeps it only if it is "
             f"confirmed from the new address within {network.ROLLBACK_S} s, else the previous address comes "
             "back (web UI: Settings > Network).")
    if session.context.system.lab:
        term.say("Lab mode: this machine's interfaces are not touched.")


def parse_ping_target(text: str) -> str:
    try:
        return str(ipaddress.ip_address(text.strip()))
    except ValueError:
        raise ValueError(f"{text.strip()[:40]!r} is not an IP address (e.g. 127.0.0.1)") from None


def ping(session: Session) -> None:
    term = session.term
    answer = term.read_line("Address to ping [127.0.0.1]: ")
    try:
        target = parse_ping_target(answer or "127.0.0.1")
    except ValueError as exc:
        term.say(str(exc))
        return
    for line in session.context.system.ping(target):
        term.say(line)


def services_menu(session: Session) -> None:
    term = session.term
    settings = session.context.settings
    while True:
        rows = services.status(settings)
        term.table(("#", "service", "state", "pid", "up", "memory", "detail"),
                   [(i, r["name"], r["state"], r["pid"] or "", _duration(r["uptime"]),
                     f"{r['rss'] // (1024 * 1024)} MiB" if r["rss"] else "", r["detail"])
                    for i, r in enumerate(rows, 1)])
        if not session.is_admin:
            return
        choice = term.read_line("Restart which service (number, Enter: back)? ")
        if not choice:
            return
        if not choice.isdecimal() or not 1 <= int(choice) <= len(rows):
            term.say(f"No service {choice[:10]!r}.")
            continue
        name = rows[int(choice) - 1]["name"]
        if not term.confirm("restart", f"Restarting {name} interrupts what it serves"
                            + (" (calls in progress end)." if name in ("kamailio", "callcore") else ".")):
            continue
        try:
            term.say(services.restart(settings, name))
        except services.RestartFailed as exc:
            term.say(f"Not restarted: {exc}.")


def _duration(seconds: int | None) -> str:
    if seconds is None:
        return ""
    days, rest = divmod(int(seconds), 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{days}d{hours:02d}h" if days else f"{hours}:{minutes:02d}:{secs:02d}"


def reboot(session: Session) -> None:
    if session.term.confirm("REBOOT", "The appliance will restart: calls in progress end."):
        session.term.say(session.context.system.reboot())


def shutdown(session: Session) -> None:
    if session.term.confirm("SHUTDOWN", "The appliance will power off: nothing works until someone powers "
                                        "it on again."):
        session.term.say(session.context.system.shutdown())


def shell(session: Session) -> None:
    """A real shell on a pseudo-terminal; the transport may give a relay of its own (SSH: window size)."""
    term = session.term
    relay = session.data.get("shell_relay")
    term.say("Shell: type exit to come back to the menu.")
    if relay is not None:
        relay(session.context.system.shell_argv())
    else:
        run_pty(session.context.system.shell_argv(), term.transport_read, term.write_raw)
    term.say("")
    term.say("Back to the console menu.")


# -- sessions ----------------------------------------------------------------------------------

def boot_menu(term: Terminal, console: Console) -> None:
    """The first seconds on the serial port: reset the admin password, recover the system, or go on."""
    banner(term, console)
    term.say("Boot menu")
    term.say("  1  Reset admin password")
    term.say("  2  Recover system (factory reset of the configuration)")
    term.say(f"Press 1 or 2 within {console.boot_menu_s:.0f} s; anything else continues.")
    key = term.poll_key(console.boot_menu_s)
    if key is None:
        term.say("Continuing.")
        return
    key = key.decode("ascii", "replace")
    term.say(key if key.isprintable() else "")
    if key == "1":
        _boot_reset_password(term, console)
    elif key == "2":
        _boot_recover(term, console)
    else:
        term.say("Continuing.")


def _boot_reset_password(term: Terminal, console: Console) -> None:
    if not term.confirm("yes", "Reset the password of the admin account? It gets a new one-time password, "
                               "shown here only."):
        return
    password = recovery.reset_admin_password(console.settings)
    record("console.admin_password_reset", "admin", "admin password reset from the serial boot menu (one-time "
           "password, to be changed at the next login)", via="serial")
    term.say(f"New one-time password for admin: {password}")
    term.say("Log in with it; you must choose your own password at once.")


def _boot_recover(term: Terminal, console: Console) -> None:
    if not term.confirm("RECOVER", "Recover system: the whole configuration (users, trunks, dialplan, "
                                   "settings) goes back to factory defaults. A backup of the current "
                                   "configuration is kept in the backups folder first."):
        return
    passphrase = None
    if recovery.backup_package_available():
        passphrase = _ask_passphrase(term)
        if passphrase is None:
            term.say("Cancelled: nothing was changed.")
            return
    term.say("Keeping a backup of the configuration...")
    try:
        backup, how, password = recovery.factory_reset(console.settings, passphrase)
    except Exception as exc:
        log.exception("recovery failed")
        term.say(f"The backup could not be made ({exc}); nothing was erased.")
        return
    record("console.system_recovered", "", "configuration reset to factory defaults from the serial boot menu; "
           f"backup kept: {backup.name}", via="serial", backup=str(backup))
    term.say(f"Backup kept ({how}):")
    term.say(f"  {backup}")
    term.say("The configuration is back to factory defaults.")
    term.say(f"New one-time password for admin: {password}")
    if backup.is_file():
        term.say("To restore the old configuration: web UI Settings > Backup, or `appliance backup "
                 "restore` with the file above.")


def _ask_passphrase(term: Terminal) -> str | None:
    """The passphrase that encrypts the backup kept before a recovery (it holds every secret)."""
    from appliance.backup.container import MIN_PASSPHRASE

    term.say("The backup holds the passwords and keys: it is encrypted with a passphrase.")
    term.say("Keep it: restoring the backup asks for it.")
    for _ in range(3):
        first = term.read_line(f"Backup passphrase ({MIN_PASSPHRASE}+ characters, Enter cancels): ", echo=False)
        if not first:
            return None
        if len(first) < MIN_PASSPHRASE:
            term.say(f"At least {MIN_PASSPHRASE} characters.")
            continue
        if term.read_line("The same passphrase again: ", echo=False) != first:
            term.say("The two passphrases differ.")
            continue
        return first
    return None


def login_and_menu(term: Terminal, console: Console, transport: str, source: str) -> bool:
    """One login, then the main menu until the user logs out; False when no one got in."""
    from serialconsole.auth import login_prompt

    user = login_prompt(term, source)
    if user is None:
        return False
    session = Session(term=term, login=user.login, role=user.role, transport=transport, source=source,
                      context=console)
    term.say(f"Welcome, {user.login}.")
    run_menu(main_menu(), session)
    term.say("Logged out.")
    return True


def serial_loop(term: Terminal, console: Console, device: str, boot: bool = True) -> None:
    """The serial port's life: the boot menu once, then login and menu forever."""
    if boot:
        try:
            boot_menu(term, console)
        except Disconnected:
            pass
    while True:
        try:
            banner(term, console)
            login_and_menu(term, console, "serial", f"serial:{device}")
        except Disconnected:
            try:
                term.say("")
                term.say("Session closed (idle or disconnected).")
            except Disconnected:
                pass
            time.sleep(1.0)  # a port that is gone must not make this loop spin
        except Exception:
            log.exception("serial console error")
            time.sleep(1.0)
