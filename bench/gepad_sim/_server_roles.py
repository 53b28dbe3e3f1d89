"""What the simulated server's four models answer, without any HTTP.

The reflection, merge and condense prompts are parsed back with patterns derived from the
engine's own templates (`gepa_engine._templates`), so a template change shows up as a failing
round-trip test here instead of as a server that silently stops understanding the engine. The
sim LMs run on the parsed values and the answers are shaped the way a compliant LLM shapes
them: new instructions inside one ``` block, judge verdicts as a JSON object.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import string
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from gepa_engine._templates import (
    CONDENSE_TEMPLATE,
    MERGE_TEMPLATE,
    RECORD_TEMPLATE,
    REFLECTION_TEMPLATE,
)
from gepad_sim._errors import SimError
from gepad_sim._flip import flipped_by_input
from gepad_sim._harness import make_lms
from gepad_sim._lms import Record, SimLMs
from gepad_sim._realistic import RealisticLMs
from gepad_sim._scenario import Scenario, Task
from gepad_sim._server_drift import DriftAnswers
from gepad_sim._server_judge import (
    JUDGE_AVOIDS_ALL,
    JUDGE_NEW_OUTPUT,
    JUDGE_USER_SECTIONS,
    JudgeBias,
    JudgeVerdict,
    SimJudge,
    followed_ids,
    judge_new_output,
    parse_judge_sections,
    v1_reader,
)

__all__ = [
    "APOLOGY",
    "JUDGE_AVOIDS_ALL",
    "JUDGE_NEW_OUTPUT",
    "JUDGE_USER_SECTIONS",
    "MODEL_ROLES",
    "UNKNOWN_TASK_OUTPUT",
    "CondensePrompt",
    "JudgeBias",
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
    "request_rng",
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


# -- the roles over one scenario's LMs ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RoleAnswer:
    """A role's answer text and what the server counts about it."""

    text: str
    unknown_task: bool = False
    unparsed: bool = False


def request_rng(seed: int, role: str, messages: object, occurrence: int) -> random.Random:
    """The random stream of one request: from the seed, the role, the messages and how many
    identical requests came before it, never from the order requests arrive in."""
    body = json.dumps([seed, role, messages, occurrence], ensure_ascii=False, default=list)
    return random.Random(hashlib.sha256(body.encode("utf-8")).digest())


