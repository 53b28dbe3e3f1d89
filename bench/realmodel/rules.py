"""Code-checked rules for the real-model learning benchmark, and the simulated user's words.

Every rule is an `ast` check on the Python code in an answer. A check returns True (met),
False (broken) or None (does not apply to this code: no file is opened, no exception is
caught, ...). An answer's compliance is the share of applicable rules it meets; an answer with
no parsable Python code meets none (score 0). The simulated user turns broken rules into a
complaint in their own words, picked from several wordings per rule, so the daemon never sees
the checks' names.
"""

from __future__ import annotations

import ast
import random
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

__all__ = ["RULES", "Rule", "Verdict", "check", "complaint", "extract_code"]

_FENCE = re.compile(r"```[ \t]*(?:python|py)?[ \t]*\n(.*?)(?:\n[ \t]*```|\Z)", re.S | re.I)
_SNAKE = re.compile(r"^_{0,2}[a-z][a-z0-9_]*$|^_$")
_CONST = re.compile(r"^[A-Z][A-Z0-9_]*$")
_FILE_CALLS = {"open", "read_text", "write_text"}


def extract_code(answer: str) -> str | None:
    """The largest parsable Python block in `answer` (or the whole answer), else None."""
    candidates = [m.group(1) for m in _FENCE.finditer(answer)] or [answer]
    best: str | None = None
    for code in candidates:
        try:
            ast.parse(code)
        except SyntaxError:
            continue
        if best is None or len(code) > len(best):
            best = code
    if best is not None and not any(
        isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
        for n in ast.walk(ast.parse(best))
    ):
        return None  # prose that happens to parse, or code with no function at all
    return best


def _functions(tree: ast.AST) -> list[ast.FunctionDef | ast.AsyncFunctionDef]:
    return [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]


def _hints(tree: ast.AST) -> bool | None:
    fns = _functions(tree)
    if not fns:
        return None
    for fn in fns:
        args = [*fn.args.posonlyargs, *fn.args.args, *fn.args.kwonlyargs]
        args = [a for a in args if a.arg not in ("self", "cls")]
        if fn.returns is None or any(a.annotation is None for a in args):
            return False
    return True


def _docstrings(tree: ast.AST) -> bool | None:
    fns = [f for f in _functions(tree) if not f.name.startswith("_")]
    if not fns:
        return None
    return all(ast.get_docstring(f) for f in fns)


def _call_name(node: ast.Call) -> str | None:
    if isinstance(node.func, ast.Name):
        return node.func.id
    if isinstance(node.func, ast.Attribute):
        return node.func.attr
    return None


def _calls(tree: ast.AST) -> list[ast.Call]:
    return [n for n in ast.walk(tree) if isinstance(n, ast.Call)]


def _no_print(tree: ast.AST) -> bool | None:
    return not any(isinstance(c.func, ast.Name) and c.func.id == "print" for c in _calls(tree))


def _is_os(node: ast.AST, attr: str) -> bool:
    return (
        isinstance(node, ast.Attribute)
        and node.attr == attr
        and isinstance(node.value, ast.Name)
        and node.value.id == "os"
    )


def _pathlib(tree: ast.AST) -> bool | None:
    os_fs = ("path", "walk", "listdir", "makedirs", "remove", "scandir", "getcwd", "mkdir")
    uses_os = any(_is_os(n, a) for n in ast.walk(tree) for a in os_fs)
    imports_os_path = any(
        isinstance(n, ast.ImportFrom) and n.module in ("os", "os.path") for n in ast.walk(tree)
    ) or any(
        isinstance(n, ast.Import) and any(a.name == "os.path" for a in n.names)
        for n in ast.walk(tree)
    )
    touches_files = (
        uses_os
        or imports_os_path
        or any(
            _call_name(c) in (_FILE_CALLS | {"Path", "glob", "rglob", "iterdir"})
            for c in _calls(tree)
        )
    )
    if not touches_files:
        return None
    return not (uses_os or imports_os_path)


def _fstrings(tree: ast.AST) -> bool | None:
    old = False
    for n in ast.walk(tree):
        if (
            isinstance(n, ast.BinOp)
            and isinstance(n.op, ast.Mod)
            and isinstance(n.left, ast.Constant)
            and isinstance(n.left.value, str)
        ):
            old = True
        if (
            isinstance(n, ast.Call)
            and isinstance(n.func, ast.Attribute)
            and n.func.attr == "format"
            and isinstance(n.func.value, ast.Constant)
            and isinstance(n.func.value.value, str)
        ):
            old = True
    new = any(isinstance(n, ast.JoinedStr) for n in ast.walk(tree))
    if not (old or new):
        return None
    return not old


