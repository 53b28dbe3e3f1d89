"""Compiler logs: `file:line:col: error: message` (gcc, clang, nvcc's host side) and nvcc's
`file(line): error: message`.

The line parsing is `gepad.kernel`'s (the same shapes the kernel toolchains print); this module
groups the errors by file, one failed `compile_result` outcome per file. A tool-level error
with no source position (`ptxas error : ...`, `ld: ...`) becomes one outcome without files.
Warnings alone are not a failure and produce nothing.
"""

from __future__ import annotations

from collections import defaultdict

from gepad.outcomes._types import Outcome, clip

__all__ = ["parse_compiler_log"]


def parse_compiler_log(text: str) -> tuple[Outcome, ...]:
    # Imported here: gepad.kernel's package import costs a quarter second at daemon start.
    from gepad.kernel import parse_diagnostics

    by_file: dict[str, list[str]] = defaultdict(list)
    styles: dict[str, str] = {}
    for diag in parse_diagnostics(text):
        if not diag.is_error:
            continue
        where = diag.file if diag.file is not None else ""
        by_file[where].append(diag.format())
        styles.setdefault(where, diag.tool or diag.style)
    outcomes = []
    for where, lines in by_file.items():
        tool = "nvcc" if styles[where] == "nvcc" else ("compiler" if where else styles[where])
        outcomes.append(
            Outcome(
                kind="compile_result",
                key=f"compile:{where or tool}",
                passed=False,
                message=clip("\n".join(lines)),
                tool=tool,
                files=(where.replace("\\", "/"),) if where else (),
            )
        )
    return tuple(outcomes)
