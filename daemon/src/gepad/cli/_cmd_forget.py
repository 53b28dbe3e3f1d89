"""`gepad forget "<rule>" [--ids 1,2] [--component C] [--yes] [--json]`: drop a rule outright.

Asks the daemon which examples are about the rule (`examples.forget`; the reflection model
decides unless `--ids` names them), shows them, asks for confirmation unless `--yes`, then
retires them and has the daemon propose a prompt version without the rule, which waits for
`gepad prompt approve`.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from gepad.cli._errors import EXIT_FAILURE, EXIT_OK, EXIT_USAGE, CliError
from gepad.cli._output import one_line, out, print_json, table
from gepad.cli._rpc import with_client

__all__ = ["parse_ids", "run"]

# The model reads every example of the component: give it time.
_TIMEOUT_S = 300.0


def parse_ids(text: str) -> list[int]:
    """`"3, 5,8"` → [3, 5, 8]; anything else is a usage error naming the bad part."""
    ids: list[int] = []
    for part in text.split(","):
        part = part.strip()
        if not part.isdigit() or int(part) < 1:
            raise CliError(
                f"--ids: {part!r} is not an example id (use e.g. --ids 3,5,8)", EXIT_USAGE
            )
        ids.append(int(part))
    return ids


def _ask(question: str) -> bool:
    if not sys.stdin.isatty():
        raise CliError("not asking on a non-interactive input; pass --yes to go ahead", EXIT_USAGE)
    try:
        answer = input(f"{question} [y/N] ")
    except EOFError:
        return False
    return answer.strip().lower() in ("y", "yes")


def run(args: argparse.Namespace) -> int:
    rule = " ".join(str(args.rule).split())
    if not rule:
        raise CliError('say which rule to forget, e.g. gepad forget "use tabs"', EXIT_USAGE)
    params: dict[str, Any] = {"rule": rule, "component": args.component}
    if args.ids:
        params["ids"] = parse_ids(args.ids)
    found = with_client(lambda c: c.call("examples.forget", params), timeout=_TIMEOUT_S)
    examples = found.get("examples", [])
    if not args.json or not args.yes:
        out(f'Examples of {args.component} about "{rule}" (decided by {found.get("decided_by")}):')
        if examples:
            rows = [
                [e["id"], e.get("kind", "-"), one_line(e.get("feedback", ""), 70)] for e in examples
            ]
            out(table(["ID", "KIND", "FEEDBACK"], rows))
        else:
            out("  none")
    if not args.yes and not _ask(
        f"Retire these {len(examples)} example(s) and propose a prompt without the rule?"
    ):
        out("nothing changed")
        return EXIT_FAILURE
    params = {**params, "ids": [e["id"] for e in examples], "apply": True}
    result = with_client(lambda c: c.call("examples.forget", params), timeout=_TIMEOUT_S)
    if args.json:
        print_json({"candidates": found, **result})
        return EXIT_OK
    retired = result.get("retired", [])
    out(f"retired {len(retired)} example(s): {', '.join(f'#{i}' for i in retired) or '-'}")
    if result.get("pending_version") is not None:
        out(f"v{result['pending_version']} without the rule awaits approval: "
            f"`gepad prompt approve {result['pending_version']}` (or reject it)")  # fmt: skip
    elif result.get("prompt_note"):
        out(str(result["prompt_note"]))
    out("undo with `gepad examples restore ID`")
    return EXIT_OK
