"""System-wide settings: the appliance's name, SIP domain, locale, security thresholds."""

from appliance.system.models import SystemSettings, get_system_settings

__all__ = ["SystemSettings", "get_system_settings"]
