"""The event log: what happened that an administrator should know, each with a stable kind."""
