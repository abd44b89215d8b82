"""`appliance run` as a user runs it: what it prints, restarts, and a clean stop."""

import os
import signal
import subprocess
import sys
import time

import psutil
import pytest

from appliance.errors import SipEdgeError
from tests.support.stack import ROOT, Stack


@pytest.fixture
def stack(tmp_path):
    s = Stack(tmp_path / "data").start()
    yield s
    s.stop()


def _children(stack):
    return psutil.Process(stack.process.pid).children(recursive=True)


def _kamailio_main(stack):
    pid = stack.kamailio_pid()
    return psutil.Process(pid) if pid else None


def _wait(predicate, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


def test_run_prints_where_everything_is_and_a_one_time_admin_password(stack):
    out = "".join(stack.output)
    assert f"web UI: http://127.0.0.1:{stack.settings.http_port}/" in out
    assert f"SIP: 127.0.0.1:{stack.settings.sip_port}" in out
    assert len(stack.admin_password) >= 12


def test_when_kamailio_crashes_then_it_is_restarted(stack):
    first = _kamailio_main(stack)
    os.kill(first.pid, signal.SIGKILL)
    assert _wait(lambda: (k := _kamailio_main(stack)) is not None and k.pid != first.pid)
    from appliance.sipedge import rpc

    assert _wait(lambda: _rpc_ok(rpc, stack.settings))


def _rpc_ok(rpc, settings):
    try:
        rpc.call(settings, "core.version")
        return True
    except SipEdgeError:  # Kamailio not (yet) answering
        return False


def test_sigterm_stops_everything_and_leaves_no_orphans(stack):
    pids = [p.pid for p in _children(stack)]
    assert len(pids) >= 4  # kamailio's processes, the pool and its workers, the web server
    assert stack.stop() == 0
    assert _wait(lambda: not any(psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE
                                 for p in pids), timeout=10)


def test_second_start_prints_no_password_and_keeps_data(tmp_path):
    first = Stack(tmp_path / "data").start()
    first.admin_api().create_user("100", "Ann", "Lee", "Strong-Pass-4242")
    first.stop()
    second = Stack(tmp_path / "data")
    second.settings = first.settings
    argv = [sys.executable, "-m", "appliance.cli", "reset-admin-password", "--data-dir", str(first.settings.data_dir)]
    reset = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, check=True)
    assert "admin password: " in reset.stdout
    second.start()
    assert "admin password" not in "".join(second.output)
    second.admin_password = reset.stdout.split("admin password: ")[1].split()[0]
    try:
        api = second.admin_api()
        status, body = api.request("GET", "/api/v1/users/100")
        assert status == 200 and body["last_name"] == "Lee"
    finally:
        second.stop()


def _store_set(stack, **values) -> None:
    """Change system settings behind the running stack's back (as a restore or an old version would)."""
    import sqlite3

    with sqlite3.connect(stack.settings.db_path) as conn:
        for name, value in values.items():
            conn.execute(f"UPDATE system_settings SET {name} = ? WHERE id = 1", (value,))


def _runtime_value(stack, group, name):
    from appliance.sipedge import rpc

    try:
        return rpc.runtime_value(stack.settings, group, name)
    except SipEdgeError:  # Kamailio not (yet) answering
        return None


def test_settings_saved_through_the_api_reach_kamailio_without_restarting_it(stack):
    kamailio = _kamailio_main(stack)
    status, body = stack.admin_api().request("PUT", "/api/v1/settings", {"ban_failures": 4, "ban_minutes": 3})
    assert status == 200, body
    assert _wait(lambda: _runtime_value(stack, "ban", "failures") == 4, timeout=5)
    assert _runtime_value(stack, "ban", "seconds") == 180
    assert _kamailio_main(stack).pid == kamailio.pid


def test_sighup_renders_kamailio_cfg_from_the_store_and_restarts_kamailio(stack):
    from appliance.supervisor import pid_path

    first = _kamailio_main(stack)
    assert int(pid_path(stack.settings).read_text()) == stack.process.pid
    _store_set(stack, ban_failures=7, sip_domain="hup.example.org")
    os.kill(stack.process.pid, signal.SIGHUP)
    assert _wait(lambda: (k := _kamailio_main(stack)) is not None and k.pid != first.pid)
    assert _wait(lambda: _runtime_value(stack, "ban", "failures") == 7)
    assert _runtime_value(stack, "edge", "realm") == "hup.example.org"
    assert "ban.failures = 7 " in (stack.settings.run_dir / "kamailio.cfg").read_text()
    assert stack.process.poll() is None


def test_when_kamailio_crashes_it_comes_back_with_the_stores_settings(stack):
    first = _kamailio_main(stack)
    _store_set(stack, ban_window_s=120)
    os.kill(first.pid, signal.SIGKILL)
    assert _wait(lambda: _runtime_value(stack, "ban", "window_s") == 120)


def test_flood_threshold_saved_through_the_api_restarts_kamailio_with_it(stack):
    first = _kamailio_main(stack)
    status, body = stack.admin_api().request("PUT", "/api/v1/settings", {"flood_limit": 500})
    assert status == 200 and body["flood_limit"] == 500
    assert _wait(lambda: (k := _kamailio_main(stack)) is not None and k.pid != first.pid)
    assert 'modparam("pike", "reqs_density_per_unit", 500)' in (stack.settings.run_dir / "kamailio.cfg").read_text()
    from appliance.sipedge import rpc

    assert _wait(lambda: _rpc_ok(rpc, stack.settings))


def test_registrations_survive_a_kamailio_restart(stack):
    from appliance.sipedge import rpc
    from tests.support.phone import TestPhone

    stack.admin_api().create_user("150", "Rita", "Restart", "Phone-Secret-2024")
    with TestPhone("rita") as phone:
        assert phone.register("150", "Phone-Secret-2024", "127.0.0.1", stack.settings.sip_port) == 200
        first = _kamailio_main(stack)
        os.kill(stack.process.pid, signal.SIGHUP)
        assert _wait(lambda: (k := _kamailio_main(stack)) is not None and k.pid != first.pid)
        assert _wait(lambda: _rpc_ok(rpc, stack.settings))
        rows = [r for r in rpc.registrations(stack.settings) if r["extension"] == "150"]
        assert rows and rows[0]["user_agent"] and rows[0]["expires"] > 0
