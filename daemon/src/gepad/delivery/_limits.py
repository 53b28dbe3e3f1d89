"""How much of an instruction file each assistant reads, and what gepad does past that.

A prompt past a tool's limit is cut by the tool without a word, so gepad checks every file it
writes against its target's limit. `refuse`: the file is not written (it keeps the last
version that fitted) and the delivery shows `over-limit`. `warn`: the file is written and the
delivery carries a warning. The limits and their sources are in the README's delivery table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ._types import RenderContext

__all__ = ["Limit", "Verdict", "judge", "measure"]

Unit = Literal["bytes", "chars", "lines"]

# The version number in gepad's header line can grow by a few digits before the next write;
# the room reported to the optimizer leaves that much spare.
_HEADER_SLACK = 8


def measure(text: str, unit: Unit) -> int:
    if unit == "bytes":
        return len(text.encode("utf-8", errors="surrogateescape"))
    if unit == "chars":
        return len(text)
    return text.count("\n") + (1 if text and not text.endswith("\n") else 0)


@dataclass(frozen=True, slots=True)
class Limit:
    amount: int
    unit: Unit
    enforce: Literal["refuse", "warn"]
    tool: str
    source: str  # what the tool documents, in a few words

    def as_json(self) -> dict[str, object]:
        return {
            "amount": self.amount,
            "unit": self.unit,
            "enforce": self.enforce,
            "tool": self.tool,
            "source": self.source,
        }


@dataclass(frozen=True, slots=True)
class Verdict:
    """`room`: the longest prompt (in `unit`, bytes counted as characters) that fits now."""

    room: int
    unit: Unit
    refusal: str | None = None
    warning: str | None = None


def judge(limit: Limit, full: str, body: str, where: str, ctx: RenderContext) -> Verdict:
    """Check `full` (the whole file as it would be written, `body` the prompt in it)."""
    size = measure(full, limit.unit)
    overhead = size - measure(body, limit.unit)
    slack = 0 if limit.unit == "lines" else _HEADER_SLACK
    room = max(0, limit.amount - overhead - slack)
    if size <= limit.amount:
        return Verdict(room, limit.unit)
    what = (
        f"{where}: {ctx.component} v{ctx.version} makes it {size} {limit.unit}; "
        f"{limit.tool} reads at most {limit.amount} ({limit.source})"
    )
    if limit.enforce == "refuse":
        return Verdict(room, limit.unit, refusal=f"{what}; not written, the file keeps its text")
    return Verdict(room, limit.unit, warning=f"{what}; the rest would be cut")
