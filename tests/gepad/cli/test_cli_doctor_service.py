"""`gepad doctor` (passing and failing) and `gepad service install|uninstall`."""

from __future__ import annotations

import json
import plistlib
import shlex
import sqlite3
import sys
from pathlib import Path

from gepad_client_harness import gepad, start_daemon, stop_daemon


def test_doctor_all_green_with_a_running_daemon(tmp_path: Path) -> None:
    daemon = start_daemon(tmp_path)
    try:
        result = gepad(tmp_path, "doctor")
        assert result.returncode == 0, result.stdout
        lines = result.stdout.splitlines()
        assert [line[:1] for line in lines[:4]] == ["✓", "✓", "✓", "✓"]
        assert "config valid" in lines[0] and "database writable" in lines[1]
        assert f"pid {daemon.pid}" in lines[2]
        # Checks that cannot run here (too few labels, say) are "-", never ✓ (issue 12, 22).
        skipped = sum(line.startswith("- ") for line in lines)
        assert lines[-1] == (
            f"all checks that ran passed, {skipped} not checked" if skipped else "all checks passed"
        )
        as_json = json.loads(gepad(tmp_path, "doctor", "--json").stdout)
        assert as_json["ok"] is True
        assert [c["name"] for c in as_json["checks"]][:4] == [
            "config valid",
            "database writable",
            "daemon reachable",
            "optimizer has a model",
        ]
        # The harness runs the daemon with the optimizer switched off.
        assert "disabled" in as_json["checks"][3]["detail"]
    finally:
        stop_daemon(daemon)


def test_doctor_reports_each_failure_with_a_hint(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text('swap_policy = "sometimes"\n')
    (tmp_path / "data").mkdir()
    db = tmp_path / "data" / "gepad.db"
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA user_version = 999")
    conn.close()
    before = db.read_bytes()

    result = gepad(tmp_path, "doctor")
    assert result.returncode == 1
    out = result.stdout
    assert "✗ config valid" in out and "swap_policy" in out
    assert "✗ database writable" in out and "schema version 999" in out
    assert "✗ daemon reachable" in out and "gepad start" in out
    assert out.count("hint:") == 3
    # The optimizer check needs the daemon: it is marked "not checked", not ✓ (issue 12, 22).
    assert "- optimizer has a model: not checked" in out
    assert "✓ optimizer" not in out
    skipped = sum(line.startswith("- ") for line in out.splitlines())
    assert skipped >= 1
    assert out.splitlines()[-1] == f"3 check(s) failed, {skipped} not checked"
    assert db.read_bytes() == before  # doctor only reads

    checks = json.loads(gepad(tmp_path, "doctor", "--json").stdout)
    assert checks["ok"] is False
    assert all(c["hint"] for c in checks["checks"] if not c["ok"])
    assert "optimizer has a model" in [c["name"] for c in checks["checks"] if c["skipped"]]


def test_doctor_fresh_home_only_lacks_the_daemon(tmp_path: Path) -> None:
    result = gepad(tmp_path, "doctor", "--json")
    assert result.returncode == 1
    checks = {c["name"]: c for c in json.loads(result.stdout)["checks"]}
    assert checks["config valid"]["ok"] and checks["database writable"]["ok"]
    assert "can be created" in checks["database writable"]["detail"]
    assert not checks["daemon reachable"]["ok"]


def test_service_install_and_uninstall_write_a_systemd_unit(tmp_path: Path) -> None:
    units = tmp_path / "units"
    env = {"GEPAD_SERVICE_DIR": str(units)}
    installed = gepad(tmp_path, "service", "install", env=env)
    assert installed.returncode == 0, installed.stderr
    if sys.platform == "darwin":
        plist = plistlib.loads((units / "dev.gepad.daemon.plist").read_bytes())
        assert plist["EnvironmentVariables"] == {"GEPAD_HOME": str(tmp_path)}
        return
    unit = (units / "gepad.service").read_text()
    # The unit names the interpreter of the `gepad` that wrote it (its console script's
    # shebang), which may be spelled differently from this one (python3 vs python).
    exec_start = next(line for line in unit.splitlines() if line.startswith("ExecStart="))
    interpreter, *rest = shlex.split(exec_start.removeprefix("ExecStart="))
    assert rest == ["-m", "gepad.daemon"]
    assert Path(interpreter).resolve() == Path(sys.executable).resolve()
    assert "Restart=on-failure" in unit
    assert f'Environment="GEPAD_HOME={tmp_path}"' in unit
    assert "WantedBy=default.target" in unit
    assert f"wrote {units / 'gepad.service'}" in installed.stdout
    assert "systemctl --user enable --now gepad" in installed.stdout

    again = gepad(tmp_path, "service", "install", env=env)
    assert again.stdout.startswith("updated ")

    removed = gepad(tmp_path, "service", "uninstall", env=env)
    assert removed.returncode == 0
    assert not (units / "gepad.service").exists()
    nothing = gepad(tmp_path, "service", "uninstall", env=env)
    assert nothing.returncode == 0 and "nothing to remove" in nothing.stdout


def test_unit_and_plist_rendering() -> None:
    from gepad.cli._cmd_service import render_launchd_plist, render_systemd_unit

    unit = render_systemd_unit("/opt/my python/bin/python", '/home/a "b"/100%')
    assert 'ExecStart="/opt/my python/bin/python" -m gepad.daemon' in unit
    assert 'Environment="GEPAD_HOME=/home/a \\"b\\"/100%%"' in unit
    assert "Environment" not in render_systemd_unit("/usr/bin/python3", None)

    plist = plistlib.loads(render_launchd_plist("/usr/bin/python3", "/g"))
    assert plist["ProgramArguments"] == ["/usr/bin/python3", "-m", "gepad.daemon"]
    assert plist["KeepAlive"] == {"SuccessfulExit": False}
    assert plist["EnvironmentVariables"] == {"GEPAD_HOME": "/g"}
