"""Connection, pragmas and the base model."""

from __future__ import annotations

import logging

import peewee

from appliance.settings import Settings

log = logging.getLogger(__name__)

database = peewee.DatabaseProxy()

# WAL lets Kamailio and the workers read while the web UI writes;
# synchronous=FULL makes a committed setting survive a power cut.
PRAGMAS = {
    "journal_mode": "wal",
    "synchronous": "full",
    "foreign_keys": 1,
    "busy_timeout": 5000,
}


class BaseModel(peewee.Model):
    class Meta:
        database = database
        legacy_table_names = False


def open_store(settings: Settings) -> peewee.SqliteDatabase:
    """Connect this process to the store and migrate it to the current schema."""
    from appliance.store import migrations

    settings.ensure_dirs()
    # BEGIN IMMEDIATE: a transaction takes the write lock when it starts (waiting up to
    # busy_timeout), so two threads doing read-then-write never collide with
    # "database is locked" on a stale WAL snapshot.
    db = peewee.SqliteDatabase(str(settings.db_path), pragmas=PRAGMAS, check_same_thread=False,
                               lock_type="IMMEDIATE")
    database.initialize(db)
    db.connect(reuse_if_open=True)
    migrations.migrate(db)
    return db


def close_store() -> None:
    if database.obj is not None and not database.is_closed():
        database.close()
