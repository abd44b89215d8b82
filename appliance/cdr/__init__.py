"""Call detail records: one row per call, open (no end) while the call is up."""

from appliance.cdr.models import Cdr, Disposition

__all__ = ["Cdr", "Disposition"]
