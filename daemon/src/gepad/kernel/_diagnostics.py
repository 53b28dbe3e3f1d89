"""Compiler diagnostics in the three shapes kernel toolchains print.

* nvcc's front end (EDG):   ``kernel.cu(12): error: identifier "foo" is undefined``
  (warnings carry a number: ``kernel.cu(4): warning #177-D: ...``)
* host compilers and Peano's clang: ``kernel.cu:12:5: error: ...`` (column optional)
* tools without a source position: ``ptxas error   : ...``, ``nvcc fatal   : ...``,
  ``nvlink error   : ...``, ``collect2: error: ...``, ``/usr/bin/ld: ...``

The one or two lines a compiler echoes after a diagnostic (the source line and the caret) are
kept as `context`: a model fixing the code needs to see which expression was meant.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

__all__ = ["Diagnostic", "parse_diagnostics"]

Style = Literal["nvcc", "gnu", "tool"]

_NVCC = re.compile(
    r"^(?P<file>[^\s(:][^(]*?)\((?P<line>\d+)\): "
    r"(?P<sev>catastrophic error|fatal error|error|warning|remark)"
    r"(?: #(?P<code>[\w-]+))?: (?P<msg>.*)$"
)
_GNU = re.compile(
    r"^(?P<file>[^\s:][^:]*?):(?P<line>\d+):(?:(?P<col>\d+):)? "
    r"(?P<sev>fatal error|error|warning|note): (?P<msg>.*)$"
)
_TOOL = re.compile(
    r"^(?P<tool>ptxas|nvlink|nvcc|fatbinary|cicc|cudafe\+\+|collect2|clang(?:\+\+)?|aiecc\.py)"
    r"\s*(?P<sev>fatal error|fatal|error|warning)\s*:\s*(?P<msg>.*)$"
)
_LD = re.compile(r"^(?:\S*/)?ld(?:\.\w+)?: (?P<msg>.*)$")
_ERROR_SEVERITIES = frozenset({"error", "fatal error", "catastrophic error", "fatal"})
_CONTEXT_LINES = 2


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One compiler message. `file`/`line` are None for tool-level messages."""

    severity: str
    message: str
    file: str | None = None
    line: int | None = None
    column: int | None = None
    code: str | None = None
    tool: str | None = None
    style: Style = "nvcc"
    context: tuple[str, ...] = ()

    @property
    def is_error(self) -> bool:
        return self.severity in _ERROR_SEVERITIES

    def headline(self) -> str:
        """The diagnostic in the compiler's own shape, e.g. ``k.cu(4): error: message``."""
        if self.style == "tool" or self.file is None:
            return f"{self.tool or 'tool'} {self.severity}: {self.message}"
        if self.style == "gnu":
            col = f":{self.column}" if self.column is not None else ""
            return f"{self.file}:{self.line}{col}: {self.severity}: {self.message}"
        code = f" #{self.code}" if self.code else ""
        return f"{self.file}({self.line}): {self.severity}{code}: {self.message}"

    def format(self, *, with_context: bool = True) -> str:
        if not with_context or not self.context:
            return self.headline()
        return "\n".join((self.headline(), *self.context))


def _match(line: str) -> Diagnostic | None:
    if m := _NVCC.match(line):
        return Diagnostic(
            severity=m["sev"],
            message=m["msg"].strip(),
            file=m["file"],
            line=int(m["line"]),
            code=m["code"],
            style="nvcc",
        )
    if m := _GNU.match(line):
        return Diagnostic(
            severity=m["sev"],
            message=m["msg"].strip(),
            file=m["file"],
            line=int(m["line"]),
            column=int(m["col"]) if m["col"] else None,
            style="gnu",
        )
    if m := _TOOL.match(line):
        return Diagnostic(severity=m["sev"], message=m["msg"].strip(), tool=m["tool"], style="tool")
    if m := _LD.match(line):
        return Diagnostic(severity="error", message=m["msg"].strip(), tool="ld", style="tool")
    return None


def _is_context(line: str) -> bool:
    """A source echo or caret line, as opposed to a summary or a blank."""
    stripped = line.strip()
    if not stripped:
        return False
    return not (
        re.match(r"^\d+ errors? (detected|generated)", stripped)
        or stripped.startswith(("In file included from", "ptxas info", "Compilation terminated"))
        or re.match(r"^(\S+: )?In (member )?function", stripped)
    )


def parse_diagnostics(text: str) -> tuple[Diagnostic, ...]:
    """Every diagnostic in `text`, in order, each with up to two echoed context lines."""
    found: list[Diagnostic] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        diag = _match(lines[i].rstrip())
        i += 1
        if diag is None:
            continue
        context: list[str] = []
        if diag.style != "tool":
            while (
                i < len(lines)
                and len(context) < _CONTEXT_LINES
                and _match(lines[i].rstrip()) is None
                and _is_context(lines[i])
            ):
                context.append(lines[i].rstrip())
                i += 1
        found.append(
            Diagnostic(
                severity=diag.severity,
                message=diag.message,
                file=diag.file,
                line=diag.line,
                column=diag.column,
                code=diag.code,
                tool=diag.tool,
                style=diag.style,
                context=tuple(context),
            )
        )
    return tuple(found)
