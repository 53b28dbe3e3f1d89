"""Issue 12, item 22: the .vsix's README and manifest hold nothing that breaks in the package.

The README is packaged alone, so a relative link (`../README.md`) points nowhere; a made-up
repository URL (`example.invalid`) would be shown on the extension's page. `npm run package`
uses `vsce package --allow-missing-repository`, so the manifest needs no repository at all.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

VSCODE = Path(__file__).resolve().parents[2] / "clients" / "vscode"


def test_readme_has_no_link_outside_the_package() -> None:
    readme = (VSCODE / "README.md").read_text(encoding="utf-8")
    assert "../" not in readme
    for target in re.findall(r"\]\(([^)]+)\)", readme):
        assert target.startswith(("https://", "http://", "#")), target


def test_manifest_names_no_made_up_repository() -> None:
    manifest = json.loads((VSCODE / "package.json").read_text(encoding="utf-8"))
    text = json.dumps(manifest)
    assert "example.invalid" not in text and "example.com" not in text
    assert "--allow-missing-repository" in manifest["scripts"]["package"]
    repository = manifest.get("repository")
    if repository is not None:
        url = repository["url"] if isinstance(repository, dict) else repository
        assert url.startswith("https://") and ".invalid" not in url
