"""The PBX appliance: call core, SIP edge, store, supervisor and CLI."""

__version__ = "0.1.0"
