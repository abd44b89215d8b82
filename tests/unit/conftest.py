import pytest

from appliance import changes
from appliance.settings import Settings
from appliance.store import close_store, open_store, secrets


@pytest.fixture
def store(tmp_path):
    """A fresh store in a temporary data directory, with its secret key loaded."""
    settings = Settings(data_dir=tmp_path / "data")
    open_store(settings)
    secrets.load_key(settings.secret_key_path)
    yield settings
    close_store()
    changes.unsubscribe_all()
