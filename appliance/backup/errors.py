"""Why a backup or a restore was refused: a machine-readable reason and a sentence for people."""

from __future__ import annotations

from appliance.errors import ApplianceError

REASONS = {
    "foreign": "not an archive made by this appliance",
    "truncated": "the archive is cut short",
    "corrupted": "the archive is damaged",
    "wrong_passphrase": "the passphrase is wrong",
    "passphrase_required": "the archive is encrypted and no passphrase was given",
    "passphrase_too_short": "the passphrase is too short",
    "newer_version": "the archive comes from a newer version of the software",
    "invalid": "the archive's content is not valid",
    "busy": "another backup or restore is running",
    "storage": "the data folder cannot be written",
}


class BackupRefused(ApplianceError):
    """A backup, inspection or restore that did not happen; nothing on the appliance changed."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason
        self.message = message

    def to_public(self) -> dict:
        return {"reason": self.reason, "message": self.message}