class SimRoles:
    """The four models of one server, over one scenario's simulated LMs (`make_lms`).

    Each request gets its own random stream (`request_rng`), derived from the request itself
    and an occurrence counter per identical request, so answers do not depend on the order in
    which concurrent requests arrive. The judge at temperature 0 gives an identical request the
    same answer; at a temperature above 0 each repeat is a fresh draw.
    """

    __slots__ = (
        "_drift",
        "_judge",
        "_judged",
        "_scenario",
        "_seed",
        "_seen",
        "_sim",
        "_tasks_by_input",
    )

    def __init__(
        self, scenario: Scenario, seed: int, bias: JudgeBias | None = None, *,
        flip_budget: int | None = None, drift_error: float = 0.0,
    ) -> None:  # fmt: skip
        """`flip_budget`: a flip scenario's tasks that arrive after the flip in an online run
        of that budget, and the held-out ones, are the flipped tasks (`_flip.py`)."""
        self._scenario = scenario
        self._seed = seed
        self._sim: SimLMs | RealisticLMs = make_lms(scenario, seed)
        by_input: dict[str, Task] = {}
        for task in scenario.tasks:
            by_input.setdefault(task.input.strip(), task)
        by_input.update(flipped_by_input(scenario, seed, flip_budget))
        self._tasks_by_input = by_input
        self._seen: Counter[str] = Counter()
        self._judged = 0
        self._judge = self._make_judge(bias)
        reader = v1_reader if isinstance(self._sim, SimLMs) else self._realistic_reader
        self._drift = DriftAnswers(scenario, by_input, reader, drift_error)

    def _make_judge(self, bias: JudgeBias | None) -> SimJudge:
        phrasings: dict[str, tuple[str, ...]] = {}
        if self._scenario.realistic is not None:
            phrasings = {
                rid: tuple(extra.phrasings) for rid, extra in self._scenario.realistic.rules.items()
            }
        if not isinstance(self._sim, SimLMs) and not isinstance(
            getattr(self._sim, "_answers", None), dict
        ):
            # Without it every realistic output would read as off-task and score 0.
            raise SimError("the realistic LMs keep no `_answers` registry for the judge to read")
        reader = v1_reader if isinstance(self._sim, SimLMs) else self._realistic_reader
        return SimJudge(
            self._scenario.rules, self._tasks_by_input, reader=reader, phrasings=phrasings,
            bias=bias,
        )  # fmt: skip

    def _realistic_reader(self, output: str, task: Task | None) -> frozenset[str] | None:
        # The simulator "reads the code" through its registry of what each answer missed.
        answers: dict[str, tuple[str, ...]] = getattr(self._sim, "_answers", {})
        missed = answers.get(output.strip())
        if missed is None:
            return None
        rules = task.rules if task is not None else tuple(r.id for r in self._scenario.rules)
        return frozenset(r for r in rules if r not in missed)

    @property
    def sim(self) -> SimLMs | RealisticLMs:
        return self._sim

    @property
    def judge_calls(self) -> int:
        return self._judged

    @property
    def judge_bias(self) -> JudgeBias:
        return self._judge.bias

    def set_judge_bias(self, bias: JudgeBias) -> None:
        self._judge = self._make_judge(bias)

    def _use_rng(self, role: str, messages: Any, *, repeatable: bool) -> random.Random:
        key = json.dumps([role, messages], ensure_ascii=False, default=list)
        occurrence = 0
        if not repeatable:
            occurrence = self._seen[key]
            self._seen[key] += 1
        rng = request_rng(self._seed, role, messages, occurrence)
        # Both LM classes draw every random number from `_rng`; each request gets its own.
        self._sim._rng = rng
        return rng

    def answer(
        self, role: Role, system: str, user: str, *, messages: Sequence[Any] | None = None,
        temperature: float = 0.0,
    ) -> RoleAnswer:  # fmt: skip
        """What `role` answers to a request whose system text is `system`, last user message
        `user` (and whole message list `messages`, by default those two)."""
        convo: Any = [list(m) for m in messages] if messages is not None else [system, user]
        rng = self._use_rng(role, convo, repeatable=role == "judge" and temperature == 0)
        if role == "task":
            return self.task(system, user)
        if role == "reflect":
            return self.reflect(user, rng)
        if role == "merge":
            return self.merge(user)
        return self.judge(user, rng)

    def task(self, prompt: str, task_input: str) -> RoleAnswer:
        task = self._tasks_by_input.get(task_input.strip())
        if task is None:
            return RoleAnswer(UNKNOWN_TASK_OUTPUT, unknown_task=True)
        return RoleAnswer(self._sim.run_task(prompt, task).output)

    def reflect(self, prompt: str, rng: random.Random | None = None) -> RoleAnswer:
        drift = self._drift.answer(prompt, rng or random.Random(self._seed))
        if drift is not None:
            return RoleAnswer(drift)
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

    def judge(self, prompt: str, rng: random.Random | None = None) -> RoleAnswer:
        self._judged += 1
        pairwise = self._judge.pairwise(prompt, rng)
        if pairwise is not None:
            return RoleAnswer(pairwise.to_json())
        verdict = self._judge.verdict(prompt, rng)
        return RoleAnswer(verdict.to_json(), unparsed=not verdict.has_output)


def role_for_model(model: str) -> Role | None:
    """The role a request's model name selects; a litellm-style `openai/` prefix is ignored."""
    return MODEL_ROLES.get(model.removeprefix("openai/"))
