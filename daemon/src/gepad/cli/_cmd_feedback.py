"""`gepad feedback {thumbs-down|thumbs-up|correction|comment} ...`."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from gepad.cli._cmd_prompt import read_text_arg
from gepad.cli._errors import EXIT_OK, EXIT_USAGE, CliError
from gepad.cli._output import out, print_json
from gepad.cli._parser import TEXT_FIELDS
from gepad.cli._rpc import with_client
from gepad_client import FeedbackResult, GepadClient

__all__ = ["as_uri", "run"]

# What each kind cannot do without (the daemon checks too; this gives a CLI-shaped message).
_REQUIRED = {"correction": "corrected", "comment": "comment"}


def run(args: argparse.Namespace) -> int:
    kind = args.kind.replace("-", "_")
    fields: dict[str, Any] = {}
    for field in TEXT_FIELDS:
        inline = getattr(args, field)
        from_file = getattr(args, f"{field}_file")
        if from_file is not None:
            fields[field] = read_text_arg(from_file, f"--{field}-file")
        elif inline is not None:
            fields[field] = inline
    required = _REQUIRED.get(args.kind)
    if required and not fields.get(required):
        raise CliError(
            f"feedback {args.kind} needs --{required} TEXT or --{required}-file F", EXIT_USAGE
        )
    if kind == "thumbs_up" and "comment" in fields:
        # The wire format has no comment on a thumbs-up; say so rather than drop it.
        raise CliError("feedback thumbs-up takes no --comment (use `feedback comment`)", EXIT_USAGE)
    fields.update(
        component=args.component,
        file=as_uri(args.source_file),
        workspace=as_uri(args.workspace),
        language=args.language,
        generation_id=args.generation_id,
        prompt_version=args.prompt_version,
        source="cli",
    )

    async def submit(c: GepadClient) -> FeedbackResult:
        # Refuse an unknown component as every prompt command does (the daemon would keep
        # the example under a component nothing learns from).
        await c.get_prompt(args.component)
        return await c.submit_feedback(kind, **fields)

    result = with_client(submit)
    if args.json:
        print_json(result)
    elif result.get("duplicate"):
        out(f"already recorded as example #{result['example_id']} (identical submission)")
    else:
        out(f"recorded {kind} example #{result['example_id']}")
    return EXIT_OK


def as_uri(value: str | None) -> str | None:
    """A path becomes an absolute file:// URI; something that already is a URI is kept."""
    if value is None or "://" in value or value.startswith(("file:", "untitled:")):
        return value
    return Path(value).expanduser().absolute().as_uri()
