"""The reflection and merge prompts, as data, and tolerant parsing of the answers.

The engine never talks to an LLM. It renders these templates into a request; the caller sends
the text and hands back whatever came back. Parsing lives here so that garbage from any model
becomes a rejected proposal with a reason, never an exception.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from ._types import ReflectiveRecord

__all__ = [
    "CONDENSE_TEMPLATE",
    "MERGE_TEMPLATE",
    "REFLECTION_TEMPLATE",
    "ParsedText",
    "parse_instruction_block",
    "render_condense",
    "render_merge",
    "render_reflection",
]

REFLECTION_TEMPLATE = """\
I gave an assistant the following instructions to do a task for me:
```
{current}
```

Below are task inputs the assistant received, the assistant's response to each, and feedback on \
how each response could be better. The feedback comes from the person the assistant works for; \
treat their own words as the ground truth about what they want.
{records}

Write a new version of the instructions for the assistant.
- Keep every instruction from the current version that is still right; drop none by accident.
- Add what the feedback teaches, stated as general rules that will hold for future tasks, not \
as notes about these particular inputs.
- Stay concise: one rule per line, no duplicates.

Answer with the new instructions inside a single ``` block and nothing else inside it.
"""

RECORD_TEMPLATE = """\
### Example {n} (score {score})
Input:
{input}

Response:
{output}

Feedback:
{feedback}
"""

MERGE_TEMPLATE = """\
Two versions of an assistant's instructions were improved separately from a common ancestor. \
Each learned something the other did not.

Common ancestor:
```
{ancestor}
```

Version A:
```
{a}
```

Version B:
```
{b}
```

Write one coherent set of instructions that keeps every useful rule from both versions, removes \
duplicates and resolves contradictions in favour of the more specific rule.

Answer with the merged instructions inside a single ``` block and nothing else inside it.
"""

CONDENSE_TEMPLATE = """\
The following instructions for an assistant are too long: {length} characters, and the limit \
is {limit}. Rewrite them to fit the limit. Keep every distinct rule; merge overlapping ones; \
drop examples and repetition before rules.
```
{current}
```

Answer with the shortened instructions inside a single ``` block and nothing else inside it.
"""

_FENCE = re.compile(r"```[ \t]*([A-Za-z0-9_+-]*)[ \t]*\n(.*?)\n?[ \t]*```", re.S)
_TAGGED = re.compile(r"<new_instructions>(.*?)</new_instructions>", re.S | re.I)
# An answer longer than this many times the budget is runaway generation, not a prompt.
_MAX_ANSWER_FACTOR = 4


@dataclass(frozen=True, slots=True)
class ParsedText:
    """Either `text` (the new instructions) or `error` (why the answer was rejected)."""

    text: str | None
    error: str | None


def _fence_safe(text: str) -> str:
    # Feedback or outputs may contain ``` themselves; keep them from closing our blocks.
    return text.replace("```", "'''")


def render_reflection(current: str, records: Sequence[ReflectiveRecord]) -> str:
    rendered = "\n".join(
        RECORD_TEMPLATE.format(
            n=i + 1,
            score="unscored" if r.score is None else f"{r.score:.2f}",
            input=_fence_safe(r.input) or "(not recorded)",
            output=_fence_safe(r.output) or "(empty)",
            feedback=_fence_safe(r.feedback) or "(no feedback)",
        )
        for i, r in enumerate(records)
    )
    return REFLECTION_TEMPLATE.format(current=_fence_safe(current), records=rendered)


def render_merge(ancestor: str, a: str, b: str) -> str:
    return MERGE_TEMPLATE.format(ancestor=_fence_safe(ancestor), a=_fence_safe(a), b=_fence_safe(b))


def render_condense(current: str, limit: int) -> str:
    return CONDENSE_TEMPLATE.format(current=_fence_safe(current), length=len(current), limit=limit)


def parse_instruction_block(answer: object, *, max_chars: int) -> ParsedText:
    """Extract the instructions from an LLM answer; any malformation is a reason, not a raise."""
    if not isinstance(answer, str):
        return ParsedText(None, f"answer is {type(answer).__name__}, not text")
    if "\x00" in answer:
        return ParsedText(None, "answer contains NUL bytes")
    if len(answer) > max_chars * _MAX_ANSWER_FACTOR + 1000:
        return ParsedText(None, f"answer is {len(answer)} characters, far over the budget")
    blocks = [m.group(2) for m in _FENCE.finditer(answer)]
    if not blocks:
        blocks = [m.group(1) for m in _TAGGED.finditer(answer)]
    if not blocks:
        if answer.count("```") % 2 == 1:
            return ParsedText(None, "answer has an unterminated ``` block (truncated?)")
        return ParsedText(None, "answer has no ``` block with instructions")
    # Models sometimes quote the old text first; the instructions are the last block.
    text = blocks[-1].strip()
    if not text:
        return ParsedText(None, "the instruction block is empty")
    if not any(ch.isalpha() for ch in text):
        return ParsedText(None, "the instruction block has no words")
    return ParsedText(text, None)
