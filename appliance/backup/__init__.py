"""Backup and restore of the appliance, and the support bundle.

One archive format (`appliance.backup.archive`): a tar stream, written and read in one pass
(tarfile "w|" / "r|"), inside a framed container (`appliance.backup.container`) that makes
truncation and any flipped byte detectable and, when the archive holds secrets, encrypts it
(scrypt-derived key, AES-256-GCM per 1 MiB frame). The tar's first member is `manifest.json`
(format version, schema version = len(MIGRATIONS), app version, created at, parts, summary
counts, the config files' SHA-256), its last `manifest-files.json` (SHA-256 and size of every
member). Parts: config (a consistent copy of the store by SQLite's online backup API, and the
secret key and TLS files when secrets are included), sounds (prompts, music on hold, voicemail
greetings), and optionally voicemail (messages), recordings and history (call records, events).

`create_backup` writes an archive; `inspect_archive` says what one holds; `restore_backup`
verifies everything into a staging folder, migrates, then swaps (`appliance.backup.restore`);
`support_bundle` writes configuration and logs with every secret removed.
"""

from appliance.backup.archive import OPTIONAL_PARTS, PARTS, create_backup, inspect_archive, opened
from appliance.backup.errors import BackupRefused
from appliance.backup.restore import RestoreResult, restore_backup

__all__ = ["BackupRefused", "OPTIONAL_PARTS", "PARTS", "RestoreResult", "create_backup", "inspect_archive",
           "opened", "restore_backup"]
