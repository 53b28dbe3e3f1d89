"""What a parsed report yields: one `Outcome` per test case or per file with errors."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

__all__ = ["MAX_MESSAGE_CHARS", "Outcome", "OutcomeKind", "ReportFormat", "clip"]

OutcomeKind = Literal["test_result", "compile_result"]
ReportFormat = Literal["junit", "diagnostics", "sarif"]

# A failure message is feedback for a model; tens of KB of log help nobody and cost tokens.
MAX_MESSAGE_CHARS: Final = 8000


@dataclass(frozen=True, slots=True)
class Outcome:
    """One test case or one file's diagnostics, as a report states it.

    `key` identifies the same test (or the same file's compile) across runs, so that a later
    pass can be matched to an earlier failure. `files` are the paths the report names, as it
    names them (relative or absolute); `under_test` are basenames of files a test exercises by
    naming convention (`test_calc.py` tests `calc.py`).
    """

    kind: OutcomeKind
    key: str
    passed: bool
    message: str
    tool: str
    files: tuple[str, ...] = ()
    under_test: tuple[str, ...] = ()
    test: str | None = None


def clip(text: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    text = text.strip()
    if len(text) <= limit:
        return text
    half = limit // 2
    return f"{text[:half]}\n[... {len(text) - 2 * half} characters cut ...]\n{text[-half:]}"
