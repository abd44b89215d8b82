"""The config store: one SQLite database (WAL, synchronous FULL) through peewee.

`open_store(settings)` connects the process to the database and brings the
schema up to date; models everywhere bind to `database` below.
"""

from appliance.store.db import BaseModel, close_store, database, open_store

__all__ = ["BaseModel", "database", "open_store", "close_store"]
