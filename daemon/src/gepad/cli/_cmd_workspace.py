"""`gepad workspace add|remove|list [PATH]`: which folders the daemon watches for reports."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from gepad.cli._errors import EXIT_OK
from gepad.cli._output import out, print_json, table
from gepad.cli._rpc import with_client

__all__ = ["run"]


def run(args: argparse.Namespace) -> int:
    action = args.workspace_action
    if action == "list":
        result = with_client(lambda c: c.call("workspace.list"))
    else:
        # The daemon's working folder is not ours: send an absolute path.
        path = str(Path(args.path).expanduser().absolute())
        result = with_client(lambda c: c.call(f"workspace.{action}", {"path": path}))
    if args.json:
        print_json(result)
        return EXIT_OK
    # `workspace.list` names no single path: only add and remove answer with one.
    if action == "add":
        where = result["path"]
        out(f"watching {where}" if result["added"] else f"already watched: {where}")
    elif action == "remove":
        where = result["path"]
        out(f"removed {where}" if result["removed"] else f"not registered: {where}")
    _print(result)
    return EXIT_OK


def _print(result: dict[str, Any]) -> None:
    rows = [
        [w["path"], w["source"], "yes" if w["watching"] else "no (missing)"]
        for w in result["workspaces"]
    ]
    if rows:
        out(table(["WORKSPACE", "SOURCE", "WATCHING"], rows))
    else:
        out("no workspace is watched; `gepad workspace add DIR` or `workspaces` in config.toml")
    ingest = result["ingest"]
    out(
        f"reports {ingest['reports']}, malformed {ingest['malformed']}, examples: "
        f"{ingest['examples_linked']} linked, {ingest['examples_positive']} positive, "
        f"{ingest['examples_unlinked']} unlinked (kept, not used)"
    )
    if ingest["last_error"]:
        out(f"last error: {ingest['last_error']}")
