"""What the simulated server's four models answer, without any HTTP.

The reflection, merge and condense prompts are parsed back with patterns derived from the
engine's own templates (`gepa_engine._templates`), so a template change shows up as a failing
round-trip test here instead of as a server that silently stops understanding the engine. The
sim LMs run on the parsed values and the answers are shaped the way a compliant LLM shapes
them: new instructions inside one ``` block, judge verdicts as a JSON object.
"""

from __future__ import annotations

import json
import re
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from gepa_engine._templates import (
    CONDENSE_TEMPLATE,
    MERGE_TEMPLATE,
    RECORD_TEMPLATE,
    REFLECTION_TEMPLATE,
)
from gepad_sim._lms import Record, SimLMs
from gepad_sim._scenario import Rule, Scenario, Task

__all__ = [
    "APOLOGY",
    "JUDGE_AVOIDS_ALL",
    "JUDGE_NEW_OUTPUT",
    "JUDGE_USER_SECTIONS",
    "MODEL_ROLES",
    "UNKNOWN_TASK_OUTPUT",
    "CondensePrompt",
    "JudgeVerdict",
    "MergePrompt",
    "ReflectionPrompt",
    "Role",
    "RoleAnswer",
    "SimRoles",
    "followed_ids",
    "instruction_block",
    "judge_new_output",
    "parse_condense_prompt",
    "parse_judge_sections",
    "parse_merge_prompt",
    "parse_reflection_prompt",
    "role_for_model",
]

Role = Literal["task", "reflect", "merge", "judge"]

MODEL_ROLES: Mapping[str, Role] = {
    "sim-task": "task",
    "sim-reflect": "reflect",
    "sim-merge": "merge",
    "sim-judge": "judge",
}
"""Model name (after any `openai/` prefix) → the role it plays."""

UNKNOWN_TASK_OUTPUT = "followed: none; missed: none"
"""The task model's answer to an input that is none of the scenario's tasks."""

APOLOGY = "I'm sorry, I could not make sense of that request, so I have no new instructions."
"""What reflect and merge answer to a prompt they cannot parse: no ``` block, so the engine
rejects it as a proposal."""

JUDGE_USER_SECTIONS = (
    "User's complaint",
    "User's correction",
    "Failure message",
    "User's comment",
)
"""Judge-prompt headings whose text carries the user's own words."""

JUDGE_NEW_OUTPUT = "New output"
"""The judge-prompt heading of the output being judged (required)."""

JUDGE_AVOIDS_ALL = "The new output avoids everything the user complained about."

_FOLLOWED = re.compile(r"followed:[ \t]*([^;\n]*)")
_HEADING = re.compile(r"^## (.*?)[ \t]*$")


# -- template parsing ---------------------------------------------------------------------------

# What each template field may hold; anything not named here is free text.
_FIELD_PATTERNS: Mapping[str, str] = {
    "n": r"\d+",
    "score": r"[^\n]*?",
    "length": r"\d+",
    "limit": r"\d+",
}
_TEXT = r".*?"


def _template_parts(template: str) -> list[tuple[str, str | None]]:
    return [(literal, field) for literal, field, _, _ in string.Formatter().parse(template)]


def _template_regex(template: str, *, tail: str = "") -> re.Pattern[str]:
    """A pattern that matches exactly what `template.format(...)` renders, fields as groups."""
    pieces: list[str] = []
    seen: set[str] = set()
    for literal, field in _template_parts(template):
        pieces.append(re.escape(literal))
        if field is None:
            continue
        if field in seen:
            pieces.append(f"(?P={field})")
        else:
            seen.add(field)
            pieces.append(f"(?P<{field}>{_FIELD_PATTERNS.get(field, _TEXT)})")
    return re.compile("".join(pieces) + tail, re.S)


def _outer_regex(template: str) -> re.Pattern[str]:
    # Callers may strip the rendered prompt; the edges of the template are whitespace only.
    return _template_regex(template.strip())


_REFLECTION_RE = _outer_regex(REFLECTION_TEMPLATE)
_MERGE_RE = _outer_regex(MERGE_TEMPLATE)
_CONDENSE_RE = _outer_regex(CONDENSE_TEMPLATE)
_RECORD_RE = _template_regex(RECORD_TEMPLATE)


