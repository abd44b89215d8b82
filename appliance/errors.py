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


def reject_unknown_fields(data: object, what: str, writable, read_only=(), allow_revision: bool = True) -> None:
    """The one check every service makes of a request body: a JSON object holding only `what`'s writable
    fields (and `revision`, for the concurrent-edit check); ValidationError names the first field at fault."""
    if not isinstance(data, dict):
        raise ValidationError("body", "must be a JSON object")
    for key in data:
        if allow_revision and key == "revision":
            continue
        if key in read_only:
            raise ValidationError(str(key), "is read-only")
        if key not in writable:
            raise ValidationError(str(key)[:64], f"is not a field of a {what}")
