"""Deterministic checks of Python conventions a user's complaint names, for the judge to obey.

A small model judging code often claims a rule is met when it is not ("it includes type hints"
about code without any). Where the user's complaint names a well-known Python convention
(type hints, docstrings, no print calls, pathlib instead of os.path, f-strings, an explicit
encoding, no bare or blanket except, snake_case names) and the new output has Python code,
the convention is checked with `ast`; a broken one overrules a judge's pass (`Metric`). The
complaint is matched by the convention's own common names, never by any particular wording,
and a sentence that asks for the opposite ("remove the type hints") selects nothing.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["CodeCheck", "CodeFinding", "checks_named_in", "python_code", "run_checks"]

_FENCE = re.compile(r"```[ \t]*(?:python|py|python3)?[ \t]*\n(.*?)(?:\n[ \t]*```|\Z)", re.S | re.I)
_SENTENCE = re.compile(r"(?:[^.!?\n]|[.!?](?=\S))+")
_OPPOSITE = re.compile(
    r"\b(?:remove|drop|get rid of|without|too many|fewer|no more|don'?t (?:want|need|add))\b", re.I
)
_NEGATION = re.compile(
    r"\b(?:no|not|don'?t|do not|never|stop|without|remove|avoid|hate|leave (?:them |it )?out|"
    r"instead of|get rid of|drop)\b",
    re.I,
)
_SNAKE = re.compile(r"^_{0,2}[a-z][a-z0-9_]*$|^_$|^[A-Z][A-Z0-9_]*$")
_FILE_CALLS = frozenset({"open", "read_text", "write_text"})
_OS_FS = frozenset({"path", "walk", "listdir", "makedirs", "remove", "scandir", "getcwd", "mkdir"})


def python_code(text: str) -> ast.Module | None:
    """The largest parsable Python block in `text` that defines a function or class."""
    best: tuple[int, ast.Module] | None = None
    for code in [m.group(1) for m in _FENCE.finditer(text)] or [text]:
        try:
            tree = ast.parse(code)
        except (SyntaxError, ValueError):
            continue
        if not any(isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) for n in ast.walk(tree)):
            continue
        if best is None or len(code) > best[0]:
            best = (len(code), tree)
    return None if best is None else best[1]


def _functions(tree: ast.AST) -> list[ast.FunctionDef | ast.AsyncFunctionDef]:
    return [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]


def _calls(tree: ast.AST) -> list[ast.Call]:
    return [n for n in ast.walk(tree) if isinstance(n, ast.Call)]


def _name(call: ast.Call) -> str | None:
    if isinstance(call.func, ast.Name):
        return call.func.id
    return call.func.attr if isinstance(call.func, ast.Attribute) else None


def _hints(tree: ast.AST) -> str | None:
    for fn in _functions(tree):
        args = [*fn.args.posonlyargs, *fn.args.args, *fn.args.kwonlyargs]
        missing = [a.arg for a in args if a.annotation is None and a.arg not in ("self", "cls")]
        if fn.returns is None or missing:
            return f"`{fn.name}` has no type hints on {', '.join(missing) or 'its return value'}"
    return None


def _docstrings(tree: ast.AST) -> str | None:
    for fn in _functions(tree):
        if not fn.name.startswith("_") and not ast.get_docstring(fn):
            return f"`{fn.name}` has no docstring"
    return None


def _no_print(tree: ast.AST) -> str | None:
    n = sum(1 for c in _calls(tree) if isinstance(c.func, ast.Name) and c.func.id == "print")
    return f"the code still calls print() {n} time(s)" if n else None


def _pathlib(tree: ast.AST) -> str | None:
    for n in ast.walk(tree):
        if (
            isinstance(n, ast.Attribute)
            and n.attr in _OS_FS
            and isinstance(n.value, ast.Name)
            and n.value.id == "os"
        ):
            return f"the code still uses os.{n.attr}"
        if isinstance(n, ast.ImportFrom) and n.module in ("os", "os.path"):
            return f"the code still imports from {n.module}"
    return None


def _fstrings(tree: ast.AST) -> str | None:
    for n in ast.walk(tree):
        if (
            isinstance(n, ast.BinOp)
            and isinstance(n.op, ast.Mod)
            and isinstance(n.left, ast.Constant)
            and isinstance(n.left.value, str)
        ):
            return "the code still formats strings with %"
        if (
            isinstance(n, ast.Call)
            and isinstance(n.func, ast.Attribute)
            and n.func.attr == "format"
            and isinstance(n.func.value, ast.Constant)
            and isinstance(n.func.value.value, str)
        ):
            return "the code still formats strings with .format()"
    return None


def _binary(call: ast.Call) -> bool:
    first = 0 if isinstance(call.func, ast.Attribute) and call.func.attr == "open" else 1
    modes = [*call.args[first : first + 1], *(k.value for k in call.keywords if k.arg == "mode")]
    return any(isinstance(m, ast.Constant) and "b" in str(m.value) for m in modes)


def _encoding(tree: ast.AST) -> str | None:
    for c in _calls(tree):
        if (
            _name(c) in _FILE_CALLS
            and not _binary(c)
            and not any(k.arg == "encoding" for k in c.keywords)
        ):
            return f"{_name(c)}() is called without encoding="
    return None


def _specific_except(tree: ast.AST) -> str | None:
    for h in ast.walk(tree):
        if isinstance(h, ast.ExceptHandler):
            if h.type is None:
                return "the code still has a bare `except:`"
            if isinstance(h.type, ast.Name) and h.type.id in ("Exception", "BaseException"):
                return f"the code still catches {h.type.id}"
    return None


def _snake_case(tree: ast.AST) -> str | None:
    for fn in _functions(tree):
        names = [fn.name, *(a.arg for a in (*fn.args.posonlyargs, *fn.args.args))]
        names += [
            n.id for n in ast.walk(fn) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)
        ]
        for name in names:
            if not _SNAKE.match(name):
                return f"`{name}` is not snake_case"
    return None


@dataclass(frozen=True, slots=True)
class CodeCheck:
    """One convention: what in a complaint names it, whether the user wants it or wants it
    gone (`unwanted`: the sentence must also say no), and the check (a problem, or None)."""

    name: str
    cue: re.Pattern[str]
    unwanted: bool
    check: Callable[[ast.AST], str | None]


_HINTS = re.compile(r"type[- ]?hint|type annotation|annotat", re.I)
_PATHS = re.compile(r"pathlib|os\.path|os\.walk|os\.listdir", re.I)
CHECKS: tuple[CodeCheck, ...] = (
    CodeCheck("type hints", _HINTS, False, _hints),
    CodeCheck("docstrings", re.compile(r"doc[- ]?strings?", re.I), False, _docstrings),
    CodeCheck("no print", re.compile(r"\bprint(?:s|ing|\(\)|\b)", re.I), True, _no_print),
    CodeCheck("pathlib", _PATHS, False, _pathlib),
    CodeCheck("f-strings", re.compile(r"f[- ]?strings?", re.I), False, _fstrings),
    CodeCheck("encoding", re.compile(r"\bencoding\b", re.I), False, _encoding),
    CodeCheck(
        "specific exceptions",
        re.compile(r"bare\s+`?except|except\s+exception|blanket\s+except|catch[- ]all", re.I),
        False,
        _specific_except,
    ),
    CodeCheck("snake_case", re.compile(r"snake[_ ]?case|camel[_ ]?case", re.I), False, _snake_case),
)  # fmt: skip


def checks_named_in(complaint: str) -> list[CodeCheck]:
    """The conventions `complaint` asks for, sentence by sentence."""
    found: list[CodeCheck] = []
    for sentence in _SENTENCE.findall(complaint or ""):
        for c in CHECKS:
            if c in found or not c.cue.search(sentence):
                continue
            if c.unwanted and not _NEGATION.search(sentence):
                continue
            if not c.unwanted and _OPPOSITE.search(sentence):
                continue
            found.append(c)
    return found


@dataclass(frozen=True, slots=True)
class CodeFinding:
    """The outcome of the named checks on one output: `problems` by convention name."""

    checked: tuple[str, ...]
    problems: tuple[tuple[str, str], ...]


def run_checks(complaint: str, output: str) -> CodeFinding | None:
    """Run the conventions `complaint` names on `output`'s code; None when none applies."""
    named = checks_named_in(complaint)
    if not named:
        return None
    tree = python_code(output)
    if tree is None:
        return None
    problems = [(c.name, p) for c in named if (p := c.check(tree)) is not None]
    return CodeFinding(tuple(c.name for c in named), tuple(problems))
