"""`gepad examples [--json] [--limit N] [--kind K] [--id N]`: pages through `examples.list`."""

from __future__ import annotations

import argparse

from gepad.cli._errors import EXIT_OK
from gepad.cli._output import fmt_time, one_line, out, print_json, table
from gepad.cli._rpc import with_client
from gepad_client import Example, ExamplesPage, GepadClient

__all__ = ["run", "summary"]


def run(args: argparse.Namespace) -> int:
    if getattr(args, "id", None) is not None:
        return _show(args.id, as_json=args.json)
    kind = args.kind.replace("-", "_") if args.kind else None
    page = with_client(lambda c: _collect(c, args.limit, kind))
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
    if any(e.get("truncated") for e in examples):
        out("(long fields are cut in listings; `gepad examples --id N` shows one whole)")
    return EXIT_OK


async def _collect(c: GepadClient, limit: int, kind: str | None) -> ExamplesPage:
    """Up to `limit` examples over as many pages as the daemon's reply cap needs."""
    examples: list[Example] = []
    cursor: str | None = None
    while len(examples) < limit:
        page = await c.list_examples(limit=limit - len(examples), kind=kind, cursor=cursor)
        examples += page["examples"]
        cursor = page.get("next_cursor")
        if cursor is None or not page["examples"]:
            break
    return {"examples": examples, "next_cursor": cursor}


def _show(example_id: int, *, as_json: bool) -> int:
    example = with_client(lambda c: c.get_example(example_id))
    if as_json:
        print_json(example)
        return EXIT_OK
    out(f"example #{example['id']}: {example['kind']} for {example['component']}")
    for field in ("file", "language", "split", "prompt_version", "generation_id"):
        if example.get(field) is not None:
            out(f"{field}: {example.get(field)}")
    for field in ("context", "output", "corrected", "comment"):
        text = example.get(field)
        if text:
            out(f"--- {field}\n{text}")
    if example.get("outcome"):
        out(f"--- outcome\n{example['outcome']}")
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
