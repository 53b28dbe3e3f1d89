"""`gepad dashboard [--print-url]` and `gepad prompt why [--line N] [--version V]`."""

from __future__ import annotations

import argparse
import webbrowser
from typing import Any

from gepad.cli._errors import EXIT_OK, CliError
from gepad.cli._output import fmt_time, out, print_json
from gepad.cli._rpc import with_client

__all__ = ["run", "sparkline", "why"]

_SPARKS = "▁▂▃▄▅▆▇█"


def run(args: argparse.Namespace) -> int:
    opened = with_client(lambda c: c.call("dashboard.open"))
    url = str(opened["url"])
    if args.print_url:
        out(url)
        return EXIT_OK
    if not webbrowser.open(url):
        # No browser here (a server, a container): the link still works once, from anywhere
        # on this machine.
        out(f"no browser found; open this link once: {url}")
    else:
        out("opened the dashboard in the browser (the link works once)")
    return EXIT_OK


def why(component: str, version: int | None, line: int | None, as_json: bool) -> int:
    params: dict[str, Any] = {"component": component}
    if version is not None:
        params["version"] = version
    result = with_client(lambda c: c.call("prompt.provenance", params))
    lines = result["lines"]
    if line is not None:
        lines = [entry for entry in lines if entry["line"] == line]
        if not lines:
            raise CliError(
                f"{component} v{result['version']} has {len(result['lines'])} line(s), not {line}"
            )
    if as_json:
        print_json({**result, "lines": lines})
        return EXIT_OK
    for entry in lines:
        out(f"{entry['line']:>3}  {entry['text']}")
        out(f"     ← {_introduced(entry)}")
        for ex in entry["examples"]:
            words = f"“{ex['comment']}”" if ex.get("comment") else "(no comment)"
            out(f"       #{ex['id']} {ex['kind']} {fmt_time(ex.get('created_at'))}: {words}")
            if ex.get("corrected"):
                out(f"         corrected to: {ex['corrected'].splitlines()[0][:80]}")
    return EXIT_OK


def _introduced(entry: dict[str, Any]) -> str:
    by = entry["introduced_by"]
    first = entry.get("first_version")
    since = f", in the prompt since v{first}" if first else ""
    if by["kind"] == "version":
        return f"your {by.get('source') or 'edit'} v{by['version']}{since}"
    if by["origin"] == "seed":
        return f"the seed prompt{since}"
    text = f"candidate {by['candidate']} ({by['origin']}, iteration {by['iteration']}){since}"
    if entry["examples"]:
        text += f", from {len(entry['examples'])} feedback example(s):"
    return text


def sparkline(scores: list[float | None]) -> str:
    """One character per run: ▁ (0) to █ (1); a run with no score yet is a dot."""
    chars = []
    for s in scores:
        if s is None:
            chars.append("·")
        else:
            chars.append(_SPARKS[min(len(_SPARKS) - 1, max(0, int(s * len(_SPARKS))))])
    return "".join(chars)
