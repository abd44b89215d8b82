import os
import sqlite3
import stat

import pytest

from appliance.errors import ApplianceError
from appliance.settings import Settings
from appliance.store import close_store, database, migrations, open_store
from appliance.users import create_user


def test_store_runs_in_wal_with_full_sync(store):
    assert database.execute_sql("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert database.execute_sql("PRAGMA synchronous").fetchone()[0] == 2  # FULL


def test_secret_key_file_is_private(store):
    mode = stat.S_IMODE(os.stat(store.secret_key_path).st_mode)
    assert mode == 0o600


def test_sip_password_is_not_stored_in_clear(store):
    create_user({"extension": "100", "first_name": "Ann", "last_name": "Lee", "sip_password": "Clear-Text-99x"})
    close_store()
    files = [store.db_path, store.db_path.with_name(store.db_path.name + "-wal")]
    raw = b"".join(f.read_bytes() for f in files if f.exists())
    assert b"Clear-Text-99x" not in raw
    open_store(store)


def test_reopening_keeps_every_row_and_schema(store):
    create_user({"extension": "100", "first_name": "Ann", "last_name": "Lee"})
    close_store()
    open_store(store)
    assert migrations.current_version(database) == len(migrations.MIGRATIONS)
    row = database.execute_sql("SELECT extension, first_name FROM user WHERE extension='100'").fetchone()
    assert row == ("100", "Ann")


def test_database_from_newer_software_is_refused(tmp_path):
    settings = Settings(data_dir=tmp_path)
    open_store(settings)
    close_store()
    with sqlite3.connect(settings.db_path) as conn:
        conn.execute("INSERT INTO schema_version (version) VALUES (999)")
    with pytest.raises(ApplianceError, match="newer"):
        open_store(settings)
    close_store()


def test_kamailio_reads_credentials_through_subscriber_view(store):
    user, _ = create_user({"extension": "101", "first_name": "Bo", "last_name": "Ek"})
    rows = database.execute_sql("SELECT username, ha1 FROM subscriber").fetchall()
    assert rows == [("101", user.ha1)]
