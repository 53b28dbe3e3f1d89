"""`gepad capture enable|disable|status|last`: learning from the assistants already in use."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from gepad.cli._errors import EXIT_OK, EXIT_USAGE, CliError
from gepad.cli._output import fmt_time, one_line, out, print_json, table
from gepad.cli._rpc import with_client

__all__ = ["run"]


def _absolute(raw: str) -> str:
    # The daemon's working folder is not ours: send absolute paths.
    return str(Path(raw).expanduser().absolute())


def run(args: argparse.Namespace) -> int:
    action = args.capture_action
    if action in ("enable", "disable"):
        params: dict[str, Any] = {"source": args.source}
        if args.source == "git":
            params["workspace"] = _absolute(args.workspace)
        elif action == "enable" and args.path:
            params["path"] = _absolute(args.path)
        result = with_client(lambda c: c.call(f"capture.{action}", params))
    elif action == "last":
        params = {"workspace": _absolute(args.workspace)}
        result = with_client(lambda c: c.call("capture.last", params))
        if args.json:
            print_json(result)
        elif result["generation"] is None:
            out(f"nothing recorded from Claude Code in {params['workspace']}")
        else:
            gen = result["generation"]
            out(f"generation {gen['generation_id']} in {gen['file']}")
            out(one_line(gen["output"], 100))
        return EXIT_OK
    elif action == "status":
        result = with_client(lambda c: c.call("capture.status"))
    else:  # pragma: no cover - argparse restricts the choices
        raise CliError(f"unknown action {action!r}", EXIT_USAGE)
    if args.json:
        print_json(result)
        return EXIT_OK
    _print(result)
    return EXIT_OK


def _where(source: dict[str, Any]) -> str:
    if source["source"] == "git":
        return ", ".join(source["workspaces"]) or "-"
    if source["source"] == "continue":
        return str(source["path"])
    return f"{source['spool']} ({source['tracked']} tracked)"


def _print(result: dict[str, Any]) -> None:
    rows = [
        [
            s["source"],
            "yes" if s["enabled"] else "no",
            s["captured_today"],
            fmt_time(s["last_at"]),
            _where(s),
        ]
        for s in result["sources"]
    ]
    out(table(["SOURCE", "ENABLED", "TODAY", "LAST", "WHERE"], rows))
    for s in result["sources"]:
        if s["last_error"]:
            out(f"{s['source']}: last error: {s['last_error']}")
