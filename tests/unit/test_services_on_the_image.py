"""On the image (not lab mode) the consoles and the Info page see and restart the services through systemd.

systemd cannot run as init in this test machine, so `systemctl` is a script on PATH that answers from a state
file and records its calls; the processes it names are real ones."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from appliance.settings import Settings
from serialconsole import services

FAKE = textwrap.dedent("""\
    #!{python}
    import json, sys
    state = json.load(open({state!r}))
    open({calls!r}, "a").write(" ".join(sys.argv[1:]) + "\\n")
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    if args[0] == "show":
        unit = state.get(args[1], {{"ActiveState": "inactive", "SubState": "dead", "MainPID": 0}})
        print("\\n".join(f"{{k}}={{v}}" for k, v in unit.items()))
    elif args[0] == "restart":
        if state.get("refuse"):
            print("Job for " + args[1] + " failed because the control process exited with error code.",
                  file=sys.stderr)
            sys.exit(1)
""")


@pytest.fixture
def systemd(tmp_path, monkeypatch):
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    state_path, calls = tmp_path / "state.json", tmp_path / "calls.txt"

    def write(**units):
        state_path.write_text(json.dumps(units))

    write(**{"appliance-kamailio.service": {"ActiveState": "active", "SubState": "running", "MainPID": sleeper.pid},
             "appliance-callcore.service": {"ActiveState": "failed", "SubState": "failed", "MainPID": 0},
             "appliance-web.service": {"ActiveState": "active", "SubState": "running", "MainPID": sleeper.pid}})
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "systemctl"
    script.write_text(FAKE.format(python=sys.executable, state=str(state_path), calls=str(calls)))
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    yield write, calls, sleeper
    sleeper.kill()
    sleeper.wait()


def image(tmp_path) -> Settings:
    return Settings(data_dir=tmp_path / "data", lab=False)


def test_status_reads_each_unit(systemd, tmp_path):
    _, _, sleeper = systemd
    rows = {r["name"]: r for r in services.status(image(tmp_path))}
    assert rows["kamailio"]["state"] == "running" and rows["kamailio"]["pid"] == sleeper.pid
    assert rows["kamailio"]["rss"] > 0 and rows["kamailio"]["uptime"] >= 0
    assert rows["callcore"]["state"] == "stopped" and rows["callcore"]["detail"] == "failed (failed)"
    assert [p.pid for p in services.main_processes(image(tmp_path))] == [sleeper.pid, sleeper.pid]


def test_restart_goes_through_systemctl_and_reports_a_unit_that_stays_down(systemd, tmp_path):
    write, calls, sleeper = systemd
    assert services.restart(image(tmp_path), "kamailio") == f"kamailio restarted (pid {sleeper.pid})"
    assert "restart appliance-kamailio.service" in calls.read_text().splitlines()
    with pytest.raises(services.RestartFailed) as caught:
        services.restart(image(tmp_path), "callcore")
    assert "failed (failed)" in str(caught.value)
    write(refuse=True)
    with pytest.raises(services.RestartFailed) as caught:
        services.restart(image(tmp_path), "web")
    assert "control process exited with error code" in str(caught.value)


def test_a_restore_restarts_every_unit_on_the_image(systemd, tmp_path):
    from appliance.backup import service

    _, calls, _ = systemd
    assert service.restart_later(image(tmp_path), delay_s=0) is True
    import time

    for _ in range(50):
        if "restart" in calls.read_text() if calls.exists() else False:
            break
        time.sleep(0.1)
    assert ("--no-block restart appliance-kamailio.service appliance-callcore.service appliance-web.service"
            in calls.read_text())
