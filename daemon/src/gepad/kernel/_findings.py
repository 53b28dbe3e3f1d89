"""What the static checks report: one `Finding` per rule broken, gathered in a `StaticReport`."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Finding", "StaticReport", "report_of"]


@dataclass(frozen=True, slots=True)
class Finding:
    rule: str
    line: int
    message: str

    def format(self) -> str:
        return f"line {self.line}: [{self.rule}] {self.message}"


@dataclass(frozen=True, slots=True)
class StaticReport:
    findings: tuple[Finding, ...]

    @property
    def ok(self) -> bool:
        return not self.findings

    def format(self, limit: int = 5) -> str:
        if self.ok:
            return "static checks: passed"
        shown = [f.format() for f in self.findings[:limit]]
        more = len(self.findings) - len(shown)
        tail = [f"... {more} more finding(s)"] if more > 0 else []
        return "\n".join(["static checks: rejected", *shown, *tail])


def report_of(findings: list[Finding]) -> StaticReport:
    """Sorted by line and rule, duplicates dropped."""
    findings.sort(key=lambda f: (f.line, f.rule))
    return StaticReport(tuple(dict.fromkeys(findings)))
