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

# The records come first and the current instructions last, right before the answer is asked
# for: with the instructions in a block at the top, Qwen2.5-Coder-1.5B answered every reflection
# of a short prompt with that block unchanged (4 of 4 in a daemon run, 2026-12-03); with this
# order it wrote the rules the feedback asked for. Small wording changes flip a 1.5B model back
# to copying (a variant asking also for "no duplicates" did): change this text only with a
# real-model probe (bench/realmodel).
REFLECTION_TEMPLATE = """\
An assistant follows written instructions. Below are tasks it did, its responses, and the \
feedback of the person it works for. Treat their words as the ground truth about what they want.
{records}

These were the assistant's instructions:
```
{current}
```

Your job: write the assistant's NEW instructions. Do not answer the tasks and do not write \
code. Start from the current instructions and add one short rule for each thing the feedback \
asks for that they do not say yet, stated as a general rule for future tasks. Keep every \
current instruction that is still right. One rule per line.

Answer with the new instructions inside a single ``` block and nothing else inside it. \
For instance, if the instructions were "You are a travel agent." and the feedback asked for \
prices in euros and for shorter answers, the answer would be:
```
You are a travel agent.
- Give every price in euros.
- Keep answers under five sentences.
```
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


def _example_lines() -> frozenset[str]:
    """The lines of the reflection template's worked example, normalised."""
    example = REFLECTION_TEMPLATE.rsplit("```", 2)[-2]
    return frozenset(_norm(line) for line in example.splitlines() if _norm(line))


def _norm(line: str) -> str:
    return " ".join(re.sub(r"^\s*(?:[-*+]|\d+[.)])\s+", "", line).lower().split())


_LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+\S")
_LANG_LINE = re.compile(r"^(?:python|text|markdown|md|plaintext|txt|instructions)\s*$", re.I)
# An answer that asks for instructions (or for the task) instead of giving them.
_ASKS = re.compile(
    r"\b(?:please|kindly)\s+(?:provide|give|share|send)\b.{0,40}\b(?:instructions|task)\b",
    re.I | re.S,
)
_EXAMPLE_LINES = _example_lines()


def _salvage_unterminated(answer: str) -> str | None:
    """The complete lines after an unclosed fence (a cut answer), if there are at least two."""
    body = answer[answer.rindex("```") + 3 :]
    body = body.split("\n", 1)[1] if "\n" in body else ""
    lines = body.split("\n")
    if not answer.endswith("\n"):
        lines = lines[:-1]  # the last line was cut mid-way
    kept = [line for line in lines if line.strip()]
    return "\n".join(kept) if len(kept) >= 2 else None


def _unfenced_list(answer: str) -> str | None:
    """An answer without any fence that is plainly a list of rules (two or more items)."""
    lines = [line for line in answer.strip().splitlines() if line.strip()]
    if sum(1 for line in lines if _LIST_ITEM.match(line)) < 2:
        return None
    if lines and lines[0].rstrip().endswith(":") and not _LIST_ITEM.match(lines[0]):
        lines = lines[1:]  # "Here are the new instructions:"
    return "\n".join(lines)


def _clean(text: str) -> tuple[str, int]:
    """Drop a stray language line, duplicate lines and copies of the template's example."""
    lines = text.strip().splitlines()
    if lines and _LANG_LINE.match(lines[0].strip()):
        lines = lines[1:]
    kept: list[str] = []
    seen: set[str] = set()
    copied = 0
    for line in lines:
        key = _norm(line)
        if key and key in _EXAMPLE_LINES:
            copied += 1
            continue
        if key and key in seen:
            continue
        seen.add(key)
        kept.append(line.rstrip())
    return "\n".join(kept).strip(), copied


def parse_instruction_block(answer: object, *, max_chars: int) -> ParsedText:
    """Extract the instructions from an LLM answer; any malformation is a reason, not a raise.

    Real models shape the block loosely: a cut answer's complete lines after an unclosed fence
    are kept (two at least), an answer with no fence at all that is plainly a list of rules is
    taken as it is, and a stray language line, repeated lines and lines copied from the
    template's worked example are dropped. An answer that only copies the example, or that asks
    for instructions instead of giving them, is rejected.
    """
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
        found = (
            _salvage_unterminated(answer)
            if answer.count("```") % 2 == 1
            else _unfenced_list(answer)
            if "```" not in answer
            else None
        )
        if found is None:
            if answer.count("```") % 2 == 1:
                return ParsedText(None, "answer has an unterminated ``` block (truncated?)")
            return ParsedText(None, "answer has no ``` block with instructions")
        blocks = [found]
    # Models sometimes quote the old text first; the instructions are the last block.
    text, copied = _clean(blocks[-1])
    if not text:
        if copied:
            return ParsedText(None, "the answer only copies the template's example")
        return ParsedText(None, "the instruction block is empty")
    if not any(ch.isalpha() for ch in text):
        return ParsedText(None, "the instruction block has no words")
    if _ASKS.search(text):
        return ParsedText(None, "the answer asks for instructions instead of giving them")
    return ParsedText(text, None)
