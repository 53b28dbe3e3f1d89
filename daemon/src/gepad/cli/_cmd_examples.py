"""`gepad examples [--json] [--limit N] [--kind K]`."""

from __future__ import annotations

import argparse

from gepad.cli._errors import EXIT_OK
from gepad.cli._output import fmt_time, one_line, out, print_json, table
from gepad.cli._rpc import with_client
from gepad_client import Example

__all__ = ["run", "summary"]


def run(args: argparse.Namespace) -> int:
    kind = args.kind.replace("-", "_") if args.kind else None
    page = with_client(lambda c: c.list_examples(limit=args.limit, kind=kind))
    if args.json:
        print_json(page)
        return EXIT_OK
    examples = page["examples"]
    if not examples:
        out("no examples yet" if kind is None else f"no {kind} examples yet")
        return EXIT_OK
    rows = [
        [
            e["id"],
            e["kind"],
            e["component"],
            e.get("source") or "-",
            fmt_time(e.get("created_at")),
            e.get("split", "-") + (" (retired)" if e.get("retired") else ""),
            summary(e),
        ]
        for e in examples
    ]
    out(table(["ID", "KIND", "COMPONENT", "SOURCE", "CREATED", "SPLIT", "SUMMARY"], rows))
    return EXIT_OK


def summary(example: Example) -> str:
    """The most telling text of an example, on one short line."""
    outcome = example.get("outcome")
    if example.get("comment"):
        return one_line(example["comment"])
    if example.get("corrected"):
        return "→ " + one_line(example["corrected"], 58)
    if isinstance(outcome, dict) and outcome:
        return one_line(", ".join(f"{k}={v}" for k, v in outcome.items()))
    return one_line(example.get("output") or example.get("context") or "")
