"""What the drift detector asks a model and how it reads the answers; the undo test on diffs.

Three templates, each answered with one strict JSON object (bare, or alone in one ``` fence):
- `CONTRADICTION_TEMPLATE`: which older feedback items a NEW item contradicts,
  `{"contradictions": [{"newer": id, "older": id, "reason": str}]}`;
- `FORGET_TEMPLATE`: which feedback items are about a rule the user drops, `{"about": [ids]}`;
- `REMOVE_RULE_TEMPLATE`: the instructions rewritten without that rule, inside one ``` block;
- `SUPERSEDE_TEMPLATE`: the instructions rewritten so that newer feedback replaces the older
  feedback it contradicted (pairs of items, older then NEW), inside one ``` block.

An answer that is not exactly that (not JSON, unknown keys, ids that were not asked about, a
"newer" that is not NEW, an "older" that is not older) is rejected whole with a reason
(`DriftAnswerError`); nothing is retired on it.

A correction *undoes* an earlier one when the edits it makes (token-level chunks replaced,
`correction_edits`) are mostly the earlier correction's edits reversed (`undoes`).
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any, Final

from gepad.errors import GepadError
from gepad.store import Example

__all__ = [
    "CONTRADICTION_TEMPLATE",
    "FORGET_TEMPLATE",
    "ITEM_HEADER",
    "REMOVE_RULE_TEMPLATE",
    "SUPERSEDE_TEMPLATE",
    "Contradiction",
    "DriftAnswerError",
    "correction_edits",
    "feedback_text",
    "item_text",
    "parse_contradictions",
    "parse_forget",
    "parse_instructions",
    "render_contradiction",
    "render_forget",
    "render_remove_rule",
    "render_supersede",
    "undoes",
]

ITEM_HEADER: Final = "### Item {id} ({age})"
_ITEM_TEXT_CHARS = 900
_REQUEST_CHARS = 200
_LIKED_CHARS = 400

CONTRADICTION_TEMPLATE: Final = """\
A user teaches an AI coding assistant through feedback on its outputs. People change their
minds: a newer piece of feedback can ask for the opposite of an older one (a team switches from
tabs to spaces, or adopts a new error style). Below is this user's feedback, oldest first. Each
item has an id; the items marked NEW have just arrived.

{items}

Which older items does a NEW item contradict, so that no output could satisfy both? Count only
real contradictions about the same thing, not unrelated requests, and not an older item that
the newer one repeats or refines.
Answer with one JSON object and nothing else:
{{"contradictions": [{{"newer": <id of a NEW item>, "older": <id of an older item>, \
"reason": "<a few words>"}}]}}
Answer {{"contradictions": []}} when there are none."""

FORGET_TEMPLATE: Final = """\
A user teaches an AI coding assistant through feedback on its outputs. The user now wants to
drop this rule altogether:

RULE TO DROP: {rule}

Below is the user's feedback. Each item has an id.

{items}

Which items are about that rule (they ask for it, or complain that it was not followed)?
Answer with one JSON object and nothing else: {{"about": [<ids>]}}
Answer {{"about": []}} when none is."""

REMOVE_RULE_TEMPLATE: Final = """\
Below are the instructions an AI coding assistant follows. The user has dropped this rule:

RULE TO DROP: {rule}

Rewrite the instructions without that rule: remove every instruction that asks for it, and
keep everything else exactly as it is.

```
{current}
```

Return the new instructions inside one ``` block and nothing else."""

SUPERSEDE_TEMPLATE: Final = """\
Below are the instructions an AI coding assistant follows for one user. The user has changed
their mind: each NEW piece of feedback below replaces the older one just before it.

{pairs}

Rewrite the instructions so that they no longer ask for what the older feedback asked for, and
ask for what the NEW feedback asks for instead. Keep every other instruction exactly as it is.

```
{current}
```

Return the new instructions inside one ``` block and nothing else."""

_FENCED_JSON: Final = re.compile(r"\A\s*```(?:json)?[ \t]*\n(?P<body>.*?)\n?```\s*\Z", re.S)
_BLOCK: Final = re.compile(r"```[^\n`]*\n(?P<body>.*?)\n?```", re.S)
# Newlines apart from other whitespace: an indentation change is its own edit.
_TOKEN: Final = re.compile(r"\n|[^\S\n]+|\w+|[^\w\s]")


class DriftAnswerError(GepadError):
    """A model's answer to a drift template was not the JSON it asks for."""


@dataclass(frozen=True, slots=True)
class Contradiction:
    newer: int
    older: int
    reason: str


def feedback_text(example: Example) -> str:
    """The user's own words of an example: the comment, then the correction as a diff."""
    parts: list[str] = []
    if example.comment and example.comment.strip():
        parts.append(example.comment.strip())
    if example.corrected is not None and example.corrected != example.output:
        diff = "\n".join(
            difflib.unified_diff(
                example.output.splitlines(), example.corrected.splitlines(), lineterm="", n=1
            )
        )
        parts.append(f"The user corrected the output:\n{diff}")
    text = "\n".join(parts)
    return text if len(text) <= _ITEM_TEXT_CHARS else text[: _ITEM_TEXT_CHARS - 3] + "..."


def item_text(example: Example) -> str:
    """What an item shows: the request, then the user's words, or the output they liked."""
    request = " ".join(example.context.split())[:_REQUEST_CHARS]
    words = feedback_text(example)
    if not words and example.kind == "thumbs_up" and example.output.strip():
        words = "The user liked this output:\n" + example.output.strip()[:_LIKED_CHARS]
    if not words:
        return ""
    return f"Request: {request}\n{words}" if request else words