def _record_header(n: int) -> str:
    """The rendered start of record `n`, up to the field after its number.

    A record's free-text feedback ends where the next record's header begins; requiring the
    next number keeps a feedback that merely mentions "### Example" from cutting it short.
    """
    out: list[str] = []
    past_n = False
    for literal, field in _template_parts(RECORD_TEMPLATE):
        out.append(literal)
        if past_n:
            break
        if field == "n":
            out.append(str(n))
            past_n = True
        elif field is not None:
            break
    return "".join(out)


def _parse_records(text: str) -> tuple[Record, ...] | None:
    if not text:
        return ()
    records: list[Record] = []
    pos = 0
    while True:
        n = len(records) + 1
        following = re.escape(_record_header(n + 1))
        pattern = re.compile(_RECORD_RE.pattern + rf"(?=\n{following}|\Z)", re.S)
        m = pattern.match(text, pos)
        if m is None or m.group("n") != str(n):
            return None
        records.append(Record(input=m["input"], output=m["output"], feedback=m["feedback"]))
        pos = m.end()
        if pos == len(text):
            return tuple(records)
        # render_reflection joins records with one newline.
        pos += 1


@dataclass(frozen=True, slots=True)
class ReflectionPrompt:
    """A parsed `render_reflection(current, records)`.

    Texts are as rendered: ``` inside them reads ''', and the engine's placeholders for empty
    fields ("(not recorded)", "(empty)", "(no feedback)") are kept, as an LLM would see them.
    """

    current: str
    records: tuple[Record, ...]


@dataclass(frozen=True, slots=True)
class CondensePrompt:
    """A parsed `render_condense(current, limit)`."""

    current: str
    length: int
    limit: int


@dataclass(frozen=True, slots=True)
class MergePrompt:
    """A parsed `render_merge(ancestor, a, b)`."""

    ancestor: str
    a: str
    b: str


def parse_reflection_prompt(text: str) -> ReflectionPrompt | None:
    m = _REFLECTION_RE.fullmatch(text.strip())
    if m is None:
        return None
    records = _parse_records(m["records"])
    if records is None:
        return None
    return ReflectionPrompt(current=m["current"], records=records)


def parse_condense_prompt(text: str) -> CondensePrompt | None:
    m = _CONDENSE_RE.fullmatch(text.strip())
    if m is None:
        return None
    return CondensePrompt(current=m["current"], length=int(m["length"]), limit=int(m["limit"]))


def parse_merge_prompt(text: str) -> MergePrompt | None:
    m = _MERGE_RE.fullmatch(text.strip())
    if m is None:
        return None
    return MergePrompt(ancestor=m["ancestor"], a=m["a"], b=m["b"])


def instruction_block(text: str) -> str:
    """`text` answered the way the templates ask: inside a single ``` block."""
    return f"```\n{text}\n```"


# -- judge --------------------------------------------------------------------------------------


def parse_judge_sections(text: str) -> dict[str, str]:
    """`## Heading` → the text under it, up to the next `## ` heading (stripped).

    A heading given twice keeps both texts, joined by a newline.
    """
    sections: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in text.splitlines():
        m = _HEADING.match(line)
        if m is not None:
            current = sections.setdefault(m.group(1), [])
            if current:
                current.append("\n")
            continue
        if current is not None:
            current.append(line + "\n")
    return {title: "".join(lines).strip() for title, lines in sections.items()}


def followed_ids(output: str) -> tuple[str, ...]:
    """The rule ids after `followed:` in a task output (`none` means no rule)."""
    m = _FOLLOWED.search(output)
    if m is None:
        return ()
    ids = (part.strip() for part in m.group(1).split(","))
    return tuple(i for i in ids if i and i != "none")


def _squash(text: str) -> str:
    # Wrapping or indentation added on the way must not hide the user's words.
    return " ".join(text.split())


@dataclass(frozen=True, slots=True)
class JudgeVerdict:
    verdict: Literal["pass", "fail"]
    score: float
    explanation: str
    complained: tuple[str, ...]
    followed: tuple[str, ...]
    has_output: bool = True

    def to_json(self) -> str:
        return json.dumps(
            {"verdict": self.verdict, "score": self.score, "explanation": self.explanation}
        )


