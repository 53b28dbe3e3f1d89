"""`gepad examples [--json] [--limit N] [--kind K] [--id N]`: pages through `examples.list`.

`gepad examples --retired` lists the latest retirements and why (`examples.retired`);
`gepad examples restore ID` gives a retired example back to the optimizer, `gepad examples
retire ID` takes one away (`examples.unretire` / `examples.retire`, recorded as the user's).
"""

from __future__ import annotations

import argparse

from gepad.cli._errors import EXIT_OK, EXIT_USAGE, CliError
from gepad.cli._output import fmt_time, one_line, out, print_json, table
from gepad.cli._rpc import with_client
from gepad_client import Example, ExamplesPage, GepadClient

__all__ = ["run", "summary"]


def run(args: argparse.Namespace) -> int:
    action = getattr(args, "action", None)
    if action is not None:
        return _retire_or_restore(action, getattr(args, "target", None), as_json=args.json)
    if getattr(args, "retired", False):
        return _show_retired(args.limit, as_json=args.json)
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


def _retire_or_restore(action: str, target: int | None, *, as_json: bool) -> int:
    if target is None:
        raise CliError(
            f"gepad examples {action} needs an example id, e.g. `gepad examples {action} 12` "
            "(`gepad examples --retired` lists retired ones)",
            EXIT_USAGE,
        )
    method = "examples.unretire" if action == "restore" else "examples.retire"
    result = with_client(lambda c: c.call(method, {"id": target}))
    if as_json:
        print_json(result)
        return EXIT_OK
    if not result.get("changed"):
        state = "not retired" if action == "restore" else "already retired"
        out(f"example #{target} is {state}; nothing changed")
    elif action == "restore":
        out(f"example #{target} restored: the optimizer learns from it again")
    else:
        out(f"example #{target} retired: the optimizer no longer learns from it")
    return EXIT_OK


def _show_retired(limit: int, *, as_json: bool) -> int:
    page = with_client(lambda c: c.call("examples.retired", {"limit": min(limit, 200)}))
    if as_json:
        print_json(page)
        return EXIT_OK
    rows = page.get("retired", [])
    if not rows:
        out("no examples have been retired")
        return EXIT_OK
    table_rows = [
        [
            r["id"],
            r.get("component") or "-",
            fmt_time(r.get("retired_at")),
            "retired" if r.get("retired") else "restored",
            r.get("decided_by") or "-",
            one_line(_why(r), 60),
        ]
        for r in rows
    ]
    out(table(["ID", "COMPONENT", "RETIRED", "NOW", "DECIDED BY", "WHY"], table_rows))
    out("(`gepad examples restore ID` gives one back to the optimizer)")
    return EXIT_OK


def _why(r: dict[str, object]) -> str:
    reason = str(r.get("reason") or "-")
    by = r.get("by_example")
    return f"{reason} (newer: #{by})" if by is not None else reason


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
