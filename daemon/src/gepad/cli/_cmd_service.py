"""`gepad service install|uninstall`: a user service that keeps the daemon running.

Linux: a systemd user unit (`~/.config/systemd/user/gepad.service`); macOS: a launchd agent
(`~/Library/LaunchAgents/dev.gepad.daemon.plist`). `GEPAD_SERVICE_DIR` puts the file
elsewhere (tests use it); then no service manager is ever called.
"""

from __future__ import annotations

import argparse
import os
import plistlib
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from gepad.cli._errors import EXIT_FAILURE, EXIT_OK
from gepad.cli._output import err, out

__all__ = [
    "LAUNCHD_LABEL",
    "SERVICE_DIR_ENV",
    "UNIT_NAME",
    "render_launchd_plist",
    "render_systemd_unit",
    "run",
    "service_file",
]

SERVICE_DIR_ENV = "GEPAD_SERVICE_DIR"
UNIT_NAME = "gepad.service"
LAUNCHD_LABEL = "dev.gepad.daemon"
# Exit codes of `python -m gepad.daemon` that a restart cannot fix: bad config, already running.
_NO_RESTART_CODES = "2 3"


def run(args: argparse.Namespace) -> int:
    kind = "launchd" if sys.platform == "darwin" else "systemd"
    path = service_file(kind, os.environ)
    managed = SERVICE_DIR_ENV not in os.environ
    if args.action == "install":
        return _install(kind, path, managed=managed)
    return _uninstall(kind, path, managed=managed)


def service_file(kind: str, environ: Mapping[str, str]) -> Path:
    name = UNIT_NAME if kind == "systemd" else f"{LAUNCHD_LABEL}.plist"
    override = environ.get(SERVICE_DIR_ENV, "").strip()
    if override:
        return Path(override).expanduser().absolute() / name
    if kind == "launchd":
        return Path.home() / "Library" / "LaunchAgents" / name
    config_home = environ.get("XDG_CONFIG_HOME", "").strip() or str(Path.home() / ".config")
    return Path(config_home) / "systemd" / "user" / name


def render_systemd_unit(executable: str, gepad_home: str | None) -> str:
    lines = [
        "# Written by `gepad service install`; `gepad service uninstall` removes it.",
        "[Unit]",
        "Description=gepad: local personalization daemon for AI coding assistants",
        "",
        "[Service]",
        "Type=simple",
        f"ExecStart={_systemd_quote(executable)} -m gepad.daemon",
        "Restart=on-failure",
        "RestartSec=2",
        f"RestartPreventExitStatus={_NO_RESTART_CODES}",
    ]
    if gepad_home:
        lines.append(f"Environment={_systemd_quote('GEPAD_HOME=' + gepad_home)}")
    lines += ["", "[Install]", "WantedBy=default.target", ""]
    return "\n".join(lines)


def render_launchd_plist(executable: str, gepad_home: str | None) -> bytes:
    agent: dict[str, object] = {
        "Label": LAUNCHD_LABEL,
        "ProgramArguments": [executable, "-m", "gepad.daemon"],
        "RunAtLoad": True,
        # Restart after a crash, not after a clean `gepad stop`.
        "KeepAlive": {"SuccessfulExit": False},
        "ProcessType": "Background",
    }
    if gepad_home:
        agent["EnvironmentVariables"] = {"GEPAD_HOME": gepad_home}
    return plistlib.dumps(agent)


def _systemd_quote(value: str) -> str:
    # systemd expands %-specifiers and C-style escapes inside quoted words.
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("%", "%%")
    return f'"{escaped}"'


def _gepad_home() -> str | None:
    home = os.environ.get("GEPAD_HOME", "").strip()
    return str(Path(home).expanduser().absolute()) if home else None


def _install(kind: str, path: Path, *, managed: bool) -> int:
    if kind == "systemd":
        content = render_systemd_unit(sys.executable, _gepad_home()).encode()
    else:
        content = render_launchd_plist(sys.executable, _gepad_home())
    existed = path.exists()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_bytes(content)
        tmp.replace(path)
    except OSError as exc:
        err(f"cannot write {path}: {exc.strerror}")
        return EXIT_FAILURE
    out(f"{'updated' if existed else 'wrote'} {path}:")
    out(content.decode().rstrip("\n"))
    out()
    if kind == "systemd":
        if managed and _run_manager(["systemctl", "--user", "daemon-reload"]):
            out("reloaded the systemd user manager")
        out("to start it now and at every login: systemctl --user enable --now gepad")
    else:
        out(f"to start it now and at every login: launchctl bootstrap gui/{os.getuid()} {path}")
    return EXIT_OK


def _uninstall(kind: str, path: Path, *, managed: bool) -> int:
    if kind == "systemd" and managed:
        # Stop and disable first, so no running unit is left without its file.
        _run_manager(["systemctl", "--user", "disable", "--now", "gepad"])
    elif kind == "launchd" and managed:
        _run_manager(["launchctl", "bootout", f"gui/{os.getuid()}/{LAUNCHD_LABEL}"])
    try:
        path.unlink()
    except FileNotFoundError:
        out(f"no service file at {path}; nothing to remove")
        return EXIT_OK
    except OSError as exc:
        err(f"cannot remove {path}: {exc.strerror}")
        return EXIT_FAILURE
    out(f"removed {path}")
    if kind == "systemd" and managed:
        _run_manager(["systemctl", "--user", "daemon-reload"])
    return EXIT_OK


def _run_manager(command: Sequence[str]) -> bool:
    """Run systemctl/launchctl if it exists; a failure is reported, never fatal."""
    if shutil.which(command[0]) is None:
        return False
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=15, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        err(f"`{' '.join(command)}` failed: {exc}")
        return False
    if done.returncode != 0:
        err(f"`{' '.join(command)}` failed: {done.stderr.strip() or done.returncode}")
        return False
    return True
