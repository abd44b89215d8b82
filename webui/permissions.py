"""Who may do what in the web UI and the API: the one table every route is checked against.

Every route declares the permission it needs (`perm=...` in its route
config) or `public=True`; a route with neither is refused to everyone
(see webui.auth), so forgetting a check fails closed.

| permission         | admin | technician | user | what it covers                                   |
|--------------------|:-----:|:----------:|:----:|--------------------------------------------------|
| account.self       |   x   |     x      |  x   | change one's own password, log out               |
| portal.view        |   x   |     x      |  x   | the user portal (a stub for now)                 |
| status.view        |   x   |     x      |      | status strip, /api/v1/status                     |
| users.read         |   x   |     x      |      | list/search users, registration status           |
| users.manage       |   x   |            |      | add, edit, delete users, set SIP/web passwords   |
| users.reveal_sip   |   x   |            |      | show a user's SIP password                       |
| calls.read         |   x   |     x      |      | calls in progress, call history, CSV export      |
| bans.read          |   x   |     x      |      | banned IPs                                       |
| bans.manage        |   x   |     x      |      | unban an IP                                      |
| settings.read      |   x   |     x      |      | system and security settings (read-only page)    |
| settings.manage    |   x   |            |      | change the system and security settings          |
| dialplan.read      |   x   |     x      |      | procedures, time ranges, groups, IVRs, sounds,   |
|                    |       |            |      | switches and the call debug trace (read-only)    |
| dialplan.manage    |   x   |            |      | change any of them, upload/record/delete sounds  |
| switches.toggle    |   x   |     x      |      | flip a switch (night mode...) from the UI/API    |
| fraud.read         |   x   |     x      |      | toll-fraud settings, blocked state, fraud events |
| fraud.manage       |   x   |            |      | change the toll-fraud settings, unlock outbound  |
| events.read        |   x   |     x      |      | the event log (trunks, bans, emergency, fraud)   |
| recordings.read    |   x   |            |      | list, play and download call recordings         |
| recordings.manage  |   x   |            |      | recording settings, delete recordings            |
| trunks.read        |   x   |     x      |      | trunks, inbound numbers, trunk groups, price     |
|                    |       |            |      | lists (read-only)                                |
| trunks.manage      |   x   |            |      | change any of them, import price lists           |
| mail.read          |   x   |     x      |      | SMTP profiles (no password), alert address, the  |
|                    |       |            |      | outgoing mail queue                              |
| mail.manage        |   x   |            |      | change profiles and the alert address, send a    |
|                    |       |            |      | test email, retry a queued mail                  |
| voicemail.read     |   x   |     x      |      | every voicemail box: settings, counts, usage     |
| voicemail.manage   |   x   |            |      | change any box, shared boxes, delete boxes and   |
|                    |       |            |      | messages (a user manages their own box through   |
|                    |       |            |      | portal.view, and never sees another's)           |
| devices.read       |   x   |     x      |      | phones found or added, their status, firmware    |
| devices.manage     |   x   |     x      |      | add, assign to a user, re-provision, reboot,     |
|                    |       |            |      | reset provisioning password, delete, auto-add    |
| backup.manage      |   x   |            |      | generate, download, upload, inspect and restore  |
|                    |       |            |      | backups; the support bundle                      |
| storage.read       |   x   |     x      |      | USB storage: devices, file systems, usage, where |
|                    |       |            |      | each kind of data lives, SMB/NFS shares          |
| storage.manage     |   x   |            |      | initialize a device, move data, shares (test)    |
| health.read        |   x   |     x      |      | system health: CPU, memory, disk, services, ports|
| health.manage      |   x   |     x      |      | restart a service from the Info page             |
| network.read       |   x   |     x      |      | network settings, DHCP server settings, leases   |
| network.manage     |   x   |            |      | apply/confirm network settings, change DHCP      |

Why: a technician installs and troubleshoots phones, so sees users,
registrations, calls and bans and may lift a ban (a phone locked out by a
typo), but does not create or delete accounts, read SIP secrets or change
the system settings (the SIP domain re-keys every phone); that is the
administrator's job. Likewise a technician reads the dialplan and its debug
trace to find why a call went where it did, and may flip a switch (day/night)
as a receptionist would from a phone, but routing is the administrator's.
A technician reads the event log and why calls were refused as fraud, but
the toll-fraud limits and unlocking outbound (which lets money be spent)
are the administrator's.
Plain users only get their portal.
"""

from __future__ import annotations

from appliance.users.models import Role

ADMIN, TECHNICIAN, USER = Role.ADMIN.value, Role.TECHNICIAN.value, Role.USER.value

PERMISSIONS: dict[str, frozenset[str]] = {
    "account.self": frozenset({ADMIN, TECHNICIAN, USER}),
    "portal.view": frozenset({ADMIN, TECHNICIAN, USER}),
    "status.view": frozenset({ADMIN, TECHNICIAN}),
    "users.read": frozenset({ADMIN, TECHNICIAN}),
    "users.manage": frozenset({ADMIN}),
    "users.reveal_sip": frozenset({ADMIN}),
    "calls.read": frozenset({ADMIN, TECHNICIAN}),
    "bans.read": frozenset({ADMIN, TECHNICIAN}),
    "bans.manage": frozenset({ADMIN, TECHNICIAN}),
    "settings.read": frozenset({ADMIN, TECHNICIAN}),
    "settings.manage": frozenset({ADMIN}),
    "dialplan.read": frozenset({ADMIN, TECHNICIAN}),
    "dialplan.manage": frozenset({ADMIN}),
    "switches.toggle": frozenset({ADMIN, TECHNICIAN}),
    "trunks.read": frozenset({ADMIN, TECHNICIAN}),
    "trunks.manage": frozenset({ADMIN}),
    "fraud.read": frozenset({ADMIN, TECHNICIAN}),
    "fraud.manage": frozenset({ADMIN}),
    "events.read": frozenset({ADMIN, TECHNICIAN}),
    "mail.read": frozenset({ADMIN, TECHNICIAN}),
    "mail.manage": frozenset({ADMIN}),
    "recordings.read": frozenset({ADMIN}),
    "recordings.manage": frozenset({ADMIN}),
    "voicemail.read": frozenset({ADMIN, TECHNICIAN}),
    "voicemail.manage": frozenset({ADMIN}),
    "devices.read": frozenset({ADMIN, TECHNICIAN}),
    "devices.manage": frozenset({ADMIN, TECHNICIAN}),
    "backup.manage": frozenset({ADMIN}),
    "storage.read": frozenset({ADMIN, TECHNICIAN}),
    "storage.manage": frozenset({ADMIN}),
    "health.read": frozenset({ADMIN, TECHNICIAN}),
    "health.manage": frozenset({ADMIN, TECHNICIAN}),
    "network.read": frozenset({ADMIN, TECHNICIAN}),
    "network.manage": frozenset({ADMIN}),
}


def allowed(role: str | None, permission: str) -> bool:
    """True if `role` holds `permission`; unknown permissions are held by nobody."""
    return role is not None and role in PERMISSIONS.get(permission, frozenset())


def home_for(role: str) -> str:
    """Where a user lands after logging in."""
    return "/users" if allowed(role, "users.read") else "/portal"
