"""Outgoing e-mail: SMTP client profiles, the mail settings (admin alert address), the outgoing queue
and its background sender.

Modules:
- models   -- MailProfile, MailSettings, MailQueue (schema V10).
- profiles -- the service layer: validated CRUD of profiles, the mail settings, the "send test email" action.
- smtp     -- one SMTP conversation with a profile (stdlib smtplib), every failure classified (never raises).
- outbox   -- THE API other code uses: `queue(...)`, `status(...)`, `find(...)` (contract in its docstring).
- sender   -- the background sender (a thread of the web server process) that delivers the queue with backoff.
- alerts   -- event e-mails to the admin (called by appliance.events.log.notify_admin).
"""