def _binary(call: ast.Call) -> bool:
    modes = [a for a in call.args[1:2]] + [k.value for k in call.keywords if k.arg == "mode"]
    if isinstance(call.func, ast.Attribute) and call.func.attr == "open":
        modes = [a for a in call.args[:1]] + [k.value for k in call.keywords if k.arg == "mode"]
    return any(isinstance(m, ast.Constant) and "b" in str(m.value) for m in modes)


def _encoding(tree: ast.AST) -> bool | None:
    calls = [c for c in _calls(tree) if _call_name(c) in _FILE_CALLS and not _binary(c)]
    if not calls:
        return None
    return all(any(k.arg == "encoding" for k in c.keywords) for c in calls)


def _no_bare_except(tree: ast.AST) -> bool | None:
    handlers = [n for n in ast.walk(tree) if isinstance(n, ast.ExceptHandler)]
    if not handlers:
        return None
    for h in handlers:
        if h.type is None:
            return False
        if isinstance(h.type, ast.Name) and h.type.id in ("Exception", "BaseException"):
            return False
    return True


def _snake_case(tree: ast.AST) -> bool | None:
    fns = _functions(tree)
    if not fns:
        return None
    names = [f.name for f in fns]
    for fn in fns:
        names += [a.arg for a in (*fn.args.posonlyargs, *fn.args.args, *fn.args.kwonlyargs)]
        for n in ast.walk(fn):
            if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store):
                names.append(n.id)
    return all(_SNAKE.match(n) or _CONST.match(n) for n in names)


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    check: Callable[[ast.AST], bool | None]
    wordings: tuple[str, ...]  # how the simulated user complains when it is broken


RULES: tuple[Rule, ...] = (
    Rule("type_hints", _hints, (
        "No type hints again. I want type hints on every parameter and every return value.",
        "Please annotate your functions: argument types and the return type, always.",
        "Where are the type annotations? Every function signature needs them.",
    )),
    Rule("docstrings", _docstrings, (
        "Every public function needs a docstring, you skipped it.",
        "Add a docstring to each function saying what it does.",
        "Missing docstrings. I document every function I write.",
    )),
    Rule("no_print", _no_print, (
        "Don't print anything, not even in an example. Return values instead.",
        "No print() calls in my code please, no demo prints either.",
        "I hate print statements in code I paste. Leave them out entirely.",
    )),
    Rule("pathlib", _pathlib, (
        "Stop using os.path and os.walk, use pathlib for anything with files.",
        "Use pathlib.Path for file system work, not the os module.",
        "os.path again... I only use pathlib.",
    )),
    Rule("f_strings", _fstrings, (
        "Use f-strings, not % formatting or .format().",
        "Old-style string formatting. Please write f-strings.",
        "I want f-strings for formatting, never str.format.",
    )),
    Rule("encoding", _encoding, (
        "You forgot encoding='utf-8' when opening the file.",
        "Always pass an explicit encoding when you open or read text files.",
        "Text files must be opened with encoding='utf-8', every time.",
    )),
    Rule("no_broad_except", _no_bare_except, (
        "Never catch bare except or Exception, catch the specific error.",
        "Don't swallow every exception with a blanket except; name the exception you expect.",
        "A bare `except:` (or `except Exception`) is not OK. Be specific.",
    )),
    Rule("snake_case", _snake_case, (
        "Names must be snake_case, no camelCase.",
        "Please use snake_case for function and variable names.",
        "camelCase is not Python style, use snake_case names.",
    )),
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Verdict:
    """The checks on one answer: `met`/`broken` rule ids; `score` the share met."""

    has_code: bool
    met: tuple[str, ...]
    broken: tuple[str, ...]

    @property
    def score(self) -> float:
        if not self.has_code:
            return 0.0
        applicable = len(self.met) + len(self.broken)
        return len(self.met) / applicable if applicable else 1.0


def check(answer: str) -> Verdict:
    code = extract_code(answer)
    if code is None:
        return Verdict(False, (), tuple(r.id for r in RULES))
    tree = ast.parse(code)
    met: list[str] = []
    broken: list[str] = []
    for rule in RULES:
        result = rule.check(tree)
        if result is True:
            met.append(rule.id)
        elif result is False:
            broken.append(rule.id)
    return Verdict(True, tuple(met), tuple(broken))


def complaint(verdict: Verdict, rng: random.Random, *, most: int = 2) -> str | None:
    """The simulated user's complaint about the first `most` broken rules, or None if happy."""
    if not verdict.has_code:
        return "That is not what I asked for: I wanted a Python function, as code."
    by_id = {r.id: r for r in RULES}
    broken: Sequence[str] = verdict.broken[:most]
    if not broken:
        return None
    return " ".join(rng.choice(by_id[b].wordings) for b in broken)
