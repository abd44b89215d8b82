"""Console logins: the web login's rules, not a second set.

Credentials are checked by `appliance.auth.account.authenticate`, so the
console shares the web login's brute-force lockout (the `auth_failure` table,
counted per source: an SSH client is known by its IP address like a browser,
so failures on the web and over SSH from one address add up; the serial port
is the source `serial:<device>`). Who may use the consoles: accounts with the
admin or technician role (technicians get the read-only entries). The super
admin, the only account allowed a shell, is the built-in `admin` account.
"""

from __future__ import annotations

from appliance.auth.account import BadCredentials, LoginThrottled, authenticate, change_password
from appliance.auth.admin import ADMIN_LOGIN
from appliance.errors import ValidationError
from serialconsole.terminal import Terminal

CONSOLE_ROLES = ("admin", "technician")
LOGIN_ATTEMPTS = 3  # per prompt round; the lockout itself is the shared throttle


class ConsoleRefused(Exception):
    """Valid credentials, but this account may not use the console."""


def is_super_admin(login: str) -> bool:
    return login == ADMIN_LOGIN


def check_credentials(login: str, password: str, source: str):
    """The user if these credentials may open a console; raises LoginThrottled, BadCredentials, ConsoleRefused."""
    try:
        user = authenticate(login, password, source)
    finally:
        release_memory()
    if user.role not in CONSOLE_ROLES:
        raise ConsoleRefused(f"the account {login!r} may not use the console")
    return user


def login_prompt(term: Terminal, source: str):
    """Ask for a login and password until they are right; returns the user, None after LOGIN_ATTEMPTS failures."""
    for _ in range(LOGIN_ATTEMPTS):
        login = term.read_line("login: ")
        if not login:
            continue
        password = term.read_line("Password: ", echo=False)
        try:
            user = check_credentials(login, password, source)
        except LoginThrottled:
            term.say("Too many failed logins: this console is locked for a few minutes.")
            return None
        except BadCredentials:
            term.say("Login incorrect.")
            continue
        except ConsoleRefused as exc:
            term.say(f"Refused: {exc}.")
            continue
        if user.must_change_password and not forced_password_change(term, user.login, password, source):
            return None
        return user
    return None


def forced_password_change(term: Terminal, login: str, current: str, source: str) -> bool:
    """A one-time password must be replaced before anything else; True once it is."""
    term.say("You logged in with a one-time password: choose your own now.")
    term.say("(12 characters or more, upper and lower case letters and a digit)")
    for _ in range(3):
        new = term.read_line("New password: ", echo=False)
        again = term.read_line("New password again: ", echo=False)
        if new != again:
            term.say("The two passwords differ.")
            continue
        try:
            change_password(login, current, new, source)
        except ValidationError as exc:
            term.say(f"Not accepted: the password {exc.message}.")
            continue
        except (LoginThrottled, BadCredentials):
            term.say("Your password could not be checked again; log in once more.")
            return False
        term.say("Password changed.")
        return True
    term.say("The password was not changed: log in again.")
    return False


def release_memory() -> None:
    """Give the scrypt work area (16 MiB, N=2^14 r=8) back to the system after a password check.

    glibc keeps it in the checking thread's malloc arena otherwise: measured, an idle SSH console
    with one session held ~16 MiB more until trimmed (benchmarks/console.py)."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass
