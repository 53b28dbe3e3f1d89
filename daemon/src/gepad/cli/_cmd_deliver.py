"""`gepad deliver enable|disable|status --workspace DIR --target T`."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from gepad.cli._errors import EXIT_OK, EXIT_USAGE, CliError
from gepad.cli._output import fmt_time, out, print_json, table
from gepad.cli._rpc import with_client

__all__ = ["run"]


def run(args: argparse.Namespace) -> int:
    workspace = Path(args.workspace).expanduser().absolute()
    if args.deliver_action != "status" and not workspace.is_dir():
        raise CliError(f"--workspace {args.workspace}: not an existing folder", EXIT_USAGE)
    ws = str(workspace.resolve())
    action = args.deliver_action
    if action == "enable":
        params = {"workspace": ws, "target": args.target, "component": args.component}
        result = with_client(lambda c: c.call("deliver.enable", params))
        if args.json:
            print_json(result)
        else:
            files = ", ".join(result["files"]) or "-"
            version = "-" if result["version"] is None else f"v{result['version']}"
            out(f"delivering {result['component']} {version} to {args.target}: {files}")
            _print_notes(result)
    elif action == "disable":
        params = {"workspace": ws, "target": args.target}
        result = with_client(lambda c: c.call("deliver.disable", params))
        if args.json:
            print_json(result)
        else:
            out(f"{args.target} disabled for {ws}")
            for item in result["files"]:
                out(f"  {item['path']}: {item['result']}")
    else:
        params = {} if args.all else {"workspace": ws}
        result = with_client(lambda c: c.call("deliver.status", params))
        if args.json:
            print_json(result)
        else:
            _print_status(result["deliveries"], ws if not args.all else None)
    return EXIT_OK


def _print_status(rows: list[dict[str, Any]], workspace: str | None) -> None:
    if not rows:
        where = f" for {workspace}" if workspace else ""
        out(f"nothing delivered{where}; `gepad deliver enable --target T` starts")
        return
    out(
        table(
            ["WORKSPACE", "TARGET", "COMPONENT", "VERSION", "WRITTEN", "STATE"],
            [
                [
                    r["workspace"],
                    r["target"],
                    r["component"],
                    "-" if r["version"] is None else f"v{r['version']}",
                    fmt_time(r["written_at"]),
                    r["state"] + (f": {r['error']}" if r["error"] else ""),
                ]
                for r in rows
            ],
        )
    )
    for r in rows:
        _print_notes(r)


def _print_notes(row: dict[str, Any]) -> None:
    """Conflicts (hand edits and their proposals), and prompts a tool would cut."""
    if row.get("state") == "over-limit" and row.get("error"):
        out(f"  over the limit: {row['error']}")
    for warning in row.get("warnings", []):
        out(f"  warning: {warning}")
    for c in row.get("conflicts", []):
        if c["version"] is not None:
            kept = (
                f"proposed as v{c['version']}: `gepad prompt approve {c['version']}` makes it "
                f"current; `gepad deliver enable` again puts gepad's text back"
            )
        else:
            kept = c["error"]
        out(f"  conflict {fmt_time(c['at'])}: {c['path']} was edited by hand; {kept}")