def judge_new_output(rules: Sequence[Rule], prompt: str) -> JudgeVerdict:
    """The sim judge: does the new output follow every rule the user complained about?"""
    sections = parse_judge_sections(prompt)
    new_output = sections.get(JUDGE_NEW_OUTPUT)
    if new_output is None:
        return JudgeVerdict(
            verdict="fail",
            score=0.0,
            explanation=f"The request has no '## {JUDGE_NEW_OUTPUT}' section, so there is "
            "nothing to judge.",
            complained=(),
            followed=(),
            has_output=False,
        )
    user_text = [_squash(sections[h]) for h in JUDGE_USER_SECTIONS if h in sections]
    complained = tuple(
        r.id for r in rules if any(_squash(r.feedback) in text for text in user_text)
    )
    followed = followed_ids(new_output)
    if not complained:
        return JudgeVerdict("pass", 1.0, JUDGE_AVOIDS_ALL, complained, followed)
    kept = [rid for rid in complained if rid in followed]
    score = len(kept) / len(complained)
    by_id = {r.id: r for r in rules}
    still = [by_id[rid].feedback for rid in complained if rid not in followed]
    return JudgeVerdict(
        verdict="pass" if score == 1.0 else "fail",
        score=score,
        explanation=" ".join(still) or JUDGE_AVOIDS_ALL,
        complained=complained,
        followed=followed,
    )


# -- the roles over one SimLMs ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RoleAnswer:
    """A role's answer text and what the server counts about it."""

    text: str
    unknown_task: bool = False
    unparsed: bool = False


class SimRoles:
    """The four models of one server, sharing one `SimLMs` (one seeded random stream).

    Calls are synchronous and the server runs them on its event loop one at a time, so the
    stream is consumed in the order requests arrive, as in an engine-only run.
    """

    __slots__ = ("_judged", "_scenario", "_sim", "_tasks_by_input")

    def __init__(self, scenario: Scenario, seed: int) -> None:
        self._scenario = scenario
        self._sim = SimLMs(scenario, seed)
        by_input: dict[str, Task] = {}
        for task in scenario.tasks:
            by_input.setdefault(task.input.strip(), task)
        self._tasks_by_input = by_input
        self._judged = 0

    @property
    def sim(self) -> SimLMs:
        return self._sim

    @property
    def judge_calls(self) -> int:
        return self._judged

    def answer(self, role: Role, system: str, user: str) -> RoleAnswer:
        """What `role` answers to a request whose system text is `system` and last user
        message is `user`."""
        if role == "task":
            return self.task(system, user)
        if role == "reflect":
            return self.reflect(user)
        if role == "merge":
            return self.merge(user)
        return self.judge(user)

    def task(self, prompt: str, task_input: str) -> RoleAnswer:
        task = self._tasks_by_input.get(task_input.strip())
        if task is None:
            return RoleAnswer(UNKNOWN_TASK_OUTPUT, unknown_task=True)
        return RoleAnswer(self._sim.run_task(prompt, task).output)

    def reflect(self, prompt: str) -> RoleAnswer:
        parsed = parse_reflection_prompt(prompt)
        if parsed is not None:
            return RoleAnswer(instruction_block(self._sim.reflect(parsed.current, parsed.records)))
        condense = parse_condense_prompt(prompt)
        if condense is not None:
            return RoleAnswer(instruction_block(self._sim.reflect(condense.current, [])))
        return self.merge(prompt)

    def merge(self, prompt: str) -> RoleAnswer:
        parsed = parse_merge_prompt(prompt)
        if parsed is None:
            return RoleAnswer(APOLOGY, unparsed=True)
        return RoleAnswer(instruction_block(self._sim.merge(parsed.a, parsed.b)))

    def judge(self, prompt: str) -> RoleAnswer:
        self._judged += 1
        verdict = judge_new_output(self._scenario.rules, prompt)
        return RoleAnswer(verdict.to_json(), unparsed=not verdict.has_output)


def role_for_model(model: str) -> Role | None:
    """The role a request's model name selects; a litellm-style `openai/` prefix is ignored."""
    return MODEL_ROLES.get(model.removeprefix("openai/"))
