"""One exception tree for the whole appliance."""


class ApplianceError(Exception):
    """Base of every error the appliance raises on purpose."""


class ValidationError(ApplianceError):
    """Bad input: names the field and says what is wrong with it."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class Conflict(ApplianceError):
    """The record changed since the client read it (concurrent edit)."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


class NotFound(ApplianceError):
    """The thing asked for does not exist."""

    def __init__(self, what: str, key: str):
        super().__init__(f"{what} {key} not found")
        self.what = what
        self.key = key


class SipEdgeError(ApplianceError):
    """Kamailio could not be rendered, started or reached."""


class CallCoreError(ApplianceError):
    """The call-core worker pool failed."""
