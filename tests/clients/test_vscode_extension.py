"""The VS Code extension's own unit tests (node:test, a mocked `vscode` module), run from pytest.

`.ci/run` runs `npm ci && npm run compile && npm test` itself; this test lets a developer's
`pytest` catch a broken extension too, when its node_modules are installed.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

EXTENSION = Path(__file__).resolve().parents[2] / "clients" / "vscode"


@pytest.mark.skipif(
    not (EXTENSION / "node_modules" / ".bin" / "tsc").exists() or shutil.which("npm") is None,
    reason="clients/vscode/node_modules is not installed (run `npm ci` there) or npm is missing",
)
def test_vscode_extension_compiles_and_its_unit_tests_pass() -> None:
    compiled = subprocess.run(
        ["npm", "run", "--silent", "compile"],
        cwd=EXTENSION, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert compiled.returncode == 0, compiled.stdout + compiled.stderr
    tested = subprocess.run(
        ["npm", "test", "--silent"],
        cwd=EXTENSION, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert tested.returncode == 0, tested.stdout[-6000:] + tested.stderr[-2000:]
    passed = re.search(r"^# pass (\d+)$", tested.stdout, re.MULTILINE)
    failed = re.search(r"^# fail (\d+)$", tested.stdout, re.MULTILINE)
    assert passed and failed, tested.stdout[-2000:]
    assert int(failed.group(1)) == 0
    assert int(passed.group(1)) >= 20
