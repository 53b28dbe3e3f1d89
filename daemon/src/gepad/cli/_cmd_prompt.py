"""`gepad prompt [show|history|diff A B|set --file F|rollback V|pin|unpin|approve V|reject V|
why [--line N]]`."""

from __future__ import annotations

import argparse
import difflib
import sys
from typing import Any

from gepad.cli._errors import EXIT_OK, EXIT_USAGE, CliError
from gepad.cli._output import fmt_score, fmt_time, one_line, out, print_json, table
from gepad.cli._rpc import with_client
from gepad_client import GepadClient, PromptState, PromptVersionInfo

__all__ = ["read_text_arg", "run"]

# How far back `prompt diff` looks; the daemon caps history pages at this size or less.
_DIFF_HISTORY_LIMIT = 500


def run(args: argparse.Namespace) -> int:
    action = args.action or "show"
    component: str = getattr(args, "component", "general")
    as_json: bool = getattr(args, "json", False)
    if action == "show":
        state = with_client(lambda c: c.get_prompt(component))
        _emit_state(state, as_json, headline=None)
    elif action == "history":
        history = with_client(lambda c: c.prompt_history(component, limit=args.limit))
        if as_json:
            print_json(history)
        else:
            _print_history(history["component"], history["versions"])
    elif action == "diff":
        return _diff(component, args.a, args.b, as_json)
    elif action == "set":
        text = read_text_arg(args.file, "--file")
        state = with_client(lambda c: c.set_prompt(text, component=component))
        _emit_state(state, as_json, headline=f"{component} is now v{state['version']} (user edit)")
    elif action == "rollback":
        state = with_client(lambda c: c.rollback(args.version, component=component))
        _emit_state(
            state,
            as_json,
            headline=f"{component} rolled back to v{args.version}'s text as v{state['version']}",
        )
    elif action in ("pin", "unpin"):
        pinned = action == "pin"
        state = with_client(lambda c: c.pin(pinned, component=component))
        word = "pinned at" if pinned else "unpinned; current is"
        _emit_state(state, as_json, headline=f"{component} {word} v{state['version']}")
    elif action == "approve":
        state = with_client(lambda c: c.approve(args.version, component=component))
        _emit_state(
            state, as_json, headline=f"{component} v{args.version} approved; it is now current"
        )
    elif action == "reject":
        params = {"component": component, "version": args.version}
        state = with_client(lambda c: c.call("prompt.reject", params))
        _emit_state(
            state,
            as_json,
            headline=f"{component} v{args.version} rejected; v{state['version']} stays current",
        )
    elif action == "why":
        from gepad.cli._cmd_dashboard import why

        return why(component, args.version, args.line, as_json)
    else:  # argparse only lets the actions above through
        raise CliError(f"unknown prompt action {action!r}", EXIT_USAGE)
    return EXIT_OK


def read_text_arg(path: str, option: str) -> str:
    """The contents of the file named by `option` ('-' reads stdin), or a clear CliError."""
    if path == "-":
        return sys.stdin.read()
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except FileNotFoundError:
        raise CliError(f"{option} {path}: no such file", EXIT_USAGE) from None
    except IsADirectoryError:
        raise CliError(f"{option} {path}: is a directory, not a file", EXIT_USAGE) from None
    except UnicodeDecodeError:
        raise CliError(f"{option} {path}: not UTF-8 text", EXIT_USAGE) from None
    except OSError as exc:
        raise CliError(f"{option} {path}: {exc.strerror}", EXIT_USAGE) from None


def _emit_state(state: PromptState, as_json: bool, *, headline: str | None) -> None:
    if as_json:
        print_json(state)
        return
    if headline:
        out(headline)
        return
    flags = ["pinned"] if state.get("pinned") else []
    out(
        f"{state['component']} v{state['version']}  score {fmt_score(state.get('score'))}  "
        f"source {state.get('source', '-')}  {fmt_time(state.get('created_at'))}"
        + (f"  [{', '.join(flags)}]" if flags else "")
    )
    pending = state.get("pending")
    if pending:
        out(
            f"pending: v{pending['version']} (score {fmt_score(pending.get('score'))}); "
            f"`gepad prompt approve {pending['version']}` makes it current"
        )
    out("-" * 60)
    out(state["text"].rstrip("\n"))


def _print_history(component: str, versions: list[PromptVersionInfo]) -> None:
    if not versions:
        out(f"{component}: no versions")
        return
    rows = [
        [
            f"v{v['version']}",
            v.get("status", "-"),
            v.get("source", "-"),
            fmt_score(v.get("score")),
            fmt_time(v.get("created_at")),
            one_line(v.get("text"), 50),
        ]
        for v in versions
    ]
    out(table(["VERSION", "STATUS", "SOURCE", "SCORE", "CREATED", "TEXT"], rows))


def _diff(component: str, a: int, b: int | None, as_json: bool) -> int:
    async def fetch(c: GepadClient) -> tuple[int, dict[int, str]]:
        current = await c.get_prompt(component)
        wanted = [a, current["version"] if b is None else b]
        oldest = min(wanted)
        # History is newest first and holds versions above the current one (pending,
        # rejected, held): size the request from the newest version, not the current one.
        newest = await c.prompt_history(component, limit=1)
        top = max([current["version"], *(v["version"] for v in newest["versions"])])
        limit = max(1, min(top - oldest + 1, _DIFF_HISTORY_LIMIT))
        history = await c.prompt_history(component, limit=limit)
        texts = {v["version"]: v["text"] for v in history["versions"]}
        pending = current.get("pending")
        if pending and "text" in pending:
            texts.setdefault(pending["version"], pending["text"])
        return wanted[1], texts

    b_version, texts = with_client(fetch)
    for version in (a, b_version):
        if version not in texts:
            raise CliError(f"{component} has no version {version}")
    diff = "".join(
        difflib.unified_diff(
            _lines(texts[a]),
            _lines(texts[b_version]),
            fromfile=f"{component} v{a}",
            tofile=f"{component} v{b_version}",
        )
    )
    if as_json:
        result: dict[str, Any] = {"component": component, "a": a, "b": b_version, "diff": diff}
        print_json(result)
    elif diff:
        sys.stdout.write(diff)
    else:
        out(f"{component} v{a} and v{b_version} have the same text")
    return EXIT_OK


def _lines(text: str) -> list[str]:
    # A last line without a newline would run into the next diff line.
    return (text if text.endswith("\n") else text + "\n").splitlines(keepends=True)