def _items(examples: Sequence[Example], new_ids: Collection[int]) -> str:
    blocks = []
    for e in sorted(examples, key=lambda x: x.id):
        age = "NEW" if e.id in new_ids else "older"
        # A "###" at the start of a line is the only thing that could pass for a header.
        text = item_text(e).replace("\n###", "\n #")
        blocks.append(ITEM_HEADER.format(id=e.id, age=age) + "\n" + text)
    return "\n\n".join(blocks)


def render_contradiction(examples: Sequence[Example], new_ids: Collection[int]) -> str:
    return CONTRADICTION_TEMPLATE.format(items=_items(examples, new_ids))


def render_forget(rule: str, examples: Sequence[Example]) -> str:
    items = _items(examples, ()).replace(" (older)", "")
    return FORGET_TEMPLATE.format(rule=" ".join(rule.split()), items=items)


def render_supersede(pairs: Sequence[tuple[Example, Example]], current: str) -> str:
    """`pairs`: (older, newer) examples, the newer one contradicting the older one."""
    blocks = []
    for older, newer in pairs:
        for e, age in ((older, "older"), (newer, "NEW")):
            text = item_text(e).replace("\n###", "\n #")
            blocks.append(ITEM_HEADER.format(id=e.id, age=age) + "\n" + text)
    return SUPERSEDE_TEMPLATE.format(
        pairs="\n\n".join(blocks), current=current.replace("```", "'''")
    )


def render_remove_rule(rule: str, current: str) -> str:
    return REMOVE_RULE_TEMPLATE.format(
        rule=" ".join(rule.split()), current=current.replace("```", "'''")
    )


def _json_object(text: str, keys: frozenset[str]) -> dict[str, Any]:
    m = _FENCED_JSON.match(text)
    body = m.group("body") if m else text.strip()
    try:
        data = json.loads(body)
    except json.JSONDecodeError as exc:
        raise DriftAnswerError(f"the answer is not JSON ({exc.msg}): {text[:120]!r}") from None
    if not isinstance(data, dict):
        raise DriftAnswerError(f"the answer is not a JSON object: {text[:120]!r}")
    if set(data) != keys:
        raise DriftAnswerError(
            f"the answer's keys are {sorted(data)}, expected exactly {sorted(keys)}"
        )
    return data


def _an_id(value: object, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise DriftAnswerError(f"{where} must be an item id (an integer), got {value!r}")
    return value


def parse_contradictions(
    text: str, asked: Collection[int], new_ids: Collection[int]
) -> list[Contradiction]:
    """The contradictions in a strict answer; raises `DriftAnswerError` with the reason."""
    raw = _json_object(text, frozenset({"contradictions"}))["contradictions"]
    if not isinstance(raw, list):
        raise DriftAnswerError("'contradictions' must be a list")
    out: list[Contradiction] = []
    for n, entry in enumerate(raw, start=1):
        where = f"contradiction #{n}"
        if not isinstance(entry, dict) or not {"newer", "older"} <= set(entry) <= {
            "newer",
            "older",
            "reason",
        }:
            raise DriftAnswerError(f"{where} must be an object of newer, older and reason")
        newer = _an_id(entry["newer"], f"{where}: 'newer'")
        older = _an_id(entry["older"], f"{where}: 'older'")
        reason = entry.get("reason", "")
        if not isinstance(reason, str):
            raise DriftAnswerError(f"{where}: 'reason' must be a string")
        for value in (newer, older):
            if value not in asked:
                raise DriftAnswerError(f"{where}: item {value} was not asked about")
        if newer not in new_ids:
            raise DriftAnswerError(f"{where}: 'newer' item {newer} is not a NEW item")
        if older >= newer:
            raise DriftAnswerError(f"{where}: item {older} is not older than item {newer}")
        out.append(Contradiction(newer, older, " ".join(reason.split())[:200]))
    return out


def parse_forget(text: str, asked: Collection[int]) -> list[int]:
    raw = _json_object(text, frozenset({"about"}))["about"]
    if not isinstance(raw, list):
        raise DriftAnswerError("'about' must be a list of item ids")
    ids = [_an_id(v, "'about'") for v in raw]
    unknown = sorted(set(ids) - set(asked))
    if unknown:
        raise DriftAnswerError(f"items {unknown} were not asked about")
    return sorted(set(ids))


def parse_instructions(text: str) -> str:
    """The instructions inside the answer's single ``` block."""
    blocks = _BLOCK.findall(text)
    if len(blocks) != 1 or not blocks[0].strip():
        raise DriftAnswerError(f"expected one ``` block of instructions, got {len(blocks)}")
    return str(blocks[0]).strip()


# -- a correction that undoes an earlier one -------------------------------------------------


def correction_edits(before: str, after: str) -> frozenset[tuple[str, str]]:
    """The (removed, inserted) token chunks that turn `before` into `after`."""
    a, b = _TOKEN.findall(before), _TOKEN.findall(after)
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    return frozenset(
        ("".join(a[i1:i2]), "".join(b[j1:j2]))
        for op, i1, i2, j1, j2 in matcher.get_opcodes()
        if op != "equal"
    )


def undoes(newer: Example, older: Example, *, threshold: float = 0.5) -> bool:
    """Whether `newer`'s correction mostly reverses `older`'s (both must be corrections)."""
    if newer.corrected is None or older.corrected is None:
        return False
    if newer.language and older.language and newer.language != older.language:
        return False
    new = correction_edits(newer.output, newer.corrected)
    old = correction_edits(older.output, older.corrected)
    if not new or not old:
        return False
    reversed_old = {(ins, rem) for rem, ins in old}
    common = len(new & reversed_old)
    return common > 0 and common / len(new) >= threshold
