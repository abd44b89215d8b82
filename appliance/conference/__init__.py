"""Conference rooms: configuration (models, service), live state, and the link between workers.

The audio side runs in the call-core workers (appliance.callcore.conference);
this package holds what every process shares: the rooms, who is in them
(one row per participant naming the worker holding its leg) and how to tell
the workers of a room that something changed (`live.notify`).
"""
